//! Document upload through the reader: classified, logged to the ledger first, stored
//! sealed, read back only by those who see the case's personal data (and recorded).

mod common;

use citygate_server::testkit::TestServer;
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

const DETAINER: &str = include_str!("../../../testdata/documents/i247a_detainer.txt");
const WARRANT: &str = include_str!("../../../testdata/documents/ao442_arrest_warrant_1326.txt");

/// Uploads `bytes` as the raw body with `content_type`.
async fn upload_raw(
    who: &Api,
    case: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    who.post_bytes(
        &format!("/api/v1/cases/{case}/documents"),
        content_type,
        bytes,
    )
    .await
}

async fn upload_multipart(
    who: &Api,
    case: &str,
    part: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let boundary = "citygate-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    upload_raw(
        who,
        case,
        &format!("multipart/form-data; boundary={boundary}"),
        body,
    )
    .await
}

async fn download(who: &Api, case: &str, n: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let resp = who
        .http
        .get(format!("{}/api/v1/cases/{case}/documents/{n}", who.base))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, content_type, resp.bytes().await.unwrap().to_vec())
}

/// A one-page PDF with a text layer (Helvetica), built with correct xref offsets.
fn pdf_with_text(lines: &[&str]) -> Vec<u8> {
    let mut content = String::from("BT /F1 11 Tf 50 750 Td 14 TL\n");
    for line in lines {
        let escaped = line
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        content.push_str(&format!("({escaped}) Tj T*\n"));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_is_read_logged_first_sealed_and_read_back_with_access_recorded() {
    let mut server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;
    let case = open_case(&staff.desk, "in_person", ice_detainer()).await;
    let before = staff.desk.ledger_size().await;

    // Raw body: the reader finds the detainer.
    let (status, first) = upload_raw(
        &staff.desk,
        &case,
        "text/plain",
        DETAINER.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["document"]["n"], 1);
    assert_eq!(first["document"]["kind"], "immigration_detainer");
    assert_eq!(first["document"]["format"], "text");
    assert_eq!(first["document"]["size"], DETAINER.len());
    assert_eq!(first["documents"][0]["kind"], "immigration_detainer");
    assert!(
        first["reading"]["evidence"]
            .as_array()
            .is_some_and(|e| !e.is_empty()),
        "the reading shows what it found: {first}"
    );
    // One ledger entry per upload, and the case's event names it.
    let index = first["document"]["ledger_index"].as_i64().unwrap();
    assert_eq!(staff.desk.ledger_size().await, before + 1);
    assert_eq!(index as u64, before);

    // Multipart, a court paper as a PDF with a text layer (through pdftotext).
    let lines: Vec<&str> = WARRANT.lines().collect();
    let pdf = pdf_with_text(&lines);
    let (status, second) = upload_multipart(
        &staff.desk,
        &case,
        "file",
        "C:\\scans\\warrant.pdf",
        pdf.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["document"]["n"], 2);
    assert_eq!(second["document"]["format"], "pdf");
    assert_eq!(second["document"]["kind"], "judicial_warrant", "{second}");
    assert_eq!(staff.desk.ledger_size().await, before + 2);

    // The case lists both uploads as events with their ledger indexes, and the reading
    // (with the file name) in the event details for those who see personal data.
    let (_, seen) = staff.desk.get(&format!("/api/v1/cases/{case}")).await;
    let docs: Vec<&Value> = seen["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "document")
        .collect();
    assert_eq!(docs.len(), 2, "{seen}");
    assert_eq!(docs[0]["ledger_index"], index);
    assert_eq!(docs[1]["details"]["filename"], "warrant.pdf");
    assert_eq!(
        docs[0]["details"]["reading"]["kind"],
        "immigration_detainer"
    );
    // Receipts for the upload events exist.
    let (status, _) = staff
        .auditor
        .get(&format!("/api/v1/ledger/receipts/{index}"))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Listing: codes only, for everyone who sees the case (auditors included).
    for who in [&staff.desk, &staff.supervisor, &staff.auditor] {
        let (status, list) = who.get(&format!("/api/v1/cases/{case}/documents")).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert!(
            !list.to_string().contains("Abara"),
            "no personal data: {list}"
        );
    }

    // Reading back: the same bytes and type, recorded in the access log first.
    let (status, ty, bytes) = download(&staff.supervisor, &case, "1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ty.as_deref(), Some("text/plain"));
    assert_eq!(bytes, DETAINER.as_bytes());
    let (status, ty, bytes) = download(&staff.desk, &case, "2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ty.as_deref(), Some("application/pdf"));
    assert_eq!(bytes, pdf);
    let (_, log) = staff
        .auditor
        .get(&format!("/api/v1/access-log?case={case}"))
        .await;
    let reads: Vec<(i64, &str)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["account_id"].as_i64().unwrap(),
                e["what"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        reads.contains(&(staff.supervisor.id, "document 1")),
        "{log}"
    );
    assert!(reads.contains(&(staff.desk.id, "document 2")), "{log}");

    // Not for auditors (no personal data), not for those who do not see the case.
    assert_eq!(
        download(&staff.auditor, &case, "1").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        download(&staff.counsel, &case, "1").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        download(&staff.admin, &case, "1").await.0,
        StatusCode::FORBIDDEN
    );
    for n in ["3", "0", "-1", "abc", "99999999999999999999"] {
        assert_eq!(
            download(&staff.desk, &case, n).await.0,
            StatusCode::NOT_FOUND,
            "{n}"
        );
    }

    // The bytes are sealed at rest: no line of the document is in any file of the data
    // directory, and no scratch file is left behind.
    let data_dir = server.data_dir.clone();
    server.stop().await.unwrap();
    let needle = "Florentino Abara-Lindgren";
    assert!(DETAINER.contains(needle));
    let mut stack = vec![data_dir.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.ends_with("scratch") {
                    assert_eq!(std::fs::read_dir(&path).unwrap().count(), 0, "scratch left");
                }
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "document text in clear in {}",
                    path.display()
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_uploads_log_nothing_and_say_why() {
    let mut server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;
    let case = open_case(&staff.desk, "in_person", ice_detainer()).await;
    let before = staff.desk.ledger_size().await;
    let detainer = DETAINER.as_bytes().to_vec();
    let cases: Vec<(&Api, &str, Vec<u8>, u16)> = vec![
        (&staff.desk, "text/plain", Vec::new(), 400),
        (
            &staff.desk,
            "image/gif",
            b"GIF89a\x01\x00\x01\x00".to_vec(),
            415,
        ),
        (
            &staff.desk,
            "application/octet-stream",
            vec![0u8, 1, 2, 3, 0, 0, 9, 200],
            415,
        ),
        (
            &staff.desk,
            "application/pdf",
            b"%PDF-1.4\nnot really".to_vec(),
            422,
        ),
        (&staff.desk, "text/plain", b"   \n\n  ".to_vec(), 400),
        (&staff.desk, "text/plain", b"!!! ... ???".to_vec(), 422),
        (
            &staff.desk,
            "multipart/form-data; boundary=x",
            b"garbage".to_vec(),
            400,
        ),
        // Roles: only the desk officer who opened it (or records on portal cases).
        (&staff.supervisor, "text/plain", detainer.clone(), 403),
        (&staff.auditor, "text/plain", detainer.clone(), 403),
        (&staff.admin, "text/plain", detainer.clone(), 403),
        (&staff.records, "text/plain", detainer.clone(), 404),
    ];
    let mut failures = Vec::new();
    for (who, ty, body, expected) in cases {
        let len = body.len();
        let (status, answer) = upload_raw(who, &case, ty, body).await;
        if status.as_u16() != expected || answer.get("message").is_none() {
            failures.push(format!("{ty} ({len} bytes): {status} {answer}"));
        }
    }
    // Over the limit: 413, or the connection cut while the client is still sending (the
    // server answers without reading the rest).
    let mut req = staff
        .desk
        .http
        .post(format!("{}/api/v1/cases/{case}/documents", staff.desk.base))
        .header("content-type", "text/plain")
        .body(vec![b'a'; 20 * 1024 * 1024 + 1]);
    if let Some(csrf) = &staff.desk.csrf {
        req = req.header("x-csrf-token", csrf);
    }
    if let Ok(resp) = req.send().await {
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // No content type at all.
    let resp = staff
        .desk
        .http
        .post(format!("{}/api/v1/cases/{case}/documents", staff.desk.base))
        .header("x-csrf-token", staff.desk.csrf.clone().unwrap())
        .body(detainer.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Multipart without a `file` part.
    let (status, answer) = upload_multipart(&staff.desk, &case, "other", "a.txt", detainer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["field"], "file");
    // No such case.
    let (status, _) = upload_raw(&staff.desk, &"0".repeat(32), "text/plain", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing was logged for any refused upload, and the service still serves.
    assert_eq!(staff.desk.ledger_size().await, before);
    let (status, list) = staff
        .desk
        .get(&format!("/api/v1/cases/{case}/documents"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, serde_json::json!([]));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_makes_an_earlier_read_stale() {
    // A supervisor who read the case before a new paper arrived must read it again.
    let mut server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;
    let case = open_case(&staff.desk, "in_person", ice_detainer()).await;
    let (_, before) = staff.desk.get(&format!("/api/v1/cases/{case}")).await;
    let (status, _) = upload_raw(
        &staff.desk,
        &case,
        "text/plain",
        DETAINER.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, after) = staff.desk.get(&format!("/api/v1/cases/{case}")).await;
    assert_eq!(
        after["version"].as_i64().unwrap(),
        before["version"].as_i64().unwrap() + 1
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_on_postgres() {
    let Some(server) = TestServer::postgres().await else {
        eprintln!("NOTICE: PostgreSQL not reachable; documents_on_postgres skipped");
        return;
    };
    let mut server = server.unwrap();
    let staff = staff(&server).await;
    let case = open_case(&staff.desk, "in_person", ice_detainer()).await;
    let (status, up) = upload_raw(
        &staff.desk,
        &case,
        "text/plain",
        DETAINER.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    assert_eq!(up["document"]["kind"], "immigration_detainer");
    let (status, _, bytes) = download(&staff.supervisor, &case, "1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, DETAINER.as_bytes());
    let (_, list) = staff
        .auditor
        .get(&format!("/api/v1/cases/{case}/documents"))
        .await;
    assert_eq!(list[0]["ledger_index"], up["document"]["ledger_index"]);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_is_read_by_ocr_off_the_async_threads() {
    // A page image made from a text PDF by poppler, as a scanner would give it.
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("page.pdf");
    let lines: Vec<&str> = DETAINER.lines().collect();
    std::fs::write(&pdf, pdf_with_text(&lines)).unwrap();
    let made = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "200", "-singlefile"])
        .arg(&pdf)
        .arg(dir.path().join("page"))
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("NOTICE: pdftoppm (poppler-utils) not installed; OCR upload test skipped");
        return;
    }
    let png = std::fs::read(dir.path().join("page.png")).unwrap();
    let mut server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;
    let case = open_case(&staff.desk, "in_person", ice_detainer()).await;
    // The declared type means nothing: the bytes say PNG.
    let upload = upload_raw(&staff.desk, &case, "application/octet-stream", png.clone());
    // While tesseract runs, the service answers others (the reading is on a blocking thread).
    let probe = async {
        let mut answered = 0;
        for _ in 0..5 {
            if staff.auditor.get("/api/v1/me").await.0 == StatusCode::OK {
                answered += 1;
            }
        }
        answered
    };
    let ((status, body), answered) = tokio::join!(upload, probe);
    assert_eq!(answered, 5);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["document"]["format"], "png");
    assert_eq!(body["document"]["kind"], "immigration_detainer", "{body}");
    let (status, ty, bytes) = download(&staff.desk, &case, "1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ty.as_deref(), Some("image/png"));
    assert_eq!(bytes, png);
    server.stop().await.unwrap();
}
