//! Cases: open (decide and log), read (recording the access), sign off, resolve, act,
//! disclose. Every state change appends its ledger event first and stores the change only
//! once the ledger has returned the event's durable index (log before act).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use citygate_engine::vocab::RequesterKind;
use citygate_ledger::{Event, EventKind, SubmitRefused};
use citygate_store::{AccessEntry, CaseChange, CaseEvent, CaseRecord, Role};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::body::Json;
use crate::error::ApiError;
use crate::policy::{self, Visibility};
use crate::routes::public::engine_request;
use crate::state::AppState;

/// How a request reached the city.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// At a counter or door.
    InPerson,
    /// By telephone.
    Phone,
    /// By email.
    Email,
    /// By post.
    Mail,
    /// Through the public-records portal.
    RecordsPortal,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Channel::InPerson => "in_person",
            Channel::Phone => "phone",
            Channel::Email => "email",
            Channel::Mail => "mail",
            Channel::RecordsPortal => policy::RECORDS_CHANNEL,
        }
    }
}

/// Who asked (personal data: sealed at rest).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Requester {
    /// The person who asked (1 to 200 characters).
    pub name: String,
    /// Their agency or organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// How to reach them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// A request received: opens a case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// How it arrived.
    pub channel: Channel,
    /// Who asked.
    pub requester: Requester,
    /// The person the request is about, if named.
    #[serde(default)]
    pub subject_name: Option<String>,
    /// The engine request (see README).
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// Free notes (up to 10,000 characters).
    #[serde(default)]
    pub notes: Option<String>,
}

/// The personal part of a case, sealed as one value.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CasePersonal {
    /// Who asked.
    pub requester: Requester,
    /// The person the request is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_name: Option<String>,
    /// The engine request as received.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// One logged step of a case.
#[derive(Serialize, ToSchema)]
pub struct EventView {
    /// 0 for the opening.
    pub seq: i64,
    /// opened, signed_off, resolved, action, disclosure.
    pub kind: String,
    /// The ledger index of the event (logged before the step took effect).
    pub ledger_index: i64,
    /// Account id of who did it.
    pub actor: i64,
    /// UNIX seconds.
    pub at: i64,
    /// Personal details (notes, disclosure recipient), for those who may see them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// A case as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct CaseView {
    /// Case id.
    pub id: String,
    /// UNIX seconds.
    pub created_at: i64,
    /// Account id of who opened it.
    pub created_by: i64,
    /// The opener's department.
    pub department: String,
    /// How it arrived.
    pub channel: String,
    /// awaiting_counsel, awaiting_signoff, awaiting_action, closed.
    pub status: String,
    /// The engine's outcome: comply, decline or refer.
    pub outcome: String,
    /// Hash of the rule packs that answered.
    pub rules_hash: String,
    /// Whether a supervisor must sign off (every immigration-agency request, WCO 2021).
    pub requires_signoff: bool,
    /// The engine's answer, as given (as stored: passed through without being parsed).
    #[schema(value_type = Object)]
    pub answer: Box<serde_json::value::RawValue>,
    /// complied or declined, once recorded.
    pub action: Option<String>,
    /// The supervisor who signed off.
    pub signed_off_by: Option<i64>,
    /// Counsel's resolution (comply or decline) of a referred case.
    pub resolution: Option<String>,
    /// Changes must not race: the version read.
    pub version: i64,
    /// The steps, with their ledger indexes.
    pub events: Vec<EventView>,
    /// What the retention rules let the city keep, and what was destroyed.
    pub retention: RetentionView,
    /// Personal data, for those who may see it (each read is recorded); absent once
    /// destroyed under a retention rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal: Option<CasePersonal>,
}

/// A case's retention: the limits that covered it when it opened, and the purges.
#[derive(Serialize, ToSchema)]
pub struct RetentionView {
    /// The limits: rule id, what it limits (documents or details), days after close.
    #[schema(value_type = Vec<Object>)]
    pub limits: Vec<citygate_engine::Retention>,
    /// UNIX seconds the case closed (the periods run from then).
    pub closed_at: Option<i64>,
    /// UNIX seconds the next purge is due, if one is pending.
    pub next_purge_at: Option<i64>,
    /// When the documents' bytes were destroyed.
    pub documents_purged_at: Option<i64>,
    /// When the case's personal data was destroyed.
    pub details_purged_at: Option<i64>,
}

impl RetentionView {
    fn of(r: &citygate_store::CaseRetention) -> Result<Self, ApiError> {
        Ok(RetentionView {
            limits: serde_json::from_str(&r.schedule).map_err(|_| ApiError::Internal)?,
            closed_at: r.closed_at,
            next_purge_at: r.retention_due,
            documents_purged_at: r.documents_purged_at,
            details_purged_at: r.details_purged_at,
        })
    }
}

/// A case in a listing (no personal data, no events).
#[derive(Serialize, ToSchema)]
pub struct CaseSummary {
    /// Case id.
    pub id: String,
    /// UNIX seconds.
    pub created_at: i64,
    /// How it arrived.
    pub channel: String,
    /// Where it stands.
    pub status: String,
    /// The engine's outcome.
    pub outcome: String,
    /// Whether a supervisor must sign off.
    pub requires_signoff: bool,
}

/// An optional note on a step (personal data: sealed).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// Free text, up to 10,000 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// Comply or decline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Do what was asked.
    Comply,
    /// Do not.
    Decline,
}

/// Counsel's resolution of a referred case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// comply or decline.
    pub outcome: Decision,
    /// Counsel's reasons.
    #[serde(default)]
    pub note: Option<String>,
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionTaken {
    /// The request was complied with.
    Complied,
    /// The request was declined.
    Declined,
}

/// The action taken on a case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// complied or declined; must follow the answer (or counsel's resolution).
    pub action: ActionTaken,
    /// Notes.
    #[serde(default)]
    pub note: Option<String>,
}

/// A disclosure made (personal data: sealed).
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    /// What was disclosed (1 to 2,000 characters).
    pub what: String,
    /// To whom (1 to 200 characters).
    pub to: String,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Listing options.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// At most this many (1 to 500, default 100).
    pub limit: Option<i64>,
}

/// Access-log options.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AccessQuery {
    /// Only reads of this case.
    pub case: Option<String>,
    /// At most this many (1 to 1,000, default 100).
    pub limit: Option<i64>,
}

const AWAITING_COUNSEL: &str = "awaiting_counsel";
const AWAITING_SIGNOFF: &str = "awaiting_signoff";
const AWAITING_ACTION: &str = "awaiting_action";
const CLOSED: &str = "closed";
const MAX_NOTE: usize = 10_000;

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(ApiError::field(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(())
}

fn check_optional(field: &str, value: &Option<String>, max: usize) -> Result<(), ApiError> {
    value
        .as_deref()
        .map_or(Ok(()), |v| check_text(field, v, max))
}

/// 32 hex digits: the creation time in milliseconds (48 bits), then 80 random bits. Ids
/// that grow with time land at the end of the stores' id indexes, so a batch of new cases
/// rewrites one index page instead of one random page per case (with random ids the
/// service wrote 11 % more per case created on SQLite: 38 KB against 34 KB). The time adds
/// nothing a case does not already show, and 80 random bits keep ids unguessable.
fn new_case_id() -> String {
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&crate::now_millis().to_be_bytes()[2..]);
    rand::rngs::OsRng.fill_bytes(&mut bytes[6..]);
    crate::hex(&bytes)
}

pub(crate) fn is_case_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

pub(crate) fn personal_context(case_id: &str) -> String {
    format!("case/{case_id}/personal")
}

pub(crate) fn event_context(case_id: &str, ledger_index: i64) -> String {
    format!("case/{case_id}/event/{ledger_index}")
}

/// Appends `event` to the ledger and waits for its durable index. The sequencer completes
/// a future, so no thread waits for the sync; only when its queue is full does a blocking
/// thread wait for room.
pub(crate) async fn log_first(state: &AppState, event: Event) -> Result<i64, ApiError> {
    let entry = event.seal().map_err(citygate_ledger::LedgerError::from)?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    let done: citygate_ledger::AppendDone = Box::new(move |result| {
        let _ = reply.send(result);
    });
    match state.ledger.try_submit(entry, done) {
        Ok(()) => {}
        Err(SubmitRefused::Full(entry, done)) => {
            let ledger = state.ledger.clone();
            tokio::task::spawn_blocking(move || ledger.submit(entry, done))
                .await
                .map_err(|_| ApiError::Internal)??;
        }
        Err(SubmitRefused::Closed) => return Err(citygate_ledger::LedgerError::Closed.into()),
    }
    let index = answer
        .await
        .map_err(|_| ApiError::from(citygate_ledger::LedgerError::Closed))??;
    i64::try_from(index).map_err(|_| ApiError::Internal)
}

/// The ledger's private details of a case step: ids and codes only, never personal data.
pub(crate) fn ledger_event(
    kind: EventKind,
    provision: &str,
    case_id: &str,
    step: &str,
    actor: i64,
) -> Event {
    Event {
        kind,
        time: crate::now().max(0) as u64,
        provision: provision.to_owned(),
        refers_to: None,
        details: Some(serde_json::json!({ "case": case_id, "step": step, "actor": actor })),
    }
}

/// Provision id recorded in the ledger for a case: its first deciding provision, if the
/// ledger accepts it as an identifier.
pub(crate) fn ledger_provision(first_deciding: Option<&str>) -> String {
    let id = first_deciding.filter(|id| {
        (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:/()-".contains(&b))
    });
    id.unwrap_or("citygate:no-deciding-provision").to_owned()
}

/// [`ledger_provision`] of a stored answer (only its `deciding` list is read).
pub(crate) fn stored_ledger_provision(answer_json: &str) -> Result<String, ApiError> {
    #[derive(Deserialize)]
    struct Deciding {
        #[serde(default)]
        deciding: Vec<String>,
    }
    let answer: Deciding = serde_json::from_str(answer_json).map_err(|_| ApiError::Internal)?;
    Ok(ledger_provision(
        answer.deciding.first().map(String::as_str),
    ))
}

pub(crate) async fn load(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(CaseRecord, Visibility), ApiError> {
    let hidden = ApiError::NotFound("no such case, or not one you may see");
    if !is_case_id(id) {
        return Err(hidden);
    }
    let case = state.store.case(id).await?.ok_or(hidden)?;
    match policy::visibility(&caller.account, &case) {
        Visibility::Hidden => Err(ApiError::NotFound("no such case, or not one you may see")),
        // An administrator's live grant lets an auditor see this case's personal data.
        Visibility::WithoutPersonal
            if state
                .store
                .has_grant(caller.account.id, id, crate::now())
                .await? =>
        {
            Ok((case, Visibility::Full))
        }
        v => Ok((case, v)),
    }
}

pub(crate) fn seal_json(
    state: &AppState,
    context: &str,
    value: &impl Serialize,
) -> Result<Vec<u8>, ApiError> {
    let plain = serde_json::to_vec(value).map_err(|_| ApiError::Internal)?;
    Ok(state.vault.seal(context, &plain))
}

fn open_json<T: serde::de::DeserializeOwned>(
    state: &AppState,
    context: &str,
    sealed: &[u8],
) -> Result<T, ApiError> {
    let plain = state.vault.open(context, sealed).map_err(|e| {
        tracing::error!(error = %e, "cannot open sealed case data");
        ApiError::Internal
    })?;
    serde_json::from_slice(&plain).map_err(|_| ApiError::Internal)
}

fn view(
    case: CaseRecord,
    events: Vec<EventView>,
    personal: Option<CasePersonal>,
) -> Result<CaseView, ApiError> {
    let answer = serde_json::value::RawValue::from_string(case.answer_json)
        .map_err(|_| ApiError::Internal)?;
    Ok(CaseView {
        id: case.id,
        created_at: case.created_at,
        created_by: case.created_by,
        department: case.department,
        channel: case.channel,
        status: case.status,
        outcome: case.outcome,
        rules_hash: case.rules_hash,
        requires_signoff: case.requires_signoff,
        answer,
        action: case.action,
        signed_off_by: case.signed_off_by,
        resolution: case.resolution,
        version: case.version,
        events,
        retention: RetentionView::of(&case.retention)?,
        personal,
    })
}

fn event_views(
    state: &AppState,
    events: Vec<CaseEvent>,
    with_personal: bool,
) -> Result<Vec<EventView>, ApiError> {
    events
        .into_iter()
        .map(|e| {
            let details = match (&e.personal, with_personal) {
                (Some(sealed), true) => Some(open_json(
                    state,
                    &event_context(&e.case_id, e.ledger_index),
                    sealed,
                )?),
                _ => None,
            };
            Ok(EventView {
                seq: e.seq,
                kind: e.kind,
                ledger_index: e.ledger_index,
                actor: e.actor,
                at: e.at,
                details,
            })
        })
        .collect()
}

/// Opens a case for a request received: decides it, logs it, stores it.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = NewCase,
    responses((status = 201, body = CaseView), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewCase>,
) -> Result<(StatusCode, axum::Json<CaseView>), ApiError> {
    caller.require(&[Role::Desk, Role::Records])?;
    check_text("requester.name", &body.requester.name, 200)?;
    check_optional("requester.organisation", &body.requester.organisation, 200)?;
    check_optional("requester.contact", &body.requester.contact, 200)?;
    check_optional("subject_name", &body.subject_name, 200)?;
    check_optional("notes", &body.notes, MAX_NOTE)?;
    let request = engine_request(&body.request.to_string(), "request")?;
    let today = chrono::Local::now().date_naive();
    let answer = state
        .rules
        .decide(&request, today)
        .map_err(|e| ApiError::field("request.date", e.to_string()))?;
    let outcome = answer.outcome.as_str().to_owned();
    let rules_hash = answer.rules_hash.to_owned();
    // Serialised once, straight from the answer: stored, and passed through in the view.
    let answer_json = serde_json::to_string(&answer).map_err(|_| ApiError::Internal)?;
    let limits = state.rules.retention_for(&request, today);
    let schedule = serde_json::to_string(&limits).map_err(|_| ApiError::Internal)?;
    let requires_signoff = request
        .requester
        .as_ref()
        .is_some_and(|r| r.kind == RequesterKind::ImmigrationAgency);
    let status = if outcome == policy::REFER {
        AWAITING_COUNSEL
    } else if requires_signoff {
        AWAITING_SIGNOFF
    } else {
        AWAITING_ACTION
    };
    let id = new_case_id();
    let provision = ledger_provision(answer.deciding.first().map(|p| p.id.as_str()));
    let mut event = ledger_event(
        EventKind::RequestReceived,
        &provision,
        &id,
        "opened",
        caller.account.id,
    );
    if let Some(details) = event.details.as_mut() {
        details["outcome"] = outcome.clone().into();
        details["rules_hash"] = rules_hash.clone().into();
        details["channel"] = body.channel.as_str().into();
    }
    let ledger_index = log_first(&state, event).await?;
    let personal = CasePersonal {
        requester: body.requester,
        subject_name: body.subject_name,
        request: body.request,
        notes: body.notes,
    };
    let now = crate::now();
    let record = CaseRecord {
        id: id.clone(),
        created_at: now,
        created_by: caller.account.id,
        department: caller.account.department.clone(),
        channel: body.channel.as_str().into(),
        status: status.into(),
        outcome,
        rules_hash,
        answer_json,
        requires_signoff,
        personal: seal_json(&state, &personal_context(&id), &personal)?,
        action: None,
        signed_off_by: None,
        resolution: None,
        version: 0,
        retention: citygate_store::CaseRetention {
            schedule,
            ..Default::default()
        },
    };
    let opened = CaseEvent {
        case_id: id.clone(),
        seq: 0,
        kind: "opened".into(),
        ledger_index,
        actor: caller.account.id,
        at: now,
        personal: None,
    };
    state.store.insert_case(&record, &opened).await?;
    state
        .metrics
        .cases_opened
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(event = "case_opened", case = %id, ledger_index, actor = caller.account.id, "case opened");
    let events = vec![EventView {
        seq: 0,
        kind: "opened".into(),
        ledger_index,
        actor: caller.account.id,
        at: now,
        details: None,
    }];
    Ok((StatusCode::CREATED, axum::Json(view(record, events, None)?)))
}

/// The cases the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(ListQuery),
    responses((status = 200, body = [CaseSummary]), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Vec<CaseSummary>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 500"));
    }
    let filter = policy::case_filter(&caller.account, limit)
        .ok_or(ApiError::Forbidden("your role does not see cases"))?;
    let cases = state.store.list_cases(&filter).await?;
    Ok(axum::Json(
        cases
            .into_iter()
            .map(|c| CaseSummary {
                id: c.id,
                created_at: c.created_at,
                channel: c.channel,
                status: c.status,
                outcome: c.outcome,
                requires_signoff: c.requires_signoff,
            })
            .collect(),
    ))
}

/// A case with its events; personal data for those who may see it, the read recorded first.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = String, Path, description = "case id")),
    responses((status = 200, body = CaseView), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<CaseView>, ApiError> {
    if caller.account.role == Role::Admin {
        return Err(ApiError::Forbidden("your role does not see cases"));
    }
    let (case, visibility) = load(&state, &caller, &id).await?;
    let events = state.store.case_events(&case.id).await?;
    if visibility != Visibility::Full || case.retention.details_purged_at.is_some() {
        let events = event_views(&state, events, false)?;
        return Ok(axum::Json(view(case, events, None)?));
    }
    // Recorded before the data leaves: a read that cannot be logged does not happen.
    let entry = AccessEntry {
        id: 0,
        account_id: caller.account.id,
        case_id: case.id.clone(),
        at: crate::now(),
        what: "case".into(),
    };
    state.store.record_access(&entry).await?;
    let personal: CasePersonal = open_json(&state, &personal_context(&case.id), &case.personal)?;
    let events = event_views(&state, events, true)?;
    Ok(axum::Json(view(case, events, Some(personal))?))
}

/// One state change: ledger first, then the store (refused if the case moved meanwhile).
pub(crate) struct Step<'a> {
    pub(crate) kind: &'static str,
    pub(crate) ledger_kind: EventKind,
    pub(crate) status: &'a str,
    pub(crate) action: Option<String>,
    pub(crate) signed_off_by: Option<i64>,
    pub(crate) resolution: Option<String>,
    /// Personal details of the step (sealed in the case event, never in the ledger).
    pub(crate) details: Option<serde_json::Value>,
}

async fn apply(
    state: &AppState,
    caller: &Caller,
    case: CaseRecord,
    step: Step<'_>,
) -> Result<axum::Json<CaseView>, ApiError> {
    apply_logged(state, caller, case, step, serde_json::Map::new()).await
}

/// [`apply`], with `codes` (ids, counts, digests: never personal data) added to the
/// ledger event's details.
pub(crate) async fn apply_logged(
    state: &AppState,
    caller: &Caller,
    case: CaseRecord,
    step: Step<'_>,
    codes: serde_json::Map<String, serde_json::Value>,
) -> Result<axum::Json<CaseView>, ApiError> {
    if case.retention.details_purged_at.is_some() {
        return Err(purged(&case));
    }
    let mut event = ledger_event(
        step.ledger_kind,
        &stored_ledger_provision(&case.answer_json)?,
        &case.id,
        step.kind,
        caller.account.id,
    );
    if let Some(serde_json::Value::Object(details)) = event.details.as_mut() {
        details.extend(codes);
    }
    let ledger_index = log_first(state, event).await?;
    let personal = step
        .details
        .as_ref()
        .map(|d| seal_json(state, &event_context(&case.id, ledger_index), d))
        .transpose()?;
    let now = crate::now();
    let closes = step.status == CLOSED && case.retention.closed_at.is_none();
    let retention_due = if closes {
        crate::retention::first_due(&case.retention.schedule, now)?
    } else {
        None
    };
    let change = CaseChange {
        expected_version: case.version,
        status: step.status.to_owned(),
        action: step.action,
        signed_off_by: step.signed_off_by,
        resolution: step.resolution,
        closed_at: closes.then_some(now),
        retention_due,
        event: CaseEvent {
            case_id: case.id.clone(),
            seq: 0,
            kind: step.kind.into(),
            ledger_index,
            actor: caller.account.id,
            at: now,
            personal,
        },
    };
    let updated = state.store.change_case(&case.id, &change).await?;
    state
        .metrics
        .case_steps
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(event = "case_changed", case = %updated.id, step = step.kind, ledger_index, actor = caller.account.id, "case changed");
    let events = event_views(state, state.store.case_events(&updated.id).await?, false)?;
    Ok(axum::Json(view(updated, events, None)?))
}

fn note_details(note: Option<String>) -> Result<Option<serde_json::Value>, ApiError> {
    check_optional("note", &note, MAX_NOTE)?;
    Ok(note.map(|n| serde_json::json!({ "note": n })))
}

/// A case whose personal data was destroyed under a retention rule takes no more steps:
/// a step would record new personal data the schedule says not to keep.
pub(crate) fn purged(case: &CaseRecord) -> ApiError {
    ApiError::Conflict(format!(
        "the case's details were destroyed under its retention rules on {}; nothing more can be recorded on it",
        chrono::DateTime::from_timestamp(case.retention.details_purged_at.unwrap_or(0), 0)
            .map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string())
    ))
}

fn wrong_state(case: &CaseRecord, wanted: &str) -> ApiError {
    ApiError::Conflict(format!("the case is {}, not {wanted}", case.status))
}

/// A supervisor of the case's department signs off (required for immigration-agency requests).
#[utoipa::path(post, path = "/api/v1/cases/{id}/signoff", tag = "cases", request_body = Note, params(("id" = String, Path, description = "case id")),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn sign_off(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Note>,
) -> Result<axum::Json<CaseView>, ApiError> {
    caller.require(&[Role::Supervisor])?;
    let (case, _) = load(&state, &caller, &id).await?;
    if case.status != AWAITING_SIGNOFF {
        return Err(wrong_state(&case, AWAITING_SIGNOFF));
    }
    let details = note_details(body.note)?;
    let step = Step {
        kind: "signed_off",
        ledger_kind: EventKind::DecisionMade,
        status: AWAITING_ACTION,
        action: None,
        signed_off_by: Some(caller.account.id),
        resolution: None,
        details,
    };
    apply(&state, &caller, case, step).await
}

/// Counsel resolves a referred case: comply or decline.
#[utoipa::path(post, path = "/api/v1/cases/{id}/resolution", tag = "cases", request_body = Resolution, params(("id" = String, Path, description = "case id")),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Resolution>,
) -> Result<axum::Json<CaseView>, ApiError> {
    caller.require(&[Role::Counsel])?;
    let (case, _) = load(&state, &caller, &id).await?;
    if case.status != AWAITING_COUNSEL {
        return Err(wrong_state(&case, AWAITING_COUNSEL));
    }
    let details = note_details(body.note)?;
    let resolution = match body.outcome {
        Decision::Comply => "comply",
        Decision::Decline => "decline",
    };
    let status = if case.requires_signoff {
        AWAITING_SIGNOFF
    } else {
        AWAITING_ACTION
    };
    let step = Step {
        kind: "resolved",
        ledger_kind: EventKind::DecisionMade,
        status,
        action: None,
        signed_off_by: None,
        resolution: Some(resolution.into()),
        details,
    };
    apply(&state, &caller, case, step).await
}

/// Records the action taken; it must follow the answer (or counsel's resolution).
#[utoipa::path(post, path = "/api/v1/cases/{id}/action", tag = "cases", request_body = Action, params(("id" = String, Path, description = "case id")),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Action>,
) -> Result<axum::Json<CaseView>, ApiError> {
    caller.require(&[Role::Desk, Role::Records])?;
    let (case, _) = load(&state, &caller, &id).await?;
    if !policy::may_act(&caller.account, &case) {
        return Err(ApiError::NotFound("no such case, or not one you may see"));
    }
    if case.status != AWAITING_ACTION {
        return Err(wrong_state(&case, AWAITING_ACTION));
    }
    let decided = case.resolution.as_deref().unwrap_or(&case.outcome);
    let (action, expected) = match body.action {
        ActionTaken::Complied => ("complied", "comply"),
        ActionTaken::Declined => ("declined", "decline"),
    };
    if decided != expected {
        return Err(ApiError::Conflict(format!("field `action`: the case was decided `{decided}`; record the action that follows it or ask counsel")));
    }
    let details = note_details(body.note)?;
    let step = Step {
        kind: "action",
        ledger_kind: EventKind::DecisionMade,
        status: CLOSED,
        action: Some(action.into()),
        signed_off_by: None,
        resolution: None,
        details,
    };
    apply(&state, &caller, case, step).await
}

/// Records a disclosure made on a case that was complied with.
#[utoipa::path(post, path = "/api/v1/cases/{id}/disclosures", tag = "cases", request_body = Disclosure, params(("id" = String, Path, description = "case id")),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn disclose(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Disclosure>,
) -> Result<axum::Json<CaseView>, ApiError> {
    caller.require(&[Role::Desk, Role::Records])?;
    let (case, _) = load(&state, &caller, &id).await?;
    if !policy::may_act(&caller.account, &case) {
        return Err(ApiError::NotFound("no such case, or not one you may see"));
    }
    if case.action.as_deref() != Some("complied") {
        return Err(ApiError::Conflict(
            "a disclosure can be recorded only on a case that was complied with".into(),
        ));
    }
    check_text("what", &body.what, 2_000)?;
    check_text("to", &body.to, 200)?;
    check_optional("note", &body.note, MAX_NOTE)?;
    let details = serde_json::to_value(&body).map_err(|_| ApiError::Internal)?;
    let status = case.status.clone();
    let step = Step {
        kind: "disclosure",
        ledger_kind: EventKind::RecordsDisclosed,
        status: &status,
        action: None,
        signed_off_by: None,
        resolution: None,
        details: Some(details),
    };
    apply(&state, &caller, case, step).await
}

/// The log of reads of personal data (auditors).
#[utoipa::path(get, path = "/api/v1/access-log", tag = "cases", params(AccessQuery),
    responses((status = 200, body = [Object]), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn access_log(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AccessQuery>,
) -> Result<axum::Json<Vec<AccessEntry>>, ApiError> {
    caller.require(&[Role::Auditor])?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 1000"));
    }
    Ok(axum::Json(
        state.store.access_log(q.case.as_deref(), limit).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_start_with_their_time_and_end_random() {
        let before = crate::now_millis();
        let first = new_case_id();
        let second = new_case_id();
        let after = crate::now_millis();
        for id in [&first, &second] {
            assert!(is_case_id(id), "{id} is not a case id");
            let stamp = u64::from_str_radix(&id[..12], 16).unwrap();
            assert!(
                (before..=after).contains(&stamp),
                "{stamp} not in {before}..={after}"
            );
        }
        assert_ne!(first[12..], second[12..], "the random part repeated");
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(new_case_id() > second, "a later id sorts first");
    }
}
