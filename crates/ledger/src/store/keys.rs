//! Per-entry keys for crypto-shredding, kept outside the database.
//!
//! A PostgreSQL `DELETE` leaves the row's bytes in heap pages, TOAST and WAL until they
//! happen to be overwritten, so the PostgreSQL store seals each private record (nonce and
//! details) under its own random key and keeps only the ciphertext in the database. The keys
//! live here: one file, a 64-byte header, then one 32-byte slot per entry index (all zeros:
//! no key). Erasing overwrites the slot in place and syncs it, destroying the only copy of
//! the key, so every copy of the ciphertext, wherever PostgreSQL left it, stays unreadable.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

use super::StoreError;
use crate::entry::PrivateRecord;

const MAGIC: &[u8; 24] = b"citygate-ledger-keys v1\n";
const HEADER_LEN: u64 = 64;
/// Offset of the 16-byte binding id in the header (zeros: not yet bound to a ledger).
const BINDING_AT: u64 = MAGIC.len() as u64;
const KEY_LEN: usize = 32;
const SEALED_VERSION: u8 = 1;
const XNONCE_LEN: usize = 24;
const AAD_DOMAIN: &[u8] = b"citygate-ledger private record v1";
/// Slots read per call when scanning the file.
const SCAN_SLOTS: usize = 8192;
/// The file is kept zero-filled up to a multiple of this many bytes (32,768 slots), so that
/// writing a key changes no metadata and its sync flushes the data alone: here 190 rather
/// than 280 µs per sync (median), which every PostgreSQL append waits for.
const ZEROED_AHEAD: u64 = 1 << 20;

/// A per-entry key.
pub(crate) type EntryKey = [u8; KEY_LEN];

/// The key file of one ledger.
pub struct KeyStore {
    file: File,
    path: PathBuf,
}

impl KeyStore {
    /// Opens the key file at `path`, creating it (mode 0600) if it is missing.
    pub fn open_or_create(path: &Path) -> Result<Self, StoreError> {
        let io = |source| StoreError::KeyStore {
            path: path.display().to_string(),
            source,
        };
        if !path.exists() {
            create(path).map_err(io)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        let mut magic = [0u8; MAGIC.len()];
        file.read_exact_at(&mut magic, 0).map_err(io)?;
        if &magic != MAGIC {
            return Err(StoreError::KeyStoreMalformed(path.display().to_string()));
        }
        Ok(Self {
            file,
            path: path.to_owned(),
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::KeyStore {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// The id binding this file to one ledger, if it is bound.
    pub(crate) fn binding(&self) -> Result<Option<[u8; 16]>, StoreError> {
        let mut id = [0u8; 16];
        self.file
            .read_exact_at(&mut id, BINDING_AT)
            .map_err(|e| self.io(e))?;
        Ok((id != [0; 16]).then_some(id))
    }

    /// Durably binds this file to the ledger with `id`.
    pub(crate) fn bind(&self, id: &[u8; 16]) -> Result<(), StoreError> {
        self.file
            .write_all_at(id, BINDING_AT)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| self.io(e))
    }

    /// The key of entry `index`, if it has one (none: never sealed, or erased).
    pub fn get(&self, index: u64) -> Result<Option<EntryKey>, StoreError> {
        let mut key = [0u8; KEY_LEN];
        match self.file.read_exact_at(&mut key, slot(index)) {
            Ok(()) => Ok((key != [0; KEY_LEN]).then_some(key)),
            // Past the end: never written.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Opens a sealed record of entry `index` (as stored in `ledger_sealed`) with the key
    /// this file holds for it; `None` if there is no key or it does not open the record.
    pub fn open_sealed(
        &self,
        index: u64,
        sealed: &[u8],
    ) -> Result<Option<PrivateRecord>, StoreError> {
        Ok(self.get(index)?.and_then(|key| open(&key, index, sealed)))
    }

    /// Durably writes the slots of entries `start..start + keys.len()` (`None` clears a
    /// slot, e.g. one left by an append that did not commit).
    pub(crate) fn put(&self, start: u64, keys: &[Option<EntryKey>]) -> Result<(), StoreError> {
        self.zero_fill_past(slot(start + keys.len() as u64))
            .map_err(|e| self.io(e))?;
        let mut buf = Vec::with_capacity(keys.len() * KEY_LEN);
        for k in keys {
            buf.extend_from_slice(k.as_ref().unwrap_or(&[0; KEY_LEN]));
        }
        self.file
            .write_all_at(&buf, slot(start))
            .and_then(|()| self.file.sync_data())
            .map_err(|e| self.io(e))
    }

    /// Makes sure the file holds written zeros (not a hole) up to `end` and on to the next
    /// multiple of [`ZEROED_AHEAD`]; zeros are empty slots. Only bytes past the file's
    /// current end are written, and `put` runs under the sequencer lock, so no other process
    /// writes keys there meanwhile.
    fn zero_fill_past(&self, end: u64) -> std::io::Result<()> {
        let len = self.file.metadata()?.len();
        if end <= len {
            return Ok(());
        }
        let target = end.div_ceil(ZEROED_AHEAD) * ZEROED_AHEAD;
        let zeros = [0u8; 64 * 1024];
        let mut at = len;
        while at < target {
            let n = (target - at).min(zeros.len() as u64) as usize;
            self.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        self.file.sync_data()
    }

    /// Overwrites the keys of `indexes` with zeros in place and syncs: the keys are gone.
    pub(crate) fn destroy(&self, indexes: &[u64]) -> Result<(), StoreError> {
        for &i in indexes {
            self.file
                .write_all_at(&[0; KEY_LEN], slot(i))
                .map_err(|e| self.io(e))?;
        }
        self.file.sync_data().map_err(|e| self.io(e))
    }

    /// Indexes whose slot holds a key.
    pub(crate) fn live(&self) -> Result<Vec<u64>, StoreError> {
        let len = self.file.metadata().map_err(|e| self.io(e))?.len();
        let slots = len.saturating_sub(HEADER_LEN) / KEY_LEN as u64;
        let mut out = Vec::new();
        let mut buf = vec![0u8; SCAN_SLOTS * KEY_LEN];
        let mut first = 0u64;
        while first < slots {
            let n = (slots - first).min(SCAN_SLOTS as u64) as usize;
            let chunk = &mut buf[..n * KEY_LEN];
            self.file
                .read_exact_at(chunk, slot(first))
                .map_err(|e| self.io(e))?;
            for (i, key) in chunk.chunks_exact(KEY_LEN).enumerate() {
                if key.iter().any(|&b| b != 0) {
                    out.push(first + i as u64);
                }
            }
            first += n as u64;
        }
        Ok(out)
    }
}

fn slot(index: u64) -> u64 {
    HEADER_LEN + index * KEY_LEN as u64
}

/// Creates the file atomically (header written and synced under a temporary name, then
/// linked into place), so a concurrent opener never sees a half-written header.
fn create(path: &Path) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        let mut header = [0u8; HEADER_LEN as usize];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        f.write_all(&header)?;
        f.sync_all()
    });
    let linked = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    });
    let _ = std::fs::remove_file(&tmp);
    linked?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A fresh random key for one entry.
pub(crate) fn new_key() -> EntryKey {
    let mut key = [0u8; KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

/// A fresh random id binding a key file to a ledger.
pub(crate) fn new_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    id
}

/// Seals `record` (nonce and details) under `key`, bound to entry `index`.
/// Layout: `version(1) | xnonce(24) | ciphertext+tag` of `nonce(32) | details`.
pub(crate) fn seal(key: &EntryKey, index: u64, record: &PrivateRecord) -> Vec<u8> {
    let mut xnonce = [0u8; XNONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut xnonce);
    let mut plain = Vec::with_capacity(32 + record.details.len());
    plain.extend_from_slice(&record.nonce);
    plain.extend_from_slice(&record.details);
    let aad = aad(index);
    let sealed = XChaCha20Poly1305::new(key.into())
        .encrypt(
            XNonce::from_slice(&xnonce),
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        // Encryption fails only for a message beyond the cipher's 256 GiB limit.
        .unwrap_or_default();
    let mut out = Vec::with_capacity(1 + XNONCE_LEN + sealed.len());
    out.push(SEALED_VERSION);
    out.extend_from_slice(&xnonce);
    out.extend_from_slice(&sealed);
    out
}

/// Opens what [`seal`] made; `None` if the key or the data is not the one sealed.
pub(crate) fn open(key: &EntryKey, index: u64, sealed: &[u8]) -> Option<PrivateRecord> {
    let (version, rest) = sealed.split_first()?;
    if *version != SEALED_VERSION || rest.len() < XNONCE_LEN {
        return None;
    }
    let (xnonce, ct) = rest.split_at(XNONCE_LEN);
    let aad = aad(index);
    let plain = XChaCha20Poly1305::new(key.into())
        .decrypt(XNonce::from_slice(xnonce), Payload { msg: ct, aad: &aad })
        .ok()?;
    if plain.len() < 32 {
        return None;
    }
    let (nonce, details) = plain.split_at(32);
    Some(PrivateRecord {
        nonce: nonce.try_into().ok()?,
        details: details.to_vec(),
    })
}

fn aad(index: u64) -> Vec<u8> {
    let mut aad = AAD_DOMAIN.to_vec();
    aad.extend_from_slice(&index.to_be_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_record_opens_only_with_its_key_and_index() {
        let record = PrivateRecord {
            nonce: [7; 32],
            details: b"{\"subject\":\"x\"}".to_vec(),
        };
        let key = new_key();
        let sealed = seal(&key, 5, &record);
        assert_eq!(open(&key, 5, &sealed), Some(record));
        assert_eq!(open(&key, 6, &sealed), None);
        assert_eq!(open(&new_key(), 5, &sealed), None);
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(open(&key, 5, &altered), None);
    }

    #[test]
    fn the_file_is_zero_filled_ahead_without_overwriting_keys_past_its_old_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.keys");
        let store = KeyStore::open_or_create(&path).unwrap();
        let (a, b, c) = (new_key(), new_key(), new_key());
        store.put(0, &[Some(a)]).unwrap();
        let len = || std::fs::metadata(&path).unwrap().len();
        assert_eq!(len(), ZEROED_AHEAD);
        // A writer that does not fill ahead (an instance of an earlier version) ends the
        // file just after its key, past the zeroed part.
        let far = (ZEROED_AHEAD - HEADER_LEN) / KEY_LEN as u64 + 10;
        let other = OpenOptions::new().write(true).open(&path).unwrap();
        other.write_all_at(&b, slot(far)).unwrap();
        assert_eq!(len(), slot(far + 1));
        store.put(far + 1, &[Some(c)]).unwrap();
        assert_eq!(len(), 2 * ZEROED_AHEAD);
        assert_eq!(store.get(0).unwrap(), Some(a));
        assert_eq!(store.get(far).unwrap(), Some(b));
        assert_eq!(store.get(far + 1).unwrap(), Some(c));
        assert_eq!(store.live().unwrap(), vec![0, far, far + 1]);
    }

    #[test]
    fn slots_are_written_read_and_destroyed_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.keys");
        let store = KeyStore::open_or_create(&path).unwrap();
        assert_eq!(store.binding().unwrap(), None);
        store.bind(&[9; 16]).unwrap();
        let (a, b) = (new_key(), new_key());
        store.put(3, &[Some(a), None, Some(b)]).unwrap();
        assert_eq!(store.get(3).unwrap(), Some(a));
        assert_eq!(store.get(4).unwrap(), None);
        assert_eq!(store.get(99).unwrap(), None);
        assert_eq!(store.live().unwrap(), vec![3, 5]);
        store.destroy(&[3]).unwrap();
        drop(store);
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(32).any(|w| w == a), "destroyed key remains");
        assert!(bytes.windows(32).any(|w| w == b));
        let store = KeyStore::open_or_create(&path).unwrap();
        assert_eq!(store.binding().unwrap(), Some([9; 16]));
        assert_eq!(store.live().unwrap(), vec![5]);
        std::fs::write(&path, b"not a key file at all, no, not at all, really").unwrap();
        assert!(KeyStore::open_or_create(&path).is_err());
    }
}
