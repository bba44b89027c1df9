//! JSON Lines without a tree: a line that is already exactly what the tree path would print
//! (compact, keys strictly increasing in the tree's byte order and without escapes, string
//! values with no escape but serde_json's own, numbers plain integers that parse and print
//! unchanged) is scanned once for its leaves and written by
//! copying its bytes, with the redacted leaves substituted. Any other line, valid or not, is left
//! to the tree path (which also reports every error), so output, log and review list are the
//! tree path's by construction.

use std::borrow::Cow;
use std::ops::Range;

use super::{
    member_role, push_escaped_key, push_index, redact_leaves, role_of, Leaves, LEAF_SIZES,
};
use crate::columns::{classify_header_cached, ColumnRole};
use crate::detect::bytes::has_either;
use crate::formats::{FormatError, LogBatch};
use crate::redactor::Redactor;

/// Deepest nesting taken here (serde_json refuses 128 levels; anything deeper than this goes to
/// the tree path, which decides).
const MAX_DEPTH: usize = 64;

/// Redacts one JSON Lines line (`text`: without its line end, not blank) into `out` (without a
/// newline) and `log`, as the tree path would; `Ok(false)` with nothing written when the line
/// does not qualify.
pub(super) fn redact(
    redactor: &Redactor,
    file: &str,
    line: u64,
    text: &str,
    out: &mut Vec<u8>,
    log: &mut LogBatch,
) -> Result<bool, FormatError> {
    let bytes = text.as_bytes();
    // A raw control character is whitespace outside a string or invalid inside one: either way
    // not a line printed as is.
    if bytes.iter().fold(false, |c, &b| c | (b < 0x20)) {
        return Ok(false);
    }
    let (leaf_hint, pointer_hint) = LEAF_SIZES.with(|s| s.get());
    // Taken out of its thread-local for the line (and put back after), so no borrow is held.
    let mut roles = ROLES.with(|r| std::mem::replace(&mut *r.borrow_mut(), Roles(Vec::new())));
    if roles.0.len() != ROLE_SLOTS {
        roles.0 = vec![None; ROLE_SLOTS];
    }
    let mut scan = Scan {
        roles,
        text,
        at: 0,
        pointer: String::with_capacity(64),
        leaves: Leaves {
            pointers: String::with_capacity(pointer_hint),
            items: Vec::with_capacity(leaf_hint),
            // A qualifying line's keys hold no quote (a key ends at one), no backslash (such a key
            // does not qualify) and no control character (nor does such a line): its pointers,
            // keys and indices, need no escape.
            plain_pointers: true,
        },
        spans: Vec::with_capacity(leaf_hint),
    };
    let qualifies = scan.value(None, 0).is_some() && scan.at == bytes.len();
    let Scan {
        leaves,
        spans,
        roles,
        ..
    } = scan;
    ROLES.with(|r| *r.borrow_mut() = roles);
    if !qualifies {
        return Ok(false);
    }
    LEAF_SIZES.with(|s| s.set((leaves.items.len(), leaves.pointers.len())));
    let texts = redact_leaves(redactor, &leaves, file, line, log);
    // The spans are the scanner's, in bounds and increasing (document order is byte order).
    let mut from = 0;
    for (span, t) in spans.iter().zip(texts) {
        if let Some(t) = t {
            out.extend_from_slice(&bytes[from..span.start]);
            // A redacted leaf (a number too) becomes a string, escaped as serde_json escapes one.
            push_string(out, &t).map_err(|e| FormatError::io(file, e.into()))?;
            from = span.end;
        }
    }
    out.extend_from_slice(&bytes[from..]);
    Ok(true)
}

/// The byte an escape (the bytes after its backslash) stands for and the escape's length after
/// the backslash, if serde_json writes that byte so: `\"`, `\\`, the five short control
/// escapes, and `\u00xx` (lower-case hex) for the other control bytes. Anything else (`\/`,
/// `\u00e9`, upper-case hex) is valid JSON that the tree would write otherwise.
fn canonical_escape(after: &[u8]) -> Option<(u8, usize)> {
    let short = match after.first()? {
        b'"' => b'"',
        b'\\' => b'\\',
        b'n' => b'\n',
        b't' => b'\t',
        b'r' => b'\r',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'u' => {
            let hex = |b: u8| match b {
                b'0'..=b'9' => Some(b - b'0'),
                b'a'..=b'f' => Some(b - b'a' + 10),
                _ => None,
            };
            let [b'0', b'0', hi, lo] = *after.get(1..5)? else {
                return None;
            };
            let byte = hex(hi)? << 4 | hex(lo)?;
            let has_short_form = matches!(byte, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d);
            return (byte < 0x20 && !has_short_form).then_some((byte, 5));
        }
        _ => return None,
    };
    Some((short, 1))
}

/// Writes `text` as a JSON string as serde_json does: when no byte needs an escape (a quote, a
/// backslash or a control character, its whole list) that is the bytes between quotes, written
/// here without serde_json's byte-by-byte table walk; otherwise through serde_json. The log's
/// `push_json_str` does the same; calling it from here instead measured 3.1 M instructions more
/// per JSON Lines redaction (78.1 → 81.2 M, callgrind; not traced further), so both stay. The
/// byte-by-byte fold stays too: the eight-bytes-at-a-time `has_json_escape` measured 0.7 M more
/// per redaction (nineteenth round).
fn push_string(out: &mut Vec<u8>, text: &str) -> serde_json::Result<()> {
    let escapes = text
        .bytes()
        .fold(false, |e, b| e | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if escapes {
        return serde_json::to_writer(out, text);
    }
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
    Ok(())
}

/// The offset of the first `"` or `\\` in `bytes` (the end of a string, or its first escape), as
/// `memchr2` finds it. Keys and most values are a few bytes long, where `memchr2`'s call and
/// set-up cost more than the search: its first four words are tested here, eight bytes at a time;
/// a longer string goes on through `memchr2`.
#[inline]
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const WORDS: usize = 4;
    // The high bit of each zero byte of `w`. Only bytes above the lowest zero byte can be
    // flagged wrongly (a borrow goes upwards): the lowest flag is exact.
    let zeros = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS;
    let (words, _) = bytes.as_chunks::<8>();
    for (i, &word) in words.iter().take(WORDS).enumerate() {
        let w = u64::from_le_bytes(word);
        let found = zeros(w ^ (ONES * u64::from(b'"'))) | zeros(w ^ (ONES * u64::from(b'\\')));
        if found != 0 {
            return Some(i * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    let tested = words.len().min(WORDS) * 8;
    memchr::memchr2(b'"', b'\\', bytes.get(tested..)?).map(|at| tested + at)
}

/// [`classify_header_cached`] in front of a small direct-mapped table held for a whole line (one
/// thread-local access per line, not per key; a hit costs a short hash and one comparison). Exact:
/// the table only remembers that function's answers, key by whole key. It also remembers whether
/// the key holds `~` or `/` (so needs `~0`/`~1` in a pointer), so a hit skips that byte test.
struct Roles(Vec<Option<RoleSlot>>);

/// A remembered key: the key, its role, and whether it holds `~` or `/`.
type RoleSlot = (Box<str>, ColumnRole, bool);

const ROLE_SLOTS: usize = 256;

impl Roles {
    /// The key's role, and whether it holds `~` or `/`.
    fn of(&mut self, key: &str) -> (ColumnRole, bool) {
        let fresh = |key: &str| {
            (
                classify_header_cached(key),
                has_either(key.as_bytes(), b'~', b'/'),
            )
        };
        // The length and the first, middle and last bytes, multiplied into the top byte; a
        // collision only costs a miss.
        let b = key.as_bytes();
        let [Some(&first), Some(&last)] = [b.first(), b.last()] else {
            return fresh(key);
        };
        let middle = b.get(b.len() / 2).copied().unwrap_or(0);
        let mix = u64::from(first)
            | u64::from(middle) << 8
            | u64::from(last) << 16
            | (b.len() as u64) << 24;
        let slot = (mix.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % ROLE_SLOTS;
        // The table has ROLE_SLOTS entries (made so in `redact`); `get_mut` all the same.
        let Some(entry) = self.0.get_mut(slot) else {
            return fresh(key);
        };
        match entry {
            Some((k, role, escaped)) if **k == *key => (*role, *escaped),
            _ => {
                let (role, escaped) = fresh(key);
                *entry = Some((key.into(), role, escaped));
                (role, escaped)
            }
        }
    }
}

thread_local! {
    static ROLES: std::cell::RefCell<Roles> = const { std::cell::RefCell::new(Roles(Vec::new())) };
}

/// The scanner's state: the leaves as `collect` gathers them from the tree, and each leaf's
/// bytes in the line (a string with its quotes).
struct Scan<'t> {
    roles: Roles,
    text: &'t str,
    at: usize,
    pointer: String,
    leaves: Leaves<'t>,
    spans: Vec<Range<usize>>,
}

impl<'t> Scan<'t> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// One value at `at`; None when the line does not qualify (there or anywhere inside).
    fn value(&mut self, inherited: Option<ColumnRole>, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => {
                let start = self.at;
                let s = self.string_value()?;
                self.leaf(s, start..self.at, inherited);
                Some(())
            }
            b'-' | b'0'..=b'9' => self.number(inherited),
            b'{' => self.object(inherited, depth + 1),
            b'[' => self.array(inherited, depth + 1),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => None,
        }
    }

    /// A leaf, as `collect` pushes one.
    fn leaf(&mut self, text: Cow<'t, str>, span: Range<usize>, inherited: Option<ColumnRole>) {
        let from = self.leaves.pointers.len();
        self.leaves.pointers.push_str(&self.pointer);
        self.leaves
            .items
            .push((from..self.leaves.pointers.len(), text, role_of(inherited)));
        self.spans.push(span);
    }

    /// A string without escapes at `at` (its opening quote; a key): its raw bytes are its value
    /// (no control character in the line, checked before). A key with an escape does not
    /// qualify (the tree orders keys by their decoded text).
    fn string(&mut self) -> Option<&'t str> {
        let open = self.at + 1;
        let rest = self.text.as_bytes().get(open..)?;
        let close = open + quote_or_backslash(rest)?;
        if self.text.as_bytes().get(close) != Some(&b'"') {
            return None;
        }
        self.at = close + 1;
        // Between two ASCII quotes of valid UTF-8: always a char boundary; `get` all the same.
        self.text.get(open..close)
    }

    /// A string value at `at` (its opening quote). Without escapes its raw bytes are its value.
    /// With escapes it qualifies only if every escape is one serde_json itself writes (so the
    /// tree would write the decoded text back as these very bytes), and is decoded for
    /// detection: JSON Lines keeps a text's line breaks as `\n`.
    fn string_value(&mut self) -> Option<Cow<'t, str>> {
        let open = self.at + 1;
        let bytes = self.text.as_bytes();
        let first = open + quote_or_backslash(bytes.get(open..)?)?;
        if bytes.get(first) == Some(&b'"') {
            self.at = first + 1;
            return self.text.get(open..first).map(Cow::Borrowed);
        }
        let mut value = String::with_capacity(first - open + 16);
        value.push_str(self.text.get(open..first)?);
        let mut at = first;
        loop {
            match bytes.get(at)? {
                b'"' => {
                    self.at = at + 1;
                    return Some(Cow::Owned(value));
                }
                b'\\' => {
                    let (decoded, len) = canonical_escape(bytes.get(at + 1..)?)?;
                    value.push(char::from(decoded));
                    at += 1 + len;
                }
                _ => {
                    let run = memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
                    value.push_str(self.text.get(at..at + run)?);
                    at += run;
                }
            }
        }
    }

    /// An integer that serde_json parses as a u64 or a negative i64 (so a `Number` written with
    /// the same digits); a fraction, exponent, leading zero, `-0` or anything outside those
    /// ranges (parsed as a float) does not qualify.
    fn number(&mut self, inherited: Option<ColumnRole>) -> Option<()> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let negative = self.eat(b'-').is_some();
        let first = self.at;
        let mut n: u64 = 0;
        while let Some(d @ b'0'..=b'9') = bytes.get(self.at).copied() {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - first;
        if digits == 0 || (digits > 1 && bytes[first] == b'0') {
            return None;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        // serde_json: `-n` is an i64 when it is below zero and fits, else a float.
        if negative && !(1..=1u64 << 63).contains(&n) {
            return None;
        }
        let text = self.text.get(start..self.at)?;
        self.leaf(Cow::Borrowed(text), start..self.at, inherited);
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.text.as_bytes().get(self.at..end)? == word).then(|| self.at = end)
    }

    /// The opening `open` of a container at `depth`: `Some(true)` when `close` follows at once.
    fn open(&mut self, open: u8, close: u8, depth: usize) -> Option<bool> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.eat(open)?;
        Some(self.eat(close).is_some())
    }

    /// After a container's item: `Some(true)` at its `close`, `Some(false)` at a comma.
    fn item_end(&mut self, close: u8) -> Option<bool> {
        let b = self.peek()?;
        self.at += 1;
        match b {
            b',' => Some(false),
            _ if b == close => Some(true),
            _ => None,
        }
    }

    fn object(&mut self, inherited: Option<ColumnRole>, depth: usize) -> Option<()> {
        if self.open(b'{', b'}', depth)? {
            return Some(());
        }
        let mut previous: Option<&str> = None;
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.string()?;
            // The tree sorts keys by bytes and keeps the last of equal ones: strictly increasing
            // keys are already in its order, with none dropped.
            if previous.is_some_and(|p| p >= key) {
                return None;
            }
            previous = Some(key);
            self.eat(b':')?;
            let (own, escaped) = self.roles.of(key);
            let role = member_role(own, inherited);
            let len = self.pointer.len();
            if escaped {
                push_escaped_key(&mut self.pointer, key);
            } else {
                // What `push_escaped_key` writes for a key without `~` or `/`, its test done once
                // per distinct key by the role table.
                self.pointer.push('/');
                self.pointer.push_str(key);
            }
            self.value(role, depth)?;
            self.pointer.truncate(len);
            if self.item_end(b'}')? {
                return Some(());
            }
        }
    }

    fn array(&mut self, inherited: Option<ColumnRole>, depth: usize) -> Option<()> {
        if self.open(b'[', b']', depth)? {
            return Some(());
        }
        let mut i = 0;
        loop {
            let len = self.pointer.len();
            self.pointer.push('/');
            push_index(&mut self.pointer, i);
            self.value(inherited, depth)?;
            self.pointer.truncate(len);
            i += 1;
            if self.item_end(b']')? {
                return Some(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::classify_header;

    /// The fast path's table of key roles answers as `classify_header` does, also when keys
    /// collide in it (far more keys than slots).
    #[test]
    fn role_table_is_classify_header() {
        let mut roles = Roles(vec![None; ROLE_SLOTS]);
        let mut keys: Vec<String> = [
            "",
            "ssn",
            "SSN",
            "name",
            "first_name",
            "email",
            "phone",
            "dob",
            "address",
            "street",
            "narrative",
            "notes",
            "a~b",
            "x/y",
            "é",
            "social security number",
            "zip",
        ]
        .map(String::from)
        .to_vec();
        let more: Vec<String> = (0..3000).map(|i| format!("{}{i}", keys[i % 17])).collect();
        keys.extend(more);
        for _ in 0..2 {
            for key in &keys {
                let escaped = key.contains(['~', '/']);
                assert_eq!(roles.of(key), (classify_header(key), escaped), "{key}");
            }
        }
    }

    /// [`quote_or_backslash`] finds what `memchr2` finds: quotes and backslashes at every offset
    /// of strings of every length around its word and four-word bounds, among bytes of every
    /// value (those that differ from a quote or a backslash in one bit, high bytes, zero).
    #[test]
    fn quote_or_backslash_is_memchr2() {
        let fill = [b'a', b'#', b'"' ^ 0x80, b'\\' ^ 1, 0, 0xff, 0x80, b'"' ^ 1];
        let mut cases = 0;
        for len in 0..40 {
            for &f in &fill {
                let base = vec![f; len];
                assert_eq!(
                    quote_or_backslash(&base),
                    memchr::memchr2(b'"', b'\\', &base)
                );
                for at in 0..len {
                    for (c, later) in [
                        (b'"', None),
                        (b'\\', None),
                        (b'"', Some(b'\\')),
                        (b'\\', Some(b'"')),
                    ] {
                        let mut s = base.clone();
                        s[at] = c;
                        if let Some(l) = later {
                            s[(at + 1 + cases % 9).min(len - 1)] = l;
                        }
                        assert_eq!(
                            quote_or_backslash(&s),
                            memchr::memchr2(b'"', b'\\', &s),
                            "{s:?}"
                        );
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 20_000, "{cases}");
    }

    /// [`push_string`] writes what serde_json writes.
    #[test]
    fn push_string_is_serde_json() {
        for text in [
            "",
            "plain",
            "[REDACTED 7(1)(b)]",
            "q\"uote",
            "back\\slash",
            "nl\n",
            "\u{1}\u{1f}",
            "\u{7f}",
            "é東京",
            "\u{2028}",
            "\"",
            "\\",
            "a\tb\"c\\d",
        ] {
            let mut out = Vec::new();
            push_string(&mut out, text).unwrap();
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }
}
