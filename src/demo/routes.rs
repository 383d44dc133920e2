//! Handlers of the demo API's read routes (claims, payers, drift events, dashboard, uploads,
//! reports, health). They only answer: counting, latency, faults and auth happen in the gate
//! (`server.rs`) before a handler runs.

use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::data::SEVERITIES;
use super::reply;
use super::server::App;

/// Query of the claims list. Every field is a string so a bad `page` gets our own 400
/// rather than the extractor's plain-text rejection.
#[derive(Deserialize)]
pub(super) struct ListQuery {
    page: Option<String>,
    payer: Option<String>,
    search: Option<String>,
}

/// `GET /api/v1/claims/?page=N&payer=P&search=S`
pub(super) async fn list_claims(
    State(app): State<Arc<App>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return reply::detail(StatusCode::BAD_REQUEST, "malformed query string");
    };
    let page = match query.page.as_deref() {
        None => 1,
        Some(raw) => match raw.parse::<usize>() {
            Ok(page) if page > 0 => page,
            _ => {
                let message = format!("`page` must be a positive integer, got `{raw}`");
                return reply::detail(StatusCode::BAD_REQUEST, &message);
            }
        },
    };
    match app
        .data
        .list(page, query.payer.as_deref(), query.search.as_deref())
    {
        Ok(body) => reply::json(StatusCode::OK, body),
        Err(err) => reply::detail(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    }
}

/// `GET /api/v1/claims/{id}/`: 404 for an id that is not a known claim number.
pub(super) async fn get_claim(
    State(app): State<Arc<App>>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let body = id
        .ok()
        .and_then(|Path(id)| id.parse::<u32>().ok())
        .and_then(|id| app.data.claim_body(id));
    match body {
        Some(body) => reply::json(StatusCode::OK, body),
        None => reply::json_static(StatusCode::NOT_FOUND, reply::NOT_FOUND),
    }
}

/// `GET /api/v1/payers/summary/`
pub(super) async fn payer_summary(State(app): State<Arc<App>>) -> Response {
    reply::json(StatusCode::OK, app.data.payer_summary.clone())
}

#[derive(Deserialize)]
pub(super) struct DriftQuery {
    severity: Option<String>,
}

/// `GET /api/v1/drift-events/?severity=S`: severity is optional, matched ignoring case.
pub(super) async fn drift_events(
    State(app): State<Arc<App>>,
    query: Result<Query<DriftQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return reply::detail(StatusCode::BAD_REQUEST, "malformed query string");
    };
    let Some(severity) = query.severity else {
        return reply::json(StatusCode::OK, app.data.drift_all.clone());
    };
    match SEVERITIES
        .iter()
        .position(|s| s.eq_ignore_ascii_case(&severity))
    {
        Some(i) => reply::json(StatusCode::OK, app.data.drift_by_severity[i].clone()),
        None => {
            let message = format!("`severity` must be one of high, medium, low, got `{severity}`");
            reply::detail(StatusCode::BAD_REQUEST, &message)
        }
    }
}

/// `GET /api/v1/dashboard/`
pub(super) async fn dashboard(State(app): State<Arc<App>>) -> Response {
    reply::json(StatusCode::OK, app.data.dashboard.clone())
}

/// `GET /api/v1/uploads/` and `GET /api/v1/reports/`: always empty.
pub(super) async fn empty_list(State(app): State<Arc<App>>) -> Response {
    reply::json(StatusCode::OK, app.data.empty_results.clone())
}

/// `GET /api/v1/health/` (no auth): 503 during `--unhealthy-for`, then 200 with the version.
pub(super) async fn health(State(app): State<Arc<App>>) -> Response {
    if app.started.elapsed() < app.unhealthy_for {
        reply::json_static(StatusCode::SERVICE_UNAVAILABLE, br#"{"status":"starting"}"#)
    } else {
        reply::json(StatusCode::OK, app.health_ok.clone())
    }
}

/// Anything that is not a route of the demo API.
pub(super) async fn not_found() -> Response {
    reply::json_static(StatusCode::NOT_FOUND, reply::NOT_FOUND)
}
