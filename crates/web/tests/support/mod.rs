//! A test kit for the staff pages: the real service (API and pages) on a free
//! loopback port on SQLite, with an administrator, the agency settings and one account
//! per role made through the app itself, and a logged-in HTTP client per account.
#![allow(dead_code)]

use citygate_server::testkit::TestServer;

/// The password of every test account.
pub const PASSWORD: &str = "correct horse battery staple";

/// Accounts made by [`Site::start`]: (username, role, department).
pub const STAFF: &[(&str, &str, &str)] = &[
    ("desk", "desk", "police"),
    ("desk2", "desk", "police"),
    ("boss", "supervisor", "police"),
    ("lawyer", "counsel", "law"),
    ("clerk", "records", "records"),
    ("audit", "auditor", "inspector-general"),
];

/// A running service with pages.
pub struct Site {
    pub server: TestServer,
    pub base: String,
}

/// An HTTP client that keeps cookies and does not follow redirects (tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// HTML text back to the characters (named and decimal entities, as askama writes them).
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(';').filter(|e| *e <= 8);
        let decoded = end.and_then(|e| match &tail[1..e] {
            "quot" => Some('"'),
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16)
                .ok()
                .and_then(char::from_u32),
            n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        });
        match (decoded, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &tail[e + 1..];
            }
            _ => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of the first hidden (or other) input named `name` in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(unescape(&html[start..end]))
}

impl Site {
    /// Starts the service, creates the administrator through the one-time set-up, sets
    /// the Law Department's number in the settings page, and creates [`STAFF`].
    pub async fn start() -> Site {
        let server = TestServer::sqlite_with(citygate_web::pages)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let base = server.base_url.clone();
        let token = server.setup_token.clone().unwrap_or_default();
        let site = Site { server, base };
        let c = client();
        let r = c
            .post(format!("{}/setup", site.base))
            .form(&[
                ("token", token.as_str()),
                ("username", "admin"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.status().is_success(), "setup: {}", r.status());
        let admin = site.login("admin").await;
        let page = site.get(&admin, "/admin/settings").await;
        let csrf = hidden(&page, "csrf").unwrap_or_default();
        let r = admin
            .post(format!("{}/admin/settings", site.base))
            .form(&[
                ("csrf", csrf.as_str()),
                ("agency_name", "City of Chicago, Department of Police"),
                ("agency_address", "3510 S. Michigan Ave.\nChicago, IL 60653"),
                ("law_department_phone", "312-555-0100"),
                ("jurisdiction", "chicago"),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "settings");
        for (username, role, department) in STAFF {
            let r = admin
                .post(format!("{}/admin/accounts", site.base))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("username", username),
                    ("password", PASSWORD),
                    ("role", role),
                    ("department", department),
                ])
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.status(), 303, "create {username}");
        }
        site
    }

    /// A client logged in as `username` through the login form.
    pub async fn login(&self, username: &str) -> reqwest::Client {
        let c = client();
        let r = c
            .post(format!("{}/login", self.base))
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 303, "login {username}");
        c
    }

    /// GET a page; panics unless it answers 200.
    pub async fn get(&self, c: &reqwest::Client, path: &str) -> String {
        let (status, body) = self.fetch(c, path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// GET a path: status and body.
    pub async fn fetch(&self, c: &reqwest::Client, path: &str) -> (u16, String) {
        let r = c
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    /// GET a file; panics unless it answers 200. Returns the response's `header` (empty when
    /// absent) and the bytes.
    pub async fn get_file(
        &self,
        c: &reqwest::Client,
        path: &str,
        header: &str,
    ) -> (String, Vec<u8>) {
        let r = c
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "GET {path}");
        let value = r
            .headers()
            .get(header)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (value, r.bytes().await.unwrap_or_default().to_vec())
    }

    /// POST a form: status, `Location` (if a redirect) and body.
    pub async fn post_form(
        &self,
        c: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String, String) {
        let r = c
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, location, r.text().await.unwrap_or_default())
    }

    /// POST the guided flow's multipart form (as htmx would, or as a plain browser).
    pub async fn post_ask(
        &self,
        c: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, Vec<u8>)>,
        htmx: bool,
    ) -> (u16, String) {
        let file = file.map(|(name, bytes)| ("photo", name, bytes));
        self.post_multipart(c, path, fields, file, htmx).await
    }

    /// POST a multipart form with text `fields` and an optional file (part name, file
    /// name, bytes): status and body.
    pub async fn post_multipart(
        &self,
        c: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, Vec<u8>)>,
        htmx: bool,
    ) -> (u16, String) {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        if let Some((part, name, bytes)) = file {
            form = form.part(
                part.to_string(),
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
            );
        }
        let mut req = c.post(format!("{}{path}", self.base)).multipart(form);
        if htmx {
            req = req.header("hx-request", "true");
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{e}"));
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }
}
