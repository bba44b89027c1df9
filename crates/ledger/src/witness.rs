//! A witness (C2SP tlog-witness semantics, without HTTP): it checks that a new checkpoint is
//! consistent with the last one it cosigned for that log, then cosigns it.
//!
//! Requests use the tlog-witness `add-checkpoint` body:
//! `old <size>\n<base64 consistency hash>...\n\n<signed checkpoint>`.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::prelude::{Engine, BASE64_STANDARD};
use sha2::{Digest, Sha256};

use crate::checkpoint::{verify_checkpoint, CheckpointError, Policy, WitnessKey};
use crate::merkle::{Hash, EMPTY_ROOT};
use crate::verify::{verify_consistency, ProofError};

/// Most proof lines the protocol allows.
const MAX_PROOF_LINES: usize = 63;

/// Why a witness refused to cosign (the protocol's status code in brackets).
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The request body is not an add-checkpoint request (400).
    #[error("malformed add-checkpoint request: {0}")]
    Malformed(&'static str),
    /// The checkpoint is not signed by the trusted log key (403).
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// `old` is larger than the checkpoint's size (400).
    #[error("old size {old} is larger than the checkpoint size {new}")]
    OldAfterNew {
        /// Claimed old size.
        old: u64,
        /// Checkpoint size.
        new: u64,
    },
    /// `old` is not the size this witness last cosigned (409); retry from `stored`.
    #[error(
        "this witness last cosigned size {stored}, not {old}; send a proof from size {stored}"
    )]
    Conflict {
        /// Claimed old size.
        old: u64,
        /// Size the witness holds.
        stored: u64,
    },
    /// The consistency proof failed, or same size with a different root (422).
    #[error("the checkpoint is not consistent with the last one cosigned: {0}")]
    Inconsistent(String),
    /// The witness state could not be read or written.
    #[error("witness state {path}: {source}")]
    State {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
}

/// Builds the add-checkpoint request body a log sends to a witness.
pub fn add_checkpoint_request(old: u64, proof: &[Hash], checkpoint: &[u8]) -> Vec<u8> {
    let mut out = format!("old {old}\n");
    for h in proof {
        out.push_str(&BASE64_STANDARD.encode(h));
        out.push('\n');
    }
    out.push('\n');
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(checkpoint);
    bytes
}

struct Request<'a> {
    old: u64,
    proof: Vec<Hash>,
    checkpoint: &'a [u8],
}

fn parse_request(body: &[u8]) -> Result<Request<'_>, WitnessError> {
    let split = body
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or(WitnessError::Malformed(
            "no blank line before the checkpoint",
        ))?;
    let head =
        std::str::from_utf8(&body[..split]).map_err(|_| WitnessError::Malformed("not UTF-8"))?;
    let mut lines = head.lines();
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .and_then(|n| n.parse().ok())
        .ok_or(WitnessError::Malformed("first line must be `old <size>`"))?;
    let proof = lines
        .map(|l| {
            BASE64_STANDARD
                .decode(l)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(WitnessError::Malformed("proof line is not a base64 hash"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if proof.len() > MAX_PROOF_LINES {
        return Err(WitnessError::Malformed("more than 63 proof lines"));
    }
    Ok(Request {
        old,
        proof,
        checkpoint: &body[split + 2..],
    })
}

/// A witness for one log, keeping its last cosigned checkpoint in `state_dir`.
pub struct Witness {
    key: WitnessKey,
    log_key: String,
    state_dir: PathBuf,
}

impl Witness {
    /// A witness with `key`, trusting the log verifier key `log_key`, keeping state in `state_dir`.
    pub fn new(key: WitnessKey, log_key: &str, state_dir: &Path) -> Self {
        Self {
            key,
            log_key: log_key.to_owned(),
            state_dir: state_dir.to_owned(),
        }
    }

    fn state_path(&self, origin: &str) -> PathBuf {
        let digest: [u8; 32] = Sha256::digest(origin.as_bytes()).into();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.state_dir.join(hex)
    }

    fn state_err(path: &Path) -> impl FnOnce(std::io::Error) -> WitnessError + '_ {
        move |source| WitnessError::State {
            path: path.display().to_string(),
            source,
        }
    }

    /// Handles an add-checkpoint request: on success returns the cosignature line(s) and
    /// records the checkpoint as the latest seen, atomically.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, WitnessError> {
        let req = parse_request(body)?;
        let policy = Policy {
            log_key: self.log_key.clone(),
            witnesses: vec![],
            quorum: 0,
        };
        let new = verify_checkpoint(req.checkpoint, &policy)?;
        if req.old > new.size {
            return Err(WitnessError::OldAfterNew {
                old: req.old,
                new: new.size,
            });
        }
        let path = self.state_path(&new.origin);
        let (stored_size, stored_root) = match std::fs::read(&path) {
            Ok(note) => {
                let cp = verify_checkpoint(&note, &policy)?;
                (cp.size, cp.root)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, EMPTY_ROOT),
            Err(e) => return Err(Self::state_err(&path)(e)),
        };
        if req.old != stored_size {
            return Err(WitnessError::Conflict {
                old: req.old,
                stored: stored_size,
            });
        }
        check_consistent(req.old, &stored_root, &req.proof, new.size, &new.root)?;
        let line = self.key.cosign(&new.body, now)?;
        self.save(&path, req.checkpoint)?;
        Ok(line)
    }

    fn save(&self, path: &Path, checkpoint: &[u8]) -> Result<(), WitnessError> {
        std::fs::create_dir_all(&self.state_dir).map_err(Self::state_err(&self.state_dir))?;
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(Self::state_err(&tmp))?;
        f.write_all(checkpoint)
            .and_then(|()| f.sync_all())
            .map_err(Self::state_err(&tmp))?;
        std::fs::rename(&tmp, path).map_err(Self::state_err(path))
    }
}

fn check_consistent(
    old: u64,
    old_root: &Hash,
    proof: &[Hash],
    new: u64,
    new_root: &Hash,
) -> Result<(), WitnessError> {
    let fail = |e: ProofError| WitnessError::Inconsistent(e.to_string());
    if old == 0 {
        // Nothing to be consistent with, but an empty proof is the only honest one.
        if !proof.is_empty() {
            return Err(WitnessError::Inconsistent(
                "a proof from size 0 must be empty".into(),
            ));
        }
        if new == 0 && new_root != &EMPTY_ROOT {
            return Err(WitnessError::Inconsistent(
                "wrong root for the empty tree".into(),
            ));
        }
        return Ok(());
    }
    verify_consistency(old, new, proof, old_root, new_root).map_err(fail)
}
