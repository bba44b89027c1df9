//! `citygate`: the command line. It parses flags, calls the library crates and prints;
//! it holds no logic that a library test could not reach.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod backup;
mod decide;
mod keys;
mod ledger;
mod read;
mod redact;
mod rules;
mod serve;

// The service allocates per request on every core; glibc's malloc showed up as a sixth of
// its CPU time under load (BENCHMARKS, service).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Write to standard output; a closed pipe (`citygate ... | head`) is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// An input the user must fix (a request, a document, a rule pack): reported like
/// any error, but with exit code [`EXIT_BAD_INPUT`].
#[derive(Debug)]
pub struct BadInput(pub anyhow::Error);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for BadInput {}

/// Marks an error as bad input (for `map_err`).
pub fn bad_input(e: impl Into<anyhow::Error>) -> anyhow::Error {
    BadInput(e.into()).into()
}

/// Exit code for bad input (a request, document or flag the user must fix).
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(Parser)]
#[command(
    name = "citygate",
    version,
    about = "Welcoming-city compliance: decide, read, ledger, redact, serve"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decide a request against the rule packs: comply, decline or refer, with the reason.
    Decide(decide::Args),
    /// Check or show the rule packs.
    #[command(subcommand)]
    Rules(rules::Command),
    /// Read documents (warrants, detainers, subpoenas) and say what they are.
    Read(read::Args),
    /// The tamper-evident ledger.
    #[command(subcommand)]
    Ledger(ledger::Command),
    /// Redact records for release.
    Redact(redact::Args),
    /// Run the HTTP service (SQLite in ./citygate-data by default; DATABASE_URL for PostgreSQL).
    Serve(serve::Args),
    /// Back up the SQLite data directory into one archive (keys apart unless --include-keys).
    Backup(backup::BackupArgs),
    /// Restore a backup into a new or empty data directory.
    Restore(backup::RestoreArgs),
    /// The key file sealing personal data: rotate it.
    #[command(subcommand)]
    Keys(keys::Command),
}

/// A panic's message can quote the input it stopped at: the PDF and workbook parsers panic on
/// some malformed files (the library catches it and reports the file as failed), and some of
/// their messages print the PDF object they choked on, text included. The default hook would
/// write that to standard error; this one says where, never what.
fn withhold_panic_messages() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("citygate: internal error{at} (its message is withheld: it may quote the input)");
    }));
}

fn main() -> ExitCode {
    withhold_panic_messages();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decide(args) => decide::run(args),
        Command::Rules(cmd) => rules::run(cmd),
        Command::Read(args) => read::run(args),
        Command::Ledger(cmd) => ledger::run(cmd),
        Command::Redact(args) => redact::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
        Command::Keys(cmd) => keys::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.is::<BadInput>() {
                ExitCode::from(EXIT_BAD_INPUT)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
