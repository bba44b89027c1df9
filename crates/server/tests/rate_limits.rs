//! Request rate limits: a burst past the limit gets 429 with `Retry-After` and a JSON
//! message, per client address and per account; probes are never limited; the defaults
//! leave ordinary use (and the other test suites) alone.

mod common;

use citygate_server::testkit::TestServer;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

async fn burst(
    api: &Api,
    path: &str,
    n: usize,
) -> (usize, Vec<(StatusCode, Option<String>, String)>) {
    let mut ok = 0;
    let mut refused = Vec::new();
    for _ in 0..n {
        let resp = api
            .http
            .get(format!("{}{path}", api.base))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let retry = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.text().await.unwrap();
        if status.is_success() {
            ok += 1;
        } else {
            refused.push((status, retry, body));
        }
    }
    (ok, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_past_the_address_limit_gets_429_with_retry_after() {
    let mut server = TestServer::sqlite_configured(|c| {
        c.rate_per_address = 1;
        c.burst_per_address = 5;
    })
    .await
    .unwrap();
    let anon = Api::anonymous(&server);
    let (ok, refused) = burst(&anon, "/api/v1/ledger/key", 12).await;
    // 5 at once, maybe one more refilled while the burst ran; the rest refused.
    assert!((5..=6).contains(&ok), "{ok} passed");
    assert!(!refused.is_empty());
    for (status, retry, body) in &refused {
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
        let secs: u64 = retry.as_deref().unwrap().parse().unwrap();
        assert!((1..=2).contains(&secs), "Retry-After {secs}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"], "rate_limited");
    }
    // Probes are never limited.
    let (ok, refused) = burst(&anon, "/healthz", 20).await;
    assert_eq!((ok, refused.len()), (20, 0));
    // After the wait, the address may go on.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(anon.get("/api/v1/ledger/key").await.0, StatusCode::OK);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_has_its_own_bucket() {
    let mut server = TestServer::sqlite_configured(|c| {
        c.rate_per_account = 1;
        c.burst_per_account = 4;
    })
    .await
    .unwrap();
    // Set-up and logins are not counted against an account (no caller yet).
    let token = server.setup_token.clone().unwrap();
    let anon = Api::anonymous(&server);
    let (status, _) = anon
        .post(
            "/api/v1/setup",
            &json!({"token": token, "username": "admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let admin = Api::login(&server, "admin", PASSWORD).await;
    let (status, body) = admin
        .post(
            "/api/v1/accounts",
            &json!({"username": "desk", "password": PASSWORD, "role": "desk", "department": "police"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let desk = Api::login(&server, "desk", PASSWORD).await;
    let (ok, refused) = burst(&desk, "/api/v1/me", 10).await;
    assert!((4..=5).contains(&ok), "{ok} passed");
    assert!(refused
        .iter()
        .all(|(s, retry, _)| *s == StatusCode::TOO_MANY_REQUESTS && retry.is_some()));
    // The administrator (another account, same address) is not held back by the desk.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(admin.get("/api/v1/me").await.0, StatusCode::OK);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_defaults_let_ordinary_bursts_through() {
    // What a busy desk or a small integration does: a few hundred requests in a row.
    let mut server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;
    let (ok, refused) = burst(&staff.desk, "/api/v1/cases", 500).await;
    assert_eq!((ok, refused.len()), (500, 0));
    server.stop().await.unwrap();
}
