//! Key rotation on a populated service (SQLite and PostgreSQL): everything reads back the
//! same through the API, the raw database holds nothing under the retired key, the old key
//! alone opens nothing, and an interrupted rotation resumes.

mod common;

use citygate_server::rotate::{rotate, RotateOptions};
use citygate_server::testkit::TestServer;
use citygate_server::vault::{sealed_key_id, Vault};
use citygate_server::Config;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row as _;

const DETAINER: &str = include_str!("../../../testdata/documents/i247a_detainer.txt");

async fn upload(who: &Api, case: &str, bytes: Vec<u8>) {
    let (status, body) = who
        .post_bytes(
            &format!("/api/v1/cases/{case}/documents"),
            "text/plain",
            bytes,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn download(who: &Api, case: &str, n: i64) -> Vec<u8> {
    let resp = who
        .http
        .get(format!("{}/api/v1/cases/{case}/documents/{n}", who.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.bytes().await.unwrap().to_vec()
}

/// Cases with personal fields, events with sealed notes, and documents.
async fn populate(server: &TestServer) -> Vec<String> {
    let staff = staff(server).await;
    let mut cases = Vec::new();
    for i in 0..5 {
        let request = if i % 2 == 0 {
            ice_detainer()
        } else {
            unclear()
        };
        let case = open_case(&staff.desk, "in_person", request).await;
        if i % 2 == 0 {
            let (status, body) = staff
                .supervisor
                .post(
                    &format!("/api/v1/cases/{case}/signoff"),
                    &json!({"note": format!("reviewed {i}")}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        if i < 3 {
            upload(&staff.desk, &case, DETAINER.as_bytes().to_vec()).await;
            upload(
                &staff.desk,
                &case,
                format!("{DETAINER}\ncopy {i}").into_bytes(),
            )
            .await;
        }
        cases.push(case);
    }
    cases
}

/// What the desk sees of each case (with its personal fields and event details) and the
/// bytes of each document.
async fn snapshot(server: &TestServer, cases: &[String]) -> Vec<(Value, Vec<Vec<u8>>)> {
    let desk = Api::login(server, "desk", PASSWORD).await;
    let mut out = Vec::new();
    for case in cases {
        let (status, view) = desk.get(&format!("/api/v1/cases/{case}")).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        assert!(view["personal"]["requester"].is_object(), "{view}");
        let mut docs = Vec::new();
        let count = view["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "document")
            .count() as i64;
        for n in 1..=count {
            docs.push(download(&desk, case, n).await);
        }
        out.push((view, docs));
    }
    out
}

/// Every sealed value in the raw database with its sealing context.
async fn raw_sealed(config: &Config) -> Vec<(String, Vec<u8>)> {
    let queries = |prefix: &str| {
        [
            format!("SELECT 'case/' || id || '/personal', personal FROM {prefix}cases"),
            format!(
                "SELECT 'case/' || case_id || '/event/' || CAST(ledger_index AS TEXT), personal \
                 FROM {prefix}case_events WHERE personal IS NOT NULL"
            ),
            format!(
                "SELECT 'case/' || case_id || '/document/' || CAST(ledger_index AS TEXT), content \
                 FROM {prefix}case_documents"
            ),
        ]
    };
    let mut out = Vec::new();
    match &config.database_url {
        None => {
            let url = format!(
                "sqlite://{}?mode=ro",
                config.data_dir.join("citygate.sqlite").display()
            );
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            for q in queries("") {
                for row in sqlx::query(&q).fetch_all(&pool).await.unwrap() {
                    out.push((row.get(0), row.get(1)));
                }
            }
        }
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            for q in queries(&format!("{}.", config.schema())) {
                for row in sqlx::query(&q).fetch_all(&pool).await.unwrap() {
                    out.push((row.get(0), row.get(1)));
                }
            }
        }
    }
    out
}

async fn rotation_keeps_everything_readable(mut server: TestServer) {
    let cases = populate(&server).await;
    let before = snapshot(&server, &cases).await;
    let config = server.config.clone();
    let key_file = config.key_file();
    let old_file = std::fs::read(&key_file).unwrap();
    let old_id = Vault::load(&key_file).unwrap().current_key_id();
    let raw = raw_sealed(&config).await;
    // 5 cases, 3 sign-off notes, 6 documents and their 6 events.
    assert!(raw.len() >= 20, "{}", raw.len());
    assert!(raw.iter().all(|(_, v)| sealed_key_id(v) == Some(old_id)));

    // The service is stopped for a rotation (its SQLite store is then free); on PostgreSQL
    // a further instance is started below, as stopping the test server drops its schema.
    let sqlite = config.database_url.is_none();
    if sqlite {
        server.stop().await.unwrap();
    }

    // Interrupted after two batches of two.
    let mut batches = 0;
    let first = rotate(
        &config,
        &RotateOptions {
            batch: 2,
            retire_old: true,
            max_batches: Some(2),
        },
        |p| {
            if matches!(p, citygate_server::rotate::Progress::Batch { .. }) {
                batches += 1;
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(batches, 2);
    assert!(first.stopped_early && !first.resumed);
    assert_eq!(first.resealed, 4);
    assert_eq!(first.remaining, raw.len() as i64 - 4);
    assert!(first.retired.is_empty(), "nothing retired mid-way");
    let new_id = first.key_id;
    assert_ne!(new_id, old_id);
    assert_eq!(
        Vault::load(&key_file).unwrap().key_ids(),
        vec![old_id, new_id]
    );
    let mixed = raw_sealed(&config).await;
    let under_new = mixed
        .iter()
        .filter(|(_, v)| sealed_key_id(v) == Some(new_id))
        .count();
    assert_eq!(under_new, 4);

    // Mid-rotation, values under either key read back the same.
    let mut instance = if sqlite {
        TestServer::start(config.clone()).await.unwrap()
    } else {
        TestServer::start(TestServer::config_for_another_instance(&server))
            .await
            .unwrap()
    };
    assert_eq!(snapshot(&instance, &cases).await, before);
    instance.stop().await.unwrap();

    // Resumed: same key, the rest re-sealed, then the old key retired.
    let second = rotate(
        &config,
        &RotateOptions {
            batch: 3,
            retire_old: true,
            max_batches: None,
        },
        |_| {},
    )
    .await
    .unwrap();
    assert!(second.resumed && !second.stopped_early);
    assert_eq!(second.key_id, new_id);
    assert_eq!(second.resealed, raw.len() as u64 - 4);
    assert_eq!((second.remaining, second.unopenable), (0, 0));
    assert_eq!(second.retired, vec![old_id]);
    assert_eq!(Vault::load(&key_file).unwrap().key_ids(), vec![new_id]);

    // The raw database: nothing under the retired key; the new key opens all of it and
    // the old key alone opens none of it.
    let after = raw_sealed(&config).await;
    assert_eq!(after.len(), raw.len());
    assert!(after.iter().all(|(_, v)| sealed_key_id(v) == Some(new_id)));
    let old_dir = tempfile::tempdir().unwrap();
    let old_path = old_dir.path().join("old.key");
    std::fs::write(&old_path, &old_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&old_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let old = Vault::load(&old_path).unwrap();
    let new = Vault::load(&key_file).unwrap();
    for (context, sealed) in &after {
        assert!(old.open(context, sealed).is_err());
        assert!(new.open(context, sealed).is_ok(), "{context}");
    }

    // Through the API, after a restart on the rotated key file: all the same.
    let mut instance = if sqlite {
        TestServer::start(config.clone()).await.unwrap()
    } else {
        TestServer::start(TestServer::config_for_another_instance(&server))
            .await
            .unwrap()
    };
    assert_eq!(snapshot(&instance, &cases).await, before);

    // A further run with nothing pending starts a new rotation rather than resuming.
    instance.stop().await.unwrap();
    let third = rotate(&config, &RotateOptions::default(), |_| {})
        .await
        .unwrap();
    assert!(!third.resumed);
    assert_ne!(third.key_id, new_id);
    assert_eq!(third.resealed, raw.len() as u64);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_on_sqlite() {
    rotation_keeps_everything_readable(TestServer::sqlite().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_on_postgres() {
    let Some(server) = TestServer::postgres().await else {
        eprintln!("NOTICE: PostgreSQL not reachable; rotation_on_postgres skipped");
        return;
    };
    rotation_keeps_everything_readable(server.unwrap()).await;
}
