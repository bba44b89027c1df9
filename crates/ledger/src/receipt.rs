//! Offline receipts for single entries in the C2SP tlog-proof format:
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 public leaf>
//! index <n>
//! <base64 inclusion hash>...
//!
//! <signed checkpoint, with any cosignatures>
//! ```
//! The `extra` line carries the public leaf so the receipt stands alone; it is authenticated
//! by the inclusion proof, since the verifier hashes it into the leaf hash.

use base64::prelude::{Engine, BASE64_STANDARD};

use crate::checkpoint::{CheckpointError, CheckpointPolicy, VerifiedCheckpoint};
use crate::merkle::{leaf_hash, Hash};
use crate::verify::{verify_inclusion, ProofError};

const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The public leaf bytes.
    pub leaf: Vec<u8>,
    /// The entry index.
    pub index: u64,
    /// The inclusion proof, leaf side first.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: Vec<u8>,
}

/// Why a receipt was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The text is not a tlog-proof.
    #[error("malformed receipt: {0}")]
    Malformed(&'static str),
    /// The checkpoint did not meet the policy.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof failed.
    #[error("inclusion proof: {0}")]
    Proof(#[from] ProofError),
}

impl Receipt {
    /// Encodes the receipt as text.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "{HEADER}\nextra {}\nindex {}\n",
            BASE64_STANDARD.encode(&self.leaf),
            self.index
        );
        for h in &self.proof {
            out.push_str(&BASE64_STANDARD.encode(h));
            out.push('\n');
        }
        out.push('\n');
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.checkpoint);
        bytes
    }

    /// Parses receipt text.
    pub fn parse(text: &[u8]) -> Result<Self, ReceiptError> {
        let text = std::str::from_utf8(text).map_err(|_| ReceiptError::Malformed("not UTF-8"))?;
        let (head, checkpoint) = text.split_once("\n\n").ok_or(ReceiptError::Malformed(
            "no blank line before the checkpoint",
        ))?;
        let mut lines = head.lines();
        if lines.next() != Some(HEADER) {
            return Err(ReceiptError::Malformed(
                "first line must be c2sp.org/tlog-proof@v1",
            ));
        }
        let mut line = lines.next();
        let mut leaf = None;
        if let Some(extra) = line.and_then(|l| l.strip_prefix("extra ")) {
            leaf = Some(
                BASE64_STANDARD
                    .decode(extra)
                    .map_err(|_| ReceiptError::Malformed("extra is not base64"))?,
            );
            line = lines.next();
        }
        let index = line
            .and_then(|l| l.strip_prefix("index "))
            .filter(|n| !n.starts_with('0') || *n == "0")
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or(ReceiptError::Malformed("missing or bad `index <n>` line"))?;
        let proof = lines
            .map(|l| {
                BASE64_STANDARD
                    .decode(l)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or(ReceiptError::Malformed("proof line is not a base64 hash"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            leaf: leaf.ok_or(ReceiptError::Malformed("no `extra` line with the leaf"))?,
            index,
            proof,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }

    /// Checks the checkpoint against `policy` and the leaf's inclusion in it.
    pub fn verify(
        &self,
        policy: &dyn CheckpointPolicy,
    ) -> Result<VerifiedCheckpoint, ReceiptError> {
        let cp = policy.check(&self.checkpoint)?;
        verify_inclusion(
            &leaf_hash(&self.leaf),
            self.index,
            cp.size,
            &self.proof,
            &cp.root,
        )?;
        Ok(cp)
    }
}
