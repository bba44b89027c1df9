//! `citygate keys`: the key file that seals personal data at rest. The logic is in
//! `citygate_server::rotate`; this parses flags and prints progress.

use std::path::PathBuf;
use std::process::ExitCode;

use citygate_server::rotate::{self, Progress, RotateOptions};
use citygate_server::Config;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Add a new key, re-seal every sealed value under it (in batches; safe to interrupt
    /// and run again) and, with --retire-old, remove the old keys. Stop the service first.
    Rotate(RotateArgs),
}

#[derive(clap::Args)]
pub struct RotateArgs {
    /// The service's data directory.
    #[arg(long, env = "CITYGATE_DATA_DIR", default_value = "./citygate-data")]
    data_dir: PathBuf,
    /// `postgres://user@host:port/db` if the service uses PostgreSQL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// PostgreSQL schema of the tables [default: public].
    #[arg(long, env = "CITYGATE_DATABASE_SCHEMA")]
    database_schema: Option<String>,
    /// The key file [default: DATA_DIR/citygate.key].
    #[arg(long, env = "CITYGATE_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Remove the old keys from the key file once nothing is sealed under them.
    #[arg(long)]
    retire_old: bool,
    /// Rows re-sealed per transaction (documents: at most 16).
    #[arg(long, default_value_t = rotate::DEFAULT_BATCH, value_parser = clap::value_parser!(i64).range(1..))]
    batch: i64,
    /// Stop after this many batches (run again to continue).
    #[arg(long)]
    max_batches: Option<u64>,
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    let Command::Rotate(args) = cmd;
    let config = Config {
        data_dir: args.data_dir,
        database_url: args.database_url.filter(|u| !u.is_empty()),
        database_schema: args.database_schema,
        key_file: args.key_file,
        ..Config::new()
    };
    let options = RotateOptions {
        batch: args.batch,
        retire_old: args.retire_old,
        max_batches: args.max_batches,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(rotate::rotate(&config, &options, |p| match p {
        Progress::Started {
            key_id,
            resumed,
            pending,
        } => {
            let how = if *resumed {
                "resuming rotation to"
            } else {
                "added"
            };
            eprintln!("{how} key {key_id}; {pending} sealed values to re-seal");
        }
        Progress::Batch {
            column,
            done,
            pending,
        } => eprintln!("re-sealed {done}/{pending} ({})", column.name()),
        Progress::Retired { key_ids } => eprintln!("retired keys {key_ids:?}"),
    }))?;
    let summary = format!(
        "key {}: {} re-sealed, {} left under older keys, {} unreadable",
        report.key_id, report.resealed, report.remaining, report.unopenable
    );
    crate::emit(&format!("{summary}\n"))?;
    if report.unopenable > 0 {
        eprintln!(
            "error: some sealed values open with no key of the file (altered, or sealed under a \
             lost key); old keys kept"
        );
        return Ok(ExitCode::FAILURE);
    }
    if report.stopped_early || report.remaining > 0 {
        eprintln!("not finished: run `citygate keys rotate` again to continue");
        return Ok(ExitCode::FAILURE);
    }
    if args.retire_old && report.retired.is_empty() {
        eprintln!("no old key to retire");
    } else if !args.retire_old {
        eprintln!("done; the old keys stay in the key file until `--retire-old`");
    }
    Ok(ExitCode::SUCCESS)
}
