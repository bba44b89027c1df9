//! View models and askama templates. Every string a template prints is resolved
//! here (translated or taken from the answer), so the templates stay plain HTML.

use askama::Template;
use citygate_engine::pack::Obligation;
use citygate_engine::vocab::{Act, DocumentKind, Request};
use citygate_engine::{Answer, Fact};
use fluent_bundle::FluentArgs;

use citygate_store::Role;

use crate::choices::{self, PAPER, WHAT, WHERE, WHO};
use crate::i18n::{Lang, Texts};
use crate::session::Staff;
use crate::{Form, Settings};

/// Interface text in one language, for templates: `{{ t.get("key") }}`.
pub(crate) struct Tr<'a> {
    texts: &'a Texts,
    lang: Lang,
}

impl Tr<'_> {
    pub(crate) fn get(&self, key: &str) -> String {
        self.texts.get(self.lang, key)
    }
}

pub(crate) fn tr(texts: &Texts, lang: Lang) -> Tr<'_> {
    Tr { texts, lang }
}

/// A link in the header.
pub(crate) struct NavLink {
    href: &'static str,
    label: String,
}

/// The logged-in header: who, their links, and the log-out form.
pub(crate) struct Nav {
    user: String,
    role: String,
    links: Vec<NavLink>,
    csrf: String,
}

fn nav(t: &Texts, lang: Lang, staff: &Staff) -> Nav {
    let mut links: Vec<(&'static str, &str)> = Vec::new();
    let role = staff.role();
    if matches!(role, Role::Desk | Role::Records | Role::Supervisor) {
        links.push(("/ask", "nav-ask"));
    }
    if role != Role::Admin {
        links.push(("/cases", cases_title_key(role)));
    }
    if role == Role::Admin {
        links.push(("/admin", "nav-accounts"));
        links.push(("/admin/settings", "nav-settings"));
        links.push(("/admin/letters", "nav-letters"));
    }
    links.push(("/admin/rules", "nav-rules"));
    if matches!(role, Role::Admin | Role::Auditor) {
        links.push(("/admin/ledger", "nav-ledger"));
        links.push(("/admin/access-log", "nav-access"));
    }
    Nav {
        user: staff.caller.account.username.clone(),
        role: t.get(lang, &format!("role-{}", role.as_str())),
        links: links
            .into_iter()
            .map(|(href, key)| NavLink {
                href,
                label: t.get(lang, key),
            })
            .collect(),
        csrf: staff.csrf.clone(),
    }
}

/// The title of the case list for a role.
pub(crate) fn cases_title_key(role: Role) -> &'static str {
    match role {
        Role::Desk => "cases-mine",
        Role::Supervisor => "cases-department",
        Role::Counsel => "cases-queue",
        Role::Records => "cases-records",
        Role::Auditor | Role::Admin => "cases-all",
    }
}

#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    t: Tr<'a>,
    lang: &'a str,
    other_lang: &'a str,
    title: &'a str,
    nav: Option<Nav>,
    body: String,
}

pub(crate) fn page(
    t: &Texts,
    lang: Lang,
    staff: Option<&Staff>,
    title: &str,
    body: String,
) -> askama::Result<String> {
    Page {
        t: tr(t, lang),
        lang: lang.tag(),
        other_lang: lang.other().tag(),
        title,
        nav: staff.map(|s| nav(t, lang, s)),
        body,
    }
    .render()
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login<'a> {
    t: Tr<'a>,
    error: &'a str,
    /// Single sign-on is configured: offer it beside the password form.
    sso: bool,
}

pub(crate) fn login(t: &Texts, lang: Lang, error: &str, sso: bool) -> askama::Result<String> {
    Login {
        t: tr(t, lang),
        error,
        sso,
    }
    .render()
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    t: Tr<'a>,
    title: &'a str,
    message: &'a str,
}

/// A page with one message (an error from the service, a result).
pub(crate) fn message(t: &Texts, lang: Lang, title: &str, message: &str) -> askama::Result<String> {
    Message {
        t: tr(t, lang),
        title,
        message,
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
    csrf: String,
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

pub(crate) fn ask(
    t: &Texts,
    lang: Lang,
    csrf: &str,
    form: &Form,
    error: &str,
) -> askama::Result<String> {
    let where_ids: Vec<&str> = WHERE.iter().map(|(k, _)| *k).collect();
    let who_ids: Vec<&str> = WHO.iter().map(|(k, _)| *k).collect();
    let what_ids: Vec<&str> = WHAT.iter().map(|(k, _, _)| *k).collect();
    let paper_ids: Vec<&str> = PAPER.iter().map(|(k, _)| *k).collect();
    Ask {
        csrf: csrf.to_string(),
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
    csrf: String,
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
    csrf: &str,
    request: &Request,
    fact: Fact,
    read: &str,
) -> askama::Result<String> {
    Question {
        csrf: csrf.to_string(),
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
struct AnswerView<'a> {
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
    csrf: String,
    record: Option<RecordForm<'a>>,
}

/// The form that records an answer as a case (for the roles that open cases).
struct RecordForm<'a> {
    t: Tr<'a>,
    channels: Vec<Opt>,
}

const CHANNELS: [&str; 5] = ["in_person", "phone", "email", "mail", "records_portal"];

/// The headline: what to do, in the words of the act asked.
pub fn headline_key(request: &Request, answer: &Answer) -> &'static str {
    let must = answer.obligation == Some(Obligation::Must);
    headline_key_of(request, answer.outcome.as_str(), must)
}

/// The headline for an outcome (by its wire name) on a request; also for stored cases.
fn headline_key_of(request: &Request, outcome: &str, must: bool) -> &'static str {
    let judicial = request
        .documents
        .iter()
        .flatten()
        .any(|d| d.kind == DocumentKind::JudicialWarrant);
    match outcome {
        "comply" if must && judicial => "head-comply-warrant",
        "comply" if must => "head-comply-must",
        "comply" => "head-comply-may",
        "refer" => "head-refer",
        _ => match request.act {
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
    staff: &Staff,
    settings: &Settings,
    request: &Request,
    a: &Answer,
    read: &str,
) -> askama::Result<String> {
    let lang = staff.lang;
    let opens_cases = matches!(staff.role(), Role::Desk | Role::Records);
    let record = opens_cases.then(|| RecordForm {
        t: tr(t, lang),
        channels: CHANNELS
            .iter()
            .map(|c| Opt {
                value: c.to_string(),
                label: t.get(lang, &format!("channel-{c}")),
                checked: *c == "in_person",
            })
            .collect(),
    });
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
        csrf: staff.csrf.clone(),
        record,
    }
    .render()
}

#[derive(Template)]
#[template(path = "letter.html")]
struct Letter {
    agency: String,
    address: Vec<String>,
    date: String,
    title: String,
    to: String,
    opening: String,
    body: String,
    basis: String,
    citations: Vec<String>,
    closing: String,
    signature: String,
    meta: String,
    print: String,
    back: String,
    back_href: String,
}

/// What a letter says, from an answer just given or from a recorded case.
pub(crate) struct LetterFacts {
    /// decline (declination), refer (acknowledgment), comply (record of disclosure) or
    /// memo (referral memo to counsel).
    pub kind: String,
    /// The deciding provisions (id, citation, excerpt), for the HTML and the PDF letter.
    pub provisions: Vec<citygate_letters::Provision>,
    /// The day the law was applied for.
    pub law_date: String,
    /// The rule packs' hash.
    pub rules_hash: String,
    /// The requester, when the case recorded them.
    pub to: Option<String>,
    /// The case, when there is one.
    pub case_id: Option<String>,
}

impl LetterFacts {
    pub(crate) fn of_answer(a: &Answer) -> LetterFacts {
        LetterFacts {
            kind: a.outcome.as_str().to_owned(),
            provisions: a
                .deciding
                .iter()
                .map(|p| citygate_letters::Provision {
                    id: p.id.clone(),
                    citation: p.citation.clone(),
                    excerpt: p.excerpt.clone(),
                })
                .collect(),
            law_date: a.law_date.to_string(),
            rules_hash: a.rules_hash.to_owned(),
            to: None,
            case_id: None,
        }
    }
}

/// The letter to the requester: a declination, an acknowledgment (referral) or a
/// record of disclosure, citing the provisions the answer rests on; or the referral
/// memo to counsel.
pub(crate) fn letter(
    t: &Texts,
    lang: Lang,
    settings: &Settings,
    f: &LetterFacts,
) -> askama::Result<String> {
    let kind = f.kind.as_str();
    let mut args = FluentArgs::new();
    args.set("agency", settings.agency_name.clone());
    args.set("date", f.law_date.clone());
    args.set("case", f.case_id.clone().unwrap_or_default());
    let mut meta = FluentArgs::new();
    meta.set("date", f.law_date.clone());
    meta.set(
        "hash",
        f.rules_hash.get(..12).unwrap_or(&f.rules_hash).to_string(),
    );
    let (back, back_href) = match &f.case_id {
        Some(id) => (t.get(lang, "case-back"), format!("/cases/{id}")),
        None => (t.get(lang, "start-over"), "/ask".to_owned()),
    };
    let opening_key = if kind == "memo" {
        "letter-memo-opening"
    } else {
        "letter-opening"
    };
    Letter {
        agency: settings.agency_name.clone(),
        address: settings
            .agency_address
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.trim().is_empty())
            .collect(),
        date: f.law_date.clone(),
        title: t.get(lang, &format!("letter-title-{kind}")),
        to: f.to.clone().unwrap_or_default(),
        opening: t.get_with(lang, opening_key, Some(&args)),
        body: t.get(lang, &format!("letter-{kind}")),
        basis: t.get(lang, "letter-basis"),
        citations: f.provisions.iter().map(|p| p.citation.clone()).collect(),
        closing: t.get(
            lang,
            if kind == "memo" {
                "letter-memo-closing"
            } else {
                "letter-closing"
            },
        ),
        signature: t.get(lang, "letter-signature"),
        meta: t.get_with(lang, "answer-date", Some(&meta)),
        print: t.get(lang, "letter-print"),
        back,
        back_href,
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

/// UNIX seconds as a UTC time for people.
fn when(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

struct CaseRow {
    id: String,
    short: String,
    opened: String,
    channel: String,
    status: String,
    status_key: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CaseList<'a> {
    t: Tr<'a>,
    title: &'a str,
    rows: Vec<CaseRow>,
}

pub(crate) fn case_list(
    t: &Texts,
    lang: Lang,
    title: &str,
    cases: &[citygate_server::routes::cases::CaseSummary],
) -> askama::Result<String> {
    CaseList {
        t: tr(t, lang),
        title,
        rows: cases
            .iter()
            .map(|c| CaseRow {
                id: c.id.clone(),
                short: c.id.get(..8).unwrap_or(&c.id).to_owned(),
                opened: when(c.created_at),
                channel: t.get(lang, &format!("channel-{}", c.channel)),
                status: t.get(lang, &format!("status-{}", c.status)),
                status_key: c.status.clone(),
                outcome: t.get(lang, &format!("outcome-{}", c.outcome)),
            })
            .collect(),
    }
    .render()
}

struct EventRow {
    kind: String,
    at: String,
    actor: String,
    ledger_index: i64,
    details: Vec<(String, String)>,
}

struct Fieldline {
    label: String,
    value: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage<'a> {
    t: Tr<'a>,
    csrf: &'a str,
    id: &'a str,
    outcome: &'a str,
    headline: String,
    status_key: &'a str,
    facts: Vec<Fieldline>,
    personal: Vec<Fieldline>,
    personal_hidden: bool,
    /// Why the personal details are not shown.
    hidden_key: &'static str,
    say: String,
    actions: Vec<String>,
    citations: Vec<Cite>,
    events: Vec<EventRow>,
    letters: Vec<(String, String)>,
    can_sign_off: bool,
    can_resolve: bool,
    can_act: bool,
    can_disclose: bool,
    can_release: bool,
    /// The shipped release policies: id, what it is for, whether it is the default.
    policies: Vec<(&'static str, String, bool)>,
    /// The file types a release reads, for the file input.
    accept: String,
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A case's answer as a JSON tree, for the pages that read its fields. Stored by the
/// service, so it parses; a page without it is still a page.
pub(crate) fn answer_value(case: &citygate_server::routes::cases::CaseView) -> serde_json::Value {
    serde_json::from_str(case.answer.get()).unwrap_or_default()
}

pub(crate) fn case_page(
    t: &Texts,
    staff: &Staff,
    case: &citygate_server::routes::cases::CaseView,
    names: &std::collections::BTreeMap<i64, String>,
) -> askama::Result<String> {
    let lang = staff.lang;
    let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    let a = answer_value(case);
    let deciding_outcome = case.resolution.as_deref().unwrap_or(&case.outcome);
    let stored = case
        .personal
        .as_ref()
        .map(|p| serde_json::from_value::<Request>(p.request.clone()));
    let headline_key = match stored {
        Some(Ok(request)) => headline_key_of(
            &request,
            deciding_outcome,
            a["obligation"].as_str() == Some("must"),
        ),
        _ => match deciding_outcome {
            "comply" => "head-comply-may",
            "refer" => "head-refer",
            _ => "head-decline",
        },
    };
    let mut facts = vec![
        Fieldline {
            label: t.get(lang, "case-opened"),
            value: format!("{} · {}", when(case.created_at), name(case.created_by)),
        },
        Fieldline {
            label: t.get(lang, "case-channel"),
            value: t.get(lang, &format!("channel-{}", case.channel)),
        },
        Fieldline {
            label: t.get(lang, "case-department"),
            value: case.department.clone(),
        },
        Fieldline {
            label: t.get(lang, "case-status"),
            value: t.get(lang, &format!("status-{}", case.status)),
        },
        Fieldline {
            label: t.get(lang, "case-outcome"),
            value: t.get(lang, &format!("outcome-{}", case.outcome)),
        },
    ];
    if case.requires_signoff {
        facts.push(Fieldline {
            label: t.get(lang, "case-signoff"),
            value: match case.signed_off_by {
                Some(by) => name(by),
                None => t.get(lang, "case-signoff-pending"),
            },
        });
    }
    if let Some(r) = &case.resolution {
        facts.push(Fieldline {
            label: t.get(lang, "case-resolution"),
            value: t.get(lang, &format!("outcome-{r}")),
        });
    }
    if let Some(action) = &case.action {
        facts.push(Fieldline {
            label: t.get(lang, "case-action"),
            value: t.get(lang, &format!("action-{action}")),
        });
    }
    facts.push(Fieldline {
        label: t.get(lang, "case-rules"),
        value: format!(
            "{} ({})",
            case.rules_hash.get(..12).unwrap_or(&case.rules_hash),
            json_text(&a["law_date"])
        ),
    });
    if let Some(value) = retention_words(t, lang, &case.retention) {
        facts.push(Fieldline {
            label: t.get(lang, "case-retention"),
            value,
        });
    }
    let personal = case
        .personal
        .as_ref()
        .map(|p| {
            let mut v = vec![Fieldline {
                label: t.get(lang, "record-requester"),
                value: p.requester.name.clone(),
            }];
            for (key, value) in [
                ("record-organisation", &p.requester.organisation),
                ("record-contact", &p.requester.contact),
                ("record-subject", &p.subject_name),
                ("record-notes", &p.notes),
            ] {
                if let Some(value) = value {
                    v.push(Fieldline {
                        label: t.get(lang, key),
                        value: value.clone(),
                    });
                }
            }
            v
        })
        .unwrap_or_default();
    let citations = a["citations"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| Cite {
                    citation: json_text(&c["citation"]),
                    confidence: confidence_label(&c["confidence"]),
                    explanation: json_text(&c["explanation"]),
                    excerpt: json_text(&c["excerpt"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let events = case
        .events
        .iter()
        .map(|e| EventRow {
            kind: t.get(lang, &format!("event-{}", e.kind)),
            at: when(e.at),
            actor: name(e.actor),
            ledger_index: e.ledger_index,
            details: e
                .details
                .as_ref()
                .and_then(|d| d.as_object())
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (t.get(lang, &format!("detail-{k}")), json_text(v)))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let role = staff.role();
    let mine = case.personal.is_some();
    let may_act = mine && matches!(role, Role::Desk | Role::Records);
    CasePage {
        t: tr(t, lang),
        csrf: &staff.csrf,
        id: &case.id,
        outcome: match deciding_outcome {
            "comply" => "comply",
            "refer" => "refer",
            _ => "decline",
        },
        headline: t.get(lang, headline_key),
        status_key: &case.status,
        facts,
        personal,
        personal_hidden: case.personal.is_none(),
        hidden_key: if case.retention.details_purged_at.is_some() {
            "case-personal-purged"
        } else {
            "case-personal-hidden"
        },
        say: json_text(&a["say"]),
        actions: a["actions"]
            .as_array()
            .map(|xs| xs.iter().map(json_text).collect())
            .unwrap_or_default(),
        citations,
        events,
        letters: crate::cases::letter_kinds(case)
            .into_iter()
            .map(|k| (k.to_owned(), t.get(lang, &format!("letter-title-{k}"))))
            .collect(),
        can_sign_off: role == Role::Supervisor && case.status == "awaiting_signoff",
        can_resolve: role == Role::Counsel && case.status == "awaiting_counsel",
        can_act: may_act && case.status == "awaiting_action",
        can_disclose: may_act && case.action.as_deref() == Some("complied"),
        // The service's own checks (`releases::releasable`), stated for the page.
        can_release: mine
            && role == Role::Records
            && deciding_outcome == "comply"
            && case.action.as_deref() != Some("declined"),
        policies: citygate_redaction::policy::SHIPPED
            .iter()
            .map(|(id, _)| {
                let label = t.get(lang, &format!("policy-{id}"));
                (
                    *id,
                    label,
                    *id == citygate_redaction::policy::DEFAULT_POLICY,
                )
            })
            .collect(),
        accept: citygate_redaction::release::SUPPORTED.replace(' ', ","),
    }
    .render()
}

/// What the retention rules let the city keep of this case, and what was destroyed.
fn retention_words(
    t: &Texts,
    lang: Lang,
    r: &citygate_server::routes::cases::RetentionView,
) -> Option<String> {
    if r.limits.is_empty() {
        return None;
    }
    let words: Vec<String> = r
        .limits
        .iter()
        .map(|l| {
            let what = t.get(lang, &format!("retention-{}", l.what.as_str()));
            let keep = match l.keep_days_after_close {
                0 => t.get(lang, "retention-until-close"),
                n => format!("{n} {}", t.get(lang, "retention-days-after-close")),
            };
            let purged = match l.what {
                citygate_engine::Kept::Documents => r.documents_purged_at.or(r.details_purged_at),
                citygate_engine::Kept::Details => r.details_purged_at,
            };
            match purged {
                Some(at) => format!(
                    "{what}: {keep} ({}: {}) · {}",
                    l.rule,
                    t.get(lang, "retention-purged"),
                    when(at)
                ),
                None => format!("{what}: {keep} ({})", l.rule),
            }
        })
        .collect();
    Some(words.join("; "))
}

fn confidence_label(wire: &serde_json::Value) -> &'static str {
    serde_json::from_value::<citygate_engine::Confidence>(wire.clone()).map_or("", |c| c.label())
}

struct AccountRow {
    id: i64,
    username: String,
    department: String,
    disabled: bool,
    roles: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct Accounts<'a> {
    t: Tr<'a>,
    csrf: &'a str,
    rows: Vec<AccountRow>,
    roles: Vec<Opt>,
    auditors: Vec<Opt>,
}

fn role_options(t: &Texts, lang: Lang, picked: &str) -> Vec<Opt> {
    Role::ALL
        .iter()
        .map(|r| Opt {
            value: r.as_str().to_owned(),
            label: t.get(lang, &format!("role-{}", r.as_str())),
            checked: r.as_str() == picked,
        })
        .collect()
}

pub(crate) fn accounts(
    t: &Texts,
    staff: &Staff,
    accounts: &[citygate_server::routes::accounts::AccountView],
) -> askama::Result<String> {
    let lang = staff.lang;
    Accounts {
        t: tr(t, lang),
        csrf: &staff.csrf,
        rows: accounts
            .iter()
            .map(|a| AccountRow {
                id: a.id,
                username: a.username.clone(),
                department: a.department.clone(),
                disabled: a.disabled,
                roles: role_options(t, lang, &a.role),
            })
            .collect(),
        roles: role_options(t, lang, "desk"),
        auditors: accounts
            .iter()
            .filter(|a| a.role == "auditor" && !a.disabled)
            .map(|a| Opt {
                value: a.id.to_string(),
                label: a.username.clone(),
                checked: false,
            })
            .collect(),
    }
    .render()
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage<'a> {
    t: Tr<'a>,
    csrf: &'a str,
    s: &'a Settings,
    jurisdictions: Vec<Opt>,
    saved: bool,
}

pub(crate) fn settings(
    t: &Texts,
    staff: &Staff,
    s: &Settings,
    saved: bool,
) -> askama::Result<String> {
    SettingsPage {
        t: tr(t, staff.lang),
        csrf: &staff.csrf,
        s,
        jurisdictions: citygate_engine::vocab::Jurisdiction::ALL
            .iter()
            .map(|j| Opt {
                value: j.as_str().to_owned(),
                label: j.as_str().to_owned(),
                checked: *j == s.jurisdiction,
            })
            .collect(),
        saved,
    }
    .render()
}

#[derive(Template)]
#[template(path = "rules.html")]
struct Rules<'a> {
    t: Tr<'a>,
    text: &'a str,
}

pub(crate) fn rules(t: &Texts, lang: Lang, text: &str) -> askama::Result<String> {
    Rules {
        t: tr(t, lang),
        text,
    }
    .render()
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage<'a> {
    t: Tr<'a>,
    csrf: &'a str,
    size: u64,
    checkpoint: &'a str,
    key: &'a str,
    verdict: Option<(bool, String)>,
}

pub(crate) fn ledger(
    t: &Texts,
    staff: &Staff,
    size: u64,
    checkpoint: &str,
    key: &str,
    verdict: Option<(bool, String)>,
) -> askama::Result<String> {
    LedgerPage {
        t: tr(t, staff.lang),
        csrf: &staff.csrf,
        size,
        checkpoint,
        key,
        verdict,
    }
    .render()
}

struct AccessRow {
    at: String,
    who: String,
    case_id: String,
    what: String,
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessLog<'a> {
    t: Tr<'a>,
    rows: Vec<AccessRow>,
}

pub(crate) fn access_log(
    t: &Texts,
    lang: Lang,
    entries: &[citygate_store::AccessEntry],
    names: &std::collections::BTreeMap<i64, String>,
) -> askama::Result<String> {
    AccessLog {
        t: tr(t, lang),
        rows: entries
            .iter()
            .map(|e| AccessRow {
                at: when(e.at),
                who: names
                    .get(&e.account_id)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", e.account_id)),
                case_id: e.case_id.clone(),
                what: e.what.clone(),
            })
            .collect(),
    }
    .render()
}

#[derive(Template)]
#[template(path = "templates.html")]
struct Templates<'a> {
    t: Tr<'a>,
    csrf: &'a str,
    kinds: Vec<Opt>,
    langs: Vec<Opt>,
    kind: &'a str,
    lang: &'a str,
    text: &'a str,
    saved: bool,
    outcome: Option<(bool, String)>,
}

/// The letter template editor.
pub(crate) fn templates(
    t: &Texts,
    staff: &Staff,
    kind: &str,
    lang: &str,
    text: &str,
    saved: bool,
    outcome: Option<(bool, String)>,
) -> askama::Result<String> {
    let tl = staff.lang;
    Templates {
        t: tr(t, tl),
        csrf: &staff.csrf,
        kinds: citygate_letters::LetterKind::ALL
            .iter()
            .map(|k| Opt {
                value: k.as_str().to_owned(),
                label: t.get(tl, &format!("letters-kind-{}", k.as_str())),
                checked: k.as_str() == kind,
            })
            .collect(),
        langs: ["en", "es"]
            .iter()
            .map(|l| Opt {
                value: (*l).to_owned(),
                label: t.get(tl, &format!("letters-lang-{l}")),
                checked: *l == lang,
            })
            .collect(),
        kind,
        lang,
        text,
        saved,
        outcome,
    }
    .render()
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct Confirm<'a> {
    t: Tr<'a>,
    csrf: &'a str,
    read: &'a str,
    state: String,
}

/// What the reader found on the paper, for the user to confirm before it counts.
pub(crate) fn confirm(
    t: &Texts,
    lang: Lang,
    csrf: &str,
    request: &Request,
    read: &str,
) -> askama::Result<String> {
    Confirm {
        t: tr(t, lang),
        csrf,
        read,
        state: serde_json::to_string(request).unwrap_or_default(),
    }
    .render()
}

/// Where the release page's downloads are (`/releases/{token}`).
pub(crate) struct ReleaseLinks {
    /// The released file's token.
    pub file: String,
    /// The redaction log's token.
    pub log: String,
    /// `report.csv.redaction-log.jsonl`: one per released file, so downloads do not clash.
    pub log_name: String,
}

/// One uncertain candidate on the release page, with the review line to send back.
struct CandidateRow {
    n: usize,
    location: String,
    kind: String,
    confidence: String,
    candidate: String,
    /// The review line as the service gave it (JSON), returned with the decision.
    line: String,
}

#[derive(Template)]
#[template(path = "release.html")]
struct ReleasePage<'a> {
    t: Tr<'a>,
    csrf: &'a str,
    id: &'a str,
    view: &'a citygate_server::routes::releases::ReleaseSummary,
    facts: Vec<Fieldline>,
    /// Kind, count, and the exemption the policy cites for it (from the log's header).
    redactions: Vec<(String, u64, String)>,
    links: &'a ReleaseLinks,
    candidates: Vec<CandidateRow>,
    /// More candidates than one form decides; the rest come back on the next release.
    candidates_left: usize,
}

/// Where a review candidate is, in words (`line 3`, `row 2 · column Phone`).
fn location_words(t: &Texts, lang: Lang, location: &serde_json::Value) -> String {
    location
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| k.as_str() != "type")
                .map(|(k, v)| format!("{} {}", t.get(lang, &format!("loc-{k}")), json_text(v)))
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .unwrap_or_default()
}

/// The result of a release: what was redacted, the files to download, and the uncertain
/// candidates to decide (their text is the officer's own upload).
pub(crate) fn release_page(
    t: &Texts,
    staff: &Staff,
    id: &str,
    view: &citygate_server::routes::releases::ReleaseSummary,
    exemptions: &serde_json::Value,
    links: &ReleaseLinks,
) -> askama::Result<String> {
    let lang = staff.lang;
    let fact = |key: &str, value: String| Fieldline {
        label: t.get(lang, key),
        value,
    };
    let total: u64 = view.redactions.values().sum();
    let mut facts = vec![
        fact("release-file", view.file.clone()),
        fact(
            "release-policy",
            t.get(lang, &format!("policy-{}", view.policy)),
        ),
        fact("release-format", view.format.clone()),
        fact("release-redactions", total.to_string()),
    ];
    if view.decisions > 0 {
        facts.push(fact("release-decisions", view.decisions.to_string()));
    }
    facts.push(fact("release-sha256", view.sha256_out.clone()));
    let candidates: Vec<CandidateRow> = view
        .review
        .iter()
        .take(crate::releases::MAX_CANDIDATES)
        .enumerate()
        .map(|(n, r)| CandidateRow {
            n,
            location: location_words(t, lang, &r["location"]),
            kind: json_text(&r["kind"]),
            confidence: json_text(&r["confidence"]),
            candidate: json_text(&r["candidate"]),
            line: r.to_string(),
        })
        .collect();
    ReleasePage {
        t: tr(t, lang),
        csrf: &staff.csrf,
        id,
        view,
        facts,
        redactions: view
            .redactions
            .iter()
            .map(|(k, n)| {
                let cite = json_text(&exemptions[k]["exemption"]);
                (k.clone(), *n, cite)
            })
            .collect(),
        links,
        candidates_left: view.review.len() - candidates.len(),
        candidates,
    }
    .render()
}
