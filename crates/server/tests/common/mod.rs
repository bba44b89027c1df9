//! Shared helpers for the service tests: an HTTP client per account, staff set-up, and
//! the engine requests that give each outcome.
#![allow(dead_code)]

use citygate_server::testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct horse battery staple";

/// An HTTP client acting as one caller (or no one).
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
    pub id: i64,
}

impl Api {
    pub fn anonymous(server: &TestServer) -> Api {
        Api {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
            base: server.base_url.clone(),
            csrf: None,
            bearer: None,
            id: 0,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(csrf) = &self.csrf {
            req = req.header("x-csrf-token", csrf);
        }
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// POSTs `body` as it is, with `content_type` (uploads, releases).
    pub async fn post_bytes(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(csrf) = &self.csrf {
            req = req.header("x-csrf-token", csrf);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The ledger's size, from its public signed checkpoint.
    pub async fn ledger_size(&self) -> u64 {
        let resp = self
            .http
            .get(format!("{}/api/v1/ledger/checkpoint", self.base))
            .send()
            .await
            .unwrap();
        let text = resp.text().await.unwrap();
        text.lines().nth(1).unwrap().parse().unwrap()
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    /// Logs in; panics with the response if it fails.
    pub async fn login(server: &TestServer, username: &str, password: &str) -> Api {
        let mut api = Api::anonymous(server);
        let (status, body) = api
            .post(
                "/api/v1/session",
                &json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        api.csrf = body["csrf_token"].as_str().map(str::to_owned);
        api.id = body["account"]["id"].as_i64().unwrap();
        api
    }
}

/// One logged-in client per role.
pub struct Staff {
    pub admin: Api,
    pub desk: Api,
    pub supervisor: Api,
    pub counsel: Api,
    pub records: Api,
    pub auditor: Api,
}

impl Staff {
    pub fn by_role(&self, role: &str) -> &Api {
        match role {
            "admin" => &self.admin,
            "desk" => &self.desk,
            "supervisor" => &self.supervisor,
            "counsel" => &self.counsel,
            "records" => &self.records,
            "auditor" => &self.auditor,
            other => panic!("no role {other}"),
        }
    }
}

pub const ROLES: [&str; 6] = [
    "admin",
    "desk",
    "supervisor",
    "counsel",
    "records",
    "auditor",
];

/// Creates the first administrator through the set-up token, then one account per role.
pub async fn staff(server: &TestServer) -> Staff {
    let token = server
        .setup_token
        .clone()
        .expect("first start has a set-up token");
    let anon = Api::anonymous(server);
    let (status, body) = anon
        .post(
            "/api/v1/setup",
            &json!({"token": token, "username": "admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let admin = Api::login(server, "admin", PASSWORD).await;
    for (name, role, dept) in [
        ("desk", "desk", "police"),
        ("supervisor", "supervisor", "police"),
        ("counsel", "counsel", "law"),
        ("records", "records", "records"),
        ("auditor", "auditor", "audit"),
    ] {
        let (status, body) = admin
            .post(
                "/api/v1/accounts",
                &json!({"username": name, "password": PASSWORD, "role": role, "department": dept}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    Staff {
        desk: Api::login(server, "desk", PASSWORD).await,
        supervisor: Api::login(server, "supervisor", PASSWORD).await,
        counsel: Api::login(server, "counsel", PASSWORD).await,
        records: Api::login(server, "records", PASSWORD).await,
        auditor: Api::login(server, "auditor", PASSWORD).await,
        admin,
    }
}

/// ICE detainer at the jail: decline, supervisor sign-off required.
/// A multipart body with one `file` part named `filename`: (content type, body).
pub fn multipart_file(filename: &str, content: &str) -> (String, String) {
    let boundary = "citygate-test-boundary";
    (
        format!("multipart/form-data; boundary={boundary}"),
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\r\n{content}\r\n--{boundary}--\r\n"
        ),
    )
}

pub fn ice_detainer() -> Value {
    json!({"jurisdiction": "chicago", "act": "transfer_custody", "agency": {"kind": "corrections"},
           "requester": {"kind": "immigration_agency"}, "documents": [{"kind": "immigration_detainer"}],
           "subject": {"in_custody": true}})
}

/// Not enough facts: refer to counsel.
pub fn unclear() -> Value {
    json!({"jurisdiction": "chicago", "act": "share_information"})
}

/// Status to a nonprofit with written consent: comply.
pub fn with_consent() -> Value {
    json!({"jurisdiction": "chicago", "act": "share_information", "agency": {"kind": "human_services"},
           "requester": {"kind": "public"}, "data": ["immigration_status"], "documents": [{"kind": "written_consent"}],
           "subject": {"consent": "written"}})
}

/// A public-records request: comply.
pub fn public_records() -> Value {
    json!({"jurisdiction": "chicago", "act": "release_public_records", "agency": {"kind": "records_office"},
           "requester": {"kind": "public"}, "data": ["arrest_report"], "purpose": "public_records",
           "documents": [{"kind": "records_request"}]})
}

pub fn new_case(channel: &str, request: Value) -> Value {
    json!({"channel": channel, "requester": {"name": "A. Requester"}, "request": request})
}

/// Opens a case as `who`; returns its id.
pub async fn open_case(who: &Api, channel: &str, request: Value) -> String {
    let (status, body) = who.post("/api/v1/cases", &new_case(channel, request)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}
