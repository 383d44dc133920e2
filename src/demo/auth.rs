//! Demo authentication as djangorestframework-simplejwt does it: the login and refresh
//! routes issue HS256 JWTs (`token_type`, `exp`, `iat`, `jti`, `user_id` claims), and the
//! bearer check the gate runs before every protected route verifies the signature, the
//! token type and `exp`. Stateless like simplejwt without its blacklist app: nothing is
//! stored per token, so a login-heavy run costs no memory.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Number;
use sha2::Sha256;

use super::reply;
use super::server::App;

/// The demo API's login name.
pub(crate) const DEMO_USERNAME: &str = "demo";
/// The demo API's password (public: the demo serves loopback only).
pub(crate) const DEMO_PASSWORD: &str = "demo-password";

/// Refresh tokens outlive access tokens (simplejwt's default: a day).
const REFRESH_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The one account's id, the `user_id` claim.
const USER_ID: u64 = 1;
/// PyJWT's header for HS256, as simplejwt sends it.
const HEADER: &[u8] = br#"{"alg":"HS256","typ":"JWT"}"#;

/// simplejwt's two token types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Access,
    Refresh,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Access => "access",
            Kind::Refresh => "refresh",
        }
    }
}

/// A token's payload, in simplejwt's claim order.
#[derive(Serialize, Deserialize)]
struct Claims<'a> {
    #[serde(borrow)]
    token_type: Cow<'a, str>,
    exp: Number,
    iat: Number,
    #[serde(borrow)]
    jti: Cow<'a, str>,
    user_id: u64,
}

/// Signs and verifies the demo's tokens with a per-process random key.
#[derive(Debug)]
pub(super) struct Issuer {
    mac: Hmac<Sha256>,
    access_ttl: Duration,
    expires_in: bool,
}

impl Issuer {
    /// `expires_in` adds that field to the token answers, as some deployments do.
    pub(super) fn new(access_ttl: Duration, expires_in: bool) -> Issuer {
        let key: [u8; 32] = rand::random();
        Issuer {
            // HMAC takes keys of any length, so this cannot fail.
            mac: Hmac::new_from_slice(&key).unwrap_or_else(|_| unreachable!("HMAC key length")),
            access_ttl,
            expires_in,
        }
    }

    fn ttl(&self, kind: Kind) -> Duration {
        match kind {
            Kind::Access => self.access_ttl,
            Kind::Refresh => REFRESH_TTL.max(self.access_ttl),
        }
    }

    fn signature(&self, input: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(input);
        mac
    }

    /// A signed token of `kind`, valid from now for its lifetime.
    fn issue(&self, kind: Kind) -> String {
        let (iat, exp) = numeric_dates(unix_now(), self.ttl(kind));
        let claims = Claims {
            token_type: Cow::Borrowed(kind.name()),
            exp,
            iat,
            jti: Cow::Owned(uuid::Uuid::new_v4().simple().to_string()),
            user_id: USER_ID,
        };
        // Serialising plain fields cannot fail; an empty payload would only fail to verify.
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = self.signature(input.as_bytes()).finalize().into_bytes();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Whether `token` is an untampered, unexpired token of `kind`.
    fn verify(&self, token: &str, kind: Kind) -> bool {
        let Some((input, signature)) = token.rsplit_once('.') else {
            return false;
        };
        let signed = URL_SAFE_NO_PAD
            .decode(signature)
            .is_ok_and(|sig| self.signature(input.as_bytes()).verify_slice(&sig).is_ok());
        let payload = input
            .split_once('.')
            .and_then(|(_, payload)| URL_SAFE_NO_PAD.decode(payload).ok());
        signed
            && payload.is_some_and(|payload| {
                serde_json::from_slice::<Claims<'_>>(&payload).is_ok_and(|claims| {
                    claims.token_type == kind.name()
                        && claims.exp.as_f64().is_some_and(|exp| exp > unix_now())
                })
            })
    }

    /// `expires_in` for the token answers, when configured: the access token's lifetime.
    fn expires_in(&self) -> Option<Number> {
        self.expires_in.then(|| seconds(self.access_ttl))
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A whole number of seconds as a JSON integer, like simplejwt writes, or the fraction a
/// sub-second test lifetime needs.
fn seconds(d: Duration) -> Number {
    if d.subsec_nanos() == 0 {
        Number::from(d.as_secs())
    } else {
        Number::from_f64(d.as_secs_f64()).unwrap_or_else(|| Number::from(0))
    }
}

/// `iat` and `exp` of a token issued at `now` (Unix seconds) that lives `ttl`. Whole-second
/// lifetimes give integer claims, as simplejwt's do; `exp` is rounded up so the token lives
/// at least `ttl` (an `expires_in` of the same value is then never late).
fn numeric_dates(now: f64, ttl: Duration) -> (Number, Number) {
    if ttl.subsec_nanos() == 0 {
        let exp = (now.ceil() as u64).saturating_add(ttl.as_secs());
        (Number::from(now.floor() as u64), Number::from(exp))
    } else {
        let float = |x: f64| Number::from_f64(x).unwrap_or_else(|| Number::from(0));
        (float(now), float(now + ttl.as_secs_f64()))
    }
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
        .map(|(_, token)| token.trim());
    match token {
        Some(token) if app.tokens.verify(token, Kind::Access) => Ok(()),
        _ => Err(reply::TOKEN_NOT_VALID),
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

/// simplejwt's answers: `{"access", "refresh"}` from the login, `{"access"}` from a
/// refresh; `expires_in` only with `--expires-in`.
#[derive(Serialize)]
struct Tokens {
    access: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<Number>,
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
    let pair = Tokens {
        access: tokens.issue(Kind::Access),
        refresh: Some(tokens.issue(Kind::Refresh)),
        expires_in: tokens.expires_in(),
    };
    app.stats.record_login();
    reply::json_value(StatusCode::OK, &pair)
}

/// `POST /api/v1/auth/token/refresh/`: a new access token for a valid refresh token (the
/// refresh token itself stays valid: not rotated, simplejwt's default).
pub(super) async fn refresh(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<RefreshRequest<'_>>(&body) else {
        return reply::detail(
            StatusCode::BAD_REQUEST,
            "body must be a JSON object with a string field `refresh`",
        );
    };
    let tokens = &app.tokens;
    if !tokens.verify(&request.refresh, Kind::Refresh) {
        return unauthorized(&app, reply::REFRESH_NOT_VALID);
    }
    let answer = Tokens {
        access: tokens.issue(Kind::Access),
        refresh: None,
        expires_in: tokens.expires_in(),
    };
    app.stats.record_refresh();
    reply::json_value(StatusCode::OK, &answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(token: &str) -> serde_json::Value {
        let payload = token.split('.').nth(1).expect("three segments");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
    }

    #[test]
    fn tokens_are_simplejwt_shaped_and_verify() {
        let issuer = Issuer::new(Duration::from_secs(300), false);
        let access = issuer.issue(Kind::Access);
        let header = access.split('.').next().expect("header");
        assert_eq!(URL_SAFE_NO_PAD.decode(header).expect("base64url"), HEADER);
        let c = claims(&access);
        let keys: Vec<&str> = c
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["token_type", "exp", "iat", "jti", "user_id"]);
        assert_eq!(c["token_type"], "access");
        assert_eq!(c["user_id"], 1);
        let (exp, iat) = (
            c["exp"].as_u64().expect("int"),
            c["iat"].as_u64().expect("int"),
        );
        assert!((300..=301).contains(&(exp - iat)), "{c}");
        assert_eq!(c["jti"].as_str().map(str::len), Some(32));
        assert!(issuer.verify(&access, Kind::Access));
        assert!(
            !issuer.verify(&access, Kind::Refresh),
            "a token type is not another"
        );
        let refresh = issuer.issue(Kind::Refresh);
        assert!(issuer.verify(&refresh, Kind::Refresh));
        assert_ne!(claims(&refresh)["jti"], c["jti"]);
        assert!(
            !Issuer::new(Duration::from_secs(300), false).verify(&access, Kind::Access),
            "another key's token"
        );
    }

    #[test]
    fn tampered_and_malformed_tokens_are_refused() {
        let issuer = Issuer::new(Duration::from_secs(300), false);
        let access = issuer.issue(Kind::Access);
        let (input, signature) = access.rsplit_once('.').expect("signed");
        let forged_claims = URL_SAFE_NO_PAD
            .encode(br#"{"token_type":"access","exp":99999999999,"iat":0,"jti":"x","user_id":1}"#);
        let header = input.split('.').next().expect("header");
        for bad in [
            format!("{header}.{forged_claims}.{signature}"),
            format!("{input}.{}", URL_SAFE_NO_PAD.encode([0u8; 32])),
            format!("{input}."),
            input.to_owned(),
            "not-a-token".to_owned(),
            String::new(),
        ] {
            assert!(!issuer.verify(&bad, Kind::Access), "{bad}");
        }
    }

    #[test]
    fn sub_second_lifetimes_are_fractional_and_expire() {
        let issuer = Issuer::new(Duration::from_millis(50), true);
        let access = issuer.issue(Kind::Access);
        let c = claims(&access);
        let life = c["exp"].as_f64().expect("exp") - c["iat"].as_f64().expect("iat");
        assert!((life - 0.05).abs() < 1e-3, "{c}");
        assert_eq!(issuer.expires_in().and_then(|n| n.as_f64()), Some(0.05));
        assert!(issuer.verify(&access, Kind::Access));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!issuer.verify(&access, Kind::Access), "expired");
    }
}
