//! `rules show`: a rule pack rendered as a document for counsel to review.

use std::fmt::Write as _;

use crate::condition::{Condition, DocumentPattern};
use crate::pack::{Outcome, Provision};
use crate::ruleset::{chain_packs, EdgeReason, RuleSet};
use crate::vocab::Jurisdiction;

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let words: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match words.len() {
        0 => String::new(),
        1 => words[0].clone(),
        _ => format!("one of {}", words.join(", ")),
    }
}

fn document_words(d: &DocumentPattern) -> String {
    let mut parts = Vec::new();
    if let Some(k) = &d.kind {
        parts.push(format!("of kind {}", list(k)));
    }
    if let Some(s) = &d.signed_by {
        parts.push(format!("signed by {}", list(s)));
    }
    if let Some(c) = d.criminal {
        parts.push(if c {
            "for a criminal offence".into()
        } else {
            "not for a criminal offence".into()
        });
    }
    if let Some(v) = d.verified {
        parts.push(if v {
            "confirmed by counsel".into()
        } else {
            "not yet confirmed by counsel".into()
        });
    }
    format!("a document is presented {}", parts.join(", "))
}

/// A condition in plain words ("and" between lines).
pub fn condition_words(c: &Condition) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(v) = &c.act {
        out.push(format!("the act asked is {}", list(v)));
    }
    if let Some(v) = &c.agency {
        out.push(format!("the agency is {}", list(v)));
    }
    if let Some(v) = &c.requester {
        out.push(format!("the requester is {}", list(v)));
    }
    if let Some(v) = &c.data {
        out.push(format!("the data asked include {}", list(v)));
    }
    if let Some(v) = &c.purpose {
        out.push(format!("the purpose is {}", list(v)));
    }
    if let Some(v) = &c.consent {
        out.push(format!("the subject's consent is {}", list(v)));
    }
    if let Some(d) = &c.document {
        out.push(document_words(d));
    }
    for (name, v) in [
        ("the subject is in custody", c.in_custody),
        ("the subject is a minor", c.minor),
        (
            "the subject has a violent or serious conviction within 5 years",
            c.violent_or_serious_conviction_within_5_years,
        ),
        ("the subject is a crime victim", c.crime_victim),
        (
            "the subject is in removal proceedings",
            c.in_removal_proceedings,
        ),
        ("many people's records are asked for", c.bulk),
    ] {
        if let Some(b) = v {
            out.push(if b {
                name.to_string()
            } else {
                format!("NOT: {name}")
            });
        }
    }
    if let Some(any) = &c.any {
        let alts: Vec<String> = any
            .iter()
            .map(|a| format!("({})", condition_words(a).join(" and ")))
            .collect();
        out.push(format!("at least one of: {}", alts.join(" or ")));
    }
    if let Some(n) = &c.not {
        out.push(format!("NOT ({})", condition_words(n).join(" and ")));
    }
    out
}

fn dates_words(from: Option<chrono::NaiveDate>, until: Option<chrono::NaiveDate>) -> String {
    match (from, until) {
        (Some(f), Some(u)) => format!("from {f} until (not including) {u}"),
        (Some(f), None) => format!("from {f}"),
        (None, Some(u)) => format!("until (not including) {u}"),
        (None, None) => "always".into(),
    }
}

fn provision_md(rules: &RuleSet, j: Option<Jurisdiction>, p: &Provision, md: &mut String) {
    let _ = writeln!(md, "### `{}`: {}\n", p.id, p.citation);
    let outcome = match (p.outcome, p.obligation) {
        (Outcome::Comply, Some(o)) => format!(
            "comply ({})",
            if o == crate::pack::Obligation::Must {
                "must"
            } else {
                "may"
            }
        ),
        (o, _) => o.as_str().to_string(),
    };
    let _ = writeln!(md, "- **Outcome:** {outcome}  \n- **Source confidence:** {}  \n- **In force:** {}  \n- **Defined at:** {}:{}", p.confidence.label(), dates_words(p.from, p.until), p.file, p.line);
    if let Some(s) = &p.source {
        let _ = writeln!(md, "- **Source:** {s}");
    }
    let _ = writeln!(md, "\n> {}\n", p.excerpt.replace('\n', "\n> "));
    let _ = writeln!(md, "**Applies when:**\n");
    for line in condition_words(&p.when) {
        let _ = writeln!(md, "- {line}");
    }
    let _ = writeln!(md, "\n**For staff:** {}\n", p.explanation);
    if let Some(say) = &p.say {
        let _ = writeln!(md, "**Say:** \"{say}\"\n");
    }
    if !p.actions.is_empty() {
        let _ = writeln!(md, "**Actions:**\n");
        for a in &p.actions {
            let _ = writeln!(md, "1. {a}");
        }
        md.push('\n');
    }
    let mut edges = Vec::new();
    for jur in j.map_or_else(|| Jurisdiction::ALL.to_vec(), |j| vec![j]) {
        for e in &rules.chain(jur).edges {
            let (ex, base) = (&rules.provisions[e.exception], &rules.provisions[e.base]);
            let line = if ex.id == p.id {
                Some(format!("is an exception to `{}`", base.id))
            } else if base.id == p.id {
                Some(format!("is defeated by `{}`", ex.id))
            } else {
                None
            };
            if let Some(line) = line {
                let why = match &e.reason {
                    EdgeReason::Declared => "declared in the pack".to_string(),
                    EdgeReason::Generated(r) => format!("generated precedence: {r}"),
                };
                let entry = format!("{line} ({why})");
                if !edges.contains(&entry) {
                    edges.push(entry);
                }
            }
        }
    }
    if !edges.is_empty() {
        let _ = writeln!(md, "**Exceptions and precedence:**\n");
        for e in edges {
            let _ = writeln!(md, "- {e}");
        }
        md.push('\n');
    }
}

/// Render the packs (of one jurisdiction's chain, or all) as Markdown.
pub fn render(rules: &RuleSet, jurisdiction: Option<Jurisdiction>) -> String {
    let mut md = String::new();
    let packs: Vec<&str> = match jurisdiction {
        Some(j) => chain_packs(j).to_vec(),
        None => {
            let mut all: Vec<&str> = Vec::new();
            for j in Jurisdiction::ALL {
                for p in chain_packs(*j) {
                    if !all.contains(p) {
                        all.push(p);
                    }
                }
            }
            all
        }
    };
    let title = jurisdiction.map_or("all jurisdictions".to_string(), |j| j.to_string());
    let _ = writeln!(md, "# citygate rule packs: {title}\n");
    let _ = writeln!(md, "Rule-pack hash: `{}`. Not legal advice: every provision is for counsel to review. Confidence: [TEXT] operative text read; [SECONDARY] from summaries or news; [MEMORY] unverified, can never by itself produce `comply`.\n", rules.hash);
    if let Some(j) = jurisdiction {
        let _ = writeln!(md, "Precedence for `{j}`: {} (highest first). A higher level prevails only through the generated edges listed under each provision; otherwise a stricter lower rule stands, and an unsettled disagreement is referred to counsel.\n", chain_packs(j).join(" > "));
    }
    for pack in packs {
        for (file, header) in rules
            .headers
            .iter()
            .filter(|(f, _)| crate::packs::pack_of(f) == Some(pack))
        {
            let _ = writeln!(
                md,
                "## {} ({}, level {}, covers from {})\n",
                header.title, file, header.level, header.covers_from
            );
            let mut in_file: Vec<&Provision> = rules
                .provisions
                .iter()
                .filter(|p| &p.file == file)
                .collect();
            in_file.sort_by_key(|p| p.line);
            for p in in_file {
                provision_md(rules, jurisdiction, p, &mut md);
            }
            for r in rules.retention.iter().filter(|r| &r.file == file) {
                retention_md(r, &mut md);
            }
        }
    }
    md
}

fn retention_md(r: &crate::retention::RetentionRule, md: &mut String) {
    let _ = writeln!(md, "### Retention `{}`: {}\n", r.id, r.citation);
    let keep = match r.keep_days_after_close {
        0 => "until the case closes (purged at the next retention run)".to_string(),
        n => format!("{n} days after the case closes"),
    };
    let _ = writeln!(md, "- **Limits:** {}, kept at most {keep}  \n- **Source confidence:** {}  \n- **In force:** {}  \n- **Defined at:** {}:{}", r.what.as_str(), r.confidence.label(), dates_words(r.from, r.until), r.file, r.line);
    if let Some(s) = &r.source {
        let _ = writeln!(md, "- **Source:** {s}");
    }
    let _ = writeln!(md, "\n> {}\n", r.excerpt.replace('\n', "\n> "));
    let _ = writeln!(md, "**Covers cases where (only when definitely known):**\n");
    for line in condition_words(&r.when) {
        let _ = writeln!(md, "- {line}");
    }
    let _ = writeln!(md, "\n**For staff:** {}\n", r.explanation);
}
