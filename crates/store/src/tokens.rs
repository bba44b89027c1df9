//! API tokens recently looked up, with their accounts.
//!
//! An integration sends its token with every request, and looking it up cost more database
//! work than anything else a request does. A found token is kept for [`TOKEN_TTL`]. A change
//! to an account through this store empties the cache at once; another instance sharing the
//! database sees the change when its entry expires, within [`TOKEN_TTL`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::{Account, ApiToken};

/// How long a looked-up token is trusted without asking the database again: how long an
/// account change made on one instance may take to reach the others.
pub const TOKEN_TTL: Duration = Duration::from_secs(1);

/// Most tokens kept; past this the cache starts again empty (integrations are few).
const MAX_TOKENS: usize = 4096;

#[derive(Default)]
pub(crate) struct TokenCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every account change, so a lookup that read the database before the
    /// change cannot put its stale answer back afterwards.
    generation: u64,
    found: HashMap<Vec<u8>, (Instant, ApiToken, Account)>,
}

impl TokenCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map holds no invariant a panicking holder could break half-way.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached token and account, or the generation to pass to [`TokenCache::put`]
    /// after asking the database.
    pub(crate) fn get(&self, hash: &[u8], now: Instant) -> Result<(ApiToken, Account), u64> {
        let inner = self.lock();
        match inner.found.get(hash) {
            Some((at, token, account)) if now.duration_since(*at) < TOKEN_TTL => {
                Ok((token.clone(), account.clone()))
            }
            _ => Err(inner.generation),
        }
    }

    /// Keeps what the database answered, unless an account changed since `generation`.
    pub(crate) fn put(&self, generation: u64, found: &(ApiToken, Account), at: Instant) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.found.len() >= MAX_TOKENS {
            inner.found.clear();
        }
        let (token, account) = found;
        inner.found.insert(
            token.token_hash.clone(),
            (at, token.clone(), account.clone()),
        );
    }

    /// Forgets every token: an account changed.
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.found.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn found(hash: &[u8]) -> (ApiToken, Account) {
        let account = Account {
            id: 7,
            username: "desk".into(),
            role: Role::Desk,
            department: "police".into(),
            password_hash: None,
            disabled: false,
            created_at: 0,
        };
        let token = ApiToken {
            token_hash: hash.to_vec(),
            account_id: 7,
            label: "integration".into(),
            created_at: 0,
        };
        (token, account)
    }

    #[test]
    fn a_token_is_kept_until_it_expires() {
        let cache = TokenCache::default();
        let t0 = Instant::now();
        let generation = cache.get(b"h", t0).unwrap_err();
        cache.put(generation, &found(b"h"), t0);
        assert_eq!(cache.get(b"h", t0 + TOKEN_TTL / 2), Ok(found(b"h")));
        assert_eq!(cache.get(b"h", t0 + TOKEN_TTL), Err(generation));
        assert!(cache.get(b"other", t0).is_err());
    }

    #[test]
    fn an_account_change_empties_the_cache_and_refuses_stale_answers() {
        let cache = TokenCache::default();
        let t0 = Instant::now();
        let before = cache.get(b"h", t0).unwrap_err();
        cache.put(before, &found(b"h"), t0);
        cache.clear();
        assert!(cache.get(b"h", t0).is_err());
        // A lookup that started before the change answers with what it read then.
        cache.put(before, &found(b"h"), t0);
        assert!(cache.get(b"h", t0).is_err());
        let after = cache.get(b"h", t0).unwrap_err();
        assert_ne!(before, after);
        cache.put(after, &found(b"h"), t0);
        assert!(cache.get(b"h", t0).is_ok());
    }
}
