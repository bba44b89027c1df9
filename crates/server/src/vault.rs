//! Personal data at rest: XChaCha20-Poly1305 under a key kept in a key file outside the
//! database (mode 0600, generated on first start). A stolen database holds only ciphertext.
//!
//! Sealed layout: `version(1) | key_id(4) | nonce(24) | ciphertext+tag`. The associated
//! data binds each ciphertext to its case and field, so one cannot be swapped for another.
//!
//! The key file holds one or more keys, one line each (`citygate-key-v1 <id> <base64 key>`);
//! the last line is the current key, which seals, and every key in the file opens what it
//! sealed (found by the id in the sealed value). A file with one line is the original
//! format. `citygate keys rotate` ([`crate::rotate`]) appends a key, re-seals everything
//! under it, and may then retire the old keys.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::prelude::{Engine as _, BASE64_STANDARD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

const SEALED_VERSION: u8 = 1;
const HEADER: &str = "citygate-key-v1";
const NONCE_LEN: usize = 24;

/// Errors opening the key file or a sealed value.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The key file cannot be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The key file is not ours.
    #[error("key file {0}: not a citygate key file (expected lines `citygate-key-v1 <id> <base64 32-byte key>`)")]
    Malformed(PathBuf),
    /// Others can read the key file.
    #[error("key file {0}: readable by group or others; run `chmod 600` on it")]
    Permissions(PathBuf),
    /// The value was not sealed with this key, or was altered.
    #[error("a sealed value could not be opened (wrong key or altered data)")]
    Open,
}

struct Key {
    id: u32,
    secret: [u8; 32],
    cipher: XChaCha20Poly1305,
}

/// The keys that seal personal data: the current one seals, all of them open.
pub struct Vault {
    /// In file order; the last is the current key. Never empty.
    keys: Vec<Key>,
}

/// The key id a sealed value names, if it is in the sealed layout.
pub fn sealed_key_id(sealed: &[u8]) -> Option<u32> {
    if sealed.len() < 1 + 4 + NONCE_LEN || sealed[0] != SEALED_VERSION {
        return None;
    }
    Some(u32::from_be_bytes([
        sealed[1], sealed[2], sealed[3], sealed[4],
    ]))
}

fn fresh_key(taken: &[u32]) -> (u32, [u8; 32]) {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    loop {
        let id = rand::rngs::OsRng.next_u32();
        if !taken.contains(&id) {
            return (id, key);
        }
    }
}

fn line(id: u32, secret: &[u8; 32]) -> String {
    format!("{HEADER} {id} {}\n", BASE64_STANDARD.encode(secret))
}

impl Vault {
    /// Loads the key file at `path`, creating it (mode 0600) with a fresh key if absent.
    pub fn open_or_create(path: &Path) -> Result<Vault, VaultError> {
        let io = |source| VaultError::Io {
            path: path.to_owned(),
            source,
        };
        if !path.exists() {
            let (id, key) = fresh_key(&[]);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(io)?;
            file.write_all(line(id, &key).as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        Self::load(path)
    }

    /// Loads an existing key file (refusing loose permissions).
    pub fn load(path: &Path) -> Result<Vault, VaultError> {
        let io = |source| VaultError::Io {
            path: path.to_owned(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(VaultError::Permissions(path.to_owned()));
            }
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        Self::parse(&text).ok_or_else(|| VaultError::Malformed(path.to_owned()))
    }

    fn parse(text: &str) -> Option<Vault> {
        let mut keys: Vec<Key> = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut parts = line.split_whitespace();
            if parts.next()? != HEADER {
                return None;
            }
            let id: u32 = parts.next()?.parse().ok()?;
            let secret: [u8; 32] = BASE64_STANDARD
                .decode(parts.next()?)
                .ok()?
                .try_into()
                .ok()?;
            if parts.next().is_some() || keys.iter().any(|k| k.id == id) {
                return None;
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&secret).ok()?;
            keys.push(Key { id, secret, cipher });
        }
        (!keys.is_empty()).then_some(Vault { keys })
    }

    fn current(&self) -> &Key {
        // `parse` never builds an empty vault.
        &self.keys[self.keys.len() - 1]
    }

    /// The id of the key that seals.
    pub fn current_key_id(&self) -> u32 {
        self.current().id
    }

    /// The ids of every key in the file, oldest first (the last is current).
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.iter().map(|k| k.id).collect()
    }

    /// Seals `plain` under the current key, bound to `context` (e.g. `case/<id>/personal`).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Vec<u8> {
        let key = self.current();
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = key.cipher.encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: context.as_bytes(),
            },
        );
        // Encryption fails only for inputs beyond 256 GiB, which the body limit rules out.
        let sealed = sealed.unwrap_or_default();
        let mut out = Vec::with_capacity(1 + 4 + NONCE_LEN + sealed.len());
        out.push(SEALED_VERSION);
        out.extend_from_slice(&key.id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a value sealed by [`Vault::seal`] under the same `context`, with whichever key
    /// of the file sealed it.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let id = sealed_key_id(sealed).ok_or(VaultError::Open)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or(VaultError::Open)?;
        let nonce = XNonce::from_slice(&sealed[5..5 + NONCE_LEN]);
        key.cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[5 + NONCE_LEN..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Open)
    }

    /// Appends a fresh key to the key file at `path`, which becomes the current one, and
    /// returns the new vault. The file is replaced atomically (see [`Vault::write`]).
    pub fn add_key(path: &Path) -> Result<Vault, VaultError> {
        let mut vault = Self::load(path)?;
        let (id, secret) = fresh_key(&vault.key_ids());
        let cipher = XChaCha20Poly1305::new_from_slice(&secret).map_err(|_| VaultError::Open)?;
        vault.keys.push(Key { id, secret, cipher });
        vault.write(path)?;
        Ok(vault)
    }

    /// Removes every key but the current one from the key file at `path` (atomically). The
    /// caller has checked that nothing is sealed under them any more.
    pub fn retire_old_keys(path: &Path) -> Result<Vault, VaultError> {
        let mut vault = Self::load(path)?;
        let keep = vault.keys.len() - 1;
        vault.keys.drain(..keep);
        vault.write(path)?;
        Ok(vault)
    }

    /// Writes the keys to `path` atomically: a 0600 temporary file beside it, synced, renamed
    /// over it, and the directory synced, so a crash leaves the old file or the new one.
    fn write(&self, path: &Path) -> Result<(), VaultError> {
        let io = |source| VaultError::Io {
            path: path.to_owned(),
            source,
        };
        let text: String = self.keys.iter().map(|k| line(k.id, &k.secret)).collect();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut name = path.file_name().unwrap_or_default().to_owned();
        name.push(".tmp");
        let tmp = dir.join(name);
        // A temporary file left by an interrupted run holds nothing the real file lacks.
        let _ = std::fs::remove_file(&tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(io)?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_refuses_tampering_or_another_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let vault = Vault::open_or_create(&path).unwrap();
        let sealed = vault.seal("case/a/personal", b"Jane Roe");
        assert!(!sealed.windows(8).any(|w| w == b"Jane Roe"));
        assert_eq!(vault.open("case/a/personal", &sealed).unwrap(), b"Jane Roe");
        assert!(vault.open("case/b/personal", &sealed).is_err());
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(vault.open("case/a/personal", &bad).is_err());
        // The same file gives the same key on the next start.
        let again = Vault::open_or_create(&path).unwrap();
        assert_eq!(again.open("case/a/personal", &sealed).unwrap(), b"Jane Roe");
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_private_and_loose_permissions_are_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        Vault::open_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Vault::open_or_create(&path),
            Err(VaultError::Permissions(_))
        ));
    }

    #[test]
    fn rotated_file_opens_both_keys_seals_with_the_newest_and_retires() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let first = Vault::open_or_create(&path).unwrap();
        let old = first.seal("c", b"old");
        let second = Vault::add_key(&path).unwrap();
        assert_eq!(second.key_ids().len(), 2);
        assert_ne!(second.current_key_id(), first.current_key_id());
        let new = second.seal("c", b"new");
        assert_eq!(sealed_key_id(&new), Some(second.current_key_id()));
        assert_eq!(sealed_key_id(&old), Some(first.current_key_id()));
        // The file read back (as the service would) opens both.
        let reread = Vault::open_or_create(&path).unwrap();
        assert_eq!(reread.open("c", &old).unwrap(), b"old");
        assert_eq!(reread.open("c", &new).unwrap(), b"new");
        // The old one-key vault cannot open the new value.
        assert!(first.open("c", &new).is_err());
        let retired = Vault::retire_old_keys(&path).unwrap();
        assert_eq!(retired.key_ids(), vec![second.current_key_id()]);
        let reread = Vault::open_or_create(&path).unwrap();
        assert!(reread.open("c", &old).is_err());
        assert_eq!(reread.open("c", &new).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!dir.path().join("k.tmp").exists());
    }

    #[test]
    fn a_single_key_file_of_the_first_format_still_loads() {
        let text = format!("{HEADER} 7 {}\n", BASE64_STANDARD.encode([1u8; 32]));
        let vault = Vault::parse(&text).unwrap();
        assert_eq!(vault.key_ids(), vec![7]);
        assert!(Vault::parse("").is_none());
        assert!(
            Vault::parse(&format!("{text}{text}")).is_none(),
            "duplicate id"
        );
    }
}
