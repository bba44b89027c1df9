//! citygate-web: the staff web app, on top of the service (`citygate-server`).
//! Server-rendered pages (askama) with htmx: log in; "someone is asking" (who asks,
//! for what, with what paper or a photo of it read by `citygate-reader`, then only
//! the engine's questions, then the answer, recorded as a case); cases with their
//! timelines and ledger receipts, supervisor sign-off and counsel resolution;
//! letters; administration (accounts, agency settings, rule packs, ledger, access
//! log). Text in English and Spanish through Fluent, remembered per account.
//!
//! Invariants: the app decides nothing and changes nothing itself: every answer is
//! the engine's, and every case step goes through the service's own handlers (so
//! the same role checks, log-before-act and access recording apply as in the API);
//! every form that changes state carries the session's CSRF token; no personal data
//! is logged; pages work without JavaScript (htmx only swaps the same HTML in place).

// Handlers' helpers return the page to answer with as their error: one `Response` per
// request, built once, so its size does not matter.
#![allow(clippy::result_large_err)]

mod admin;
mod ask;
mod cases;
pub mod choices;
mod downloads;
pub mod i18n;
mod letters;
mod releases;
mod session;
mod settings;
mod views;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use citygate_server::error::ApiError;
use citygate_server::state::AppState;

pub use ask::Form;
pub use settings::Settings;
pub use views::headline_key;

use crate::i18n::{Lang, Texts};
use crate::session::Staff;

/// Largest file accepted in a form (a phone photo, a scanned PDF, a record to release): the
/// API's own limit, so a file the API takes is never refused by a page.
pub const MAX_UPLOAD: usize = citygate_server::routes::documents::DOCUMENT_LIMIT;

/// Room in a form body besides its file: multipart framing, the CSRF token, and on the
/// release page up to [`releases::MAX_CANDIDATES`] review lines and their decisions.
const FORM_SLACK: usize = 1024 * 1024;

/// What the pages share: the service's state and the interface texts.
pub struct Web {
    state: AppState,
    texts: Texts,
    /// Released files waiting for their officer to download them.
    downloads: downloads::Downloads,
}

/// The staff pages over the service's state, to serve beside the API
/// (`citygate_server::Server::with_pages`).
pub fn pages(state: AppState) -> Router {
    let web = Arc::new(Web {
        state,
        texts: Texts::default(),
        downloads: downloads::Downloads::default(),
    });
    Router::new()
        .route("/", get(session::home))
        .route("/login", get(session::login_page).post(session::login_post))
        .route("/logout", post(session::logout))
        .route("/lang/{code}", get(session::set_lang))
        .route("/ask", get(ask::ask_page).post(ask::ask_post))
        .route("/letter", post(ask::letter_post))
        .route("/cases", get(cases::list).post(cases::open))
        .route("/cases/{id}", get(cases::show))
        .route("/cases/{id}/signoff", post(cases::sign_off))
        .route("/cases/{id}/resolution", post(cases::resolve))
        .route("/cases/{id}/action", post(cases::act))
        .route("/cases/{id}/disclosures", post(cases::disclose))
        .route("/cases/{id}/letter", get(cases::letter))
        .route("/cases/{id}/releases", post(releases::release))
        .route("/releases/{token}", get(releases::download))
        .route("/admin", get(admin::accounts))
        .route("/admin/accounts", post(admin::create_account))
        .route("/admin/accounts/{id}", post(admin::update_account))
        .route("/admin/grants", post(admin::grant))
        .route(
            "/admin/settings",
            get(admin::settings_page).post(admin::settings_post),
        )
        .route("/admin/rules", get(admin::rules))
        .route(
            "/admin/letters",
            get(letters::templates_page).post(letters::templates_post),
        )
        .route("/admin/letters/preview", get(letters::preview))
        .route(
            "/admin/ledger",
            get(admin::ledger).post(admin::verify_receipt),
        )
        .route("/admin/access-log", get(admin::access_log))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/app.css", get(css))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD + FORM_SLACK))
        .with_state(web)
}

async fn htmx() -> Response {
    static_asset("text/javascript", include_str!("../static/htmx.min.js"))
}

async fn css() -> Response {
    static_asset("text/css", include_str!("../static/app.css"))
}

fn static_asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A full page (with the header for `staff`, if logged in), or only the fragment
/// when htmx asks for it.
fn respond(
    web: &Web,
    headers: &HeaderMap,
    staff: Option<&Staff>,
    lang: Lang,
    title: &str,
    body: askama::Result<String>,
    status: StatusCode,
) -> Response {
    let Ok(body) = body else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if headers.contains_key("hx-request") {
        return (status, Html(body)).into_response();
    }
    match views::page(&web.texts, lang, staff, title, body) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A logged-in page titled by the interface text `title_key`.
fn staff_page(
    web: &Web,
    headers: &HeaderMap,
    staff: &Staff,
    title_key: &str,
    body: askama::Result<String>,
    status: StatusCode,
) -> Response {
    let title = web.texts.get(staff.lang, title_key);
    respond(web, headers, Some(staff), staff.lang, &title, body, status)
}

/// Refuses a posted form that does not carry the session's CSRF token (checked before
/// anything else in the form is looked at).
fn check_csrf(web: &Web, headers: &HeaderMap, staff: &Staff, sent: &str) -> Result<(), Response> {
    if staff.csrf_ok(sent) {
        return Ok(());
    }
    let title = web.texts.get(staff.lang, "error-title");
    let msg = web.texts.get(staff.lang, "csrf-failed");
    let body = views::message(&web.texts, staff.lang, &title, &msg);
    Err(respond(
        web,
        headers,
        Some(staff),
        staff.lang,
        &title,
        body,
        StatusCode::FORBIDDEN,
    ))
}

/// The service refused or failed: its message (never personal data) on a page, with
/// the service's status code.
fn service_error(web: &Web, headers: &HeaderMap, staff: &Staff, error: ApiError) -> Response {
    let status = error.status_code();
    let title = web.texts.get(staff.lang, "error-title");
    // The API names a bad field beside its message; a page says both in one line.
    let message = match &error {
        ApiError::BadRequest {
            field: Some(field),
            message,
        } if !message.contains(field.as_str()) => format!("{field}: {message}"),
        other => other.to_string(),
    };
    let body = views::message(&web.texts, staff.lang, &title, &message);
    respond(web, headers, Some(staff), staff.lang, &title, body, status)
}
