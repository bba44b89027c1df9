//! Person names without a model: a gazetteer built from public-domain Census name lists (plus
//! compiled international lists), capitalisation runs (ALL CAPS included), "LAST, FIRST" order
//! and cues ("Mr.", "arrestee", "Name:"). Propagation to other mentions is done record-wide by
//! the chain (`super::propagate`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::bytes::{ByteSet, NON_ASCII};
use super::{Detector, FieldContext};
use crate::entity::{Confidence, EntityKind, Finding};

/// FNV-1a: short keys, no DoS exposure (keys come from our own lists), much faster than SipHash.
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A fast hash map keyed by folded name bytes.
pub type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

const FIRST: u16 = 1;
const SUR: u16 = 2;
const STOP: u16 = 4;
const PARTICLE: u16 = 8;
const CUE: u16 = 16;
const TITLE: u16 = 32;
const LABEL: u16 = 64;
const PLACE: u16 = 128;
/// Cues after which capitalised words are a name even when the lists do not know them.
const STRONG: u16 = 256;

const PARTICLES: &[&str] = &[
    "de", "del", "la", "las", "los", "van", "von", "der", "den", "da", "dos", "das", "di", "bin",
    "ibn", "al", "el", "abu", "y", "mc",
];
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "sr", "sra", "srta", "señor", "señora", "senor",
    "senora", "don", "doña", "dona",
];
const ROLE_CUES: &[&str] = &[
    "arrestee",
    "suspect",
    "victim",
    "witness",
    "offender",
    "complainant",
    "subject",
    "defendant",
    "applicant",
    "detainee",
    "inmate",
    "juvenile",
    "passenger",
    "owner",
    "resident",
    "tenant",
    "mother",
    "father",
    "son",
    "daughter",
    "wife",
    "husband",
    "brother",
    "sister",
    "identified",
    "signed",
    "dear",
    "regards",
    "sincerely",
    "atentamente",
    "cc",
    "attn",
    "spouse",
    "cousin",
    "friend",
    "boyfriend",
    "girlfriend",
    "neighbor",
    "client",
    "employee",
    "individual",
    "male",
    "female",
    "person",
    "arrested",
    "interviewed",
    "contacted",
    "against",
];
const STRONG_CUES: &[&str] = &[
    "name",
    "named",
    "nombre",
    "aka",
    "alias",
    "arrestee",
    "offender",
    "defendant",
    "detainee",
    "inmate",
    "applicant",
    "llamo",
];
const LABEL_WORDS: &[&str] = &[
    "officer",
    "sergeant",
    "sgt",
    "detective",
    "det",
    "lieutenant",
    "lt",
    "commander",
    "judge",
    "hello",
    "hi",
    "hola",
    "my",
    "subject",
    "case",
    "thank",
    "thanks",
    "please",
    "re",
    "fw",
    "fwd",
    "cityKey",
    "chicago",
    "illinois",
    "police",
    "district",
    "dob",
    "ssn",
    "age",
    "sex",
    "race",
    "addr",
    "address",
    "phone",
    "dl",
    "id",
    "ht",
    "wt",
    "eyes",
    "hair",
    "charge",
    "charges",
    "rd",
    "cb",
    "ir",
    "beat",
    "unit",
    "the",
    "and",
    "was",
    "is",
    "at",
    "on",
    "in",
    "to",
    "of",
    "for",
    "with",
    "who",
    "he",
    "she",
    "they",
    "his",
    "her",
    "by",
    "from",
    "a",
    "an",
    "as",
    "had",
    "has",
    "did",
    "not",
    "no",
    "yes",
    "arrested",
    "stated",
    "said",
    "told",
    "fled",
    "ran",
    "drove",
    "located",
    "observed",
    "transported",
    "booked",
    "released",
    "charged",
    "states",
    "lives",
    "resides",
    "born",
    "status",
    "street",
    "avenue",
    "apt",
];
const PLACE_WORDS: &[&str] = &[
    "park",
    "lake",
    "beach",
    "heights",
    "hills",
    "village",
    "square",
    "street",
    "avenue",
    "center",
    "centre",
    "school",
    "hospital",
    "church",
    "county",
    "bank",
    "college",
    "university",
    "station",
    "road",
    "drive",
    "boulevard",
    "district",
    "court",
    "department",
    "police",
    "city",
    "building",
    "hall",
    "library",
    "plaza",
    "tower",
    "airport",
    "market",
];

/// The name gazetteer: folded lower-case token → flags, in an open-addressing table built
/// once. Every word of a text near a capitalised word is looked up (in ALL-CAPS reports, every
/// word), so a look-up is one multiply-hash of the key's first and last eight bytes, a probe of
/// a small slot array (4 bytes a slot: it stays in cache) that turns most unknown words away by
/// a tag, and, for a candidate, one entry compared as one integer (keys up to eight bytes) or one
/// short memcmp.
pub struct Gazetteer {
    /// 0 = empty; otherwise the hash's tag above `shift` and the entry's index + 1 below.
    slots: Vec<u32>,
    /// Per key: its [`head`], its range in `bytes`, its flags.
    entries: Vec<(u64, u32, u16, u16)>,
    bytes: Vec<u8>,
    shift: u32,
    mask: usize,
    /// One bit per (length, first letter, last letter) of the keys that are a particle, title or
    /// cue ([`NEIGHBOUR_FLAGS`]): most lower-case words are turned away here without a look-up.
    neighbours: [u64; NEIGHBOUR_WORDS],
}

/// The flags a word that is not capitalised is looked up for: detection reads only these bits of
/// such a word's flags (see [`NameDetector::fill_flags`]).
const NEIGHBOUR_FLAGS: u16 = PARTICLE | TITLE | CUE | STRONG;
const NEIGHBOUR_WORDS: usize = 128;

/// The bit of [`Gazetteer::neighbours`] for a word of `n` bytes with first and last bytes
/// `first` and `last`. Only their low five bits count, which case does not change (for ASCII
/// letters, apostrophes and hyphens, `b | 0x20` keeps them): a plain token and its folded key
/// get the same bit.
#[inline]
fn neighbour_bit(n: usize, first: u8, last: u8) -> (usize, u64) {
    let b = (n & 7) << 10 | usize::from(first & 31) << 5 | usize::from(last & 31);
    (b >> 6, 1 << (b & 63))
}

/// The first eight bytes (fewer if shorter) as one little-endian word, zero-padded. At most
/// two loads: a copy of a variable length was a `memcpy` call, twice per look-up, and every word
/// of an ALL-CAPS report is looked up.
#[inline]
fn word8(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    if let Some(w) = bytes.first_chunk::<8>() {
        return u64::from_le_bytes(*w);
    }
    // Two loads from both ends, overlapping when shorter than twice their size: the bytes they
    // share are the same in both, so OR-ing them in place gives the bytes once.
    if let (Some(a), Some(b)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        return u64::from(u32::from_le_bytes(*a))
            | u64::from(u32::from_le_bytes(*b)) << (8 * (n - 4));
    }
    if let (Some(a), Some(b)) = (bytes.first_chunk::<2>(), bytes.last_chunk::<2>()) {
        return u64::from(u16::from_le_bytes(*a))
            | u64::from(u16::from_le_bytes(*b)) << (8 * (n - 2));
    }
    bytes.first().map_or(0, |&b| u64::from(b))
}

/// 0x20 in each of the first `n` (at most eight) bytes: OR-ed into ASCII letters, apostrophes
/// and hyphens, it lower-cases them as [`fold`] does.
#[inline]
fn lower_mask(n: usize) -> u64 {
    if n >= 8 {
        0x2020_2020_2020_2020
    } else {
        0x2020_2020_2020_2020 & ((1u64 << (8 * n)) - 1)
    }
}

/// The folded key's [`head`] and hash: from its first and last eight bytes (`first`, `last`,
/// already folded) and its length.
#[inline]
fn head_and_hash(first: u64, last: u64, n: usize) -> (u64, u64) {
    let h = first ^ ((n as u64) << 56);
    (
        h,
        (h ^ last.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    )
}

/// [`head_and_hash`] of a folded key.
fn key_head_hash(key: &[u8]) -> (u64, u64) {
    let n = key.len();
    head_and_hash(word8(key), word8(&key[n.saturating_sub(8)..]), n)
}

/// [`head_and_hash`] of the folded key of a plain token (see [`Token::plain`]), without
/// folding it, from the word's own bytes: the oracle of [`plain_head_hash_at`], which reads
/// them from the text.
#[cfg(test)]
fn plain_head_hash(word: &[u8]) -> (u64, u64) {
    let n = word.len();
    if n <= 8 {
        // First and last eight bytes are the same word: read and fold it once.
        let w = word8(word) | lower_mask(n);
        return head_and_hash(w, w, n);
    }
    head_and_hash(
        word8(word) | lower_mask(8),
        word8(&word[n - 8..]) | lower_mask(8),
        n,
    )
}

/// Per length below eight, the mask of that many low bytes of a word; the eighth entry keeps all.
const KEEP_BYTES: [u64; 9] = {
    let mut t = [u64::MAX; 9];
    let mut n = 0;
    while n < 8 {
        t[n] = (1u64 << (8 * n)) - 1;
        n += 1;
    }
    t
};

/// [`word8`] of the plain token `bytes[start..end]` (see [`Token::plain`]) lower-cased as
/// [`fold`] does, that is `word8(word) | lower_mask(n)`: read as the eight text bytes from
/// `start` when the text has them, OR-ed with the case bits and masked to the word's length.
/// One load and no branch on the length, where the word's own slice takes up to two loads and
/// a branch per length class (the text holds the bytes after a word, which the mask drops).
#[inline]
fn plain_word8_at(bytes: &[u8], start: usize, end: usize) -> u64 {
    let n = end.saturating_sub(start);
    match bytes.get(start..).and_then(<[u8]>::first_chunk::<8>) {
        Some(w) => (u64::from_le_bytes(*w) | LANE_CASE) & KEEP_BYTES[n.min(8)],
        None => word8(bytes.get(start..end).unwrap_or_default()) | lower_mask(n.min(8)),
    }
}

/// The head and hash of the plain token `bytes[start..end]`'s folded key (as
/// [`key_head_hash`] of it), its words read from the text ([`plain_word8_at`]).
#[inline]
fn plain_head_hash_at(bytes: &[u8], start: usize, end: usize) -> (u64, u64) {
    let n = end.saturating_sub(start);
    let first = plain_word8_at(bytes, start, end);
    if n <= 8 {
        return head_and_hash(first, first, n);
    }
    head_and_hash(first, plain_word8_at(bytes, end - 8, end), n)
}

/// True when the plain token `word` folds to `key`.
fn plain_eq(word: &[u8], key: &[u8]) -> bool {
    word.len() == key.len() && word.iter().zip(key).all(|(w, k)| (w | 0x20) == *k)
}

fn add_list(map: &mut FnvMap<Vec<u8>, u16>, list: &str, flag: u16) {
    for line in list.lines() {
        let w = line.trim();
        if w.is_empty() || w.starts_with('#') {
            continue;
        }
        let mut buf = [0u8; 48];
        if let Some(key) = fold(w, &mut buf) {
            *map.entry(key.to_vec()).or_insert(0) |= flag;
        }
    }
}

impl Gazetteer {
    fn from_entries(entries: &FnvMap<Vec<u8>, u16>) -> Self {
        let cap = (entries.len() * 2).next_power_of_two().max(16);
        // Bits for an entry's index + 1; the rest of the slot holds a tag of the hash.
        let shift = (usize::BITS - entries.len().leading_zeros()).clamp(1, 31);
        let mut g = Gazetteer {
            slots: vec![0; cap],
            entries: Vec::with_capacity(entries.len()),
            bytes: Vec::new(),
            shift,
            mask: cap - 1,
            neighbours: [0; NEIGHBOUR_WORDS],
        };
        for (key, &flags) in entries {
            let (h, hash) = key_head_hash(key);
            let mut i = (hash >> 32) as usize & g.mask;
            while g.slots[i] != 0 {
                i = (i + 1) & g.mask;
            }
            let from = g.bytes.len() as u32;
            g.bytes.extend_from_slice(key);
            g.entries.push((h, from, key.len() as u16, flags));
            g.slots[i] = ((hash as u32) >> shift << shift) | g.entries.len() as u32;
            if flags & NEIGHBOUR_FLAGS != 0 {
                if let (Some(&first), Some(&last)) = (key.first(), key.last()) {
                    let (w, bit) = neighbour_bit(key.len(), first, last);
                    g.neighbours[w] |= bit;
                }
            }
        }
        g
    }

    /// False when the plain token `word` (see [`Token::plain`]) is surely not a particle, title
    /// or cue: its flags hold none of [`NEIGHBOUR_FLAGS`].
    #[inline]
    fn may_be_neighbour(&self, word: &[u8]) -> bool {
        let (Some(&first), Some(&last)) = (word.first(), word.last()) else {
            return true;
        };
        let (w, bit) = neighbour_bit(word.len(), first, last);
        self.neighbours[w] & bit != 0
    }

    /// Flags of the key with this head and hash (0 when unknown); `same` compares a stored
    /// key longer than eight bytes (shorter ones are told apart by their head and length).
    #[inline]
    fn probe(&self, (h, hash): (u64, u64), n: usize, same: impl Fn(&[u8]) -> bool) -> u16 {
        let mut i = (hash >> 32) as usize & self.mask;
        let tag = (hash as u32) >> self.shift;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return 0;
            }
            if slot >> self.shift == tag {
                let index = (slot & ((1 << self.shift) - 1)) as usize;
                if let Some(&(sh, from, len, flags)) = self.entries.get(index.wrapping_sub(1)) {
                    if sh == h
                        && usize::from(len) == n
                        && (n <= 8
                            || self
                                .bytes
                                .get(from as usize..from as usize + n)
                                .is_some_and(&same))
                    {
                        return flags;
                    }
                }
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Flags of a folded key (0 when unknown).
    fn get(&self, key: &[u8]) -> u16 {
        self.probe(key_head_hash(key), key.len(), |k| k == key)
    }

    /// Flags of a token of `text` (the same as [`Self::lookup`] of its text).
    #[inline]
    fn lookup_token(&self, text: &str, t: &Token) -> u16 {
        let bytes = text.as_bytes();
        let word = &bytes[t.start..t.end];
        if t.plain {
            let hh = plain_head_hash_at(bytes, t.start, t.end);
            self.probe(hh, word.len(), |k| plain_eq(word, k))
        } else if word.last() == Some(&b'.') {
            // An initial with its dot ("J."): `fold` takes no dot, so it has no key.
            0
        } else {
            self.lookup(&text[t.start..t.end])
        }
    }
}

impl Gazetteer {
    /// The shipped lists, compiled into the binary.
    pub fn shipped() -> Self {
        let mut flags = FnvMap::default();
        add_list(
            &mut flags,
            include_str!("../../data/names/census-surnames.txt"),
            SUR,
        );
        add_list(
            &mut flags,
            include_str!("../../data/names/census-female-first.txt"),
            FIRST,
        );
        add_list(
            &mut flags,
            include_str!("../../data/names/census-male-first.txt"),
            FIRST,
        );
        add_list(
            &mut flags,
            include_str!("../../data/names/intl-first.txt"),
            FIRST,
        );
        add_list(
            &mut flags,
            include_str!("../../data/names/intl-surnames.txt"),
            SUR,
        );
        add_list(
            &mut flags,
            include_str!("../../data/names/stoplist.txt"),
            STOP,
        );
        for (list, flag) in [
            (PARTICLES, PARTICLE),
            (TITLES, TITLE),
            (ROLE_CUES, CUE),
            (STRONG_CUES, CUE | STRONG),
            (LABEL_WORDS, LABEL),
            (PLACE_WORDS, PLACE),
        ] {
            for w in list {
                let mut buf = [0u8; 48];
                if let Some(key) = fold(w, &mut buf) {
                    *flags.entry(key.to_vec()).or_insert(0) |= flag;
                }
            }
        }
        Gazetteer::from_entries(&flags)
    }

    /// Flags of a token (0 when unknown).
    fn lookup(&self, token: &str) -> u16 {
        let mut buf = [0u8; 48];
        fold(token, &mut buf).map_or(0, |k| self.get(k))
    }

    /// True when the token is a first name or surname in the lists.
    pub fn is_name(&self, token: &str) -> bool {
        self.lookup(token) & (FIRST | SUR) != 0
    }

    /// True when every word of `value` (one to four) is a listed name or an initial: a table
    /// cell such as "GARCIA" or "Juan C. Garcia".
    pub fn is_name_value(&self, value: &str) -> bool {
        let mut tokens = Vec::new();
        tokenize(value, &mut tokens);
        let letters: usize = tokens.iter().map(|t| t.end - t.start).sum();
        (1..=4).contains(&tokens.len())
            && letters * 10 >= value.trim().len() * 7
            && tokens.iter().all(|t| {
                t.shape == Shape::Initial
                    || (self.lookup(&value[t.start..t.end]) & (FIRST | SUR) != 0)
            })
            && tokens
                .iter()
                .any(|t| self.lookup(&value[t.start..t.end]) & (FIRST | SUR) != 0)
    }

    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty (never for the shipped lists).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Lower-cases ASCII and folds common Latin accents ("Peña" → "pena", "Łukasz" → "lukasz") into
/// `buf`; `None` for tokens too long to be a name.
pub fn fold<'b>(token: &str, buf: &'b mut [u8; 48]) -> Option<&'b [u8]> {
    let bytes = token.as_bytes();
    // Most tokens are plain ASCII words: lower-case them byte by byte.
    if bytes.len() <= buf.len()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphabetic() || *b == b'\'' || *b == b'-')
    {
        for (d, b) in buf.iter_mut().zip(bytes) {
            *d = b.to_ascii_lowercase();
        }
        return (!bytes.is_empty()).then_some(&buf[..bytes.len()]);
    }
    let mut n = 0;
    for c in token.chars() {
        let folded = match c {
            'a'..='z' | '\'' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            'á' | 'à' | 'ä' | 'â' | 'ã' | 'å' | 'ą' | 'Á' | 'À' | 'Ä' | 'Â' | 'Ã' | 'Å' | 'Ą' => {
                'a'
            }
            'é' | 'è' | 'ë' | 'ê' | 'ę' | 'É' | 'È' | 'Ë' | 'Ê' | 'Ę' => 'e',
            'í' | 'ì' | 'ï' | 'î' | 'Í' | 'Ì' | 'Ï' | 'Î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' | 'õ' | 'Ó' | 'Ò' | 'Ö' | 'Ô' | 'Õ' => 'o',
            'ú' | 'ù' | 'ü' | 'û' | 'Ú' | 'Ù' | 'Ü' | 'Û' => 'u',
            'ñ' | 'Ñ' | 'ń' | 'Ń' => 'n',
            'ç' | 'Ç' | 'ć' | 'Ć' | 'č' | 'Č' => 'c',
            'ł' | 'Ł' => 'l',
            'ś' | 'Ś' | 'š' | 'Š' => 's',
            'ż' | 'ź' | 'Ż' | 'Ź' | 'ž' | 'Ž' => 'z',
            _ => return None,
        };
        if n >= buf.len() {
            return None;
        }
        buf[n] = folded as u8;
        n += 1;
    }
    (n > 0).then_some(&buf[..n])
}

/// How a token is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// "Garcia", "Peña".
    Title,
    /// "GARCIA".
    Upper,
    /// "J" or "J." (an initial).
    Initial,
    /// Anything else ("garcia", "McDONALD" counts as Title).
    Lower,
}

/// A word of a text: byte span, shape, and what separates it from the next word.
#[derive(Debug, Clone, Copy)]
pub struct Token {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the word (an initial's dot included).
    pub end: usize,
    /// Capitalisation.
    pub shape: Shape,
    /// Only spaces/tabs lie between this word and the next.
    pub space_after: bool,
    /// A comma then spaces lie between this word and the next ("GARCIA, JUAN").
    pub comma_after: bool,
    /// This word starts a sentence or a line.
    pub sentence_start: bool,
    /// The word is ASCII letters, apostrophes and hyphens only (no initial's dot): its folded
    /// key is its bytes lower-cased, and look-ups need not fold it first.
    pub plain: bool,
}

/// Byte classes for the tokenizer (one table look-up per byte instead of several compares).
const WORD: u8 = 1;
const MARK: u8 = 2;
const UPPER_B: u8 = 4;
const LOWER_B: u8 = 8;
const HIGH: u8 = 16;

const fn byte_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_uppercase() {
            WORD | UPPER_B
        } else if c.is_ascii_lowercase() {
            WORD | LOWER_B
        } else if c >= 0x80 {
            WORD | HIGH
        } else if matches!(
            c,
            b'.' | b'!' | b'?' | b'\n' | b'\r' | b':' | b';' | b'|' | b'\t'
        ) {
            MARK
        } else {
            0
        };
        b += 1;
    }
    t
}

static CLASS: [u8; 256] = byte_classes();

/// The shape of a plain ASCII word that is not glued to a digit (in the reference tokenizer),
/// indexed by its first byte's capital bit (`UPPER_B >> 2`) or-ed with the capital and
/// small-letter bits of its other bytes (`rest & (UPPER_B | LOWER_B)`).
#[cfg(test)]
const ASCII_SHAPES: [Shape; 16] = {
    let mut t = [Shape::Lower; 16];
    // A capital first: nothing else an initial, capitals only Upper, any small letter Title.
    t[1] = Shape::Initial;
    t[1 | UPPER_B as usize] = Shape::Upper;
    t[1 | LOWER_B as usize] = Shape::Title;
    t[1 | (UPPER_B | LOWER_B) as usize] = Shape::Title;
    t
};

/// The shape of a plain ASCII word from the classes of its first byte and of its other bytes.
#[cfg(test)]
fn ascii_shape(first: u8, rest: u8) -> Shape {
    ASCII_SHAPES[usize::from((first & UPPER_B) >> 2 | (rest & (UPPER_B | LOWER_B)))]
}

/// Eight text bytes read as one `u64` (little-endian: lane k is byte k), one bit per lane.
const LANES: u64 = 0x0101_0101_0101_0101;
/// The top bit of every lane.
const LANE_TOPS: u64 = LANES << 7;
/// The case bit (0x20) of every lane: set in a small ASCII letter, clear in a capital.
const LANE_CASE: u64 = LANES << 5;

/// The top bit of every lane of `chunk` that is not a word byte (not an ASCII letter and below
/// 0x80: [`CLASS`] without `WORD`), by arithmetic on all eight lanes at once.
#[inline]
fn non_word_lanes(chunk: u64) -> u64 {
    // Letters of both cases are `a..=z` with the case bit set; on seven bits, so the adds carry
    // into no other lane (0x7f + 0x1f < 0x100).
    let folded = (chunk | LANE_CASE) & !LANE_TOPS;
    let from_a = folded + (0x80 - u64::from(b'a')) * LANES;
    let past_z = folded + (0x80 - u64::from(b'z') - 1) * LANES;
    !(chunk | (from_a & !past_z)) & LANE_TOPS
}

/// Splits a text into words: letters (any script), with inner apostrophes and hyphens.
///
/// A word's letters are scanned eight at a time (one `u64`, [`non_word_lanes`]) and its shape
/// read from the or of its bytes; the byte that ended it (0 at the text's end: no joiner, digit,
/// dot or comma either) is kept for the joiner, glued-digit and initial's-dot tests rather than
/// read again; and a word followed by one space and a word (nearly half of them) is pushed
/// without scanning its separators, the next word's class read from the same chunk. On the
/// benchmark text ~19 instructions a byte against ~22 for the byte-at-a-time loop it replaced
/// (28.4 M against 33.8 M a redaction; `tokenize_reference` in the tests, which it matches token
/// for token). The scan alone gains little on words of four or five letters (one chunk costs
/// about what four bytes did); the kept bytes and the space-then-word path give most of it.
pub fn tokenize(text: &str, out: &mut Vec<Token>) {
    out.clear();
    let bytes = text.as_bytes();
    let mut i = 0;
    // Classes of the bytes since the last word (a mark starts a sentence); the text's start
    // counts as one.
    let mut gap = MARK;
    // The byte before the word when not a word byte (0 for a space or an initial's dot, neither
    // a digit): a digit glues the word.
    let mut before = 0u8;
    // The class of the word's first byte.
    let Some(mut first) = skip_to_word(bytes, &mut i, &mut gap, &mut before) else {
        return;
    };
    loop {
        let start = i;
        // The word's bytes or-ed: a byte from 0x80 shows in the lanes' top bits, a small letter
        // in their case bits (a capital first has its case bit clear).
        let mut any = 0u64;
        // `after`: the class of the byte after the one that ended the word when both are in the
        // chunk read (else 0).
        let (stop_byte, after) = loop {
            let rest = bytes.get(i..).unwrap_or_default();
            let (stop_byte, after) = if let Some(chunk) = rest.first_chunk::<8>() {
                let chunk = u64::from_le_bytes(*chunk);
                let stops = non_word_lanes(chunk);
                if stops == 0 {
                    any |= chunk;
                    i += 8;
                    continue;
                }
                // Bit offset of the first non-word lane (a multiple of 8 below 64).
                let stop = stops.trailing_zeros() - 7;
                any |= chunk & ((1u64 << stop) - 1);
                i += (stop / 8) as usize;
                let stop_byte = (chunk >> stop) as u8;
                // Past the chunk's end the shift leaves 0, of class 0.
                (stop_byte, CLASS[usize::from((chunk >> stop >> 8) as u8)])
            } else {
                // Fewer than eight bytes left: one at a time.
                let stop_byte = loop {
                    match bytes.get(i) {
                        Some(&c) if CLASS[usize::from(c)] & WORD != 0 => {
                            any |= u64::from(c);
                            i += 1;
                        }
                        Some(&c) => break c,
                        None => break 0,
                    }
                };
                (stop_byte, 0)
            };
            // An apostrophe or hyphen joins two words ("O'BRIEN", "Wiśniewska-Kowalczyk").
            if matches!(stop_byte, b'\'' | b'-')
                && bytes
                    .get(i + 1)
                    .is_some_and(|&c| CLASS[usize::from(c)] & WORD != 0)
            {
                i += 1;
                continue;
            }
            break (stop_byte, after);
        };
        let ascii = any & LANE_TOPS == 0;
        // Letters glued to digits ("DR1VING", "B2") are OCR noise or codes, not names.
        let glued = before.is_ascii_digit() || stop_byte.is_ascii_digit();
        let shape = if glued || first & UPPER_B == 0 && ascii {
            Shape::Lower
        } else if ascii {
            // A capital first and ASCII letters after it: any small letter makes a Title,
            // capitals only an Upper, nothing an Initial.
            if any & LANE_CASE != 0 {
                Shape::Title
            } else if i - start > 1 {
                Shape::Upper
            } else {
                Shape::Initial
            }
        } else {
            shape_of(&text[start..i])
        };
        let sentence_start = gap & MARK != 0;
        gap = 0;
        let plain = ascii && i - start <= 48;
        if stop_byte == b' ' && after & WORD != 0 {
            // The common case, one space then a word: its separators without scanning for them,
            // and the next word found without a gap to scan.
            out.push(Token {
                start,
                end: i,
                shape,
                space_after: true,
                comma_after: false,
                sentence_start,
                plain,
            });
            i += 1;
            first = after;
            before = 0;
            continue;
        }
        // Non-ASCII runs may end mid-character only if the text is not UTF-8, which &str excludes.
        let mut end = i;
        if shape == Shape::Initial && stop_byte == b'.' {
            end = i + 1;
        }
        let mut j = end;
        while bytes.get(j) == Some(&b' ') {
            j += 1;
        }
        let space_after = j > end
            && bytes
                .get(j)
                .is_some_and(|&c| CLASS[usize::from(c)] & WORD != 0);
        let comma_after = bytes.get(end) == Some(&b',') && bytes.get(end + 1) == Some(&b' ');
        out.push(Token {
            start,
            end,
            shape,
            space_after,
            comma_after,
            sentence_start,
            plain: plain && end == i,
        });
        // The spaces just scanned are neither words nor sentence marks: resume after them.
        i = j;
        before = 0;
        let Some(class) = skip_to_word(bytes, &mut i, &mut gap, &mut before) else {
            return;
        };
        first = class;
    }
}

/// Moves `i` to the next word byte of `bytes` and returns its class (`None` past the end),
/// or-ing the classes of the bytes skipped into `gap` and keeping the last of them in `before`.
#[inline(always)]
fn skip_to_word(bytes: &[u8], i: &mut usize, gap: &mut u8, before: &mut u8) -> Option<u8> {
    loop {
        let b = *bytes.get(*i)?;
        let class = CLASS[usize::from(b)];
        if class & WORD != 0 {
            return Some(class);
        }
        *gap |= class;
        *before = b;
        *i += 1;
    }
}

/// The byte-at-a-time tokenizer [`tokenize`] replaced: the oracle it is tested against.
#[cfg(test)]
fn tokenize_reference(text: &str, out: &mut Vec<Token>) {
    out.clear();
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    let mut sentence_start = true;
    while i < n {
        let first = CLASS[usize::from(bytes[i])];
        if first & WORD == 0 {
            if first & MARK != 0 {
                sentence_start = true;
            }
            i += 1;
            continue;
        }
        let start = i;
        // Classes of the word's bytes after the first: its shape without a second pass.
        let mut rest = 0u8;
        i += 1;
        while i < n {
            let c = bytes[i];
            let class = CLASS[usize::from(c)];
            if class & WORD != 0 {
                rest |= class;
                i += 1;
            } else if (c == b'\'' || c == b'-')
                && i + 1 < n
                && CLASS[usize::from(bytes[i + 1])] & WORD != 0
            {
                i += 1;
            } else {
                break;
            }
        }
        // Non-ASCII runs may end mid-character only if the text is not UTF-8, which &str excludes.
        let mut end = i;
        // Letters glued to digits ("DR1VING", "B2") are OCR noise or codes, not names.
        let glued = (start > 0 && bytes[start - 1].is_ascii_digit())
            || (i < n && bytes[i].is_ascii_digit());
        let ascii = (first | rest) & HIGH == 0;
        let shape = if glued {
            Shape::Lower
        } else if ascii {
            ascii_shape(first, rest)
        } else {
            shape_of(&text[start..i])
        };
        if shape == Shape::Initial && i < n && bytes[i] == b'.' {
            end = i + 1;
        }
        let mut j = end;
        while j < n && bytes[j] == b' ' {
            j += 1;
        }
        let space_after = j > end && j < n && CLASS[usize::from(bytes[j])] & WORD != 0;
        let comma_after = end < n && bytes[end] == b',' && bytes.get(end + 1) == Some(&b' ');
        out.push(Token {
            start,
            end,
            shape,
            space_after,
            comma_after,
            sentence_start,
            plain: ascii && end == i && end - start <= 48,
        });
        sentence_start = false;
        // The spaces just scanned are neither words nor sentence marks: resume after them.
        i = j;
    }
}

fn shape_of(word: &str) -> Shape {
    let bytes = word.as_bytes();
    if bytes.is_ascii() {
        let Some((first, rest)) = bytes.split_first() else {
            return Shape::Lower;
        };
        if !first.is_ascii_uppercase() {
            return Shape::Lower;
        }
        let upper = rest.iter().filter(|b| b.is_ascii_uppercase()).count();
        let lower = rest.iter().filter(|b| b.is_ascii_lowercase()).count();
        return match (upper, lower) {
            (0, 0) => Shape::Initial,
            (_, 0) => Shape::Upper,
            _ => Shape::Title,
        };
    }
    let mut chars = word.chars();
    let Some(first) = chars.next() else {
        return Shape::Lower;
    };
    if !first.is_uppercase() {
        return Shape::Lower;
    }
    let (mut upper, mut lower) = (0usize, 0usize);
    for c in chars {
        if c.is_uppercase() {
            upper += 1;
        } else if c.is_lowercase() {
            lower += 1;
        }
    }
    match (upper, lower) {
        (0, 0) => Shape::Initial,
        (_, 0) => Shape::Upper,
        _ => Shape::Title,
    }
}

/// The gazetteer-and-capitalisation name detector.
pub struct NameDetector {
    gazetteer: Gazetteer,
}

impl NameDetector {
    /// A detector over the shipped gazetteer.
    pub fn new() -> Self {
        NameDetector {
            gazetteer: Gazetteer::shipped(),
        }
    }

    /// The gazetteer in use.
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }
}

impl Default for NameDetector {
    fn default() -> Self {
        Self::new()
    }
}

fn capitalised(t: &Token) -> bool {
    matches!(t.shape, Shape::Title | Shape::Upper | Shape::Initial)
}

impl Detector for NameDetector {
    fn name(&self) -> &'static str {
        "gazetteer.person"
    }

    fn detect(&self, text: &str, ctx: &FieldContext, out: &mut Vec<Finding>) {
        let mut tokens = Vec::new();
        tokenize(text, &mut tokens);
        self.detect_tokens(text, &tokens, &mut Vec::new(), ctx, out);
    }
}

impl NameDetector {
    /// Detection over `tokens` (the tokenization of `text`, shared with propagation); `flags` is
    /// a scratch buffer.
    pub fn detect_tokens(
        &self,
        text: &str,
        tokens: &[Token],
        flags: &mut Vec<u16>,
        ctx: &FieldContext,
        out: &mut Vec<Finding>,
    ) {
        self.fill_flags(text, tokens, flags);
        self.detect_flagged(tokens, flags, ctx, out);
    }

    /// The gazetteer flags of `tokens` into `flags`, as far as detection reads them. Only
    /// capitalised words and their neighbours (cues, particles) can matter: the rest of ordinary
    /// lower-case prose gets 0 without a look-up. Of a word that is not capitalised, detection
    /// reads only the [`NEIGHBOUR_FLAGS`] bits (a cue or title before a capitalised word, a
    /// particle inside a run; a particle in a run is read whole, and gets its whole flags here),
    /// so a plain lower-case word that the gazetteer's neighbour filter turns away gets 0 too.
    fn fill_flags(&self, text: &str, tokens: &[Token], flags: &mut Vec<u16>) {
        let cap = |k: usize| tokens.get(k).is_some_and(capitalised);
        flags.clear();
        flags.extend((0..tokens.len()).map(|k| {
            let t = &tokens[k];
            if cap(k) {
                return self.gazetteer.lookup_token(text, t);
            }
            let near = cap(k + 1) || (k > 0 && cap(k - 1)) || cap(k + 2);
            if near
                && (!t.plain
                    || self
                        .gazetteer
                        .may_be_neighbour(&text.as_bytes()[t.start..t.end]))
            {
                self.gazetteer.lookup_token(text, t)
            } else {
                0
            }
        }));
    }

    /// Detection over `tokens` with their flags from [`Self::fill_flags`].
    fn detect_flagged(
        &self,
        tokens: &[Token],
        flags: &[u16],
        ctx: &FieldContext,
        out: &mut Vec<Finding>,
    ) {
        let mut i = 0;
        while i < tokens.len() {
            if !capitalised(&tokens[i]) {
                i += 1;
                continue;
            }
            // A run of capitalised words joined by single spaces (particles allowed inside).
            let mut j = i;
            while j + 1 < tokens.len()
                && tokens[j].space_after
                && (capitalised(&tokens[j + 1])
                    || (flags[j + 1] & PARTICLE != 0
                        && j + 2 < tokens.len()
                        && capitalised(&tokens[j + 2])))
            {
                j += 1;
            }
            let cue = cue_before(tokens, flags, i);
            if cue == CueStrength::Strong || ctx.field_hint_person {
                self.strong_cued(tokens, flags, i, j, out);
            } else {
                self.scan_run(&tokens[i..=j], &flags[i..=j], cue == CueStrength::Weak, out);
            }
            i = j + 1;
        }
        self.last_first(tokens, flags, out);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CueStrength {
    None,
    Weak,
    Strong,
}

/// The cue right before token `i`: "Mr.", "Name:", "name is", "arrestee" (strong) or a role
/// such as "victim" or "witness" (weak).
fn cue_before(tokens: &[Token], flags: &[u16], i: usize) -> CueStrength {
    if i == 0 || tokens[i - 1].end + 3 < tokens[i].start {
        return CueStrength::None;
    }
    let prev = flags[i - 1];
    // "Dr" after a capitalised word is a street ("BELMONT DR. CASE ..."), not a title.
    let street_dr = i >= 2
        && capitalised(&tokens[i - 2])
        && tokens[i - 2].space_after
        && prev & TITLE != 0
        && tokens[i - 1].end - tokens[i - 1].start <= 3;
    if prev & STRONG != 0 || (prev & TITLE != 0 && !street_dr) {
        return CueStrength::Strong;
    }
    // "my name is", "su nombre es", "me llamo".
    if i >= 2 && flags[i - 2] & STRONG != 0 && tokens[i - 1].end - tokens[i - 1].start <= 3 {
        return CueStrength::Strong;
    }
    if prev & CUE != 0 {
        return CueStrength::Weak;
    }
    CueStrength::None
}

impl NameDetector {
    /// After a strong cue, up to three capitalised words are the name even when the lists do not
    /// know them, and "LAST, FIRST M" continues across the comma.
    fn strong_cued(
        &self,
        tokens: &[Token],
        flags: &[u16],
        i: usize,
        j: usize,
        out: &mut Vec<Finding>,
    ) {
        let stop = LABEL | PLACE | CUE | TITLE;
        // In ALL-CAPS text every word is capitalised: past the first word, only name-list words
        // and initials continue the name ("MR. AL-SAYED PROVIDED ..." stops at PROVIDED).
        let continues = |k: usize| {
            flags[k] & stop == 0
                && (k == i
                    || tokens[k].shape != Shape::Upper
                    || flags[k] & (FIRST | SUR) != 0
                    || tokens[k].shape == Shape::Initial)
        };
        let take = (i..=j).take(3).take_while(|&k| continues(k)).count();
        if take == 0 {
            return;
        }
        let mut end = tokens[i + take - 1].end;
        let last = i + take - 1;
        if tokens[last].comma_after {
            let mut k = last + 1;
            let mut extra = 0;
            while k < tokens.len() && extra < 2 && capitalised(&tokens[k]) && flags[k] & stop == 0 {
                end = tokens[k].end;
                extra += 1;
                if !tokens[k].space_after {
                    break;
                }
                k += 1;
            }
        }
        out.push(person(tokens[i].start, end, Confidence::Likely));
    }

    /// Finds name spans inside one capitalised run.
    fn scan_run(&self, run: &[Token], flags: &[u16], cued: bool, out: &mut Vec<Finding>) {
        let is_part = |k: usize| {
            let f = flags[k];
            (f & (FIRST | SUR) != 0 && f & (LABEL | CUE) == 0)
                || run[k].shape == Shape::Initial
                || f & PARTICLE != 0
        };
        let mut k = 0;
        while k < run.len() {
            if !is_part(k) {
                k += 1;
                continue;
            }
            let mut m = k;
            while m + 1 < run.len() && is_part(m + 1) {
                m += 1;
            }
            // Trim particles and initials that do not sit between names.
            let (mut a, mut b) = (k, m);
            while a < b && flags[a] & (FIRST | SUR) == 0 {
                a += 1;
            }
            while b > a && flags[b] & (FIRST | SUR) == 0 {
                b -= 1;
            }
            if flags[a] & (FIRST | SUR) != 0 {
                let role_before = (a == 0 && cued) || (a > 0 && flags[a - 1] & CUE != 0);
                let mut verdict = judge(&run[a..=b], &flags[a..=b], role_before);
                let mut start = run[a].start;
                let mut end = run[b].end;
                // A given name followed by an unknown capitalised word: the surname the lists lack
                // ("Mariam Qasim", "Itzel Tlapanco").
                let ends_in_given = flags[b] & FIRST != 0 && flags[b] & STOP == 0;
                if ends_in_given
                    && m + 1 < run.len()
                    && unknown_name_part(&run[m + 1], flags[m + 1], &run[b])
                {
                    end = run[m + 1].end;
                    verdict =
                        Some(verdict.map_or(Confidence::Likely, |c| c.max(Confidence::Likely)));
                }
                // An unknown capitalised word right before "[initial] Surname" is a given name the
                // lists lack ("Deshawn Thomas", "XIUYING H. TANG").
                let ends_in_surname = flags[b] & SUR != 0 && (flags[b] & STOP == 0 || role_before);
                if k > 0 && ends_in_surname && unknown_name_part(&run[k - 1], flags[k - 1], &run[b])
                {
                    start = run[k - 1].start;
                    verdict =
                        Some(verdict.map_or(Confidence::Likely, |c| c.max(Confidence::Likely)));
                }
                if let Some(conf) = verdict {
                    out.push(person(start, end, conf));
                }
            }
            k = m + 1;
        }
    }

    /// "GARCIA, JUAN" and "Garcia, Juan C." in records.
    fn last_first(&self, tokens: &[Token], flags: &[u16], out: &mut Vec<Finding>) {
        for k in 0..tokens.len().saturating_sub(1) {
            // Few words are followed by ", ": tested first, before anything is read for the rest.
            if !tokens[k].comma_after {
                continue;
            }
            let (a, b) = (&tokens[k], &tokens[k + 1]);
            let names = flags[k] & SUR != 0 && flags[k + 1] & FIRST != 0;
            if capitalised(a)
                && capitalised(b)
                && names
                && (flags[k] | flags[k + 1]) & (LABEL | CUE) == 0
            {
                let mut end = b.end;
                if b.space_after && k + 2 < tokens.len() && tokens[k + 2].shape == Shape::Initial {
                    end = tokens[k + 2].end;
                }
                out.push(person(a.start, end, Confidence::Likely));
            }
        }
    }
}

/// An unknown word that can complete a name next to `known` (same capitalisation: "Zona MRZ" is
/// not a name).
fn unknown_name_part(t: &Token, f: u16, known: &Token) -> bool {
    f & (LABEL | CUE | STOP | PLACE | TITLE | PARTICLE) == 0
        && t.shape == known.shape
        && matches!(t.shape, Shape::Title | Shape::Upper)
        && t.end - t.start >= 3
}

/// Decides whether a span of name-list words is a person name.
fn judge(span: &[Token], flags: &[u16], cued: bool) -> Option<Confidence> {
    let strong = flags
        .iter()
        .filter(|&&f| f & (FIRST | SUR) != 0 && f & STOP == 0)
        .count();
    let names = flags.iter().filter(|&&f| f & (FIRST | SUR) != 0).count();
    let last = flags[flags.len() - 1];
    if last & PLACE != 0 {
        return None;
    }
    if names >= 2 {
        let conventional = flags[0] & FIRST != 0 && last & SUR != 0;
        return match strong {
            0 => cued.then_some(Confidence::Likely),
            1 if conventional || cued => Some(Confidence::Likely),
            1 => Some(Confidence::Possible),
            _ => Some(Confidence::VeryLikely),
        };
    }
    // One name word (plus initials).
    let sole = span
        .iter()
        .zip(flags)
        .find(|(_, &f)| f & (FIRST | SUR) != 0)
        .map(|(t, _)| t)?;
    if cued && (strong == 1 || sole.shape == Shape::Title) {
        return Some(Confidence::Likely);
    }
    if strong == 1 && sole.shape == Shape::Title && !sole.sentence_start {
        return Some(Confidence::Possible);
    }
    None
}

fn person(start: usize, end: usize, confidence: Confidence) -> Finding {
    Finding {
        start,
        end,
        kind: EntityKind::Person,
        detector: "gazetteer.person",
        confidence,
    }
}

/// Folded keys of the words of confirmed names, for propagation to other mentions: one buffer,
/// searched linearly (a record confirms a handful of names; no set to build per record). Each
/// key also keeps its length and first eight bytes as one word, so most comparisons are one
/// integer compare.
#[derive(Debug, Default)]
pub struct NameKeys {
    bytes: Vec<u8>,
    keys: Vec<(u64, u32, u32)>,
    /// One bit per key's head hash: most words of a text are no key and are turned away here,
    /// without a pass over the keys. 2,048 bits: a report chunk confirms dozens of name words,
    /// which filled a quarter of 256 bits and let a capitalised word in four through. Empty
    /// until the first key (a record without names neither clears nor moves 256 bytes).
    filter: Vec<u64>,
    /// The bytes a mention of a key can start with (see [`NameKeys::mention_starts`]).
    starts: ByteSet,
    /// Once there are [`INDEXED_FROM`] keys: an open-addressing table of them by head (index + 1,
    /// 0 empty; at most half full). A report chunk confirms dozens of name words and mentions
    /// them hundreds of times; each mention passed the filter and then compared its head with
    /// the keys one by one. Empty below that (a table row's few keys are compared directly).
    index: Vec<u32>,
}

const FILTER_WORDS: usize = 32;

/// Keys from which [`NameKeys`] keeps its index.
const INDEXED_FROM: usize = 16;

/// A key head's first slot in an index of `mask + 1` slots (bits of the product other than the
/// filter's).
fn index_slot(h: u64, mask: usize) -> usize {
    (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20) as usize & mask
}

/// Puts key number `k` (its head `h`) into the first empty slot of its probe sequence.
fn index_put(index: &mut [u32], h: u64, k: usize) {
    let mask = index.len().wrapping_sub(1);
    let mut i = index_slot(h, mask);
    while let Some(slot) = index.get_mut(i) {
        if *slot == 0 {
            *slot = k as u32 + 1;
            return;
        }
        i = (i + 1) & mask;
    }
}

fn filter_bit(h: u64) -> (usize, u64) {
    // The top 11 bits of the product: 2,048 positions.
    let b = h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 53;
    ((b >> 6) as usize, 1 << (b & 63))
}

fn head(key: &[u8]) -> u64 {
    word8(key) ^ ((key.len() as u64) << 56)
}

impl NameKeys {
    /// Forgets every key, keeping the buffers.
    pub fn clear(&mut self) {
        // Bits are set only with a key: without keys the filter is already clear.
        if !self.keys.is_empty() {
            // The index is not cleared: it is rebuilt when the keys reach `INDEXED_FROM` again.
            self.filter.fill(0);
        }
        self.bytes.clear();
        self.keys.clear();
        self.starts = ByteSet::EMPTY;
    }

    /// The bytes a mention of one of the keys can start with: the capital of a key's first
    /// letter, or any non-ASCII byte. [`find_mentions`] takes only capitalised words, which
    /// start with an ASCII capital or a non-ASCII letter, and an ASCII capital folds to its
    /// small letter, which must then be the key's first byte. A field with none of these
    /// bytes has no mention, and is not tokenized for one.
    pub fn mention_starts(&self) -> ByteSet {
        self.starts.union(NON_ASCII)
    }

    /// True when no key was added.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn insert(&mut self, key: &[u8]) {
        if self.contains(key) {
            return;
        }
        let from = self.bytes.len() as u32;
        self.bytes.extend_from_slice(key);
        let h = head(key);
        let (w, bit) = filter_bit(h);
        if self.filter.len() < FILTER_WORDS {
            self.filter.resize(FILTER_WORDS, 0);
        }
        self.filter[w] |= bit;
        self.keys.push((h, from, self.bytes.len() as u32));
        if self.keys.len() >= INDEXED_FROM {
            self.index_last();
        }
        if let Some(&first) = key.first().filter(|b| b.is_ascii_lowercase()) {
            self.starts = self.starts.with(first.to_ascii_uppercase());
        }
    }

    /// Puts the last key added into the index: out of line, so that [`Self::insert`] stays
    /// small for a table row's few keys, which are not indexed.
    #[cold]
    #[inline(never)]
    fn index_last(&mut self) {
        let n = self.keys.len();
        // Made when the keys reach `INDEXED_FROM` (those before were not placed: the table may
        // hold a cleared record's slots) and grown past half full, at four slots a key, every
        // key placed again.
        if n == INDEXED_FROM || n * 2 > self.index.len() {
            self.index.clear();
            self.index.resize((n * 4).next_power_of_two(), 0);
            for (k, &(kh, _, _)) in self.keys.iter().enumerate() {
                index_put(&mut self.index, kh, k);
            }
        } else if let Some(&(h, _, _)) = self.keys.last() {
            index_put(&mut self.index, h, n - 1);
        }
    }

    /// True when the folded key of the plain token `bytes[start..end]` was added (see
    /// [`Token::plain`]).
    fn contains_plain(&self, bytes: &[u8], start: usize, end: usize) -> bool {
        let word = &bytes[start..end];
        let h = plain_word8_at(bytes, start, end) ^ ((word.len() as u64) << 56);
        self.has(h, word.len(), |key| plain_eq(word, key))
    }

    /// True when `key` (folded) was added.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.has(head(key), key.len(), |stored| stored == key)
    }

    /// True when a key with hash `h` and length `len` was added and, if it is longer than
    /// the 8 bytes the hash holds, `same` accepts its bytes.
    fn has(&self, h: u64, len: usize, same: impl Fn(&[u8]) -> bool) -> bool {
        let (w, bit) = filter_bit(h);
        if self.filter.get(w).is_none_or(|f| f & bit == 0) {
            return false;
        }
        let is = |&(kh, a, b): &(u64, u32, u32)| {
            kh == h
                && (b - a) as usize == len
                && (len <= 8 || same(&self.bytes[a as usize..b as usize]))
        };
        if self.keys.len() < INDEXED_FROM {
            return self.keys.iter().any(is);
        }
        // Keys of one head share a probe sequence, and no key is ever removed: following it
        // to an empty slot meets every key the scan above would accept.
        let mask = self.index.len().wrapping_sub(1);
        let mut i = index_slot(h, mask);
        while let Some(&slot) = self.index.get(i) {
            if slot == 0 {
                return false;
            }
            if self.keys.get(slot as usize - 1).is_some_and(is) {
                return true;
            }
            i = (i + 1) & mask;
        }
        false
    }
}

/// Whether token `t` of a confirmed name (`text`) is one of its words that get a key: not an
/// initial, a particle, title, label, cue or place, nor a single byte.
fn is_name_word(text: &str, t: &Token, gazetteer: &Gazetteer) -> bool {
    // The token's own look-up: a plain word is not folded for it.
    let f = gazetteer.lookup_token(text, t);
    t.shape != Shape::Initial
        && f & (PARTICLE | TITLE | LABEL | CUE | PLACE) == 0
        && t.end - t.start >= 2
}

/// Adds the folded keys of the words of a confirmed name (`text`) to `out`; `tokens` is scratch.
pub fn name_keys(text: &str, gazetteer: &Gazetteer, tokens: &mut Vec<Token>, out: &mut NameKeys) {
    tokenize(text, tokens);
    for t in tokens.iter().filter(|t| is_name_word(text, t, gazetteer)) {
        let word = &text[t.start..t.end];
        let mut buf = [0u8; 48];
        let key = if t.plain {
            // A plain word's key is its bytes lower-cased (`| 0x20` leaves its apostrophes and
            // hyphens as they are): `fold`'s byte test and `char` loop are not needed.
            buf.get_mut(..word.len()).map(|key| {
                for (k, b) in key.iter_mut().zip(word.bytes()) {
                    *k = b | 0x20;
                }
                &*key
            })
        } else {
            fold(word, &mut buf)
        };
        if let Some(k) = key {
            out.insert(k);
        }
    }
}

/// The capitals that the words of `value` start with (every ASCII capital when a word starts
/// with a non-ASCII letter). Each key [`name_keys`] adds for `value` is the folded form of one of
/// its words, so the capital of its first letter is here: with [`NON_ASCII`], a superset of the
/// keys' [`NameKeys::mention_starts`], known before the keys are built.
pub fn initials(value: &str) -> ByteSet {
    let mut set = ByteSet::EMPTY;
    let mut in_word = false;
    for &b in value.as_bytes() {
        let word = CLASS[usize::from(b)] & WORD != 0;
        if word && !in_word {
            set = if b < 0x80 {
                set.with(b.to_ascii_uppercase())
            } else {
                set.union(super::bytes::CAPITALS)
            };
        }
        in_word = word;
    }
    set
}

/// True when a word of `text` starts with a byte of `starts`. Every token [`tokenize`] makes
/// starts at a word byte that follows a byte that is not one (or at the start), so a text
/// without such a byte in `starts` has no token starting with one.
pub fn has_word_starting_with(text: &str, starts: &ByteSet) -> bool {
    let bytes = text.as_bytes();
    // The byte first: most are not in `starts`, and its predecessor is looked at only if it is.
    bytes.iter().enumerate().any(|(p, &b)| {
        starts.contains(b) && (p == 0 || CLASS[usize::from(bytes[p - 1])] & WORD == 0)
    })
}

/// Capitalised mentions in `text` (tokenized as `tokens`) of any of `keys`, as PERSON findings.
pub fn find_mentions(text: &str, tokens: &[Token], keys: &NameKeys, out: &mut Vec<Finding>) {
    for t in tokens {
        if !capitalised(t) || t.shape == Shape::Initial {
            continue;
        }
        if t.plain {
            if keys.contains_plain(text.as_bytes(), t.start, t.end) {
                out.push(Finding {
                    start: t.start,
                    end: t.end,
                    kind: EntityKind::Person,
                    detector: "propagation.person",
                    confidence: Confidence::Likely,
                });
            }
            continue;
        }
        let mut buf = [0u8; 48];
        if let Some(k) = fold(&text[t.start..t.end], &mut buf) {
            if keys.contains(k) {
                out.push(Finding {
                    start: t.start,
                    end: t.end,
                    kind: EntityKind::Person,
                    detector: "propagation.person",
                    confidence: Confidence::Likely,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every mention `find_mentions` finds starts with a byte of `mention_starts`: names taken
    /// from corpus fields (and accented, apostrophe and hyphen names) against corpus fields and
    /// their upper-cased and accent-stripped spellings.
    #[test]
    fn mentions_start_with_a_mention_start() {
        let d = NameDetector::new();
        let corpus = crate::corpus::generate(2026, 300);
        let mut names: Vec<String> = [
            "Ángel Peña",
            "Łukasz O'Brien-Smith",
            "maría de la Cruz",
            "Zoë Ñúñez",
        ]
        .map(String::from)
        .to_vec();
        names.extend(corpus.field_texts().take(400).map(String::from));
        let mut hays: Vec<String> = corpus
            .field_texts()
            .skip(200)
            .take(400)
            .map(String::from)
            .collect();
        hays.extend(
            [
                "ANGEL PENA and Angel Pena",
                "Lukasz O'BRIEN-SMITH, Łukasz",
                "Cruz María MARÍA",
                "Zoe NUNEZ Ñúñez",
            ]
            .map(String::from),
        );
        let (mut keys, mut tokens, mut found) = (NameKeys::default(), Vec::new(), Vec::new());
        let mut mentions = 0;
        for (n, name) in names.iter().enumerate() {
            keys.clear();
            name_keys(name, d.gazetteer(), &mut tokens, &mut keys);
            let starts = keys.mention_starts();
            let known_before = initials(name).union(NON_ASCII);
            for b in 0..=255 {
                assert!(
                    !starts.contains(b) || known_before.contains(b),
                    "{name:?} {b}"
                );
            }
            for hay in hays.iter().skip(n % 7).step_by(7).chain(names.get(n)) {
                tokenize(hay, &mut tokens);
                found.clear();
                find_mentions(hay, &tokens, &keys, &mut found);
                for f in &found {
                    assert!(
                        starts.contains(hay.as_bytes()[f.start]),
                        "{name:?} in {hay:?}"
                    );
                }
                assert!(
                    found.is_empty() || has_word_starting_with(hay, &starts),
                    "{name:?} in {hay:?}"
                );
                mentions += found.len();
            }
        }
        assert!(mentions > 500, "{mentions}");
    }

    /// Tokens of a text mixing words, runs of spaces, marks, digits and non-ASCII letters:
    /// spans, shapes and separators as written (the tokenizer resumes after the spaces it
    /// scanned for `space_after`, so a mark right after them must still start a sentence).
    #[test]
    fn tokenize_spans_shapes_and_separators() {
        let text = "REPORTINGOFFICER  Zofia Wiśniewska-Kowalczyk, O'BRIEN-SMITHSON. J. q7abcdefgh Ääää   .  Li";
        let mut tokens = Vec::new();
        tokenize(text, &mut tokens);
        let got: Vec<(&str, Shape, bool, bool, bool)> = tokens
            .iter()
            .map(|t| {
                (
                    &text[t.start..t.end],
                    t.shape,
                    t.space_after,
                    t.comma_after,
                    t.sentence_start,
                )
            })
            .collect();
        use Shape::*;
        assert_eq!(
            got,
            [
                ("REPORTINGOFFICER", Upper, true, false, true),
                ("Zofia", Title, true, false, false),
                ("Wiśniewska-Kowalczyk", Title, false, true, false),
                ("O'BRIEN-SMITHSON", Upper, false, false, false),
                ("J.", Initial, true, false, true),
                ("q", Lower, false, false, false),
                ("abcdefgh", Lower, true, false, false),
                ("Ääää", Title, false, false, false),
                ("Li", Title, false, false, true),
            ]
        );
    }

    /// Every field of every token, for comparing two tokenizations.
    fn token_fields(tokens: &[Token]) -> Vec<(usize, usize, Shape, [bool; 4])> {
        tokens
            .iter()
            .map(|t| {
                let flags = [t.space_after, t.comma_after, t.sentence_start, t.plain];
                (t.start, t.end, t.shape, flags)
            })
            .collect()
    }

    /// Asserts that [`tokenize`] gives `text` the tokens of the byte-at-a-time reference, and
    /// returns how many.
    fn assert_tokens_match_reference(text: &str) -> usize {
        let (mut got, mut want) = (Vec::new(), Vec::new());
        tokenize(text, &mut got);
        tokenize_reference(text, &mut want);
        assert_eq!(token_fields(&got), token_fields(&want), "{text:?}");
        got.len()
    }

    /// The eight-bytes-at-a-time tokenizer gives the reference's tokens on random strings:
    /// letters of both cases, digits, spaces, marks, joiners, accented and CJK letters, in
    /// runs long and short, behind fillers of every length so that words start, end, join and
    /// are followed by their dot, comma or spaces at every offset of the eight-byte chunks.
    #[test]
    fn tokenize_matches_the_reference_on_random_strings() {
        let pieces: Vec<&str> = vec![
            "a", "b", "z", "A", "B", "Z", "J", "q", "0", "7", "9", " ", " ", " ", ".", ",", ";",
            ":", "!", "?", "'", "-", "\n", "\t", "\r", "|", "/", "(", "ś", "Ä", "ñ", "李", "É",
            "ł", "@", "`", "{", "[", "\u{7f}",
        ];
        let runs = [
            "Garcia",
            "GARCIA",
            "o'brien",
            "O'BRIEN-SMITH",
            "J.",
            "K. ",
            ", ",
            "--",
            "''",
        ];
        let mut rng = crate::corpus::Rng::new(2026);
        let mut tokens = 0;
        for case in 0..6_000 {
            let mut text = " ".repeat(case % 71);
            let len = rng.below(if case % 10 == 0 { 300 } else { 40 });
            for _ in 0..len {
                match rng.below(10) {
                    0 => text.push_str(rng.pick::<&str>(&runs)),
                    1 => {
                        let piece = *rng.pick(&pieces);
                        let times = rng.range(1, 20) as usize;
                        text.push_str(&piece.repeat(times));
                    }
                    _ => text.push_str(rng.pick::<&str>(&pieces)),
                }
            }
            tokens += assert_tokens_match_reference(&text);
            // The same text from each of its first bytes: every word at every chunk offset.
            for skip in 1..9 {
                if let Some(rest) = text.get(skip..) {
                    tokens += assert_tokens_match_reference(rest);
                }
            }
        }
        // Long runs of one byte class, across many chunks.
        for piece in ["a", "Z", "ś", "李", " ", "1", ".", "-", "'"] {
            for len in 0..80 {
                for around in ["", "x", "X.", "1", "- ", ", "] {
                    let text = format!("{around}{}{around}", piece.repeat(len));
                    tokens += assert_tokens_match_reference(&text);
                }
            }
        }
        assert!(tokens > 300_000, "{tokens}");
    }

    /// The tokenizer gives the reference's tokens on every text field of the generated corpus,
    /// and on each from its first sixteen bytes (every chunk alignment).
    #[test]
    fn tokenize_matches_the_reference_on_the_corpus() {
        let corpus = crate::corpus::generate(2026, 200);
        let mut tokens = 0;
        for (k, text) in corpus.field_texts().enumerate() {
            tokens += assert_tokens_match_reference(text);
            if k % 7 == 0 {
                for skip in 1..16 {
                    if let Some(rest) = text.get(skip..) {
                        assert_tokens_match_reference(rest);
                    }
                }
            }
        }
        assert!(tokens > 10_000, "{tokens}");
    }

    /// The look-up of a token without folding it first gives what folding gives.
    #[test]
    fn token_lookup_matches_folded_lookup() {
        let g = Gazetteer::shipped();
        let texts = [
            "ARRESTEE: GARCIA, JUAN C. DOB 01/02/1980 Mr. O'Brien-Smith met Ms. Peña",
            "Witness Zofia Wiśniewski and MCDONALD, mcdonald, McDonald, de la Cruz",
            "Xiuying H. Tang; Abdulrahman Al-Sayed; Deshawn Thomas; Itzel Tlapanco",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "the of and Washington Christopher Alexandria Maximiliano J K",
        ];
        let random = plain_word_texts();
        for text in texts.into_iter().chain(random.iter().map(String::as_str)) {
            let mut tokens = Vec::new();
            tokenize(text, &mut tokens);
            for t in &tokens {
                let word = &text[t.start..t.end];
                assert_eq!(g.lookup_token(text, t), g.lookup(word), "{word}");
            }
        }
        // Every listed key is found again from a capitalised spelling.
        for (head, from, len, flags) in g.entries.iter().copied() {
            let key = &g.bytes[from as usize..from as usize + usize::from(len)];
            let upper: String = String::from_utf8_lossy(key).to_ascii_uppercase();
            assert_eq!(g.lookup(&upper), flags);
            assert_eq!(head, key_head_hash(key).0);
            let mut tokens = Vec::new();
            tokenize(&upper, &mut tokens);
            if let [t] = tokens.as_slice() {
                assert_eq!(g.lookup_token(&upper, t), flags, "{upper}");
            }
        }
    }

    /// The word of a key's first bytes is what copying them into a zeroed word gives.
    #[test]
    fn word8_is_the_zero_padded_prefix() {
        let bytes: Vec<u8> = (1..=12).map(|b| b * 17).collect();
        for n in 0..=bytes.len() {
            let mut w = [0u8; 8];
            let m = n.min(8);
            w[..m].copy_from_slice(&bytes[..m]);
            assert_eq!(word8(&bytes[..n]), u64::from_le_bytes(w), "{n}");
        }
    }

    /// Mentions of plain tokens are found as folding finds them.
    #[test]
    fn plain_mentions_match_folded_keys() {
        let mut keys = NameKeys::default();
        for k in ["garcia", "o'brien-smith", "wisniewski", "maximilianos"] {
            keys.insert(k.as_bytes());
        }
        let text =
            "GARCIA met Garcia, O'BRIEN-SMITH and Wiśniewski; MAXIMILIANOS, Maximiliano, GARCI";
        let mut tokens = Vec::new();
        tokenize(text, &mut tokens);
        let mut found = Vec::new();
        find_mentions(text, &tokens, &keys, &mut found);
        let got: Vec<&str> = found.iter().map(|f| &text[f.start..f.end]).collect();
        assert_eq!(
            got,
            [
                "GARCIA",
                "Garcia",
                "O'BRIEN-SMITH",
                "Wiśniewski",
                "MAXIMILIANOS"
            ]
        );
    }

    /// Every text field of `generate(2026, 300)` (reports, table cells, JSON values), their
    /// ALL-CAPS and lower-case forms, and random strings over an alphabet of letters of both
    /// cases, accented capitals and small letters, digits, spaces, marks, commas, apostrophes
    /// and hyphens.
    fn sample_texts() -> Vec<String> {
        let corpus = crate::corpus::generate(2026, 300);
        let mut texts: Vec<String> = corpus.field_texts().map(String::from).collect();
        let n = texts.len();
        for k in 0..n {
            if k % 3 == 0 {
                texts.push(texts[k].to_uppercase());
                texts.push(texts[k].to_lowercase());
            }
        }
        let alphabet: Vec<char> = "aAbBdDeEjJlLmMrRsSyY ÉéŁł1,.-'\n:\t—".chars().collect();
        let mut rng = crate::corpus::Rng::new(9);
        for _ in 0..20_000 {
            let len = rng.below(14) as usize;
            texts.push((0..len).map(|_| *rng.pick(&alphabet)).collect());
        }
        texts
    }

    /// The shape table gives every ASCII word the shape the three tests it replaced gave: a
    /// capital first or not, then any mix of capitals and small letters after it.
    #[test]
    fn ascii_shapes_are_the_tests_they_replaced() {
        let classes = |bytes: &[u8]| bytes.iter().fold(0, |c, &b| c | CLASS[usize::from(b)]);
        for first in [b'a', b'A'] {
            for rest in [&b""[..], b"b", b"B", b"bB"] {
                let (first, rest) = (CLASS[usize::from(first)], classes(rest));
                let tested = if first & UPPER_B == 0 {
                    Shape::Lower
                } else {
                    match (rest & UPPER_B != 0, rest & LOWER_B != 0) {
                        (false, false) => Shape::Initial,
                        (true, false) => Shape::Upper,
                        _ => Shape::Title,
                    }
                };
                assert_eq!(ascii_shape(first, rest), tested, "{first:#b} {rest:#b}");
            }
        }
    }

    /// The flags before the neighbour filter: every capitalised word and its neighbours looked
    /// up (the reference for [`NameDetector::fill_flags`]).
    fn flags_reference(g: &Gazetteer, text: &str, tokens: &[Token]) -> Vec<u16> {
        let cap = |k: usize| tokens.get(k).is_some_and(capitalised);
        (0..tokens.len())
            .map(|k| {
                let near = cap(k) || cap(k + 1) || (k > 0 && cap(k - 1)) || cap(k + 2);
                if near {
                    g.lookup_token(text, &tokens[k])
                } else {
                    0
                }
            })
            .collect()
    }

    /// The neighbour filter changes no finding: on every sample text (with and without a
    /// person hint), detection over the filtered flags finds what it finds over the full flags,
    /// and the flags differ only where a word is not capitalised and has no neighbour flag.
    #[test]
    fn neighbour_filter_keeps_the_findings() {
        let d = NameDetector::new();
        let mut tokens = Vec::new();
        let mut flags = Vec::new();
        let (mut filtered, mut found) = (0, 0);
        for text in sample_texts() {
            tokenize(&text, &mut tokens);
            d.fill_flags(&text, &tokens, &mut flags);
            let full = flags_reference(&d.gazetteer, &text, &tokens);
            for (k, (&f, &r)) in flags.iter().zip(&full).enumerate() {
                if f != r {
                    assert!(
                        !capitalised(&tokens[k]) && f == 0 && r & NEIGHBOUR_FLAGS == 0,
                        "{text:?} token {k}"
                    );
                    filtered += 1;
                }
            }
            for person in [false, true] {
                let ctx = FieldContext {
                    field_hint_person: person,
                    ..FieldContext::default()
                };
                let (mut a, mut b) = (Vec::new(), Vec::new());
                d.detect_flagged(&tokens, &flags, &ctx, &mut a);
                d.detect_flagged(&tokens, &full, &ctx, &mut b);
                assert_eq!(a, b, "{text:?}");
                found += a.len();
            }
        }
        // The comparison means something: the filter did turn words away, and names were found.
        assert!(filtered > 1_000, "{filtered}");
        assert!(found > 1_000, "{found}");
    }

    /// No particle, title or cue is turned away by the neighbour filter, however it is written.
    #[test]
    fn neighbour_filter_passes_every_listed_neighbour() {
        let g = Gazetteer::shipped();
        let mut checked = 0;
        for &(_, from, len, flags) in &g.entries {
            if flags & NEIGHBOUR_FLAGS == 0 {
                continue;
            }
            let key = &g.bytes[from as usize..from as usize + usize::from(len)];
            let upper = key.to_ascii_uppercase();
            let mut title = key.to_vec();
            title[0] = title[0].to_ascii_uppercase();
            for w in [key, &upper[..], &title[..]] {
                assert!(g.may_be_neighbour(w), "{}", String::from_utf8_lossy(w));
            }
            checked += 1;
        }
        assert!(checked > 80, "{checked}");
        // And it does turn ordinary words away.
        assert!(!g.may_be_neighbour(b"transported"));
    }

    /// A plain token's head and hash are those of its folded key, at every length.
    #[test]
    fn plain_hash_is_the_folded_key_hash() {
        let word = b"AbCdEfGhIjKlMnOpQrSt-'Uv";
        for n in 1..=word.len() {
            let w = &word[..n];
            let folded: Vec<u8> = w.iter().map(|b| b | 0x20).collect();
            assert_eq!(plain_head_hash(w), key_head_hash(&folded), "{n}");
        }
    }

    /// Random texts dense in plain words of every length, each plain word at every distance
    /// from the text's end (so that the eight-byte read from the text and its fallback both
    /// run), plus the corpus's fields.
    fn plain_word_texts() -> Vec<String> {
        let pieces = [
            "a",
            "Z",
            "q",
            "K",
            "'",
            "-",
            " ",
            " ",
            ", ",
            ".",
            "7",
            "é",
            "Ł",
            "\n",
            "GARCIA",
            "o'brien",
            "Wiśniewska-Kowalczyk",
            "MAXIMILIANOS",
            "de",
            "J.",
        ];
        let mut rng = crate::corpus::Rng::new(77);
        let mut texts: Vec<String> = (0..3_000)
            .map(|_| {
                let mut text = String::new();
                for _ in 0..rng.below(30) {
                    text.push_str(rng.pick::<&str>(&pieces));
                }
                text
            })
            .collect();
        let corpus = crate::corpus::generate(2026, 200);
        texts.extend(corpus.field_texts().map(String::from));
        texts
    }

    /// A plain token's head and hash read from the text ([`plain_head_hash_at`]) are those
    /// from its own bytes and of its folded key; [`NameKeys::contains_plain`] answers as
    /// [`NameKeys::contains`] of the folded key, with the token's key added and without it.
    #[test]
    fn plain_words_read_from_the_text_hash_as_their_folded_keys() {
        let mut checked = 0;
        let mut keys = NameKeys::default();
        keys.insert(b"garcia");
        for text in plain_word_texts() {
            let bytes = text.as_bytes();
            let mut tokens = Vec::new();
            tokenize(&text, &mut tokens);
            for t in tokens.iter().filter(|t| t.plain) {
                let word = &bytes[t.start..t.end];
                let mut buf = [0u8; 48];
                let folded = fold(&text[t.start..t.end], &mut buf).unwrap();
                let at = plain_head_hash_at(bytes, t.start, t.end);
                assert_eq!(at, plain_head_hash(word), "{text:?}");
                assert_eq!(at, key_head_hash(folded), "{text:?}");
                assert_eq!(
                    keys.contains_plain(bytes, t.start, t.end),
                    keys.contains(folded),
                    "{text:?}"
                );
                checked += 1;
            }
            // Every span of the text's last 20 bytes that is letters only, as a plain word.
            for start in bytes.len().saturating_sub(20)..bytes.len() {
                for end in start + 1..=bytes.len() {
                    let word = &bytes[start..end];
                    if word.iter().all(u8::is_ascii_alphabetic) {
                        assert_eq!(plain_head_hash_at(bytes, start, end), plain_head_hash(word));
                    }
                }
            }
        }
        assert!(checked > 20_000, "{checked}");
    }

    /// [`name_keys`] before plain words skipped `fold`: every name word's key through it.
    fn name_keys_reference(text: &str, gazetteer: &Gazetteer, out: &mut NameKeys) {
        let mut tokens = Vec::new();
        tokenize(text, &mut tokens);
        for t in tokens.iter().filter(|t| is_name_word(text, t, gazetteer)) {
            let mut buf = [0u8; 48];
            if let Some(k) = fold(&text[t.start..t.end], &mut buf) {
                out.insert(k);
            }
        }
    }

    /// The keys [`name_keys`] adds (bytes, heads, order, filter and mention starts) are those
    /// the reference adds, on random texts and the corpus's fields, one record's keys growing
    /// over several texts as propagation adds them.
    #[test]
    fn name_keys_equal_the_reference() {
        let g = Gazetteer::shipped();
        let (mut new, mut old) = (NameKeys::default(), NameKeys::default());
        let mut scratch = Vec::new();
        for (i, text) in plain_word_texts().iter().enumerate() {
            if i % 5 == 0 {
                new.clear();
                old.clear();
            }
            name_keys(text, &g, &mut scratch, &mut new);
            name_keys_reference(text, &g, &mut old);
            assert_eq!(new.bytes, old.bytes, "{text:?}");
            assert_eq!(new.keys, old.keys, "{text:?}");
            assert_eq!(new.filter, old.filter, "{text:?}");
            assert!(new.mention_starts() == old.mention_starts(), "{text:?}");
        }
    }

    /// With and without its index, [`NameKeys`] answers as a scan of every key would: keys
    /// of one to 20 bytes, many sharing their first eight bytes and length (one head, told
    /// apart by the rest), added a few at a time over records that are cleared and grow past
    /// the index's threshold and its growths again; every key and near misses asked for after
    /// each addition.
    #[test]
    fn name_keys_index_answers_as_the_scan() {
        let scan = |keys: &NameKeys, key: &[u8]| {
            let h = head(key);
            keys.keys
                .iter()
                .any(|&(kh, a, b)| kh == h && keys.bytes.get(a as usize..b as usize) == Some(key))
        };
        let mut rng = crate::corpus::Rng::new(5);
        let mut keys = NameKeys::default();
        let letters = b"abcdeo'-";
        let mut asked = 0;
        for record in 0..400 {
            keys.clear();
            let mut added: Vec<Vec<u8>> = Vec::new();
            for _ in 0..rng.below(if record % 3 == 0 { 200 } else { 30 }) {
                let len = rng.range(1, 21) as usize;
                // Often the same first eight bytes: heads collide for keys longer than eight.
                let mut key: Vec<u8> = if len > 8 && rng.chance(0.5) {
                    b"abcdeabc".to_vec()
                } else {
                    Vec::new()
                };
                while key.len() < len {
                    key.push(*rng.pick(letters));
                }
                keys.insert(&key);
                added.push(key);
                for probe in added.iter().rev().take(4) {
                    let mut near = probe.clone();
                    if let Some(last) = near.last_mut() {
                        *last = if *last == b'a' { b'b' } else { b'a' };
                    }
                    for k in [probe, &near] {
                        assert_eq!(keys.contains(k), scan(&keys, k), "{record}");
                        asked += 1;
                    }
                }
            }
            for k in &added {
                assert!(keys.contains(k));
            }
        }
        assert!(asked > 20_000, "{asked}");
    }
}
