//! Who is using the pages: the service's session cookie, checked on every page;
//! log in and out; the interface language, remembered per account.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use citygate_server::auth::{self, Caller, Credential, SESSION_COOKIE};
use citygate_server::error::ApiError;
use citygate_server::routes::session::{close_session, open_session};
use citygate_store::Role;
use serde::Deserialize;

use crate::i18n::Lang;
use crate::settings::lang_key;
use crate::{respond, views, Web};

/// A logged-in member of staff.
pub(crate) struct Staff {
    /// Who, as the service's handlers take it.
    pub caller: Caller,
    /// The session's CSRF token, put in every form and checked on every post.
    pub csrf: String,
    /// Their interface language.
    pub lang: Lang,
}

impl Staff {
    pub fn role(&self) -> Role {
        self.caller.account.role
    }

    /// Whether a posted form carries this session's CSRF token. Compared as hashes so
    /// that the comparison's time does not depend on where the strings differ.
    pub fn csrf_ok(&self, sent: &str) -> bool {
        auth::secret_hash(sent) == auth::secret_hash(&self.csrf)
    }
}

/// The language cookie (for pages before login).
fn cookie_lang(headers: &HeaderMap) -> Lang {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("lang="));
    Lang::parse(cookie)
}

/// The member of staff behind the request's session cookie, if any.
async fn staff_of(web: &Web, parts: &Parts) -> Result<Option<Staff>, StatusCode> {
    let Some(token) = auth::cookie(parts, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = auth::secret_hash(token);
    let store = &web.state.store;
    let found = store
        .session(&hash, citygate_server::now())
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let Some((session, account)) = found else {
        return Ok(None);
    };
    let saved = store
        .setting(&lang_key(account.id))
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let lang = match saved {
        Some(tag) => Lang::parse(Some(&tag)),
        None => cookie_lang(&parts.headers),
    };
    Ok(Some(Staff {
        caller: Caller {
            account,
            credential: Credential::Session(hash),
        },
        csrf: session.csrf_token,
        lang,
    }))
}

impl FromRequestParts<Arc<Web>> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Arc<Web>) -> Result<Self, Response> {
        match staff_of(web, parts).await {
            Ok(Some(staff)) => Ok(staff),
            // htmx follows a redirect inside the swapped fragment; tell it to load the
            // login page as a whole page instead.
            Ok(None) if parts.headers.contains_key("hx-request") => {
                Err(([("hx-redirect", "/login")], StatusCode::UNAUTHORIZED).into_response())
            }
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(status) => Err(status.into_response()),
        }
    }
}

/// Where each role starts.
fn home_of(role: Role) -> &'static str {
    match role {
        Role::Desk | Role::Records => "/ask",
        Role::Supervisor | Role::Counsel | Role::Auditor => "/cases",
        Role::Admin => "/admin",
    }
}

pub(crate) async fn home(staff: Staff) -> Redirect {
    Redirect::to(home_of(staff.role()))
}

pub(crate) async fn login_page(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let lang = cookie_lang(&headers);
    let title = web.texts.get(lang, "login-title");
    let body = views::login(&web.texts, lang, "", web.state.oidc.is_some());
    respond(&web, &headers, None, lang, &title, body, StatusCode::OK)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub(crate) async fn login_post(
    State(web): State<Arc<Web>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = cookie_lang(&headers);
    match open_session(&web.state, &form.username, form.password, peer.ip()).await {
        Ok(opened) => {
            let mut response = Redirect::to(home_of(opened.account.role)).into_response();
            response.headers_mut().extend(opened.cookies);
            response
        }
        Err(e) => {
            let title = web.texts.get(lang, "login-title");
            let status = e.status_code();
            let message = match e {
                ApiError::BadCredentials => web.texts.get(lang, "login-failed"),
                other => other.to_string(),
            };
            let body = views::login(&web.texts, lang, &message, web.state.oidc.is_some());
            respond(&web, &headers, None, lang, &title, body, status)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn logout(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(page) = crate::check_csrf(&web, &headers, &staff, &form.csrf) {
        return page;
    }
    let Credential::Session(hash) = &staff.caller.credential else {
        return Redirect::to("/login").into_response();
    };
    match close_session(&web.state, hash).await {
        Ok(cookies) => (cookies, Redirect::to("/login")).into_response(),
        Err(e) => e.status_code().into_response(),
    }
}

/// Switches the language: a cookie (before login) and, when logged in, the account's
/// remembered choice.
pub(crate) async fn set_lang(
    State(web): State<Arc<Web>>,
    Path(code): Path<String>,
    parts: Parts,
) -> Response {
    let lang = Lang::parse(Some(&code));
    if let Ok(Some(staff)) = staff_of(&web, &parts).await {
        let key = lang_key(staff.caller.account.id);
        if let Err(e) = web
            .state
            .store
            .put_setting(&key, lang.tag(), citygate_server::now())
            .await
        {
            tracing::error!(error = %e, "cannot save the language choice");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    let cookie = format!(
        "lang={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
        lang.tag()
    );
    // Back to the page the switch was on, if it was one of ours.
    let back = parts
        .headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_owned()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".to_owned());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}
