//! The demo API's router and its gate: the one middleware every route passes through, which
//! counts the request, adds latency, injects the configured faults and checks the bearer
//! token, in that order, before the handler runs. Also owns `App`, the state shared by all
//! handlers.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use super::auth::{self, Issuer};
use super::data::Dataset;
use super::options::{DemoOptions, SlowPath};
use super::stats::{DemoStats, Route};
use super::{reply, routes};

/// Every route and its path as the reference API spells it (trailing slash); the router
/// also accepts each path without it. `/health` as well, where `loadplan init`'s starter
/// plan looks, so a new plan runs against `--demo` as written.
const ROUTES: [(&str, Route); 11] = [
    ("/api/v1/auth/token/", Route::Login),
    ("/api/v1/auth/token/refresh/", Route::Refresh),
    ("/api/v1/claims/", Route::ListClaims),
    ("/api/v1/claims/{id}/", Route::GetClaim),
    ("/api/v1/payers/summary/", Route::PayerSummary),
    ("/api/v1/drift-events/", Route::DriftEvents),
    ("/api/v1/dashboard/", Route::Dashboard),
    ("/api/v1/uploads/", Route::Uploads),
    ("/api/v1/reports/", Route::Reports),
    ("/api/v1/health/", Route::Health),
    ("/health/", Route::Health),
];

/// State shared by the gate and all handlers.
#[derive(Debug)]
pub(super) struct App {
    pub(super) stats: Arc<DemoStats>,
    pub(super) tokens: Issuer,
    pub(super) data: Dataset,
    pub(super) started: Instant,
    pub(super) unhealthy_for: Duration,
    /// `{"status":"ok","version":...}` (status from `--health-status`), fixed for the
    /// server's life.
    pub(super) health_ok: Bytes,
    latency: Duration,
    slow: Vec<SlowPath>,
    stall: Vec<String>,
    reset: Vec<String>,
    bad_json: Vec<String>,
    error_rate: f64,
    /// Authenticated protected requests so far: the sequence `--error-rate` picks from.
    protected_seen: AtomicU64,
    stop: watch::Receiver<bool>,
}

#[derive(Serialize)]
struct Healthy<'a> {
    status: &'a str,
    version: &'a str,
}

impl App {
    /// `stop` turns true (or closes) when the server shuts down; stalled requests wait on it.
    pub(super) fn new(opts: &DemoOptions, stop: watch::Receiver<bool>) -> io::Result<App> {
        let healthy = Healthy {
            status: &opts.health_status,
            version: &opts.version,
        };
        Ok(App {
            stats: Arc::new(DemoStats::default()),
            tokens: Issuer::new(opts.token_ttl, opts.expires_in),
            data: Dataset::build().map_err(io::Error::other)?,
            started: Instant::now(),
            unhealthy_for: opts.unhealthy_for,
            health_ok: serde_json::to_vec(&healthy)
                .map(Bytes::from)
                .map_err(io::Error::other)?,
            latency: opts.latency,
            slow: opts.slow.clone(),
            stall: opts.stall.clone(),
            reset: opts.reset.clone(),
            bad_json: opts.bad_json.clone(),
            error_rate: opts.error_rate,
            protected_seen: AtomicU64::new(0),
            stop,
        })
    }

    fn delay_for(&self, path: &str) -> Duration {
        self.slow
            .iter()
            .filter(|slow| slow.path == path)
            .fold(self.latency, |total, slow| total + slow.delay)
    }

    /// Whether this request gets the injected 500. Request `n` fails when `floor(n * rate)`
    /// steps up, which spreads exactly `rate` of the requests evenly and deterministically
    /// (rate 0.25 fails every 4th; 1.0 fails all), so tests need no seed.
    fn inject_error(&self) -> bool {
        if self.error_rate <= 0.0 {
            return false;
        }
        let n = self.protected_seen.fetch_add(1, Ordering::Relaxed) as f64;
        ((n + 1.0) * self.error_rate).floor() > (n * self.error_rate).floor()
    }

    /// Resolves once the server is shutting down (or its handle is gone).
    async fn stopped(&self) {
        let mut stop = self.stop.clone();
        // An error means the sender was dropped, which also means the server is going away.
        let _ = stop.wait_for(|&stopped| stopped).await;
    }
}

fn handler(route: Route) -> MethodRouter<Arc<App>> {
    match route {
        Route::Login => post(auth::login),
        Route::Refresh => post(auth::refresh),
        Route::ListClaims => get(routes::list_claims),
        Route::GetClaim => get(routes::get_claim),
        Route::PayerSummary => get(routes::payer_summary),
        Route::DriftEvents => get(routes::drift_events),
        Route::Dashboard => get(routes::dashboard),
        Route::Uploads | Route::Reports => get(routes::empty_list),
        Route::Health => get(routes::health),
    }
}

/// The demo API's router, with the gate in front of every route.
pub(super) fn router(app: Arc<App>) -> Router {
    let mut router = Router::new();
    for (path, route) in ROUTES {
        // `route_layer`, so a wrong method (405) or an unknown path (404) skips the gate.
        let gated = handler(route).route_layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            move |State(app): State<Arc<App>>, request: Request, next: Next| {
                gate(app, route, request, next)
            },
        ));
        router = router
            .route(path, gated.clone())
            .route(path.trim_end_matches('/'), gated);
    }
    router
        .merge(super::protocol::routes())
        .fallback(routes::not_found)
        .with_state(app)
}

/// Runs before every handler. Path faults come before auth, so a fault path misbehaves for
/// any client, logged in or not; `--error-rate` comes after it, so it only ever replaces
/// answers an authenticated client would have got.
async fn gate(app: Arc<App>, route: Route, request: Request, next: Next) -> Response {
    app.stats.record_request(route);
    let path = request.uri().path();

    let delay = app.delay_for(path);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if app.stall.iter().any(|p| p == path) {
        // Hold the request until shutdown, then drop the connection, so a stalled request
        // never keeps graceful shutdown waiting.
        app.stopped().await;
        return reply::reset();
    }
    if app.reset.iter().any(|p| p == path) {
        return reply::reset();
    }
    if app.bad_json.iter().any(|p| p == path) {
        return reply::json_static(StatusCode::OK, reply::BAD_JSON);
    }

    if route.is_protected() {
        if let Err(body) = auth::authorize(&app, request.headers()) {
            return auth::unauthorized(&app, body);
        }
        if app.inject_error() {
            app.stats.record_injected_error();
            return reply::json_static(StatusCode::INTERNAL_SERVER_ERROR, reply::INJECTED_ERROR);
        }
    }
    next.run(request).await
}
