//! citygate-redaction: finds residents' protected data in records released under the Illinois
//! FOIA and replaces it according to a release policy, citing the exemption for every redaction.
//!
//! It does: detection (patterns with validators, context cues, phrase lexicons, a Census name
//! gazetteer, record-level propagation), policies as data, operators (label, mask, keyed
//! pseudonym, generalise, drop column), formats (text, CSV/TSV, JSON, JSON Lines) with a
//! redaction log that never holds an original value, and a synthetic labelled corpus with an
//! evaluation. It does not: talk to a network, decide what a request is (the engine does), or run
//! a neural model (the detector chain has room for one).
//!
//! Entry points: [`Redactor::new`] with a [`Policy`], then [`Redactor::redact_text`] /
//! [`Redactor::redact_record`], or [`release::Release`] for files.

pub mod columns;
pub mod corpus;
pub mod detect;
pub mod entity;
pub mod eval;
pub mod formats;
pub mod log;
pub mod operator;
pub mod policy;
pub mod redactor;
pub mod release;
pub mod review;
pub mod validate;

pub use entity::{Confidence, EntityKind, Finding};
pub use policy::{Policy, PolicyError};
pub use redactor::{FieldRole, RedactedField, Redactor, RedactorError};
