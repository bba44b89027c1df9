//! Structured identifiers, dates of birth and street addresses: one multi-pattern DFA pass
//! (regex-automata's lazy DFA, ASCII classes) followed by structural validators and context cues.

use std::sync::OnceLock;

use regex_automata::util::{pool::Pool, syntax};
use regex_automata::{hybrid, meta, Anchored, Input};

use super::bytes::ByteSet;
use super::cues::{Cue, CueIndex};
use super::{DetectError, Detector, FieldContext};
use crate::entity::{Confidence, EntityKind, Finding};
use crate::validate;

/// Pattern identifiers, in priority order (earlier wins when two match at the same start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pat {
    Email,
    MrzLine2,
    MrzLine1,
    Receipt,
    ANumber,
    IllinoisDl,
    I94New,
    Address,
    AddressNoSuffix,
    Card,
    Phone,
    SsnShape,
    DateNumeric,
    DateIso,
    DateText,
    Ipv4,
    Ipv6,
    PassportAlnum,
    Digits,
    PassportGeneric,
}

const MONTHS: &str = "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)";
const STREET_SUFFIX: &str = "(?:street|st|avenue|ave|av|boulevard|blvd|road|rd|drive|dr|lane|ln|court|ct|place|pl|parkway|pkwy|way|terrace|ter|highway|hwy|circle|cir|square|sq|trail|trl)";

fn pattern_table() -> Vec<(Pat, String)> {
    let w = r"(?:[A-Za-z0-9][A-Za-z0-9'\-]*\.?)";
    vec![
        (Pat::Email, r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}\b".into()),
        (Pat::Ipv4, r"\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b".into()),
        (Pat::MrzLine2, r"\b[A-Z0-9<]{9}[0-9][A-Z<]{3}[0-9]{7}[MFX<][0-9]{7}[A-Z0-9<]{14}[0-9<][0-9]".into()),
        (Pat::MrzLine1, r"\bP[A-Z<][A-Z<]{3}[A-Z]+<<[A-Z<]+".into()),
        (Pat::Receipt, r"\b(?i:EAC|WAC|LIN|SRC|NBC|MSC|IOE|YSC|PSC|VSC|CSC|NSC|TSC)[- ]?[0-9]{2}[- ]?[0-9]{3}[- ]?[0-9]{5}\b".into()),
        (Pat::ANumber, r"\b[Aa](?:[-#]|[ ]?#?[ ]?)[0-9]{2,3}[- ]?[0-9]{3}[- ]?[0-9]{3}\b".into()),
        (Pat::IllinoisDl, r"\b[A-Za-z][0-9]{3}[- ]?[0-9]{4}[- ]?[0-9]{4,5}\b".into()),
        (Pat::I94New, r"\b[0-9]{9}[A-Za-z][0-9]\b".into()),
        (
            Pat::Address,
            format!(
                r"\b[0-9]{{1,6}}[A-Za-z]?[ \t]+(?:(?i:n|s|e|w|north|south|east|west)\.?[ \t]+)?(?:{w}[ \t]+){{0,3}}?{w}[ \t]+(?i:{STREET_SUFFIX})\b\.?(?:,?[ \t]*(?i:apt|apartment|unit|ste|suite|fl|floor|#)\.?[ \t]*#?[A-Za-z0-9\-]+)?(?:,[ \t]*[A-Za-z][A-Za-z .]{{1,30}},[ \t]*[A-Za-z]{{2}}(?:[ \t]+[0-9]{{5}}(?:-[0-9]{{4}})?)?)?"
            ),
        ),
        (
            Pat::AddressNoSuffix,
            r"\b[0-9]{1,6}[ \t]+(?:N|S|E|W)\.?[ \t]+(?:[A-Z][A-Za-z]+|[0-9]{1,3}(?:st|nd|rd|th|ST|ND|RD|TH))(?:[ ][A-Z][A-Za-z]+)?(?:,?[ \t]*(?i:apt|apartment|unit|ste|suite|fl|floor|#)\.?[ \t]*#?[A-Za-z0-9\-]+)?(?:,[ \t]*[A-Za-z][A-Za-z .]{1,30},[ \t]*[A-Za-z]{2}(?:[ \t]+[0-9]{5}(?:-[0-9]{4})?)?)?".to_string(),
        ),
        (Pat::Card, r"\b[0-9]{4}[- ]?[0-9]{4}[- ]?[0-9]{4}[- ]?[0-9]{1,7}\b".into()),
        (Pat::Phone, r"(?:\+?1[-. ]?)?(?:\([0-9]{3}\)[-. ]?|\b[0-9]{3}[-. ])[0-9]{3}[-. ][0-9]{4}\b".into()),
        (Pat::SsnShape, r"\b[0-9]{3}[- .][0-9]{2}[- .][0-9]{4}\b".into()),
        (Pat::DateNumeric, r"\b[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-](?:[0-9]{4}|[0-9]{2})\b".into()),
        (Pat::DateIso, r"\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b".into()),
        (
            Pat::DateText,
            format!(
                r"(?i:\b{MONTHS}\.?[ \t]+[0-9]{{1,2}}(?:st|nd|rd|th)?,?[ \t]+[0-9]{{4}}\b|\b[0-9]{{1,2}}[ \t]+(?:de[ \t]+)?{MONTHS}\.?,?[ \t]+(?:de[ \t]+)?[0-9]{{4}}\b)"
            ),
        ),
        (Pat::Ipv6, r"\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){2,7}\b".into()),
        (Pat::PassportAlnum, r"\b[A-Z]{1,2}[0-9]{6,8}\b".into()),
        (Pat::Digits, r"\b[0-9]{7,17}\b".into()),
        // A passport number needs a digit: words of capitals alone ("OBSERVED" in an ALL-CAPS
        // report) never were one, so the pattern does not match them (no match to discard per
        // word). The 6-9 length is checked in `classify`. Inside a word there is no `\b`, so a
        // longer token matched here hides no other match.
        (Pat::PassportGeneric, r"\b[A-Z]{0,8}[0-9][A-Z0-9]{0,8}\b".into()),
    ]
}

/// The pattern-and-validator detector.
///
/// The generic passport pattern (last, lowest priority) matches every word of capitals and
/// digits with a digit in it ("JH956127", "1239", each half of "13:48"), ~40 % of all matches
/// in reports, and is kept only within 24 bytes after a passport cue. So the automaton searched
/// runs without it, and the words it would have matched are found near passport cues afterwards
/// (see [`PatternDetector::detect`] for why that finds exactly the same); the automaton with it
/// (`full`, built on first use) is searched instead in the rare field where that argument does
/// not hold.
pub struct PatternDetector {
    regex: Automaton,
    full: OnceLock<Option<Automaton>>,
    pats: Vec<Pat>,
}

/// A larger lazy-DFA cache keeps the combined automaton from thrashing (and falling back to the
/// slow NFA) on long texts.
const DFA_CACHE_BYTES: usize = 64 * 1024 * 1024;

fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

fn build_meta(sources: &[String]) -> Result<meta::Regex, DetectError> {
    meta::Regex::builder()
        .syntax(syntax_config())
        .configure(meta::Config::new().hybrid_cache_capacity(DFA_CACHE_BYTES))
        .build_many(sources)
        .map_err(|e| DetectError::Pattern(e.to_string()))
}

/// The combined patterns' lazy DFAs, searched directly rather than through `meta::Regex`: one
/// forward search per match, as `meta` does, but the reverse search for the match's start only
/// where the pattern's shape does not fix it ([`fixed_start`]): three matches in ten in text. The
/// matches are the same leftmost-first matches either way; `meta` (built on first need) is
/// searched instead if the lazy DFA gives up, as `meta` itself would fall back.
struct Automaton {
    dfa: hybrid::regex::Regex,
    /// One cache per thread, made on first use (no closure holding the DFA needed).
    caches: Pool<Option<hybrid::regex::Cache>>,
    sources: Vec<String>,
    meta: OnceLock<Option<meta::Regex>>,
}

impl Automaton {
    fn new(sources: &[String]) -> Result<Self, DetectError> {
        // As `meta` configures its lazy DFA, but without giving up on a thrashing cache: a
        // search that still fails falls back to `meta` (see `scan`).
        let dfa = hybrid::regex::Regex::builder()
            .syntax(syntax_config())
            .dfa(hybrid::dfa::Config::new().cache_capacity(DFA_CACHE_BYTES))
            .build_many(sources)
            .map_err(|e| DetectError::Pattern(e.to_string()))?;
        Ok(Automaton {
            dfa,
            caches: Pool::new(|| None),
            sources: sources.to_vec(),
            meta: OnceLock::new(),
        })
    }

    fn meta(&self) -> Option<&meta::Regex> {
        self.meta
            .get_or_init(|| build_meta(&self.sources).ok())
            .as_ref()
    }

    /// Calls `f(pattern, start, end)` for each leftmost-first match in `text`, in order, as
    /// `meta::Regex::find_iter` gives them, until `f` returns false. `None` when the lazy DFA
    /// gave up (or a pattern index is unknown), after some calls: the caller starts over.
    fn each_match(
        &self,
        text: &str,
        pats: &[Pat],
        mut f: impl FnMut(Pat, usize, usize) -> bool,
    ) -> Option<bool> {
        let bytes = text.as_bytes();
        let mut guard = self.caches.get();
        let cache = guard.get_or_insert_with(|| self.dfa.create_cache());
        let mut at = 0;
        // A match needs at least one byte (every pattern needs a trigger byte), so none starts at
        // the end.
        while at < bytes.len() {
            let input = Input::new(bytes).range(at..);
            let Some(end) = self
                .dfa
                .forward()
                .try_search_fwd(cache.forward_mut(), &input)
                .ok()?
            else {
                return Some(true);
            };
            let pat = *pats.get(end.pattern().as_usize())?;
            let end = end.offset();
            if end <= at {
                // An empty match (impossible, see above): `meta` knows how to step past one.
                return None;
            }
            let start = match fixed_start(pat, bytes, at, end) {
                Some(start) => start,
                None => {
                    let back = Input::new(bytes).range(at..end).anchored(Anchored::Yes);
                    self.dfa
                        .reverse()
                        .try_search_rev(cache.reverse_mut(), &back)
                        .ok()??
                        .offset()
                }
            };
            if !f(pat, start, end) {
                return Some(false);
            }
            at = end;
        }
        Some(true)
    }
}

/// Where a match of `pat` that ends at `end` starts, for the patterns whose shape leaves one
/// possible start (and `None` for the others, whose start the reverse search finds):
/// - `Digits`, `PassportAlnum`, `I94New` are word bytes only, between two `\b`: the match is the
///   whole run of word bytes that ends at `end`;
/// - `DateIso` (10 bytes) and `SsnShape` (11) have one length;
/// - `DateNumeric` is three digit runs with a separator (not a digit) between them and a `\b`
///   before the first: each run is the whole run of digits that ends where it does;
/// - `IllinoisDl`, `ANumber` and `Receipt` have letters only at their start (one, one, three),
///   and after them only digits, `-`, space and (`ANumber`) `#`: the letters end where the run
///   of those bytes that ends at `end` starts;
/// - `Email` has no `\b` before it: its domain part (letters, digits, `.`, `-`) ends at `end`
///   after the `@`, and its local part is the whole run of local-part bytes before the `@`, cut
///   at `from` (a longer local part would be a match starting further left).
///
/// A start before `from` (the search's start) would mean the match was not of that shape: the
/// reverse search is asked instead.
fn fixed_start(pat: Pat, bytes: &[u8], from: usize, end: usize) -> Option<usize> {
    let start = match pat {
        Pat::Digits | Pat::PassportAlnum | Pat::I94New => run_start(bytes, end, is_regex_word),
        Pat::DateIso => end.checked_sub(10)?,
        Pat::SsnShape => end.checked_sub(11)?,
        Pat::DateNumeric => {
            let year = run_start(bytes, end, |b| b.is_ascii_digit());
            let second = run_start(bytes, year.checked_sub(1)?, |b| b.is_ascii_digit());
            run_start(bytes, second.checked_sub(1)?, |b| b.is_ascii_digit())
        }
        Pat::IllinoisDl => run_start(bytes, end, |b| b.is_ascii_digit() || b == b'-' || b == b' ')
            .checked_sub(1)?,
        Pat::ANumber => run_start(bytes, end, |b| {
            b.is_ascii_digit() || matches!(b, b'-' | b' ' | b'#')
        })
        .checked_sub(1)?,
        Pat::Receipt => run_start(bytes, end, |b| b.is_ascii_digit() || b == b'-' || b == b' ')
            .checked_sub(3)?,
        Pat::Email => {
            let at = run_start(bytes, end, |b| {
                b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
            })
            .checked_sub(1)?;
            if bytes.get(at) != Some(&b'@') || at < from {
                return None;
            }
            let local = run_start(&bytes[from..], at - from, |b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
            });
            from + local
        }
        _ => return None,
    };
    (start >= from).then_some(start)
}

/// The start of the run of bytes of `part` that ends at `end` (a plain loop, inlined with its
/// byte test).
#[inline(always)]
fn run_start(bytes: &[u8], end: usize, part: impl Fn(u8) -> bool) -> usize {
    let mut start = end.min(bytes.len());
    while start > 0 && part(bytes[start - 1]) {
        start -= 1;
    }
    start
}

/// A byte of a regex word (`\b` with Unicode off).
fn is_regex_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The span `PassportGeneric` (`\b[A-Z]{0,8}[0-9][A-Z0-9]{0,8}\b`) matches at `start`, if any.
fn generic_passport_at(bytes: &[u8], start: usize) -> Option<usize> {
    if start >= bytes.len() || (start > 0 && is_regex_word(bytes[start - 1])) {
        return None;
    }
    let run = bytes[start..]
        .iter()
        .take_while(|&&b| is_regex_word(b))
        .count();
    let word = &bytes[start..start + run];
    let first_digit = word.iter().position(u8::is_ascii_digit)?;
    let shaped = word
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    (shaped && first_digit <= 8 && run - first_digit - 1 <= 8).then_some(start + run)
}

/// How far before a candidate (bytes) a context cue still counts.
const CUE_WINDOW: usize = 40;

impl PatternDetector {
    /// Compiles the combined automaton.
    pub fn new() -> Result<Self, DetectError> {
        let table = pattern_table();
        debug_assert_eq!(table.last().map(|(p, _)| *p), Some(Pat::PassportGeneric));
        let sources: Vec<String> = table.iter().map(|(_, s)| s.clone()).collect();
        let regex = Automaton::new(&sources[..sources.len() - 1])?;
        Ok(PatternDetector {
            regex,
            full: OnceLock::new(),
            pats: table.into_iter().map(|(p, _)| p).collect(),
        })
    }

    /// The automaton with the generic passport pattern (built once, on first need).
    fn full(&self) -> Option<&Automaton> {
        self.full
            .get_or_init(|| {
                let sources: Vec<String> = pattern_table().into_iter().map(|(_, s)| s).collect();
                Automaton::new(&sources).ok()
            })
            .as_ref()
    }

    /// Classifies the matches of `regex` in `text` into `out`. With `check`, returns `false`
    /// (having added nothing) at the first match that starts inside a word; adds each match's
    /// span to `spans` when given.
    fn scan(
        &self,
        regex: &Automaton,
        text: &str,
        cues: &CueIndex,
        out: &mut Vec<Finding>,
        check: bool,
        spans: Option<&mut Vec<(usize, usize)>>,
    ) -> bool {
        let mut taker = Taker {
            detector: self,
            text,
            cues,
            check,
            from: (out.len(), spans.as_ref().map_or(0, |s| s.len())),
            out,
            spans,
        };
        let complete = match regex.each_match(text, &self.pats, |pat, start, end| {
            taker.take(pat, start, end)
        }) {
            Some(complete) => complete,
            None => {
                // The lazy DFA gave up: start over with `meta`, which falls back to the NFA.
                taker.undo();
                taker.take_meta(regex)
            }
        };
        if !complete {
            taker.out.truncate(taker.from.0);
        }
        complete
    }

    fn classify(
        &self,
        pat: Pat,
        text: &str,
        start: usize,
        end: usize,
        cues: &CueIndex,
    ) -> Option<(EntityKind, Confidence)> {
        let s = &text[start..end];
        use Confidence::*;
        match pat {
            Pat::Email => Some((EntityKind::Email, VeryLikely)),
            Pat::MrzLine2 => {
                validate::mrz_td3_line2(s.as_bytes()).then_some((EntityKind::Passport, VeryLikely))
            }
            Pat::MrzLine1 => (s.len() >= 20).then_some((EntityKind::Person, Likely)),
            Pat::Receipt => Some((EntityKind::UscisReceipt, VeryLikely)),
            Pat::ANumber => {
                if cues.has_before(start, CUE_WINDOW, Cue::Passport)
                    && !cues.has_before(start, CUE_WINDOW, Cue::ANumber)
                {
                    Some((EntityKind::Passport, Likely))
                } else {
                    Some((EntityKind::ANumber, VeryLikely))
                }
            }
            Pat::IllinoisDl => {
                if validate::illinois_dl(s) {
                    Some((EntityKind::DriverLicense, VeryLikely))
                } else if cues.has_before(start, CUE_WINDOW, Cue::DriverLicense) {
                    Some((EntityKind::DriverLicense, Likely))
                } else {
                    None
                }
            }
            Pat::I94New => Some((EntityKind::I94, Likely)),
            Pat::Address | Pat::AddressNoSuffix => Some((EntityKind::StreetAddress, Likely)),
            Pat::Card => validate::with_digits(s, |ds| {
                if validate::luhn(ds) {
                    Some((EntityKind::CardNumber, VeryLikely))
                } else {
                    classify_digits(s, ds, start, cues)
                }
            }),
            Pat::Phone => validate::with_digits(s, |ds| {
                if cues.has_before(start, CUE_WINDOW, Cue::Ssn) && ds.len() == 9 {
                    return classify_digits(s, ds, start, cues);
                }
                validate::nanp_phone(ds).then_some((EntityKind::Phone, VeryLikely))
            }),
            Pat::SsnShape | Pat::Digits => {
                validate::with_digits(s, |ds| classify_digits(s, ds, start, cues))
            }
            Pat::DateNumeric | Pat::DateIso | Pat::DateText => {
                (cues.has_before(start, CUE_WINDOW, Cue::Birth) && date_is_plausible(pat, s))
                    .then_some((EntityKind::DateOfBirth, Likely))
            }
            Pat::Ipv4 => s
                .parse::<std::net::Ipv4Addr>()
                .ok()
                .map(|_| (EntityKind::IpAddress, VeryLikely)),
            Pat::Ipv6 => s
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(|_| (EntityKind::IpAddress, VeryLikely)),
            Pat::PassportGeneric => ((6..=9).contains(&s.len())
                && cues.has_before(start, 24, Cue::Passport))
            .then_some((EntityKind::Passport, Likely)),
            Pat::PassportAlnum => cues
                .has_before(start, CUE_WINDOW, Cue::Passport)
                .then_some((EntityKind::Passport, Likely)),
        }
    }
}

fn date_is_plausible(pat: Pat, s: &str) -> bool {
    let nums: Vec<u32> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect();
    match (pat, nums.as_slice()) {
        (Pat::DateIso, [y, m, d]) => validate::plausible_birth_date(*y, *m, *d),
        (Pat::DateNumeric, [a, b, y]) => {
            let y = if *y < 100 { 1900 + *y } else { *y };
            validate::plausible_birth_date(y, *a, *b) || validate::plausible_birth_date(y, *b, *a)
        }
        (Pat::DateText, [_, y]) => (1900..=2030).contains(y),
        _ => false,
    }
}

/// Bare or grouped digit runs: what they are depends on their length, validators and cues.
fn classify_digits(
    s: &str,
    ds: &[u8],
    start: usize,
    cues: &CueIndex,
) -> Option<(EntityKind, Confidence)> {
    use Confidence::*;
    let separated = ds.len() != s.len();
    let n = ds.len();
    match cues.nearest_before(start, CUE_WINDOW) {
        Some(Cue::Ssn) if n == 9 && validate::itin(ds) => {
            return Some((EntityKind::Itin, VeryLikely))
        }
        Some(Cue::Ssn) if n == 9 => {
            return Some((
                EntityKind::Ssn,
                if validate::ssn(ds) {
                    VeryLikely
                } else {
                    Likely
                },
            ))
        }
        Some(Cue::Itin) if n == 9 && ds[0] == 9 => return Some((EntityKind::Itin, VeryLikely)),
        Some(Cue::ANumber) if (7..=9).contains(&n) => return Some((EntityKind::ANumber, Likely)),
        Some(Cue::Passport) if (6..=9).contains(&n) => return Some((EntityKind::Passport, Likely)),
        Some(Cue::I94) if n == 11 => return Some((EntityKind::I94, Likely)),
        Some(Cue::Routing) if n == 9 && validate::aba_routing(ds) => {
            return Some((EntityKind::BankRouting, VeryLikely))
        }
        Some(Cue::Account) if n == 9 && validate::aba_routing(ds) => {
            return Some((EntityKind::BankRouting, Likely))
        }
        Some(Cue::Account | Cue::Routing) if (8..=17).contains(&n) => {
            return Some((EntityKind::BankAccount, Likely))
        }
        Some(Cue::Phone) if validate::nanp_phone(ds) => {
            return Some((EntityKind::Phone, VeryLikely))
        }
        _ => {}
    }
    if n == 9 && validate::itin(ds) && separated && validate::consistent_separators(s) {
        return Some((EntityKind::Itin, Likely));
    }
    if n == 9 && validate::ssn(ds) {
        if separated && validate::consistent_separators(s) {
            return Some((EntityKind::Ssn, Likely));
        }
        return Some((EntityKind::Ssn, Possible));
    }
    if validate::nanp_phone(ds) && n == 10 {
        return Some((EntityKind::Phone, Possible));
    }
    None
}

/// Bytes at least one of which every pattern's match contains: an ASCII digit (every pattern
/// but three), `@` (e-mail), `<` (MRZ line 1: `<<`), `:` (IPv6 of hex letters alone, "beef::1"
/// has digits but "dead:beef:cafe" does not). A field with none of them (most table cells and
/// JSON leaves: names, charges, words) cannot match, so the automaton is not run on it.
const TRIGGER: ByteSet = ByteSet::EMPTY
    .with_range(b'0', b'9')
    .with(b'@')
    .with(b'<')
    .with(b':');

/// Fields of at most this many bytes, all ASCII digits, hold no match of the searched automaton.
const SHORT_DIGITS: usize = 6;

impl Detector for PatternDetector {
    fn name(&self) -> &'static str {
        "pattern"
    }

    /// Why the search without `PassportGeneric` plus the words found near passport cues is the
    /// same as the search with it: the pattern is last, so it wins only where no other pattern
    /// matches at the same start, and a match of it is a whole word of capitals and digits (`\b`
    /// at both ends). Searching without it, every other match is found the same unless one
    /// starts inside such a word (only a phone's optional "1" prefix can: "X1 312-555-0100"),
    /// which is detected (a match starting inside a word) and answered with the full automaton.
    /// Otherwise the full search's generic matches are exactly the words of that shape that no
    /// other match overlaps, and only those within reach of a passport cue can be kept.
    fn detect(&self, text: &str, ctx: &FieldContext, out: &mut Vec<Finding>) {
        if !ctx.bytes().intersects(&TRIGGER) {
            return;
        }
        let cues = ctx.cues(text);
        let passport_cues = cues.hits().iter().any(|h| h.cue == Cue::Passport);
        let fallback = |out: &mut Vec<Finding>| {
            if let Some(full) = self.full() {
                self.scan(full, text, &cues, out, false, None);
            }
        };
        if cues.field_hint == Some(Cue::Passport) {
            return fallback(out);
        }
        if !passport_cues && text.len() <= SHORT_DIGITS && text.bytes().all(|b| b.is_ascii_digit())
        {
            // No pattern of the searched automaton matches six digits or fewer alone (test
            // `short_digit_runs_match_nothing` tries every such string): a table's counts,
            // codes and badge numbers are not searched.
            return;
        }
        if !passport_cues {
            // No generic match can be kept; only a match starting inside a word could differ.
            if !self.scan(&self.regex, text, &cues, out, true, None) {
                fallback(out);
            }
            return;
        }
        let from = out.len();
        let mut spans = Vec::new();
        if !self.scan(&self.regex, text, &cues, out, true, Some(&mut spans)) {
            return fallback(out);
        }
        let bytes = text.as_bytes();
        let mut extra: Vec<(usize, usize)> = Vec::new();
        for h in cues.hits().iter().filter(|h| h.cue == Cue::Passport) {
            for start in h.end..=(h.end + 24).min(bytes.len()) {
                let Some(end) = generic_passport_at(bytes, start) else {
                    continue;
                };
                // Spans are sorted and disjoint: the last one starting before `end` is the only
                // one that can overlap.
                let i = spans.partition_point(|&(a, _)| a < end);
                if i > 0 && spans[i - 1].1 > start {
                    continue;
                }
                extra.push((start, end));
            }
        }
        if extra.is_empty() {
            return;
        }
        extra.sort_unstable();
        extra.dedup();
        for (start, end) in extra {
            if let Some(classified) = self.classify(Pat::PassportGeneric, text, start, end, &cues) {
                out.push(finding(start, end, classified));
            }
        }
        // In match order, as the single search gave them.
        out[from..].sort_by_key(|f| f.start);
    }
}

/// What [`PatternDetector::scan`] does with each match, from the lazy DFA or from `meta`.
struct Taker<'a> {
    detector: &'a PatternDetector,
    text: &'a str,
    cues: &'a CueIndex<'a>,
    check: bool,
    out: &'a mut Vec<Finding>,
    spans: Option<&'a mut Vec<(usize, usize)>>,
    /// The lengths of `out` and `spans` before the scan.
    from: (usize, usize),
}

impl Taker<'_> {
    /// Takes one match: false (to stop) when `check` finds it starting inside a word.
    #[inline(always)]
    fn take(&mut self, pat: Pat, start: usize, end: usize) -> bool {
        let (text, bytes) = (self.text, self.text.as_bytes());
        if self.check && start > 0 && is_regex_word(bytes[start - 1]) && is_regex_word(bytes[start])
        {
            return false;
        }
        if let Some(spans) = self.spans.as_deref_mut() {
            spans.push((start, end));
        }
        // utf8(false) lets the ASCII DFA run at full speed; spans are ASCII by construction,
        // but a guard keeps slicing safe on any input.
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            return true;
        }
        if let Some(classified) = self.detector.classify(pat, text, start, end, self.cues) {
            self.out.push(finding(start, end, classified));
        }
        true
    }

    /// Takes the matches `meta::Regex::find_iter` gives (the search the lazy DFA's stands in
    /// for), until one says stop.
    fn take_meta(&mut self, regex: &Automaton) -> bool {
        let Some(meta) = regex.meta() else {
            return true;
        };
        let pats = &self.detector.pats;
        meta.find_iter(Input::new(self.text)).all(|m| {
            pats.get(m.pattern().as_usize())
                .is_none_or(|&pat| self.take(pat, m.start(), m.end()))
        })
    }

    /// Drops what this scan added, to start it over.
    fn undo(&mut self) {
        self.out.truncate(self.from.0);
        if let Some(spans) = self.spans.as_deref_mut() {
            spans.truncate(self.from.1);
        }
    }
}

/// A pattern's finding, under the detector of its kind.
fn finding(start: usize, end: usize, (kind, confidence): (EntityKind, Confidence)) -> Finding {
    Finding {
        start,
        end,
        kind,
        detector: detector_id(kind),
        confidence,
    }
}

fn detector_id(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Ssn => "pattern.ssn",
        EntityKind::Itin => "pattern.itin",
        EntityKind::ANumber => "pattern.a_number",
        EntityKind::UscisReceipt => "pattern.uscis_receipt",
        EntityKind::I94 => "pattern.i94",
        EntityKind::Passport => "pattern.passport",
        EntityKind::DriverLicense => "pattern.il_dl",
        EntityKind::Phone => "pattern.phone",
        EntityKind::Email => "pattern.email",
        EntityKind::IpAddress => "pattern.ip",
        EntityKind::CardNumber => "pattern.card_luhn",
        EntityKind::BankRouting => "pattern.aba_routing",
        EntityKind::BankAccount => "pattern.bank_account",
        EntityKind::DateOfBirth => "pattern.dob_context",
        EntityKind::StreetAddress => "pattern.street_address",
        EntityKind::Person => "pattern.mrz_name",
        _ => "pattern",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::cues::Cue;
    use crate::detect::{DetectorChain, FieldHint};

    /// Every string of one to `SHORT_DIGITS` ASCII digits: the searched automaton (without the
    /// generic passport pattern) finds no match in it, so skipping such fields is exact; and
    /// seven digits do match (the bound is tight), as does six with the full automaton.
    #[test]
    fn short_digit_runs_match_nothing() {
        let d = PatternDetector::new().expect("patterns");
        let mut tried = 0;
        for len in 1..=SHORT_DIGITS as u32 {
            for n in 0..10u32.pow(len) {
                let s = format!("{n:0width$}", width = len as usize);
                assert!(first_match(&d, &d.regex, &s).is_none(), "{s}");
                tried += 1;
            }
        }
        assert_eq!(tried, 1_111_110);
        assert!(first_match(&d, &d.regex, "1234567").is_some());
        assert!(d
            .full()
            .is_some_and(|f| first_match(&d, f, "123456").is_some()));
    }

    /// The search without the generic passport pattern (plus the words near passport cues, or
    /// the full automaton where that is not exact) finds what the full automaton finds.
    #[test]
    fn same_findings_as_full_automaton() {
        let chain = DetectorChain::standard(None).unwrap();
        let pd = PatternDetector::new().unwrap();
        let full = pd.full().unwrap();
        let texts = [
            "passport no. C12345678 seen; PASSPORT 552232193; pp# AB12CD34 and 13:48 RD# JH956127",
            "Passport: X1 312-555-0100 and passport X1 (708) 662-8528, pasaporte G1234567 A1234567",
            "PASSPORT NO. 9A 21 312-555-0100 1 312 555 0100 P<USAGARCIA<<JUAN<<<<<<<<<<<<<<<<<<<",
            "travel document AB123456789 C1234567 ABCDEFGHI1 AAAAAAAAA1BBBBBBBB ssn 123-45-6789",
            "A1 312-555-0100 without a cue; DL1 555-123-4567; passport 12345678901234567890",
            "born 01/02/1980 passport E12345678, E12345678 again; email JOHN1@EXAMPLE.COM passport",
            "",
            "passport",
        ];
        for text in texts {
            for hint in [None, Some(Cue::Passport)] {
                let ctx = chain.context_for(
                    text,
                    FieldHint {
                        cue: hint,
                        ..Default::default()
                    },
                );
                let mut got = Vec::new();
                pd.detect(text, &ctx, &mut got);
                let mut want = Vec::new();
                pd.scan(full, text, &ctx.cues(text), &mut want, false, None);
                let key = |f: &Finding| (f.start, f.end, f.kind, f.confidence, f.detector);
                assert_eq!(
                    got.iter().map(key).collect::<Vec<_>>(),
                    want.iter().map(key).collect::<Vec<_>>(),
                    "{text}"
                );
            }
        }
    }

    /// A field without a trigger byte has no match in the full automaton (so skipping it changes
    /// nothing): every pattern, on texts made of everything but those bytes.
    #[test]
    fn fields_without_trigger_bytes_never_match() {
        let chain = DetectorChain::standard(None).unwrap();
        let pd = PatternDetector::new().unwrap();
        let full = pd.full().unwrap();
        let others: String = (0u8..128)
            .filter(|&b| !TRIGGER.contains(b))
            .map(char::from)
            .collect();
        let texts = [
            others.clone(),
            "dead:beef:cafe".replace(':', " "),
            "P USAGARCIA JUAN jane.doe example.com PUSAGARCIA  JUAN".into(),
            "January fifth, nineteen eighty; N Kostner Ave; DEAD BEEF CAFE; ABCDEFGH".into(),
            others.chars().rev().collect(),
        ];
        for t in &texts {
            assert!(!may_match(t), "{t}");
            let ctx = chain.context_for(t, FieldHint::default());
            let mut found = Vec::new();
            pd.detect(t, &ctx, &mut found);
            assert!(found.is_empty(), "{t}");
            assert_eq!(first_match(&pd, full, t), None, "{t}");
            assert_eq!(first_match(&pd, full, &format!("{t} {t}")), None, "{t}");
        }
        // The proof: in every pattern's syntax tree, each way to match passes a trigger byte.
        for (pat, source) in pattern_table() {
            let hir = regex_automata::util::syntax::parse_with(
                &source,
                &syntax::Config::new().unicode(false).utf8(false),
            )
            .unwrap();
            assert!(
                requires_trigger(&hir),
                "{pat:?} can match without a trigger byte"
            );
        }
        // Each trigger byte alone can start a match somewhere (the set is not larger than needed
        // for the patterns it is named after).
        for t in [
            "123-45-6789",
            "a@b.co",
            "P<USAGARCIA<<JUAN",
            "dead:beef:cafe",
        ] {
            assert!(may_match(t) && first_match(&pd, full, t).is_some(), "{t}");
            // The field's byte set, as the chain builds it, lets the automaton run.
            let ctx = chain.context_for(t, FieldHint::default());
            assert!(ctx.bytes().intersects(&TRIGGER), "{t}");
        }
    }

    /// The first match of `auto` in `text` (pattern, start, end), as the detector searches it.
    fn first_match(
        d: &PatternDetector,
        auto: &Automaton,
        text: &str,
    ) -> Option<(Pat, usize, usize)> {
        let mut first = None;
        let searched = auto.each_match(text, &d.pats, |pat, start, end| {
            first = Some((pat, start, end));
            false
        });
        assert!(searched.is_some(), "the lazy DFA gave up on {text:?}");
        first
    }

    /// A match: pattern, start, end.
    type Hit = (Pat, usize, usize);

    /// Every match of `auto` in `text`: from the lazy DFA as searched, and from `meta`.
    fn both_ways(d: &PatternDetector, auto: &Automaton, text: &str) -> (Vec<Hit>, Vec<Hit>) {
        let mut got = Vec::new();
        let searched = auto.each_match(text, &d.pats, |pat, start, end| {
            got.push((pat, start, end));
            true
        });
        assert_eq!(searched, Some(true), "{text:?}");
        let meta = auto.meta().expect("meta regex");
        let want = meta
            .find_iter(Input::new(text))
            .map(|m| (d.pats[m.pattern().as_usize()], m.start(), m.end()))
            .collect();
        (got, want)
    }

    /// The lazy DFA searched directly, with starts from [`fixed_start`], finds what
    /// `meta::Regex::find_iter` finds, for both automata: on the corpus's texts, on text made
    /// at random of the bytes the patterns are built from (digit runs of every length, every
    /// separator, capitals, `\b` next to `_`, non-ASCII), and on shapes next to each other.
    #[test]
    fn matches_equal_meta_find_iter() {
        let d = PatternDetector::new().expect("patterns");
        let full = d.full().expect("full automaton");
        let mut texts: Vec<String> = crate::corpus::generate(7, 200)
            .texts
            .iter()
            .flat_map(|r| r.fields.iter().map(|f| f.text.clone()))
            .collect();
        texts.extend(
            [
                "1/2/1980 12/31/80 1.2.1980 01-02-1980 1/2/198 1/2/19801 123/4/1980 1/234/80",
                "_1/2/1980 1/2/1980_ a1/2/1980 1/2/1980a 5 1/2/1980 12 3/4/80 1 2/3/4/5/6/7/8/9",
                "1980-01-02 1980-01-022 11980-01-02 1980-01-02-03 123-45-6789 123 45 6789 123.45.6789",
                "1234567 12345678901234567 123456789012345678 A1234567 AB1234567 ABC1234567 A12345",
                "123456789A1 123456789a1 1234567890A1 A123456789B1 X1 312-555-0100 1 312 555 0100",
                "12 3 4 1/2 Main St 1980-01-02 Rd 123-45-6789 Ave 1/2/1980 Main Street, Chicago, IL 60601",
                "é1/2/1980 1/2/1980é 12345678é é12345678 ∂AB123456 ½123-45-6789",
                "",
            ]
            .map(String::from),
        );
        let mut rng = crate::corpus::Rng::new(2026);
        let parts: &[&str] = &[
            "0", "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "1980", "/",
            ".", "-", " ", "  ", "\t", "\n", ",", ":", "@", "<", "_", "A", "AB", "P", "x", "St",
            "Main", "March", "de", "é", "#", "(", ")", "+1", "EAC", "ioe", "a", "A#", "x.com",
            ".org", "%", "+", "Jo.Smith", "-", "S", "IL",
        ];
        for _ in 0..3000 {
            let n = rng.range(1, 24);
            let text: String = (0..n).map(|_| *rng.pick(parts)).collect();
            texts.push(text);
        }
        let mut fixed = std::collections::HashMap::new();
        for text in &texts {
            for auto in [&d.regex, full] {
                let (got, want) = both_ways(&d, auto, text);
                assert_eq!(got, want, "{text:?}");
                for &(pat, start, end) in &got {
                    if fixed_start(pat, text.as_bytes(), 0, end) == Some(start) {
                        *fixed.entry(format!("{pat:?}")).or_insert(0) += 1;
                    }
                }
            }
        }
        // Every shape with a fixed start was met, most of them hundreds of times.
        for pat in [
            Pat::Digits,
            Pat::PassportAlnum,
            Pat::I94New,
            Pat::DateIso,
            Pat::SsnShape,
            Pat::DateNumeric,
            Pat::IllinoisDl,
            Pat::ANumber,
            Pat::Receipt,
            Pat::Email,
        ] {
            let n = fixed.get(&format!("{pat:?}")).copied().unwrap_or(0);
            assert!(n >= 20, "{pat:?}: {n} {fixed:?}");
        }
    }

    /// The fallback through `meta` (taken when the lazy DFA gives up) classifies as `scan` does:
    /// findings, spans and the stop at a match inside a word, on the corpus's texts with and
    /// without a passport hint, for both automata.
    #[test]
    fn meta_fallback_scans_the_same() {
        let chain = DetectorChain::standard(None).unwrap();
        let d = PatternDetector::new().expect("patterns");
        let full = d.full().expect("full automaton");
        let mut texts: Vec<String> = crate::corpus::generate(11, 100)
            .texts
            .iter()
            .flat_map(|r| r.fields.iter().map(|f| f.text.clone()))
            .collect();
        texts.push("passport X1 312-555-0100 and A1 (708) 662-8528".into());
        let (mut found, mut stopped) = (0, 0);
        for text in &texts {
            for hint in [None, Some(Cue::Passport)] {
                let hint = FieldHint {
                    cue: hint,
                    ..Default::default()
                };
                let ctx = chain.context_for(text, hint);
                for (auto, check) in [(&d.regex, true), (full, false)] {
                    let (mut got, mut got_spans) = (Vec::new(), Vec::new());
                    let got_done = d.scan(
                        auto,
                        text,
                        &ctx.cues(text),
                        &mut got,
                        check,
                        Some(&mut got_spans),
                    );
                    let (mut want, mut want_spans) = (Vec::new(), Vec::new());
                    let want_done = Taker {
                        detector: &d,
                        text,
                        cues: &ctx.cues(text),
                        check,
                        out: &mut want,
                        spans: Some(&mut want_spans),
                        from: (0, 0),
                    }
                    .take_meta(auto);
                    assert_eq!(got_done, want_done, "{text}");
                    if want_done {
                        assert_eq!(got, want, "{text}");
                        assert_eq!(got_spans, want_spans, "{text}");
                        found += got.len();
                    } else {
                        assert!(got.is_empty(), "{text}");
                        stopped += 1;
                    }
                }
            }
        }
        assert!(found > 1000 && stopped > 0, "{found} {stopped}");
    }

    /// Each shape with a fixed start, alone and after other bytes: `fixed_start` gives the start
    /// `meta` reports.
    #[test]
    fn fixed_starts_are_the_match_starts() {
        let d = PatternDetector::new().expect("patterns");
        let cases = [
            (Pat::Digits, "12345678"),
            (Pat::Digits, "12345678901234567"),
            (Pat::PassportAlnum, "AB123456"),
            (Pat::PassportAlnum, "A12345678"),
            (Pat::I94New, "123456789A1"),
            (Pat::DateIso, "1980-01-02"),
            (Pat::SsnShape, "123 45.6789"),
            (Pat::DateNumeric, "1/2/80"),
            (Pat::DateNumeric, "12/31/1980"),
            (Pat::DateNumeric, "1.22-1980"),
            (Pat::IllinoisDl, "S123-4567-8901"),
            (Pat::IllinoisDl, "s12345678901"),
            (Pat::IllinoisDl, "D123 4567 89012"),
            (Pat::ANumber, "A123456789"),
            (Pat::ANumber, "a-12-345-678"),
            (Pat::ANumber, "A # 123 456 789"),
            (Pat::ANumber, "A#12345678"),
            (Pat::Receipt, "EAC2190012345"),
            (Pat::Receipt, "ioe-21-900-12345"),
            (Pat::Receipt, "MSC 21 900 12345"),
            (Pat::Email, "jane.doe@example.com"),
            (Pat::Email, "J_D%x+y-z@mail-1.example.co.uk"),
            (Pat::Email, "a@b.co"),
        ];
        let mut seen = 0;
        for (pat, shape) in cases {
            for before in [
                "", " ", "x ", "1/", "12-", "9.", "é", "ab 1 ", "a.b", "x_", "5 ", "#",
            ] {
                let text = format!("{before}{shape} tail");
                let (got, want) = both_ways(&d, &d.regex, &text);
                assert_eq!(got, want, "{text:?}");
                let hit = want.iter().find(|m| m.0 == pat);
                if let Some(&(_, start, end)) = hit {
                    assert_eq!(
                        fixed_start(pat, text.as_bytes(), 0, end),
                        Some(start),
                        "{text:?}"
                    );
                    seen += 1;
                }
            }
        }
        assert!(seen >= 200, "{seen}");
        // Shapes the function does not fix.
        assert_eq!(fixed_start(Pat::Card, b"1234 5678 9012 3456", 0, 19), None);
        assert_eq!(fixed_start(Pat::Phone, b"312-555-0100", 0, 12), None);
        // A start before the search's start is left to the reverse search.
        assert_eq!(fixed_start(Pat::Digits, b"12345678", 1, 8), None);
        // An e-mail's local part is cut at the search's start (what `meta` reports there too).
        assert_eq!(
            fixed_start(Pat::Email, b"jane.doe@example.com", 3, 20),
            Some(3)
        );
        // After an address that ends in its suffix's dot, the next search starts inside a
        // local part.
        let text = "123 Main St.john.smith@example.com 12345678.a@b.co";
        let (got, want) = both_ways(&d, &d.regex, text);
        assert_eq!(got, want);
        assert!(got.contains(&(Pat::Email, 12, 34)), "{got:?}");
    }

    /// False when the detector skips `text` for want of a trigger byte.
    fn may_match(text: &str) -> bool {
        ByteSet::of(text.as_bytes()).intersects(&TRIGGER)
    }

    /// True when every match of `hir` contains a byte of [`TRIGGER`].
    fn requires_trigger(hir: &regex_syntax::hir::Hir) -> bool {
        use regex_syntax::hir::{Class, HirKind};
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => false,
            HirKind::Literal(lit) => lit.0.iter().any(|&b| TRIGGER.contains(b)),
            HirKind::Class(Class::Bytes(c)) => c
                .ranges()
                .iter()
                .all(|r| (r.start()..=r.end()).all(|b| TRIGGER.contains(b))),
            HirKind::Class(Class::Unicode(c)) => c.ranges().iter().all(|r| {
                (u32::from(r.start())..=u32::from(r.end()))
                    .all(|b| u8::try_from(b).is_ok_and(|b| TRIGGER.contains(b)))
            }),
            HirKind::Repetition(r) => r.min >= 1 && requires_trigger(&r.sub),
            HirKind::Capture(c) => requires_trigger(&c.sub),
            HirKind::Concat(parts) => parts.iter().any(requires_trigger),
            HirKind::Alternation(alts) => alts.iter().all(requires_trigger),
        }
    }

    #[test]
    fn generic_passport_shape() {
        let at = |s: &str, i| generic_passport_at(s.as_bytes(), i);
        assert_eq!(at("AB123456 x", 0), Some(8));
        assert_eq!(at("xAB123456", 1), None);
        assert_eq!(at("ABCDEFGHI1", 0), None);
        assert_eq!(at("ABCDEFGH1", 0), Some(9));
        assert_eq!(at("A123456789", 0), Some(10));
        assert_eq!(at("A1234567890", 0), None);
        assert_eq!(at("A12345678", 0), Some(9));
        assert_eq!(at("Ab123456", 0), None);
        assert_eq!(at("AB12_34", 0), None);
        assert_eq!(at("ABCDEF", 0), None);
    }
}
