//! `citygate backup FILE` and `citygate restore FILE`: the SQLite data directory as one tar
//! archive. Each database is copied with SQLite's `VACUUM INTO` (a consistent snapshot,
//! also while `serve` runs): the store first, then the ledger, so that every ledger index
//! the store's copy names is in the ledger's copy (log before act holds in the backup too).
//! The key files are left out unless `--include-keys` says otherwise; where they are is
//! printed, because without them the residents' data in the backup cannot be read.
//! PostgreSQL deployments use `pg_dump` instead (README).

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{bad_input, emit};

/// Format name in the manifest; a restore refuses anything else.
const FORMAT: &str = "citygate-backup/1";
const MANIFEST: &str = "citygate-backup.json";
const STORE: &str = "citygate.sqlite";
const LEDGER: &str = "ledger.sqlite";
/// Key files, under `keys/` in the archive when included.
const VAULT_KEY: &str = "citygate.key";
const SIGNING_KEY: &str = "ledger-signing.key";
/// Derived or transient entries of the data directory, never backed up.
const SKIPPED: [&str; 2] = ["tiles", "scratch"];

#[derive(clap::Args)]
pub struct BackupArgs {
    /// The archive to write (refused if it exists).
    file: PathBuf,
    /// The service's data directory.
    #[arg(long, env = "CITYGATE_DATA_DIR", default_value = "./citygate-data")]
    data_dir: PathBuf,
    /// The key file, if not in the data directory (`ledger-signing.key` sits beside it).
    #[arg(long, env = "CITYGATE_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Put the key files in the archive too: the archive is then as secret as the keys.
    #[arg(long)]
    include_keys: bool,
    /// Refused when set: back up PostgreSQL with pg_dump (see README).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The archive written by `citygate backup`.
    file: PathBuf,
    /// The data directory to restore into: new or empty.
    #[arg(long, env = "CITYGATE_DATA_DIR", default_value = "./citygate-data")]
    data_dir: PathBuf,
    /// Where to put the key file, if the archive has the keys and not in the data directory.
    #[arg(long, env = "CITYGATE_KEY_FILE")]
    key_file: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    created_at: String,
    files: Vec<FileEntry>,
    keys_included: bool,
    cases: i64,
    ledger_size: u64,
    ledger_root: String,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    name: String,
    size: u64,
    sha256: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex(&hasher.finalize())))
}

/// A consistent copy of the SQLite database at `from` (a read transaction; writers go on).
fn snapshot(from: &Path, to: &Path) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open_with_flags(
        from,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", from.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(60))?;
    let target = to
        .to_str()
        .context("the temporary directory's path is not UTF-8")?;
    conn.execute("VACUUM INTO ?1", [target])
        .with_context(|| format!("cannot snapshot {}", from.display()))?;
    check_integrity(to)
}

fn check_integrity(path: &Path) -> anyhow::Result<()> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict != "ok" {
        bail!("{}: integrity check failed: {verdict}", path.display());
    }
    Ok(())
}

fn count_cases(store: &Path) -> anyhow::Result<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(conn.query_row("SELECT COUNT(*) FROM cases", [], |r| r.get(0))?)
}

/// The ledger's size and root, from its own code (which also checks the file is a ledger).
fn ledger_head(path: &Path) -> anyhow::Result<(u64, String)> {
    let store = citygate_ledger::SqliteStore::open(path)
        .with_context(|| format!("{} is not a readable ledger", path.display()))?;
    let ledger = citygate_ledger::Ledger::open(Box::new(store))?;
    let (size, root) = ledger.head();
    Ok((size, hex(&root)))
}

fn key_paths(data_dir: &Path, key_file: Option<&Path>) -> (PathBuf, PathBuf) {
    let vault = key_file.map_or_else(|| data_dir.join(VAULT_KEY), Path::to_path_buf);
    let signing = vault.with_file_name(SIGNING_KEY);
    (vault, signing)
}

fn private_file(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

pub fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    if args.database_url.as_deref().is_some_and(|u| !u.is_empty()) {
        return Err(bad_input(anyhow::anyhow!(
            "DATABASE_URL is set: back up PostgreSQL with pg_dump (see README) and the key files \
             separately: the key file, ledger-signing.key and ledger.keys beside it (the ledger's \
             per-entry keys: without it no private ledger record can be read; keep its copies as \
             private as the key file, since an old copy still holds the keys of entries erased \
             since)"
        )));
    }
    let data = &args.data_dir;
    if !data.join(STORE).is_file() || !data.join(LEDGER).is_file() {
        return Err(bad_input(anyhow::anyhow!(
            "{}: no citygate data here ({STORE} and {LEDGER} expected); give --data-dir",
            data.display()
        )));
    }
    if args.file.exists() {
        return Err(bad_input(anyhow::anyhow!(
            "{} exists; give a new file name",
            args.file.display()
        )));
    }
    let (vault_key, signing_key) = key_paths(data, args.key_file.as_deref());
    if args.include_keys && !(vault_key.is_file() && signing_key.is_file()) {
        return Err(bad_input(anyhow::anyhow!(
            "--include-keys: {} and {} must both exist",
            vault_key.display(),
            signing_key.display()
        )));
    }
    let parent = match args.file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Snapshots go beside the archive (same file system, removed afterwards), never into
    // the data directory the service is using.
    let staging = tempfile::Builder::new()
        .prefix(".citygate-backup-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    // Store first, then ledger: see the module comment.
    snapshot(&data.join(STORE), &staging.path().join(STORE))?;
    snapshot(&data.join(LEDGER), &staging.path().join(LEDGER))?;
    let cases = count_cases(&staging.path().join(STORE))?;
    let (ledger_size, ledger_root) = ledger_head(&staging.path().join(LEDGER))?;

    let mut members: Vec<(String, PathBuf)> = vec![
        (STORE.into(), staging.path().join(STORE)),
        (LEDGER.into(), staging.path().join(LEDGER)),
    ];
    if args.include_keys {
        members.push((format!("keys/{VAULT_KEY}"), vault_key.clone()));
        members.push((format!("keys/{SIGNING_KEY}"), signing_key.clone()));
    }
    let mut files = Vec::new();
    for (name, path) in &members {
        let (size, sha256) = sha256_file(path)?;
        files.push(FileEntry {
            name: name.clone(),
            size,
            sha256,
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        created_at: chrono::Utc::now().to_rfc3339(),
        files,
        keys_included: args.include_keys,
        cases,
        ledger_size,
        ledger_root,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)?;

    let partial = staging.path().join("archive.partial");
    {
        let file = private_file(&partial)?;
        let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest_json.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST, manifest_json.as_slice())?;
        for (name, path) in &members {
            let mut file = File::open(path)?;
            let mut header = tar::Header::new_gnu();
            header.set_size(file.metadata()?.len());
            header.set_mode(0o600);
            header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
            header.set_cksum();
            tar.append_data(&mut header, name, &mut file)?;
        }
        let mut out = tar.into_inner()?;
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    // Never overwrite: a hard link fails if the name was taken meanwhile.
    std::fs::hard_link(&partial, &args.file)
        .with_context(|| format!("cannot create {}", args.file.display()))?;
    let skipped: Vec<String> = std::fs::read_dir(data)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !n.starts_with(STORE)
                && !n.starts_with(LEDGER)
                && n != VAULT_KEY
                && n != SIGNING_KEY
                && !SKIPPED.contains(&n.as_str())
        })
        .collect();
    let mut out = format!(
        "backed up {cases} cases and a ledger of {ledger_size} entries to {}\n",
        args.file.display()
    );
    if args.include_keys {
        out.push_str(&format!(
            "the archive holds the key files ({} and {}): keep it as safe as the keys themselves\n",
            vault_key.display(),
            signing_key.display()
        ));
    } else {
        out.push_str(&format!(
            "the key files are NOT in the archive: back up {} and {} separately and keep them apart from it.\n\
             Without the key file the residents' data in this backup cannot be read; without the signing key \
             the ledger cannot go on under the same identity.\n",
            vault_key.display(),
            signing_key.display()
        ));
    }
    if !skipped.is_empty() {
        out.push_str(&format!(
            "not backed up (not citygate's): {}\n",
            skipped.join(", ")
        ));
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Whether `dir` is missing or an empty directory.
fn is_new_or_empty(dir: &Path) -> anyhow::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let data = &args.data_dir;
    if !is_new_or_empty(data)? {
        return Err(bad_input(anyhow::anyhow!(
            "{} is not empty: restore only into a new or empty directory (nothing was changed)",
            data.display()
        )));
    }
    let archive = File::open(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))
        .map_err(bad_input)?;
    let parent = data
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    // Unpacked beside the target and moved in only once everything checks out.
    let staging = tempfile::Builder::new()
        .prefix(".citygate-restore-")
        .tempdir_in(parent)?;
    let allowed = [
        MANIFEST.to_owned(),
        STORE.to_owned(),
        LEDGER.to_owned(),
        format!("keys/{VAULT_KEY}"),
        format!("keys/{SIGNING_KEY}"),
    ];
    let mut tar = tar::Archive::new(std::io::BufReader::new(archive));
    let mut seen = Vec::new();
    let not_ours = |why: String| {
        bad_input(anyhow::anyhow!(
            "{}: not a citygate backup ({why})",
            args.file.display()
        ))
    };
    for entry in tar.entries().map_err(|e| not_ours(e.to_string()))? {
        let mut entry = entry.map_err(|e| not_ours(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| not_ours(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        // Only the names a backup writes, as plain files: nothing can land elsewhere.
        if !allowed.contains(&name)
            || seen.contains(&name)
            || entry.header().entry_type() != tar::EntryType::Regular
        {
            return Err(not_ours(format!("unexpected entry `{name}`")));
        }
        let target = staging.path().join(name.replace('/', "_"));
        let mut out = private_file(&target)?;
        std::io::copy(&mut entry, &mut out)?;
        out.sync_all()?;
        seen.push(name);
    }
    let manifest_path = staging.path().join(MANIFEST);
    let manifest: Manifest = std::fs::read(&manifest_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| not_ours("no readable manifest".into()))?;
    if manifest.format != FORMAT {
        return Err(not_ours(format!("format `{}`", manifest.format)));
    }
    for f in &manifest.files {
        let path = staging.path().join(f.name.replace('/', "_"));
        let (size, sha256) =
            sha256_file(&path).map_err(|_| not_ours(format!("`{}` is missing", f.name)))?;
        if size != f.size || sha256 != f.sha256 {
            bail!(
                "{}: `{}` does not match its checksum: the archive is damaged (nothing was restored)",
                args.file.display(),
                f.name
            );
        }
    }
    check_integrity(&staging.path().join(STORE))?;
    let (size, root) = ledger_head(&staging.path().join(LEDGER))?;
    if (size, root.as_str()) != (manifest.ledger_size, manifest.ledger_root.as_str()) {
        bail!(
            "{}: the ledger's root does not match the manifest (nothing was restored)",
            args.file.display()
        );
    }
    // Only now is the target touched.
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(data)
        .with_context(|| format!("cannot create {}", data.display()))?;
    for name in [STORE, LEDGER] {
        std::fs::rename(staging.path().join(name), data.join(name))?;
    }
    let (vault_key, signing_key) = key_paths(data, args.key_file.as_deref());
    let mut out = format!(
        "restored {} cases and a ledger of {size} entries (root {}) into {}\n",
        manifest.cases,
        &root[..16],
        data.display()
    );
    if manifest.keys_included {
        for (name, to) in [(VAULT_KEY, &vault_key), (SIGNING_KEY, &signing_key)] {
            if to.exists() {
                bail!(
                    "{} exists: the archive's key was not written over it (move it away and restore again into an empty directory)",
                    to.display()
                );
            }
            let from = staging.path().join(format!("keys_{name}"));
            let mut file = private_file(to)?;
            file.write_all(&std::fs::read(&from)?)?;
            file.sync_all()?;
        }
        out.push_str(&format!(
            "the key files were restored to {} and {}\n",
            vault_key.display(),
            signing_key.display()
        ));
    } else {
        out.push_str(&format!(
            "the archive has no key files: put the key file at {} and ledger-signing.key beside it \
             (mode 0600) before `citygate serve`; it refuses to start without them\n",
            vault_key.display()
        ));
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
