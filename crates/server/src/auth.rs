//! Who is calling: sessions (HttpOnly SameSite cookies, CSRF token on state changes),
//! API tokens (`Authorization: Bearer`, stored hashed), passwords (Argon2id) and login
//! throttling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};
use citygate_store::{Account, Role};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "citygate_session";
/// Name of the (script-readable) cookie carrying the CSRF token.
pub const CSRF_COOKIE: &str = "citygate_csrf";
/// Header that must echo the CSRF token on state-changing cookie-authenticated requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Prefix of API tokens, so leaked ones are recognisable.
pub const TOKEN_PREFIX: &str = "cgt_";
/// How long a session lasts.
pub const SESSION_SECS: i64 = 8 * 3600;

/// A fresh random secret, URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    BASE64_URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a high-entropy secret (session cookie, API token, setup token). A fast hash
/// is enough: these secrets are random, not guessable passwords.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Argon2id hash of a password (PHC string). CPU-heavy: call off the async threads.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ApiError::Internal)
}

/// Checks a password against a PHC string; a malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Password rules: long enough to resist guessing, short enough not to be a weapon.
pub fn check_password_rules(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(12..=256).contains(&n) {
        return Err(ApiError::field("password", "must be 12 to 256 characters"));
    }
    Ok(())
}

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A session cookie; the hash identifies the session.
    Session(Vec<u8>),
    /// An API token.
    Token,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account.
    pub account: Account,
    /// How they authenticated.
    pub credential: Credential,
}

impl Caller {
    /// Refuses unless the caller holds one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.account.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("your role does not allow this"))
        }
    }
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::trim)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(token) = bearer(parts) {
            let found = state.store.token(&secret_hash(token)).await?;
            let (_, account) = found.ok_or(ApiError::Unauthenticated)?;
            state.rate_limits.check_account(account.id)?;
            return Ok(Caller {
                account,
                credential: Credential::Token,
            });
        }
        let session = cookie(parts, SESSION_COOKIE).ok_or(ApiError::Unauthenticated)?;
        let hash = secret_hash(session);
        let found = state.store.session(&hash, crate::now()).await?;
        let (session, account) = found.ok_or(ApiError::Unauthenticated)?;
        state.rate_limits.check_account(account.id)?;
        // Cookies ride along on cross-site requests; a script on another site cannot read
        // the CSRF token, so requiring it back proves the request came from our pages.
        if !is_safe(&parts.method) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            let matches = sent.is_some_and(|s| secret_hash(s) == secret_hash(&session.csrf_token));
            if !matches {
                return Err(ApiError::Forbidden(
                    "missing or wrong X-CSRF-Token header (use the csrf_token from login)",
                ));
            }
        }
        Ok(Caller {
            account,
            credential: Credential::Session(hash),
        })
    }
}

/// Most usernames and addresses the throttle tracks at once.
const MAX_TRACKED: usize = 100_000;

/// Counts failed logins per username and per client address within a window.
pub struct Throttle {
    window: Duration,
    per_user: u32,
    per_address: u32,
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Throttle {
    /// At most `per_user` failures per username and `per_address` per address per `window`.
    pub fn new(window: Duration, per_user: u32, per_address: u32) -> Self {
        Throttle {
            window,
            per_user,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, address: IpAddr) -> [(String, bool); 2] {
        [
            (format!("u:{}", username.to_lowercase()), true),
            (format!("a:{address}"), false),
        ]
    }

    /// Refuses with the seconds to wait if either key is over its limit.
    pub fn check(&self, username: &str, address: IpAddr) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        for (key, is_user) in Self::keys(username, address) {
            let limit = if is_user {
                self.per_user
            } else {
                self.per_address
            };
            if let Some((start, n)) = map.get(&key) {
                if *n >= limit {
                    let wait = self.window.saturating_sub(now.duration_since(*start));
                    return Err(ApiError::Throttled(wait.as_secs().max(1)));
                }
            }
        }
        Ok(())
    }

    /// Counts a failure.
    pub fn failed(&self, username: &str, address: IpAddr) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: a flood of made-up usernames cannot grow the map without limit; past the
        // bound only addresses are counted until entries expire.
        let full = map.len() >= MAX_TRACKED;
        for (key, is_user) in Self::keys(username, address) {
            if full && is_user && !map.contains_key(&key) {
                continue;
            }
            map.entry(key).or_insert((now, 0)).1 += 1;
        }
    }

    /// Forgets a username's failures after a successful login.
    pub fn succeeded(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("u:{}", username.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn throttle_blocks_after_the_limit_and_success_resets_the_user() {
        let t = Throttle::new(Duration::from_secs(60), 3, 100);
        let ip: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..3 {
            t.check("Dora", ip).unwrap();
            t.failed("dora", ip);
        }
        assert!(matches!(t.check("DORA", ip), Err(ApiError::Throttled(_))));
        t.check("sam", ip).unwrap();
        t.succeeded("dora");
        t.check("dora", ip).unwrap();
    }
}
