//! Public-records releases from a records case: the records officer uploads a record,
//! picks a release policy and gets the redacted file and its redaction log to download
//! (`crate::downloads`), with the uncertain candidates to decide. Deciding them sends the
//! same record again (the service keeps no copy) with the decisions, as `citygate redact
//! --decisions` does.
//! The release itself is the service's (`releases::releasable` then `release_on`): same
//! role and case checks, same ledger entry before anything leaves.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use citygate_redaction::release::LOG_FILE;
use citygate_server::error::ApiError;
use citygate_server::routes::documents::field_bytes;
use citygate_server::routes::releases::{releasable, release_on, ReleaseInput};

use crate::downloads::attachment;
use crate::session::Staff;
use crate::{check_csrf, service_error, staff_page, views, Web};

/// The posted release form.
#[derive(Default)]
struct ReleaseForm {
    csrf: String,
    policy: String,
    /// The record and the name the browser gave it.
    file: Option<(Bytes, Option<String>)>,
    /// `candidate_N`: review lines this page was given, by N.
    candidates: Vec<(usize, String)>,
    /// `decision_N`: `redact`, `keep` or empty (left for later), by N.
    decisions: Vec<(usize, String)>,
}

/// Most review candidates a form may decide at once (the page lists at most this many).
pub(crate) const MAX_CANDIDATES: usize = 1000;

/// N of a `prefix_N` field name, when it is one.
fn numbered(name: &str, prefix: &str) -> Option<usize> {
    name.strip_prefix(prefix)?
        .parse()
        .ok()
        .filter(|n| *n < MAX_CANDIDATES)
}

async fn read_form(mut multipart: Multipart) -> Result<ReleaseForm, ApiError> {
    let malformed = || ApiError::field("file", "malformed multipart/form-data body");
    let mut form = ReleaseForm::default();
    while let Some(mut field) = multipart.next_field().await.map_err(|_| malformed())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            // A browser may send a full path: the service's `record_name` keeps its last
            // component and checks it.
            let file_name = field.file_name().map(str::to_owned);
            form.file = Some((field_bytes(&mut field).await?, file_name));
            continue;
        }
        let value = field.text().await.map_err(|_| malformed())?;
        match name.as_str() {
            "csrf" => form.csrf = value,
            "policy" => form.policy = value,
            other => {
                if let Some(n) = numbered(other, "candidate_") {
                    form.candidates.push((n, value));
                } else if let Some(n) = numbered(other, "decision_") {
                    form.decisions.push((n, value));
                }
            }
        }
    }
    Ok(form)
}

/// The decided review lines as the service reads them (JSON Lines), or `None` when
/// nothing was decided. Errors name the form field, never its value.
fn decision_lines(form: &ReleaseForm) -> Result<Option<Bytes>, ApiError> {
    let mut lines = String::new();
    for (n, decision) in &form.decisions {
        let decision = decision.trim();
        if decision.is_empty() {
            continue;
        }
        if decision != "redact" && decision != "keep" {
            return Err(ApiError::field(
                format!("decision_{n}"),
                "must be redact, keep or left empty",
            ));
        }
        let not_given = || {
            ApiError::field(
                format!("candidate_{n}"),
                "is not a review candidate this page was given",
            )
        };
        let line = form
            .candidates
            .iter()
            .find(|(m, _)| m == n)
            .ok_or_else(not_given)?;
        let mut entry = match serde_json::from_str::<serde_json::Value>(&line.1) {
            Ok(serde_json::Value::Object(entry)) => entry,
            _ => return Err(not_given()),
        };
        entry.insert("decision".into(), decision.into());
        lines.push_str(&serde_json::Value::Object(entry).to_string());
        lines.push('\n');
    }
    Ok((!lines.is_empty()).then(|| Bytes::from(lines)))
}

/// Releases the posted record on case `id` and shows the result: downloads, counts, and
/// the candidates to decide.
pub(crate) async fn release(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    let form = match read_form(multipart).await {
        Ok(form) => form,
        Err(e) => return service_error(&web, &headers, &staff, e),
    };
    if let Err(page) = check_csrf(&web, &headers, &staff, &form.csrf) {
        return page;
    }
    let case = match releasable(&web.state, &staff.caller, &id).await {
        Ok(case) => case,
        Err(e) => return service_error(&web, &headers, &staff, e),
    };
    let decisions = match decision_lines(&form) {
        Ok(d) => d,
        Err(e) => return service_error(&web, &headers, &staff, e),
    };
    let Some((record, name)) = form.file.filter(|(bytes, _)| !bytes.is_empty()) else {
        let e = ApiError::field("file", "choose the record to release");
        return service_error(&web, &headers, &staff, e);
    };
    let input = ReleaseInput {
        policy: Some(form.policy).filter(|p| !p.is_empty()),
        name,
        record,
        decisions,
    };
    let released = match release_on(&web.state, &staff.caller, case, input).await {
        Ok(released) => released,
        Err(e) => return service_error(&web, &headers, &staff, e),
    };
    // The downloads are the bytes the release folder held, moved, not copied.
    let summary = released.summary;
    let account = staff.caller.account.id;
    let log_name = format!("{}.{LOG_FILE}", summary.file);
    let exemptions = exemptions(&released.log);
    let links = views::ReleaseLinks {
        file: web
            .downloads
            .keep(account, &summary.file, Bytes::from(released.content)),
        log: web
            .downloads
            .keep(account, &log_name, Bytes::from(released.log)),
        log_name,
    };
    let body = views::release_page(&web.texts, &staff, &id, &summary, &exemptions, &links);
    staff_page(
        &web,
        &headers,
        &staff,
        "release-title",
        body,
        StatusCode::OK,
    )
}

/// Each kind's exemption as the policy cites it, from the log's first line (its header).
fn exemptions(log: &str) -> serde_json::Value {
    log.lines()
        .next()
        .and_then(|header| serde_json::from_str::<serde_json::Value>(header).ok())
        .map(|header| header["kinds"].clone())
        .unwrap_or_default()
}

/// A released file or log, for the officer who released it, while it is kept
/// ([`crate::downloads::TTL`]); otherwise a 404 page that says so.
pub(crate) async fn download(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    staff: Staff,
    Path(token): Path<String>,
) -> Response {
    match web.downloads.get(staff.caller.account.id, &token) {
        Some((name, bytes)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                (header::CONTENT_DISPOSITION, attachment(&name)),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        None => {
            let e = ApiError::NotFound(
                "no such download: a released file is kept 30 minutes, for the officer who released it",
            );
            service_error(&web, &headers, &staff, e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(candidates: &[(usize, &str)], decisions: &[(usize, &str)]) -> ReleaseForm {
        ReleaseForm {
            candidates: candidates
                .iter()
                .map(|(n, s)| (*n, s.to_string()))
                .collect(),
            decisions: decisions.iter().map(|(n, s)| (*n, s.to_string())).collect(),
            ..ReleaseForm::default()
        }
    }

    const LINE: &str = r#"{"kind":"SSN","candidate":"512449012","span":[13,22]}"#;

    #[test]
    fn decided_candidates_become_decision_lines() {
        let lines = decision_lines(&form(
            &[(0, LINE), (1, LINE), (2, LINE)],
            &[(0, "redact"), (1, ""), (2, "keep")],
        ))
        .unwrap()
        .unwrap();
        let text = std::str::from_utf8(&lines).unwrap();
        let decided: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(decided.len(), 2, "{text}");
        assert_eq!(decided[0]["decision"], "redact");
        assert_eq!(decided[0]["candidate"], "512449012");
        assert_eq!(decided[1]["decision"], "keep");
        assert_eq!(
            decision_lines(&form(&[(0, LINE)], &[(0, " ")])).unwrap(),
            None
        );
    }

    /// A bad field is named; its value (a candidate's text) never is.
    #[test]
    fn bad_decisions_name_the_field_never_the_value() {
        let cases = [
            (form(&[(0, LINE)], &[(0, "maybe")]), "decision_0"),
            (form(&[], &[(3, "redact")]), "candidate_3"),
            (form(&[(0, "512449012")], &[(0, "keep")]), "candidate_0"),
        ];
        for (f, field) in cases {
            let e = decision_lines(&f).unwrap_err();
            let text = format!("{e:?} {e}");
            assert!(text.contains(field), "{text}");
            assert!(!text.contains("512449012"), "{text}");
        }
    }

    #[test]
    fn only_bounded_numbered_fields_count() {
        assert_eq!(numbered("decision_7", "decision_"), Some(7));
        assert_eq!(numbered("decision_", "decision_"), None);
        assert_eq!(numbered("decision_x", "decision_"), None);
        assert_eq!(numbered("candidate_7", "decision_"), None);
        assert_eq!(
            numbered(&format!("decision_{MAX_CANDIDATES}"), "decision_"),
            None
        );
    }
}
