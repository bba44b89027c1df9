//! The PostgreSQL store, for a service with several instances.
//!
//! Every write transaction first takes a transaction-scoped advisory lock, so exactly one
//! sequencer assigns indexes at a time across all processes; the index is read and written
//! under that lock and the primary key refuses duplicates, so no gap or duplicate can appear.
//! A commit returns after the WAL is flushed (`synchronous_commit` is forced on).
//!
//! Opened with a key file ([`PostgresStore::connect_with_keys`]), private records are sealed
//! under per-entry keys kept in that file (see [`KeyStore`]), and erasure destroys the key:
//! PostgreSQL keeps deleted rows in heap pages, TOAST and WAL, so deleting them is not enough.
//! The key file is bound to the ledger (an id in its header and in `ledger_meta`), so an
//! instance with another key file is refused rather than sealing under keys the others lack.
//! Without a key file the store keeps records in clear as before (erasure is then only a
//! `DELETE` and `VACUUM`), and refuses private records once the ledger has a key file.

use std::collections::HashSet;
use std::path::Path;

use std::fmt::Write as _;

use ::postgres::{Client, NoTls, SimpleQueryMessage, Transaction};

use super::keys::{self, KeyStore};
use super::{LedgerStore, StoreError};
use crate::entry::{NewEntry, PrivateRecord};
use crate::merkle::Hash;

/// Advisory lock key of the ledger's sequencer ("citygate" in ASCII).
const SEQUENCER_LOCK: i64 = 0x6369_7479_6761_7465;

/// Takes the sequencer lock, then reads the next index and whether a key file is bound to the
/// ledger: statements sent in one round trip. Each statement of a transaction at READ
/// COMMITTED reads as of its own start, so both are read after the lock is held. (The key is
/// [`SEQUENCER_LOCK`], the binding's name [`KEY_BINDING`]; unit tests check both.)
macro_rules! lock_and_size {
    () => {
        "SELECT pg_advisory_xact_lock(7163384747083789413); \
         SELECT COALESCE(MAX(idx) + 1, 0), \
                EXISTS (SELECT 1 FROM ledger_meta WHERE name = 'key_store') FROM ledger_leaves"
    };
}
const LOCK_AND_SIZE: &str = lock_and_size!();
/// An append's first round trip; its second sends the inserts with the `COMMIT`.
const BEGIN_LOCK_AND_SIZE: &str = concat!("BEGIN; ", lock_and_size!());

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger_leaves (idx BIGINT PRIMARY KEY, leaf BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_private (idx BIGINT PRIMARY KEY, nonce BYTEA NOT NULL, details BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_sealed (idx BIGINT PRIMARY KEY, sealed BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_checkpoints (size BIGINT PRIMARY KEY, note BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_blocks (block BIGINT PRIMARY KEY, root BYTEA NOT NULL);
";

/// `ledger_meta` row naming the key file bound to this ledger.
const KEY_BINDING: &str = "key_store";

/// A ledger store in a PostgreSQL database.
pub struct PostgresStore {
    client: Client,
    keys: Option<KeyStore>,
    /// Whether `keys` is known to be the ledger's bound key file (only then are keys written).
    bound: bool,
}

impl PostgresStore {
    /// Connects to `url` (e.g. `postgres://root@127.0.0.1:5432/test`) and creates the tables.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_in_schema(url, "public")
    }

    /// Like [`PostgresStore::connect`], with the tables in `schema` (created if missing), so
    /// several logs or test runs can share one database. Without a key file: private records
    /// are stored in clear and erasure cannot remove every copy of them; use
    /// [`PostgresStore::connect_with_keys`] for a ledger that holds personal data.
    pub fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        Self::open(url, schema, None)
    }

    /// Like [`PostgresStore::connect_in_schema`], sealing private records under per-entry
    /// keys kept in the key file at `keys` (created 0600 if missing). Every instance sharing
    /// the ledger must use the same key file; finishes any key destruction a crash left
    /// pending.
    pub fn connect_with_keys(url: &str, schema: &str, keys: &Path) -> Result<Self, StoreError> {
        let keys = KeyStore::open_or_create(keys)?;
        Self::open(url, schema, Some(keys))
    }

    fn open(url: &str, schema: &str, keys: Option<KeyStore>) -> Result<Self, StoreError> {
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::BadSchema(schema.to_owned()));
        }
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute("SET synchronous_commit = on")?;
        // Creating the schema and tables concurrently from two processes can race; the
        // sequencer lock serializes it. A SET inside a committed transaction stays in force.
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}; {SCHEMA}"
        ))?;
        let mut bound = false;
        if let Some(keys) = &keys {
            bound = bind(&mut tx, keys, false)?;
            if bound {
                reconcile(&mut tx, keys)?;
            }
        }
        tx.commit()?;
        Ok(Self {
            client,
            keys,
            bound,
        })
    }

    /// The statements that write `entries` at index `start` (read under the sequencer lock
    /// by [`lock_and_size`]), as SQL text so that they travel with the `COMMIT` in one round
    /// trip. With `keys`, each private record is sealed under a key of its own, and the keys
    /// are made durable here, before the caller commits, so no committed record lacks its
    /// key. `ledger_bound`: whether the ledger has a key file (then records in clear are
    /// refused).
    fn insert_statements(
        keys: Option<&KeyStore>,
        ledger_bound: bool,
        start: i64,
        entries: &[NewEntry],
    ) -> Result<String, StoreError> {
        let mut sql = String::with_capacity(entries.len() * 600 + 128);
        let leaves = (start..).zip(entries.iter().map(|e| [e.leaf.as_slice()]));
        push_rows(&mut sql, "ledger_leaves (idx, leaf)", leaves);
        if !entries.iter().any(|e| e.private.is_some()) {
            if let Some(keys) = keys {
                // Clear slots an uncommitted append may have left at these indexes.
                keys.put(start as u64, &vec![None; entries.len()])?;
            }
            return Ok(sql);
        }
        let indexed = (start..).zip(entries);
        match keys {
            Some(keys) => {
                let mut slots = Vec::with_capacity(entries.len());
                let mut sealed = Vec::new();
                for (i, e) in indexed {
                    let key = e.private.as_ref().map(|p| {
                        let key = keys::new_key();
                        sealed.push((i, keys::seal(&key, i as u64, p)));
                        key
                    });
                    slots.push(key);
                }
                let rows = sealed.iter().map(|(i, s)| (*i, [s.as_slice()]));
                push_rows(&mut sql, "ledger_sealed (idx, sealed)", rows);
                keys.put(start as u64, &slots)?;
            }
            None => {
                if ledger_bound {
                    return Err(StoreError::KeysRequired);
                }
                let rows = indexed.filter_map(|(i, e)| {
                    let p = e.private.as_ref()?;
                    Some((i, [&p.nonce[..], p.details.as_slice()]))
                });
                push_rows(&mut sql, "ledger_private (idx, nonce, details)", rows);
            }
        }
        Ok(sql)
    }

    /// Whether the key file is bound to the ledger, checking (and binding, if `create`) under
    /// the sequencer lock unless already known. False without a key file.
    fn ensure_bound(&mut self, create: bool) -> Result<bool, StoreError> {
        let Some(keys) = &self.keys else {
            return Ok(false);
        };
        if !self.bound {
            let mut tx = self.client.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])?;
            let bound = bind(&mut tx, keys, create)?;
            tx.commit()?;
            self.bound = bound;
        }
        Ok(self.bound)
    }

    /// The key file, once bound: an unbound store writes no keys (and, being keyed, has
    /// bound before any append with a private record).
    fn sealing_keys(&self) -> Option<&KeyStore> {
        self.keys.as_ref().filter(|_| self.bound)
    }

    fn sealed_record(&mut self, index: u64) -> Result<Option<PrivateRecord>, StoreError> {
        let Some(row) = self.client.query_opt(
            "SELECT sealed FROM ledger_sealed WHERE idx = $1",
            &[&(index as i64)],
        )?
        else {
            return Ok(None);
        };
        if !self.ensure_bound(false)? {
            return Err(StoreError::KeysRequired);
        }
        let keys = self.sealing_keys().ok_or(StoreError::KeysRequired)?;
        let sealed: Vec<u8> = row.get(0);
        let Some(key) = keys.get(index)? else {
            // The key is gone: the record was erased.
            return Ok(None);
        };
        match keys::open(&key, index, &sealed) {
            Some(record) => Ok(Some(record)),
            // An erasure destroying the key while we read it.
            None if keys.get(index)?.is_none() => Ok(None),
            None => Err(StoreError::Corrupt(format!(
                "the sealed record of entry {index} does not open with its key"
            ))),
        }
    }
}

/// Appends to `sql` an `INSERT INTO target VALUES ...` of `rows` (index, `N` byte columns);
/// none if there are no rows. Bytes are written as hex escape strings (`E'\\x0a1b'`), which
/// read the same whatever `standard_conforming_strings` says and cannot end the literal.
fn push_rows<'a, const N: usize>(
    sql: &mut String,
    target: &str,
    rows: impl Iterator<Item = (i64, [&'a [u8]; N])>,
) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut first = true;
    for (index, columns) in rows {
        if first {
            let _ = write!(sql, "INSERT INTO {target} VALUES ");
        } else {
            sql.push(',');
        }
        let _ = write!(sql, "({index}");
        first = false;
        for bytes in columns {
            sql.push_str(", E'\\\\x");
            for b in bytes {
                sql.push(HEX[usize::from(b >> 4)] as char);
                sql.push(HEX[usize::from(b & 15)] as char);
            }
            sql.push_str("'::bytea");
        }
        sql.push(')');
    }
    if !first {
        sql.push_str("; ");
    }
}

/// Reads the next index and whether a key file is bound from the answers to
/// [`LOCK_AND_SIZE`] (or [`BEGIN_LOCK_AND_SIZE`]).
fn parse_size(answers: &[SimpleQueryMessage]) -> Result<(i64, bool), StoreError> {
    let row = answers.iter().rev().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => Some(row),
        _ => None,
    });
    let size = row.and_then(|r| r.get(0)).and_then(|s| s.parse().ok());
    let bound = row.and_then(|r| r.get(1)).map(|b| b == "t");
    size.zip(bound)
        .ok_or_else(|| StoreError::Corrupt("the ledger's size is not a number".into()))
}

/// Takes the sequencer lock for the rest of `tx`; the ledger's size read under it, and
/// whether a key file is bound.
fn lock_and_size(tx: &mut Transaction<'_>) -> Result<(i64, bool), StoreError> {
    parse_size(&tx.simple_query(LOCK_AND_SIZE)?)
}

/// The key file id bound to the ledger in `tx`'s schema, if any.
fn binding(tx: &mut Transaction<'_>) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(tx
        .query_opt(
            "SELECT value FROM ledger_meta WHERE name = $1",
            &[&KEY_BINDING],
        )?
        .map(|r| r.get(0)))
}

/// Checks that `keys` is the ledger's key file; whether it is bound to the ledger. An unbound
/// pair is bound only if `create` (at the first sealed append, so that opening a ledger only
/// to read it binds nothing). Called under the sequencer lock. A new binding is allowed only
/// while neither side holds keyed data, which also recovers from a crash between writing the
/// file's id and committing the ledger's.
fn bind(tx: &mut Transaction<'_>, keys: &KeyStore, create: bool) -> Result<bool, StoreError> {
    let mismatch = || StoreError::KeyStoreMismatch(keys.path().display().to_string());
    match (binding(tx)?, keys.binding()?) {
        (Some(ledger), Some(file)) if ledger == file => Ok(true),
        (Some(_), _) => Err(mismatch()),
        (None, file) => {
            if file.is_some() && !keys.live()?.is_empty() {
                return Err(mismatch());
            }
            let sealed: bool = tx
                .query_one("SELECT EXISTS (SELECT 1 FROM ledger_sealed)", &[])?
                .get(0);
            if sealed {
                return Err(mismatch());
            }
            if !create {
                return Ok(false);
            }
            let id = keys::new_id();
            // The file first: a crash before the commit leaves a bound file with no keys,
            // which the next open may bind again.
            keys.bind(&id)?;
            tx.execute(
                "INSERT INTO ledger_meta (name, value) VALUES ($1, $2)",
                &[&KEY_BINDING, &&id[..]],
            )?;
            Ok(true)
        }
    }
}

/// Destroys keys whose record is not in the ledger: left by an erasure whose key destruction
/// did not finish, or by an append that did not commit. Called under the sequencer lock, so
/// no append is between writing its keys and committing.
fn reconcile(tx: &mut Transaction<'_>, keys: &KeyStore) -> Result<(), StoreError> {
    let live: Vec<i64> = keys.live()?.into_iter().map(|i| i as i64).collect();
    if live.is_empty() {
        return Ok(());
    }
    let kept: HashSet<i64> = tx
        .query(
            "SELECT idx FROM ledger_sealed WHERE idx = ANY($1)",
            &[&live],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let stale: Vec<u64> = live
        .into_iter()
        .filter(|i| !kept.contains(i))
        .map(|i| i as u64)
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    keys.destroy(&stale)
}

impl LedgerStore for PostgresStore {
    fn append(&mut self, entries: &[NewEntry]) -> Result<u64, StoreError> {
        if entries.iter().any(|e| e.private.is_some()) {
            // Bound in a transaction of its own, committed before any key is written.
            self.ensure_bound(true)?;
        }
        // Two round trips rather than a `Transaction`'s five: the group commit waits on them.
        let keys = self.keys.as_ref().filter(|_| self.bound);
        let client = &mut self.client;
        let result = (|| {
            let (start, ledger_bound) = parse_size(&client.simple_query(BEGIN_LOCK_AND_SIZE)?)?;
            let mut sql = Self::insert_statements(keys, ledger_bound, start, entries)?;
            sql.push_str("COMMIT");
            client.batch_execute(&sql)?;
            Ok(start as u64)
        })();
        if result.is_err() && !client.is_closed() {
            // Whatever failed, leave the connection outside any transaction. If the
            // rollback fails too, the next append's BEGIN fails and says so.
            let _ = client.batch_execute("ROLLBACK");
        }
        result
    }

    fn erase(&mut self, index: u64, erasure: &NewEntry) -> Result<u64, StoreError> {
        // Another instance with the same key file may have bound it since we opened.
        self.ensure_bound(false)?;
        let mut tx = self.client.transaction()?;
        let (start, ledger_bound) = lock_and_size(&mut tx)?;
        let idx = index as i64;
        let sealed = if self.bound {
            tx.execute("DELETE FROM ledger_sealed WHERE idx = $1", &[&idx])?
        } else {
            let n: i64 = tx
                .query_one("SELECT COUNT(*) FROM ledger_sealed WHERE idx = $1", &[&idx])?
                .get(0);
            if n > 0 {
                return Err(StoreError::KeysRequired);
            }
            0
        };
        let clear = tx.execute("DELETE FROM ledger_private WHERE idx = $1", &[&idx])?;
        if sealed == 0 && clear == 0 {
            return Err(StoreError::NothingToErase(index));
        }
        let keys = self.keys.as_ref().filter(|_| self.bound);
        let insert =
            Self::insert_statements(keys, ledger_bound, start, std::slice::from_ref(erasure))?;
        tx.batch_execute(&insert)?;
        tx.commit()?;
        let at = start as u64;
        if let (true, Some(keys)) = (sealed > 0, self.sealing_keys()) {
            // Committed: destroying the key is what erases. If it fails, the next
            // `connect_with_keys` destroys every key whose record is gone.
            if keys.destroy(&[index]).is_err() {
                return Err(StoreError::ScrubIncomplete { erasure_index: at });
            }
        }
        if clear > 0 {
            // A record kept in clear: reclaim the dead tuple now rather than at the next
            // autovacuum (WAL may still hold it; keyed ledgers do not have this limit).
            self.client.batch_execute("VACUUM ledger_private")?;
        }
        Ok(at)
    }

    fn size(&mut self) -> Result<u64, StoreError> {
        let n: i64 = self
            .client
            .query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves", &[])?
            .get(0);
        Ok(n as u64)
    }

    fn leaves(&mut self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows = self.client.query(
            "SELECT idx, leaf FROM ledger_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            &[&(start as i64), &(end as i64)],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let idx: i64 = row.get(0);
            if idx as u64 != start + out.len() as u64 {
                return Err(StoreError::Corrupt(format!(
                    "entry {} is missing",
                    start + out.len() as u64
                )));
            }
            out.push(row.get::<_, Vec<u8>>(1));
        }
        if out.len() as u64 != end.saturating_sub(start) {
            return Err(StoreError::Corrupt(format!(
                "entry {} is missing",
                start + out.len() as u64
            )));
        }
        Ok(out)
    }

    fn private_record(&mut self, index: u64) -> Result<Option<PrivateRecord>, StoreError> {
        if let Some(record) = self.sealed_record(index)? {
            return Ok(Some(record));
        }
        let row = self.client.query_opt(
            "SELECT nonce, details FROM ledger_private WHERE idx = $1",
            &[&(index as i64)],
        )?;
        row.map(|r| {
            let nonce: Vec<u8> = r.get(0);
            let nonce: [u8; 32] = nonce.try_into().map_err(|_| {
                StoreError::Corrupt(format!("nonce of entry {index} is not 32 bytes"))
            })?;
            Ok(PrivateRecord {
                nonce,
                details: r.get(1),
            })
        })
        .transpose()
    }

    fn put_checkpoint(&mut self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        self.client.execute(
            "INSERT INTO ledger_checkpoints (size, note) VALUES ($1, $2) \
             ON CONFLICT (size) DO UPDATE SET note = EXCLUDED.note",
            &[&(size as i64), &note],
        )?;
        Ok(())
    }

    fn latest_checkpoint(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .client
            .query_opt(
                "SELECT note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1",
                &[],
            )?
            .map(|r| r.get(0)))
    }

    fn block_roots(&mut self, start: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
        let rows = self.client.query(
            "SELECT block, root FROM ledger_blocks WHERE block >= $1 AND block < $2 ORDER BY block",
            &[&(start as i64), &(end as i64)],
        )?;
        super::contiguous_roots(start, rows.iter().map(|r| (r.get(0), r.get(1))))
    }

    fn put_block_roots(&mut self, start: u64, roots: &[Hash]) -> Result<(), StoreError> {
        let blocks: Vec<i64> = (start as i64..).take(roots.len()).collect();
        let roots: Vec<&[u8]> = roots.iter().map(|r| &r[..]).collect();
        self.client.execute(
            "INSERT INTO ledger_blocks (block, root) \
             SELECT * FROM unnest($1::bigint[], $2::bytea[]) ON CONFLICT (block) DO NOTHING",
            &[&blocks, &roots],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_take_the_same_lock_as_every_other_writer() {
        let lock = format!("pg_advisory_xact_lock({SEQUENCER_LOCK})");
        for sql in [LOCK_AND_SIZE, BEGIN_LOCK_AND_SIZE] {
            assert!(sql.contains(&lock), "{sql}");
            assert!(sql.contains(&format!("name = '{KEY_BINDING}'")), "{sql}");
        }
        assert!(BEGIN_LOCK_AND_SIZE.starts_with("BEGIN; "));
    }

    #[test]
    fn rows_are_written_as_hex_literals() {
        let mut sql = String::new();
        let rows = [(7, [&b"\\x0'\0"[..]]), (8, [&[0xff, 0x10][..]])];
        push_rows(&mut sql, "t (idx, b)", rows.into_iter());
        assert_eq!(
            sql,
            "INSERT INTO t (idx, b) VALUES (7, E'\\\\x5c78302700'::bytea),\
             (8, E'\\\\xff10'::bytea); "
        );
        let mut none = String::new();
        push_rows::<1>(&mut none, "t (idx, b)", std::iter::empty());
        assert_eq!(none, "");
    }
}
