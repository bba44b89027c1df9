//! Letters as tagged PDF (`citygate-letters`, Typst), from templates the administrator
//! can edit: an edited template is checked before it is saved (errors by line and
//! column) and kept in the store's settings table; without one, the shipped default.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use citygate_letters::{Lang as LetterLang, LetterData, LetterKind};
use citygate_server::error::ApiError;
use citygate_server::routes::cases::CaseView;
use citygate_store::Role;
use serde::Deserialize;

use crate::i18n::Lang;
use crate::session::Staff;
use crate::settings::Settings;
use crate::views::{self, LetterFacts};
use crate::{check_csrf, service_error, staff_page, Web};

/// The PDF letter kind for the web app's letter names.
fn pdf_kind(kind: &str) -> LetterKind {
    match kind {
        "refer" => LetterKind::Acknowledgment,
        "memo" => LetterKind::Referral,
        "comply" => LetterKind::Disclosure,
        _ => LetterKind::Declination,
    }
}

fn letter_lang(lang: Lang) -> LetterLang {
    match lang {
        Lang::En => LetterLang::En,
        Lang::Es => LetterLang::Es,
    }
}

fn template_key(kind: LetterKind, lang: LetterLang) -> String {
    format!("letter/{}/{}", kind.as_str(), lang.code())
}

/// The template in force: the administrator's, or the shipped default.
async fn template(web: &Web, kind: LetterKind, lang: LetterLang) -> Result<String, ApiError> {
    let saved = web.state.store.setting(&template_key(kind, lang)).await?;
    Ok(saved.unwrap_or_else(|| citygate_letters::default_template(kind, lang).to_owned()))
}

/// Renders off the async threads (Typst takes milliseconds of CPU).
async fn render(template: String, data: LetterData) -> Result<Vec<u8>, String> {
    tokio::task::spawn_blocking(move || {
        citygate_letters::render_pdf(&template, &data).map_err(|e| e.to_string())
    })
    .await
    .map_err(|_| "the letter renderer stopped".to_owned())?
}

fn pdf(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}.pdf\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// What was asked, in the app's own words for the request's act.
fn subject(web: &Web, lang: Lang, case: &CaseView) -> String {
    let act = case
        .personal
        .as_ref()
        .and_then(|p| p.request["act"].as_str())
        .unwrap_or_default();
    crate::choices::WHAT
        .iter()
        .find(|(_, a, _)| a.as_str() == act)
        .map(|(id, _, _)| web.texts.get(lang, &format!("what-{id}")))
        .unwrap_or_else(|| act.replace('_', " "))
}

/// A case's letter as tagged PDF.
pub(crate) async fn pdf_response(
    web: &Web,
    headers: &HeaderMap,
    staff: &Staff,
    settings: &Settings,
    case: &CaseView,
    facts: &LetterFacts,
) -> Response {
    let kind = pdf_kind(&facts.kind);
    let lang = letter_lang(staff.lang);
    let outcome_key = format!(
        "outcome-{}",
        case.resolution.as_deref().unwrap_or(&case.outcome)
    );
    let data = LetterData {
        kind,
        lang,
        agency_name: settings.agency_name.clone(),
        date: facts.law_date.clone(),
        requester: facts.to.clone(),
        subject: subject(web, staff.lang, case),
        outcome: web.texts.get(staff.lang, &outcome_key),
        provisions: facts.provisions.clone(),
        law_department_phone: settings.law_department_phone.clone(),
        rules_hash: facts.rules_hash.clone(),
        case_id: facts.case_id.clone(),
        // Staff notes go to counsel, never to the requester.
        notes: if kind == LetterKind::Referral {
            case.personal.as_ref().and_then(|p| p.notes.clone())
        } else {
            None
        },
    };
    let template = match template(web, kind, lang).await {
        Ok(t) => t,
        Err(e) => return service_error(web, headers, staff, e),
    };
    match render(template, data).await {
        Ok(bytes) => pdf(bytes, kind.as_str()),
        Err(message) => {
            // The message names the template's fault, never the letter's data.
            tracing::error!(error = %message, "a letter did not render");
            let e = ApiError::Conflict(format!(
                "the {} template does not render: {message}",
                kind.as_str()
            ));
            service_error(web, headers, staff, e)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct TemplateQuery {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

fn pick(q_kind: Option<&str>, q_lang: Option<&str>) -> Result<(LetterKind, LetterLang), ApiError> {
    let kind = match q_kind {
        None => LetterKind::Declination,
        Some(k) => LetterKind::parse(k).ok_or_else(|| {
            ApiError::field(
                "kind",
                "must be one of declination, acknowledgment, referral, disclosure",
            )
        })?,
    };
    let lang = match q_lang {
        None => LetterLang::En,
        Some(l) => {
            LetterLang::parse(l).ok_or_else(|| ApiError::field("lang", "must be en or es"))?
        }
    };
    Ok((kind, lang))
}

async fn editor(
    web: &Web,
    headers: &HeaderMap,
    staff: &Staff,
    kind: LetterKind,
    lang: LetterLang,
    text: Option<String>,
    outcome: Option<(bool, String)>,
) -> Response {
    let (text, saved) = match text {
        Some(t) => (t, false),
        None => match web.state.store.setting(&template_key(kind, lang)).await {
            Ok(Some(t)) => (t, true),
            Ok(None) => (
                citygate_letters::default_template(kind, lang).to_owned(),
                false,
            ),
            Err(e) => return service_error(web, headers, staff, e.into()),
        },
    };
    let status = match &outcome {
        Some((false, _)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let body = views::templates(
        &web.texts,
        staff,
        kind.as_str(),
        lang.code(),
        &text,
        saved,
        outcome,
    );
    staff_page(web, headers, staff, "nav-letters", body, status)
}

/// The template editor (administrators).
pub(crate) async fn templates_page(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Query(q): Query<TemplateQuery>,
) -> Response {
    if let Err(e) = staff.caller.require(&[Role::Admin]) {
        return service_error(&web, &headers, &staff, e);
    }
    match pick(q.kind.as_deref(), q.lang.as_deref()) {
        Ok((kind, lang)) => editor(&web, &headers, &staff, kind, lang, None, None).await,
        Err(e) => service_error(&web, &headers, &staff, e),
    }
}

#[derive(Deserialize)]
pub(crate) struct TemplateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    template: String,
    /// `save` or `reset` (back to the shipped default).
    #[serde(default)]
    action: String,
}

/// Saves an edited template once it renders, or resets it to the default.
pub(crate) async fn templates_post(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Form(form): Form<TemplateForm>,
) -> Response {
    if let Err(e) = staff.caller.require(&[Role::Admin]) {
        return service_error(&web, &headers, &staff, e);
    }
    if let Err(page) = check_csrf(&web, &headers, &staff, &form.csrf) {
        return page;
    }
    let (kind, lang) = match pick(Some(&form.kind), Some(&form.lang)) {
        Ok(x) => x,
        Err(e) => return service_error(&web, &headers, &staff, e),
    };
    let key = template_key(kind, lang);
    let t = |k: &str| web.texts.get(staff.lang, k);
    let text = if form.action == "reset" {
        citygate_letters::default_template(kind, lang).to_owned()
    } else {
        form.template.replace("\r\n", "\n")
    };
    let checked = {
        let text = text.clone();
        tokio::task::spawn_blocking(move || citygate_letters::check_template(&text))
            .await
            .map_err(|_| "the letter renderer stopped".to_owned())
            .and_then(|r| r.map_err(|e| e.to_string()))
    };
    if let Err(problem) = checked {
        let outcome = Some((false, format!("{}: {problem}", t("letters-invalid"))));
        return editor(&web, &headers, &staff, kind, lang, Some(text), outcome).await;
    }
    if let Err(e) = web
        .state
        .store
        .put_setting(&key, &text, citygate_server::now())
        .await
    {
        return service_error(&web, &headers, &staff, e.into());
    }
    tracing::info!(
        event = "letter_template_saved",
        kind = kind.as_str(),
        lang = lang.code(),
        account = staff.caller.account.id,
        "letter template saved"
    );
    let outcome = Some((true, t("letters-saved")));
    editor(&web, &headers, &staff, kind, lang, None, outcome).await
}

/// The template in force, rendered with sample data.
pub(crate) async fn preview(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Query(q): Query<TemplateQuery>,
) -> Response {
    if let Err(e) = staff.caller.require(&[Role::Admin]) {
        return service_error(&web, &headers, &staff, e);
    }
    let (kind, lang) = match pick(q.kind.as_deref(), q.lang.as_deref()) {
        Ok(x) => x,
        Err(e) => return service_error(&web, &headers, &staff, e),
    };
    let template = match template(&web, kind, lang).await {
        Ok(t) => t,
        Err(e) => return service_error(&web, &headers, &staff, e),
    };
    match render(template, LetterData::sample(kind, lang)).await {
        Ok(bytes) => pdf(bytes, kind.as_str()),
        Err(message) => service_error(&web, &headers, &staff, ApiError::Conflict(message)),
    }
}
