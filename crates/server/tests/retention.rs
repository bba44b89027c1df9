//! Retention: the limits that cover a case are kept with it when it opens; once it closes
//! and the period has run, the job destroys what they name, logging each purge to the
//! ledger first and as a case event; what remains keeps working, what is gone says so.

mod common;

use citygate_engine::packs::embedded_packs;
use citygate_engine::{PackText, RuleSet};
use citygate_server::retention::run_once;
use citygate_server::testkit::TestServer;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const DAY: i64 = 86_400;
const PAPER: &str = include_str!("../../../testdata/documents/i247a_detainer.txt");

/// ICE's subpoena for CityKey applications (April 2025): declined, supervisor sign-off.
fn citykey_subpoena() -> Value {
    json!({"jurisdiction": "chicago", "act": "share_information", "agency": {"kind": "municipal_id"},
           "requester": {"kind": "immigration_agency"}, "data": ["municipal_id_record"],
           "documents": [{"kind": "administrative_subpoena"}]})
}

/// Counsel declines (when referred), a supervisor signs off (when required), and the desk
/// records the decline: the case closes.
async fn close(staff: &Staff, case: &str) -> Value {
    let (_, mut seen) = staff.desk.get(&format!("/api/v1/cases/{case}")).await;
    // Each step answers with the case, whose status says which step comes next.
    let steps = [
        (
            "awaiting_counsel",
            &staff.counsel,
            "resolution",
            json!({"outcome": "decline"}),
        ),
        ("awaiting_signoff", &staff.supervisor, "signoff", json!({})),
        (
            "awaiting_action",
            &staff.desk,
            "action",
            json!({"action": "declined"}),
        ),
    ];
    for (waiting, who, step, body) in steps {
        if seen["status"] == waiting {
            let (status, answer) = who
                .post(&format!("/api/v1/cases/{case}/{step}"), &body)
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            seen = answer;
        }
    }
    assert_eq!(seen["status"], "closed");
    seen
}

fn event_kinds(case: &Value) -> Vec<String> {
    case["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Uploads the test paper to `case`.
async fn upload_paper(who: &Api, case: &str) -> (StatusCode, Value) {
    who.post_bytes(
        &format!("/api/v1/cases/{case}/documents"),
        "text/plain",
        PAPER,
    )
    .await
}

#[tokio::test]
async fn municipal_id_papers_are_destroyed_when_the_case_closes_and_the_case_stays() {
    let server = TestServer::sqlite_configured(|c| c.retention_every = 0)
        .await
        .unwrap();
    let staff = staff(&server).await;
    let case = open_case(&staff.desk, "in_person", citykey_subpoena()).await;
    let control = open_case(&staff.desk, "in_person", ice_detainer()).await;
    for id in [&case, &control] {
        let (status, body) = upload_paper(&staff.desk, id).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, opened) = staff.desk.get(&format!("/api/v1/cases/{case}")).await;
    assert_eq!(
        opened["retention"]["limits"],
        json!([{"rule": "chicago.citykey.documents-not-kept", "what": "documents", "keep_days_after_close": 0}])
    );
    assert_eq!(opened["retention"]["next_purge_at"], Value::Null);
    let (_, other) = staff.desk.get(&format!("/api/v1/cases/{control}")).await;
    assert_eq!(other["retention"]["limits"], json!([]));

    // Open cases are never purged, however late it is.
    let far = citygate_server::now() + 3650 * DAY;
    assert_eq!(run_once(&server.state, far).await.unwrap(), vec![]);

    let closed = close(&staff, &case).await;
    close(&staff, &control).await;
    let closed_at = closed["retention"]["closed_at"].as_i64().unwrap();
    assert_eq!(
        closed["retention"]["next_purge_at"].as_i64(),
        Some(closed_at)
    );
    assert_eq!(
        run_once(&server.state, closed_at - 1).await.unwrap(),
        vec![]
    );

    let before = staff.desk.ledger_size().await;
    let purged = run_once(&server.state, closed_at).await.unwrap();
    assert_eq!(purged.len(), 1, "{purged:?}");
    assert_eq!(
        (
            purged[0].case_id.as_str(),
            purged[0].rule.as_str(),
            purged[0].what.as_str()
        ),
        (
            case.as_str(),
            "chicago.citykey.documents-not-kept",
            "documents"
        )
    );
    assert_eq!(
        staff.desk.ledger_size().await,
        before + 1,
        "one ledger entry per purge"
    );
    assert_eq!(purged[0].ledger_index as u64, before);
    assert_eq!(
        run_once(&server.state, far).await.unwrap(),
        vec![],
        "done once"
    );

    // The papers are gone and say so; what they were stays listed; the case stays.
    let (status, body) = staff
        .desk
        .get(&format!("/api/v1/cases/{case}/documents/1"))
        .await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("retention"),
        "{body}"
    );
    let (_, listed) = staff
        .desk
        .get(&format!("/api/v1/cases/{case}/documents"))
        .await;
    assert_eq!(listed[0]["kind"], "immigration_detainer");
    assert!(listed[0]["purged_at"].is_i64(), "{listed}");
    let (_, after) = staff.desk.get(&format!("/api/v1/cases/{case}")).await;
    assert_eq!(after["personal"]["requester"]["name"], "A. Requester");
    assert_eq!(
        event_kinds(&after).last().map(String::as_str),
        Some("documents_purged")
    );
    let last = after["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["ledger_index"].as_i64(), last["actor"].as_i64()),
        (Some(purged[0].ledger_index), Some(0))
    );
    assert_eq!(after["retention"]["next_purge_at"], Value::Null);
    let (status, _) = upload_paper(&staff.desk, &case).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "no new papers on a purged case"
    );

    // The other case keeps its paper.
    let (status, _) = staff
        .desk
        .get(&format!("/api/v1/cases/{control}/documents/1"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

const DETAILS_PACK: &str = r#"[pack]
covers_from = "2020-01-01"
level = "city"
title = "Test retention schedule"

[[retention]]
id = "test.library.details-30-days"
citation = "Test Retention Schedule § 1"
confidence = "TEXT"
excerpt = "Library case files are destroyed thirty days after the matter closes."
when.agency = ["library"]
what = "details"
keep_days_after_close = 30
explanation = "Thirty days."
"#;

#[tokio::test]
async fn a_details_limit_destroys_the_personal_data_and_closes_the_case_to_new_steps() {
    let mut packs = embedded_packs();
    packs.push(PackText {
        pack: "chicago".into(),
        file: "rules/chicago/test-retention.toml".into(),
        text: DETAILS_PACK.into(),
    });
    let rules = RuleSet::load(&packs).unwrap();
    let server = TestServer::sqlite_with_rules(rules).await.unwrap();
    let staff = staff(&server).await;
    let library = json!({"jurisdiction": "chicago", "act": "share_information", "agency": {"kind": "library"},
                         "requester": {"kind": "immigration_agency"}, "data": ["contact_information"]});
    let (status, body) = staff
        .desk
        .post(
            "/api/v1/cases",
            &json!({"channel": "in_person", "requester": {"name": "Agent Marker-7731", "contact": "marker-7731@example.gov"},
                    "subject_name": "Subject Marker-7731", "request": library, "notes": "note marker-7731"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let case = body["id"].as_str().unwrap().to_owned();
    let (status, body) = upload_paper(&staff.desk, &case).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let closed = close(&staff, &case).await;
    let closed_at = closed["retention"]["closed_at"].as_i64().unwrap();
    assert_eq!(
        closed["retention"]["next_purge_at"].as_i64(),
        Some(closed_at + 30 * DAY)
    );

    assert_eq!(
        run_once(&server.state, closed_at + 30 * DAY - 1)
            .await
            .unwrap(),
        vec![]
    );
    let purged = run_once(&server.state, closed_at + 30 * DAY).await.unwrap();
    assert_eq!(purged.len(), 1, "{purged:?}");
    assert_eq!(
        (purged[0].rule.as_str(), purged[0].what.as_str()),
        ("test.library.details-30-days", "details")
    );

    let (status, after) = staff.desk.get(&format!("/api/v1/cases/{case}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(after.get("personal").is_none(), "{after}");
    assert!(after["retention"]["details_purged_at"].is_i64());
    assert!(
        after["retention"]["documents_purged_at"].is_i64(),
        "the details include the papers"
    );
    assert!(after["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e.get("details").is_none()));
    assert!(
        !after.to_string().to_lowercase().contains("marker-7731"),
        "{after}"
    );
    assert_eq!(after["outcome"], closed["outcome"], "the answer stays");
    let (status, _) = staff
        .desk
        .get(&format!("/api/v1/cases/{case}/documents/1"))
        .await;
    assert_eq!(status, StatusCode::GONE);
    let (status, body) = staff
        .desk
        .post(
            &format!("/api/v1/cases/{case}/disclosures"),
            &json!({"what": "x", "to": "y"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Nothing of the purged values is left in the database file, not even sealed (the
    // markers are sealed, so look for the sealed values' absence instead: every sealed
    // column of the case is empty).
    let db = server.data_dir.join("citygate.sqlite");
    let mut conn =
        <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite:{}", db.display()))
            .await
            .unwrap();
    let (personal, events, content): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT length(personal) FROM cases WHERE id = ?1), \
                (SELECT COUNT(*) FROM case_events WHERE case_id = ?1 AND personal IS NOT NULL), \
                (SELECT SUM(length(content)) FROM case_documents WHERE case_id = ?1)",
    )
    .bind(&case)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((personal, events, content), (0, 0, 0));
}

#[tokio::test]
async fn the_service_runs_the_job_on_its_own() {
    let server = TestServer::sqlite_configured(|c| c.retention_every = 1)
        .await
        .unwrap();
    let staff = staff(&server).await;
    let case = open_case(&staff.desk, "in_person", citykey_subpoena()).await;
    let (status, _) = upload_paper(&staff.desk, &case).await;
    assert_eq!(status, StatusCode::CREATED);
    close(&staff, &case).await;
    for _ in 0..100 {
        let (_, listed) = staff
            .desk
            .get(&format!("/api/v1/cases/{case}/documents"))
            .await;
        if listed[0]["purged_at"].is_i64() {
            let (_, metrics) = staff.desk.get("/metrics").await;
            let text = metrics.as_str().map(str::to_owned).unwrap_or_default();
            assert!(text.contains("citygate_retention_purges_total 1"), "{text}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the scheduled job did not purge the papers within 10 s");
}
