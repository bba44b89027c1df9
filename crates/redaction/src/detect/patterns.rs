//! Structured identifiers, dates of birth and street addresses: one multi-pattern DFA pass
//! (regex-automata `meta::Regex::new_many`, ASCII classes) followed by structural validators and
//! context cues.

use regex_automata::{meta, util::syntax, Input};

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
pub struct PatternDetector {
    regex: meta::Regex,
    pats: Vec<Pat>,
}

/// How far before a candidate (bytes) a context cue still counts.
const CUE_WINDOW: usize = 40;

impl PatternDetector {
    /// Compiles the combined automaton.
    pub fn new() -> Result<Self, DetectError> {
        let table = pattern_table();
        let sources: Vec<&str> = table.iter().map(|(_, s)| s.as_str()).collect();
        let regex = meta::Regex::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            // A larger lazy-DFA cache keeps the combined automaton from thrashing (and falling
            // back to the slow NFA) on long texts.
            .configure(meta::Config::new().hybrid_cache_capacity(64 * 1024 * 1024))
            .build_many(&sources)
            .map_err(|e| DetectError::Pattern(e.to_string()))?;
        Ok(PatternDetector {
            regex,
            pats: table.into_iter().map(|(p, _)| p).collect(),
        })
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
            Pat::Card => {
                let ds = validate::digits(s);
                if validate::luhn(&ds) {
                    Some((EntityKind::CardNumber, VeryLikely))
                } else {
                    classify_digits(s, &ds, start, cues)
                }
            }
            Pat::Phone => {
                let ds = validate::digits(s);
                if cues.has_before(start, CUE_WINDOW, Cue::Ssn) && ds.len() == 9 {
                    return classify_digits(s, &ds, start, cues);
                }
                validate::nanp_phone(&ds).then_some((EntityKind::Phone, VeryLikely))
            }
            Pat::SsnShape | Pat::Digits => classify_digits(s, &validate::digits(s), start, cues),
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

impl Detector for PatternDetector {
    fn name(&self) -> &'static str {
        "pattern"
    }

    fn detect(&self, text: &str, ctx: &FieldContext, out: &mut Vec<Finding>) {
        let cues = ctx.cues();
        for m in self.regex.find_iter(Input::new(text)) {
            let (start, end) = (m.start(), m.end());
            // utf8(false) lets the ASCII DFA run at full speed; spans are ASCII by construction,
            // but a guard keeps slicing safe on any input.
            if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                continue;
            }
            let pat = self.pats[m.pattern().as_usize()];
            if let Some((kind, confidence)) = self.classify(pat, text, start, end, &cues) {
                out.push(Finding {
                    start,
                    end,
                    kind,
                    detector: detector_id(kind),
                    confidence,
                });
            }
        }
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
