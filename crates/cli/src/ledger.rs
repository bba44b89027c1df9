//! `citygate ledger ...`: flags in, library calls, text out.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use citygate_ledger::checkpoint::{CheckpointPolicy, Policy, WitnessKey};
use citygate_ledger::policy::TrustPolicy;
use citygate_ledger::publish;
use citygate_ledger::receipt::Receipt;
use citygate_ledger::tiles::{self, TilesVerdict};
use citygate_ledger::witness::{Witness, WitnessError};
use citygate_ledger::{verify_consistency, Event, EventKind, Ledger, Opening};

/// Where the ledger lives and who it is.
#[derive(clap::Args)]
pub struct Location {
    /// Data directory (SQLite store and signing key).
    #[arg(long, env = "CITYGATE_DATA_DIR", default_value = "./citygate-data")]
    data_dir: PathBuf,
    /// PostgreSQL URL; when set, entries live there instead of the SQLite file.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The log's origin (and key name), used when the key is first generated.
    #[arg(
        long,
        env = "CITYGATE_LEDGER_ORIGIN",
        default_value = "citygate.local/ledger"
    )]
    origin: String,
}

impl Location {
    fn open(&self) -> anyhow::Result<Ledger> {
        let url = self.database_url.as_deref().filter(|u| !u.is_empty());
        Ok(publish::open_ledger(&self.data_dir, url)?)
    }

    fn key(&self) -> anyhow::Result<citygate_ledger::checkpoint::LogKey> {
        Ok(publish::log_key(&self.data_dir, &self.origin)?)
    }
}

/// Who a verifier trusts.
#[derive(clap::Args)]
pub struct Trust {
    /// The log's verifier key; defaults to the key in the data directory.
    #[arg(long)]
    log_key: Option<String>,
    /// A witness verifier key (repeat for several).
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// How many of the witnesses must have cosigned.
    #[arg(long, default_value_t = 0)]
    quorum: usize,
    /// A C2SP tlog-policy file (log keys, witnesses, groups, quorum) instead of the flags above.
    #[arg(long, conflicts_with_all = ["log_key", "witnesses", "quorum"])]
    policy: Option<PathBuf>,
}

impl Trust {
    fn policy(&self, at: &Location) -> anyhow::Result<Box<dyn CheckpointPolicy>> {
        if let Some(path) = &self.policy {
            let text = String::from_utf8(read_input(path)?)
                .with_context(|| format!("{} is not UTF-8", path.display()))?;
            let policy =
                TrustPolicy::parse(&text).with_context(|| format!("reading {}", path.display()))?;
            return Ok(Box::new(policy));
        }
        if self.quorum > self.witnesses.len() {
            bail!(
                "--quorum {} is more than the {} --witness keys given",
                self.quorum,
                self.witnesses.len()
            );
        }
        let log_key = match &self.log_key {
            Some(k) => k.clone(),
            None => {
                if !publish::key_path(&at.data_dir).exists() {
                    bail!("no --log-key given and no key in {}", at.data_dir.display());
                }
                at.key()?.verifier_key().to_owned()
            }
        };
        Ok(Box::new(Policy {
            log_key,
            witnesses: self.witnesses.clone(),
            quorum: self.quorum,
        }))
    }
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Log an event and print its durable index (for tests and scripts).
    Append {
        #[command(flatten)]
        at: Location,
        /// Read the event as JSON from this file (`-` for standard input) instead of flags.
        #[arg(long, conflicts_with_all = ["kind", "provision", "details", "time"])]
        json: Option<PathBuf>,
        /// Event code: request_received, decision_made, records_disclosed, redaction_applied, record_accessed.
        #[arg(long)]
        kind: Option<String>,
        /// Deciding provision identifier, e.g. IL-TRUST-15(a).
        #[arg(long)]
        provision: Option<String>,
        /// Private details as JSON (kept out of the public leaf).
        #[arg(long)]
        details: Option<String>,
        /// Event time, UNIX seconds (default: now).
        #[arg(long)]
        time: Option<u64>,
    },
    /// Sign and print a checkpoint of the current tree.
    Checkpoint {
        #[command(flatten)]
        at: Location,
        /// Attach witness cosignature lines from this file to the current checkpoint.
        #[arg(long, requires = "witnesses")]
        attach: Option<PathBuf>,
        /// Verifier key of each witness whose lines are attached.
        #[arg(long = "witness")]
        witnesses: Vec<String>,
    },
    /// Print a receipt (c2sp.org/tlog-proof) for an entry, or a witness request.
    Prove {
        #[command(flatten)]
        at: Location,
        /// The entry index.
        #[arg(required_unless_present = "witness_from")]
        index: Option<u64>,
        /// Print instead the tlog-witness add-checkpoint request from this older size.
        #[arg(long, conflicts_with = "index")]
        witness_from: Option<u64>,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Check a receipt, the consistency of two checkpoints, or a whole exported log.
    Verify {
        #[command(flatten)]
        at: Location,
        #[command(flatten)]
        trust: Trust,
        /// A receipt file to check.
        #[arg(long, conflicts_with_all = ["old", "tiles"])]
        receipt: Option<PathBuf>,
        /// With --receipt: an opening (from `ledger open`) that must match the receipt's entry.
        #[arg(long, requires = "receipt")]
        opening: Option<PathBuf>,
        /// The older checkpoint file (with --new).
        #[arg(long, requires = "new")]
        old: Option<PathBuf>,
        /// The newer checkpoint file (with --old).
        #[arg(long, requires = "old")]
        new: Option<PathBuf>,
        /// An exported directory: re-check every entry and tile (or, with --old/--new, take the proof from it).
        #[arg(long)]
        tiles: Option<PathBuf>,
    },
    /// Write tiles, entry bundles and the checkpoint to a directory for static serving.
    Export {
        #[command(flatten)]
        at: Location,
        /// Output directory.
        dir: PathBuf,
    },
    /// Erase an entry's private details (and nonce) and log the erasure.
    Erase {
        #[command(flatten)]
        at: Location,
        /// The entry index.
        entry: u64,
        /// Provision under which the details are erased (e.g. a retention schedule id).
        #[arg(long)]
        provision: String,
    },
    /// Print an entry's opening (details and nonce, as JSON) for an auditor entitled to it.
    /// It contains personal data.
    Open {
        #[command(flatten)]
        at: Location,
        /// The entry index.
        entry: u64,
        /// Write to this file (created owner-only) instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Print the log's public verifier key (generating the key on first use).
    Key {
        #[command(flatten)]
        at: Location,
    },
    /// Act as a witness: check a tlog-witness add-checkpoint request and print a cosignature.
    Cosign {
        /// The witness's state directory (its key and the last checkpoint per log).
        #[arg(long)]
        witness_dir: PathBuf,
        /// The witness's name, used when its key is first generated.
        #[arg(long, default_value = "witness.citygate.local")]
        name: String,
        /// The log's verifier key.
        #[arg(long, required_unless_present = "show_key")]
        log_key: Option<String>,
        /// Only print the witness's verifier key.
        #[arg(long)]
        show_key: bool,
        /// The request file (`-` for standard input), as printed by `ledger prove --witness-from`.
        #[arg(required_unless_present = "show_key")]
        request: Option<PathBuf>,
    },
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn bad_input(msg: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {msg}");
    Ok(ExitCode::from(crate::EXIT_BAD_INPUT))
}

fn failed(msg: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    println!("FAILED: {msg}");
    Ok(ExitCode::FAILURE)
}

/// A JSON error by position only: serde's messages can quote the input's values, which may
/// be personal data.
fn json_error(what: &str, e: &serde_json::Error) -> String {
    let kinds: Vec<_> = EventKind::ALL
        .iter()
        .filter(|k| **k != EventKind::Erasure)
        .map(|k| k.name())
        .collect();
    format!(
        "{what}: not a valid event at line {} column {} (fields: kind ({}), time (UNIX seconds), provision, details (any JSON))",
        e.line(),
        e.column(),
        kinds.join(", ")
    )
}

fn parse_kind(kind: &str) -> Option<EventKind> {
    EventKind::ALL.into_iter().find(|k| k.name() == kind)
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Append {
            at,
            json,
            kind,
            provision,
            details,
            time,
        } => {
            let event = match json {
                Some(path) => match serde_json::from_slice::<Event>(&read_input(&path)?) {
                    Ok(e) => e,
                    Err(e) => return bad_input(json_error("event JSON", &e)),
                },
                None => {
                    let (Some(kind), Some(provision)) = (kind, provision) else {
                        return bad_input("give --kind and --provision, or --json FILE");
                    };
                    let Some(kind) = parse_kind(&kind).filter(|k| *k != EventKind::Erasure) else {
                        let allowed: Vec<_> = EventKind::ALL
                            .iter()
                            .filter(|k| **k != EventKind::Erasure)
                            .map(|k| k.name())
                            .collect();
                        return bad_input(format!("--kind: must be one of {}", allowed.join(", ")));
                    };
                    let details = match details.map(|d| serde_json::from_str(&d)).transpose() {
                        Ok(d) => d,
                        Err(e) => {
                            return bad_input(format!(
                                "--details: not valid JSON at line {} column {}",
                                e.line(),
                                e.column()
                            ))
                        }
                    };
                    Event {
                        kind,
                        time: time.unwrap_or_else(now),
                        provision,
                        refers_to: None,
                        details,
                    }
                }
            };
            if event.kind == EventKind::Erasure {
                return bad_input("field `kind`: use `citygate ledger erase` to erase");
            }
            let ledger = at.open()?;
            match ledger.append(&event) {
                Ok(index) => {
                    println!("{index}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(citygate_ledger::LedgerError::Entry(e)) => bad_input(e),
                Err(e) => Err(e.into()),
            }
        }
        Command::Checkpoint {
            at,
            attach,
            witnesses,
        } => {
            let ledger = at.open()?;
            let key = at.key()?;
            let note = match attach {
                Some(path) => {
                    let lines = String::from_utf8(read_input(&path)?)
                        .context("cosignature file is not UTF-8")?;
                    publish::attach(&ledger, &key, &lines, &witnesses)?
                }
                None => publish::current_checkpoint(&ledger, &key)?.1,
            };
            print!("{}", String::from_utf8_lossy(&note));
            Ok(ExitCode::SUCCESS)
        }
        Command::Prove {
            at,
            index,
            witness_from,
            out,
        } => {
            let ledger = at.open()?;
            let key = at.key()?;
            let text = match (index, witness_from) {
                (_, Some(old)) => {
                    if old > ledger.size() {
                        return bad_input(format!(
                            "--witness-from {old}: the log has only {} entries",
                            ledger.size()
                        ));
                    }
                    publish::witness_request(&ledger, &key, old)?
                }
                (Some(index), None) => {
                    if index >= ledger.size() {
                        return bad_input(format!(
                            "INDEX {index}: the log has {} entries (0..{})",
                            ledger.size(),
                            ledger.size()
                        ));
                    }
                    publish::receipt(&ledger, &key, index)?.encode()
                }
                (None, None) => return bad_input("give INDEX or --witness-from SIZE"),
            };
            match out {
                Some(path) => std::fs::write(&path, &text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{}", String::from_utf8_lossy(&text)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            at,
            trust,
            receipt,
            opening,
            old,
            new,
            tiles,
        } => verify(
            &at,
            &trust,
            receipt.map(|r| (r, opening)),
            old.zip(new),
            tiles,
        ),
        Command::Open { at, entry, out } => {
            let ledger = at.open()?;
            if entry >= ledger.size() {
                return bad_input(format!(
                    "ENTRY {entry}: the log has {} entries",
                    ledger.size()
                ));
            }
            let Some(opening) = publish::opening(&ledger, entry)? else {
                return failed(format!(
                    "entry {entry} has no private details (erased, or an erasure event)"
                ));
            };
            let text = serde_json::to_string_pretty(&opening)? + "\n";
            match out {
                Some(path) => write_private(&path, text.as_bytes())?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { at, dir } => {
            let ledger = at.open()?;
            let key = at.key()?;
            let (size, note) = publish::current_checkpoint(&ledger, &key)?;
            let summary = ledger.export_tiles(&dir, size, &note)?;
            println!(
                "exported {} entries to {} ({} bytes of tiles and bundles{})",
                summary.size,
                dir.display(),
                summary.public_bytes,
                summary
                    .public_bytes
                    .checked_div(size)
                    .map_or(String::new(), |b| format!(", {b} per entry"))
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Erase {
            at,
            entry,
            provision,
        } => {
            let ledger = at.open()?;
            if entry >= ledger.size() {
                return bad_input(format!(
                    "ENTRY {entry}: the log has {} entries",
                    ledger.size()
                ));
            }
            match ledger.erase(entry, &provision, now()) {
                Ok(at) => {
                    println!(
                        "erased the private details of entry {entry}; erasure logged as entry {at}"
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(citygate_ledger::LedgerError::Entry(e)) => bad_input(e),
                Err(citygate_ledger::LedgerError::Store(
                    e @ citygate_ledger::StoreError::NothingToErase(_),
                )) => bad_input(e),
                Err(e) => Err(e.into()),
            }
        }
        Command::Key { at } => {
            println!("{}", at.key()?.verifier_key());
            Ok(ExitCode::SUCCESS)
        }
        Command::Cosign {
            witness_dir,
            name,
            log_key,
            show_key,
            request,
        } => {
            publish::ensure_dir(&witness_dir)?;
            let key = WitnessKey::load_or_create(&witness_dir.join("witness.key"), &name)?;
            if show_key {
                println!("{}", key.verifier_key());
                return Ok(ExitCode::SUCCESS);
            }
            let (Some(log_key), Some(request)) = (log_key, request) else {
                return bad_input("give --log-key and the REQUEST file");
            };
            let witness = Witness::new(key, &log_key, &witness_dir.join("logs"));
            match witness.add_checkpoint(&read_input(&request)?, now()) {
                Ok(line) => {
                    print!("{line}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e @ WitnessError::State { .. }) => Err(e.into()),
                Err(e) => failed(e),
            }
        }
    }
}

/// Writes personal data to a new file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

fn verify(
    at: &Location,
    trust: &Trust,
    receipt: Option<(PathBuf, Option<PathBuf>)>,
    pair: Option<(PathBuf, PathBuf)>,
    tiles_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let policy = trust.policy(at)?;
    if let Some((path, opening)) = receipt {
        let parsed = match Receipt::parse(&read_input(&path)?) {
            Ok(r) => r,
            Err(e) => return failed(e),
        };
        if let Some(opening) = opening {
            let opening: Opening = match serde_json::from_slice(&read_input(&opening)?) {
                Ok(o) => o,
                Err(e) => {
                    return bad_input(format!(
                        "--opening: not an opening at line {} column {} (fields: index, nonce, details)",
                        e.line(),
                        e.column()
                    ))
                }
            };
            if opening.index != parsed.index {
                return failed(format!(
                    "the opening is for entry {}, the receipt for entry {}",
                    opening.index, parsed.index
                ));
            }
            if let Err(e) = opening.check(&parsed.leaf) {
                return failed(e);
            }
            println!(
                "OK: the opening matches entry {}'s commitment",
                parsed.index
            );
        }
        return match parsed.verify(policy.as_ref()) {
            Ok(cp) => {
                println!(
                    "OK: entry {} is in {} at size {} (witnesses: {})",
                    parsed.index,
                    cp.origin,
                    cp.size,
                    if cp.witnesses.is_empty() {
                        "none".into()
                    } else {
                        cp.witnesses.join(", ")
                    }
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => failed(e),
        };
    }
    if let Some((old, new)) = pair {
        let old = match policy.check(&read_input(&old)?) {
            Ok(c) => c,
            Err(e) => return failed(format!("older checkpoint: {e}")),
        };
        let new = match policy.check(&read_input(&new)?) {
            Ok(c) => c,
            Err(e) => return failed(format!("newer checkpoint: {e}")),
        };
        if old.size > new.size {
            return failed(format!(
                "the older checkpoint (size {}) is larger than the newer ({})",
                old.size, new.size
            ));
        }
        if old.size == 0 {
            println!("OK: the older checkpoint is the empty tree");
            return Ok(ExitCode::SUCCESS);
        }
        let proof = match &tiles_dir {
            Some(dir) => tiles::read_tree(dir, new.size)?.consistency_proof(old.size, new.size)?,
            None => {
                let ledger = at.open()?;
                if ledger.size() < new.size {
                    return failed(format!(
                        "the local log has {} entries, fewer than the newer checkpoint",
                        ledger.size()
                    ));
                }
                ledger.consistency_proof(old.size, new.size)?
            }
        };
        return match verify_consistency(old.size, new.size, &proof, &old.root, &new.root) {
            Ok(()) => {
                println!("OK: size {} is a prefix of size {}", old.size, new.size);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => failed(format!("the checkpoints are not consistent: {e}")),
        };
    }
    let Some(dir) = tiles_dir else {
        return bad_input("give --receipt FILE, --old FILE --new FILE, or --tiles DIR");
    };
    let mut last_report = 0;
    let verdict = tiles::verify_dir(&dir, policy.as_ref(), |done, total| {
        if done - last_report >= 1_000_000 || done == total {
            eprintln!("checked {done} of {total} entries");
            last_report = done;
        }
    })?;
    match verdict {
        TilesVerdict::Valid { size, .. } => {
            println!("OK: all {size} entries and tiles match the signed checkpoint");
            Ok(ExitCode::SUCCESS)
        }
        TilesVerdict::BadEntry { index, reason } => {
            failed(format!("first bad entry is {index}: {reason}"))
        }
        TilesVerdict::RootMismatch => {
            failed("entries and tiles agree with each other but not with the signed root")
        }
    }
}
