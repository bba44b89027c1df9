//! Which byte values occur in a field, found in one pass, so a detector that cannot match
//! without some byte (the pattern automaton without a digit, `@`, `<` or `:`; the word lists
//! without a letter; names without a capital; a policy's pattern without the bytes its matches
//! start with) is not run on a field that has none: most table cells and JSON leaves are short
//! and hold few kinds of bytes.

use regex_syntax::hir::{Class, Hir, HirKind};

/// A set of byte values (256 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteSet([u64; 4]);

/// Fields longer than this are not scanned for their bytes: they hold nearly every class anyway
/// (a report chunk), and each detector's own search costs more than the set would save.
const EXACT_UP_TO: usize = 1024;

impl ByteSet {
    /// No byte.
    pub const EMPTY: ByteSet = ByteSet([0; 4]);
    /// Every byte.
    pub const ALL: ByteSet = ByteSet([u64::MAX; 4]);

    /// This set with the bytes `lo..=hi` added.
    pub const fn with_range(mut self, lo: u8, hi: u8) -> ByteSet {
        let mut b = lo as usize;
        while b <= hi as usize {
            self.0[b >> 6] |= 1 << (b & 63);
            b += 1;
        }
        self
    }

    /// This set with byte `b` added.
    pub const fn with(self, b: u8) -> ByteSet {
        self.with_range(b, b)
    }

    /// The bytes present in `text`; every byte for a text longer than [`EXACT_UP_TO`] (which
    /// then runs every detector, as before this set existed).
    pub fn of(text: &[u8]) -> ByteSet {
        if text.len() > EXACT_UP_TO {
            return ByteSet::ALL;
        }
        let mut set = [0u64; 4];
        for &b in text {
            set[usize::from(b >> 6)] |= 1 << (b & 63);
        }
        ByteSet(set)
    }

    /// True when `b` is in the set.
    pub fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    /// True when the two sets share a byte.
    pub fn intersects(&self, other: &ByteSet) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }

    /// The bytes of either set.
    pub fn union(self, other: ByteSet) -> ByteSet {
        let mut out = self;
        for (o, b) in out.0.iter_mut().zip(other.0) {
            *o |= b;
        }
        out
    }
}

/// An ASCII byte that `str::trim` keeps: not whitespace as `char::is_whitespace` has it
/// (which, unlike `u8::is_ascii_whitespace`, counts the vertical tab).
fn kept_by_trim(b: u8) -> bool {
    b < 0x80 && !matches!(b, b' ' | b'\t'..=b'\r')
}

/// Where `text.trim()` starts and ends in `text` (byte offsets). Most table cells start and end
/// with a printable ASCII byte, which `trim` keeps: they skip its character decoding, which
/// cost about a hundred instructions a cell.
pub fn trimmed_span(text: &str) -> (usize, usize) {
    let b = text.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) if kept_by_trim(first) && kept_by_trim(last) => (0, b.len()),
        _ => {
            let start = text.len() - text.trim_start().len();
            (start, start + text.trim().len())
        }
    }
}

/// `text.trim_end().len()`, without decoding characters when the last byte is kept.
pub fn trimmed_end(text: &str) -> usize {
    match text.as_bytes().last() {
        Some(&last) if kept_by_trim(last) => text.len(),
        _ => text.trim_end().len(),
    }
}

/// Bytes that must be escaped in a JSON string: control bytes, `"` and `\`.
fn json_escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// True when `s` holds a byte a JSON string must escape ([`json_escaped`]), tested eight bytes
/// at a time: a log line's JSON pointer or column name was tested byte by byte, about 8
/// instructions a byte.
pub fn has_json_escape(s: &[u8]) -> bool {
    any_word(
        s,
        |w| below(w, 0x20) || has_byte(w, b'"') || has_byte(w, b'\\'),
        json_escaped,
    )
}

/// True when `s` holds `a` or `b`, tested eight bytes at a time.
pub fn has_either(s: &[u8], a: u8, b: u8) -> bool {
    any_word(
        s,
        |w| has_byte(w, a) || has_byte(w, b),
        |x| x == a || x == b,
    )
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// True when a byte of the word `w` is below `n` (at most 128): the borrow of a byte below `n`
/// sets its high bit where the byte's own is clear. Exact for "some byte", as a word-wide
/// test: a borrow only reaches bytes above the first byte that is below `n`.
#[inline(always)]
fn below(w: u64, n: u8) -> bool {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS != 0
}

/// True when a byte of the word `w` is `b`.
#[inline(always)]
fn has_byte(w: u64, b: u8) -> bool {
    below(w ^ (ONES * u64::from(b)), 1)
}

/// True when `word` holds for some eight-byte word of `s` (`byte` for some byte of a shorter
/// `s`). The last word overlaps the one before it: a byte tested twice changes nothing.
#[inline(always)]
fn any_word(s: &[u8], word: impl Fn(u64) -> bool, byte: impl Fn(u8) -> bool) -> bool {
    let (words, rest) = s.as_chunks::<8>();
    if words.is_empty() {
        return rest.iter().any(|&b| byte(b));
    }
    if words.iter().any(|w| word(u64::from_le_bytes(*w))) {
        return true;
    }
    !rest.is_empty()
        && s.last_chunk::<8>()
            .is_some_and(|w| word(u64::from_le_bytes(*w)))
}

/// Bytes of non-ASCII characters.
pub const NON_ASCII: ByteSet = ByteSet::EMPTY.with_range(0x80, 0xFF);

/// ASCII letters: every word of the detectors' lists holds one.
pub const LETTERS: ByteSet = ByteSet::EMPTY.with_range(b'A', b'Z').with_range(b'a', b'z');

/// Bytes a capitalised word can start with: an ASCII capital or the first byte of a non-ASCII
/// letter. Without one a field has no capitalised word, so no name and no mention of one.
pub const CAPITALS: ByteSet = ByteSet::EMPTY.with_range(b'A', b'Z').with_range(0x80, 0xFF);

/// The bytes a non-empty match of `hir` can start with, or [`ByteSet::ALL`] when the tree holds
/// something this does not follow. A text holding none of them has no non-empty match.
pub fn first_bytes(hir: &Hir) -> ByteSet {
    first(hir).map_or(ByteSet::ALL, |(set, _)| set)
}

/// [`first_bytes`] and whether `hir` can match the empty string.
fn first(hir: &Hir) -> Option<(ByteSet, bool)> {
    Some(match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => (ByteSet::EMPTY, true),
        HirKind::Literal(lit) => match lit.0.first() {
            Some(&b) => (ByteSet::EMPTY.with(b), false),
            None => (ByteSet::EMPTY, true),
        },
        HirKind::Class(Class::Bytes(c)) => (
            c.ranges().iter().fold(ByteSet::EMPTY, |s, r| {
                s.union(ByteSet::EMPTY.with_range(r.start(), r.end()))
            }),
            false,
        ),
        // A character class: its ASCII part as is, and any leading byte of a longer UTF-8
        // sequence for the rest.
        HirKind::Class(Class::Unicode(c)) => (
            c.ranges().iter().fold(ByteSet::EMPTY, |s, r| {
                let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
                let ascii = match (u8::try_from(lo), u8::try_from(hi.min(0x7F))) {
                    (Ok(lo), Ok(hi)) if lo <= 0x7F => ByteSet::EMPTY.with_range(lo, hi),
                    _ => ByteSet::EMPTY,
                };
                let wide = if hi > 0x7F {
                    ByteSet::EMPTY.with_range(0xC0, 0xFF)
                } else {
                    ByteSet::EMPTY
                };
                s.union(ascii).union(wide)
            }),
            false,
        ),
        HirKind::Repetition(r) => {
            if r.max == Some(0) {
                (ByteSet::EMPTY, true)
            } else {
                let (set, empty) = first(&r.sub)?;
                (set, empty || r.min == 0)
            }
        }
        HirKind::Capture(c) => first(&c.sub)?,
        HirKind::Concat(parts) => {
            // Up to the first part that cannot be empty: any of them can hold the first byte.
            let mut set = ByteSet::EMPTY;
            for p in parts {
                let (s, empty) = first(p)?;
                set = set.union(s);
                if !empty {
                    return Some((set, false));
                }
            }
            (set, true)
        }
        HirKind::Alternation(alts) => {
            let mut set = ByteSet::EMPTY;
            let mut any_empty = false;
            for a in alts {
                let (s, empty) = first(a)?;
                set = set.union(s);
                any_empty |= empty;
            }
            (set, any_empty)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::{meta, util::syntax};

    /// The word-wide tests agree with the byte tests: every byte value at every position of
    /// strings of 0 to 24 bytes over a few backgrounds, and pairs of special bytes.
    #[test]
    fn word_tests_agree_with_byte_tests() {
        let json = |s: &[u8]| s.iter().any(|&b| json_escaped(b));
        let either = |s: &[u8]| s.iter().any(|&b| b == b'~' || b == b'/');
        let mut checked = 0;
        for fill in [b'a', b' ', 0xC3, 0x7F, b'!', b'#', b'[', b']', b'}', b'0'] {
            for len in 0..=24 {
                let base = vec![fill; len];
                assert_eq!(has_json_escape(&base), json(&base));
                assert_eq!(has_either(&base, b'~', b'/'), either(&base));
                for pos in 0..len {
                    for b in 0..=255u8 {
                        let mut s = base.clone();
                        s[pos] = b;
                        assert_eq!(has_json_escape(&s), json(&s), "{s:?}");
                        assert_eq!(has_either(&s, b'~', b'/'), either(&s), "{s:?}");
                        // A second byte after it: a borrow from the first must not hide it.
                        for second in [0x00, 0x1F, 0x20, b'"', b'\\', b'~', b'/', 0xFF] {
                            if let Some(at) = (pos + 1..len).nth(b as usize % 3) {
                                s[at] = second;
                                assert_eq!(has_json_escape(&s), json(&s), "{s:?}");
                                assert_eq!(has_either(&s, b'~', b'/'), either(&s), "{s:?}");
                                s[at] = fill;
                            }
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 70_000);
    }

    #[test]
    fn sets_of_texts() {
        let s = ByteSet::of(b"Ab9\xff");
        for b in [b'A', b'b', b'9', 0xFF] {
            assert!(s.contains(b));
        }
        assert!(!s.contains(b'a') && !s.contains(0));
        assert!(s.intersects(&LETTERS) && s.intersects(&CAPITALS));
        assert!(!ByteSet::of(b"12-34").intersects(&LETTERS));
        assert!(!ByteSet::of(b"abc def").intersects(&CAPITALS));
        assert_eq!(ByteSet::of(&[b'1'; EXACT_UP_TO + 1]), ByteSet::ALL);
        assert_eq!(ByteSet::of(b""), ByteSet::EMPTY);
    }

    /// The spans are `str::trim`'s on every ASCII byte and some non-ASCII whitespace and
    /// letters, alone, around a word and in pairs.
    #[test]
    fn trimmed_span_is_trim() {
        let mut pieces: Vec<String> = (0u8..0x80).map(|b| char::from(b).to_string()).collect();
        pieces.extend(
            [
                "\u{85}", "\u{a0}", "\u{2003}", "\u{3000}", "é", "Ł", "\u{1c}", "",
            ]
            .map(String::from),
        );
        let mut texts = Vec::new();
        for a in &pieces {
            texts.push(a.clone());
            texts.push(format!("{a}word{a}"));
            for b in &pieces {
                texts.push(format!("{a}{b}"));
                texts.push(format!("{a} x {b}"));
            }
        }
        for t in &texts {
            let start = t.len() - t.trim_start().len();
            assert_eq!(trimmed_span(t), (start, start + t.trim().len()), "{t:?}");
            assert_eq!(trimmed_end(t), t.trim_end().len(), "{t:?}");
        }
    }

    /// No non-empty match in a text without a byte of the pattern's first-byte set; and the set
    /// is not larger than it needs to be for the shipped municipal ID pattern.
    #[test]
    fn first_bytes_bound_every_match() {
        let config = syntax::Config::new().unicode(false).utf8(false);
        let patterns = [
            r"\b(?:CK|ck)[- ]?[0-9]{8}\b",
            r"[0-9]{6}",
            r"x?y*z",
            r"(?i)ab|cd",
            r"\b\B|q",
            r"(?:a|)(?:b?)c",
            r"[^a-z]+",
            r"(?u:\w+)",
            r"(?u:é)x",
            r".{0}k",
        ];
        let texts = [
            "CK-12345678 ck 12345678",
            "x123456 zz yz",
            "AB cd aB Cd",
            "é x éx ÉX word",
            "abc abcabc q k",
            "",
            " ",
        ];
        for p in patterns {
            let hir = regex_automata::util::syntax::parse_with(p, &config).unwrap();
            let set = first_bytes(&hir);
            let re = meta::Regex::builder().syntax(config).build(p).unwrap();
            for t in texts {
                // Every position of a non-empty match starts with a byte of the set.
                for m in re.find_iter(t.as_bytes()).filter(|m| !m.is_empty()) {
                    assert!(set.contains(t.as_bytes()[m.start()]), "{p} on {t:?}");
                }
                // Every substring without a byte of the set has no non-empty match.
                for (i, _) in t.char_indices() {
                    let rest = &t.as_bytes()[i..];
                    let cut = rest
                        .iter()
                        .position(|&b| set.contains(b))
                        .unwrap_or(rest.len());
                    let part = &rest[..cut];
                    assert!(
                        re.find_iter(part).all(|m| m.is_empty()),
                        "{p} matches {part:?}"
                    );
                }
            }
        }
        let hir = regex_automata::util::syntax::parse_with(r"\b(?:CK|ck)[- ]?[0-9]{8}\b", &config)
            .unwrap();
        assert_eq!(first_bytes(&hir), ByteSet::EMPTY.with(b'C').with(b'c'));
    }
}
