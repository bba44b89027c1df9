//! Routes anyone may call: health, the OpenAPI document, and the stateless decision.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use citygate_engine::vocab::Request;
use utoipa::OpenApi as _;

use crate::body::Json;
use crate::error::ApiError;
use crate::state::AppState;

/// Health: the process answers and the store is reachable.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "healthy"), (status = 503, description = "store unreachable")))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "store unreachable"})),
            )
        }
    }
}

/// The OpenAPI document.
pub async fn openapi() -> impl IntoResponse {
    static DOC: OnceLock<String> = OnceLock::new();
    let doc = DOC.get_or_init(|| {
        crate::routes::ApiDoc::openapi()
            .to_json()
            .unwrap_or_default()
    });
    ([(header::CONTENT_TYPE, "application/json")], doc.as_str())
}

/// Parses an engine request given as JSON text, naming bad fields under `prefix`.
pub fn engine_request(json: &str, prefix: &str) -> Result<Request, ApiError> {
    Request::from_json(json).map_err(|e| {
        let path = crate::error::safe_path(&e.field, &e.message);
        let field = if prefix.is_empty() {
            path
        } else {
            format!("{prefix}.{path}")
        };
        // Scrubbed again here: the engine's message for an unknown key names the key.
        ApiError::BadRequest {
            message: format!("field `{field}`: {}", crate::error::scrub(&e.message)),
            field: Some(field),
        }
    })
}

/// The engine's answer for a request, as given. Stateless: nothing is stored and no
/// authentication is needed (the request holds facts, not names; names are not used).
#[utoipa::path(post, path = "/api/v1/decide", tag = "decide",
    request_body(content = Object, description = "The engine request (see README: jurisdiction, act, requester, documents, ...)"),
    responses((status = 200, description = "The answer: outcome, basis, deciding provisions, citations, actions", body = Object),
              (status = 400, description = "A field is wrong; the message names it and the allowed values", body = crate::error::ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    // Checked as JSON here, then parsed once, straight into the engine's request.
    Json(body): Json<Box<serde_json::value::RawValue>>,
) -> Result<Response, ApiError> {
    let request = engine_request(body.get(), "")?;
    let today = chrono::Local::now().date_naive();
    let answer = state
        .rules
        .decide(&request, today)
        .map_err(|e| ApiError::field("date", e.to_string()))?;
    Ok(axum::Json(&answer).into_response())
}
