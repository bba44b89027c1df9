//! `citygate decide REQUEST.json`: the engine's answer, for people or machines.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use citygate_engine::vocab::Request;
use citygate_engine::{Answer, Basis, Obligation, Outcome};

use crate::bad_input;
use crate::rules::{load, Source};

#[derive(clap::Args)]
pub struct Args {
    /// The request as JSON (see README), or `-` for standard input.
    pub request: PathBuf,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
    /// Papers presented (text, PDF, scan or photo), read by the document reader;
    /// what it finds is added to the request's `documents`. Several files form one
    /// packet (a detainer and its I-200).
    #[arg(long = "document", value_name = "FILE")]
    pub documents: Vec<PathBuf>,
    #[command(flatten)]
    pub source: Source,
}

fn read_request(path: &PathBuf) -> anyhow::Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(text)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = read_request(&args.request).map_err(bad_input)?;
    let mut request = Request::from_json(&text)
        .map_err(|e| bad_input(anyhow::anyhow!("{}: {e}", args.request.display())))?;
    let mut read = Vec::new();
    if !args.documents.is_empty() {
        let packet = citygate_reader::read_files(&args.documents).map_err(bad_input)?;
        read = packet.sources();
        if let Some(found) = packet.documents() {
            request.documents.get_or_insert_with(Vec::new).extend(found);
        }
        for reason in &packet.overall.reasons {
            eprintln!("reader: {reason}");
        }
    }
    let (rules, _) = load(&args.source).map_err(bad_input)?;
    let today = chrono::Local::now().date_naive();
    let answer = rules.decide(&request, today).map_err(bad_input)?;
    if args.json {
        let mut value = serde_json::to_value(&answer)?;
        if let Some(obj) = value.as_object_mut() {
            // Which facts came from which paper, so the answer can be checked against it.
            obj.insert("from_documents".into(), serde_json::to_value(&read)?);
        }
        crate::emit(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
    } else {
        crate::emit(&from_documents(&read))?;
        crate::emit(&human(&answer))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn from_documents(read: &[citygate_reader::DocumentSource]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    if read.is_empty() {
        return s;
    }
    let _ = writeln!(s, "From the documents read:");
    for d in read {
        let signer = d
            .document
            .signed_by
            .map_or("signer not read".to_string(), |x| format!("signed by {x}"));
        let criminal = match d.document.criminal {
            Some(true) => "criminal",
            Some(false) => "not criminal",
            None => "criminal or not: not read",
        };
        let _ = writeln!(
            s,
            "  - {}: {} ({signer}; {criminal})",
            d.file, d.document.kind
        );
        for e in d.evidence.iter().take(3) {
            let _ = writeln!(
                s,
                "      page {} line {}: {} \"{}\"",
                e.page, e.line, e.marker, e.quote
            );
        }
    }
    s.push('\n');
    s
}

fn headline(a: &Answer) -> &'static str {
    match (a.outcome, a.obligation, a.basis) {
        (Outcome::Comply, Some(Obligation::Must), _) => "COMPLY: the law requires you to do what is asked.",
        (Outcome::Comply, _, _) => "COMPLY (MAY): the law allows you to do what is asked.",
        (Outcome::Decline, _, _) => "DECLINE: do not do what is asked.",
        (Outcome::Refer, _, Basis::MissingFacts) => "REFER: the answer depends on facts not given. Answer the questions below, or call the Law Department.",
        (Outcome::Refer, _, Basis::Conflict) => "REFER: the rules disagree here. Call the Law Department; do nothing yet.",
        (Outcome::Refer, _, Basis::NothingApplies) => "REFER: no rule covers this request. Call the Law Department; do nothing yet.",
        (Outcome::Refer, _, Basis::UnverifiedSource) => "REFER: the only rule that would allow this is unverified. Call the Law Department.",
        (Outcome::Refer, _, _) => "REFER: this goes to the Law Department. Do nothing yet.",
    }
}

/// The answer for a person: outcome first, then why, what to do, the citations.
pub fn human(a: &Answer) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", headline(a));
    if let Some(say) = a.say() {
        let _ = writeln!(s, "Say: \"{say}\"\n");
    }
    if !a.questions.is_empty() {
        let _ = writeln!(s, "Questions that would settle it:");
        for q in &a.questions {
            let _ = writeln!(s, "  - {} [{}]", q.question, q.fact.path());
        }
        s.push('\n');
    }
    if !a.actions.is_empty() {
        let _ = writeln!(s, "What to do:");
        for (i, act) in a.actions.iter().enumerate() {
            let _ = writeln!(s, "  {}. {act}", i + 1);
        }
        s.push('\n');
    }
    if !a.deciding.is_empty() {
        let _ = writeln!(s, "Why:");
        for p in &a.deciding {
            let _ = writeln!(
                s,
                "  - {} {} ({}): {}",
                p.citation,
                p.confidence.label(),
                p.outcome.as_str(),
                p.explanation
            );
        }
        for d in &a.defeated {
            let _ = writeln!(
                s,
                "  - {} gives way to {}",
                d.provision.citation, d.by.citation
            );
        }
        s.push('\n');
    }
    if !a.decisive_facts.is_empty() {
        let facts: Vec<String> = a
            .decisive_facts
            .iter()
            .map(|f| format!("{}={}", f.fact.path(), f.value))
            .collect();
        let _ = writeln!(s, "Facts relied on: {}\n", facts.join("; "));
    }
    let cited = a.cited();
    if !cited.is_empty() {
        let _ = writeln!(s, "Citations:");
        for p in cited {
            let _ = writeln!(s, "  [{}] {} {}", p.id, p.citation, p.confidence.label());
            for line in p.excerpt.lines() {
                let _ = writeln!(s, "      {line}");
            }
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Law as of {}; rule packs {}. Not legal advice.",
        a.law_date,
        &a.rules_hash[..a.rules_hash.len().min(16)]
    );
    s
}
