//! Grants: an administrator lets one auditor see one case's personal data for a number
//! of days (auditors otherwise see cases without it). The grant is logged to the ledger
//! before it takes effect, and every read under it is recorded in the access log like
//! any other.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use citygate_ledger::EventKind;
use citygate_store::{AccessGrant, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::Json;
use crate::error::ApiError;
use crate::routes::cases::{is_case_id, ledger_event, log_first};
use crate::state::AppState;

/// Longest grant, in days.
pub const MAX_GRANT_DAYS: i64 = 90;

/// Access to one case's personal data for one auditor.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    /// The auditor's account id.
    pub auditor: i64,
    /// For how many days (1 to 90).
    pub days: i64,
}

/// A grant made.
#[derive(Serialize, ToSchema)]
pub struct GrantView {
    /// The case.
    pub case: String,
    /// The auditor's account id.
    pub auditor: i64,
    /// The administrator who granted it.
    pub granted_by: i64,
    /// UNIX seconds; void from then on.
    pub expires_at: i64,
    /// The ledger index of the grant (logged before it took effect).
    pub ledger_index: i64,
}

/// Grants an auditor access to a case's personal data (administrators).
#[utoipa::path(post, path = "/api/v1/cases/{id}/grants", tag = "cases", request_body = NewGrant,
    params(("id" = String, Path, description = "case id")),
    responses((status = 201, body = GrantView), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<NewGrant>,
) -> Result<(StatusCode, axum::Json<GrantView>), ApiError> {
    caller.require(&[Role::Admin])?;
    if !(1..=MAX_GRANT_DAYS).contains(&body.days) {
        return Err(ApiError::field(
            "days",
            format!("must be 1 to {MAX_GRANT_DAYS}"),
        ));
    }
    let missing = ApiError::NotFound("no such case");
    if !is_case_id(&id) {
        return Err(missing);
    }
    state.store.case(&id).await?.ok_or(missing)?;
    state
        .store
        .account(body.auditor)
        .await?
        .filter(|a| a.role == Role::Auditor && !a.disabled)
        .ok_or_else(|| {
            ApiError::field("auditor", "must be the id of an enabled auditor account")
        })?;
    let mut event = ledger_event(
        EventKind::RecordAccessed,
        "citygate:access-grant",
        &id,
        "access_granted",
        caller.account.id,
    );
    if let Some(details) = event.details.as_mut() {
        details["auditor"] = body.auditor.into();
        details["days"] = body.days.into();
    }
    let ledger_index = log_first(&state, event).await?;
    let now = crate::now();
    let grant = AccessGrant {
        account_id: body.auditor,
        case_id: id.clone(),
        granted_by: caller.account.id,
        granted_at: now,
        expires_at: now + body.days * 86_400,
    };
    state.store.grant_access(&grant).await?;
    tracing::info!(event = "access_granted", case = %id, auditor = body.auditor, actor = caller.account.id, ledger_index, "access granted");
    Ok((
        StatusCode::CREATED,
        axum::Json(GrantView {
            case: id,
            auditor: grant.account_id,
            granted_by: grant.granted_by,
            expires_at: grant.expires_at,
            ledger_index,
        }),
    ))
}
