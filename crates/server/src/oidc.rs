//! Single sign-on through OpenID Connect (optional, off unless an issuer is configured).
//!
//! `GET /auth/oidc/login` starts the authorization code flow with PKCE; the state (hashed),
//! nonce and PKCE verifier (sealed) stay in the store (single use, ten minutes), so the
//! provider's redirect back may reach any instance, tied to the browser that started the
//! flow by a short-lived cookie. `GET /auth/oidc/callback` exchanges the code
//! and has the `openidconnect` crate check the ID token (signature against the issuer's
//! JWKS, issuer, audience, expiry, nonce). The issuer and subject then find, or create, the
//! local account; its role and department follow the claims at every login, and a login
//! whose claims map to no role is refused.

use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use citygate_store::{Account, AccountUpdate, NewAccount, Role, StoreError};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse as _,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::auth;
use crate::config::OidcSettings;
use crate::routes::session::session_for;
use crate::state::AppState;

/// Cookie tying a pending sign-in to the browser that started it.
pub const FLOW_COOKIE: &str = "citygate_oidc";
/// Path of the login route.
pub const LOGIN_PATH: &str = "/auth/oidc/login";
/// Path of the callback route.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";
/// How long a started sign-in may take at the provider.
const FLOW_TTL: Duration = Duration::from_secs(600);
/// Sign-ins pending at once; past this, new ones wait (bounds the table under a flood).
const MAX_PENDING: i64 = 10_000;
/// Sealing context of a pending flow's PKCE verifier.
const VERIFIER_CONTEXT: &str = "oidc/pending/verifier";
/// How long the provider's metadata and keys are used before they are fetched again
/// (key rotation at the provider reaches us within this time).
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Department of an account created without a department claim.
const DEFAULT_DEPARTMENT: &str = "unassigned";

/// A wrong single sign-on setting, found when the service starts.
#[derive(Debug, thiserror::Error)]
pub enum OidcConfigError {
    /// A required setting is missing.
    #[error("oidc_issuer is set, so {0} is required")]
    Missing(&'static str),
    /// A URL setting is not a URL.
    #[error("{0} is not a valid URL")]
    Url(&'static str),
    /// Both a secret and a secret file.
    #[error("set oidc_client_secret or oidc_client_secret_file, not both")]
    TwoSecrets,
    /// The secret file cannot be read.
    #[error("cannot read oidc_client_secret_file {}: {source}", path.display())]
    SecretFile {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An entry of the role map is not `claim-value=role`.
    #[error("oidc_role_map: {0:?} is not CLAIM_VALUE=ROLE with ROLE one of desk, supervisor, counsel, records, auditor, admin")]
    RoleMap(String),
}

/// Checked single sign-on settings.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret (a public client without one).
    pub client_secret: Option<String>,
    /// The redirect URL registered at the provider.
    pub redirect_url: String,
    /// Dotted path of the roles claim.
    pub role_claim: String,
    /// Claim values to roles; the first entry that matches decides.
    pub role_map: Vec<(String, Role)>,
    /// Dotted path of the department claim.
    pub department_claim: Option<String>,
}

impl OidcConfig {
    /// Checks the settings; `None` when single sign-on is off (no issuer). `base_url` is
    /// the service's public URL, for the default redirect URL.
    pub fn from_settings(
        s: &OidcSettings,
        base_url: &str,
    ) -> Result<Option<OidcConfig>, OidcConfigError> {
        let Some(issuer) = s.issuer.clone().filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        IssuerUrl::new(issuer.clone()).map_err(|_| OidcConfigError::Url("oidc_issuer"))?;
        let client_id = s
            .client_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or(OidcConfigError::Missing("oidc_client_id"))?;
        let client_secret = match (&s.client_secret, &s.client_secret_file) {
            (Some(_), Some(_)) => return Err(OidcConfigError::TwoSecrets),
            (Some(secret), None) => Some(secret.clone()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .map_err(|source| OidcConfigError::SecretFile {
                        path: path.clone(),
                        source,
                    })?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        let redirect_url = s
            .redirect_url
            .clone()
            .unwrap_or_else(|| format!("{}{CALLBACK_PATH}", base_url.trim_end_matches('/')));
        RedirectUrl::new(redirect_url.clone())
            .map_err(|_| OidcConfigError::Url("oidc_redirect_url"))?;
        let role_map = parse_role_map(s.role_map.as_deref().unwrap_or(""))?;
        if role_map.is_empty() {
            return Err(OidcConfigError::Missing("oidc_role_map"));
        }
        Ok(Some(OidcConfig {
            issuer,
            client_id,
            client_secret,
            redirect_url,
            role_claim: s.role_claim.clone().unwrap_or_else(|| "roles".into()),
            role_map,
            department_claim: s.department_claim.clone().filter(|d| !d.is_empty()),
        }))
    }

    /// The role the claims map to: the first role-map entry whose value the role claim
    /// holds (a string or an array of strings).
    pub fn role_of(&self, claims: &serde_json::Map<String, serde_json::Value>) -> Option<Role> {
        let values: Vec<&str> = match claim_at(claims, &self.role_claim) {
            Some(serde_json::Value::String(s)) => vec![s.as_str()],
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        };
        self.role_map
            .iter()
            .find(|(value, _)| values.contains(&value.as_str()))
            .map(|(_, role)| *role)
    }

    /// The department the claims name, if configured and usable.
    pub fn department_of(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<String> {
        let path = self.department_claim.as_deref()?;
        let d = claim_at(claims, path)?.as_str()?.trim();
        (!d.is_empty() && d.chars().count() <= 100).then(|| d.to_owned())
    }
}

/// Parses `value=role,value=role`.
pub fn parse_role_map(text: &str) -> Result<Vec<(String, Role)>, OidcConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (value, role) = entry
                .rsplit_once('=')
                .ok_or_else(|| OidcConfigError::RoleMap(entry.into()))?;
            let role =
                Role::parse(role.trim()).ok_or_else(|| OidcConfigError::RoleMap(entry.into()))?;
            let value = value.trim();
            if value.is_empty() {
                return Err(OidcConfigError::RoleMap(entry.into()));
            }
            Ok((value.to_owned(), role))
        })
        .collect()
}

/// The claim at a dotted path (`realm_access.roles`); a claim whose own name holds the
/// dots (`https://example.org/roles`) is found first.
fn claim_at<'a>(
    claims: &'a serde_json::Map<String, serde_json::Value>,
    path: &str,
) -> Option<&'a serde_json::Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// The claims of the ID token beyond the standard ones (roles, groups, department...).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type IdFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<IdFields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Single sign-on at run time: the settings, the provider's metadata, pending sign-ins.
pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    client: tokio::sync::Mutex<Option<(Instant, OidcClient)>>,
}

/// Why a sign-in failed; the page says little, the log names the step (never the person).
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// Unknown, used or expired state, or another browser's.
    Flow,
    /// The provider said no (the user cancelled, or is not assigned to the application).
    Provider,
    /// The provider cannot be reached or answered nonsense.
    Unavailable,
    /// The code exchange failed.
    Exchange,
    /// The ID token failed a check (signature, issuer, audience, expiry, nonce).
    Token,
    /// No role-map entry matches the claims.
    NoRole,
    /// The linked account is disabled.
    Disabled,
    /// Too many sign-ins pending.
    Busy,
    /// The store failed.
    Internal,
}

impl Refusal {
    fn event(self) -> &'static str {
        match self {
            Refusal::Flow => "bad_or_used_state",
            Refusal::Provider => "provider_error",
            Refusal::Unavailable => "provider_unavailable",
            Refusal::Exchange => "code_exchange_failed",
            Refusal::Token => "id_token_invalid",
            Refusal::NoRole => "no_mapped_role",
            Refusal::Disabled => "account_disabled",
            Refusal::Busy => "too_many_pending",
            Refusal::Internal => "internal",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Refusal::Flow => StatusCode::BAD_REQUEST,
            Refusal::Provider | Refusal::Exchange | Refusal::Token => StatusCode::UNAUTHORIZED,
            Refusal::NoRole | Refusal::Disabled => StatusCode::FORBIDDEN,
            Refusal::Unavailable => StatusCode::BAD_GATEWAY,
            Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Refusal::Flow => "This sign-in link expired or was already used. Start again from the login page.",
            Refusal::Provider | Refusal::Exchange | Refusal::Token => {
                "Single sign-on failed. Start again from the login page; if it keeps failing, tell your administrator."
            }
            Refusal::NoRole => "Your account at the identity provider has no citygate role. Ask your administrator to assign you one.",
            Refusal::Disabled => "This citygate account is disabled. Ask your administrator.",
            Refusal::Unavailable => "The identity provider cannot be reached. Try again in a few minutes.",
            Refusal::Busy => "Too many sign-ins are in progress. Try again in a minute.",
            Refusal::Internal => "Internal error; the server log has the details.",
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        if matches!(self, Refusal::Internal | Refusal::Unavailable) {
            tracing::error!(
                event = "oidc_login_refused",
                reason = self.event(),
                "single sign-on refused"
            );
        } else {
            tracing::warn!(
                event = "oidc_login_refused",
                reason = self.event(),
                "single sign-on refused"
            );
        }
        let page = format!(
            "<!doctype html><meta charset=utf-8><title>citygate</title>\
             <h1>Sign-in refused</h1><p>{}<p><a href=/login>Back to the login page</a>",
            self.message()
        );
        (self.status(), Html(page)).into_response()
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failed during single sign-on");
        Refusal::Internal
    }
}

impl Oidc {
    /// Single sign-on with these settings; the provider is first asked at the first login.
    pub fn new(config: OidcConfig) -> Oidc {
        // No redirects: the provider's endpoints answer directly, and following redirects
        // would let a bad metadata document steer our requests.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Oidc {
            config,
            http,
            client: tokio::sync::Mutex::new(None),
        }
    }

    /// The settings.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// A client from the provider's metadata and keys, fetched at most once an hour.
    async fn client(&self) -> Result<OidcClient, Refusal> {
        let mut cached = self.client.lock().await;
        if let Some((at, client)) = cached.as_ref() {
            if at.elapsed() < METADATA_TTL {
                return Ok(client.clone());
            }
        }
        let issuer =
            IssuerUrl::new(self.config.issuer.clone()).map_err(|_| Refusal::Unavailable)?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "OpenID provider discovery failed");
                Refusal::Unavailable
            })?;
        let redirect =
            RedirectUrl::new(self.config.redirect_url.clone()).map_err(|_| Refusal::Internal)?;
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        *cached = Some((Instant::now(), client.clone()));
        Ok(client)
    }
}

fn ttl_secs() -> i64 {
    FLOW_TTL.as_secs() as i64
}

/// Keeps a started sign-in in the store, where every instance finds it.
async fn remember(
    state: &AppState,
    flow_state: &str,
    browser_hash: Vec<u8>,
    verifier: &str,
    nonce: &str,
) -> Result<(), Refusal> {
    let now = crate::now();
    let state_hash = auth::secret_hash(flow_state);
    let pending = citygate_store::OidcPending {
        verifier: state.vault.seal(VERIFIER_CONTEXT, verifier.as_bytes()),
        state_hash,
        browser_hash,
        nonce: nonce.to_owned(),
        started_at: now,
    };
    match state
        .store
        .put_oidc_pending(&pending, now - ttl_secs(), MAX_PENDING)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(Refusal::Busy),
        Err(e) => {
            tracing::error!(error = %e, "cannot store a pending sign-on");
            Err(Refusal::Internal)
        }
    }
}

/// A live pending sign-in, taken from the store so it cannot be used twice: its browser
/// hash, PKCE verifier and nonce.
async fn take(state: &AppState, flow_state: &str) -> Result<(Vec<u8>, String, String), Refusal> {
    let pending = state
        .store
        .take_oidc_pending(&auth::secret_hash(flow_state), crate::now() - ttl_secs())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot read a pending sign-on");
            Refusal::Internal
        })?
        .ok_or(Refusal::Flow)?;
    let verifier = state
        .vault
        .open(VERIFIER_CONTEXT, &pending.verifier)
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
        .ok_or(Refusal::Internal)?;
    Ok((pending.browser_hash, verifier, pending.nonce))
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The flow cookie: `SameSite=Lax`, because the provider's redirect back is a cross-site
/// navigation, on which `Strict` cookies are not sent.
fn flow_cookie(value: &str, max_age: u64, secure: bool) -> String {
    let mut c = format!(
        "{FLOW_COOKIE}={value}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    );
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// Starts single sign-on: redirects to the provider (authorization code flow with PKCE).
pub async fn login(State(state): State<AppState>) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return (StatusCode::NOT_FOUND, "single sign-on is not configured").into_response();
    };
    match start(&state, &oidc).await {
        Ok(r) => r,
        Err(refusal) => refusal.into_response(),
    }
}

async fn start(state: &AppState, oidc: &Oidc) -> Result<Response, Refusal> {
    let client = oidc.client().await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = auth::random_secret();
    remember(
        state,
        csrf.secret(),
        auth::secret_hash(&browser),
        verifier.secret(),
        nonce.secret(),
    )
    .await?;
    let mut response =
        (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response();
    if let Ok(v) = flow_cookie(&browser, FLOW_TTL.as_secs(), state.secure_cookies).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// What the provider sends the browser back with.
#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Finishes single sign-on: checks the answer, finds or creates the account, opens a session.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return (StatusCode::NOT_FOUND, "single sign-on is not configured").into_response();
    };
    let mut response = match finish(&state, &oidc, &headers, q).await {
        Ok(r) => r,
        Err(refusal) => refusal.into_response(),
    };
    // The flow is over either way.
    if let Ok(v) = flow_cookie("", 0, state.secure_cookies).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

async fn finish(
    state: &AppState,
    oidc: &Oidc,
    headers: &HeaderMap,
    q: Callback,
) -> Result<Response, Refusal> {
    let flow_state = q.state.as_deref().ok_or(Refusal::Flow)?;
    let (browser_hash, pkce_verifier, nonce) = take(state, flow_state).await?;
    let browser = cookie_value(headers, FLOW_COOKIE).ok_or(Refusal::Flow)?;
    if auth::secret_hash(&browser) != browser_hash {
        return Err(Refusal::Flow);
    }
    if q.error.is_some() {
        return Err(Refusal::Provider);
    }
    let code = q.code.ok_or(Refusal::Provider)?;
    let client = oidc.client().await?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|_| Refusal::Unavailable)?
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
        .request_async(&oidc.http)
        .await
        .map_err(|e| {
            // The kind only: the provider's description may name the person.
            let kind = match e {
                openidconnect::RequestTokenError::ServerResponse(_) => "provider_refused",
                openidconnect::RequestTokenError::Request(_) => "request",
                openidconnect::RequestTokenError::Parse(..) => "parse",
                openidconnect::RequestTokenError::Other(_) => "other",
            };
            tracing::warn!(kind, "OpenID code exchange failed");
            Refusal::Exchange
        })?;
    let id_token = tokens.id_token().ok_or(Refusal::Token)?;
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &Nonce::new(nonce))
        .map_err(|e| {
            // The check that failed, not the token's content.
            tracing::warn!(check = %kind_of(&e), "ID token rejected");
            Refusal::Token
        })?;
    let other = &claims.additional_claims().claims;
    let role = oidc.config.role_of(other).ok_or(Refusal::NoRole)?;
    let department = oidc.config.department_of(other);
    let issuer = oidc.config.issuer.as_str();
    let subject = claims.subject().as_str();
    let account = match state.store.account_by_oidc(issuer, subject).await? {
        Some(account) => update(state, account, role, department).await?,
        None => {
            let preferred = claims
                .preferred_username()
                .map(|u| u.as_str().to_lowercase());
            create(state, issuer, subject, preferred, role, department).await?
        }
    };
    if account.disabled {
        return Err(Refusal::Disabled);
    }
    let opened = session_for(state, account)
        .await
        .map_err(|_| Refusal::Internal)?;
    tracing::info!(
        event = "oidc_login",
        account = opened.account.id,
        "logged in by single sign-on"
    );
    // A page rather than a redirect: the session cookie is SameSite=Strict, and a browser
    // does not send it on a redirect that continues the provider's cross-site navigation.
    // The refresh below starts from our own page, so the next request carries it.
    let page = "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=\"0;url=/\">\
                <title>citygate</title><p>Logged in. <a href=/>Continue</a>";
    let mut response = (StatusCode::OK, Html(page)).into_response();
    response.headers_mut().extend(opened.cookies);
    Ok(response)
}

fn kind_of(e: &openidconnect::ClaimsVerificationError) -> &'static str {
    use openidconnect::ClaimsVerificationError as E;
    match e {
        E::Expired(_) => "expired",
        E::InvalidAudience(_) => "audience",
        E::InvalidIssuer(_) => "issuer",
        E::InvalidNonce(_) => "nonce",
        E::SignatureVerification(_) => "signature",
        _ => "other",
    }
}

async fn update(
    state: &AppState,
    account: Account,
    role: Role,
    department: Option<String>,
) -> Result<Account, Refusal> {
    let department = department.filter(|d| *d != account.department);
    if account.role == role && department.is_none() {
        return Ok(account);
    }
    if account.role != role {
        tracing::info!(
            event = "oidc_role_changed",
            account = account.id,
            role = role.as_str(),
            "role follows the identity provider"
        );
    }
    let change = AccountUpdate {
        role: (account.role != role).then_some(role),
        department,
        ..AccountUpdate::default()
    };
    state
        .store
        .update_account(account.id, &change)
        .await?
        .ok_or(Refusal::Internal)
}

/// Creates the account for a new identity, named after the provider's username when
/// that is a valid, free name, else after a hash of the identity.
async fn create(
    state: &AppState,
    issuer: &str,
    subject: &str,
    preferred: Option<String>,
    role: Role,
    department: Option<String>,
) -> Result<Account, Refusal> {
    let digest = Sha256::digest(format!("{issuer}\n{subject}").as_bytes());
    let fallback = format!("sso-{}", crate::hex(&digest[..6]));
    let names = preferred
        .filter(|p| crate::routes::accounts::check_username(p).is_ok())
        .into_iter()
        .chain([fallback]);
    for username in names {
        let new = NewAccount {
            username,
            role,
            department: department
                .clone()
                .unwrap_or_else(|| DEFAULT_DEPARTMENT.into()),
            // Single sign-on only: no password to guess.
            password_hash: None,
            created_at: crate::now(),
        };
        match state.store.create_oidc_account(issuer, subject, &new).await {
            Ok(account) => {
                tracing::info!(
                    event = "oidc_account_created",
                    account = account.id,
                    role = role.as_str(),
                    "account created by single sign-on"
                );
                return Ok(account);
            }
            // The name is taken (or the identity was linked meanwhile): try the next name.
            Err(StoreError::Conflict) => {
                if let Some(account) = state.store.account_by_oidc(issuer, subject).await? {
                    return Ok(account);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Refusal::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(role_claim: &str, map: &str) -> OidcConfig {
        let settings = OidcSettings {
            issuer: Some("https://login.example.org/tenant/v2.0".into()),
            client_id: Some("citygate".into()),
            role_claim: Some(role_claim.into()),
            role_map: Some(map.into()),
            department_claim: Some("org.department".into()),
            ..OidcSettings::default()
        };
        OidcConfig::from_settings(&settings, "https://citygate.example.org/")
            .unwrap()
            .unwrap()
    }

    fn claims(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn roles_map_from_strings_arrays_and_nested_claims() {
        let c = config("roles", "CityGate.Desk=desk, CityGate.Admin=admin");
        assert_eq!(
            c.redirect_url,
            "https://citygate.example.org/auth/oidc/callback"
        );
        assert_eq!(
            c.role_of(&claims(json!({"roles": ["x", "CityGate.Admin"]}))),
            Some(Role::Admin)
        );
        assert_eq!(
            c.role_of(&claims(json!({"roles": "CityGate.Desk"}))),
            Some(Role::Desk)
        );
        assert_eq!(c.role_of(&claims(json!({"roles": ["other"]}))), None);
        assert_eq!(c.role_of(&claims(json!({}))), None);
        // The first map entry wins when several match.
        assert_eq!(
            c.role_of(&claims(
                json!({"roles": ["CityGate.Admin", "CityGate.Desk"]})
            )),
            Some(Role::Desk)
        );
        let nested = config("realm_access.roles", "counsel=counsel");
        assert_eq!(
            nested.role_of(&claims(json!({"realm_access": {"roles": ["counsel"]}}))),
            Some(Role::Counsel)
        );
        assert_eq!(
            nested.department_of(&claims(json!({"org": {"department": " Legal "}}))),
            Some("Legal".into())
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(matches!(
            parse_role_map("CityGate.Desk=janitor"),
            Err(OidcConfigError::RoleMap(_))
        ));
        assert!(matches!(
            parse_role_map("desk"),
            Err(OidcConfigError::RoleMap(_))
        ));
        let off = OidcConfig::from_settings(&OidcSettings::default(), "http://x").unwrap();
        assert!(off.is_none());
        let no_map = OidcSettings {
            issuer: Some("https://idp.example.org".into()),
            client_id: Some("c".into()),
            ..OidcSettings::default()
        };
        assert!(matches!(
            OidcConfig::from_settings(&no_map, "http://x"),
            Err(OidcConfigError::Missing("oidc_role_map"))
        ));
        let no_client = OidcSettings {
            client_id: None,
            role_map: Some("a=desk".into()),
            ..no_map
        };
        assert!(matches!(
            OidcConfig::from_settings(&no_client, "http://x"),
            Err(OidcConfigError::Missing("oidc_client_id"))
        ));
    }
}
