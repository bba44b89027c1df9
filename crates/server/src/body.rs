//! A JSON body extractor whose errors name the field and never echo the value.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use crate::error::{safe_path, scrub, ApiError};

/// Largest JSON body accepted by the API.
pub const BODY_LIMIT: usize = 256 * 1024;

/// A JSON request body.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !is_json {
            return Err(ApiError::NotJson);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::TooLarge(BODY_LIMIT))?;
        parse(&bytes).map(Json)
    }
}

/// Parses JSON, reporting the path of the first bad field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        let field = if path == "." || path == "?" {
            "body".to_owned()
        } else {
            safe_path(&path, &inner)
        };
        ApiError::BadRequest {
            message: format!("field `{field}`: {}", scrub(&inner)),
            field: Some(field),
        }
    })
}
