//! The fault knobs (error rate, latency, stall, reset, bad JSON) and server shutdown.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::TcpStream;

use super::*;
#[tokio::test]
async fn error_rate_replaces_authorized_answers_with_500() {
    let server = start(DemoOptions {
        error_rate: 1.0,
        ..DemoOptions::default()
    })
    .await;
    let token = access_token(server.addr).await;
    let failed = get(server.addr, "/api/v1/dashboard/", Some(&token)).await;
    assert_eq!(
        (failed.status, failed.json()),
        (500, json!({"detail": "injected error"}))
    );
    // Auth still comes first, and unprotected routes are spared.
    assert_eq!(
        get(server.addr, "/api/v1/dashboard/", None).await.status,
        401
    );
    assert_eq!(get(server.addr, "/api/v1/health/", None).await.status, 200);
    assert_eq!(server.stats.injected_errors(), 1);
    server.shutdown().await;

    let server = start(DemoOptions {
        error_rate: 0.25,
        ..DemoOptions::default()
    })
    .await;
    let token = access_token(server.addr).await;
    let mut failures = 0;
    for _ in 0..20 {
        if get(server.addr, "/api/v1/uploads/", Some(&token))
            .await
            .status
            == 500
        {
            failures += 1;
        }
    }
    assert_eq!(failures, 5, "a quarter, exactly");
    server.shutdown().await;
}

#[tokio::test]
async fn latency_and_slow_paths_delay_answers() {
    let server = start(DemoOptions {
        latency: Duration::from_millis(30),
        slow: vec!["/api/v1/health/=120".parse().expect("valid --slow")],
        ..DemoOptions::default()
    })
    .await;
    let started = Instant::now();
    assert_eq!(get(server.addr, "/api/v1/health/", None).await.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    assert_eq!(
        get(server.addr, "/api/v1/dashboard/", None).await.status,
        401
    );
    assert!(
        started.elapsed() >= Duration::from_millis(30),
        "{:?}",
        started.elapsed()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn stalled_paths_never_answer_and_do_not_block_shutdown() {
    let server = start(DemoOptions {
        stall: vec!["/api/v1/health/".into()],
        ..DemoOptions::default()
    })
    .await;
    let stalled = tokio::time::timeout(
        Duration::from_millis(200),
        send(server.addr, "GET", "/api/v1/health/", None, None),
    )
    .await;
    assert!(stalled.is_err(), "the client timed out");
    // Another path on the same server still answers.
    assert_eq!(get(server.addr, "/api/v1/health", None).await.status, 200);

    // Leave a stalled request in flight: shutdown must still be quick.
    let addr = server.addr;
    let seen = server.stats.requests(Route::Health);
    let in_flight = tokio::spawn(send(addr, "GET", "/api/v1/health/", None, None));
    let stats = server.stats.clone();
    until("the stalled request arrives", || {
        let stats = stats.clone();
        async move { stats.requests(Route::Health) > seen }
    })
    .await;
    tokio::time::timeout(Duration::from_secs(2), server.shutdown())
        .await
        .expect("shutdown does not wait for stalled requests");
    let dropped = in_flight.await.expect("client task");
    assert!(
        dropped.is_err(),
        "the stalled request ends without an answer"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing listens any more"
    );
}

#[tokio::test]
async fn reset_and_bad_json_paths_misbehave() {
    let server = start(DemoOptions {
        reset: vec!["/api/v1/uploads/".into()],
        bad_json: vec!["/api/v1/reports/".into()],
        ..DemoOptions::default()
    })
    .await;
    let reset = send(server.addr, "GET", "/api/v1/uploads/", None, None).await;
    assert!(reset.is_err(), "no complete answer on a reset path");

    let bad = get(server.addr, "/api/v1/reports/", None).await;
    assert_eq!(bad.status, 200);
    assert_eq!(bad.header("content-type"), Some("application/json"));
    assert!(serde_json::from_slice::<Value>(&bad.body).is_err());
    server.shutdown().await;
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let server = start(DemoOptions::default()).await;
    let addr = server.addr;
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(2);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still listening after drop");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
