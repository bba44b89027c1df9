//! Public-records releases: the records role sends a record to be released on a records
//! case decided `comply`; the service redacts it under a release policy
//! (`citygate-redaction`, as `citygate redact`), logs the release to the ledger (policy,
//! format, counts by kind, digests of what came in and what goes out: never a value)
//! before anything leaves, and answers with the redacted file and its redaction log.
//!
//! The record itself is never stored: it is redacted in a private scratch folder that is
//! removed before the answer is sent.
//!
//! The answer lists the uncertain candidates left unredacted (`review`, with their text: the
//! records officer's own upload). The officer decides them as with `citygate redact
//! --decisions`: the same record again, in a multipart body with a `decisions` part holding
//! those lines with `"decision": "redact"` or `"keep"` added.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, Request, State};
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use citygate_ledger::EventKind;
use citygate_redaction::policy::{DEFAULT_POLICY, SHIPPED};
use citygate_redaction::release::{
    output_name, Format, Release, LOG_FILE, SUMMARY_FILE, SUPPORTED,
};
use citygate_redaction::review::Decisions;
use citygate_redaction::{Policy, Redactor};
use citygate_store::{CaseRecord, Role};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy as access;
use crate::routes::cases::{apply_logged, load, purged, Step};
use crate::routes::documents::{body_parts, DOCUMENT_LIMIT, MULTIPART_SLACK};
use crate::state::AppState;

/// The release route, with the documents' body limit.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases/{id}/releases", post(release))
        .layer(DefaultBodyLimit::max(DOCUMENT_LIMIT + MULTIPART_SLACK))
}

/// How to release.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReleaseQuery {
    /// A shipped release policy: `foia-general` (default), `arrest-report-2-15` or
    /// `research-pseudonymous`.
    pub policy: Option<String>,
    /// The record's file name with its extension, which names its format (a multipart
    /// upload's file name is used when this is absent).
    pub name: Option<String>,
}

/// A redacted record, ready to release, with its redaction log.
#[derive(Serialize, ToSchema)]
pub struct ReleaseView {
    /// What the release did.
    #[serde(flatten)]
    pub summary: ReleaseSummary,
    /// The released file, base64.
    pub content_base64: String,
    /// The redaction log (format 2): first the file's header entry (the file, the policy,
    /// each kind's exemption, action and counsel flag, a legend of the keys), then one entry
    /// per redaction (where, what kind, which detector, confidence; never the original
    /// value), fit to attach to the response.
    #[schema(value_type = Vec<Object>)]
    pub log: Vec<serde_json::Value>,
}

/// Everything a release answers with but the file and its log.
#[derive(Serialize, ToSchema)]
pub struct ReleaseSummary {
    /// The ledger index of the release event (logged before this answer was sent).
    pub ledger_index: i64,
    /// The policy applied.
    pub policy: String,
    /// The released file's name (a PDF is released as its redacted text).
    pub file: String,
    /// The format read.
    pub format: String,
    /// Redactions by kind.
    pub redactions: BTreeMap<String, u64>,
    /// Uncertain candidates left unredacted (see `citygate redact --review`).
    pub review_candidates: u64,
    /// Those candidates, for the records officer to decide: where (`file`, `location`,
    /// `span`), `kind`, `detector`, `confidence` and the `candidate` text. Send them back with
    /// `"decision": "redact"` or `"keep"` added, in a `decisions` part beside the record.
    #[schema(value_type = Vec<Object>)]
    pub review: Vec<serde_json::Value>,
    /// Decided candidate values received in the `decisions` part (0 without one).
    pub decisions: u64,
    /// Redactions flagged for counsel (country of origin, place of birth).
    pub counsel_flags: u64,
    /// SHA-256 of the record received, hex.
    pub sha256_in: String,
    /// SHA-256 of the released file, hex.
    pub sha256_out: String,
}

/// What the redaction produced, before anything is logged or sent.
struct Redacted {
    file: String,
    format: String,
    redactions: BTreeMap<String, u64>,
    review_candidates: u64,
    review: Vec<serde_json::Value>,
    counsel_flags: u64,
    content: Vec<u8>,
    /// The redaction log as written (JSON Lines).
    log: String,
}

/// The record's file name: the last path component, printable, with a supported extension.
fn record_name(name: Option<String>) -> Result<String, ApiError> {
    let bad = |m: String| ApiError::field("name", m);
    let name = name.ok_or_else(|| {
        bad(format!(
            "give the record's file name with its extension (`?name=report.csv`); supported: {SUPPORTED}"
        ))
    })?;
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean = !base.is_empty()
        && base.len() <= 200
        && !base.starts_with('.')
        && base.chars().all(|c| !c.is_control());
    if !clean {
        return Err(bad(
            "must be a plain file name of 1 to 200 characters, not starting with `.`".into(),
        ));
    }
    if Format::of(Path::new(base)).is_none() {
        return Err(bad(format!(
            "unsupported file type; supported extensions: {SUPPORTED}"
        )));
    }
    if [LOG_FILE, SUMMARY_FILE].contains(&base) {
        return Err(bad("this name is reserved for the release log".into()));
    }
    Ok(base.to_owned())
}

fn policy(id: Option<String>) -> Result<Policy, ApiError> {
    let id = id.unwrap_or_else(|| DEFAULT_POLICY.to_owned());
    if !SHIPPED.iter().any(|(shipped, _)| *shipped == id) {
        let allowed: Vec<&str> = SHIPPED.iter().map(|(s, _)| *s).collect();
        return Err(ApiError::field(
            "policy",
            format!("unknown policy; allowed: {}", allowed.join(", ")),
        ));
    }
    Policy::shipped(&id).map_err(|e| {
        tracing::error!(error = %e, "a shipped release policy does not load");
        ApiError::Internal
    })
}

/// JSON Lines written by the redaction library, as values (they always parse).
fn json_lines(text: &str) -> Result<Vec<serde_json::Value>, ApiError> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(serde_json::from_str)
        .collect::<Result<Vec<serde_json::Value>, _>>()
        .map_err(|_| ApiError::Internal)
}

/// Redacts `bytes` as `name` in a private folder under `scratch`, removed on return.
fn redact(
    scratch: &Path,
    policy: Policy,
    decisions: Decisions,
    name: &str,
    bytes: &[u8],
) -> Result<Redacted, ApiError> {
    let internal = |what: &'static str| {
        move |e: std::io::Error| {
            tracing::error!(error = %e, what, "release scratch folder");
            ApiError::Internal
        }
    };
    let dir = tempfile::Builder::new()
        .prefix("release-")
        .tempdir_in(scratch)
        .map_err(internal("create"))?;
    // `record_name` admitted only names of a known format.
    let format = Format::of(Path::new(name)).ok_or(ApiError::Internal)?;
    let input: PathBuf = dir.path().join("in").join(name);
    let out = dir.path().join("out");
    std::fs::create_dir_all(dir.path().join("in")).map_err(internal("create"))?;
    std::fs::write(&input, bytes).map_err(internal("write"))?;
    // A pseudonym key of its own per release: linkable within it, nowhere else.
    let key = policy.needs_key().then(|| {
        let mut key = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        key
    });
    let redactor = Redactor::with_key(policy, key)
        .map_err(|e| {
            tracing::error!(error = %e, "release redactor");
            ApiError::Internal
        })?
        .with_decisions(decisions);
    // Beside the release folder, never in it: it shows candidate text.
    let review_path = dir.path().join("review.jsonl");
    let mut release = Release::create(&out, Some(&review_path), &redactor).map_err(|e| {
        tracing::error!(error = %e, "release folder");
        ApiError::Internal
    })?;
    // Format errors carry positions, never values: safe to answer with.
    let report = release
        .add(&redactor, &input, &|_| {})
        .map_err(|e| match e {
            citygate_redaction::release::ReleaseError::Format(f) => {
                ApiError::Unprocessable(format!("the record cannot be redacted: {f}"))
            }
            other => {
                tracing::error!(error = %other, "release");
                ApiError::Internal
            }
        })?
        .clone();
    release.finish().map_err(|e| {
        tracing::error!(error = %e, "release finish");
        ApiError::Internal
    })?;
    let file = output_name(name, format);
    let content = std::fs::read(out.join(&file)).map_err(internal("read"))?;
    let log_text = std::fs::read_to_string(out.join(LOG_FILE)).map_err(internal("read"))?;
    let review = json_lines(&std::fs::read_to_string(&review_path).map_err(internal("read"))?)?;
    Ok(Redacted {
        file,
        format: report.format.clone(),
        redactions: report
            .redactions
            .iter()
            .map(|(k, n)| (k.as_str().to_owned(), *n))
            .collect(),
        review_candidates: report.review_candidates,
        review,
        counsel_flags: report.counsel_flags,
        content,
        log: log_text,
    })
}

/// Redacts a record for release on a records case decided `comply` (records role).
#[utoipa::path(post, path = "/api/v1/cases/{id}/releases", tag = "releases",
    params(("id" = String, Path, description = "case id"), ReleaseQuery),
    request_body(content = Vec<u8>, description = "the record, as the body (any Content-Type) or as multipart/form-data with a `file` part and, optionally, a `decisions` part: an earlier answer's `review` lines (JSON Lines) with `\"decision\": \"redact\"` or `\"keep\"` added",
                 content_type = "application/octet-stream"),
    responses((status = 201, body = ReleaseView),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
              (status = 415, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<ReleaseQuery>,
    request: Request,
) -> Result<(axum::http::StatusCode, axum::Json<ReleaseView>), ApiError> {
    // Who may release, and on which case, is settled before the body is read.
    let case = releasable(&state, &caller, &id).await?;
    let (record, upload_name, decisions) = body_parts(&state, request, Some("decisions")).await?;
    let input = ReleaseInput {
        policy: q.policy,
        name: q.name.or(upload_name),
        record,
        decisions,
    };
    let view = release_on(&state, &caller, case, input)
        .await?
        .into_view()?;
    Ok((axum::http::StatusCode::CREATED, axum::Json(view)))
}

/// A case on which the caller may release records: records role, a case they may act on,
/// decided `comply`, not declined, its details not destroyed. Only [`releasable`] makes one.
pub struct Releasable(CaseRecord);

/// Checks that `caller` may release records on case `id` (the checks of
/// `POST /api/v1/cases/{id}/releases`, before its body is read).
pub async fn releasable(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Releasable, ApiError> {
    caller.require(&[Role::Records])?;
    let (case, _) = load(state, caller, id).await?;
    if !access::may_act(&caller.account, &case) {
        return Err(ApiError::NotFound("no such case, or not one you may see"));
    }
    if case.retention.details_purged_at.is_some() {
        return Err(purged(&case));
    }
    let decided = case.resolution.as_deref().unwrap_or(&case.outcome);
    if decided != "comply" || case.action.as_deref() == Some("declined") {
        return Err(ApiError::Conflict(format!(
            "the case was decided `{decided}`: records are released only on a case decided `comply`"
        )));
    }
    Ok(Releasable(case))
}

/// What a release is asked to do.
pub struct ReleaseInput {
    /// A shipped policy id (the default policy when `None`).
    pub policy: Option<String>,
    /// The record's file name with its extension.
    pub name: Option<String>,
    /// The record.
    pub record: Bytes,
    /// Decided review lines (JSON Lines), if any.
    pub decisions: Option<Bytes>,
}

/// A release done: the summary, with the released file's bytes and the log's text as the
/// release folder held them (the staff app offers both for download as they are).
pub struct Released {
    /// What the release did.
    pub summary: ReleaseSummary,
    /// The released file.
    pub content: Vec<u8>,
    /// The redaction log (JSON Lines: the file's header entry, then one line per redaction).
    pub log: String,
}

impl Released {
    /// The API's answer: the file in base64, the log as JSON values.
    pub fn into_view(self) -> Result<ReleaseView, ApiError> {
        Ok(ReleaseView {
            log: json_lines(&self.log)?,
            content_base64: base64::engine::general_purpose::STANDARD.encode(&self.content),
            summary: self.summary,
        })
    }
}

/// Redacts a record for release on a [`Releasable`] case, logs the release to the ledger
/// (codes, counts and digests only) and only then answers with the released file.
pub async fn release_on(
    state: &AppState,
    caller: &Caller,
    case: Releasable,
    input: ReleaseInput,
) -> Result<Released, ApiError> {
    let Releasable(case) = case;
    let policy = policy(input.policy)?;
    let policy_id = policy.id.clone();
    let bytes = input.record;
    if bytes.is_empty() {
        return Err(ApiError::field("body", "the record is empty"));
    }
    // The error names the line and the field, never a value.
    let decisions = match input.decisions {
        Some(lines) => {
            Decisions::read(&lines[..]).map_err(|e| ApiError::field("decisions", e.to_string()))?
        }
        None => Decisions::default(),
    };
    let decided = decisions.len() as u64;
    let name = record_name(input.name)?;
    let sha256_in = crate::hex(&Sha256::digest(&bytes));
    let scratch = state
        .documents
        .scratch()
        .map_err(|e| {
            tracing::error!(error = %e, "cannot create the scratch directory");
            ApiError::Internal
        })?
        .to_owned();
    let job_name = name.clone();
    let redacted =
        tokio::task::spawn_blocking(move || redact(&scratch, policy, decisions, &job_name, &bytes))
            .await
            .map_err(|_| ApiError::Internal)??;
    let sha256_out = crate::hex(&Sha256::digest(&redacted.content));
    // Logged before the redacted record leaves: codes, counts and digests only.
    let mut codes = serde_json::Map::new();
    codes.insert("policy".into(), policy_id.clone().into());
    codes.insert("format".into(), redacted.format.clone().into());
    codes.insert("redactions".into(), serde_json::json!(redacted.redactions));
    codes.insert("counsel_flags".into(), redacted.counsel_flags.into());
    codes.insert("decisions".into(), decided.into());
    codes.insert("sha256_in".into(), sha256_in.clone().into());
    codes.insert("sha256_out".into(), sha256_out.clone().into());
    let status = case.status.clone();
    let step = Step {
        kind: "release",
        ledger_kind: EventKind::RedactionApplied,
        status: &status,
        action: None,
        signed_off_by: None,
        resolution: None,
        // The file name may name a person: sealed with the case, never in the ledger.
        details: Some(serde_json::json!({ "file": name, "policy": policy_id })),
    };
    let case_id = case.id.clone();
    let axum::Json(view) = apply_logged(state, caller, case, step, codes).await?;
    let ledger_index = view
        .events
        .last()
        .map(|e| e.ledger_index)
        .ok_or(ApiError::Internal)?;
    tracing::info!(event = "records_released", case = %case_id, ledger_index, policy = %policy_id, format = %redacted.format, actor = caller.account.id, "record redacted for release");
    Ok(Released {
        summary: ReleaseSummary {
            ledger_index,
            policy: policy_id,
            file: redacted.file,
            format: redacted.format,
            redactions: redacted.redactions,
            review_candidates: redacted.review_candidates,
            review: redacted.review,
            decisions: decided,
            counsel_flags: redacted.counsel_flags,
            sha256_in,
            sha256_out,
        },
        content: redacted.content,
        log: redacted.log,
    })
}
