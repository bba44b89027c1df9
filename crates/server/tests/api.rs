//! The service end to end on a real server: the case lifecycle with log-before-act and
//! the access log (on SQLite and PostgreSQL), two instances on one PostgreSQL, sessions,
//! CSRF, tokens, throttling and the one-time set-up.

mod common;

use citygate_server::testkit::TestServer;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn ledger_indexes(case: &Value) -> Vec<i64> {
    case["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ledger_index"].as_i64().unwrap())
        .collect()
}

/// Runs the lifecycle; returns every (case id, ledger index) it saw.
async fn lifecycle(server: &TestServer) -> Vec<(String, i64)> {
    let staff = staff(server).await;
    let mut logged = Vec::new();

    // An ICE detainer: decline, and a supervisor must sign off before anything is done.
    let ice = open_case(&staff.desk, "in_person", ice_detainer()).await;
    let (status, case) = staff.desk.get(&format!("/api/v1/cases/{ice}")).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(
        (case["outcome"].as_str(), case["status"].as_str()),
        (Some("decline"), Some("awaiting_signoff"))
    );
    assert_eq!(case["requires_signoff"], json!(true));
    assert_eq!(case["personal"]["requester"]["name"], json!("A. Requester"));
    assert!(
        case["answer"]["deciding"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "the answer is kept as given"
    );
    assert_eq!(case["rules_hash"], case["answer"]["rules_hash"]);
    let action = |a: &str| json!({"action": a, "note": "done"});
    let path = format!("/api/v1/cases/{ice}/action");
    assert_eq!(
        staff.desk.post(&path, &action("declined")).await.0,
        StatusCode::CONFLICT,
        "no action before sign-off"
    );
    let (status, case) = staff
        .supervisor
        .post(
            &format!("/api/v1/cases/{ice}/signoff"),
            &json!({"note": "reviewed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["status"], json!("awaiting_action"));
    assert_eq!(
        staff.desk.post(&path, &action("complied")).await.0,
        StatusCode::CONFLICT,
        "the action follows the answer"
    );
    let (status, case) = staff.desk.post(&path, &action("declined")).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(
        (case["status"].as_str(), case["action"].as_str()),
        (Some("closed"), Some("declined"))
    );
    let disclosure = json!({"what": "release date", "to": "ICE ERO"});
    assert_eq!(
        staff
            .desk
            .post(&format!("/api/v1/cases/{ice}/disclosures"), &disclosure)
            .await
            .0,
        StatusCode::CONFLICT
    );
    let indexes = ledger_indexes(&case);
    assert_eq!(indexes.len(), 3, "opened, signed off, action: {case}");
    assert!(
        indexes.windows(2).all(|w| w[0] < w[1]),
        "each step has its own later ledger entry: {indexes:?}"
    );
    logged.extend(indexes.into_iter().map(|i| (ice.clone(), i)));

    // Not enough facts: refer; counsel resolves comply; the desk complies and discloses.
    let unclear_case = open_case(&staff.desk, "phone", unclear()).await;
    let (_, queue) = staff.counsel.get("/api/v1/cases").await;
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == json!(unclear_case)),
        "in counsel's queue: {queue}"
    );
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != json!(ice)),
        "counsel sees only referred cases"
    );
    let (status, case) = staff
        .counsel
        .post(
            &format!("/api/v1/cases/{unclear_case}/resolution"),
            &json!({"outcome": "comply"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["status"], json!("awaiting_action"));
    let (status, _) = staff
        .desk
        .post(
            &format!("/api/v1/cases/{unclear_case}/action"),
            &action("complied"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, case) = staff
        .desk
        .post(
            &format!("/api/v1/cases/{unclear_case}/disclosures"),
            &disclosure,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    let (_, case) = staff
        .desk
        .get(&format!("/api/v1/cases/{unclear_case}"))
        .await;
    let last = case["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["details"]["to"].as_str()),
        (Some("disclosure"), Some("ICE ERO"))
    );
    logged.extend(
        ledger_indexes(&case)
            .into_iter()
            .map(|i| (unclear_case.clone(), i)),
    );

    // Auditors see the case without personal data; every personal read is in the access log.
    let (status, seen) = staff
        .auditor
        .get(&format!("/api/v1/cases/{unclear_case}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(seen.get("personal").is_none(), "{seen}");
    assert!(seen["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e.get("details").is_none()));
    let (status, log) = staff
        .auditor
        .get(&format!("/api/v1/access-log?case={unclear_case}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let readers: Vec<i64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["account_id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        readers,
        [staff.desk.id],
        "one personal read, by the desk: {log}"
    );
    // Another desk officer does not see the case at all.
    let (status, _) = staff.admin.post("/api/v1/accounts", &json!({"username": "desk2", "password": PASSWORD, "role": "desk", "department": "police"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let desk2 = Api::login(server, "desk2", PASSWORD).await;
    assert_eq!(
        desk2.get(&format!("/api/v1/cases/{ice}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(desk2.get("/api/v1/cases").await.1, json!([]));
    logged
}

fn check_ledger(store: Box<dyn citygate_ledger::LedgerStore>, logged: &[(String, i64)]) {
    let ledger = citygate_ledger::Ledger::open(store).unwrap();
    for (case, index) in logged {
        let record = ledger
            .private_record(*index as u64)
            .unwrap()
            .expect("the ledger has the event");
        let details: Value = serde_json::from_slice(&record.details).unwrap();
        assert_eq!(
            details["case"].as_str(),
            Some(case.as_str()),
            "ledger entry {index} is about case {case}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_sqlite() {
    let mut server = TestServer::sqlite().await.unwrap();
    let logged = lifecycle(&server).await;
    let store = citygate_ledger::SqliteStore::open(&server.data_dir.join("ledger.sqlite")).unwrap();
    check_ledger(Box::new(store), &logged);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_postgres_with_two_instances() {
    let Some(server) = TestServer::postgres().await else {
        eprintln!(
            "NOTICE: PostgreSQL not reachable at 127.0.0.1:5432; lifecycle_on_postgres skipped"
        );
        return;
    };
    let mut server = server.unwrap();
    let mut logged = lifecycle(&server).await;
    // A second instance on the same database: both write cases, neither loses the other's.
    let mut second = TestServer::start(TestServer::config_for_another_instance(&server))
        .await
        .unwrap();
    let desk_a = Api::login(&server, "desk", PASSWORD).await;
    let desk_b = Api::login(&second, "desk", PASSWORD).await;
    let mut opened = Vec::new();
    for i in 0..6 {
        let who = if i % 2 == 0 { &desk_a } else { &desk_b };
        let (status, case) = who
            .post("/api/v1/cases", &new_case("email", ice_detainer()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{case}");
        opened.push((
            case["id"].as_str().unwrap().to_owned(),
            ledger_indexes(&case)[0],
        ));
    }
    let (_, listed) = desk_b.get("/api/v1/cases").await;
    for (id, _) in &opened {
        assert!(
            listed
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == json!(id)),
            "instance B sees {id}"
        );
    }
    logged.extend(opened);
    let mut all: Vec<i64> = logged.iter().map(|(_, i)| *i).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        all.len(),
        logged.len(),
        "no ledger index is given twice across instances"
    );
    let url = server.config.database_url.clone().unwrap();
    let schema = server.config.schema();
    let keys = server.config.ledger_entry_keys_file();
    tokio::task::spawn_blocking(move || {
        let store =
            citygate_ledger::PostgresStore::connect_with_keys(&url, &schema, &keys).unwrap();
        check_ledger(Box::new(store), &logged);
    })
    .await
    .unwrap();
    second.stop().await.unwrap();
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_csrf_tokens_throttling_and_setup() {
    let mut server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;
    let anon = Api::anonymous(&server);

    // The set-up token worked once and never again.
    let again = json!({"token": server.setup_token.clone().unwrap(), "username": "admin2", "password": PASSWORD});
    assert_eq!(
        anon.post("/api/v1/setup", &again).await.0,
        StatusCode::FORBIDDEN
    );

    // A cookie-authenticated change without the CSRF header is refused; with it, accepted.
    let mut no_csrf = Api::login(&server, "desk", PASSWORD).await;
    no_csrf.csrf = None;
    let (status, body) = no_csrf
        .post("/api/v1/cases", &new_case("phone", with_consent()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("CSRF"));
    no_csrf.csrf = Some("wrong".into());
    assert_eq!(
        no_csrf
            .post("/api/v1/cases", &new_case("phone", with_consent()))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        no_csrf.get("/api/v1/cases").await.0,
        StatusCode::OK,
        "reads need no CSRF token"
    );

    // The session cookie is HttpOnly and SameSite.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/session", server.base_url))
        .json(&json!({"username": "desk", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("citygate_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "not Secure without --secure-cookies"
    );

    // An API token acts as its account, with no CSRF header, and is stored only hashed.
    let (status, created) = staff
        .admin
        .post(
            &format!("/api/v1/accounts/{}/tokens", staff.records.id),
            &json!({"label": "portal"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("cgt_"));
    let mut bot = Api::anonymous(&server);
    bot.bearer = Some(token.clone());
    let (status, body) = bot
        .post(
            "/api/v1/cases",
            &new_case("records_portal", public_records()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    bot.bearer = Some(format!("{token}x"));
    assert_eq!(bot.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);

    // Logging out ends the session.
    let (status, _) = staff
        .auditor
        .send(Method::DELETE, "/api/v1/session", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        staff.auditor.get("/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );

    // Disabling an account ends its access.
    let (status, _) = staff
        .admin
        .send(
            Method::PATCH,
            &format!("/api/v1/accounts/{}", staff.counsel.id),
            Some(&json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        staff.counsel.get("/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = staff
        .admin
        .send(
            Method::PATCH,
            &format!("/api/v1/accounts/{}", staff.admin.id),
            Some(&json!({"role": "desk"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an admin cannot demote themselves"
    );

    // Five wrong passwords, then even the right one waits.
    for _ in 0..5 {
        let (status, _) = anon
            .post(
                "/api/v1/session",
                &json!({"username": "supervisor", "password": "wrong password!"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = anon
        .post(
            "/api/v1/session",
            &json!({"username": "supervisor", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // An unknown user is refused the same way as a wrong password.
    let (status, body) = anon
        .post(
            "/api/v1/session",
            &json!({"username": "nobody", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_credentials"))
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookies_behind_tls() {
    let dir = tempfile::tempdir().unwrap();
    let config = citygate_server::Config {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.path().join("data"),
        secure_cookies: true,
        ..citygate_server::Config::new()
    };
    let mut server = TestServer::start(config).await.unwrap();
    staff(&server).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/session", server.base_url))
        .json(&json!({"username": "desk", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies.iter().all(|c| c.contains("; Secure")),
        "{cookies:?}"
    );
    server.stop().await.unwrap();
}
