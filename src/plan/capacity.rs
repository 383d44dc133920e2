//! Whether this machine can hold the load a plan asks for: the most users (or open-model
//! iterations) at once and the request rows, each at its measured memory cost, against the
//! memory the system reports available. A plan over it is refused before any request, with
//! the estimate, instead of aborting gigabytes into the run.

use super::Reporter;
use super::model::Plan;

/// Memory of one virtual user (or open-model iteration in flight): its task, session,
/// connection and buffers. Measured: 10,000 users took 218 MiB with one endpoint and
/// 292 MiB with the reference plan (README, "Benchmark"), 22–30 KiB each.
const USER_BYTES: u64 = 32 << 10;

/// Memory of one request row: its running and per-second latency histograms in each worker
/// thread's recorder. They grow with the latencies the row sees: measured at 800 endpoints
/// answering in about a millisecond at 20 requests a second, 100 MiB in all (125 KiB a row,
/// the process included; debug build); a row whose requests take an hour reaches the
/// ceiling, about 800 KiB.
const ROW_BYTES: u64 = 128 << 10;

/// Refuses a plan whose users and rows would need more memory than the system has
/// available. Skipped where the available memory is unknown (no `/proc/meminfo`).
pub(crate) fn check(plan: &Plan, r: &mut Reporter) {
    let Some(available) = available_bytes() else {
        return;
    };
    let l = &plan.load;
    let (pointer, what, users) = match (&l.arrival_rate, l.users) {
        (Some(_), _) => (
            "/load/max_concurrency",
            "iterations in flight",
            u64::from(l.max_concurrency.unwrap_or(1000)),
        ),
        (None, Some(users)) => ("/load/users", "users", u64::from(users)),
        (None, None) => (
            "/load/stages",
            "users",
            l.stages
                .iter()
                .map(|s| u64::from(s.target))
                .max()
                .unwrap_or(1),
        ),
    };
    let steps: u64 = plan
        .endpoints
        .iter()
        .map(|e| e.steps.as_ref().map_or(1, |s| s.len() as u64))
        .sum();
    // Login and refresh have rows of their own.
    let rows = steps + if plan.auth.is_some() { 2 } else { 0 };
    let need = users
        .saturating_mul(USER_BYTES)
        .saturating_add(rows.saturating_mul(ROW_BYTES));
    if need <= available {
        return;
    }
    let pointer = if plan.load.arrival_rate.is_some() && plan.load.max_concurrency.is_none() {
        "/load/arrival_rate"
    } else if users.saturating_mul(USER_BYTES) < rows.saturating_mul(ROW_BYTES) {
        "/endpoints"
    } else {
        pointer
    };
    r.value(
        pointer,
        &format!(
            "{users} {what} and {rows} request rows need about {} (32 KiB a user, 128 KiB a \
             row), more than this machine has available ({})",
            gib(need),
            gib(available)
        ),
        "lower the load, or run shards of the plan on several machines and merge their results",
    );
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn available_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}
