//! Route × role matrix: every route is tried by every role and by no one, each on a fresh
//! case in the state the route needs; exactly the roles listed succeed (2xx). Others get
//! 401 (no one), or 403/404 (a role without the right, or a case that is not theirs).

mod common;

use citygate_server::testkit::TestServer;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The case a row needs, made fresh for every attempt by the roles meant to make it.
#[derive(Clone, Copy, Debug)]
enum Fixture {
    /// No case.
    NoCase,
    /// Opened by the desk, ICE detainer: decline, sign-off pending.
    AwaitingSignoff,
    /// Opened by the desk, too few facts: referred to counsel.
    AwaitingCounsel,
    /// Opened by the desk, consent: comply, action pending.
    AwaitingAction,
    /// As AwaitingAction, then complied with.
    Complied,
    /// Opened by records through the portal: comply, action pending.
    PortalCase,
    /// As AwaitingSignoff, with one document uploaded by the desk.
    WithDocument,
}

/// A document as the matrix sends it: a JSON string is text, and the reader reads it.
const DOCUMENT: &str = r#""DHS Form I-247A (3/17) IMMIGRATION DETAINER - NOTICE OF ACTION""#;

struct Row {
    method: Method,
    /// `{case}`, `{desk}` and `{n}` are replaced (and `{auditor}` in bodies).
    path: &'static str,
    body: Option<&'static str>,
    fixture: Fixture,
    allowed: &'static [&'static str],
}

const EVERYONE: &[&str] = &[
    "anonymous",
    "admin",
    "desk",
    "supervisor",
    "counsel",
    "records",
    "auditor",
];
const STAFF: &[&str] = &[
    "admin",
    "desk",
    "supervisor",
    "counsel",
    "records",
    "auditor",
];
const CASE_READERS: &[&str] = &["desk", "supervisor", "counsel", "records", "auditor"];

fn rows() -> Vec<Row> {
    use Fixture::*;
    let row = |method: Method, path, body, fixture, allowed| Row {
        method,
        path,
        body,
        fixture,
        allowed,
    };
    vec![
        row(Method::GET, "/healthz", None, NoCase, EVERYONE),
        row(Method::GET, "/api/openapi.json", None, NoCase, EVERYONE),
        row(Method::GET, "/metrics", None, NoCase, EVERYONE),
        row(
            Method::POST,
            "/api/v1/decide",
            Some(r#"{"jurisdiction":"chicago","act":"share_information"}"#),
            NoCase,
            EVERYONE,
        ),
        row(Method::GET, "/api/v1/me", None, NoCase, STAFF),
        row(Method::GET, "/api/v1/accounts", None, NoCase, &["admin"]),
        row(
            Method::POST,
            "/api/v1/accounts",
            Some(
                r#"{"username":"new{n}","role":"desk","department":"police","password":"a long enough password"}"#,
            ),
            NoCase,
            &["admin"],
        ),
        row(
            Method::PATCH,
            "/api/v1/accounts/{desk}",
            Some(r#"{"department":"police"}"#),
            NoCase,
            &["admin"],
        ),
        row(
            Method::POST,
            "/api/v1/accounts/{desk}/tokens",
            Some(r#"{"label":"integration {n}"}"#),
            NoCase,
            &["admin"],
        ),
        row(Method::GET, "/api/v1/cases", None, NoCase, CASE_READERS),
        row(
            Method::POST,
            "/api/v1/cases",
            Some(
                r#"{"channel":"phone","requester":{"name":"R"},"request":{"jurisdiction":"chicago","act":"share_information"}}"#,
            ),
            NoCase,
            &["desk", "records"],
        ),
        row(
            Method::GET,
            "/api/v1/cases/{case}",
            None,
            AwaitingSignoff,
            &["desk", "supervisor", "auditor"],
        ),
        row(
            Method::GET,
            "/api/v1/cases/{case}",
            None,
            AwaitingCounsel,
            &["desk", "supervisor", "counsel", "auditor"],
        ),
        row(
            Method::GET,
            "/api/v1/cases/{case}",
            None,
            PortalCase,
            &["records", "auditor"],
        ),
        row(
            Method::POST,
            "/api/v1/cases/{case}/signoff",
            Some(r#"{"note":"ok"}"#),
            AwaitingSignoff,
            &["supervisor"],
        ),
        row(
            Method::POST,
            "/api/v1/cases/{case}/resolution",
            Some(r#"{"outcome":"decline"}"#),
            AwaitingCounsel,
            &["counsel"],
        ),
        row(
            Method::POST,
            "/api/v1/cases/{case}/action",
            Some(r#"{"action":"complied"}"#),
            AwaitingAction,
            &["desk"],
        ),
        row(
            Method::POST,
            "/api/v1/cases/{case}/action",
            Some(r#"{"action":"complied"}"#),
            PortalCase,
            &["records"],
        ),
        row(
            Method::POST,
            "/api/v1/cases/{case}/disclosures",
            Some(r#"{"what":"status","to":"a nonprofit"}"#),
            Complied,
            &["desk"],
        ),
        row(
            Method::POST,
            "/api/v1/cases/{case}/documents",
            Some(DOCUMENT),
            AwaitingSignoff,
            &["desk"],
        ),
        row(
            Method::POST,
            "/api/v1/cases/{case}/documents",
            Some(DOCUMENT),
            PortalCase,
            &["records"],
        ),
        row(
            Method::GET,
            "/api/v1/cases/{case}/documents",
            None,
            WithDocument,
            &["desk", "supervisor", "auditor"],
        ),
        row(
            Method::GET,
            "/api/v1/cases/{case}/documents",
            None,
            PortalCase,
            &["records", "auditor"],
        ),
        row(
            Method::GET,
            "/api/v1/cases/{case}/documents/1",
            None,
            WithDocument,
            &["desk", "supervisor"],
        ),
        row(
            Method::POST,
            "/api/v1/cases/{case}/releases?name=booking-log.txt",
            Some(r#""Booked: JOHN Q RESIDENT, SSN 123-45-6789, phone 312-555-0142""#),
            PortalCase,
            &["records"],
        ),
        row(
            Method::POST,
            "/api/v1/cases/{case}/grants",
            Some(r#"{"auditor":{auditor},"days":7}"#),
            AwaitingSignoff,
            &["admin"],
        ),
        row(
            Method::GET,
            "/api/v1/access-log",
            None,
            NoCase,
            &["auditor"],
        ),
    ]
}

async fn make(fixture: Fixture, staff: &Staff) -> Option<String> {
    let id = match fixture {
        Fixture::NoCase => return None,
        Fixture::AwaitingSignoff | Fixture::WithDocument => {
            open_case(&staff.desk, "in_person", ice_detainer()).await
        }
        Fixture::AwaitingCounsel => open_case(&staff.desk, "phone", unclear()).await,
        Fixture::AwaitingAction | Fixture::Complied => {
            open_case(&staff.desk, "in_person", with_consent()).await
        }
        Fixture::PortalCase => open_case(&staff.records, "records_portal", public_records()).await,
    };
    if let Fixture::WithDocument = fixture {
        let document: Value = serde_json::from_str(DOCUMENT).unwrap();
        let (status, body) = staff
            .desk
            .post(&format!("/api/v1/cases/{id}/documents"), &document)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    if let Fixture::Complied = fixture {
        let (status, body) = staff
            .desk
            .post(
                &format!("/api/v1/cases/{id}/action"),
                &json!({"action": "complied"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    Some(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_by_every_role() {
    let mut server = TestServer::sqlite().await.unwrap();
    let staff = staff(&server).await;
    let anonymous = Api::anonymous(&server);
    let mut n = 0;
    let mut failures = Vec::new();
    for row in rows() {
        for who in EVERYONE {
            n += 1;
            let case = make(row.fixture, &staff).await.unwrap_or_default();
            let path = row
                .path
                .replace("{case}", &case)
                .replace("{desk}", &staff.desk.id.to_string());
            let body: Option<Value> = row.body.map(|b| {
                let b = b
                    .replace("{n}", &n.to_string())
                    .replace("{auditor}", &staff.auditor.id.to_string());
                serde_json::from_str(&b).unwrap()
            });
            let api = if *who == "anonymous" {
                &anonymous
            } else {
                staff.by_role(who)
            };
            let (status, answer) = api.send(row.method.clone(), &path, body.as_ref()).await;
            let allowed = row.allowed.contains(who);
            let ok = if allowed {
                status.is_success()
            } else if *who == "anonymous" {
                status == StatusCode::UNAUTHORIZED
            } else {
                status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND
            };
            if !ok {
                failures.push(format!(
                    "{} {} ({:?}) as {who}: {status} {answer}",
                    row.method, row.path, row.fixture
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} attempts went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    server.stop().await.unwrap();
}

/// The OpenAPI document and the matrix name the same API routes: a route added without
/// documentation or without a row in the matrix fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_exactly_the_routes_of_the_matrix() {
    let mut server = TestServer::sqlite().await.unwrap();
    let (status, doc) = Api::anonymous(&server).get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    let generic = |p: &str| {
        let p = p.split('?').next().unwrap_or(p);
        p.replace("{case}", "{id}")
            .replace("{desk}", "{id}")
            .replace("/receipts/0", "/receipts/{index}")
            .replace("/documents/1", "/documents/{n}")
    };
    let mut tested: Vec<String> = rows()
        .iter()
        .filter(|r| r.path != "/api/openapi.json" && r.path != "/metrics")
        .map(|r| format!("{} {}", r.method, generic(r.path)))
        .collect();
    // Logout ends the caller's session, so it has its own test (api.rs) instead of a row.
    tested.push("DELETE /api/v1/session".into());
    tested.push("POST /api/v1/session".into());
    tested.push("POST /api/v1/setup".into());
    // Browser pages and redirects, not API routes, so not in the OpenAPI document: the
    // set-up page and single sign-on (tests/oidc.rs covers the latter).
    for page in [
        "GET /setup",
        "POST /setup",
        "GET /auth/oidc/login",
        "GET /auth/oidc/callback",
    ] {
        assert!(
            !documented.iter().any(|d| d == page),
            "{page} is not an API route"
        );
    }
    documented.sort();
    documented.dedup();
    tested.sort();
    tested.dedup();
    assert_eq!(documented, tested);
    server.stop().await.unwrap();
}
