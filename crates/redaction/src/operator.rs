//! Operators: what replaces a detected value in the release.

use std::borrow::Cow;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::entity::EntityKind;
use crate::policy::{Action, EntityRule};

/// A city-held key for pseudonyms. The bytes never appear in output or logs.
#[derive(Clone)]
pub struct PseudonymKey(Vec<u8>);

impl PseudonymKey {
    /// Wraps key bytes (at least 16 are required by the caller's checks).
    pub fn new(bytes: Vec<u8>) -> Self {
        PseudonymKey(bytes)
    }
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(..)")
    }
}

/// The replacement text for `value` under `rule`. `key` is required for pseudonyms (the
/// `Redactor` checks that at construction, and labels if it is somehow missing).
pub fn replacement(
    rule: &EntityRule,
    kind: EntityKind,
    value: &str,
    key: Option<&PseudonymKey>,
) -> String {
    let exemption = rule.exemption.as_deref().unwrap_or("");
    match rule.action {
        Action::Keep => value.to_string(),
        Action::Label | Action::DropColumn => label(exemption),
        Action::Mask => mask(value, rule.keep_last),
        Action::Pseudonym => match key {
            Some(k) => pseudonym(k, kind, value),
            None => label(exemption),
        },
        Action::Generalise => match birth_year(value) {
            Some(year) => year.into_owned(),
            None => label(exemption),
        },
    }
}

/// [`replacement`], appended to `out`. A generalised date's four-digit year is copied from the
/// value, with no string of its own (a table's date-of-birth column had two allocations a cell).
pub fn push_replacement(
    rule: &EntityRule,
    kind: EntityKind,
    value: &str,
    key: Option<&PseudonymKey>,
    out: &mut String,
) {
    if rule.action == Action::Mask {
        mask_into(value, rule.keep_last, out);
        return;
    }
    if rule.action == Action::Generalise {
        if let Some(year) = birth_year(value) {
            out.push_str(&year);
            return;
        }
    }
    out.push_str(&replacement(rule, kind, value, key));
}

/// `[REDACTED 7(1)(b)]`.
pub fn label(exemption: &str) -> String {
    format!("[REDACTED {exemption}]")
}

/// Letters and digits become `X`; separators stay; the last `keep_last` alphanumerics stay when
/// at least four are hidden (never reveal most of a short value).
pub fn mask(value: &str, keep_last: usize) -> String {
    let mut out = String::with_capacity(value.len());
    mask_into(value, keep_last, &mut out);
    out
}

/// [`mask`], appended to `out`: a masked card or phone in a text is written where it goes, with
/// no string of its own grown char by char (about 1,100 a text redaction).
pub fn mask_into(value: &str, keep_last: usize, out: &mut String) {
    let total = value.chars().filter(|c| c.is_alphanumeric()).count();
    let keep = if total >= keep_last + 4 { keep_last } else { 0 };
    // At most `value.len()` bytes: a character becomes itself or the one-byte `X`.
    out.reserve(value.len());
    let mut seen = 0;
    for c in value.chars() {
        if c.is_alphanumeric() {
            seen += 1;
            out.push(if seen > total - keep { c } else { 'X' });
        } else {
            out.push(c);
        }
    }
}

/// `PERSON-3f2a9c1e04`: HMAC-SHA256 over the kind and the normalised value, so the same person or
/// number maps to the same pseudonym throughout a release, and nothing links without the key.
pub fn pseudonym(key: &PseudonymKey, kind: EntityKind, value: &str) -> String {
    let normalised: String = if kind == EntityKind::Person {
        value
            .split_whitespace()
            .map(|w| w.to_lowercase())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        value
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_uppercase)
            .collect()
    };
    // new_from_slice accepts any key length for HMAC; the Err arm is unreachable but typed.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key.0) else {
        return label("");
    };
    mac.update(kind.as_str().as_bytes());
    mac.update(b"\0");
    mac.update(normalised.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", kind.as_str())
}

/// The four-digit year of a date in any of the detected formats.
/// The first group of four digits is the year (borrowed from `value`); otherwise, with exactly
/// three groups of digits, a last group of two is a year of 19xx or 20xx.
pub fn birth_year(value: &str) -> Option<Cow<'_, str>> {
    // Digit groups in one pass, without collecting them: the first of four digits is the
    // answer; the count and the last group decide otherwise.
    let (mut groups, mut last) = (0, None);
    for g in value
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
    {
        if g.len() == 4 {
            return Some(Cow::Borrowed(g));
        }
        groups += 1;
        last = Some(g);
    }
    let last = last?;
    let yy: u32 = last.parse().ok()?;
    (last.len() == 2 && groups == 3)
        .then(|| Cow::Owned(format!("{}", if yy <= 30 { 2000 + yy } else { 1900 + yy })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mask_into` appends what the former `mask` (a `String` collected char by char) built, to
    /// what `out` already holds: separators, non-ASCII letters and digits (one `X` each, fewer
    /// bytes), values too short to keep a tail.
    #[test]
    fn mask_into_appends_the_collected_mask() {
        fn collected(value: &str, keep_last: usize) -> String {
            let total = value.chars().filter(|c| c.is_alphanumeric()).count();
            let keep = if total >= keep_last + 4 { keep_last } else { 0 };
            let mut seen = 0;
            value
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() {
                        seen += 1;
                        if seen > total - keep {
                            c
                        } else {
                            'X'
                        }
                    } else {
                        c
                    }
                })
                .collect()
        }
        let values = [
            "",
            "-",
            "1234",
            "12345",
            "4111 1111 1111 1234",
            "(312) 555-0100",
            "Zoë Ñúñez 12",
            "٣٤٥٦٧٨ x",
            "A#12-34",
        ];
        for value in values {
            for keep_last in [0, 2, 4, 9] {
                let mut out = String::from("before ");
                mask_into(value, keep_last, &mut out);
                assert_eq!(out, format!("before {}", collected(value, keep_last)));
                assert_eq!(mask(value, keep_last), collected(value, keep_last));
            }
        }
    }

    #[test]
    fn masks_keep_separators_and_tail() {
        assert_eq!(mask("4111 1111 1111 1234", 4), "XXXX XXXX XXXX 1234");
        assert_eq!(mask("12345", 4), "XXXXX");
    }

    #[test]
    fn pseudonyms_are_stable_keyed_and_opaque() {
        let k1 = PseudonymKey::new(b"city-held key number one, 32 by".to_vec());
        let k2 = PseudonymKey::new(b"another key entirely, also long!".to_vec());
        let a = pseudonym(&k1, EntityKind::Person, "Maria  Garcia");
        assert_eq!(a, pseudonym(&k1, EntityKind::Person, "maria garcia"));
        assert_ne!(a, pseudonym(&k2, EntityKind::Person, "Maria Garcia"));
        assert!(a.starts_with("PERSON-") && !a.to_lowercase().contains("garcia"));
        assert_eq!(
            pseudonym(&k1, EntityKind::Ssn, "512-44-9012"),
            pseudonym(&k1, EntityKind::Ssn, "512449012")
        );
    }

    #[test]
    fn birth_years() {
        assert_eq!(birth_year("03/15/1987").as_deref(), Some("1987"));
        assert_eq!(birth_year("1987-03-15").as_deref(), Some("1987"));
        assert_eq!(birth_year("March 15, 1987").as_deref(), Some("1987"));
        assert_eq!(birth_year("3/15/87").as_deref(), Some("1987"));
        assert_eq!(birth_year("unknown"), None);
        assert_eq!(birth_year("1/2/3/87"), None);
        assert_eq!(birth_year("15 3 87 12345"), None);
        assert_eq!(birth_year("87/3/15/1987").as_deref(), Some("1987"));
        assert_eq!(birth_year("3/15/30").as_deref(), Some("2030"));
        assert_eq!(birth_year("3/15/31").as_deref(), Some("1931"));
    }
}
