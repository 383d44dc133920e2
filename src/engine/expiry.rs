//! When credentials expire, and when to renew them: read from an extracted value that is a
//! number of seconds (`expires_in`) or a JWT (its `exp` claim, read without checking the
//! signature: the client is not the verifier). Values from a server are untrusted, so every
//! conversion is checked: an absurd lifetime is clamped, never a panic.

use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use serde_json::Value;

/// Lifetimes past this are taken as this: a run ends long before, and it keeps every
/// `Instant` addition far from overflow.
const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// When credentials described by `value` expire, if it says: a number (or a numeric
/// string) is seconds from `now`; a JWT's `exp` is a Unix time, compared with `wall`.
pub(crate) fn expires_at(value: &Value, now: Instant, wall: SystemTime) -> Option<Instant> {
    let lifetime = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(secs) if secs.is_finite() => secs,
            _ => jwt_exp(s)? - unix_seconds(wall),
        },
        _ => return None,
    };
    now.checked_add(lifetime_of(lifetime))
}

/// A lifetime in seconds as a `Duration`: negative (already expired) is zero, huge is
/// [`MAX_LIFETIME`].
fn lifetime_of(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs.max(0.0))
        .unwrap_or(MAX_LIFETIME)
        .min(MAX_LIFETIME)
}

fn unix_seconds(wall: SystemTime) -> f64 {
    match wall.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

/// The numeric `exp` claim of a JWT (three base64url segments, a JSON object payload).
fn jwt_exp(token: &str) -> Option<f64> {
    let mut parts = token.trim().split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // Issuers differ on padding; the URL-safe alphabet is the JWT's (RFC 7515).
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_f64()
}

/// Whether credentials obtained at `obtained` are due for renewal at `now`: `margin` before
/// they expire (but never before halfway through their life, or a margin longer than the
/// life would renew before every request), or `every` after they were obtained.
pub(crate) fn renewal_due(
    now: Instant,
    obtained: Instant,
    expires: Option<Instant>,
    margin: Option<Duration>,
    every: Option<Duration>,
) -> bool {
    let by_expiry = match (expires, margin) {
        (Some(at), Some(margin)) => {
            let lead = margin.min(at.saturating_duration_since(obtained).div_f64(2.0));
            at.checked_sub(lead).is_none_or(|renew_at| now >= renew_at)
        }
        _ => false,
    };
    let by_age = every
        .and_then(|every| obtained.checked_add(every))
        .is_some_and(|renew_at| now >= renew_at);
    by_expiry || by_age
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: &Value) -> String {
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.sig",
            b64(br#"{"alg":"HS256","typ":"JWT"}"#),
            b64(claims.to_string().as_bytes())
        )
    }

    #[test]
    fn expires_in_is_seconds_from_now() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let at = |v: Value| expires_at(&v, now, wall).map(|t| t - now);
        assert_eq!(at(json!(300)), Some(Duration::from_secs(300)));
        assert_eq!(at(json!(1.5)), Some(Duration::from_millis(1500)));
        assert_eq!(at(json!("60")), Some(Duration::from_secs(60)));
        assert_eq!(at(json!(-5)), Some(Duration::ZERO), "already expired");
        assert_eq!(at(json!(null)), None);
        assert_eq!(at(json!("opaque-token")), None);
    }

    /// Regression (issue 10): `expires_in: 1e300` panicked converting to a `Duration`.
    #[test]
    fn absurd_expires_in_values_are_clamped() {
        let now = Instant::now();
        let wall = SystemTime::now();
        for v in [json!(1e300), json!(1.8e19), json!(u64::MAX), json!("1e300")] {
            assert_eq!(
                expires_at(&v, now, wall).map(|t| t - now),
                Some(MAX_LIFETIME),
                "{v}"
            );
        }
        assert_eq!(
            expires_at(&json!(-1e300), now, wall).map(|t| t - now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn a_jwt_expires_at_its_exp_claim() {
        let now = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let token = jwt(&json!({"token_type": "access", "exp": 1_000_300, "iat": 1_000_000}));
        assert_eq!(
            expires_at(&json!(token), now, wall).map(|t| t - now),
            Some(Duration::from_secs(300))
        );
        // Padded segments, as some issuers write them.
        let padded = {
            let b64 = base64::engine::general_purpose::URL_SAFE;
            format!("e30=.{}.sig", b64.encode(br#"{"exp":1000010}"#))
        };
        assert_eq!(
            expires_at(&json!(padded), now, wall).map(|t| t - now),
            Some(Duration::from_secs(10))
        );
        for not_a_jwt in [
            jwt(&json!({"exp": "soon"})),
            jwt(&json!({"iat": 5})),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "e30.!!!.sig".to_owned(),
        ] {
            assert_eq!(
                expires_at(&json!(not_a_jwt), now, wall),
                None,
                "{not_a_jwt}"
            );
        }
    }

    /// Regression (issue 10): an `exp` far in the future or the past must not panic.
    #[test]
    fn absurd_exp_claims_are_clamped() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let at = |exp: Value| {
            expires_at(&json!(jwt(&json!({ "exp": exp }))), now, wall).map(|t| t - now)
        };
        assert_eq!(at(json!(1e300)), Some(MAX_LIFETIME));
        assert_eq!(at(json!(1.8e19)), Some(MAX_LIFETIME));
        assert_eq!(at(json!(-1e300)), Some(Duration::ZERO));
        assert_eq!(at(json!(0)), Some(Duration::ZERO), "expired in 1970");
        // A clock before the epoch still compares.
        let before_epoch = SystemTime::UNIX_EPOCH - Duration::from_secs(10);
        let token = json!(jwt(&json!({"exp": 0})));
        assert_eq!(
            expires_at(&token, now, before_epoch).map(|t| t - now),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn renewal_is_due_a_margin_ahead_but_not_before_half_life() {
        let got = Instant::now();
        let s = Duration::from_secs;
        let at = Some(got + s(100));
        assert!(!renewal_due(got + s(89), got, at, Some(s(10)), None));
        assert!(renewal_due(got + s(90), got, at, Some(s(10)), None));
        // A margin longer than the life: halfway.
        assert!(!renewal_due(got + s(49), got, at, Some(s(1000)), None));
        assert!(renewal_due(got + s(50), got, at, Some(s(1000)), None));
        assert!(!renewal_due(got + s(99), got, None, Some(s(10)), None));
        assert!(!renewal_due(got + s(99), got, at, None, None));
        assert!(renewal_due(got + s(5), got, None, None, Some(s(5))));
        assert!(!renewal_due(got + s(4), got, None, None, Some(s(5))));
    }

    /// Regression (issue 10): huge margins and intervals must not overflow an `Instant`.
    #[test]
    fn renewal_arithmetic_never_overflows() {
        let got = Instant::now();
        let huge = Duration::MAX;
        let at = got.checked_add(MAX_LIFETIME);
        assert!(!renewal_due(got, got, at, Some(huge), None));
        assert!(!renewal_due(got, got, None, None, Some(huge)));
        // Expired before it was obtained (a clock step): due at once.
        assert!(renewal_due(
            got + Duration::from_secs(1),
            got + Duration::from_secs(1),
            Some(got),
            Some(huge),
            None
        ));
    }
}
