//! Demo authentication: the token store, the login and refresh routes, and the bearer check
//! the gate runs before every protected route. Tokens are opaque 32-hex-digit strings kept
//! as `u128`s; they are unique (a counter through a bijective mix) but not secret-grade,
//! which is fine for a loopback-only demo.

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::data::mix64;
use super::reply;
use super::server::App;

/// The demo API's login name.
pub const DEMO_USERNAME: &str = "demo";
/// The demo API's password (public: the demo serves loopback only).
pub const DEMO_PASSWORD: &str = "demo-password";

/// Live tokens kept per kind before the oldest are dropped early. Expired tokens are pruned
/// as they age out; this cap only bites when logins outpace the TTL, and keeps a long,
/// login-heavy run at a few MiB instead of growing without bound.
const MAX_LIVE_TOKENS: usize = 1 << 18;
/// Refresh tokens outlive access tokens, as in the JWT setup the demo imitates.
const REFRESH_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Tokens of one kind, all with the same lifetime, so insertion order is expiry order and
/// pruning only ever pops from the front: O(1) amortised, no periodic sweep.
#[derive(Debug)]
struct Expiring {
    ttl: Duration,
    live: HashSet<u128>,
    by_expiry: VecDeque<(Instant, u128)>,
}

impl Expiring {
    fn new(ttl: Duration) -> Expiring {
        Expiring {
            ttl,
            live: HashSet::new(),
            by_expiry: VecDeque::new(),
        }
    }

    /// Drops expired tokens, then the oldest live ones while more than `keep_at_most` remain.
    fn prune(&mut self, now: Instant, keep_at_most: usize) {
        while let Some(&(expiry, token)) = self.by_expiry.front() {
            if expiry > now && self.by_expiry.len() <= keep_at_most {
                break;
            }
            self.by_expiry.pop_front();
            self.live.remove(&token);
        }
    }

    fn insert(&mut self, now: Instant, token: u128) {
        self.prune(now, MAX_LIVE_TOKENS - 1);
        self.by_expiry.push_back((now + self.ttl, token));
        self.live.insert(token);
    }

    fn contains(&mut self, now: Instant, token: u128) -> bool {
        self.prune(now, MAX_LIVE_TOKENS);
        self.live.contains(&token)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.live.len()
    }
}

/// Issued access and refresh tokens.
#[derive(Debug)]
pub(super) struct TokenStore {
    access: Mutex<Expiring>,
    refresh: Mutex<Expiring>,
    access_ttl: Duration,
    seed: [u64; 2],
    minted: AtomicU64,
}

impl TokenStore {
    pub(super) fn new(access_ttl: Duration) -> TokenStore {
        // Per-process random keys from std, so tokens differ between runs without a `rand`
        // dependency.
        let state = RandomState::new();
        TokenStore {
            access: Mutex::new(Expiring::new(access_ttl)),
            refresh: Mutex::new(Expiring::new(REFRESH_TTL.max(access_ttl))),
            access_ttl,
            seed: [state.hash_one(1u8), state.hash_one(2u8)],
            minted: AtomicU64::new(0),
        }
    }

    /// A fresh token. The high half alone is unique (a counter through a bijection); the low
    /// half makes tokens hard to guess from one another.
    fn mint(&self) -> u128 {
        let n = self.minted.fetch_add(1, Ordering::Relaxed);
        let high = mix64(self.seed[0].wrapping_add(n));
        let low = mix64(self.seed[1] ^ n.rotate_left(29));
        (u128::from(high) << 64) | u128::from(low)
    }

    fn issue(&self, store: &Mutex<Expiring>) -> u128 {
        let token = self.mint();
        // A poisoned lock only means another request panicked mid-update; the sets are still
        // usable, so carry on rather than fail every later request.
        let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
        store.insert(Instant::now(), token);
        token
    }

    fn is_live(store: &Mutex<Expiring>, token: u128) -> bool {
        let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
        store.contains(Instant::now(), token)
    }

    /// Whether `token` is a live access token.
    pub(super) fn access_is_live(&self, token: u128) -> bool {
        Self::is_live(&self.access, token)
    }

    /// `expires_in` for the token answers: whole seconds, rounded up so a sub-second test TTL
    /// still reads as 1.
    fn expires_in(&self) -> u64 {
        self.access_ttl.as_secs_f64().ceil() as u64
    }
}

fn to_hex(token: u128) -> String {
    format!("{token:032x}")
}

/// Parses a token as minted by [`to_hex`]: exactly 32 lowercase hex digits.
fn parse_token(s: &str) -> Option<u128> {
    if s.len() != 32 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u128::from_str_radix(s, 16).ok()
}

/// Checks `Authorization: Bearer <access>`; the error is the body of the 401 to send (see
/// [`unauthorized`]), kept small so the happy path moves no `Response` around.
pub(super) fn authorize(app: &App, headers: &HeaderMap) -> Result<(), &'static [u8]> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(reply::NOT_PROVIDED);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .and_then(|(_, token)| parse_token(token.trim()));
    match token {
        Some(token) if app.tokens.access_is_live(token) => Ok(()),
        _ => Err(reply::TOKEN_INVALID),
    }
}

/// A 401 with `body`, counted in the stats.
pub(super) fn unauthorized(app: &App, body: &'static [u8]) -> Response {
    app.stats.record_unauthorized();
    reply::json_static(StatusCode::UNAUTHORIZED, body)
}

// `Cow` so credentials without escapes are borrowed from the body, not copied.
#[derive(Deserialize)]
struct LoginRequest<'a> {
    #[serde(borrow)]
    username: Cow<'a, str>,
    #[serde(borrow)]
    password: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RefreshRequest<'a> {
    #[serde(borrow)]
    refresh: Cow<'a, str>,
}

#[derive(Serialize)]
struct TokenPair {
    access: String,
    refresh: String,
    expires_in: u64,
}

#[derive(Serialize)]
struct AccessToken {
    access: String,
    expires_in: u64,
}

/// `POST /api/v1/auth/token/`. The body is parsed by hand rather than with `Json` so a client
/// that forgets `Content-Type` still logs in, and a bad body gets our `{"detail"}` shape.
pub(super) async fn login(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let Ok(creds) = serde_json::from_slice::<LoginRequest<'_>>(&body) else {
        return reply::detail(
            StatusCode::BAD_REQUEST,
            "body must be a JSON object with string fields `username` and `password`",
        );
    };
    if creds.username != DEMO_USERNAME || creds.password != DEMO_PASSWORD {
        app.stats.record_login_failure();
        return unauthorized(&app, reply::BAD_CREDENTIALS);
    }
    let tokens = &app.tokens;
    let pair = TokenPair {
        access: to_hex(tokens.issue(&tokens.access)),
        refresh: to_hex(tokens.issue(&tokens.refresh)),
        expires_in: tokens.expires_in(),
    };
    app.stats.record_login();
    reply::json_value(StatusCode::OK, &pair)
}

/// `POST /api/v1/auth/token/refresh/`: a new access token for a live refresh token (the
/// refresh token itself stays valid, it is not rotated).
pub(super) async fn refresh(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<RefreshRequest<'_>>(&body) else {
        return reply::detail(
            StatusCode::BAD_REQUEST,
            "body must be a JSON object with a string field `refresh`",
        );
    };
    let tokens = &app.tokens;
    match parse_token(&request.refresh) {
        Some(token) if TokenStore::is_live(&tokens.refresh, token) => {
            let answer = AccessToken {
                access: to_hex(tokens.issue(&tokens.access)),
                expires_in: tokens.expires_in(),
            };
            app.stats.record_refresh();
            reply::json_value(StatusCode::OK, &answer)
        }
        _ => unauthorized(&app, reply::TOKEN_INVALID),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_unique() {
        let store = TokenStore::new(Duration::from_secs(60));
        let tokens: HashSet<u128> = (0..10_000).map(|_| store.mint()).collect();
        assert_eq!(tokens.len(), 10_000);
        for &token in tokens.iter().take(50) {
            assert_eq!(parse_token(&to_hex(token)), Some(token));
        }
        assert_eq!(parse_token("+0000000000000000000000000000000"), None);
        assert_eq!(parse_token("ABCDEF00000000000000000000000000"), None);
        assert_eq!(parse_token("abc"), None);
    }

    #[test]
    fn expired_tokens_are_pruned() {
        let mut set = Expiring::new(Duration::from_secs(10));
        let start = Instant::now();
        set.insert(start, 1);
        set.insert(start + Duration::from_secs(5), 2);
        assert!(set.contains(start + Duration::from_secs(9), 1));
        assert!(!set.contains(start + Duration::from_secs(10), 1));
        assert_eq!(set.len(), 1);
        assert!(set.contains(start + Duration::from_secs(14), 2));
        set.insert(start + Duration::from_secs(100), 3);
        assert_eq!(set.len(), 1, "inserting prunes what expired meanwhile");
    }

    #[test]
    fn the_store_is_capped() {
        let mut set = Expiring::new(Duration::from_secs(3600));
        let now = Instant::now();
        for token in 0..(MAX_LIVE_TOKENS as u128 + 10) {
            set.insert(now, token);
        }
        assert_eq!(set.len(), MAX_LIVE_TOKENS);
        assert!(!set.contains(now, 0), "the oldest tokens go first");
        assert!(set.contains(now, MAX_LIVE_TOKENS as u128 + 9));
    }
}
