//! "Someone is asking": the first screen's plain choices (or a photo of the paper),
//! then only the engine's questions, one at a time, then the answer, with a form
//! that records it as a case.

use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use citygate_engine::vocab::Request;
use citygate_engine::Basis;
use citygate_server::routes::documents::field_bytes;

use crate::session::Staff;
use crate::settings::Settings;
use crate::{choices, staff_page, views, Web};

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
    /// The session's CSRF token.
    pub csrf: String,
    /// `yes` when the user confirmed what the reader found on their paper.
    pub confirm: String,
    /// An uploaded paper.
    pub photo: Option<Vec<u8>>,
}

async fn read_form(mut multipart: Multipart) -> Result<Form, String> {
    let mut form = Form::default();
    while let Some(mut field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "photo" {
            let bytes = field_bytes(&mut field).await.map_err(|e| e.to_string())?;
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
            "csrf" => form.csrf = value,
            "confirm" => form.confirm = value,
            _ => {}
        }
    }
    Ok(form)
}

/// The agency settings, or the page that says the store did not answer.
pub(crate) async fn settings_or_error(
    web: &Web,
    headers: &HeaderMap,
    staff: &Staff,
) -> Result<Settings, Response> {
    Settings::load(web.state.store.as_ref()).await.map_err(|e| {
        tracing::error!(error = %e, "cannot read the agency settings");
        crate::service_error(
            web,
            headers,
            staff,
            citygate_server::error::ApiError::Internal,
        )
    })
}

pub(crate) async fn ask_page(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
) -> Response {
    let body = views::ask(&web.texts, staff.lang, &staff.csrf, &Form::default(), "");
    staff_page(&web, &headers, &staff, "ask-title", body, StatusCode::OK)
}

/// The posted form, checked against the session, or the page to answer with.
async fn posted(
    web: &Web,
    headers: &HeaderMap,
    staff: &Staff,
    multipart: Multipart,
) -> Result<Form, Response> {
    let form = match read_form(multipart).await {
        Ok(form) => form,
        Err(msg) => return Err(error_page(web, headers, staff, &Form::default(), &msg)),
    };
    if !staff.csrf_ok(&form.csrf) {
        let msg = web.texts.get(staff.lang, "csrf-failed");
        return Err(error_page(web, headers, staff, &Form::default(), &msg));
    }
    Ok(form)
}

pub(crate) async fn ask_post(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    multipart: Multipart,
) -> Response {
    let form = match posted(&web, &headers, &staff, multipart).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let settings = match settings_or_error(&web, &headers, &staff).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let lang = staff.lang;
    let mut request = match request_of(&settings, &form) {
        Ok(r) => r,
        Err(msg) => return error_page(&web, &headers, &staff, &form, &msg),
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
            Err(msg) => return error_page(&web, &headers, &staff, &form, &msg),
        }
        // What the reader found is shown for the user to confirm before it counts.
        let body = views::confirm(&web.texts, lang, &staff.csrf, &request, &read_html);
        return staff_page(
            &web,
            &headers,
            &staff,
            "confirm-title",
            body,
            StatusCode::OK,
        );
    }
    let today = chrono::Local::now().date_naive();
    let answer = match web.state.rules.decide(&request, today) {
        Ok(a) => a,
        Err(e) => return error_page(&web, &headers, &staff, &form, &e.to_string()),
    };
    let body = if answer.basis == Basis::MissingFacts && !answer.questions.is_empty() {
        views::question(
            &web.texts,
            lang,
            &staff.csrf,
            &request,
            answer.questions[0].fact,
            &read_html,
        )
    } else {
        views::answer(&web.texts, &staff, &settings, &request, &answer, &read_html)
    };
    staff_page(&web, &headers, &staff, "ask-title", body, StatusCode::OK)
}

/// The letter for an answer not (yet) recorded as a case.
pub(crate) async fn letter_post(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    multipart: Multipart,
) -> Response {
    let form = match posted(&web, &headers, &staff, multipart).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let settings = match settings_or_error(&web, &headers, &staff).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let request = match Request::from_json(&form.state) {
        Ok(r) => r,
        Err(e) => return error_page(&web, &headers, &staff, &form, &e.to_string()),
    };
    let today = chrono::Local::now().date_naive();
    let answer = match web.state.rules.decide(&request, today) {
        Ok(a) => a,
        Err(e) => return error_page(&web, &headers, &staff, &form, &e.to_string()),
    };
    let letter = views::LetterFacts::of_answer(&answer);
    let body = views::letter(&web.texts, staff.lang, &settings, &letter);
    staff_page(
        &web,
        &headers,
        &staff,
        &format!("letter-title-{}", letter.kind),
        body,
        StatusCode::OK,
    )
}

fn request_of(settings: &Settings, form: &Form) -> Result<Request, String> {
    if form.state.is_empty() {
        return choices::first_request(
            settings.jurisdiction,
            &form.where_,
            &form.who,
            &form.what,
            &form.paper,
        )
        .map_err(|e| e.to_string());
    }
    let mut request = Request::from_json(&form.state).map_err(|e| e.to_string())?;
    if form.fact.is_empty() && form.confirm == "yes" {
        // The reading of the paper, as the user confirmed it.
        return Ok(request);
    }
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

fn error_page(web: &Web, headers: &HeaderMap, staff: &Staff, form: &Form, msg: &str) -> Response {
    let body = views::ask(&web.texts, staff.lang, &staff.csrf, form, msg);
    staff_page(
        web,
        headers,
        staff,
        "error-title",
        body,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}
