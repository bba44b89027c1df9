//! Public-records releases through the service: the records role sends a record on a case
//! decided comply and gets it back redacted with its log; the release is logged to the
//! ledger first with counts and digests, never a value; bad requests are clear 4xx.

mod common;

use base64::Engine as _;
use citygate_server::testkit::TestServer;
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

const RECORD: &str = "Booking log 2026-03-02\n\
ARRESTEE: MARTINEZ, JOSE, SSN 123-45-6789, phone 773-437-2219, A-number A123456789.\n\
Officer noted the arrestee is undocumented.\n";

const TABLE: &str =
    "name,ssn,charge\nMaria Gonzalez,219-09-9999,theft\nPiotr Nowak,078-05-1121,trespass\n";

async fn send(who: &Api, case: &str, query: &str, body: &str) -> (StatusCode, Value) {
    who.post_bytes(
        &format!("/api/v1/cases/{case}/releases{query}"),
        "application/octet-stream",
        body.to_owned(),
    )
    .await
}

fn released(body: &Value) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body["content_base64"].as_str().unwrap())
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn a_record_is_redacted_logged_first_and_returned_with_its_log() {
    let server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;
    let case = open_case(&staff.records, "records_portal", public_records()).await;
    let before = staff.records.ledger_size().await;
    let (status, body) = send(&staff.records, &case, "?name=booking.txt", RECORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let out = released(&body);
    for value in [
        "123-45-6789",
        "773-437-2219",
        "A123456789",
        "MARTINEZ",
        "JOSE",
        "undocumented",
    ] {
        assert!(!out.contains(value), "{value} left in: {out}");
    }
    assert!(out.contains("[REDACTED"), "{out}");
    assert!(out.contains("Booking log"), "{out}");
    assert_eq!(body["policy"], "foia-general");
    assert_eq!(body["file"], "booking.txt");
    assert!(body["redactions"]["SSN"].as_u64() >= Some(1), "{body}");
    let log = body["log"].as_array().unwrap();
    assert!(!log.is_empty());
    let log_text = serde_json::to_string(log).unwrap();
    for value in ["123-45-6789", "773-437-2219", "A123456789", "MARTINEZ"] {
        assert!(
            !log_text.contains(value),
            "the log never holds a value: {log_text}"
        );
    }
    assert_eq!(staff.records.ledger_size().await, before + 1);
    assert_eq!(body["ledger_index"].as_u64(), Some(before));
    let (_, seen) = staff.records.get(&format!("/api/v1/cases/{case}")).await;
    let last = seen["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "release");
    assert_eq!(last["details"]["file"], "booking.txt");
    // The receipt proves the release entry is in the ledger.
    let (status, _) = staff
        .records
        .get(&format!("/api/v1/ledger/receipts/{before}"))
        .await;
    assert_eq!(status, StatusCode::OK);

    // A table under the arrest-report policy, by multipart with its own file name.
    let (content_type, multipart) = multipart_file("C:\\\\exports\\\\arrests.csv", TABLE);
    let (status, body) = staff
        .records
        .post_bytes(
            &format!("/api/v1/cases/{case}/releases?policy=arrest-report-2-15"),
            &content_type,
            multipart,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (body["file"].as_str(), body["format"].as_str()),
        (Some("arrests.csv"), Some("csv"))
    );
    let out = released(&body);
    assert!(
        !out.contains("219-09-9999") && !out.contains("078-05-1121"),
        "{out}"
    );
    assert!(out.contains("theft"), "{out}");
}

#[tokio::test]
async fn bad_release_requests_are_clear_4xx() {
    let server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;
    let case = open_case(&staff.records, "records_portal", public_records()).await;
    let table: &[(&str, &str, StatusCode, &str)] = &[
        ("", RECORD, StatusCode::BAD_REQUEST, "name"),
        ("?name=x.exe", RECORD, StatusCode::BAD_REQUEST, "supported"),
        (
            "?name=.hidden.txt",
            RECORD,
            StatusCode::BAD_REQUEST,
            "plain file name",
        ),
        (
            "?name=redaction-log.jsonl",
            RECORD,
            StatusCode::BAD_REQUEST,
            "reserved",
        ),
        (
            "?name=a.txt&policy=everything",
            RECORD,
            StatusCode::BAD_REQUEST,
            "allowed: ",
        ),
        (
            "?name=a.txt&colour=red",
            RECORD,
            StatusCode::BAD_REQUEST,
            "",
        ),
        ("?name=a.txt", "", StatusCode::BAD_REQUEST, "empty"),
        (
            "?name=a.json",
            "{\"name\": \"John\", ",
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot be redacted",
        ),
        (
            "?name=a.csv",
            "a,b\n\"unterminated,2\n",
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
    ];
    let before = staff.records.ledger_size().await;
    for (query, body, want, says) in table {
        let (status, answer) = send(&staff.records, &case, query, body).await;
        assert_eq!(status, *want, "{query}: {answer}");
        assert!(answer.to_string().contains(says), "{query}: {answer}");
        assert!(
            !answer.to_string().contains("John"),
            "never echoes the record: {answer}"
        );
    }
    assert_eq!(
        staff.records.ledger_size().await,
        before,
        "nothing released, nothing logged"
    );

    // Only on a case decided comply.
    let referred = open_case(&staff.records, "records_portal", unclear()).await;
    let (status, answer) = send(&staff.records, &referred, "?name=a.txt", RECORD).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`refer`"),
        "{answer}"
    );
}

/// The record `notes.txt` and a `decisions` part, as multipart.
async fn send_with_decisions(
    who: &Api,
    case: &str,
    record: &str,
    decisions: &str,
) -> (StatusCode, Value) {
    let boundary = "citygate-decisions-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"decisions\"\r\n\r\n{decisions}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\n\r\n{record}\r\n\
         --{boundary}--\r\n"
    );
    who.post_bytes(
        &format!("/api/v1/cases/{case}/releases"),
        &format!("multipart/form-data; boundary={boundary}"),
        body,
    )
    .await
}

/// The review loop through the service: the answer lists an uncertain candidate; the same
/// record sent again with that line decided `redact` in a `decisions` part comes back with the
/// candidate redacted (logged as `review.accepted`) and nothing left to review. A bad
/// decisions part is a 400 naming the part and the line, never the value.
#[tokio::test]
async fn review_candidates_come_back_and_decisions_apply() {
    let server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;
    let case = open_case(&staff.records, "records_portal", public_records()).await;
    let record = "Someone said 512449012 at the desk.\n";
    let (status, body) = send(&staff.records, &case, "?name=notes.txt", record).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(released(&body).contains("512449012"));
    let review = body["review"].as_array().unwrap();
    assert_eq!(review.len(), 1, "{body}");
    assert_eq!(review[0]["candidate"], "512449012");
    assert_eq!(body["decisions"], 0);

    let mut decided = review[0].clone();
    decided["decision"] = "redact".into();
    let (status, body) =
        send_with_decisions(&staff.records, &case, record, &format!("{decided}\n")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let out = released(&body);
    assert!(
        !out.contains("512449012") && out.contains("[REDACTED"),
        "{out}"
    );
    assert_eq!(body["decisions"], 1);
    assert_eq!(body["review"].as_array().map(Vec::len), Some(0), "{body}");
    let log = serde_json::to_string(&body["log"]).unwrap();
    assert!(
        log.contains("review.accepted") && !log.contains("512449012"),
        "{log}"
    );

    let before = staff.records.ledger_size().await;
    decided["decision"] = "maybe".into();
    let (status, answer) =
        send_with_decisions(&staff.records, &case, record, &format!("{decided}\n")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let text = answer.to_string();
    assert!(
        text.contains("decisions") && text.contains("line 1"),
        "{text}"
    );
    assert!(!text.contains("512449012"), "{text}");
    assert_eq!(
        staff.records.ledger_size().await,
        before,
        "nothing released"
    );
}
