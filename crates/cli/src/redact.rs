//! `citygate redact INPUT... --out DIR`: parses flags, shows progress, prints the outcome.
//! All redaction logic lives in citygate-redaction.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use citygate_redaction::policy::{Policy, DEFAULT_POLICY, SHIPPED};
use citygate_redaction::release::{Format, Release, LOG_FILE, SUMMARY_FILE};
use citygate_redaction::review::Decisions;
use citygate_redaction::Redactor;

/// Redact records for a public-records release.
#[derive(clap::Args)]
pub struct Args {
    /// Files or folders to redact (folders: every supported file inside, recursively).
    #[arg(required_unless_present = "list_policies")]
    inputs: Vec<PathBuf>,
    /// Folder for the redacted files, the redaction log and the summary.
    #[arg(long, short, required_unless_present = "list_policies")]
    out: Option<PathBuf>,
    /// Release policy: a shipped policy id or a path to a policy TOML file.
    #[arg(long, default_value = DEFAULT_POLICY)]
    policy: String,
    /// Key file for keyed pseudonyms (policies that use `pseudonym`); at least 16 bytes.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Write uncertain candidates (left unredacted) here for a records officer to review.
    /// Must be outside --out: it shows candidate text.
    #[arg(long)]
    review: Option<PathBuf>,
    /// An earlier review list with the records officer's decisions: `"decision": "redact"`
    /// (protected: redact it) or `"keep"` (not protected: release it) added to a line. Decided
    /// candidates are redacted or released, wherever their value is a candidate, and not listed
    /// again; lines without a decision stay open. Must be outside --out, and not the --review
    /// file (that gets only the candidates still open).
    #[arg(long)]
    decisions: Option<PathBuf>,
    /// List the shipped policies and exit.
    #[arg(long)]
    list_policies: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.list_policies {
        for (id, _) in SHIPPED {
            let p = Policy::shipped(id)?;
            println!(
                "{id}{}: {}",
                if *id == DEFAULT_POLICY {
                    " (default)"
                } else {
                    ""
                },
                p.title
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let out = args.out.context("--out DIR is required")?;
    let policy = load_policy(&args.policy)?;
    let key = match &args.key {
        Some(path) => Some(
            std::fs::read(path).with_context(|| format!("reading key file {}", path.display()))?,
        ),
        None => None,
    };
    let mut redactor = Redactor::with_key(policy, key)?;
    if let Some(path) = &args.decisions {
        let decisions = read_decisions(path, &out, args.review.as_deref())?;
        println!(
            "{}: {} decided candidate value(s)",
            path.display(),
            decisions.len()
        );
        redactor = redactor.with_decisions(decisions);
    }
    let mut files = Vec::new();
    for input in &args.inputs {
        collect_inputs(input, &mut files)?;
    }
    if files.is_empty() {
        eprintln!(
            "error: no supported files among the inputs (extensions: {})",
            citygate_redaction::release::SUPPORTED
        );
        return Ok(ExitCode::from(crate::EXIT_BAD_INPUT));
    }
    let mut release = Release::create(&out, args.review.as_deref(), &redactor)?;
    let show_progress = std::io::stderr().is_terminal();
    let mut failed = 0;
    for file in &files {
        let bar = progress_bar(show_progress, file);
        let update = |bytes: u64| {
            if let Some(b) = &bar {
                b.set_position(bytes);
            }
        };
        match release.add(&redactor, file, &update) {
            Ok(report) => {
                let total: u64 = report.redactions.values().sum();
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                println!(
                    "{}: {} redactions, {} for review, {} flagged for counsel",
                    file.display(),
                    total,
                    report.review_candidates,
                    report.counsel_flags
                );
            }
            Err(err) => {
                if let Some(b) = &bar {
                    b.abandon();
                }
                failed += 1;
                eprintln!("error: {err}");
            }
        }
    }
    let summary = release.finish()?;
    println!(
        "release in {}: {} file(s) redacted, {} failed; log {}, summary {} (policy {})",
        out.display(),
        summary.files.len(),
        summary.failed.len(),
        LOG_FILE,
        SUMMARY_FILE,
        summary.policy
    );
    Ok(if failed > 0 {
        ExitCode::from(crate::EXIT_BAD_INPUT)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads the officer's decisions, refusing a file inside the release folder (it shows
/// candidate text) or one the new review list would overwrite.
fn read_decisions(path: &Path, out: &Path, review: Option<&Path>) -> anyhow::Result<Decisions> {
    let canonical = std::fs::canonicalize(path)
        .with_context(|| format!("reading decisions {}", path.display()))?;
    if std::fs::canonicalize(out).is_ok_and(|out| canonical.starts_with(out)) {
        return Err(crate::bad_input(anyhow::anyhow!(
            "{}: the decisions show candidate values and must not be inside the release folder {}",
            path.display(),
            out.display()
        )));
    }
    let same_as_review = review
        .and_then(|r| std::fs::canonicalize(r).ok())
        .is_some_and(|r| r == canonical);
    if same_as_review {
        return Err(crate::bad_input(anyhow::anyhow!(
            "{}: --decisions and --review are the same file; the new review list holds only the candidates still open, so write it elsewhere",
            path.display()
        )));
    }
    let file = std::fs::File::open(path)
        .with_context(|| format!("reading decisions {}", path.display()))?;
    Decisions::read(std::io::BufReader::new(file))
        .map_err(|e| crate::bad_input(anyhow::anyhow!("{}: {e}", path.display())))
}

fn load_policy(spec: &str) -> anyhow::Result<Policy> {
    let path = Path::new(spec);
    if path.extension().is_some_and(|e| e == "toml") {
        let src = std::fs::read_to_string(path)
            .with_context(|| format!("reading policy {}", path.display()))?;
        return Ok(Policy::from_toml(&path.display().to_string(), &src)?);
    }
    Ok(Policy::shipped(spec)?)
}

fn collect_inputs(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("{}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            let hidden = entry
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if entry.is_dir() && !hidden {
                collect_inputs(&entry, out)?;
            } else if !hidden && Format::of(&entry).is_some() {
                out.push(entry);
            }
        }
    } else {
        // An explicitly named file of an unsupported type is reported by the release, not skipped.
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn progress_bar(enabled: bool, file: &Path) -> Option<indicatif::ProgressBar> {
    if !enabled {
        return None;
    }
    let len = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(
        file.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string(),
    );
    Some(bar)
}
