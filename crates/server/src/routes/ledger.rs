//! The ledger's public read side, for anyone (no authentication, no personal data): the
//! log's verifier key, a signed checkpoint of the current tree, and offline receipts
//! (C2SP tlog-proof: the public leaf, its inclusion proof and the checkpoint) for an entry.

use std::sync::Mutex;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use citygate_ledger::checkpoint::LogKey;
use citygate_ledger::receipt::Receipt;
use citygate_ledger::Ledger;

use crate::error::ApiError;
use crate::state::AppState;

/// The log's signing key and the last checkpoint this instance signed.
pub struct Publisher {
    key: LogKey,
    last: Mutex<Option<(u64, Vec<u8>)>>,
}

impl Publisher {
    /// Publishes with `key`.
    pub fn new(key: LogKey) -> Self {
        Publisher {
            key,
            last: Mutex::new(None),
        }
    }

    /// The verifier key (`<origin>+<id>+<base64>`).
    pub fn verifier_key(&self) -> &str {
        self.key.verifier_key()
    }

    /// A signed checkpoint of the current tree (signed once per size, and stored).
    fn checkpoint(&self, ledger: &Ledger) -> Result<(u64, Vec<u8>), ApiError> {
        // Other instances may have appended: look at the store first.
        ledger.refresh()?;
        let (size, root) = ledger.head();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((s, note)) = last.as_ref() {
            if *s == size {
                return Ok((size, note.clone()));
            }
        }
        let note = self.key.sign_checkpoint(size, &root).map_err(|e| {
            tracing::error!(error = %e, "cannot sign a checkpoint");
            ApiError::Internal
        })?;
        ledger.put_checkpoint(size, &note)?;
        *last = Some((size, note.clone()));
        Ok((size, note))
    }
}

fn text(body: Vec<u8>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::Internal)?
}

/// The log's verifier key, to check checkpoints and receipts with.
#[utoipa::path(get, path = "/api/v1/ledger/key", tag = "ledger",
    responses((status = 200, description = "verifier key, text", content_type = "text/plain")))]
pub async fn key(State(state): State<AppState>) -> impl IntoResponse {
    text(format!("{}\n", state.publisher.verifier_key()).into_bytes())
}

/// A signed checkpoint (C2SP signed note) of the ledger as it is now.
#[utoipa::path(get, path = "/api/v1/ledger/checkpoint", tag = "ledger",
    responses((status = 200, description = "signed checkpoint, text", content_type = "text/plain")))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let (ledger, publisher) = (state.ledger.clone(), state.publisher.clone());
    let (_, note) = blocking(move || publisher.checkpoint(&ledger)).await?;
    Ok(text(note))
}

/// An offline receipt for entry `index`: verifiable with the key alone, no server needed.
#[utoipa::path(get, path = "/api/v1/ledger/receipts/{index}", tag = "ledger",
    params(("index" = u64, Path, description = "ledger index, as shown in a case's events")),
    responses((status = 200, description = "C2SP tlog-proof receipt, text", content_type = "text/plain"),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn receipt(
    State(state): State<AppState>,
    Path(index): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let missing = ApiError::NotFound("no ledger entry with that index");
    let index: u64 = index
        .parse()
        .map_err(|_| ApiError::NotFound("no ledger entry with that index"))?;
    let (ledger, publisher) = (state.ledger.clone(), state.publisher.clone());
    let receipt = blocking(move || {
        let (size, note) = publisher.checkpoint(&ledger)?;
        if index >= size {
            return Err(missing);
        }
        let leaf = ledger
            .leaves(index, index + 1)?
            .pop()
            .ok_or(ApiError::Internal)?;
        let proof = ledger.inclusion_proof(index, size)?;
        Ok(Receipt {
            leaf,
            index,
            proof,
            checkpoint: note,
        })
    })
    .await?;
    Ok(text(receipt.encode()))
}
