//! The demo API's deterministic in-memory dataset (claims, payers, drift events) and every
//! answer that does not depend on the request, serialised once at start as `Bytes` so the
//! hot routes only clone a reference count. Filtering and paging of claims live here too.

use axum::body::Bytes;
use serde::Serialize;

/// The payers claims are spread over, in the order the summary lists them.
pub(super) const PAYERS: [&str; 5] = ["Aetna", "Cigna", "Humana", "UnitedHealthcare", "Kaiser"];
/// The same names lowercased, so search does not lowercase the dataset on every request.
const PAYERS_LOWER: [&str; 5] = ["aetna", "cigna", "humana", "unitedhealthcare", "kaiser"];
/// Drift-event severities, as accepted by `?severity=`.
pub(super) const SEVERITIES: [&str; 3] = ["high", "medium", "low"];
/// Claims a list page holds.
pub(super) const PAGE_SIZE: usize = 20;
const CLAIM_COUNT: u32 = 200;
const DRIFT_EVENT_COUNT: u32 = 36;

/// SplitMix64's finaliser: a cheap bijective mix, used to spread the fixed dataset. Not
/// cryptographic, and it does not need to be.
pub(super) fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One claim, serialised as `{"id","payer","amount","status"}`.
#[derive(Debug, Serialize)]
pub(super) struct Claim {
    pub(super) id: u32,
    pub(super) payer: &'static str,
    pub(super) amount: f64,
    pub(super) status: &'static str,
    #[serde(skip)]
    payer_lower: &'static str,
}

impl Claim {
    fn new(id: u32) -> Claim {
        let h = mix64(u64::from(id));
        let payer = (h % PAYERS.len() as u64) as usize;
        // Roughly half paid, 30 % open, 20 % denied: a plausible book with a visible denial
        // rate on the dashboard.
        let status = match (h >> 8) % 10 {
            0..=4 => "paid",
            5..=7 => "open",
            _ => "denied",
        };
        let cents = 2_500 + (h >> 16) % 500_000;
        Claim {
            id,
            payer: PAYERS[payer],
            amount: cents as f64 / 100.0,
            status,
            payer_lower: PAYERS_LOWER[payer],
        }
    }

    /// `payer` matches the payer name, ignoring ASCII case; `search` (already lowercased)
    /// is a substring of the payer or the status.
    fn matches(&self, payer: Option<&str>, search: Option<&str>) -> bool {
        payer.is_none_or(|p| self.payer.eq_ignore_ascii_case(p))
            && search.is_none_or(|s| self.payer_lower.contains(s) || self.status.contains(s))
    }
}

#[derive(Serialize)]
struct ClaimPage<'a> {
    count: usize,
    page: usize,
    results: Vec<&'a Claim>,
}

#[derive(Serialize)]
struct PayerCount {
    name: &'static str,
    claims: usize,
}

#[derive(Serialize)]
struct PayerSummary {
    payers: Vec<PayerCount>,
}

#[derive(Serialize)]
struct DriftEvent {
    id: u32,
    severity: &'static str,
}

#[derive(Serialize)]
struct Results<T> {
    results: Vec<T>,
}

#[derive(Serialize)]
struct Dashboard {
    open_claims: usize,
    denial_rate: f64,
}

/// The dataset and its pre-serialised answers.
#[derive(Debug)]
pub(super) struct Dataset {
    claims: Vec<Claim>,
    /// `claim_bodies[id - 1]` is the detail answer for claim `id`.
    claim_bodies: Vec<Bytes>,
    /// Unfiltered list pages, `[0]` being page 1: the most frequent request in the reference
    /// scenario, so it skips serialisation.
    unfiltered_pages: Vec<Bytes>,
    pub(super) payer_summary: Bytes,
    pub(super) drift_all: Bytes,
    /// Indexed like [`SEVERITIES`].
    pub(super) drift_by_severity: [Bytes; 3],
    pub(super) dashboard: Bytes,
    /// `{"results":[]}` for uploads and reports.
    pub(super) empty_results: Bytes,
}

fn to_bytes<T: Serialize>(value: &T) -> serde_json::Result<Bytes> {
    serde_json::to_vec(value).map(Bytes::from)
}

impl Dataset {
    /// Builds the dataset. Serialising these plain structs does not fail in practice; the
    /// error is passed up rather than unwrapped.
    pub(super) fn build() -> serde_json::Result<Dataset> {
        let claims: Vec<Claim> = (1..=CLAIM_COUNT).map(Claim::new).collect();
        let claim_bodies = claims.iter().map(to_bytes).collect::<Result<_, _>>()?;

        let page_count = claims.len().div_ceil(PAGE_SIZE);
        let unfiltered_pages = (1..=page_count)
            .map(|page| to_bytes(&page_of(&claims, page, None, None)))
            .collect::<Result<_, _>>()?;

        let payers = PAYERS
            .iter()
            .map(|&name| PayerCount {
                name,
                claims: claims.iter().filter(|c| c.payer == name).count(),
            })
            .collect();

        let events: Vec<DriftEvent> = (1..=DRIFT_EVENT_COUNT)
            .map(|id| DriftEvent {
                id,
                severity: SEVERITIES[(mix64(u64::from(id) << 32) % 3) as usize],
            })
            .collect();
        let drift_with = |severity: &str| {
            let results: Vec<&DriftEvent> =
                events.iter().filter(|e| e.severity == severity).collect();
            to_bytes(&Results { results })
        };

        let open_claims = claims.iter().filter(|c| c.status == "open").count();
        let denied = claims.iter().filter(|c| c.status == "denied").count();
        // Three decimals, as a dashboard would show it, rounded in integer maths.
        let denial_rate = ((denied * 1000 + claims.len() / 2) / claims.len()) as f64 / 1000.0;

        Ok(Dataset {
            claim_bodies,
            unfiltered_pages,
            payer_summary: to_bytes(&PayerSummary { payers })?,
            drift_all: to_bytes(&Results {
                results: events.iter().collect::<Vec<_>>(),
            })?,
            drift_by_severity: [
                drift_with(SEVERITIES[0])?,
                drift_with(SEVERITIES[1])?,
                drift_with(SEVERITIES[2])?,
            ],
            dashboard: to_bytes(&Dashboard {
                open_claims,
                denial_rate,
            })?,
            empty_results: to_bytes(&Results::<()> { results: vec![] })?,
            claims,
        })
    }

    /// The detail answer for claim `id`, if it exists.
    pub(super) fn claim_body(&self, id: u32) -> Option<Bytes> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.claim_bodies.get(index).cloned()
    }

    /// The list answer for `page` (1-based) with optional payer filter and search term.
    pub(super) fn list(
        &self,
        page: usize,
        payer: Option<&str>,
        search: Option<&str>,
    ) -> serde_json::Result<Bytes> {
        if payer.is_none()
            && search.is_none()
            && let Some(body) = self.unfiltered_pages.get(page.saturating_sub(1))
        {
            return Ok(body.clone());
        }
        let search = search.map(str::to_lowercase);
        to_bytes(&page_of(&self.claims, page, payer, search.as_deref()))
    }
}

fn page_of<'a>(
    claims: &'a [Claim],
    page: usize,
    payer: Option<&str>,
    search: Option<&str>,
) -> ClaimPage<'a> {
    let mut count = 0;
    let mut results = Vec::with_capacity(PAGE_SIZE);
    let first = page.saturating_sub(1).saturating_mul(PAGE_SIZE);
    for claim in claims.iter().filter(|c| c.matches(payer, search)) {
        if count >= first && results.len() < PAGE_SIZE {
            results.push(claim);
        }
        count += 1;
    }
    ClaimPage {
        count,
        page,
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_covers_every_payer_and_status() {
        let data = Dataset::build().expect("dataset builds");
        for payer in PAYERS {
            assert!(data.claims.iter().any(|c| c.payer == payer), "{payer}");
        }
        for status in ["open", "denied", "paid"] {
            assert!(data.claims.iter().any(|c| c.status == status), "{status}");
        }
        for (i, severity) in SEVERITIES.iter().enumerate() {
            let body: serde_json::Value =
                serde_json::from_slice(&data.drift_by_severity[i]).expect("json");
            assert!(
                !body["results"].as_array().expect("array").is_empty(),
                "{severity}"
            );
        }
    }

    #[test]
    fn cached_pages_equal_computed_ones() {
        let data = Dataset::build().expect("dataset builds");
        for page in 1..=11 {
            let cached = data.list(page, None, None).expect("serialises");
            let computed = to_bytes(&page_of(&data.claims, page, None, None)).expect("json");
            assert_eq!(cached, computed, "page {page}");
        }
    }

    #[test]
    fn page_of_filters_then_pages() {
        let data = Dataset::build().expect("dataset builds");
        let aetna = data.claims.iter().filter(|c| c.payer == "Aetna").count();
        let page = page_of(&data.claims, 1, Some("AETNA"), None);
        assert_eq!(page.count, aetna);
        assert!(page.results.iter().all(|c| c.payer == "Aetna"));
        let denied = page_of(&data.claims, 1, None, Some("deni"));
        assert!(denied.results.iter().all(|c| c.status == "denied"));
        let beyond = page_of(&data.claims, 99, None, None);
        assert_eq!((beyond.count, beyond.results.len()), (200, 0));
    }
}
