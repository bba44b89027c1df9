//! API errors: a status, a machine-readable code, and a message that names the field and
//! what is allowed. Messages never carry the caller's values (they may be personal data).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `bad_request`, `forbidden`.
    pub error: &'static str,
    /// What went wrong and what to do.
    pub message: String,
    /// The offending field, when one is to blame (e.g. `request.act`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed input.
    #[error("{message}")]
    BadRequest {
        /// The offending field.
        field: Option<String>,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// No valid session or token.
    #[error("log in first (session cookie or `Authorization: Bearer` token)")]
    Unauthenticated,
    /// Wrong username or password.
    #[error("wrong username or password")]
    BadCredentials,
    /// Authenticated but not allowed.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such thing (or not visible to the caller).
    #[error("{0}")]
    NotFound(&'static str),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed attempts.
    #[error("too many failed logins; try again in {0} seconds")]
    Throttled(u64),
    /// The body is larger than allowed.
    #[error("the request body is too large (limit {0} bytes)")]
    TooLarge(usize),
    /// The body is not JSON.
    #[error("send the body as JSON with `Content-Type: application/json`")]
    NotJson,
    /// A fault on our side; details are in the server log, not in the response.
    #[error("internal error; the server log has the details")]
    Internal,
    /// Too many requests from this address or account (or too many documents being read).
    #[error("too many requests; try again in {0} seconds")]
    RateLimited(u64),
    /// The body is of a type this route does not take (the message says which it takes).
    #[error("{0}")]
    Unsupported(String),
    /// The body is well-formed but cannot be used (an unreadable document).
    #[error("{0}")]
    Unprocessable(String),
    /// It existed and was destroyed under a retention rule (the message names the rule).
    #[error("{0}")]
    Gone(String),
}

impl ApiError {
    /// A bad-request error naming `field`.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// The HTTP status this error is answered with (the staff pages use it too).
    pub fn status_code(&self) -> StatusCode {
        self.status().0
    }

    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::NotJson => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_json"),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Unsupported(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported"),
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            ApiError::Gone(_) => (StatusCode::GONE, "gone"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status();
        let field = match &self {
            ApiError::BadRequest { field, .. } => field.clone(),
            _ => None,
        };
        let body = ErrorBody {
            error: code,
            message: self.to_string(),
            field,
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let ApiError::Throttled(secs) | ApiError::RateLimited(secs) = self {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

impl From<citygate_store::StoreError> for ApiError {
    fn from(e: citygate_store::StoreError) -> Self {
        match e {
            citygate_store::StoreError::Stale => {
                ApiError::Conflict("the case changed since it was read; read it again".into())
            }
            citygate_store::StoreError::Conflict => ApiError::Conflict("already exists".into()),
            other => {
                tracing::error!(error = %other, "store failed");
                ApiError::Internal
            }
        }
    }
}

impl From<citygate_ledger::LedgerError> for ApiError {
    fn from(e: citygate_ledger::LedgerError) -> Self {
        tracing::error!(error = %e, "ledger append failed; nothing was changed");
        ApiError::Internal
    }
}

/// Keeps the schema's words of a serde message (field names, expected values) and drops
/// quoted input values, which could be personal data: the engine's rule, without the
/// position suffix.
pub fn scrub(message: &str) -> String {
    let out = citygate_engine::vocab::withhold_values(message);
    out.split(" at line ")
        .next()
        .unwrap_or(&out)
        .trim()
        .to_owned()
}

/// The path of a bad field, safe to show (the engine's rule).
pub use citygate_engine::vocab::safe_field_path as safe_path;

#[cfg(test)]
mod tests {
    use super::{safe_path, scrub};

    #[test]
    fn unknown_keys_are_not_echoed() {
        assert_eq!(
            safe_path("requester.Jane", "unknown field `Jane`, expected `name`"),
            "requester.(unknown field)"
        );
        assert_eq!(
            safe_path("Jane", "unknown field `Jane`, expected `name`"),
            "(unknown field)"
        );
        assert_eq!(
            safe_path("requester.name", "invalid type"),
            "requester.name"
        );
    }

    #[test]
    fn scrub_drops_values_and_keeps_the_allowed_ones() {
        let m = scrub(
            "unknown variant `Jane Roe`, expected one of `phone`, `email` at line 1 column 9",
        );
        assert!(!m.contains("Jane"), "{m}");
        assert!(m.contains("`phone`"), "{m}");
        let m = scrub("invalid type: string \"Jane Roe\", expected i64");
        assert!(!m.contains("Jane"), "{m}");
    }
}
