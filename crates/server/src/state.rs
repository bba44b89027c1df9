//! What every handler shares.

use std::sync::Arc;

use citygate_engine::RuleSet;
use citygate_ledger::Ledger;
use citygate_store::Store;

use crate::auth::Throttle;
use crate::vault::Vault;

/// Shared service state: one reference count to clone and drop, however many parts it
/// has (every request clones it several times, on every core).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps the parts.
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }

    /// The parts, to change before the state is shared (copied if it already is).
    pub fn make_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
#[derive(Clone)]
pub struct Shared {
    /// Cases, accounts, sessions, tokens, access log.
    pub store: Arc<dyn Store>,
    /// The tamper-evident ledger (synchronous; call it off the async threads).
    pub ledger: Arc<Ledger>,
    /// The rule packs.
    pub rules: Arc<RuleSet>,
    /// The key for personal data at rest.
    pub vault: Arc<Vault>,
    /// Failed-login counters.
    pub throttle: Arc<Throttle>,
    /// Signs the ledger's checkpoints.
    pub publisher: Arc<crate::routes::ledger::Publisher>,
    /// Prometheus counters.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Mark cookies `Secure` (the service is behind TLS).
    pub secure_cookies: bool,
    /// Single sign-on through OpenID Connect, when configured.
    pub oidc: Option<Arc<crate::oidc::Oidc>>,
    /// Request rate limits per client address and per account.
    pub rate_limits: Arc<crate::ratelimit::RateLimits>,
    /// The ledger's tiles, exported on demand and served from the data directory.
    pub tiles: Arc<crate::routes::ledger::TileCache>,
    /// Reads uploaded documents (bounded, off the async threads).
    pub documents: Arc<crate::routes::documents::DocumentReader>,
    /// Holds the ledger until the last state is gone, then drops it off the async threads.
    /// Declared after `ledger`, so it holds the last reference.
    pub ledger_guard: Arc<LedgerGuard>,
}

/// Drops the ledger on a thread of its own. The ledger's PostgreSQL client closes by
/// blocking on a runtime of its own, which panics on an async worker thread.
pub struct LedgerGuard(Option<Arc<Ledger>>);

impl LedgerGuard {
    /// Guards `ledger`.
    pub fn new(ledger: Arc<Ledger>) -> Self {
        LedgerGuard(Some(ledger))
    }
}

impl Drop for LedgerGuard {
    fn drop(&mut self) {
        if let Some(ledger) = self.0.take() {
            let _ = std::thread::spawn(move || drop(ledger)).join();
        }
    }
}
