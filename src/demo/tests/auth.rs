//! Login, refresh, token expiry and the bearer check, plus the stats they move.

use std::time::Duration;

use serde_json::json;

use super::*;
#[tokio::test]
async fn login_accepts_the_demo_credentials_only() {
    let server = start(DemoOptions::default()).await;
    assert!(server.base_url().starts_with("http://127.0.0.1:"));

    let tokens = login(server.addr).await;
    let keys: Vec<&str> = tokens
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["access", "refresh"],
        "simplejwt's answer, no expires_in"
    );
    for key in ["access", "refresh"] {
        let token = tokens[key].as_str().expect("string token");
        assert_eq!(token.split('.').count(), 3, "{key} is a JWT");
    }
    assert_ne!(tokens["access"], tokens["refresh"]);

    let bad = post(server.addr, "/api/v1/auth/token/", &credentials("nope")).await;
    assert_eq!(bad.status, 401);
    assert!(bad.json()["detail"].is_string());
    assert_eq!(bad.header("content-type"), Some("application/json"));

    for body in ["{not json", r#"{"username":"demo"}"#, "[]", ""] {
        let reply = post(server.addr, "/api/v1/auth/token/", body).await;
        assert_eq!(reply.status, 400, "{body}");
        assert!(reply.json()["detail"].is_string());
    }

    assert_eq!(server.stats.logins(), 1);
    assert_eq!(server.stats.login_failures(), 1);
    assert_eq!(server.stats.unauthorized(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn protected_routes_need_a_live_bearer_token() {
    let server = start(DemoOptions::default()).await;
    let token = access_token(server.addr).await;
    for path in PROTECTED {
        let anonymous = get(server.addr, path, None).await;
        assert_eq!(anonymous.status, 401, "{path}");
        assert!(anonymous.json()["detail"].is_string(), "{path}");
        let forged = get(server.addr, path, Some(&"0".repeat(32))).await;
        assert_eq!(forged.status, 401, "{path}");
        assert_eq!(forged.json()["code"], "token_not_valid", "{path}");
        let authorized = get(server.addr, path, Some(&token)).await;
        assert_eq!(authorized.status, 200, "{path}");
        assert_eq!(authorized.header("content-type"), Some("application/json"));
        authorized.json();
    }
    // Also without the trailing slash.
    assert_eq!(
        get(server.addr, "/api/v1/dashboard", Some(&token))
            .await
            .status,
        200
    );
    assert_eq!(server.stats.unauthorized(), 2 * PROTECTED.len() as u64);
    server.shutdown().await;
}

#[tokio::test]
async fn access_tokens_expire_and_refresh_issues_new_ones() {
    let server = start(DemoOptions {
        token_ttl: Duration::from_millis(100),
        expires_in: true,
        ..DemoOptions::default()
    })
    .await;
    let issued = std::time::Instant::now();
    let tokens = login(server.addr).await;
    assert_eq!(tokens["expires_in"], 0.1, "the knob adds expires_in");
    let access = tokens["access"].as_str().expect("access");
    assert_eq!(
        get(server.addr, "/api/v1/dashboard/", Some(access))
            .await
            .status,
        200
    );

    until("the token expires", || async {
        get(server.addr, "/api/v1/dashboard/", Some(access))
            .await
            .status
            == 401
    })
    .await;
    // Not before its lifetime (the token was issued after `issued`).
    assert!(issued.elapsed() >= Duration::from_millis(100));
    let expired = get(server.addr, "/api/v1/dashboard/", Some(access)).await;
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.json(),
        json!({
            "detail": "Given token not valid for any token type",
            "code": "token_not_valid",
            "messages": [{"token_class": "AccessToken", "token_type": "access",
                          "message": "Token is invalid or expired"}]
        }),
        "simplejwt's body"
    );

    let refresh = json!({"refresh": tokens["refresh"]}).to_string();
    let renewed = post(server.addr, "/api/v1/auth/token/refresh/", &refresh).await;
    assert_eq!(renewed.status, 200);
    let renewed = renewed.json();
    assert_eq!(renewed["expires_in"], 0.1);
    assert!(
        renewed.get("refresh").is_none(),
        "refresh tokens are not rotated"
    );
    let access = renewed["access"].as_str().expect("access");
    assert_eq!(
        get(server.addr, "/api/v1/dashboard/", Some(access))
            .await
            .status,
        200
    );

    let unknown = json!({"refresh": "f".repeat(32)}).to_string();
    let path = "/api/v1/auth/token/refresh/";
    let refused = post(server.addr, path, &unknown).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["code"], "token_not_valid");
    // An access token is not a refresh token.
    let wrong_type = json!({"refresh": access}).to_string();
    assert_eq!(post(server.addr, path, &wrong_type).await.status, 401);
    assert_eq!(post(server.addr, path, "{}").await.status, 400);
    assert_eq!(server.stats.refreshes(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn stats_count_requests_per_route() {
    let server = start(DemoOptions::default()).await;
    let token = access_token(server.addr).await;
    for _ in 0..3 {
        get(server.addr, "/api/v1/claims/?page=2", Some(&token)).await;
    }
    get(server.addr, "/api/v1/claims/7/", Some(&token)).await;
    get(server.addr, "/api/v1/claims/7/", None).await;
    get(server.addr, "/api/v1/health/", None).await;

    let stats = &server.stats;
    assert_eq!(stats.requests(Route::ListClaims), 3);
    assert_eq!(stats.requests(Route::GetClaim), 2, "counted before auth");
    let by_route = stats.requests_by_route();
    assert_eq!(by_route["login"], 1);
    assert_eq!(by_route["health"], 1);
    assert_eq!(by_route["get_dashboard"], 0);
    assert_eq!(stats.total_requests(), 7);
    assert_eq!(stats.unauthorized(), 1);
    server.shutdown().await;
}
