//! Signed checkpoints (C2SP tlog-checkpoint over signed-note, Ed25519) and witness
//! cosignatures (C2SP tlog-cosignature `cosignature/v1`).
//!
//! Formats come from the `tlog_tiles` (checkpoint body) and `signed_note` (notes, keys)
//! crates; only the cosignature message, which `signed_note` 0.2 lacks, is written here.

use std::io::Write;
use std::path::Path;

use base64::prelude::{Engine, BASE64_STANDARD};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, StandardSigner, StandardVerifier, Verifier, VerifierList};
use tlog_tiles::Checkpoint;

use crate::merkle::Hash;

/// Signature type byte of an Ed25519 `cosignature/v1` key (tlog-cosignature).
const COSIGNATURE_ALG: u8 = 0x04;

/// Errors about keys, checkpoints and cosignatures.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A key file could not be read or written.
    #[error("key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// A key (file content or verifier key) is not in the expected format.
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    /// The origin is not a valid key name (non-empty, no spaces or `+`).
    #[error(
        "origin `{0}`: must be non-empty with no spaces or '+', e.g. audit.city.example/ledger"
    )]
    BadOrigin(String),
    /// The note or checkpoint text is malformed.
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    /// No valid signature from the log's key, or a bad signature from a known key.
    #[error("checkpoint signature check failed: {0}")]
    BadSignature(String),
    /// Fewer witnesses cosigned than the policy requires.
    #[error("only {found} of the required {required} witness cosignatures verified")]
    Quorum {
        /// Valid cosignatures found.
        found: usize,
        /// Cosignatures required.
        required: usize,
    },
    /// The witnesses that cosigned do not satisfy the policy's quorum.
    #[error("the cosignatures do not satisfy the policy quorum `{0}`")]
    PolicyQuorum(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

fn key_file_error(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::KeyFile {
        path: path.display().to_string(),
        source,
    }
}

/// Writes a secret to a new file readable by its owner only.
fn write_secret(path: &Path, text: &str) -> Result<(), CheckpointError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(key_file_error(path))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(key_file_error(path))
}

/// The log's Ed25519 signing key, in the `PRIVATE+KEY+<name>+<id>+<key>` format of
/// Go's `sumdb/note` and the `signed_note` crate.
pub struct LogKey {
    signer: StandardSigner,
    verifier_key: String,
    origin: String,
}

impl LogKey {
    /// Loads the key at `path`, or generates one named `origin` there (mode 0600).
    pub fn load_or_create(path: &Path, origin: &str) -> Result<Self, CheckpointError> {
        if !path.exists() {
            if !signed_note::is_key_name_valid(origin) {
                return Err(CheckpointError::BadOrigin(origin.to_owned()));
            }
            let (skey, _) = signed_note::generate_key(&mut rand::rngs::OsRng, origin);
            write_secret(path, &skey)?;
        }
        let text = std::fs::read_to_string(path).map_err(key_file_error(path))?;
        Self::from_skey(text.trim())
    }

    /// Parses a `PRIVATE+KEY+...` signer key.
    pub fn from_skey(skey: &str) -> Result<Self, CheckpointError> {
        let signer = StandardSigner::new(skey)
            .map_err(|_| CheckpointError::BadKey("not a PRIVATE+KEY Ed25519 key"))?;
        let seed = skey
            .splitn(5, '+')
            .nth(4)
            .and_then(|b| BASE64_STANDARD.decode(b).ok())
            .filter(|k| k.len() == 33)
            .ok_or(CheckpointError::BadKey("not a PRIVATE+KEY Ed25519 key"))?;
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&seed[1..]);
        let public = SigningKey::from_bytes(&secret).verifying_key();
        let origin = signed_note::Signer::name(&signer).to_owned();
        let verifier_key = signed_note::new_ed25519_verifier_key(&origin, &public);
        Ok(Self {
            signer,
            verifier_key,
            origin,
        })
    }

    /// The verifier key (`<name>+<id>+<base64>`) to give to auditors and witnesses.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The log's origin line (also the key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Signs the checkpoint of a tree of `size` entries with root `root`.
    pub fn sign_checkpoint(&self, size: u64, root: &Hash) -> Result<Vec<u8>, CheckpointError> {
        let body = Checkpoint::new(&self.origin, size, tlog_tiles::Hash(*root), "")
            .map_err(|e| CheckpointError::Malformed(e.to_string()))?
            .to_bytes();
        let mut note =
            Note::new(&body, &[]).map_err(|e| CheckpointError::Malformed(e.to_string()))?;
        note.add_sigs(&[&self.signer])
            .map_err(|e| CheckpointError::Sign(e.to_string()))?;
        Ok(note.to_bytes())
    }
}

/// A witness's Ed25519 cosigning key (tlog-cosignature type 0x04).
pub struct WitnessKey {
    name: String,
    key: SigningKey,
}

impl WitnessKey {
    /// Loads the key at `path`, or generates one named `name` there (mode 0600).
    pub fn load_or_create(path: &Path, name: &str) -> Result<Self, CheckpointError> {
        if !path.exists() {
            if !signed_note::is_key_name_valid(name) {
                return Err(CheckpointError::BadOrigin(name.to_owned()));
            }
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            let text = format!(
                "PRIVATE+KEY+{name}+{}",
                BASE64_STANDARD.encode([&[COSIGNATURE_ALG][..], &key.to_bytes()].concat())
            );
            write_secret(path, &text)?;
        }
        let text = std::fs::read_to_string(path).map_err(key_file_error(path))?;
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(CheckpointError::BadKey(
                "witness key must start with PRIVATE+KEY+",
            ))?;
        let (name, b64) = rest
            .split_once('+')
            .ok_or(CheckpointError::BadKey("witness key has no key part"))?;
        let bytes = BASE64_STANDARD
            .decode(b64)
            .map_err(|_| CheckpointError::BadKey("witness key is not base64"))?;
        if bytes.len() != 33 || bytes[0] != COSIGNATURE_ALG {
            return Err(CheckpointError::BadKey(
                "witness key is not an Ed25519 cosignature key",
            ));
        }
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&bytes[1..]);
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&secret),
        })
    }

    /// The witness's verifier key, `<name>+<id>+base64(0x04 ‖ pubkey)`.
    pub fn verifier_key(&self) -> String {
        let encoded = [&[COSIGNATURE_ALG][..], self.key.verifying_key().as_bytes()].concat();
        format!(
            "{}+{:08x}+{}",
            self.name,
            signed_note::key_id(&self.name, &encoded),
            BASE64_STANDARD.encode(encoded)
        )
    }

    /// The cosignature line (`— <name> <base64>`) over `checkpoint_body` at `time`.
    pub fn cosign(&self, checkpoint_body: &[u8], time: u64) -> Result<String, CheckpointError> {
        let encoded = [&[COSIGNATURE_ALG][..], self.key.verifying_key().as_bytes()].concat();
        let id = signed_note::key_id(&self.name, &encoded);
        let sig = self.key.sign(&cosignature_message(checkpoint_body, time));
        let mut raw = id.to_be_bytes().to_vec();
        raw.extend_from_slice(&time.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        Ok(format!("— {} {}\n", self.name, BASE64_STANDARD.encode(raw)))
    }
}

fn cosignature_message(body: &[u8], time: u64) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {time}\n").into_bytes();
    msg.extend_from_slice(body);
    msg
}

/// Verifies `cosignature/v1` signatures for one witness key; plugs into `signed_note`.
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses a witness verifier key `<name>+<id>+base64(0x04 ‖ pubkey)`.
    pub fn new(vkey: &str) -> Result<Self, CheckpointError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CheckpointError::BadKey(
                "witness key must be <name>+<id>+<key>",
            ));
        };
        let bytes = BASE64_STANDARD
            .decode(b64)
            .map_err(|_| CheckpointError::BadKey("witness key is not base64"))?;
        if bytes.len() != 33 || bytes[0] != COSIGNATURE_ALG {
            return Err(CheckpointError::BadKey(
                "witness key is not an Ed25519 cosignature key (type 0x04)",
            ));
        }
        let id =
            u32::from_str_radix(id_hex, 16).map_err(|_| CheckpointError::BadKey("bad key id"))?;
        if id != signed_note::key_id(name, &bytes) {
            return Err(CheckpointError::BadKey("key id does not match the key"));
        }
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&bytes[1..]);
        let key = VerifyingKey::from_bytes(&pk)
            .map_err(|_| CheckpointError::BadKey("not an Ed25519 point"))?;
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }
}

impl Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != 72 {
            return false;
        }
        let mut t = [0u8; 8];
        t.copy_from_slice(&sig[..8]);
        let Ok(signature) = ed25519_dalek::Signature::from_slice(&sig[8..]) else {
            return false;
        };
        self.key
            .verify_strict(&cosignature_message(msg, u64::from_be_bytes(t)), &signature)
            .is_ok()
    }
}

/// Who must have signed a checkpoint: the log, and `k` of the listed witnesses.
pub struct Policy {
    /// The log's verifier key.
    pub log_key: String,
    /// Witness verifier keys (type 0x04).
    pub witnesses: Vec<String>,
    /// How many witnesses must have cosigned.
    pub quorum: usize,
}

/// A checkpoint whose signatures met the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The log's origin.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The signed body (no signature lines), as cosigned.
    pub body: Vec<u8>,
    /// Names of the witnesses whose cosignatures verified.
    pub witnesses: Vec<String>,
    /// Name and key ID of each witness key whose cosignature verified.
    pub witness_keys: Vec<(String, u32)>,
}

/// Anything that decides whether a signed checkpoint is trusted: a simple k-of-n
/// [`Policy`], or a C2SP tlog-policy file ([`crate::policy::TrustPolicy`]).
pub trait CheckpointPolicy {
    /// Verifies the note's signatures and returns the checkpoint if trusted.
    fn check(&self, note: &[u8]) -> Result<VerifiedCheckpoint, CheckpointError>;
}

impl CheckpointPolicy for Policy {
    fn check(&self, note: &[u8]) -> Result<VerifiedCheckpoint, CheckpointError> {
        verify_checkpoint(note, self)
    }
}

/// Verifies a signed checkpoint note against `policy`.
pub fn verify_checkpoint(
    note: &[u8],
    policy: &Policy,
) -> Result<VerifiedCheckpoint, CheckpointError> {
    let log = StandardVerifier::new(&policy.log_key)
        .map_err(|_| CheckpointError::BadKey("log key is not an Ed25519 verifier key"))?;
    let (log_name, log_id) = (log.name().to_owned(), log.key_id());
    let mut verifiers: Vec<Box<dyn Verifier>> = vec![Box::new(log)];
    for w in &policy.witnesses {
        verifiers.push(Box::new(CosignatureVerifier::new(w)?));
    }
    let parsed = Note::from_bytes(note).map_err(|e| CheckpointError::Malformed(e.to_string()))?;
    let (verified, _unknown) = parsed
        .verify(&VerifierList::new(verifiers))
        .map_err(|e| CheckpointError::BadSignature(e.to_string()))?;
    if !verified
        .iter()
        .any(|s| s.name() == log_name && s.id() == log_id)
    {
        return Err(CheckpointError::BadSignature(
            "no signature from the log's key".into(),
        ));
    }
    let witness_keys: Vec<(String, u32)> = verified
        .iter()
        .filter(|s| !(s.name() == log_name && s.id() == log_id))
        .map(|s| (s.name().to_owned(), s.id()))
        .collect();
    let witnesses: Vec<String> = witness_keys.iter().map(|(n, _)| n.clone()).collect();
    if witnesses.len() < policy.quorum {
        return Err(CheckpointError::Quorum {
            found: witnesses.len(),
            required: policy.quorum,
        });
    }
    let cp = Checkpoint::from_bytes(parsed.text())
        .map_err(|e| CheckpointError::Malformed(e.to_string()))?;
    if cp.origin() != log_name {
        return Err(CheckpointError::Malformed(format!(
            "origin `{}` is not the log key's name `{log_name}`",
            cp.origin()
        )));
    }
    Ok(VerifiedCheckpoint {
        origin: cp.origin().to_owned(),
        size: cp.size(),
        root: cp.hash().0,
        body: parsed.text().to_vec(),
        witnesses,
        witness_keys,
    })
}

/// Adds cosignature lines (as a witness returns them) to a signed checkpoint note.
pub fn attach_cosignatures(note: &[u8], lines: &str) -> Result<Vec<u8>, CheckpointError> {
    let mut out = note.to_vec();
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let sig = signed_note::Signature::from_bytes(line.as_bytes())
            .map_err(|e| CheckpointError::Malformed(format!("cosignature line: {e}")))?;
        out.extend_from_slice(&sig.to_bytes());
    }
    Note::from_bytes(&out).map_err(|e| CheckpointError::Malformed(e.to_string()))?;
    Ok(out)
}
