//! Context cues: keywords ("SSN", "DOB", "passport", "plate", ...) found once per text by one
//! ASCII case-insensitive automaton, then looked up by position for every candidate.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What a context keyword points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// "SSN", "social security".
    Ssn,
    /// "ITIN", "taxpayer".
    Itin,
    /// "A-number", "alien registration".
    ANumber,
    /// "passport", "pasaporte".
    Passport,
    /// "driver's license", "state ID", "DL".
    DriverLicense,
    /// "plate", "LP", "tag".
    Plate,
    /// "phone", "cell", "tel".
    Phone,
    /// "routing", "ABA".
    Routing,
    /// "account", "acct", "bank".
    Account,
    /// "DOB", "born", "date of birth".
    Birth,
    /// "I-94", "admission number".
    I94,
    /// "CityKey", "municipal ID".
    MunicipalId,
}

pub(crate) const CUE_WORDS: &[(&str, Cue)] = &[
    ("ssn", Cue::Ssn),
    ("ss#", Cue::Ssn),
    ("ss #", Cue::Ssn),
    ("ss no", Cue::Ssn),
    ("s.s.n", Cue::Ssn),
    ("soc sec", Cue::Ssn),
    ("social security", Cue::Ssn),
    ("social", Cue::Ssn),
    ("seguro social", Cue::Ssn),
    ("itin", Cue::Itin),
    ("taxpayer", Cue::Itin),
    ("tax id", Cue::Itin),
    ("a-number", Cue::ANumber),
    ("a number", Cue::ANumber),
    ("a_number", Cue::ANumber),
    ("anumber", Cue::ANumber),
    ("a#", Cue::ANumber),
    ("a-no", Cue::ANumber),
    ("alien number", Cue::ANumber),
    ("alien no", Cue::ANumber),
    ("alien_no", Cue::ANumber),
    ("alien registration", Cue::ANumber),
    ("uscis number", Cue::ANumber),
    ("uscis #", Cue::ANumber),
    ("uscis#", Cue::ANumber),
    ("numero de extranjero", Cue::ANumber),
    ("passport", Cue::Passport),
    ("pasaporte", Cue::Passport),
    ("pp#", Cue::Passport),
    ("pp no", Cue::Passport),
    ("travel document", Cue::Passport),
    ("driver's license", Cue::DriverLicense),
    ("drivers license", Cue::DriverLicense),
    ("driver license", Cue::DriverLicense),
    ("driver's licence", Cue::DriverLicense),
    ("driver_license", Cue::DriverLicense),
    ("dl", Cue::DriverLicense),
    ("dl#", Cue::DriverLicense),
    ("dl no", Cue::DriverLicense),
    ("idl", Cue::DriverLicense),
    ("state id", Cue::DriverLicense),
    ("il id", Cue::DriverLicense),
    ("licencia", Cue::DriverLicense),
    ("license no", Cue::DriverLicense),
    ("lic#", Cue::DriverLicense),
    ("plate", Cue::Plate),
    ("plates", Cue::Plate),
    ("plate no", Cue::Plate),
    ("plate number", Cue::Plate),
    ("lic plate", Cue::Plate),
    ("license plate", Cue::Plate),
    ("licence plate", Cue::Plate),
    ("lp", Cue::Plate),
    ("lp#", Cue::Plate),
    ("tag", Cue::Plate),
    ("placa", Cue::Plate),
    ("phone", Cue::Phone),
    ("tel", Cue::Phone),
    ("cell", Cue::Phone),
    ("mobile", Cue::Phone),
    ("contact", Cue::Phone),
    ("ph", Cue::Phone),
    ("telefono", Cue::Phone),
    ("teléfono", Cue::Phone),
    ("routing", Cue::Routing),
    ("aba", Cue::Routing),
    ("account", Cue::Account),
    ("acct", Cue::Account),
    ("bank", Cue::Account),
    ("cuenta", Cue::Account),
    ("dob", Cue::Birth),
    ("d.o.b", Cue::Birth),
    ("date of birth", Cue::Birth),
    ("birth date", Cue::Birth),
    ("birthdate", Cue::Birth),
    ("born", Cue::Birth),
    ("born on", Cue::Birth),
    ("birthday", Cue::Birth),
    ("fecha de nacimiento", Cue::Birth),
    ("f. nac", Cue::Birth),
    ("nacido el", Cue::Birth),
    ("nacida el", Cue::Birth),
    ("i-94", Cue::I94),
    ("i94", Cue::I94),
    ("admission number", Cue::I94),
    ("admission record", Cue::I94),
    ("arrival record", Cue::I94),
    ("citykey", Cue::MunicipalId),
    ("city key", Cue::MunicipalId),
    ("municipal id", Cue::MunicipalId),
    ("idnyc", Cue::MunicipalId),
];

/// The compiled cue automaton (built once per `Redactor`).
pub struct CueMatcher {
    automaton: AhoCorasick,
}

/// One cue found in a text, at byte offsets `start..end`.
#[derive(Debug, Clone, Copy)]
pub struct CueHit {
    /// Byte offset of the keyword's start.
    pub start: usize,
    /// Byte offset one past the keyword.
    pub end: usize,
    /// What it points to.
    pub cue: Cue,
}

impl CueMatcher {
    /// Builds the automaton over the fixed cue list.
    pub fn new() -> Result<Self, aho_corasick::BuildError> {
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(CUE_WORDS.iter().map(|(w, _)| w))?;
        Ok(CueMatcher { automaton })
    }

    /// All whole-word cues in `text`, sorted by position.
    pub fn find(&self, text: &str) -> Vec<CueHit> {
        let bytes = text.as_bytes();
        self.automaton
            .find_iter(text)
            .filter(|m| is_word_bounded(bytes, m.start(), m.end()))
            .map(|m| CueHit {
                start: m.start(),
                end: m.end(),
                cue: CUE_WORDS[m.pattern().as_usize()].1,
            })
            .collect()
    }
}

/// The first ". " (a sentence end, not an abbreviation's dot right after the cue) within 64
/// bytes after `from`, or `usize::MAX`.
pub(crate) fn sentence_end(bytes: &[u8], from: usize) -> usize {
    let limit = (from + 64).min(bytes.len());
    // Skip the cue's own punctuation ("D.O.B. ", "No. ").
    let mut i = from;
    while i < limit && matches!(bytes[i], b'.' | b' ' | b':' | b'#') {
        i += 1;
    }
    // Each ". ": a dot with a space after it inside the window (a substring searcher costs more
    // to build than this short scan).
    let window = bytes.get(i..limit).unwrap_or_default();
    for p in memchr::memchr_iter(b'.', window).filter(|&p| window.get(p + 1) == Some(&b' ')) {
        let dot = i + p;
        // "no. ", "lic. ", "Mr. ", "J. ": an abbreviation, not the end of the sentence.
        let word = bytes[..dot]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if word > 3 {
            return dot;
        }
    }
    usize::MAX
}

/// True when the span is not glued to letters/digits on either side.
pub fn is_word_bounded(bytes: &[u8], start: usize, end: usize) -> bool {
    let before = start == 0 || !is_word_byte(bytes[start - 1]);
    let after = end >= bytes.len() || !is_word_byte(bytes[end]);
    before && after
}

/// Letters, digits and any non-ASCII byte (part of a UTF-8 letter) count as word bytes.
pub fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Cues found in one text, with a look-up by position.
///
/// A cue reaches to the end of its sentence (". " after it, see [`sentence_end`]), so context
/// never crosses into the next sentence ("alien number of 123. Her social is ..." is not an
/// A-number cue for the SSN). That end is found when a look-up asks, for the few cues it
/// reads, not for every cue found: most cues of a report are never asked about (computing it
/// for each was ~3 % of a text redaction's instructions).
pub struct CueIndex<'a> {
    text: &'a [u8],
    hits: &'a [CueHit],
    /// A cue that applies to the whole field (from a column header or JSON key).
    pub field_hint: Option<Cue>,
}

impl<'a> CueIndex<'a> {
    /// Wraps the hits in `text`, sorted by position.
    pub fn new(text: &'a str, hits: &'a [CueHit], field_hint: Option<Cue>) -> Self {
        CueIndex {
            text: text.as_bytes(),
            hits,
            field_hint,
        }
    }

    /// True when the sentence of cue `h` is still going on at `pos`.
    fn reaches(&self, h: &CueHit, pos: usize) -> bool {
        sentence_end(self.text, h.end) >= pos
    }

    /// The nearest cue ending at most `window` bytes before `pos` (or the field hint).
    pub fn nearest_before(&self, pos: usize, window: usize) -> Option<Cue> {
        let idx = self.hits.partition_point(|h| h.end <= pos);
        let from = pos.saturating_sub(window);
        self.hits[..idx]
            .iter()
            .rev()
            .take_while(|h| h.end >= from)
            .find(|h| self.reaches(h, pos))
            .map(|h| h.cue)
            .or(self.field_hint)
    }

    /// True when a cue of kind `cue` ends within `window` bytes before `pos` (or is the field hint).
    pub fn has_before(&self, pos: usize, window: usize, cue: Cue) -> bool {
        let idx = self.hits.partition_point(|h| h.end <= pos);
        let from = pos.saturating_sub(window);
        self.field_hint == Some(cue)
            || self.hits[..idx]
                .iter()
                .rev()
                .take_while(|h| h.end >= from)
                .any(|h| h.cue == cue && self.reaches(h, pos))
    }

    /// All hits (sorted by position).
    pub fn hits(&self) -> &[CueHit] {
        self.hits
    }
}
