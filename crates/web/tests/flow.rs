//! The "someone is asking" flow over HTTP, as a browser without JavaScript would
//! drive it: post the first screen, answer each question the engine asks, read
//! the answer screen.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use citygate_engine::packs::embedded_packs;
use citygate_engine::RuleSet;
use citygate_web::{router, Settings, Web};
use http_body_util::BodyExt;
use tower::ServiceExt;

const BOUNDARY: &str = "citygate-test-boundary";

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    if let Some((name, bytes)) = file {
        body.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post(app: &axum::Router, body: Vec<u8>, lang: &str, htmx: bool) -> (StatusCode, String) {
    let mut req = Request::post("/ask")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("cookie", format!("lang={lang}"));
    if htmx {
        req = req.header("hx-request", "true");
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap_or_default())
        .await
        .unwrap_or_else(|e| match e {});
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(unescape(&html[start..end]))
}

fn app() -> axum::Router {
    let rules = RuleSet::load(&embedded_packs()).unwrap_or_else(|e| panic!("{e}"));
    router(Web::new(
        Arc::new(rules),
        Settings {
            law_department_phone: "312-555-0100".into(),
            ..Settings::default()
        },
    ))
}

/// Run the flow: first screen, then answer questions from `answers` (fact path,
/// value) in whatever order the engine asks. Returns the final page and the facts asked.
async fn flow(
    first: &[(&str, &str)],
    answers: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> (String, Vec<String>) {
    let app = app();
    let (status, mut html) = post(&app, multipart(first, file), "en", true).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let mut asked = Vec::new();
    for _ in 0..10 {
        let Some(fact) = hidden(&html, "fact") else {
            break;
        };
        let state = hidden(&html, "state").unwrap_or_default();
        let value = answers
            .iter()
            .find(|(f, _)| *f == fact)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("unexpected question {fact}: {html}"));
        asked.push(fact.clone());
        let (status, next) = post(
            &app,
            multipart(
                &[("state", &state), ("fact", &fact), ("answer", value)],
                None,
            ),
            "en",
            true,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{next}");
        html = next;
    }
    (html, asked)
}

fn outcome(html: &str) -> &str {
    ["decline", "comply", "refer"]
        .into_iter()
        .find(|o| html.contains(&format!("data-outcome=\"{o}\"")))
        .unwrap_or("none")
}

/// (case, first screen, answers, expected outcome, expected headline)
#[allow(clippy::type_complexity)]
const CASES: &[(&str, &[(&str, &str)], &[(&str, &str)], &str, &str)] = &[
    (
        "detainer at the jail",
        &[
            ("where", "jail"),
            ("who", "ice"),
            ("what", "hold"),
            ("paper", "ice-detainer"),
        ],
        &[("subject.in_custody", "true")],
        "decline",
        "Do not hold or hand over this person",
    ),
    (
        "phone call asking a release date",
        &[
            ("where", "jail"),
            ("who", "ice"),
            ("what", "release-date"),
            ("paper", "none"),
        ],
        &[],
        "decline",
        "Do not share this information",
    ),
    (
        "judge's criminal warrant",
        &[
            ("where", "jail"),
            ("who", "federal"),
            ("what", "hold"),
            ("paper", "judge-warrant"),
        ],
        &[
            ("documents[].signed_by", "magistrate_judge"),
            ("documents[].criminal", "true"),
        ],
        "comply",
        "This is a judge&#39;s warrant: comply, and do not interfere",
    ),
    (
        "ICE subpoena for ID records",
        &[
            ("where", "id-office"),
            ("who", "ice"),
            ("what", "id-records"),
            ("paper", "ice-subpoena"),
        ],
        &[("subject.consent", "none")],
        "decline",
        "Do not share this information",
    ),
    (
        "FOIA request for an arrest report",
        &[
            ("where", "records"),
            ("who", "public"),
            ("what", "foia-arrest"),
            ("paper", "foia"),
        ],
        &[],
        "comply",
        "Comply: the law requires it",
    ),
    (
        "written consent by the person",
        &[
            ("where", "human-services"),
            ("who", "public"),
            ("what", "status"),
            ("paper", "consent"),
        ],
        &[],
        "comply",
        "You may do this",
    ),
    (
        "ICE at the library door",
        &[
            ("where", "library"),
            ("who", "ice"),
            ("what", "enter"),
            ("paper", "none"),
        ],
        &[],
        "decline",
        "Do not allow this use or entry",
    ),
    (
        "search warrant at the library",
        &[
            ("where", "library"),
            ("who", "ice"),
            ("what", "enter"),
            ("paper", "judge-warrant"),
        ],
        &[("documents[].signed_by", "magistrate_judge")],
        "comply",
        "This is a judge&#39;s warrant: comply, and do not interfere",
    ),
    (
        "U visa certification",
        &[
            ("where", "police"),
            ("who", "self"),
            ("what", "visa"),
            ("paper", "none"),
        ],
        &[
            ("subject.crime_victim", "true"),
            ("subject.in_removal_proceedings", "false"),
        ],
        "comply",
        "Comply: the law requires it",
    ),
    (
        "ICE asks a person's status",
        &[
            ("where", "police"),
            ("who", "ice"),
            ("what", "status"),
            ("paper", "none"),
        ],
        &[],
        "refer",
        "Do nothing yet: call the Law Department",
    ),
    (
        "ICE wants a City lot",
        &[
            ("where", "other"),
            ("who", "ice"),
            ("what", "use-place"),
            ("paper", "none"),
        ],
        &[("purpose", "civil_immigration_enforcement")],
        "decline",
        "Do not allow this use or entry",
    ),
];

#[tokio::test]
async fn every_case_reaches_the_right_answer() {
    for (name, first, answers, expected, headline) in CASES {
        let (html, asked) = flow(first, answers, None).await;
        assert_eq!(
            outcome(&html),
            *expected,
            "{name} (asked {asked:?}): {html}"
        );
        assert!(
            html.contains(headline),
            "{name}: headline {headline:?} missing: {html}"
        );
        assert!(html.contains("<details>"), "{name}: no citations");
        assert!(
            html.contains("tel:312-555-0100"),
            "{name}: no Law Department number"
        );
    }
}

#[tokio::test]
async fn a_photo_of_the_paper_is_read_and_shown() {
    let detainer = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/documents/i247a_detainer.txt"
    ))
    .unwrap_or_default();
    let (html, _) = flow(
        &[
            ("where", "jail"),
            ("who", "ice"),
            ("what", "hold"),
            ("paper", "unknown"),
        ],
        &[("subject.in_custody", "true")],
        Some(("photo.txt", &detainer)),
    )
    .await;
    assert!(html.contains("What the paper says"), "{html}");
    assert!(html.contains("immigration_detainer"), "{html}");
    assert_eq!(outcome(&html), "decline", "{html}");
}

#[tokio::test]
async fn spanish_interface() {
    let app = app();
    let (status, html) = post(
        &app,
        multipart(
            &[
                ("where", "jail"),
                ("who", "ice"),
                ("what", "release-date"),
                ("paper", "none"),
            ],
            None,
        ),
        "es",
        false,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<html lang=\"es\">"), "{html}");
    assert!(html.contains("No comparta esta información"), "{html}");
}

#[tokio::test]
async fn a_missing_choice_is_a_clear_422() {
    let app = app();
    let (status, html) = post(
        &app,
        multipart(
            &[
                ("where", "jail"),
                ("who", "ice"),
                ("what", "teleport"),
                ("paper", "none"),
            ],
            None,
        ),
        "en",
        true,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("what: choose one of the options"), "{html}");
    let (status, html) = post(
        &app,
        multipart(
            &[
                ("state", "{not json"),
                ("fact", "documents"),
                ("answer", "none"),
            ],
            None,
        ),
        "en",
        true,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
}

#[tokio::test]
async fn pages_without_htmx_are_whole_documents() {
    let app = app();
    let resp = app
        .clone()
        .oneshot(Request::get("/ask").body(Body::empty()).unwrap_or_default())
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let html = String::from_utf8_lossy(&bytes);
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<legend>Who is asking?</legend>"));
    for asset in ["/static/htmx.min.js", "/static/app.css"] {
        let resp = app
            .clone()
            .oneshot(Request::get(asset).body(Body::empty()).unwrap_or_default())
            .await
            .unwrap_or_else(|e| match e {});
        assert_eq!(resp.status(), StatusCode::OK, "{asset}");
    }
}

#[test]
fn spanish_has_every_english_message() {
    let en = citygate_web::i18n::Texts::ids(include_str!("../i18n/en.ftl"));
    let es = citygate_web::i18n::Texts::ids(include_str!("../i18n/es.ftl"));
    let missing: Vec<&String> = en.iter().filter(|k| !es.contains(k)).collect();
    assert!(missing.is_empty(), "missing in es.ftl: {missing:?}");
    // Every choice the app offers has a label.
    for (k, _) in citygate_web::choices::WHO {
        assert!(en.contains(&format!("who-{k}")), "who-{k}");
    }
}

#[tokio::test]
async fn the_answer_prints_a_letter_citing_the_law() {
    let (html, _) = flow(
        &[
            ("where", "jail"),
            ("who", "ice"),
            ("what", "release-date"),
            ("paper", "none"),
        ],
        &[],
        None,
    )
    .await;
    let state = hidden(&html, "state").unwrap_or_default();
    let app = app();
    let (status, letter) =
        post_to(&app, "/letter", multipart(&[("state", &state)], None), "en").await;
    assert_eq!(status, StatusCode::OK, "{letter}");
    assert!(letter.contains("Response to your request"), "{letter}");
    assert!(letter.contains("We decline the request"), "{letter}");
    assert!(letter.contains("5 ILCS 805/15(h)(6)-(7)"), "{letter}");
    let (_, carta) = post_to(&app, "/letter", multipart(&[("state", &state)], None), "es").await;
    assert!(carta.contains("Rechazamos la solicitud"), "{carta}");
}

async fn post_to(
    app: &axum::Router,
    path: &str,
    body: Vec<u8>,
    lang: &str,
) -> (StatusCode, String) {
    let req = Request::post(path)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("cookie", format!("lang={lang}"))
        .body(Body::from(body))
        .unwrap_or_default();
    let resp = app
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}
