//! citygate-web: the staff web app. Server-rendered pages (askama) with htmx for
//! the "someone is asking" flow: who asks, for what, with what paper (or a photo
//! of it, read by `citygate-reader`), then only the engine's questions, one at a
//! time, then the answer: the outcome in large words, what to say, a checklist of
//! what to do, why (each citation expandable to its excerpt), and the Law
//! Department's number. Text in English and Spanish through Fluent.
//!
//! Invariants: the app decides nothing itself (every answer is the engine's);
//! no personal data is logged; the page works without JavaScript (htmx only swaps
//! the same HTML in place).

pub mod choices;
pub mod i18n;
mod views;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use citygate_engine::vocab::{Jurisdiction, Request};
use citygate_engine::{Basis, RuleSet};

use crate::i18n::{Lang, Texts};

/// Largest upload accepted (a phone photo or a scanned PDF).
pub const MAX_UPLOAD: usize = 20 * 1024 * 1024;

/// Agency settings the pages show.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The jurisdiction whose packs answer.
    pub jurisdiction: Jurisdiction,
    /// The Law Department's phone number; empty until the administrator sets it.
    pub law_department_phone: String,
    /// The agency's name, for letters.
    pub agency_name: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            jurisdiction: Jurisdiction::Chicago,
            law_department_phone: String::new(),
            agency_name: "City of Chicago".into(),
        }
    }
}

/// What the pages need.
pub struct Web {
    rules: Arc<RuleSet>,
    settings: Settings,
    texts: Texts,
}

impl Web {
    /// The app over a rule set.
    pub fn new(rules: Arc<RuleSet>, settings: Settings) -> Arc<Web> {
        Arc::new(Web {
            rules,
            settings,
            texts: Texts::default(),
        })
    }
}

/// The routes of the staff app, to mount in the service.
pub fn router(web: Arc<Web>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ask") }))
        .route("/ask", get(ask_page).post(ask_post))
        .route("/letter", axum::routing::post(letter_post))
        .route("/lang/{code}", get(set_lang))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/app.css", get(css))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .with_state(web)
}

async fn htmx() -> Response {
    static_asset("text/javascript", include_str!("../static/htmx.min.js"))
}

async fn css() -> Response {
    static_asset("text/css", include_str!("../static/app.css"))
}

fn static_asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

fn lang_of(headers: &HeaderMap) -> Lang {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("lang="));
    Lang::parse(cookie)
}

async fn set_lang(Path(code): Path<String>) -> Response {
    let lang = Lang::parse(Some(&code));
    let cookie = format!(
        "lang={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
        lang.tag()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/ask")).into_response()
}

/// A full page, or only the fragment when htmx asks for it.
fn respond(
    web: &Web,
    headers: &HeaderMap,
    lang: Lang,
    title: &str,
    body: String,
    status: StatusCode,
) -> Response {
    if headers.contains_key("hx-request") {
        return (status, Html(body)).into_response();
    }
    match views::page(&web.texts, lang, title, body) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn ask_page(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    let title = web.texts.get(lang, "ask-title");
    match views::ask(&web.texts, lang, &Form::default(), "") {
        Ok(body) => respond(&web, &headers, lang, &title, body, StatusCode::OK),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The posted form: the first screen's choices, or a question's answer with the
/// request so far.
#[derive(Debug, Default)]
pub struct Form {
    /// Where the desk is.
    pub where_: String,
    /// Who asks.
    pub who: String,
    /// What they ask.
    pub what: String,
    /// What paper.
    pub paper: String,
    /// The request so far (JSON), when answering a question.
    pub state: String,
    /// The fact the question was about.
    pub fact: String,
    /// The answer.
    pub answer: String,
    /// An uploaded paper.
    pub photo: Option<Vec<u8>>,
}

async fn read_form(mut multipart: Multipart) -> Result<Form, String> {
    let mut form = Form::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "photo" {
            let bytes = field.bytes().await.map_err(|e| e.body_text())?;
            if !bytes.is_empty() {
                form.photo = Some(bytes.to_vec());
            }
            continue;
        }
        let value = field.text().await.map_err(|e| e.body_text())?;
        match name.as_str() {
            "where" => form.where_ = value,
            "who" => form.who = value,
            "what" => form.what = value,
            "paper" => form.paper = value,
            "state" => form.state = value,
            "fact" => form.fact = value,
            "answer" => form.answer = value,
            _ => {}
        }
    }
    Ok(form)
}

/// The interface language and the posted form, or the error page to answer with.
async fn posted(
    web: &Web,
    headers: &HeaderMap,
    multipart: Multipart,
) -> Result<(Lang, Form), Response> {
    let lang = lang_of(headers);
    match read_form(multipart).await {
        Ok(form) => Ok((lang, form)),
        Err(msg) => Err(error_page(web, headers, lang, &Form::default(), &msg)),
    }
}

async fn ask_post(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let (lang, form) = match posted(&web, &headers, multipart).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let mut request = match request_of(&web, &form) {
        Ok(r) => r,
        Err(msg) => return error_page(&web, &headers, lang, &form, &msg),
    };
    let mut read_html = String::new();
    if let Some(bytes) = &form.photo {
        match read_photo(bytes).await {
            Ok(packet) => {
                if let Some(docs) = packet.documents() {
                    request.documents = Some(docs);
                }
                read_html = views::read(&web.texts, lang, &packet).unwrap_or_default();
            }
            Err(msg) => return error_page(&web, &headers, lang, &form, &msg),
        }
    }
    let today = chrono::Local::now().date_naive();
    let answer = match web.rules.decide(&request, today) {
        Ok(a) => a,
        Err(e) => return error_page(&web, &headers, lang, &form, &e.to_string()),
    };
    let body = if answer.basis == Basis::MissingFacts && !answer.questions.is_empty() {
        views::question(
            &web.texts,
            lang,
            &request,
            answer.questions[0].fact,
            &read_html,
        )
    } else {
        views::answer(
            &web.texts,
            lang,
            &web.settings,
            &request,
            &answer,
            &read_html,
        )
    };
    let title = web.texts.get(lang, "ask-title");
    match body {
        Ok(body) => respond(&web, &headers, lang, &title, body, StatusCode::OK),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn letter_post(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let (lang, form) = match posted(&web, &headers, multipart).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let request = match Request::from_json(&form.state) {
        Ok(r) => r,
        Err(e) => return error_page(&web, &headers, lang, &form, &e.to_string()),
    };
    let today = chrono::Local::now().date_naive();
    let answer = match web.rules.decide(&request, today) {
        Ok(a) => a,
        Err(e) => return error_page(&web, &headers, lang, &form, &e.to_string()),
    };
    let title = web
        .texts
        .get(lang, &format!("letter-title-{}", answer.outcome.as_str()));
    match views::letter(&web.texts, lang, &web.settings, &answer) {
        Ok(body) => respond(&web, &headers, lang, &title, body, StatusCode::OK),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn request_of(web: &Web, form: &Form) -> Result<Request, String> {
    if form.state.is_empty() {
        return choices::first_request(
            web.settings.jurisdiction,
            &form.where_,
            &form.who,
            &form.what,
            &form.paper,
        )
        .map_err(|e| e.to_string());
    }
    let mut request = Request::from_json(&form.state).map_err(|e| e.to_string())?;
    let fact = choices::fact_from_path(&form.fact).ok_or("fact: not a question this app asks")?;
    choices::apply(&mut request, fact, &form.answer).map_err(|e| e.to_string())?;
    Ok(request)
}

/// Read an uploaded paper with the document reader, off the async threads (OCR
/// takes seconds). The file is written to a private temporary file and removed.
async fn read_photo(bytes: &[u8]) -> Result<citygate_reader::Packet, String> {
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut file = tempfile::Builder::new()
            .prefix("citygate-upload-")
            .tempfile()
            .map_err(|e| format!("photo: cannot store the upload ({e})"))?;
        std::io::Write::write_all(&mut file, &bytes)
            .map_err(|e| format!("photo: cannot store the upload ({e})"))?;
        citygate_reader::read_files(&[file.path().to_path_buf()]).map_err(|e| format!("photo: {e}"))
    })
    .await
    .map_err(|_| "photo: the reader stopped".to_string())?
}

fn error_page(web: &Web, headers: &HeaderMap, lang: Lang, form: &Form, msg: &str) -> Response {
    let title = web.texts.get(lang, "error-title");
    match views::ask(&web.texts, lang, form, msg) {
        Ok(body) => respond(
            web,
            headers,
            lang,
            &title,
            body,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
