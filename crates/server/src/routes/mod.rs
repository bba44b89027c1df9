//! The HTTP routes and the OpenAPI document generated from them.

pub mod accounts;
pub mod cases;
pub mod documents;
pub mod grants;
pub mod ledger;
pub mod public;
pub mod releases;
pub mod session;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post};
use axum::Router;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use crate::body::BODY_LIMIT;
use crate::error::ApiError;
use crate::state::AppState;

/// The OpenAPI document of the JSON API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "citygate",
        description = "Welcoming-city compliance service. Authenticate with the session cookie from `POST /api/v1/session` (and send `X-CSRF-Token` on state changes) or with `Authorization: Bearer cgt_...`."
    ),
    paths(
        public::healthz,
        public::decide,
        session::login,
        session::logout,
        session::me,
        session::setup,
        accounts::list,
        accounts::create,
        accounts::update,
        accounts::create_token,
        cases::create,
        cases::list,
        cases::get,
        cases::sign_off,
        cases::resolve,
        cases::act,
        cases::disclose,
        cases::access_log,
        grants::create,
        documents::upload,
        documents::list,
        documents::content,
        releases::release,
    ),
    components(schemas(crate::error::ErrorBody))
)]
pub struct ApiDoc;

/// The service's router.
pub fn router(state: AppState) -> Router {
    // Spans carry the method and path only: no query strings (the set-up token) and no bodies.
    let trace = TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
        tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
    });
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/api/openapi.json", get(public::openapi))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/setup", get(session::setup_page).post(session::setup_form))
        // Browser redirects of single sign-on, outside the JSON API and its OpenAPI document.
        .route(crate::oidc::LOGIN_PATH, get(crate::oidc::login))
        .route(crate::oidc::CALLBACK_PATH, get(crate::oidc::callback))
        .route("/api/v1/decide", post(public::decide))
        .route("/api/v1/setup", post(session::setup))
        .route(
            "/api/v1/session",
            post(session::login).delete(session::logout),
        )
        .route("/api/v1/me", get(session::me))
        .route(
            "/api/v1/accounts",
            get(accounts::list).post(accounts::create),
        )
        .route("/api/v1/accounts/{id}", patch(accounts::update))
        .route("/api/v1/accounts/{id}/tokens", post(accounts::create_token))
        .route("/api/v1/cases", get(cases::list).post(cases::create))
        .route("/api/v1/cases/{id}", get(cases::get))
        .route("/api/v1/cases/{id}/signoff", post(cases::sign_off))
        .route("/api/v1/cases/{id}/resolution", post(cases::resolve))
        .route("/api/v1/cases/{id}/action", post(cases::act))
        .route("/api/v1/cases/{id}/disclosures", post(cases::disclose))
        .route("/api/v1/cases/{id}/grants", post(grants::create))
        .route("/api/v1/access-log", get(cases::access_log))
        .route("/api/v1/ledger/key", get(ledger::key))
        .route("/api/v1/ledger/checkpoint", get(ledger::checkpoint))
        .route("/api/v1/ledger/receipts/{index}", get(ledger::receipt))
        .route("/api/v1/ledger/tile/{*path}", get(ledger::tile))
        .merge(documents::routes())
        .merge(releases::routes())
        .fallback(|| async { ApiError::NotFound("no such route; see /api/openapi.json") })
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(trace)
        .with_state(state)
}
