//! Released files kept for the officer who released them to download. The service keeps no
//! copy of a record, and a page cannot carry a large file reliably (some browsers refuse
//! `data:` links over 2 MB), so the released file and its log wait here: in memory only,
//! for [`TTL`], at most [`MAX_BYTES`] in all (the oldest go first), each under a random token
//! and only for the account that released it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use rand::RngCore as _;

/// How long a released file can be downloaded.
pub(crate) const TTL: Duration = Duration::from_secs(30 * 60);
/// Most bytes kept in all.
pub(crate) const MAX_BYTES: usize = 256 * 1024 * 1024;

struct Entry {
    token: String,
    account: i64,
    name: String,
    bytes: Bytes,
    expires: Instant,
}

/// The files waiting to be downloaded, oldest first.
#[derive(Default)]
pub(crate) struct Downloads {
    entries: Mutex<VecDeque<Entry>>,
}

impl Downloads {
    /// Keeps `bytes` as `name` for `account`; returns the token that fetches it.
    pub(crate) fn keep(&self, account: i64, name: &str, bytes: Bytes) -> String {
        self.keep_at(Instant::now(), account, name, bytes)
    }

    /// The file under `token`, if `account` released it and it has not expired.
    pub(crate) fn get(&self, account: i64, token: &str) -> Option<(String, Bytes)> {
        self.get_at(Instant::now(), account, token)
    }

    fn keep_at(&self, now: Instant, account: i64, name: &str, bytes: Bytes) -> String {
        let mut raw = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        // A poisoned lock only means another request panicked mid-update of this list.
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| e.expires > now);
        let mut total: usize = entries.iter().map(|e| e.bytes.len()).sum::<usize>() + bytes.len();
        while total > MAX_BYTES {
            match entries.pop_front() {
                Some(old) => total -= old.bytes.len(),
                None => break,
            }
        }
        entries.push_back(Entry {
            token: token.clone(),
            account,
            name: name.to_owned(),
            bytes,
            expires: now + TTL,
        });
        token
    }

    fn get_at(&self, now: Instant, account: i64, token: &str) -> Option<(String, Bytes)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .find(|e| e.token == token && e.account == account && e.expires > now)
            .map(|e| (e.name.clone(), e.bytes.clone()))
    }
}

/// A `Content-Disposition` that downloads as `name`: an ASCII fallback and the UTF-8 name
/// percent-encoded (RFC 6266), so no quote or line break of a file name reaches the header.
pub(crate) fn attachment(name: &str) -> String {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"._-".contains(&b);
    let ascii: String = name
        .bytes()
        .map(|b| if plain(b) { b as char } else { '_' })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match plain(b) {
            true => (b as char).to_string(),
            false => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_for_its_account_until_it_expires() {
        let d = Downloads::default();
        let t0 = Instant::now();
        let token = d.keep_at(t0, 7, "report.csv", Bytes::from_static(b"a,b\n"));
        assert_eq!(token.len(), 32);
        let (name, bytes) = d.get_at(t0, 7, &token).unwrap();
        assert_eq!((name.as_str(), &bytes[..]), ("report.csv", &b"a,b\n"[..]));
        assert!(d.get_at(t0, 8, &token).is_none(), "another account");
        assert!(d.get_at(t0, 7, "0123").is_none(), "another token");
        assert!(d.get_at(t0 + TTL, 7, &token).is_none(), "expired");
        let other = d.keep_at(t0, 7, "x", Bytes::new());
        assert_ne!(token, other);
    }

    #[test]
    fn the_oldest_go_first_past_the_memory_bound() {
        let d = Downloads::default();
        let t0 = Instant::now();
        let big = || Bytes::from(vec![0u8; MAX_BYTES / 2]);
        let first = d.keep_at(t0, 1, "a", big());
        let second = d.keep_at(t0, 1, "b", big());
        assert!(d.get_at(t0, 1, &first).is_some());
        let third = d.keep_at(t0, 1, "c", big());
        assert!(d.get_at(t0, 1, &first).is_none(), "evicted");
        assert!(d.get_at(t0, 1, &second).is_some());
        assert!(d.get_at(t0, 1, &third).is_some());
    }

    #[test]
    fn attachment_names_cannot_break_the_header() {
        assert_eq!(
            attachment("report.csv"),
            "attachment; filename=\"report.csv\"; filename*=UTF-8''report.csv"
        );
        let h = attachment("Peña \"x\"\r\n.txt");
        assert!(
            h.is_ascii() && !h.contains('\r') && !h.contains('\n'),
            "{h}"
        );
        assert!(h.contains("filename=\"Pe__a__x___.txt\""), "{h}");
        assert!(h.contains("Pe%C3%B1a%20%22x%22%0D%0A.txt"), "{h}");
    }
}
