//! Counters the demo server keeps so in-process callers (engine tests, benchmarks) can check
//! what actually reached the server. Owns the `Route` enum that names every demo endpoint.
//! Lock-free: every handler bumps an atomic, nothing here allocates per request.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// One endpoint of the demo API, as counted in [`DemoStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    /// `POST /api/v1/auth/token/`
    Login,
    /// `POST /api/v1/auth/token/refresh/`
    Refresh,
    /// `GET /api/v1/claims/` (listing, payer filter and search alike)
    ListClaims,
    /// `GET /api/v1/claims/{id}/`
    GetClaim,
    /// `GET /api/v1/payers/summary/`
    PayerSummary,
    /// `GET /api/v1/drift-events/`
    DriftEvents,
    /// `GET /api/v1/dashboard/`
    Dashboard,
    /// `GET /api/v1/uploads/`
    Uploads,
    /// `GET /api/v1/reports/`
    Reports,
    /// `GET /api/v1/health/`
    Health,
}

impl Route {
    /// Every route, in declaration order (the index order of the counters).
    pub const ALL: [Route; 10] = [
        Route::Login,
        Route::Refresh,
        Route::ListClaims,
        Route::GetClaim,
        Route::PayerSummary,
        Route::DriftEvents,
        Route::Dashboard,
        Route::Uploads,
        Route::Reports,
        Route::Health,
    ];

    /// A stable snake_case name, matching the reference scenario's task names where one exists.
    pub fn name(self) -> &'static str {
        match self {
            Route::Login => "login",
            Route::Refresh => "refresh",
            Route::ListClaims => "list_claims",
            Route::GetClaim => "get_claim_detail",
            Route::PayerSummary => "get_payer_summary",
            Route::DriftEvents => "list_drift_events",
            Route::Dashboard => "get_dashboard",
            Route::Uploads => "list_uploads",
            Route::Reports => "list_reports",
            Route::Health => "health",
        }
    }

    /// Whether the route needs `Authorization: Bearer <access>`.
    pub fn is_protected(self) -> bool {
        !matches!(self, Route::Login | Route::Refresh | Route::Health)
    }
}

/// Atomic counters of what the demo server saw since it started.
#[derive(Debug, Default)]
pub struct DemoStats {
    logins: AtomicU64,
    login_failures: AtomicU64,
    refreshes: AtomicU64,
    unauthorized: AtomicU64,
    injected_errors: AtomicU64,
    requests: [AtomicU64; Route::ALL.len()],
}

/// Relaxed ordering throughout: these are independent tallies read after the fact, nothing
/// synchronises through them.
fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl DemoStats {
    /// Successful logins (tokens issued by the token route).
    pub fn logins(&self) -> u64 {
        self.logins.load(Ordering::Relaxed)
    }

    /// Login attempts refused with 401 (bad credentials).
    pub fn login_failures(&self) -> u64 {
        self.login_failures.load(Ordering::Relaxed)
    }

    /// Successful token refreshes.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// Every 401 answered, whatever the route (bad login, unknown refresh token, missing,
    /// unknown or expired access token).
    pub fn unauthorized(&self) -> u64 {
        self.unauthorized.load(Ordering::Relaxed)
    }

    /// Requests answered 500 by `--error-rate`.
    pub fn injected_errors(&self) -> u64 {
        self.injected_errors.load(Ordering::Relaxed)
    }

    /// Requests that matched `route`, counted on arrival (before auth and fault injection).
    pub fn requests(&self, route: Route) -> u64 {
        self.requests[route as usize].load(Ordering::Relaxed)
    }

    /// All requests received, over every route.
    pub fn total_requests(&self) -> u64 {
        Route::ALL.iter().map(|&r| self.requests(r)).sum()
    }

    /// Requests per route name (see [`Route::name`]), routes never hit included as 0.
    pub fn requests_by_route(&self) -> BTreeMap<&'static str, u64> {
        Route::ALL
            .iter()
            .map(|&r| (r.name(), self.requests(r)))
            .collect()
    }

    pub(super) fn record_request(&self, route: Route) {
        bump(&self.requests[route as usize]);
    }

    pub(super) fn record_login(&self) {
        bump(&self.logins);
    }

    pub(super) fn record_login_failure(&self) {
        bump(&self.login_failures);
    }

    pub(super) fn record_refresh(&self) {
        bump(&self.refreshes);
    }

    pub(super) fn record_unauthorized(&self) {
        bump(&self.unauthorized);
    }

    pub(super) fn record_injected_error(&self) {
        bump(&self.injected_errors);
    }
}
