//! Ledger entries: the public leaf (no personal data) and the private record it commits to.
//!
//! Public leaf layout (version 1, big-endian):
//! `version(1) | event(1) | hour(8, UNIX seconds floored to the hour) | provision_len(1) |
//! provision(ASCII) | has_ref(1) | refers_to(8, if has_ref) | commitment(32)`.
//! The commitment is `SHA-256("citygate-ledger/v1/commitment\n" ‖ nonce ‖ details)` with a
//! fresh random 256-bit nonce, so the leaf reveals nothing about the details without the nonce.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

const LEAF_VERSION: u8 = 1;
const COMMITMENT_DOMAIN: &[u8] = b"citygate-ledger/v1/commitment\n";
/// Longest provision identifier a leaf may carry.
pub const MAX_PROVISION_LEN: usize = 64;
/// Coarse time granularity of a public leaf, in seconds.
pub const TIME_BUCKET_SECS: u64 = 3600;

/// What happened. The code is the only description of the event in public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A request for records or cooperation was received.
    RequestReceived = 1,
    /// A decision (comply, decline, refer) was made.
    DecisionMade = 2,
    /// Records were disclosed.
    RecordsDisclosed = 3,
    /// A redaction was applied before release.
    RedactionApplied = 4,
    /// A record was accessed.
    RecordAccessed = 5,
    /// A person's private details were erased; `refers_to` names the entry.
    Erasure = 6,
    /// A case's records were destroyed under a retention rule (the `provision`); the
    /// ledger's own entries about the case stay.
    RetentionPurge = 7,
}

impl EventKind {
    /// All kinds, for help texts and error messages.
    pub const ALL: [EventKind; 7] = [
        EventKind::RequestReceived,
        EventKind::DecisionMade,
        EventKind::RecordsDisclosed,
        EventKind::RedactionApplied,
        EventKind::RecordAccessed,
        EventKind::Erasure,
        EventKind::RetentionPurge,
    ];

    /// The snake_case name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::RequestReceived => "request_received",
            EventKind::DecisionMade => "decision_made",
            EventKind::RecordsDisclosed => "records_disclosed",
            EventKind::RedactionApplied => "redaction_applied",
            EventKind::RecordAccessed => "record_accessed",
            EventKind::Erasure => "erasure",
            EventKind::RetentionPurge => "retention_purge",
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| *k as u8 == code)
    }
}

/// Why an event or a leaf was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EntryError {
    /// The provision id is empty, too long or has characters outside the allowed set.
    #[error("field `provision`: must be 1 to {MAX_PROVISION_LEN} characters from A-Z a-z 0-9 . _ : / ( ) -")]
    BadProvision,
    /// An erasure without `refers_to`, or `refers_to` on another kind.
    #[error("field `refers_to`: required for `erasure` events and allowed only on them")]
    BadRefersTo,
    /// An erasure carrying private details.
    #[error("field `details`: an `erasure` event carries no private details")]
    DetailsOnErasure,
    /// An opening that does not open the leaf's commitment.
    #[error("opening: {0}")]
    BadOpening(&'static str),
    /// The leaf bytes do not follow the layout.
    #[error("malformed public leaf: {0}")]
    MalformedLeaf(&'static str),
}

/// What a caller logs: the public fields plus the private details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The event code.
    pub kind: EventKind,
    /// When it happened, UNIX seconds; only the hour goes public.
    pub time: u64,
    /// The deciding provision's identifier (e.g. `IL-TRUST-15(a)`), never free text.
    pub provision: String,
    /// For an erasure: the entry whose details were erased.
    #[serde(default)]
    pub refers_to: Option<u64>,
    /// Who, what, the request, the decision: kept only in the private store.
    #[serde(default)]
    pub details: Option<serde_json::Value>,
}

/// The public leaf: exactly what is hashed into the tree and published in tiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicLeaf {
    /// The event code.
    pub kind: EventKind,
    /// UNIX seconds, a multiple of [`TIME_BUCKET_SECS`].
    pub hour: u64,
    /// The deciding provision's identifier.
    pub provision: String,
    /// For an erasure: the erased entry.
    pub refers_to: Option<u64>,
    /// Salted commitment to the private details (zeros when there are none).
    pub commitment: Hash,
}

/// The private half of an entry: the details and the nonce that opens the commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateRecord {
    /// The random 256-bit nonce.
    pub nonce: [u8; 32],
    /// The details as stored (canonical JSON bytes).
    pub details: Vec<u8>,
}

/// An entry ready to be sequenced: its public leaf bytes and its private record, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The encoded public leaf.
    pub leaf: Vec<u8>,
    /// The private record, stored apart from the leaf.
    pub private: Option<PrivateRecord>,
}

fn provision_is_valid(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= MAX_PROVISION_LEN
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/()-".contains(&b))
}

/// The salted commitment to a record's details.
pub fn commitment(nonce: &[u8; 32], details: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(COMMITMENT_DOMAIN);
    h.update(nonce);
    h.update(details);
    h.finalize().into()
}

impl Event {
    /// Validates the event, draws a fresh nonce and splits it into public leaf and private record.
    pub fn seal(&self) -> Result<NewEntry, EntryError> {
        if !provision_is_valid(&self.provision) {
            return Err(EntryError::BadProvision);
        }
        let is_erasure = self.kind == EventKind::Erasure;
        if is_erasure != self.refers_to.is_some() {
            return Err(EntryError::BadRefersTo);
        }
        if is_erasure && self.details.is_some() {
            return Err(EntryError::DetailsOnErasure);
        }
        let private = self.details.as_ref().map(|d| {
            let mut nonce = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut nonce);
            PrivateRecord {
                nonce,
                details: d.to_string().into_bytes(),
            }
        });
        let leaf = PublicLeaf {
            kind: self.kind,
            hour: self.time - self.time % TIME_BUCKET_SECS,
            provision: self.provision.clone(),
            refers_to: self.refers_to,
            commitment: private
                .as_ref()
                .map_or([0; 32], |p| commitment(&p.nonce, &p.details)),
        };
        Ok(NewEntry {
            leaf: leaf.encode(),
            private,
        })
    }
}

impl PublicLeaf {
    /// The leaf's bytes, as hashed into the tree.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(52 + self.provision.len() + 8);
        out.push(LEAF_VERSION);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.hour.to_be_bytes());
        out.push(self.provision.len() as u8);
        out.extend_from_slice(self.provision.as_bytes());
        match self.refers_to {
            Some(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_be_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&self.commitment);
        out
    }

    /// Parses leaf bytes, refusing anything outside the allowed layout.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        let mut r = Reader(bytes);
        if r.take(1)?[0] != LEAF_VERSION {
            return Err(EntryError::MalformedLeaf("unknown version"));
        }
        let kind = EventKind::from_code(r.take(1)?[0])
            .ok_or(EntryError::MalformedLeaf("unknown event code"))?;
        let hour = r.u64()?;
        let len = r.take(1)?[0] as usize;
        let provision = std::str::from_utf8(r.take(len)?)
            .map_err(|_| EntryError::MalformedLeaf("provision is not text"))?
            .to_owned();
        if !provision_is_valid(&provision) {
            return Err(EntryError::BadProvision);
        }
        let refers_to = match r.take(1)?[0] {
            0 => None,
            1 => Some(r.u64()?),
            _ => return Err(EntryError::MalformedLeaf("bad reference flag")),
        };
        let mut commitment = [0u8; 32];
        commitment.copy_from_slice(r.take(32)?);
        if !r.0.is_empty() {
            return Err(EntryError::MalformedLeaf("trailing bytes"));
        }
        Ok(Self {
            kind,
            hour,
            provision,
            refers_to,
            commitment,
        })
    }
}

/// What an auditor needs to check that a record is the one committed in a leaf: the
/// entry index, the nonce and the exact details bytes. It holds personal data: give it only
/// to those entitled to the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    /// The entry index.
    pub index: u64,
    /// The nonce, hex.
    pub nonce: String,
    /// The details exactly as committed (JSON text).
    pub details: String,
}

impl Opening {
    /// The opening of entry `index` from its private record.
    pub fn new(index: u64, record: &PrivateRecord) -> Self {
        Self {
            index,
            nonce: record.nonce.iter().map(|b| format!("{b:02x}")).collect(),
            details: String::from_utf8_lossy(&record.details).into_owned(),
        }
    }

    /// Checks that this opening matches the commitment in `leaf` (public leaf bytes).
    pub fn check(&self, leaf: &[u8]) -> Result<(), EntryError> {
        let leaf = PublicLeaf::decode(leaf)?;
        let nonce = parse_hex32(&self.nonce).ok_or(EntryError::BadOpening(
            "field `nonce`: must be 64 hex digits",
        ))?;
        if commitment(&nonce, self.details.as_bytes()) != leaf.commitment {
            return Err(EntryError::BadOpening(
                "the details and nonce do not match the entry's commitment",
            ));
        }
        Ok(())
    }
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EntryError> {
        if self.0.len() < n {
            return Err(EntryError::MalformedLeaf("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, EntryError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            kind: EventKind::DecisionMade,
            time: 1_796_000_123,
            provision: "IL-TRUST-15(a)".into(),
            refers_to: None,
            details: Some(serde_json::json!({"subject": "Jane Roe", "answer": "decline"})),
        }
    }

    #[test]
    fn leaf_round_trips_and_holds_no_details() {
        let sealed = event().seal().unwrap();
        let leaf = PublicLeaf::decode(&sealed.leaf).unwrap();
        assert_eq!(leaf.hour % TIME_BUCKET_SECS, 0);
        assert_eq!(leaf.encode(), sealed.leaf);
        let private = sealed.private.unwrap();
        assert_eq!(
            leaf.commitment,
            commitment(&private.nonce, &private.details)
        );
        assert!(!String::from_utf8_lossy(&sealed.leaf).contains("Roe"));
    }

    #[test]
    fn openings_open_their_own_leaf_only() {
        let sealed = event().seal().unwrap();
        let opening = Opening::new(0, sealed.private.as_ref().unwrap());
        opening.check(&sealed.leaf).unwrap();
        let other = event().seal().unwrap();
        assert!(opening.check(&other.leaf).is_err());
        let mut forged = opening.clone();
        forged.details = forged.details.replace("decline", "comply");
        assert!(forged.check(&sealed.leaf).is_err());
        forged = opening.clone();
        forged.nonce.truncate(10);
        assert!(forged.check(&sealed.leaf).is_err());
    }

    #[test]
    fn nonces_differ_so_equal_details_give_unlinkable_leaves() {
        assert_ne!(event().seal().unwrap().leaf, event().seal().unwrap().leaf);
    }

    #[test]
    fn free_text_provisions_and_bad_references_are_refused() {
        let mut e = event();
        e.provision = "Jane Roe, 12 Main St".into();
        assert_eq!(e.seal(), Err(EntryError::BadProvision));
        let mut e = event();
        e.kind = EventKind::Erasure;
        assert_eq!(e.seal(), Err(EntryError::BadRefersTo));
        e.refers_to = Some(3);
        assert_eq!(e.seal(), Err(EntryError::DetailsOnErasure));
    }

    #[test]
    fn malformed_leaves_are_refused() {
        let good = event().seal().unwrap().leaf;
        for cut in 0..good.len() {
            assert!(PublicLeaf::decode(&good[..cut]).is_err());
        }
        let mut extra = good.clone();
        extra.push(0);
        assert!(PublicLeaf::decode(&extra).is_err());
    }
}
