//! Personal data at rest: XChaCha20-Poly1305 under a key kept in a key file outside the
//! database (mode 0600, generated on first start). A stolen database holds only ciphertext.
//!
//! Sealed layout: `version(1) | key_id(4) | nonce(24) | ciphertext+tag`. The associated
//! data binds each ciphertext to its case and field, so one cannot be swapped for another.
//! The key id lets a rotated key file carry old keys beside the current one (future work:
//! the file holds one key today).

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
    #[error("key file {0}: not a citygate key file (expected `citygate-key-v1 <id> <base64 32-byte key>`)")]
    Malformed(PathBuf),
    /// Others can read the key file.
    #[error("key file {0}: readable by group or others; run `chmod 600` on it")]
    Permissions(PathBuf),
    /// The value was not sealed with this key, or was altered.
    #[error("a sealed value could not be opened (wrong key or altered data)")]
    Open,
}

/// The key that seals personal data.
pub struct Vault {
    key_id: u32,
    cipher: XChaCha20Poly1305,
}

impl Vault {
    /// Loads the key file at `path`, creating it (mode 0600) with a fresh key if absent.
    pub fn open_or_create(path: &Path) -> Result<Vault, VaultError> {
        let io = |source| VaultError::Io {
            path: path.to_owned(),
            source,
        };
        if !path.exists() {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            let mut key_id = [0u8; 4];
            rand::rngs::OsRng.fill_bytes(&mut key_id);
            let line = format!(
                "{HEADER} {} {}\n",
                u32::from_be_bytes(key_id),
                BASE64_STANDARD.encode(key)
            );
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(io)?;
            file.write_all(line.as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
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
        let mut parts = text.split_whitespace();
        if parts.next()? != HEADER {
            return None;
        }
        let key_id: u32 = parts.next()?.parse().ok()?;
        let key = BASE64_STANDARD.decode(parts.next()?).ok()?;
        let cipher = XChaCha20Poly1305::new_from_slice(&key).ok()?;
        Some(Vault { key_id, cipher })
    }

    /// Seals `plain`, bound to `context` (e.g. `case/<id>/personal`).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self.cipher.encrypt(
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
        out.extend_from_slice(&self.key_id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a value sealed by [`Vault::seal`] under the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        if sealed.len() < 1 + 4 + NONCE_LEN || sealed[0] != SEALED_VERSION {
            return Err(VaultError::Open);
        }
        if sealed[1..5] != self.key_id.to_be_bytes() {
            return Err(VaultError::Open);
        }
        let nonce = XNonce::from_slice(&sealed[5..5 + NONCE_LEN]);
        self.cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[5 + NONCE_LEN..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Open)
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
}
