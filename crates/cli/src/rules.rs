//! `citygate rules check | show`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use citygate_engine::packs::{embedded_packs, embedded_scenarios, pack_of};
use citygate_engine::scenario::{self, Scenario};
use citygate_engine::vocab::Jurisdiction;
use citygate_engine::{PackText, RuleSet};

use crate::bad_input;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Load and validate every rule pack: citations, tests, reachability, conflicts.
    Check(Source),
    /// Render the packs as a document for counsel (Markdown).
    Show {
        /// Only the packs that bind this jurisdiction (all when absent).
        jurisdiction: Option<Jurisdiction>,
        #[command(flatten)]
        source: Source,
    },
}

/// Where the packs come from.
#[derive(clap::Args)]
pub struct Source {
    /// A `rules/` folder to load instead of the packs built into this binary.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
}

fn read_dir_tomls(dir: &Path, out: &mut Vec<(String, String)>) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            read_dir_tomls(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            out.push((path.display().to_string(), text));
        }
    }
    Ok(())
}

/// The packs and scenario tables, from `dir` or built in. Errors are load errors
/// (file:line: message), reported by the caller with exit code 2.
pub fn load(source: &Source) -> anyhow::Result<(RuleSet, Vec<Scenario>)> {
    let (packs, tables): (Vec<PackText>, Vec<(String, String)>) = match &source.rules {
        None => (
            embedded_packs(),
            embedded_scenarios()
                .into_iter()
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .collect(),
        ),
        Some(dir) => {
            let mut files = Vec::new();
            read_dir_tomls(dir, &mut files)?;
            let mut packs = Vec::new();
            let mut tables = Vec::new();
            for (path, text) in files {
                let rel = Path::new(&path)
                    .strip_prefix(dir)
                    .map(|p| format!("rules/{}", p.display()))
                    .unwrap_or_else(|_| path.clone());
                match pack_of(&rel) {
                    Some(pack) => packs.push(PackText {
                        pack: pack.to_string(),
                        file: path,
                        text,
                    }),
                    None => tables.push((path, text)),
                }
            }
            (packs, tables)
        }
    };
    let rules = RuleSet::load(&packs)?;
    let mut scenarios = Vec::new();
    for (file, text) in &tables {
        scenarios.extend(scenario::parse(file, text)?);
    }
    Ok((rules, scenarios))
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Check(source) => check(&source),
        Command::Show {
            jurisdiction,
            source,
        } => {
            let (rules, _) = load(&source).map_err(bad_input)?;
            crate::emit(&citygate_engine::show::render(&rules, jurisdiction))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check(source: &Source) -> anyhow::Result<ExitCode> {
    let (rules, scenarios) = load(source).map_err(bad_input)?;
    let report = citygate_engine::check::check(&rules, &scenarios);
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    crate::emit(&format!(
        "{} provisions, {} scenarios, {} enumerated requests: {}\n",
        report.provisions,
        report.scenarios,
        report.points,
        if report.errors.is_empty() {
            "ok".to_string()
        } else {
            format!("{} problems", report.errors.len())
        }
    ))?;
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
