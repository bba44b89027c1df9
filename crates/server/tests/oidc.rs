//! Single sign-on against a mock OpenID provider on a loopback port: discovery, JWKS with
//! an RSA key made here, an authorize endpoint that sends the browser back with a code,
//! and a token endpoint that checks PKCE and returns a signed ID token. Knobs make the
//! provider misbehave (wrong key, audience, nonce, expired token).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode as AxStatus};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::prelude::{Engine as _, BASE64_STANDARD, BASE64_URL_SAFE_NO_PAD};
use citygate_server::config::OidcSettings;
use citygate_server::testkit::TestServer;
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    AdditionalClaims, Audience, EndUserUsername, IdToken, IdTokenClaims, IssuerUrl, JsonWebKeyId,
    Nonce, PrivateSigningKey as _, StandardClaims, SubjectIdentifier,
};
use reqwest::StatusCode;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// Every log line of this test binary (all levels), to check that no identity leaks.
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

fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured(Arc::new(Mutex::new(Vec::new())));
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

/// Fails if a log line names the person (subject, username, department).
fn assert_no_identity_in_logs() {
    let text = String::from_utf8_lossy(&logs().0.lock().unwrap()).into_owned();
    for secret in ["aaaa-bbbb-cccc", "dana", "city.example", "Housing", "Legal"] {
        let leaks: Vec<&str> = text.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} in logs:\n{}", leaks.join("\n"));
    }
}

const CLIENT_ID: &str = "citygate-app";
const CLIENT_SECRET: &str = "s3cret-value";

#[derive(Debug, Serialize, Deserialize)]
struct Extra {
    #[serde(flatten)]
    claims: serde_json::Map<String, Value>,
}
impl AdditionalClaims for Extra {}

type TestIdToken =
    IdToken<Extra, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

fn pem() -> String {
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
        .unwrap()
        .to_string()
}

/// The provider's key and another (the same key id), made once per test binary.
fn keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| (pem(), pem()))
}

fn signing_key(pem: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new("k1".into()))).unwrap()
}

/// How the provider behaves on the next token request.
#[derive(Clone)]
struct Knobs {
    subject: String,
    username: String,
    claims: Value,
    audience: String,
    wrong_nonce: bool,
    expired: bool,
    wrong_key: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            subject: "00000000-aaaa-bbbb-cccc-000000000001".into(),
            username: "dana@city.example".into(),
            claims: json!({"roles": ["CityGate.Desk"], "org": {"dept": "Housing"}}),
            audience: CLIENT_ID.into(),
            wrong_nonce: false,
            expired: false,
            wrong_key: false,
        }
    }
}

struct Grant {
    nonce: String,
    challenge: String,
}

struct Idp {
    issuer: String,
    knobs: Mutex<Knobs>,
    codes: Mutex<HashMap<String, Grant>>,
}

type Shared = Arc<Idp>;

async fn discovery(State(idp): State<Shared>) -> Json<Value> {
    let i = &idp.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks() -> Json<Value> {
    let key = signing_key(&keys().0).as_verification_key();
    Json(serde_json::to_value(CoreJsonWebKeySet::new(vec![key])).unwrap())
}

async fn authorize(
    State(idp): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    assert_eq!(q.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(q.get("response_type").map(String::as_str), Some("code"));
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    let code = format!("code-{}", rand::random::<u64>());
    idp.codes.lock().unwrap().insert(
        code.clone(),
        Grant {
            nonce: q["nonce"].clone(),
            challenge: q["code_challenge"].clone(),
        },
    );
    let mut back = reqwest::Url::parse(&q["redirect_uri"]).unwrap();
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q["state"]);
    (AxStatus::SEE_OTHER, [(header::LOCATION, back.to_string())]).into_response()
}

async fn token(
    State(idp): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let basic = format!(
        "Basic {}",
        BASE64_STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&basic)
    {
        return (
            AxStatus::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let Some(grant) = form
        .get("code")
        .and_then(|c| idp.codes.lock().unwrap().remove(c))
    else {
        return (
            AxStatus::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if BASE64_URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return (
            AxStatus::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let k = idp.knobs.lock().unwrap().clone();
    let now = chrono::Utc::now();
    let (iat, exp) = if k.expired {
        (
            now - chrono::Duration::hours(2),
            now - chrono::Duration::hours(1),
        )
    } else {
        (now, now + chrono::Duration::minutes(5))
    };
    let nonce = if k.wrong_nonce {
        "another-nonce".to_owned()
    } else {
        grant.nonce
    };
    let claims = IdTokenClaims::new(
        IssuerUrl::new(idp.issuer.clone()).unwrap(),
        vec![Audience::new(k.audience.clone())],
        exp,
        iat,
        StandardClaims::new(SubjectIdentifier::new(k.subject.clone()))
            .set_preferred_username(Some(EndUserUsername::new(k.username.clone()))),
        Extra {
            claims: k.claims.as_object().cloned().unwrap_or_default(),
        },
    )
    .set_nonce(Some(Nonce::new(nonce)));
    let pem = if k.wrong_key { &keys().1 } else { &keys().0 };
    let id_token = TestIdToken::new(
        claims,
        &signing_key(pem),
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .unwrap();
    Json(json!({
        "access_token": "opaque-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token.to_string(),
    }))
    .into_response()
}

async fn start_idp() -> Shared {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp = Arc::new(Idp {
        issuer: format!("http://{}", listener.local_addr().unwrap()),
        knobs: Mutex::new(Knobs::default()),
        codes: Mutex::new(HashMap::new()),
    });
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(idp.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    idp
}

fn settings(idp: &Idp) -> OidcSettings {
    OidcSettings {
        issuer: Some(idp.issuer.clone()),
        client_id: Some(CLIENT_ID.into()),
        client_secret: Some(CLIENT_SECRET.into()),
        role_claim: Some("roles".into()),
        role_map: Some(
            "CityGate.Desk=desk,CityGate.Supervisor=supervisor,CityGate.Admin=admin".into(),
        ),
        department_claim: Some("org.dept".into()),
        ..OidcSettings::default()
    }
}

async fn start(idp: &Idp) -> TestServer {
    logs();
    let oidc = settings(idp);
    TestServer::sqlite_configured(move |c| c.oidc = oidc)
        .await
        .unwrap()
}

/// A browser: keeps cookies, follows nothing by itself.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(resp: &reqwest::Response) -> String {
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "expected a redirect");
    resp.headers()[header::LOCATION.as_str()]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Runs the flow up to the provider's redirect back; returns the callback URL.
async fn to_callback(b: &reqwest::Client, server: &TestServer) -> String {
    let resp = b
        .get(format!("{}/auth/oidc/login", server.base_url))
        .send()
        .await
        .unwrap();
    let at_idp = location(&resp);
    let resp = b.get(at_idp).send().await.unwrap();
    let back = location(&resp);
    assert!(
        back.starts_with(&format!("{}/auth/oidc/callback?", server.base_url)),
        "{back}"
    );
    back
}

/// The whole flow; returns the callback's status and who `/api/v1/me` then says we are.
async fn sign_in(server: &TestServer) -> (StatusCode, Option<Value>) {
    let b = browser();
    let back = to_callback(&b, server).await;
    let resp = b.get(back).send().await.unwrap();
    let status = resp.status();
    let has_session = resp
        .headers()
        .get_all(header::SET_COOKIE.as_str())
        .iter()
        .any(|c| {
            c.to_str().unwrap().starts_with("citygate_session=")
                && !c.to_str().unwrap().contains("Max-Age=0")
        });
    let me = b
        .get(format!("{}/api/v1/me", server.base_url))
        .send()
        .await
        .unwrap();
    match me.status() {
        StatusCode::OK => {
            assert!(has_session);
            (status, Some(me.json().await.unwrap()))
        }
        _ => {
            assert!(!has_session);
            (status, None)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_creates_then_reuses_the_account_and_follows_role_changes() {
    let idp = start_idp().await;
    let mut server = start(&idp).await;

    let (status, me) = sign_in(&server).await;
    assert_eq!(status, StatusCode::OK);
    let me = me.expect("a session");
    assert_eq!(me["role"], "desk");
    assert_eq!(me["department"], "Housing");
    assert_eq!(me["username"], "dana@city.example");
    let id = me["id"].clone();

    // Second login: the same account.
    let (_, again) = sign_in(&server).await;
    assert_eq!(again.unwrap()["id"], id);

    // The provider now says supervisor, in another department: the account follows.
    idp.knobs.lock().unwrap().claims =
        json!({"roles": ["Other", "CityGate.Supervisor"], "org": {"dept": "Legal"}});
    let (_, changed) = sign_in(&server).await;
    let changed = changed.unwrap();
    assert_eq!(changed["id"], id);
    assert_eq!(changed["role"], "supervisor");
    assert_eq!(changed["department"], "Legal");

    // A second person whose preferred username is taken gets an account of their own.
    {
        let mut k = idp.knobs.lock().unwrap();
        k.subject = "00000000-aaaa-bbbb-cccc-000000000002".into();
        k.claims = json!({"roles": "CityGate.Admin"});
    }
    let (_, other) = sign_in(&server).await;
    let other = other.unwrap();
    assert_ne!(other["id"], id);
    assert_eq!(other["role"], "admin");
    assert!(other["username"].as_str().unwrap().starts_with("sso-"));
    server.stop().await.unwrap();
    assert_no_identity_in_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_mapped_role_is_refused() {
    let idp = start_idp().await;
    let mut server = start(&idp).await;
    idp.knobs.lock().unwrap().claims = json!({"roles": ["CityGate.Unknown"]});
    let (status, me) = sign_in(&server).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(me.is_none());
    idp.knobs.lock().unwrap().claims = json!({});
    let (status, me) = sign_in(&server).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(me.is_none());
    server.stop().await.unwrap();
    // The refusal is logged, with its reason and without the person.
    let text = String::from_utf8_lossy(&logs().0.lock().unwrap()).into_owned();
    assert!(text.contains("no_mapped_role"), "the refusal is logged");
    assert_no_identity_in_logs();
}

/// Makes the provider misbehave in one way.
type Spoil = fn(&mut Knobs);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused() {
    let idp = start_idp().await;
    let mut server = start(&idp).await;
    let cases: [(&str, Spoil); 4] = [
        ("bad signature", |k| k.wrong_key = true),
        ("wrong audience", |k| k.audience = "someone-else".into()),
        ("wrong nonce", |k| k.wrong_nonce = true),
        ("expired", |k| k.expired = true),
    ];
    for (what, spoil) in cases {
        let mut knobs = Knobs::default();
        spoil(&mut knobs);
        *idp.knobs.lock().unwrap() = knobs;
        let (status, me) = sign_in(&server).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert!(me.is_none(), "{what}: a session was opened");
    }
    // The same provider, behaving, still works: the refusals above were the tokens'.
    *idp.knobs.lock().unwrap() = Knobs::default();
    let (status, me) = sign_in(&server).await;
    assert_eq!(status, StatusCode::OK);
    assert!(me.is_some());
    server.stop().await.unwrap();
    assert_no_identity_in_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_single_use_and_bound_to_the_browser() {
    let idp = start_idp().await;
    let mut server = start(&idp).await;

    // Replayed: the second use of a callback URL is refused.
    let b = browser();
    let back = to_callback(&b, &server).await;
    assert_eq!(b.get(&back).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        b.get(&back).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );

    // Another browser (no flow cookie) cannot finish a flow it did not start.
    let back = to_callback(&browser(), &server).await;
    let stranger = browser();
    assert_eq!(
        stranger.get(&back).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );

    // An invented state is refused.
    let resp = browser()
        .get(format!(
            "{}/auth/oidc/callback?code=x&state=made-up",
            server.base_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_by_default() {
    let mut server = TestServer::sqlite().await.unwrap();
    let resp = browser()
        .get(format!("{}/auth/oidc/login", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    server.stop().await.unwrap();
}

/// Behind a balancer the provider's redirect back may reach another instance: the flow
/// is in the shared database, so it finishes there, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_started_on_one_instance_finishes_on_another() {
    let idp = start_idp().await;
    logs();
    let Some(first) = TestServer::postgres().await else {
        eprintln!(
            "skipped: no PostgreSQL at {}",
            citygate_server::testkit::TEST_POSTGRES
        );
        return;
    };
    let mut first = first.unwrap();
    let mut config = TestServer::config_for_another_instance(&first);
    config.data_dir = first.data_dir.join("a");
    config.oidc = settings(&idp);
    let mut a = TestServer::start(config).await.unwrap();
    let mut config = TestServer::config_for_another_instance(&first);
    config.data_dir = first.data_dir.join("b");
    config.oidc = OidcSettings {
        // One public address for every instance, as behind a balancer.
        redirect_url: Some(format!("{}/auth/oidc/callback", a.base_url)),
        ..settings(&idp)
    };
    let mut b = TestServer::start(config).await.unwrap();

    let browser = browser();
    let back = to_callback(&browser, &a).await;
    let on_b = back.replacen(&a.base_url, &b.base_url, 1);
    assert_ne!(on_b, back);
    let resp = browser.get(&on_b).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let me = browser
        .get(format!("{}/api/v1/me", b.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // Used once: the same callback on the first instance is refused.
    assert_eq!(
        browser.get(&back).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    a.stop().await.unwrap();
    b.stop().await.unwrap();
    first.stop().await.unwrap();
}
