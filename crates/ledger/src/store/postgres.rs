//! The PostgreSQL store, for a service with several instances.
//!
//! Every write transaction first takes a transaction-scoped advisory lock, so exactly one
//! sequencer assigns indexes at a time across all processes; the index is read and written
//! under that lock and the primary key refuses duplicates, so no gap or duplicate can appear.
//! A commit returns after the WAL is flushed (`synchronous_commit` is forced on).

use ::postgres::{Client, NoTls, Transaction};

use super::{LedgerStore, StoreError};
use crate::entry::{NewEntry, PrivateRecord};

/// Advisory lock key of the ledger's sequencer ("citygate" in ASCII).
const SEQUENCER_LOCK: i64 = 0x6369_7479_6761_7465;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger_leaves (idx BIGINT PRIMARY KEY, leaf BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_private (idx BIGINT PRIMARY KEY, nonce BYTEA NOT NULL, details BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_checkpoints (size BIGINT PRIMARY KEY, note BYTEA NOT NULL);
";

/// A ledger store in a PostgreSQL database.
pub struct PostgresStore {
    client: Client,
}

impl PostgresStore {
    /// Connects to `url` (e.g. `postgres://root@127.0.0.1:5432/test`) and creates the tables.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_in_schema(url, "public")
    }

    /// Like [`PostgresStore::connect`], with the tables in `schema` (created if missing), so
    /// several logs or test runs can share one database.
    pub fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
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
        tx.commit()?;
        Ok(Self { client })
    }

    fn insert(tx: &mut Transaction<'_>, entries: &[NewEntry]) -> Result<u64, StoreError> {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])?;
        let start: i64 = tx
            .query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves", &[])?
            .get(0);
        let idxs: Vec<i64> = (0..entries.len() as i64).map(|i| start + i).collect();
        let leaves: Vec<&[u8]> = entries.iter().map(|e| e.leaf.as_slice()).collect();
        tx.execute(
            "INSERT INTO ledger_leaves (idx, leaf) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
            &[&idxs, &leaves],
        )?;
        let mut p_idx = Vec::new();
        let mut p_nonce = Vec::new();
        let mut p_details = Vec::new();
        for (i, e) in idxs.iter().zip(entries) {
            if let Some(p) = &e.private {
                p_idx.push(*i);
                p_nonce.push(&p.nonce[..]);
                p_details.push(p.details.as_slice());
            }
        }
        if !p_idx.is_empty() {
            tx.execute(
                "INSERT INTO ledger_private (idx, nonce, details) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])",
                &[&p_idx, &p_nonce, &p_details],
            )?;
        }
        Ok(start as u64)
    }
}

impl LedgerStore for PostgresStore {
    fn append(&mut self, entries: &[NewEntry]) -> Result<u64, StoreError> {
        let mut tx = self.client.transaction()?;
        let start = Self::insert(&mut tx, entries)?;
        tx.commit()?;
        Ok(start)
    }

    fn erase(&mut self, index: u64, erasure: &NewEntry) -> Result<u64, StoreError> {
        let mut tx = self.client.transaction()?;
        let deleted = tx.execute(
            "DELETE FROM ledger_private WHERE idx = $1",
            &[&(index as i64)],
        )?;
        if deleted == 0 {
            return Err(StoreError::NothingToErase(index));
        }
        let at = Self::insert(&mut tx, std::slice::from_ref(erasure))?;
        tx.commit()?;
        // Reclaim the dead tuple now rather than at the next autovacuum.
        self.client.batch_execute("VACUUM ledger_private")?;
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
}
