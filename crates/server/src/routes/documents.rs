//! Documents presented with a case: uploaded (raw body or multipart), read by
//! `citygate-reader` off the async threads, logged to the ledger first (log before act),
//! then stored with their bytes sealed by the vault. Reading them back is recorded in the
//! access log before the bytes are sent.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::multipart::Field;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use citygate_ledger::EventKind;
use citygate_reader::{FileReading, Limits, Packet, ReadError};
use citygate_store::{AccessEntry, CaseEvent, DocumentRecord, Role};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy::{self, Visibility};
use crate::routes::cases::{
    event_context, ledger_event, load, log_first, seal_json, stored_ledger_provision,
};
use crate::state::AppState;

/// Largest document accepted, in bytes.
pub const DOCUMENT_LIMIT: usize = 20 * 1024 * 1024;
/// Room for multipart framing around a document of [`DOCUMENT_LIMIT`] bytes.
pub const MULTIPART_SLACK: usize = 64 * 1024;
/// Documents read at once; more wait (OCR takes a core each).
const READERS: usize = 2;
/// How long an upload waits for a reader before it is told to come back.
const QUEUE_WAIT: Duration = Duration::from_secs(30);
/// Longest one external program (pdftotext, pdftoppm, tesseract) may run.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// Backstop over a whole reading (the reader's own per-program timeouts come first).
const READ_TIMEOUT: Duration = Duration::from_secs(180);

/// The documents routes, with their own body limit (larger than the JSON one).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases/{id}/documents", get(list).post(upload))
        .route("/api/v1/cases/{id}/documents/{n}", get(content))
        .layer(DefaultBodyLimit::max(DOCUMENT_LIMIT + MULTIPART_SLACK))
}

/// Reads uploaded documents: a private scratch directory (the reader's programs need a
/// file) and a bound on concurrent readings.
pub struct DocumentReader {
    scratch: PathBuf,
    permits: Semaphore,
    limits: Limits,
}

impl DocumentReader {
    /// Scratch files go in `scratch` (created 0700 on first use, each file removed once read).
    pub fn new(scratch: PathBuf) -> Self {
        let limits = Limits {
            max_file_bytes: DOCUMENT_LIMIT as u64,
            tool_timeout: TOOL_TIMEOUT,
            // The reader's default language ("eng"), as `citygate read`: a deployment
            // without Spanish data would otherwise fail every photo.
            ..Limits::default()
        };
        DocumentReader {
            scratch,
            permits: Semaphore::new(READERS),
            limits,
        }
    }

    /// Reads `bytes` on a blocking thread, at most [`READERS`] at a time, bounded in time;
    /// also their SHA-256 (hex), which costs too much for an async thread on 20 MiB.
    async fn read(self: &Arc<Self>, bytes: Bytes) -> Result<(FileReading, String), ApiError> {
        let permit = tokio::time::timeout(QUEUE_WAIT, self.permits.acquire())
            .await
            .map_err(|_| ApiError::RateLimited(QUEUE_WAIT.as_secs()))?
            .map_err(|_| ApiError::Internal)?;
        let me = self.clone();
        let task = tokio::task::spawn_blocking(move || {
            let reading = me.read_blocking(&bytes)?;
            Ok((reading, crate::hex(&Sha256::digest(&bytes))))
        });
        let reading = tokio::time::timeout(READ_TIMEOUT, task).await;
        drop(permit);
        match reading {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ApiError::Internal),
            Err(_) => Err(ApiError::Unprocessable(format!(
                "the document could not be read within {} s; send a smaller or clearer file",
                READ_TIMEOUT.as_secs()
            ))),
        }
    }

    fn read_blocking(&self, bytes: &[u8]) -> Result<FileReading, ApiError> {
        let file = self.scratch_file(bytes).map_err(|e| {
            tracing::error!(error = %e, "cannot write a document to the scratch directory");
            ApiError::Internal
        })?;
        let (format, pages) = citygate_reader::source::extract_pages(file.path(), &self.limits)
            .map_err(read_error)?;
        drop(file);
        if pages
            .iter()
            .all(|(text, _)| !text.chars().any(char::is_alphanumeric))
        {
            return Err(read_error(ReadError::NoText {
                file: PathBuf::new(),
            }));
        }
        // The reader names documents by file; the scratch name means nothing to anyone.
        Ok(FileReading::from_pages("document", format, pages))
    }

    /// The private scratch directory (created 0700 if missing), for other work on
    /// residents' files that needs them on disk for a moment (releases).
    pub fn scratch(&self) -> std::io::Result<&FsPath> {
        create_private_dir(&self.scratch)?;
        Ok(&self.scratch)
    }

    fn scratch_file(&self, bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
        create_private_dir(&self.scratch)?;
        let mut file = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(&self.scratch)?;
        std::io::Write::write_all(&mut file, bytes)?;
        Ok(file)
    }
}

fn create_private_dir(dir: &FsPath) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The reader's refusal as an API error: what to send instead, never the content or the
/// scratch file's name.
fn read_error(e: ReadError) -> ApiError {
    match e {
        ReadError::Empty { .. } => ApiError::field("body", "the document is empty"),
        ReadError::TooLarge { .. } => ApiError::TooLarge(DOCUMENT_LIMIT),
        ReadError::Unsupported { what, .. } => ApiError::Unsupported(format!(
            "not a readable document ({what}); send a PDF, PNG, JPEG, TIFF or text file"
        )),
        ReadError::Encrypted { .. } => ApiError::Unprocessable(
            "the PDF is encrypted with a password; send an unprotected copy or a photo of the paper"
                .into(),
        ),
        ReadError::TooManyPages { pages, limit, .. } => ApiError::Unprocessable(format!(
            "the PDF has {pages} pages, over the limit of {limit}; split it"
        )),
        ReadError::TooManyPixels { limit, .. } => ApiError::Unprocessable(format!(
            "the image is over the limit of {limit} pixels; send a smaller photo"
        )),
        ReadError::Corrupt { what, .. } => {
            ApiError::Unprocessable(format!("damaged or truncated {what}"))
        }
        ReadError::NoText { .. } => ApiError::Unprocessable(
            "no text found (blank page, or the image is too unclear to read); take a sharper photo"
                .into(),
        ),
        ReadError::Timeout { seconds, .. } => ApiError::Unprocessable(format!(
            "reading the document took longer than {seconds} s; send a smaller or clearer file"
        )),
        ReadError::ToolFailed { .. } => ApiError::Unprocessable(
            "the document could not be read (damaged or unusual file); send another copy".into(),
        ),
        other => {
            // The server's fault (a missing program or language): the log says which.
            tracing::error!(error = %other, "the document reader is not usable");
            ApiError::Internal
        }
    }
}

/// A document of a case, without personal data: what it is, not what it says.
#[derive(Serialize, ToSchema)]
pub struct DocumentInfo {
    /// 1, 2, ... within the case.
    pub n: i64,
    /// The ledger index of the upload (logged before the document was stored).
    pub ledger_index: i64,
    /// Account id of who uploaded it.
    pub uploaded_by: i64,
    /// UNIX seconds.
    pub at: i64,
    /// Bytes.
    pub size: i64,
    /// text, pdf, png, jpeg or tiff (from the bytes, never the name).
    pub format: String,
    /// The document kind the reader found (engine vocabulary), if any.
    pub kind: Option<String>,
    /// low, medium or high.
    pub confidence: String,
    /// The reader is unsure: the engine must refer.
    pub uncertain: bool,
    /// When its bytes were destroyed under a retention rule (what it was stays).
    pub purged_at: Option<i64>,
}

impl From<DocumentRecord> for DocumentInfo {
    fn from(d: DocumentRecord) -> Self {
        DocumentInfo {
            n: d.n,
            ledger_index: d.ledger_index,
            uploaded_by: d.uploaded_by,
            at: d.at,
            size: d.size,
            format: d.format,
            kind: d.kind,
            confidence: d.confidence,
            uncertain: d.uncertain,
            purged_at: d.purged_at,
        }
    }
}

/// An uploaded document and the reader's reading of it.
#[derive(Serialize, ToSchema)]
pub struct UploadedDocument {
    /// The stored document.
    pub document: DocumentInfo,
    /// What to tell the engine (`documents` of a request), empty if nothing was recognised.
    #[schema(value_type = Vec<Object>)]
    pub documents: Vec<serde_json::Value>,
    /// The reader's reading: kind, candidates, reasons, particulars and the quoted markers
    /// (personal data; kept sealed in the case's `document` event).
    #[schema(value_type = Object)]
    pub reading: serde_json::Value,
}

/// The sealed details of a `document` event.
#[derive(Serialize)]
struct DocumentDetails<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    filename: Option<&'a str>,
    reading: &'a serde_json::Value,
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// The document's bytes and, from multipart, its file name.
pub(crate) async fn body_bytes(
    state: &AppState,
    request: Request,
) -> Result<(Bytes, Option<String>), ApiError> {
    let (bytes, name, _) = body_parts(state, request, None).await?;
    Ok((bytes, name))
}

/// The bytes of one multipart part, refused past [`DOCUMENT_LIMIT`] without reading the rest
/// (the staff pages read their forms' files with it too, so both take the same files).
pub async fn field_bytes(field: &mut Field<'_>) -> Result<Bytes, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|_| ApiError::TooLarge(DOCUMENT_LIMIT))?
    {
        if bytes.len() + chunk.len() > DOCUMENT_LIMIT {
            return Err(ApiError::TooLarge(DOCUMENT_LIMIT));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(bytes))
}

/// [`body_bytes`], and from a multipart body the part named `extra` too, if there is one
/// (in any order; at most [`DOCUMENT_LIMIT`] bytes each, and the whole body within the
/// route's limit).
pub(crate) async fn body_parts(
    state: &AppState,
    request: Request,
    extra: Option<&str>,
) -> Result<(Bytes, Option<String>, Option<Bytes>), ApiError> {
    if request.headers().get(header::CONTENT_TYPE).is_none() {
        return Err(ApiError::Unsupported(
            "send the document as the body with its Content-Type (e.g. application/pdf, image/jpeg, text/plain), or as multipart/form-data with a `file` part".into(),
        ));
    }
    if !is_multipart(request.headers()) {
        let bytes = axum::body::to_bytes(request.into_body(), DOCUMENT_LIMIT)
            .await
            .map_err(|_| ApiError::TooLarge(DOCUMENT_LIMIT))?;
        return Ok((bytes, None, None));
    }
    let bad = |m: &str| ApiError::field("file", m.to_owned());
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|_| bad("malformed multipart/form-data body"))?;
    let mut file: Option<(Bytes, Option<String>)> = None;
    let mut other: Option<Bytes> = None;
    while file.is_none() || (extra.is_some() && other.is_none()) {
        let Some(mut field) = form
            .next_field()
            .await
            .map_err(|_| bad("malformed multipart/form-data body"))?
        else {
            break;
        };
        let is_file = field.name() == Some("file") && file.is_none();
        let is_extra = extra.is_some() && field.name() == extra && other.is_none();
        if !is_file && !is_extra {
            continue;
        }
        // Only the last path component, bounded: browsers may send a full path.
        let filename = field.file_name().map(|f| {
            let base = f.rsplit(['/', '\\']).next().unwrap_or_default();
            base.chars().take(200).collect::<String>()
        });
        let bytes = field_bytes(&mut field).await?;
        if is_file {
            file = Some((bytes, filename.filter(|f| !f.is_empty())));
        } else {
            other = Some(bytes);
        }
    }
    let (bytes, filename) = file.ok_or_else(|| bad("send the document in a part named `file`"))?;
    Ok((bytes, filename, other))
}

pub(crate) fn document_context(case_id: &str, ledger_index: i64) -> String {
    format!("case/{case_id}/document/{ledger_index}")
}

/// Uploads a document to a case: the reader says what it is, the upload is logged to the
/// ledger, then the document is stored sealed. Raw body with its content type, or
/// multipart/form-data with a `file` part; at most 20 MiB.
#[utoipa::path(post, path = "/api/v1/cases/{id}/documents", tag = "documents",
    params(("id" = String, Path, description = "case id")),
    request_body(description = "the document: PDF, PNG, JPEG, TIFF or text (its type is read from its bytes)",
        content(("application/pdf"), ("image/png"), ("image/jpeg"), ("image/tiff"), ("text/plain"),
                ("application/octet-stream"))),
    responses((status = 201, body = UploadedDocument),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> Result<(StatusCode, axum::Json<UploadedDocument>), ApiError> {
    caller.require(&[Role::Desk, Role::Records])?;
    let (case, _) = load(&state, &caller, &id).await?;
    if !policy::may_act(&caller.account, &case) {
        return Err(ApiError::NotFound("no such case, or not one you may see"));
    }
    if case.retention.details_purged_at.is_some() {
        return Err(crate::routes::cases::purged(&case));
    }
    if case.retention.documents_purged_at.is_some() {
        return Err(ApiError::Conflict(
            "this case's documents were destroyed under its retention rules; it takes no new ones"
                .into(),
        ));
    }
    let (bytes, filename) = body_bytes(&state, request).await?;
    if bytes.is_empty() {
        return Err(ApiError::field("body", "the document is empty"));
    }
    let (file, sha256) = state.documents.read(bytes.clone()).await?;
    let packet = Packet::from_files(vec![file]);
    let file = &packet.files[0];
    let reading = &file.reading;
    let documents: Vec<serde_json::Value> = packet
        .sources()
        .into_iter()
        .filter_map(|s| serde_json::to_value(s.document).ok())
        .collect();
    let size = i64::try_from(bytes.len()).map_err(|_| ApiError::Internal)?;
    let kind = reading.kind.map(|k| code(&k));
    let confidence = code(&reading.confidence);
    let format = code(&file.format);
    let mut families: Vec<String> = reading.evidence.iter().map(|e| code(&e.family)).collect();
    families.sort();
    families.dedup();
    // Log first: ids and codes only (the digest lets an auditor match the stored bytes).
    let mut event = ledger_event(
        EventKind::RequestReceived,
        &stored_ledger_provision(&case.answer_json)?,
        &case.id,
        "document",
        caller.account.id,
    );
    if let Some(details) = event.details.as_mut() {
        details["document_kind"] = kind.clone().into();
        details["candidates"] = reading
            .candidates
            .iter()
            .map(code)
            .collect::<Vec<_>>()
            .into();
        details["uncertain"] = reading.uncertain.into();
        details["confidence"] = confidence.clone().into();
        details["format"] = format.clone().into();
        details["pages"] = file.pages.len().into();
        details["markers"] = families.into();
        details["form_number"] = reading.fields.form_number.clone().into();
        details["size"] = size.into();
        details["sha256"] = sha256.into();
    }
    let ledger_index = log_first(&state, event).await?;
    let reading_json = serde_json::to_value(reading).map_err(|_| ApiError::Internal)?;
    let personal = seal_json(
        &state,
        &event_context(&case.id, ledger_index),
        &DocumentDetails {
            filename: filename.as_deref(),
            reading: &reading_json,
        },
    )?;
    let vault = state.vault.clone();
    let context = document_context(&case.id, ledger_index);
    let sealed = tokio::task::spawn_blocking(move || vault.seal(&context, &bytes))
        .await
        .map_err(|_| ApiError::Internal)?;
    let now = crate::now();
    let record = DocumentRecord {
        case_id: case.id.clone(),
        n: 0,
        ledger_index,
        uploaded_by: caller.account.id,
        at: now,
        size,
        format,
        kind,
        confidence,
        uncertain: reading.uncertain,
        purged_at: None,
    };
    let event = CaseEvent {
        case_id: case.id.clone(),
        seq: 0,
        kind: "document".into(),
        ledger_index,
        actor: caller.account.id,
        at: now,
        personal: Some(personal),
    };
    let stored = state
        .store
        .add_document(&record, &sealed, &event)
        .await?
        .ok_or(ApiError::NotFound("no such case, or not one you may see"))?;
    tracing::info!(event = "document_added", case = %stored.case_id, n = stored.n, ledger_index,
        kind = stored.kind.as_deref().unwrap_or("unrecognised"), actor = caller.account.id, "document added");
    Ok((
        StatusCode::CREATED,
        axum::Json(UploadedDocument {
            document: stored.into(),
            documents,
            reading: reading_json,
        }),
    ))
}

/// The snake_case wire name of a reader or engine enum.
fn code<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The documents of a case: what each is, without its content (no personal data).
#[utoipa::path(get, path = "/api/v1/cases/{id}/documents", tag = "documents",
    params(("id" = String, Path, description = "case id")),
    responses((status = 200, body = [DocumentInfo]), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<DocumentInfo>>, ApiError> {
    if caller.account.role == Role::Admin {
        return Err(ApiError::Forbidden("your role does not see cases"));
    }
    let (case, _) = load(&state, &caller, &id).await?;
    let documents = state.store.case_documents(&case.id).await?;
    Ok(axum::Json(documents.into_iter().map(Into::into).collect()))
}

/// Document `n` of a case, as uploaded, for those who may see the case's personal data;
/// the read is recorded in the access log before the bytes are sent.
#[utoipa::path(get, path = "/api/v1/cases/{id}/documents/{n}", tag = "documents",
    params(("id" = String, Path, description = "case id"), ("n" = i64, Path, description = "document number, from 1")),
    responses((status = 200, description = "the document's bytes, with its type",
                 content(("application/pdf"), ("image/png"), ("image/jpeg"), ("image/tiff"), ("text/plain"))),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 410, body = crate::error::ErrorBody)))]
pub async fn content(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    if caller.account.role == Role::Admin {
        return Err(ApiError::Forbidden("your role does not see cases"));
    }
    let (case, visibility) = load(&state, &caller, &id).await?;
    if visibility != Visibility::Full {
        return Err(ApiError::Forbidden(
            "your role does not see residents' documents",
        ));
    }
    let missing = || ApiError::NotFound("no such document in this case");
    let n: i64 = n.parse().ok().filter(|n| *n >= 1).ok_or_else(missing)?;
    let (document, sealed) = state
        .store
        .document_content(&case.id, n)
        .await?
        .ok_or_else(missing)?;
    if let Some(at) = document.purged_at {
        return Err(ApiError::Gone(format!(
            "document {n} was destroyed under the case's retention rules on {}; what it was is still listed",
            chrono::DateTime::from_timestamp(at, 0).map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string())
        )));
    }
    // Recorded before the data leaves: a read that cannot be logged does not happen.
    let entry = AccessEntry {
        id: 0,
        account_id: caller.account.id,
        case_id: case.id.clone(),
        at: crate::now(),
        what: format!("document {n}"),
    };
    state.store.record_access(&entry).await?;
    let vault = state.vault.clone();
    let context = document_context(&case.id, document.ledger_index);
    let plain = tokio::task::spawn_blocking(move || vault.open(&context, &sealed))
        .await
        .map_err(|_| ApiError::Internal)?
        .map_err(|e| {
            tracing::error!(error = %e, "cannot open a sealed document");
            ApiError::Internal
        })?;
    let content_type = match document.format.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpeg" => "image/jpeg",
        "tiff" => "image/tiff",
        _ => "text/plain",
    };
    // An attachment, never rendered in the page, and not cached anywhere on the way.
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"document-{n}.{}\"", document.format),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        plain,
    ))
}
