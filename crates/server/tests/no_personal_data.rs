//! Seeds a unique marker in every personal field (and in hostile input), then fails if it
//! appears in any log line (all levels, all crates) or in any file of the data directory
//! (the SQLite databases, their WAL files, the ledger). Its own test binary, because it
//! installs the process-wide tracing subscriber.

mod common;

use std::sync::{Arc, Mutex};

use citygate_server::testkit::TestServer;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_stays_out_of_logs_and_database_files() {
    let captured = Captured(Arc::new(Mutex::new(Vec::new())));
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let marker = format!("PII{}MARK", std::process::id());
    let m = |field: &str| format!("{marker}-{field}");
    let mut server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;

    let mut ice = ice_detainer();
    ice["agency"]["name"] = json!(m("agency"));
    ice["requester"]["name"] = json!(m("request-requester"));
    let body = json!({"channel": "in_person",
        "requester": {"name": m("name"), "organisation": m("org"), "contact": m("contact")},
        "subject_name": m("subject"), "notes": m("notes"), "request": ice});
    let (status, case) = staff.desk.post("/api/v1/cases", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    assert!(
        !case.to_string().contains(&marker),
        "creation does not echo personal data"
    );
    let a = case["id"].as_str().unwrap().to_owned();
    let (status, _) = staff
        .supervisor
        .post(
            &format!("/api/v1/cases/{a}/signoff"),
            &json!({"note": m("signoff")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = staff
        .desk
        .post(
            &format!("/api/v1/cases/{a}/action"),
            &json!({"action": "declined", "note": m("action")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // A paper with the marker in its text and in its file name: read, logged, sealed.
    let paper = format!(
        "DEPARTMENT OF HOMELAND SECURITY\nIMMIGRATION DETAINER - NOTICE OF ACTION\nName of Alien: {}\nDHS Form I-247A (3/17)\n",
        m("document")
    );
    let (content_type, multipart) = multipart_file(&format!("{}.txt", m("filename")), &paper);
    let (status, _) = staff
        .desk
        .post_bytes(
            &format!("/api/v1/cases/{a}/documents"),
            &content_type,
            multipart,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, listed) = staff
        .auditor
        .get(&format!("/api/v1/cases/{a}/documents"))
        .await;
    assert!(!listed.to_string().contains(&marker), "{listed}");
    let back = staff
        .supervisor
        .http
        .get(format!(
            "{}/api/v1/cases/{a}/documents/1",
            staff.supervisor.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(back.contains(&m("document")), "the document is served back");

    let b = open_case(&staff.desk, "phone", unclear()).await;
    let (status, _) = staff
        .counsel
        .post(
            &format!("/api/v1/cases/{b}/resolution"),
            &json!({"outcome": "comply", "note": m("counsel")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = staff
        .desk
        .post(
            &format!("/api/v1/cases/{b}/action"),
            &json!({"action": "complied"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = staff
        .desk
        .post(
            &format!("/api/v1/cases/{b}/disclosures"),
            &json!({"what": m("what"), "to": m("to"), "note": m("dnote")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // A public-records release of a record carrying the marker, in its text and its file
    // name: redacted in a scratch folder that is gone before the answer is sent.
    let c = open_case(&staff.records, "records_portal", public_records()).await;
    let record = format!(
        "Arrest report\nNarrative: {} was seen at the corner.\n",
        m("record")
    );
    let (content_type, multipart) = multipart_file(&format!("{}.txt", m("recordname")), &record);
    let (status, _) = staff
        .records
        .post_bytes(
            &format!("/api/v1/cases/{c}/releases"),
            &content_type,
            multipart,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Hostile and malformed input carrying the marker: refused without echoing it.
    let hostile = [
        (
            "/api/v1/cases",
            json!({"channel": m("channel"), "requester": {"name": "x"}, "request": unclear()}),
        ),
        (
            "/api/v1/cases",
            json!({"channel": "phone", "requester": {"name": 5}, "request": {"jurisdiction": "chicago", "act": m("act")}}),
        ),
        (
            "/api/v1/cases",
            json!({"channel": "phone", "requester": {"name": "x"}, "request": unclear(), m("extra"): 1}),
        ),
        (
            "/api/v1/decide",
            json!({"jurisdiction": m("jurisdiction"), "act": "detain"}),
        ),
        (
            "/api/v1/decide",
            json!({"jurisdiction": "chicago", "act": "detain", m("key"): 1}),
        ),
        (
            "/api/v1/decide",
            json!({"jurisdiction": "chicago", "act": "detain", "subject": {m("key"): 1}}),
        ),
        (
            "/api/v1/decide",
            json!({"jurisdiction": "chicago", "act": "detain", "date": m("date")}),
        ),
        (
            "/api/v1/session",
            json!({"username": m("user"), "password": m("password")}),
        ),
    ];
    for (path, body) in hostile {
        let (status, answer) = staff.desk.post(path, &body).await;
        assert!(status.is_client_error(), "{path}: {status}");
        assert!(
            !answer.to_string().contains(&marker),
            "{path} echoed personal data: {answer}"
        );
    }

    // The data is really there for those who may see it (so the checks below mean something).
    let (_, seen_a) = staff.desk.get(&format!("/api/v1/cases/{a}")).await;
    let (_, seen_b) = staff.desk.get(&format!("/api/v1/cases/{b}")).await;
    for field in [
        "name",
        "org",
        "contact",
        "subject",
        "notes",
        "agency",
        "request-requester",
        "signoff",
        "action",
    ] {
        assert!(
            seen_a.to_string().contains(&m(field)),
            "{field} not returned: {seen_a}"
        );
    }
    for field in ["counsel", "what", "to", "dnote"] {
        assert!(
            seen_b.to_string().contains(&m(field)),
            "{field} not returned: {seen_b}"
        );
    }
    let (_, audited) = staff.auditor.get(&format!("/api/v1/cases/{a}")).await;
    assert!(
        !audited.to_string().contains(&marker),
        "auditors see no personal data: {audited}"
    );

    let data_dir = server.data_dir.clone();
    server.stop().await.unwrap();

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("case opened") && logs.contains("case changed"),
        "the capture works: {logs}"
    );
    let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(&marker)).collect();
    assert!(
        leaks.is_empty(),
        "personal data in logs:\n{}",
        leaks.join("\n")
    );

    let files = files(&data_dir);
    assert!(
        files.iter().any(|f| f.ends_with("citygate.sqlite"))
            && files.iter().any(|f| f.ends_with("ledger.sqlite"))
    );
    for file in files {
        // SQLite removes its -wal and -shm files as the last connection closes, after
        // checkpointing them into the database file, which is read here too.
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "personal data in clear in {}",
            file.display()
        );
    }
}
