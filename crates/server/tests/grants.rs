//! Auditor grants: without one an auditor sees a case without personal data; an
//! administrator's grant (logged to the ledger first) opens that case's personal data to
//! that auditor only, each read is recorded, and bad grants are refused.

mod common;

use citygate_server::testkit::TestServer;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_opens_one_case_to_one_auditor() {
    let mut server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;
    let case = open_case(&staff.desk, "in_person", ice_detainer()).await;
    let other = open_case(&staff.desk, "phone", ice_detainer()).await;
    let path = format!("/api/v1/cases/{case}");

    let (status, before) = staff.auditor.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(before.get("personal").is_none(), "{before}");

    let grants = format!("/api/v1/cases/{case}/grants");
    for (body, field) in [
        (json!({"auditor": staff.auditor.id, "days": 0}), "days"),
        (json!({"auditor": staff.auditor.id, "days": 91}), "days"),
        (json!({"auditor": staff.desk.id, "days": 7}), "auditor"),
        (json!({"auditor": 999_999, "days": 7}), "auditor"),
    ] {
        let (status, answer) = staff.admin.post(&grants, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["field"], json!(field), "{answer}");
    }
    let (status, _) = staff
        .admin
        .post(
            "/api/v1/cases/00000000000000000000000000000000/grants",
            &json!({"auditor": staff.auditor.id, "days": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, grant) = staff
        .admin
        .post(&grants, &json!({"auditor": staff.auditor.id, "days": 7}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{grant}");
    assert!(grant["ledger_index"].as_i64().is_some(), "{grant}");

    let (status, after) = staff.auditor.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        after["personal"]["requester"]["name"].is_string(),
        "{after}"
    );
    // Only that case.
    let (_, unrelated) = staff.auditor.get(&format!("/api/v1/cases/{other}")).await;
    assert!(unrelated.get("personal").is_none(), "{unrelated}");
    // The read under the grant is in the access log.
    let (_, log) = staff
        .auditor
        .get(&format!("/api/v1/access-log?case={case}"))
        .await;
    let reads: Vec<i64> = log
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["account_id"].as_i64()).collect())
        .unwrap_or_default();
    assert!(reads.contains(&staff.auditor.id), "{log}");
    server.stop().await.unwrap();
}
