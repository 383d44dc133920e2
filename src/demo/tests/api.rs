//! The read routes: claims paging, filters and detail, drift events, health, 404/405.

use std::time::Duration;

use serde_json::json;

use super::*;
#[tokio::test]
async fn claims_page_filter_search_and_detail() {
    let server = start(DemoOptions::default()).await;
    let token = access_token(server.addr).await;
    let list = |query: &str| {
        let path = format!("/api/v1/claims/{query}");
        let token = token.clone();
        async move { get(server.addr, &path, Some(&token)).await }
    };

    let first = list("").await.json();
    assert_eq!(
        (first["count"].clone(), first["page"].clone()),
        (json!(200), json!(1))
    );
    let results = first["results"].as_array().expect("results");
    assert_eq!(results.len(), 20);
    for key in ["id", "payer", "amount", "status"] {
        assert!(!results[0][key].is_null(), "{key}");
    }
    assert_eq!(
        list("?page=10").await.json()["results"]
            .as_array()
            .map(Vec::len),
        Some(20)
    );
    assert_eq!(list("?page=11").await.json()["results"], json!([]));
    for bad in ["0", "-1", "abc", "", "1.5"] {
        let reply = list(&format!("?page={bad}")).await;
        assert_eq!(reply.status, 400, "page={bad}");
        assert!(reply.json()["detail"].is_string());
    }

    let summary = get(server.addr, "/api/v1/payers/summary/", Some(&token))
        .await
        .json();
    let aetna = summary["payers"]
        .as_array()
        .and_then(|payers| payers.iter().find(|p| p["name"] == "Aetna"))
        .expect("Aetna in the summary")["claims"]
        .clone();
    let by_payer = list("?payer=aetna").await.json();
    assert_eq!(by_payer["count"], aetna);
    assert!(
        by_payer["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|c| c["payer"] == "Aetna")
    );

    let denied = list("?search=DENIED&page=1").await.json();
    let denied_results = denied["results"].as_array().expect("results");
    assert!(!denied_results.is_empty());
    assert!(denied_results.iter().all(|c| c["status"] == "denied"));
    assert_eq!(list("?search=zzz").await.json()["count"], 0);

    let claim = &results[3];
    let detail = get(
        server.addr,
        &format!("/api/v1/claims/{}/", claim["id"]),
        Some(&token),
    )
    .await;
    assert_eq!((detail.status, &detail.json()), (200, claim));
    for missing in ["0", "201", "abc"] {
        let reply = get(
            server.addr,
            &format!("/api/v1/claims/{missing}/"),
            Some(&token),
        )
        .await;
        assert_eq!(reply.status, 404, "{missing}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn drift_events_filter_by_severity() {
    let server = start(DemoOptions::default()).await;
    let token = access_token(server.addr).await;
    let all = get(server.addr, "/api/v1/drift-events/", Some(&token))
        .await
        .json();
    let mut seen = 0;
    for severity in ["high", "medium", "low"] {
        let path = format!("/api/v1/drift-events/?severity={severity}");
        let events = get(server.addr, &path, Some(&token)).await.json();
        let events = events["results"].as_array().expect("results").clone();
        assert!(!events.is_empty() && events.iter().all(|e| e["severity"] == severity));
        seen += events.len();
    }
    assert_eq!(all["results"].as_array().map(Vec::len), Some(seen));
    let bogus = get(
        server.addr,
        "/api/v1/drift-events/?severity=dire",
        Some(&token),
    )
    .await;
    assert_eq!(bogus.status, 400);
    server.shutdown().await;
}

#[tokio::test]
async fn health_is_starting_then_ok_with_the_version() {
    let before_start = std::time::Instant::now();
    let server = start(DemoOptions {
        unhealthy_for: Duration::from_millis(150),
        version: "9.9.9".into(),
        ..DemoOptions::default()
    })
    .await;
    let starting = get(server.addr, "/api/v1/health/", None).await;
    assert_eq!(
        (starting.status, starting.json()),
        (503, json!({"status": "starting"}))
    );
    until("healthy", || async {
        get(server.addr, "/api/v1/health/", None).await.status == 200
    })
    .await;
    // Not before the configured time (the server started after `before_start`).
    assert!(before_start.elapsed() >= Duration::from_millis(150));
    let ok = get(server.addr, "/api/v1/health/", None).await;
    assert_eq!(
        (ok.status, ok.json()),
        (200, json!({"status": "ok", "version": "9.9.9"}))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let server = start(DemoOptions::default()).await;
    let missing = get(server.addr, "/api/v2/nothing/", None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.json()["detail"].is_string());
    assert_eq!(
        get(server.addr, "/api/v1/auth/token/", None).await.status,
        405
    );
    assert_eq!(server.stats.total_requests(), 0, "neither reached a route");
    server.shutdown().await;
}
