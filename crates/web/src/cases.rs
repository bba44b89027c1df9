//! Cases: record an answer as a case, list the cases a role sees (my cases, the
//! department's, counsel's referral queue), a case's page with its timeline and ledger
//! receipts, and its steps (sign-off, resolution, action, disclosure) and letters.
//! Every step calls the service's own handler, so role checks, log-before-act and
//! access recording are the API's.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use citygate_server::auth::Caller;
use citygate_server::body::Json;
use citygate_server::error::ApiError;
use citygate_server::routes::cases::{
    self as api, Action, CaseView, Channel, Disclosure, ListQuery, NewCase, Note, Requester,
    Resolution,
};
use citygate_server::state::AppState;
use serde::Deserialize;

use crate::ask::settings_or_error;
use crate::session::Staff;
use crate::views::{self, LetterFacts};
use crate::{check_csrf, service_error, staff_page, Web};

/// The text of an optional field: `None` when left empty.
fn optional(value: String) -> Option<String> {
    (!value.trim().is_empty()).then_some(value)
}

#[derive(Deserialize)]
pub(crate) struct OpenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    requester_name: String,
    #[serde(default)]
    requester_organisation: String,
    #[serde(default)]
    requester_contact: String,
    #[serde(default)]
    subject_name: String,
    #[serde(default)]
    notes: String,
}

/// Records the answer just given as a case (the service decides it again, logs it,
/// stores it) and shows the case.
pub(crate) async fn open(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Form(form): Form<OpenForm>,
) -> Response {
    if let Err(page) = check_csrf(&web, &headers, &staff, &form.csrf) {
        return page;
    }
    let channel: Channel = match serde_json::from_value(form.channel.clone().into()) {
        Ok(c) => c,
        Err(_) => {
            let e = ApiError::field(
                "channel",
                "must be one of in_person, phone, email, mail, records_portal",
            );
            return service_error(&web, &headers, &staff, e);
        }
    };
    let request = match serde_json::from_str::<serde_json::Value>(&form.state) {
        Ok(v) => v,
        Err(_) => {
            let e = ApiError::field("state", "is not the request this page was given");
            return service_error(&web, &headers, &staff, e);
        }
    };
    let body = NewCase {
        channel,
        requester: Requester {
            name: form.requester_name,
            organisation: optional(form.requester_organisation),
            contact: optional(form.requester_contact),
        },
        subject_name: optional(form.subject_name),
        request,
        notes: optional(form.notes),
    };
    match api::create(State(web.state.clone()), staff.caller.clone(), Json(body)).await {
        Ok((_, axum::Json(case))) => Redirect::to(&format!("/cases/{}", case.id)).into_response(),
        Err(e) => service_error(&web, &headers, &staff, e),
    }
}

pub(crate) async fn list(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
) -> Response {
    let query = ListQuery { limit: Some(500) };
    let mut cases =
        match api::list(State(web.state.clone()), staff.caller.clone(), Query(query)).await {
            Ok(axum::Json(cases)) => cases,
            Err(e) => return service_error(&web, &headers, &staff, e),
        };
    // What waits on this role comes first; otherwise newest first, as listed.
    let waiting = match staff.role() {
        citygate_store::Role::Supervisor => "awaiting_signoff",
        citygate_store::Role::Counsel => "awaiting_counsel",
        _ => "awaiting_action",
    };
    cases.sort_by_key(|c| c.status != waiting);
    let title_key = views::cases_title_key(staff.role());
    let title = web.texts.get(staff.lang, title_key);
    let body = views::case_list(&web.texts, staff.lang, &title, &cases);
    staff_page(&web, &headers, &staff, title_key, body, StatusCode::OK)
}

/// The case as the caller may see it (each read of personal data is recorded by the
/// service), or the page to answer with.
async fn fetch(
    web: &Web,
    headers: &HeaderMap,
    staff: &Staff,
    id: String,
) -> Result<CaseView, Response> {
    match api::get(State(web.state.clone()), staff.caller.clone(), Path(id)).await {
        Ok(axum::Json(case)) => Ok(case),
        Err(e) => Err(service_error(web, headers, staff, e)),
    }
}

pub(crate) async fn show(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    let case = match fetch(&web, &headers, &staff, id).await {
        Ok(c) => c,
        Err(page) => return page,
    };
    let mut names = std::collections::BTreeMap::new();
    for actor in case.events.iter().map(|e| e.actor).chain([case.created_by]) {
        if let std::collections::btree_map::Entry::Vacant(slot) = names.entry(actor) {
            let name = match web.state.store.account(actor).await {
                _ if actor == citygate_server::retention::SYSTEM_ACTOR => {
                    web.texts.get(staff.lang, "actor-system")
                }
                Ok(Some(a)) => a.username,
                _ => format!("#{actor}"),
            };
            slot.insert(name);
        }
    }
    let body = views::case_page(&web.texts, &staff, &case, &names);
    staff_page(&web, &headers, &staff, "case-title", body, StatusCode::OK)
}

#[derive(Deserialize)]
pub(crate) struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    /// comply or decline (resolution); complied or declined (action).
    #[serde(default)]
    outcome: String,
    /// What was disclosed.
    #[serde(default)]
    what: String,
    /// To whom.
    #[serde(default)]
    to: String,
}

/// One case step from its form: the CSRF token first, then the form read into the
/// service's body, then the service's own handler; back to the case on success.
async fn step<B, F, Fut>(
    web: Arc<Web>,
    headers: HeaderMap,
    staff: Staff,
    id: String,
    form: StepForm,
    body: impl FnOnce(StepForm) -> Result<B, ApiError>,
    handler: F,
) -> Response
where
    F: FnOnce(State<AppState>, Caller, Path<String>, Json<B>) -> Fut,
    Fut: std::future::Future<Output = Result<axum::Json<CaseView>, ApiError>>,
{
    if let Err(page) = check_csrf(&web, &headers, &staff, &form.csrf) {
        return page;
    }
    let body = match body(form) {
        Ok(b) => b,
        Err(e) => return service_error(&web, &headers, &staff, e),
    };
    let to = format!("/cases/{id}");
    match handler(
        State(web.state.clone()),
        staff.caller.clone(),
        Path(id),
        Json(body),
    )
    .await
    {
        Ok(_) => Redirect::to(&to).into_response(),
        Err(e) => service_error(&web, &headers, &staff, e),
    }
}

fn parse_choice<T: serde::de::DeserializeOwned>(
    field: &str,
    value: &str,
    allowed: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(value.into())
        .map_err(|_| ApiError::field(field, format!("must be one of {allowed}")))
}

pub(crate) async fn sign_off(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<StepForm>,
) -> Response {
    step(
        web,
        headers,
        staff,
        id,
        form,
        |f| {
            Ok(Note {
                note: optional(f.note),
            })
        },
        api::sign_off,
    )
    .await
}

pub(crate) async fn resolve(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<StepForm>,
) -> Response {
    step(
        web,
        headers,
        staff,
        id,
        form,
        |f| {
            Ok(Resolution {
                outcome: parse_choice("outcome", &f.outcome, "comply, decline")?,
                note: optional(f.note),
            })
        },
        api::resolve,
    )
    .await
}

pub(crate) async fn act(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<StepForm>,
) -> Response {
    step(
        web,
        headers,
        staff,
        id,
        form,
        |f| {
            Ok(Action {
                action: parse_choice("outcome", &f.outcome, "complied, declined")?,
                note: optional(f.note),
            })
        },
        api::act,
    )
    .await
}

pub(crate) async fn disclose(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<StepForm>,
) -> Response {
    step(
        web,
        headers,
        staff,
        id,
        form,
        |f| {
            Ok(Disclosure {
                what: f.what,
                to: f.to,
                note: optional(f.note),
            })
        },
        api::disclose,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct LetterQuery {
    /// decline, refer, comply or memo; by default the one the case's outcome calls for.
    #[serde(default)]
    kind: Option<String>,
    /// `pdf` for the tagged PDF; printable HTML otherwise.
    #[serde(default)]
    format: Option<String>,
}

/// The letter kinds a case can produce: the one its outcome (or counsel's resolution)
/// calls for, and for referred cases also the memo to counsel.
pub(crate) fn letter_kinds(case: &CaseView) -> Vec<&'static str> {
    let decided = case.resolution.as_deref().unwrap_or(&case.outcome);
    match decided {
        "refer" => vec!["refer", "memo"],
        "comply" => vec!["comply"],
        _ => vec!["decline"],
    }
}

pub(crate) async fn letter(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<LetterQuery>,
) -> Response {
    let case = match fetch(&web, &headers, &staff, id).await {
        Ok(c) => c,
        Err(page) => return page,
    };
    let kinds = letter_kinds(&case);
    let kind = match q.kind.as_deref() {
        None => kinds[0],
        Some(k) => match kinds.iter().find(|x| **x == k) {
            Some(k) => k,
            None => {
                let e = ApiError::field(
                    "kind",
                    format!("this case's letters are: {}", kinds.join(", ")),
                );
                return service_error(&web, &headers, &staff, e);
            }
        },
    };
    let settings = match settings_or_error(&web, &headers, &staff).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let facts = letter_facts(&case, kind);
    if q.format.as_deref() == Some("pdf") {
        return crate::letters::pdf_response(&web, &headers, &staff, &settings, &case, &facts)
            .await;
    }
    let body = views::letter(&web.texts, staff.lang, &settings, &facts);
    staff_page(
        &web,
        &headers,
        &staff,
        &format!("letter-title-{kind}"),
        body,
        StatusCode::OK,
    )
}

/// A letter's facts from a recorded case: the answer as given, the requester as recorded.
pub(crate) fn letter_facts(case: &CaseView, kind: &str) -> LetterFacts {
    let answer = crate::views::answer_value(case);
    let deciding: Vec<&str> = answer["deciding"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let text = |c: &serde_json::Value, key: &str| c[key].as_str().unwrap_or_default().to_owned();
    let provisions = answer["citations"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| c["id"].as_str().is_some_and(|id| deciding.contains(&id)))
                .map(|c| citygate_letters::Provision {
                    id: text(c, "id"),
                    citation: text(c, "citation"),
                    excerpt: text(c, "excerpt"),
                })
                .collect()
        })
        .unwrap_or_default();
    let to = case
        .personal
        .as_ref()
        .map(|p| match &p.requester.organisation {
            Some(org) => format!("{}, {org}", p.requester.name),
            None => p.requester.name.clone(),
        });
    LetterFacts {
        kind: kind.to_owned(),
        provisions,
        law_date: answer["law_date"].as_str().unwrap_or_default().to_owned(),
        rules_hash: case.rules_hash.clone(),
        to,
        case_id: Some(case.id.clone()),
    }
}
