//! Request rate limits: a token bucket per client address (every route but the probes) and
//! one per account (authenticated routes, checked when the caller is known). Past the
//! limit the answer is 429 with `Retry-After`. In memory, per instance.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;
use crate::state::AppState;

/// One bucket's settings: `per_second` tokens added each second, up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Sustained requests per second; 0 turns the limit off.
    pub per_second: u32,
    /// Requests allowed at once after a quiet spell (at least `per_second`).
    pub burst: u32,
}

impl Rate {
    /// The limiter for this rate, or `None` when it is off.
    fn limiter<K: std::hash::Hash + Eq + Clone>(self) -> Option<DefaultKeyedRateLimiter<K>> {
        let per_second = NonZeroU32::new(self.per_second)?;
        let burst = NonZeroU32::new(self.burst.max(self.per_second))?;
        Some(RateLimiter::keyed(
            Quota::per_second(per_second).allow_burst(burst),
        ))
    }
}

/// How often (in checks) idle buckets are dropped, so memory follows active clients only.
const SWEEP_EVERY: u64 = 10_000;

/// The service's limiters.
pub struct RateLimits {
    by_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    by_account: Option<DefaultKeyedRateLimiter<i64>>,
    checks: AtomicU64,
}

impl RateLimits {
    /// Limits per client address and per account.
    pub fn new(address: Rate, account: Rate) -> Self {
        RateLimits {
            by_address: address.limiter(),
            by_account: account.limiter(),
            checks: AtomicU64::new(0),
        }
    }

    fn check<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &Option<DefaultKeyedRateLimiter<K>>,
        key: K,
    ) -> Result<(), ApiError> {
        let Some(limiter) = limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            if let Some(a) = &self.by_address {
                a.retain_recent();
            }
            if let Some(a) = &self.by_account {
                a.retain_recent();
            }
        }
        limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // Whole seconds, rounded up: `Retry-After: 0` would invite an immediate retry.
            ApiError::RateLimited(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        })
    }

    /// Counts a request from `address`.
    pub fn check_address(&self, address: IpAddr) -> Result<(), ApiError> {
        self.check(&self.by_address, address)
    }

    /// Counts a request by account `id`.
    pub fn check_account(&self, id: i64) -> Result<(), ApiError> {
        self.check(&self.by_account, id)
    }
}

/// Paths never limited: probes and the metrics scraper.
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/metrics")
}

/// Middleware: the per-address bucket.
pub async fn by_address(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !exempt(request.uri().path()) {
        let address = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if let Some(address) = address {
            if let Err(e) = state.rate_limits.check_address(address) {
                return e.into_response();
            }
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_past_the_limit_is_refused_with_a_wait_and_keys_are_apart() {
        let limits = RateLimits::new(
            Rate {
                per_second: 1,
                burst: 3,
            },
            Rate {
                per_second: 0,
                burst: 0,
            },
        );
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..3 {
            limits.check_address(a).unwrap();
        }
        match limits.check_address(a) {
            Err(ApiError::RateLimited(secs)) => assert!((1..=2).contains(&secs), "{secs}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        limits.check_address(b).unwrap();
        // Off: never refuses.
        for _ in 0..1000 {
            limits.check_account(7).unwrap();
        }
    }
}
