//! Log in and out, who am I, and the one-time creation of the first administrator.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use citygate_store::{NewAccount, Role, Session};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{self, Caller, Credential, CSRF_COOKIE, SESSION_COOKIE, SESSION_SECS};
use crate::body::Json;
use crate::error::ApiError;
use crate::routes::accounts::{check_username, AccountView};
use crate::state::AppState;

/// Username and password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A new session: the account, and the CSRF token to send as `X-CSRF-Token`.
#[derive(Serialize, ToSchema)]
pub struct LoggedIn {
    /// Who is logged in.
    pub account: AccountView,
    /// Echo this in `X-CSRF-Token` on every state-changing request.
    pub csrf_token: String,
}

/// The first administrator, created with the one-time set-up token printed at first start.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// The token from the set-up link.
    pub token: String,
    /// Login name of the administrator.
    pub username: String,
    /// Password (12 to 256 characters).
    pub password: String,
}

// Checked against when the username does not exist, so both paths cost one Argon2 run
// and timing does not reveal which usernames exist.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| auth::hash_password("not anyone's password").unwrap_or_default())
        .clone()
}

fn cookie_header(
    name: &str,
    value: &str,
    http_only: bool,
    max_age: i64,
    secure: bool,
) -> Option<HeaderValue> {
    let mut c = format!("{name}={value}; Path=/; SameSite=Strict; Max-Age={max_age}");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).ok()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::Internal)
}

/// Logs in with a password; sets the session cookie (HttpOnly, SameSite=Strict).
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = Login,
    responses((status = 200, body = LoggedIn), (status = 401, body = crate::error::ErrorBody),
              (status = 429, description = "too many failed logins", body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<Login>,
) -> Result<Response, ApiError> {
    let opened = open_session(&state, &body.username, body.password, peer.ip()).await?;
    let mut response = axum::Json(LoggedIn {
        account: AccountView::from(&opened.account),
        csrf_token: opened.csrf_token,
    })
    .into_response();
    response.headers_mut().extend(opened.cookies);
    Ok(response)
}

/// A session just opened: its account, CSRF token and the cookies that carry it.
pub struct OpenedSession {
    /// Who logged in.
    pub account: citygate_store::Account,
    /// The token state changes must echo (header for the API, form field for the pages).
    pub csrf_token: String,
    /// `Set-Cookie` headers: the session (HttpOnly) and the CSRF token.
    pub cookies: HeaderMap,
}

/// Checks a password (throttled per username and address) and opens a session. Shared by
/// the API's login and the staff pages' login form.
pub async fn open_session(
    state: &AppState,
    username: &str,
    password: String,
    peer: std::net::IpAddr,
) -> Result<OpenedSession, ApiError> {
    state.throttle.check(username, peer)?;
    let account = state.store.account_by_username(username).await?;
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let ok = blocking(move || auth::verify_password(&password, &hash.unwrap_or_else(dummy_hash)))
        .await?;
    let account = match account {
        Some(a) if ok && !a.disabled => a,
        _ => {
            state.throttle.failed(username, peer);
            tracing::info!(event = "login_failed", "failed login");
            return Err(ApiError::BadCredentials);
        }
    };
    state.throttle.succeeded(username);
    session_for(state, account).await
}

/// Opens a session for an account whose owner has just proved who they are (a password,
/// or single sign-on), and builds the cookies that carry it.
pub async fn session_for(
    state: &AppState,
    account: citygate_store::Account,
) -> Result<OpenedSession, ApiError> {
    let token = auth::random_secret();
    let csrf_token = auth::random_secret();
    let session = Session {
        token_hash: auth::secret_hash(&token),
        account_id: account.id,
        csrf_token: csrf_token.clone(),
        expires_at: crate::now() + SESSION_SECS,
    };
    state.store.create_session(&session).await?;
    tracing::info!(event = "login", account = account.id, "logged in");
    let secure = state.secure_cookies;
    let mut cookies = HeaderMap::new();
    for c in [
        cookie_header(SESSION_COOKIE, &token, true, SESSION_SECS, secure),
        cookie_header(CSRF_COOKIE, &csrf_token, false, SESSION_SECS, secure),
    ]
    .into_iter()
    .flatten()
    {
        cookies.append(header::SET_COOKIE, c);
    }
    Ok(OpenedSession {
        account,
        csrf_token,
        cookies,
    })
}

/// Ends the session with this hash and returns the `Set-Cookie` headers that clear it.
pub async fn close_session(state: &AppState, token_hash: &[u8]) -> Result<HeaderMap, ApiError> {
    state.store.delete_session(token_hash).await?;
    let mut headers = HeaderMap::new();
    for c in [
        cookie_header(SESSION_COOKIE, "", true, 0, state.secure_cookies),
        cookie_header(CSRF_COOKIE, "", false, 0, state.secure_cookies),
    ]
    .into_iter()
    .flatten()
    {
        headers.append(header::SET_COOKIE, c);
    }
    Ok(headers)
}

/// Logs out (ends the session; a token caller has nothing to end).
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "logged out"), (status = 401, body = crate::error::ErrorBody)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let headers = match &caller.credential {
        Credential::Session(hash) => close_session(&state, hash).await?,
        Credential::Token => HeaderMap::new(),
    };
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, body = AccountView), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(caller: Caller) -> axum::Json<AccountView> {
    axum::Json(AccountView::from(&caller.account))
}

async fn create_admin(state: &AppState, body: Setup) -> Result<AccountView, ApiError> {
    check_username(&body.username)?;
    auth::check_password_rules(&body.password)?;
    let password = body.password;
    let password_hash = blocking(move || auth::hash_password(&password)).await??;
    let account = NewAccount {
        username: body.username,
        role: Role::Admin,
        department: "administration".into(),
        password_hash: Some(password_hash),
        created_at: crate::now(),
    };
    let made = state
        .store
        .create_first_admin(&auth::secret_hash(&body.token), &account)
        .await?
        .ok_or(ApiError::Forbidden(
            "the set-up link was used already or is not the latest one",
        ))?;
    tracing::info!(
        event = "first_admin_created",
        account = made.id,
        "first administrator created"
    );
    Ok(AccountView::from(&made))
}

/// Creates the first administrator with the one-time set-up token.
#[utoipa::path(post, path = "/api/v1/setup", tag = "session", request_body = Setup,
    responses((status = 201, body = AccountView), (status = 403, description = "token used or wrong", body = crate::error::ErrorBody)))]
pub async fn setup(
    State(state): State<AppState>,
    Json(body): Json<Setup>,
) -> Result<(StatusCode, axum::Json<AccountView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(create_admin(&state, body).await?),
    ))
}

/// The token in the set-up link.
#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

fn escape(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The page the one-time link opens: a form for the administrator's name and password.
pub async fn setup_page(Query(q): Query<SetupQuery>) -> Html<String> {
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>citygate set-up</title>\
         <h1>Create the first administrator</h1>\
         <form method=post action=/setup><input type=hidden name=token value=\"{}\">\
         <p><label>Username <input name=username required></label>\
         <p><label>Password (12 characters or more) <input type=password name=password required minlength=12></label>\
         <p><button>Create</button></form>",
        escape(&q.token)
    ))
}

/// The form behind [`setup_page`].
pub async fn setup_form(State(state): State<AppState>, Form(body): Form<Setup>) -> Response {
    match create_admin(&state, body).await {
        Ok(a) => Html(format!(
            "<!doctype html><meta charset=utf-8><title>citygate</title><h1>Administrator {} created</h1>\
             <p><a href=/login>Log in</a> (or through the API: <code>POST /api/v1/session</code>).",
            escape(&a.username)
        ))
        .into_response(),
        Err(e) => e.into_response(),
    }
}
