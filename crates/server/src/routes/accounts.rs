//! Accounts and API tokens: administrators only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use citygate_store::{Account, AccountUpdate, ApiToken, NewAccount, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{self, Caller, TOKEN_PREFIX};
use crate::body::Json;
use crate::error::ApiError;
use crate::state::AppState;

/// An account as the API shows it (never the password hash).
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// One of desk, supervisor, counsel, records, auditor, admin.
    pub role: String,
    /// Department.
    pub department: String,
    /// Disabled accounts cannot log in or use tokens.
    pub disabled: bool,
    /// UNIX seconds.
    pub created_at: i64,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        AccountView {
            id: a.id,
            username: a.username.clone(),
            role: a.role.as_str().into(),
            department: a.department.clone(),
            disabled: a.disabled,
            created_at: a.created_at,
        }
    }
}

/// A new account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountBody {
    /// Login name: 1 to 64 characters from a-z 0-9 . _ - @.
    pub username: String,
    /// Password (12 to 256 characters); leave out for a token-only integration account.
    #[serde(default)]
    pub password: Option<String>,
    /// One of desk, supervisor, counsel, records, auditor, admin.
    pub role: String,
    /// Department (1 to 100 characters).
    pub department: String,
}

/// Changes to an account; fields left out stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountChanges {
    /// New role.
    #[serde(default)]
    pub role: Option<String>,
    /// New department.
    #[serde(default)]
    pub department: Option<String>,
    /// Disable (true) or enable (false).
    #[serde(default)]
    pub disabled: Option<bool>,
    /// New password.
    #[serde(default)]
    pub password: Option<String>,
}

/// A token to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for (1 to 100 characters).
    pub label: String,
}

/// A created token: shown once, stored only hashed.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Its label.
    pub label: String,
}

/// Refuses usernames outside the allowed characters.
pub fn check_username(name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            "username",
            "must be 1 to 64 characters from a-z 0-9 . _ - @",
        ))
    }
}

fn parse_role(name: &str) -> Result<Role, ApiError> {
    Role::parse(name).ok_or_else(|| {
        ApiError::field(
            "role",
            "must be one of desk, supervisor, counsel, records, auditor, admin",
        )
    })
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(ApiError::field(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(())
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound("no such account"))
}

async fn hash(password: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(p) = password else { return Ok(None) };
    auth::check_password_rules(&p)?;
    let h = tokio::task::spawn_blocking(move || auth::hash_password(&p))
        .await
        .map_err(|_| ApiError::Internal)??;
    Ok(Some(h))
}

/// All accounts.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts",
    responses((status = 200, body = [AccountView]), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<AccountView>>, ApiError> {
    caller.require(&[Role::Admin])?;
    let accounts = state.store.list_accounts().await?;
    Ok(axum::Json(accounts.iter().map(AccountView::from).collect()))
}

/// Creates an account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = NewAccountBody,
    responses((status = 201, body = AccountView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 409, description = "username taken", body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewAccountBody>,
) -> Result<(StatusCode, axum::Json<AccountView>), ApiError> {
    caller.require(&[Role::Admin])?;
    check_username(&body.username)?;
    let role = parse_role(&body.role)?;
    check_text("department", &body.department, 100)?;
    let password_hash = hash(body.password).await?;
    let account = state
        .store
        .create_account(&NewAccount {
            username: body.username,
            role,
            department: body.department,
            password_hash,
            created_at: crate::now(),
        })
        .await
        .map_err(|e| match e {
            citygate_store::StoreError::Conflict => {
                ApiError::Conflict("field `username`: taken".into())
            }
            other => other.into(),
        })?;
    tracing::info!(
        event = "account_created",
        account = account.id,
        by = caller.account.id,
        "account created"
    );
    Ok((StatusCode::CREATED, axum::Json(AccountView::from(&account))))
}

/// Changes an account's role, department, password, or disables it.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "accounts", request_body = AccountChanges,
    params(("id" = i64, Path, description = "account id")),
    responses((status = 200, body = AccountView), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "an administrator cannot demote or disable themselves", body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<AccountChanges>,
) -> Result<axum::Json<AccountView>, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = parse_id(&id)?;
    let role = body.role.as_deref().map(parse_role).transpose()?;
    if let Some(d) = &body.department {
        check_text("department", d, 100)?;
    }
    // Keeps at least the caller as an administrator, so the service cannot lock itself out.
    if id == caller.account.id
        && (body.disabled == Some(true) || role.is_some_and(|r| r != Role::Admin))
    {
        return Err(ApiError::Conflict(
            "you cannot demote or disable your own account".into(),
        ));
    }
    let update = AccountUpdate {
        role,
        department: body.department,
        disabled: body.disabled,
        password_hash: hash(body.password).await?,
    };
    let account = state
        .store
        .update_account(id, &update)
        .await?
        .ok_or(ApiError::NotFound("no such account"))?;
    tracing::info!(
        event = "account_updated",
        account = account.id,
        by = caller.account.id,
        "account updated"
    );
    Ok(axum::Json(AccountView::from(&account)))
}

/// Creates an API token acting as the account (for integrations). Shown once.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/tokens", tag = "accounts", request_body = NewToken,
    params(("id" = i64, Path, description = "account id")),
    responses((status = 201, body = CreatedToken), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<NewToken>,
) -> Result<(StatusCode, axum::Json<CreatedToken>), ApiError> {
    caller.require(&[Role::Admin])?;
    let id = parse_id(&id)?;
    check_text("label", &body.label, 100)?;
    state
        .store
        .account(id)
        .await?
        .ok_or(ApiError::NotFound("no such account"))?;
    let token = format!("{TOKEN_PREFIX}{}", auth::random_secret());
    state
        .store
        .create_token(&ApiToken {
            token_hash: auth::secret_hash(&token),
            account_id: id,
            label: body.label.clone(),
            created_at: crate::now(),
        })
        .await?;
    tracing::info!(
        event = "token_created",
        account = id,
        by = caller.account.id,
        "API token created"
    );
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token,
            label: body.label,
        }),
    ))
}
