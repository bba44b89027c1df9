//! View models and askama templates. Every string a template prints is resolved
//! here (translated or taken from the answer), so the templates stay plain HTML.

use askama::Template;
use citygate_engine::pack::{Obligation, Outcome};
use citygate_engine::vocab::{Act, DocumentKind, Request};
use citygate_engine::{Answer, Fact};
use fluent_bundle::FluentArgs;

use crate::choices::{self, PAPER, WHAT, WHERE, WHO};
use crate::i18n::{Lang, Texts};
use crate::{Form, Settings};

#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    lang: &'a str,
    other_lang: &'a str,
    lang_switch: String,
    skip: String,
    title: &'a str,
    body: String,
}

pub(crate) fn page(t: &Texts, lang: Lang, title: &str, body: String) -> askama::Result<String> {
    Page {
        lang: lang.tag(),
        other_lang: lang.other().tag(),
        lang_switch: t.get(lang, "lang-switch"),
        skip: t.get(lang, "skip"),
        title,
        body,
    }
    .render()
}

struct Opt {
    value: String,
    label: String,
    checked: bool,
}

struct Group {
    name: &'static str,
    legend: String,
    options: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "ask.html")]
struct Ask {
    title: String,
    intro: String,
    error_title: String,
    error: String,
    groups: Vec<Group>,
    photo_label: String,
    photo_hint: String,
    submit: String,
}

fn group(
    t: &Texts,
    lang: Lang,
    name: &'static str,
    legend: &str,
    prefix: &str,
    ids: &[&str],
    picked: &str,
) -> Group {
    Group {
        name,
        legend: t.get(lang, legend),
        options: ids
            .iter()
            .map(|id| Opt {
                value: id.to_string(),
                label: t.get(lang, &format!("{prefix}-{id}")),
                checked: *id == picked,
            })
            .collect(),
    }
}

pub(crate) fn ask(t: &Texts, lang: Lang, form: &Form, error: &str) -> askama::Result<String> {
    let where_ids: Vec<&str> = WHERE.iter().map(|(k, _)| *k).collect();
    let who_ids: Vec<&str> = WHO.iter().map(|(k, _)| *k).collect();
    let what_ids: Vec<&str> = WHAT.iter().map(|(k, _, _)| *k).collect();
    let paper_ids: Vec<&str> = PAPER.iter().map(|(k, _)| *k).collect();
    Ask {
        title: t.get(lang, "ask-title"),
        intro: t.get(lang, "ask-intro"),
        error_title: t.get(lang, "error-title"),
        error: error.to_string(),
        groups: vec![
            group(
                t,
                lang,
                "where",
                "where-legend",
                "where",
                &where_ids,
                &form.where_,
            ),
            group(t, lang, "who", "who-legend", "who", &who_ids, &form.who),
            group(
                t,
                lang,
                "what",
                "what-legend",
                "what",
                &what_ids,
                &form.what,
            ),
            group(
                t,
                lang,
                "paper",
                "paper-legend",
                "paper",
                &paper_ids,
                &form.paper,
            ),
        ],
        photo_label: t.get(lang, "photo-label"),
        photo_hint: t.get(lang, "photo-hint"),
        submit: t.get(lang, "submit"),
    }
    .render()
}

#[derive(Template)]
#[template(path = "question.html")]
struct Question {
    read: String,
    title: String,
    state: String,
    fact: &'static str,
    question: String,
    options: Vec<Opt>,
    next: String,
    start_over: String,
}

pub(crate) fn question(
    t: &Texts,
    lang: Lang,
    request: &Request,
    fact: Fact,
    read: &str,
) -> askama::Result<String> {
    Question {
        read: read.to_string(),
        title: t.get(lang, "question-title"),
        state: serde_json::to_string(request).unwrap_or_default(),
        fact: fact.path(),
        question: t.get(lang, choices::question_key(fact)),
        options: choices::options(fact)
            .into_iter()
            .map(|o| Opt {
                label: t.get(lang, &o.label_key),
                value: o.value,
                checked: false,
            })
            .collect(),
        next: t.get(lang, "next"),
        start_over: t.get(lang, "start-over"),
    }
    .render()
}

struct Cite {
    citation: String,
    confidence: &'static str,
    explanation: String,
    excerpt: String,
}

#[derive(Template)]
#[template(path = "answer.html")]
struct AnswerView {
    read: String,
    outcome: &'static str,
    headline: String,
    say_title: String,
    say: String,
    do_title: String,
    actions: Vec<String>,
    why_title: String,
    citations: Vec<Cite>,
    call_title: String,
    phone: String,
    no_phone: String,
    meta: String,
    start_over: String,
    state: String,
    letter_button: String,
}

/// The headline: what to do, in the words of the act asked.
pub fn headline_key(request: &Request, answer: &Answer) -> &'static str {
    let judicial = request
        .documents
        .iter()
        .flatten()
        .any(|d| d.kind == DocumentKind::JudicialWarrant);
    match (answer.outcome, answer.obligation) {
        (Outcome::Comply, Some(Obligation::Must)) if judicial => "head-comply-warrant",
        (Outcome::Comply, Some(Obligation::Must)) => "head-comply-must",
        (Outcome::Comply, _) => "head-comply-may",
        (Outcome::Refer, _) => "head-refer",
        (Outcome::Decline, _) => match request.act {
            Act::Detain | Act::TransferCustody => "head-decline-hold",
            Act::GrantAccessToPerson => "head-decline-access",
            Act::ShareInformation | Act::GrantDatabaseAccess | Act::ReleasePublicRecords => {
                "head-decline-share"
            }
            Act::GrantFacilityUse | Act::PermitEntry => "head-decline-place",
            Act::AssistOperation | Act::EnterAgreement => "head-decline-assist",
            Act::AskStatus | Act::ConditionBenefit => "head-decline-status",
            Act::CertifyVictim => "head-decline",
        },
    }
}

pub(crate) fn answer(
    t: &Texts,
    lang: Lang,
    settings: &Settings,
    request: &Request,
    a: &Answer,
    read: &str,
) -> askama::Result<String> {
    let mut args = FluentArgs::new();
    args.set("date", a.law_date.to_string());
    args.set(
        "hash",
        a.rules_hash.get(..12).unwrap_or(a.rules_hash).to_string(),
    );
    AnswerView {
        read: read.to_string(),
        outcome: a.outcome.as_str(),
        headline: t.get(lang, headline_key(request, a)),
        say_title: t.get(lang, "answer-say"),
        say: a.say().unwrap_or_default().to_string(),
        do_title: t.get(lang, "answer-do"),
        actions: a.actions.iter().map(|s| s.to_string()).collect(),
        why_title: t.get(lang, "answer-why"),
        citations: a
            .cited()
            .into_iter()
            .map(|p| Cite {
                citation: p.citation.clone(),
                confidence: p.confidence.label(),
                explanation: p.explanation.clone(),
                excerpt: p.excerpt.clone(),
            })
            .collect(),
        call_title: t.get(lang, "answer-call"),
        phone: settings.law_department_phone.clone(),
        no_phone: t.get(lang, "answer-no-phone"),
        meta: t.get_with(lang, "answer-date", Some(&args)),
        start_over: t.get(lang, "start-over"),
        state: serde_json::to_string(request).unwrap_or_default(),
        letter_button: t.get(lang, "letter-button"),
    }
    .render()
}

#[derive(Template)]
#[template(path = "letter.html")]
struct Letter {
    agency: String,
    date: String,
    title: String,
    opening: String,
    body: String,
    basis: String,
    citations: Vec<String>,
    closing: String,
    signature: String,
    meta: String,
    print: String,
    start_over: String,
}

/// The letter to the requester: a declination, an acknowledgment (referral) or a
/// record of disclosure, citing the provisions the answer rests on.
pub(crate) fn letter(
    t: &Texts,
    lang: Lang,
    settings: &Settings,
    a: &Answer,
) -> askama::Result<String> {
    let kind = a.outcome.as_str();
    let mut args = FluentArgs::new();
    args.set("agency", settings.agency_name.clone());
    args.set("date", a.law_date.to_string());
    let mut meta = FluentArgs::new();
    meta.set("date", a.law_date.to_string());
    meta.set(
        "hash",
        a.rules_hash.get(..12).unwrap_or(a.rules_hash).to_string(),
    );
    Letter {
        agency: settings.agency_name.clone(),
        date: a.law_date.to_string(),
        title: t.get(lang, &format!("letter-title-{kind}")),
        opening: t.get_with(lang, "letter-opening", Some(&args)),
        body: t.get(lang, &format!("letter-{kind}")),
        basis: t.get(lang, "letter-basis"),
        citations: a.deciding.iter().map(|p| p.citation.clone()).collect(),
        closing: t.get(lang, "letter-closing"),
        signature: t.get(lang, "letter-signature"),
        meta: t.get_with(lang, "answer-date", Some(&meta)),
        print: t.get(lang, "letter-print"),
        start_over: t.get(lang, "start-over"),
    }
    .render()
}

#[derive(Template)]
#[template(path = "read.html")]
struct Read {
    title: String,
    documents: Vec<String>,
    uncertain: String,
    reasons: Vec<String>,
}

pub(crate) fn read(
    t: &Texts,
    lang: Lang,
    packet: &citygate_reader::Packet,
) -> askama::Result<String> {
    Read {
        title: t.get(lang, "read-title"),
        documents: packet
            .sources()
            .iter()
            .map(|s| {
                let signer = s
                    .document
                    .signed_by
                    .map(|x| format!(", {x}"))
                    .unwrap_or_default();
                let criminal = match s.document.criminal {
                    Some(true) => ", criminal",
                    _ => "",
                };
                format!("{}{signer}{criminal}", s.document.kind)
            })
            .collect(),
        uncertain: t.get(lang, "read-uncertain"),
        reasons: packet.overall.reasons.clone(),
    }
    .render()
}
