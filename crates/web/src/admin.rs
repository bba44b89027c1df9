//! Administration: accounts and roles, agency settings, the rule packs as counsel
//! reads them, the ledger's status and receipt verification, and the access log.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use citygate_engine::vocab::Jurisdiction;
use citygate_server::body::Json;
use citygate_server::error::ApiError;
use citygate_server::routes::accounts::{self as api, AccountChanges, NewAccountBody};
use citygate_store::Role;
use serde::Deserialize;

use crate::ask::settings_or_error;
use crate::session::Staff;
use crate::settings::Settings;
use crate::{check_csrf, service_error, staff_page, views, Web};

fn page(
    web: &Web,
    headers: &HeaderMap,
    staff: &Staff,
    title_key: &str,
    body: askama::Result<String>,
) -> Response {
    staff_page(web, headers, staff, title_key, body, StatusCode::OK)
}

fn require(web: &Web, headers: &HeaderMap, staff: &Staff, roles: &[Role]) -> Result<(), Response> {
    staff
        .caller
        .require(roles)
        .map_err(|e| service_error(web, headers, staff, e))
}

/// Accounts: the list, a form per account, and the form for a new one.
pub(crate) async fn accounts(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
) -> Response {
    match api::list(State(web.state.clone()), staff.caller.clone()).await {
        Ok(axum::Json(accounts)) => {
            let body = views::accounts(&web.texts, &staff, &accounts);
            page(&web, &headers, &staff, "nav-accounts", body)
        }
        Err(e) => service_error(&web, &headers, &staff, e),
    }
}

#[derive(Deserialize)]
pub(crate) struct NewAccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    department: String,
}

pub(crate) async fn create_account(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Form(form): Form<NewAccountForm>,
) -> Response {
    if let Err(page) = check_csrf(&web, &headers, &staff, &form.csrf) {
        return page;
    }
    let body = NewAccountBody {
        username: form.username,
        password: (!form.password.is_empty()).then_some(form.password),
        role: form.role,
        department: form.department,
    };
    match api::create(State(web.state.clone()), staff.caller.clone(), Json(body)).await {
        Ok(_) => Redirect::to("/admin").into_response(),
        Err(e) => service_error(&web, &headers, &staff, e),
    }
}

#[derive(Deserialize)]
pub(crate) struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    department: String,
    /// Present (any value) when the box is ticked.
    #[serde(default)]
    disabled: Option<String>,
    #[serde(default)]
    password: String,
}

pub(crate) async fn update_account(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<AccountForm>,
) -> Response {
    if let Err(page) = check_csrf(&web, &headers, &staff, &form.csrf) {
        return page;
    }
    let changes = AccountChanges {
        role: (!form.role.is_empty()).then_some(form.role),
        department: (!form.department.is_empty()).then_some(form.department),
        disabled: Some(form.disabled.is_some()),
        password: (!form.password.is_empty()).then_some(form.password),
    };
    match api::update(
        State(web.state.clone()),
        staff.caller.clone(),
        Path(id),
        Json(changes),
    )
    .await
    {
        Ok(_) => Redirect::to("/admin").into_response(),
        Err(e) => service_error(&web, &headers, &staff, e),
    }
}

#[derive(Deserialize)]
pub(crate) struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    auditor: String,
    #[serde(default)]
    case: String,
    #[serde(default)]
    days: String,
}

/// Lets an auditor see one case's personal data for some days (the service's grant).
pub(crate) async fn grant(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Form(form): Form<GrantForm>,
) -> Response {
    if let Err(page) = check_csrf(&web, &headers, &staff, &form.csrf) {
        return page;
    }
    let number = |field: &str, v: &str| {
        v.trim()
            .parse::<i64>()
            .map_err(|_| ApiError::field(field, "must be a whole number"))
    };
    let body = match (number("auditor", &form.auditor), number("days", &form.days)) {
        (Ok(auditor), Ok(days)) => citygate_server::routes::grants::NewGrant { auditor, days },
        (Err(e), _) | (_, Err(e)) => return service_error(&web, &headers, &staff, e),
    };
    let case = form.case.trim().to_owned();
    match citygate_server::routes::grants::create(
        State(web.state.clone()),
        staff.caller.clone(),
        Path(case),
        Json(body),
    )
    .await
    {
        Ok(_) => Redirect::to("/admin").into_response(),
        Err(e) => service_error(&web, &headers, &staff, e),
    }
}

pub(crate) async fn settings_page(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
) -> Response {
    if let Err(page) = require(&web, &headers, &staff, &[Role::Admin]) {
        return page;
    }
    let settings = match settings_or_error(&web, &headers, &staff).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let body = views::settings(&web.texts, &staff, &settings, false);
    page(&web, &headers, &staff, "nav-settings", body)
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    agency_name: String,
    #[serde(default)]
    agency_address: String,
    #[serde(default)]
    law_department_phone: String,
    #[serde(default)]
    jurisdiction: String,
}

fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = value.trim().chars().count();
    if n < min || n > max {
        return Err(ApiError::field(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
    Ok(())
}

fn settings_of(form: SettingsForm) -> Result<Settings, ApiError> {
    check_len("agency_name", &form.agency_name, 1, 200)?;
    check_len("agency_address", &form.agency_address, 0, 500)?;
    check_len("law_department_phone", &form.law_department_phone, 0, 50)?;
    let jurisdiction = Jurisdiction::ALL
        .iter()
        .find(|j| j.as_str() == form.jurisdiction)
        .copied()
        .ok_or_else(|| {
            let allowed: Vec<&str> = Jurisdiction::ALL.iter().map(|j| j.as_str()).collect();
            ApiError::field(
                "jurisdiction",
                format!("must be one of {}", allowed.join(", ")),
            )
        })?;
    Ok(Settings {
        jurisdiction,
        law_department_phone: form.law_department_phone.trim().to_owned(),
        agency_name: form.agency_name.trim().to_owned(),
        agency_address: form.agency_address.trim().to_owned(),
    })
}

pub(crate) async fn settings_post(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Form(form): Form<SettingsForm>,
) -> Response {
    if let Err(page) = require(&web, &headers, &staff, &[Role::Admin]) {
        return page;
    }
    if let Err(page) = check_csrf(&web, &headers, &staff, &form.csrf) {
        return page;
    }
    let settings = match settings_of(form) {
        Ok(s) => s,
        Err(e) => return service_error(&web, &headers, &staff, e),
    };
    if let Err(e) = settings
        .save(web.state.store.as_ref(), citygate_server::now())
        .await
    {
        return service_error(&web, &headers, &staff, e.into());
    }
    tracing::info!(
        event = "settings_changed",
        account = staff.caller.account.id,
        "agency settings changed"
    );
    let body = views::settings(&web.texts, &staff, &settings, true);
    page(&web, &headers, &staff, "nav-settings", body)
}

/// The rule packs in force here, as counsel reads them (`citygate rules show`).
pub(crate) async fn rules(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
) -> Response {
    let settings = match settings_or_error(&web, &headers, &staff).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let text = citygate_engine::show::render(&web.state.rules, Some(settings.jurisdiction));
    let body = views::rules(&web.texts, staff.lang, &text);
    page(&web, &headers, &staff, "nav-rules", body)
}

/// The ledger's size, its signed checkpoint and verifier key.
async fn ledger_status(web: &Web) -> Result<(u64, String, String), ApiError> {
    let (ledger, publisher) = (web.state.ledger.clone(), web.state.publisher.clone());
    tokio::task::spawn_blocking(move || {
        let (size, note) = publisher.checkpoint(&ledger)?;
        let key = publisher.verifier_key().to_owned();
        Ok((size, String::from_utf8_lossy(&note).into_owned(), key))
    })
    .await
    .map_err(|_| ApiError::Internal)?
}

async fn ledger_view(
    web: &Web,
    headers: &HeaderMap,
    staff: &Staff,
    verdict: Option<(bool, String)>,
) -> Response {
    if let Err(page) = require(web, headers, staff, &[Role::Admin, Role::Auditor]) {
        return page;
    }
    match ledger_status(web).await {
        Ok((size, checkpoint, key)) => {
            let body = views::ledger(&web.texts, staff, size, &checkpoint, &key, verdict);
            page(web, headers, staff, "nav-ledger", body)
        }
        Err(e) => service_error(web, headers, staff, e),
    }
}

pub(crate) async fn ledger(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
) -> Response {
    ledger_view(&web, &headers, &staff, None).await
}

#[derive(Deserialize)]
pub(crate) struct ReceiptForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    receipt: String,
}

/// Checks a pasted receipt against this ledger's key: the checkpoint's signature and
/// the entry's inclusion proof.
pub(crate) async fn verify_receipt(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Form(form): Form<ReceiptForm>,
) -> Response {
    if let Err(page) = check_csrf(&web, &headers, &staff, &form.csrf) {
        return page;
    }
    let key = web.state.publisher.verifier_key().to_owned();
    let t = |k: &str| web.texts.get(staff.lang, k);
    // Browsers send CRLF line ends; the receipt format is LF.
    let text = form.receipt.replace("\r\n", "\n");
    let text = if text.ends_with('\n') {
        text
    } else {
        text + "\n"
    };
    let verdict = citygate_ledger::receipt::Receipt::parse(text.as_bytes())
        .map_err(|e| e.to_string())
        .and_then(|receipt| {
            let policy =
                citygate_ledger::policy::TrustPolicy::parse(&format!("log {key}\nquorum none\n"))
                    .map_err(|e| e.to_string())?;
            let checked = receipt.verify(&policy).map_err(|e| e.to_string())?;
            Ok((receipt.index, checked.size))
        });
    let verdict = match verdict {
        Ok((index, size)) => (
            true,
            format!("{} #{index} / {size}", t("ledger-receipt-valid")),
        ),
        Err(why) => (false, format!("{}: {why}", t("ledger-receipt-invalid"))),
    };
    ledger_view(&web, &headers, &staff, Some(verdict)).await
}

/// Who read which case's personal data, and when (no personal data itself).
pub(crate) async fn access_log(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
) -> Response {
    if let Err(page) = require(&web, &headers, &staff, &[Role::Admin, Role::Auditor]) {
        return page;
    }
    let entries = match web.state.store.access_log(None, 500).await {
        Ok(e) => e,
        Err(e) => return service_error(&web, &headers, &staff, e.into()),
    };
    let mut names = std::collections::BTreeMap::new();
    for e in &entries {
        if let std::collections::btree_map::Entry::Vacant(slot) = names.entry(e.account_id) {
            let name = match web.state.store.account(e.account_id).await {
                Ok(Some(a)) => a.username,
                _ => format!("#{}", e.account_id),
            };
            slot.insert(name);
        }
    }
    let body = views::access_log(&web.texts, staff.lang, &entries, &names);
    page(&web, &headers, &staff, "nav-access", body)
}
