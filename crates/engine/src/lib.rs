//! citygate-engine: the law as reviewable rule packs, and the decision engine.
//!
//! A [`vocab::Request`] goes in; an [`answer::Answer`] comes out: comply, decline or
//! refer, with the deciding provision, the provisions it defeated, the citations and
//! the follow-up actions. The crate does no I/O: rule packs are given to it as text
//! (the packs shipped with citygate are embedded at compile time, see [`packs`]).
//!
//! Invariants:
//! - the engine never answers `comply` by default: nothing applicable, a conflict,
//!   an unknown decisive fact or a `[MEMORY]`-only comply all give `refer`;
//! - the answer does not depend on the order packs or provisions are loaded.

pub mod answer;
pub mod check;
pub mod condition;
pub mod decide;
pub mod facts;
pub mod pack;
pub mod retention;
pub mod ruleset;
pub mod tri;
pub mod vocab;

pub use answer::{Answer, Basis, Question};
pub use decide::DecideError;
pub use facts::{Fact, Facts};
pub use pack::{Confidence, LoadError, Obligation, Outcome, Provision};
pub use retention::{Kept, Retention, RetentionRule};
pub use ruleset::{PackText, RuleSet};
pub use vocab::Request;
pub mod packs;
pub mod scenario;
pub mod show;
