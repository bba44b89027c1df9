//! Person names without a model: a gazetteer built from public-domain Census name lists (plus
//! compiled international lists), capitalisation runs (ALL CAPS included), "LAST, FIRST" order
//! and cues ("Mr.", "arrestee", "Name:"). Propagation to other mentions is done record-wide by
//! the chain (`super::propagate`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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

/// The name gazetteer: folded lower-case token → flags.
pub struct Gazetteer {
    flags: FnvMap<Vec<u8>, u16>,
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
        Gazetteer { flags }
    }

    /// Flags of a token (0 when unknown).
    fn lookup(&self, token: &str) -> u16 {
        let mut buf = [0u8; 48];
        fold(token, &mut buf)
            .and_then(|k| self.flags.get(k).copied())
            .unwrap_or(0)
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
        self.flags.len()
    }

    /// True when empty (never for the shipped lists).
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
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
}

/// Splits a text into words: letters (any script), with inner apostrophes and hyphens.
pub fn tokenize(text: &str, out: &mut Vec<Token>) {
    out.clear();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut sentence_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_alphabetic() || b >= 0x80) {
            if matches!(
                b,
                b'.' | b'!' | b'?' | b'\n' | b'\r' | b':' | b';' | b'|' | b'\t'
            ) {
                sentence_start = true;
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() {
            let c = bytes[i];
            let inner_mark = (c == b'\'' || c == b'-')
                && i + 1 < bytes.len()
                && (bytes[i + 1].is_ascii_alphabetic() || bytes[i + 1] >= 0x80);
            if c.is_ascii_alphabetic() || c >= 0x80 || inner_mark {
                i += 1;
            } else {
                break;
            }
        }
        // Non-ASCII runs may end mid-character only if the text is not UTF-8, which &str excludes.
        let word = &text[start..i];
        let mut end = i;
        // Letters glued to digits ("DR1VING", "B2") are OCR noise or codes, not names.
        let glued = (start > 0 && bytes[start - 1].is_ascii_digit())
            || (i < bytes.len() && bytes[i].is_ascii_digit());
        let shape = if glued { Shape::Lower } else { shape_of(word) };
        if shape == Shape::Initial && i < bytes.len() && bytes[i] == b'.' {
            end = i + 1;
        }
        let mut j = end;
        while j < bytes.len() && (bytes[j] == b' ') {
            j += 1;
        }
        let space_after =
            j > end && j < bytes.len() && (bytes[j].is_ascii_alphabetic() || bytes[j] >= 0x80);
        let comma_after =
            end < bytes.len() && bytes[end] == b',' && bytes.get(end + 1) == Some(&b' ');
        out.push(Token {
            start,
            end,
            shape,
            space_after,
            comma_after,
            sentence_start,
        });
        sentence_start = false;
        i = end;
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
        // Only capitalised words and their neighbours (cues, particles) can matter: skip the
        // look-up for the rest of ordinary lower-case prose.
        let cap = |k: usize| tokens.get(k).is_some_and(capitalised);
        flags.clear();
        flags.extend((0..tokens.len()).map(|k| {
            let near = cap(k) || cap(k + 1) || (k > 0 && cap(k - 1)) || cap(k + 2);
            if near {
                self.gazetteer.lookup(&text[tokens[k].start..tokens[k].end])
            } else {
                0
            }
        }));
        let flags = &flags[..];
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
            let (a, b) = (&tokens[k], &tokens[k + 1]);
            let names = flags[k] & SUR != 0 && flags[k + 1] & FIRST != 0;
            if a.comma_after
                && capitalised(a)
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
}

fn head(key: &[u8]) -> u64 {
    let mut h = [0u8; 8];
    let n = key.len().min(8);
    h[..n].copy_from_slice(&key[..n]);
    u64::from_le_bytes(h) ^ ((key.len() as u64) << 56)
}

impl NameKeys {
    /// Forgets every key, keeping the buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.keys.clear();
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
        self.keys.push((head(key), from, self.bytes.len() as u32));
    }

    /// True when `key` (folded) was added.
    pub fn contains(&self, key: &[u8]) -> bool {
        let h = head(key);
        self.keys.iter().any(|&(kh, a, b)| {
            kh == h
                && (b - a) as usize == key.len()
                && (key.len() <= 8 || &self.bytes[a as usize..b as usize] == key)
        })
    }
}

/// Adds the folded keys of the words of a confirmed name (`text`) to `out`; `tokens` is scratch.
pub fn name_keys(text: &str, gazetteer: &Gazetteer, tokens: &mut Vec<Token>, out: &mut NameKeys) {
    tokenize(text, tokens);
    for t in tokens.iter() {
        let word = &text[t.start..t.end];
        let f = gazetteer.lookup(word);
        if t.shape == Shape::Initial
            || f & (PARTICLE | TITLE | LABEL | CUE | PLACE) != 0
            || word.len() < 2
        {
            continue;
        }
        let mut buf = [0u8; 48];
        if let Some(k) = fold(word, &mut buf) {
            out.insert(k);
        }
    }
}

/// Capitalised mentions in `text` (tokenized as `tokens`) of any of `keys`, as PERSON findings.
pub fn find_mentions(text: &str, tokens: &[Token], keys: &NameKeys, out: &mut Vec<Finding>) {
    for t in tokens {
        if !capitalised(t) || t.shape == Shape::Initial {
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
