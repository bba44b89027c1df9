//! Detectors that read what follows a cue: licence plates ("plate: ABC 1234"), municipal IDs by
//! the policy's pattern, and place of birth / nationality ("born in Guadalajara", "a Mexican
//! national", "nacionalidad: hondureña").

use regex_automata::{meta, util::syntax, Input};

use super::bytes::{first_bytes, ByteSet};
use super::cues::Cue;
use super::{DetectError, Detector, FieldContext};
use crate::entity::{Confidence, EntityKind, Finding};

/// Licence plates: the token(s) right after a plate cue.
pub struct PlateDetector;

const NOT_A_PLATE: &[&str] = &[
    "NUMBER", "NO", "IL", "ILLINOIS", "STATE", "IS", "WAS", "OF", "THE", "A", "ON", "IN",
];

impl Detector for PlateDetector {
    fn name(&self) -> &'static str {
        "context.plate"
    }

    fn detect(&self, text: &str, ctx: &FieldContext, out: &mut Vec<Finding>) {
        let bytes = text.as_bytes();
        let cued = ctx.cues(text);
        let starts = cued
            .hits()
            .iter()
            .filter(|h| h.cue == Cue::Plate)
            .map(|h| h.end)
            .chain((ctx.field_hint == Some(Cue::Plate)).then_some(0));
        for from in starts {
            if let Some((s, e)) = plate_after(bytes, from) {
                out.push(Finding {
                    start: s,
                    end: e,
                    kind: EntityKind::LicensePlate,
                    detector: "context.plate",
                    confidence: Confidence::Likely,
                });
            }
        }
    }
}

/// Skips separators and filler words after a cue, then takes one or two plate-like tokens.
fn plate_after(bytes: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let limit = (i + 48).min(bytes.len());
    loop {
        while i < limit
            && matches!(
                bytes[i],
                b' ' | b'\t' | b':' | b'#' | b'-' | b'.' | b'=' | b'"' | b'('
            )
        {
            i += 1;
        }
        let (s, e) = token(bytes, i, limit)?;
        let word = &bytes[s..e];
        if NOT_A_PLATE
            .iter()
            .any(|w| w.as_bytes().eq_ignore_ascii_case(word))
        {
            i = e;
            continue;
        }
        // "AB 12345": a short letter group followed by a digit group is one plate.
        if e < limit && bytes[e] == b' ' {
            if let Some((s2, e2)) = token(bytes, e + 1, limit) {
                let second = &bytes[s2..e2];
                let joinable = word.len() <= 4 && word.iter().all(u8::is_ascii_uppercase);
                if joinable
                    && plate_token(second)
                    && word.len() + second.len() <= 8
                    && second.iter().all(u8::is_ascii_digit)
                {
                    return Some((s, e2));
                }
            }
        }
        if !plate_token(word) {
            return None;
        }
        let end = e;
        return Some((s, end));
    }
}

fn token(bytes: &[u8], i: usize, limit: usize) -> Option<(usize, usize)> {
    let mut e = i;
    while e < limit && bytes[e].is_ascii_alphanumeric() {
        e += 1;
    }
    (e > i).then_some((i, e))
}

fn plate_token(word: &[u8]) -> bool {
    (2..=8).contains(&word.len())
        && word
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && (word.iter().any(u8::is_ascii_digit) || word.len() >= 3)
}

/// Municipal ID numbers by a policy-supplied pattern (e.g. CityKey), optionally requiring a cue.
pub struct MunicipalIdDetector {
    regex: meta::Regex,
    require_cue: bool,
    /// The shortest match the pattern can have: shorter fields (most table cells) are not
    /// searched.
    min_len: usize,
    /// The bytes its matches start with (`C` and `c` for CityKey's `CK12345678`): a field with
    /// none of them is not searched.
    first: ByteSet,
}

impl MunicipalIdDetector {
    /// Compiles the policy's pattern (ASCII syntax).
    pub fn new(pattern: &str, require_cue: bool) -> Result<Self, DetectError> {
        let config = syntax::Config::new().unicode(false).utf8(false);
        let regex = meta::Regex::builder()
            .syntax(config)
            .build(pattern)
            .map_err(|e| DetectError::Pattern(format!("municipal_id.pattern: {e}")))?;
        // The same syntax the regex was built with; search everything if it says nothing.
        let hir = regex_automata::util::syntax::parse_with(pattern, &config).ok();
        let min_len = hir
            .as_ref()
            .and_then(|hir| hir.properties().minimum_len())
            .unwrap_or(0);
        let first = hir.as_ref().map_or(ByteSet::ALL, first_bytes);
        Ok(MunicipalIdDetector {
            regex,
            require_cue,
            min_len,
            first,
        })
    }
}

impl Detector for MunicipalIdDetector {
    fn name(&self) -> &'static str {
        "pattern.municipal_id"
    }

    fn detect(&self, text: &str, ctx: &FieldContext, out: &mut Vec<Finding>) {
        if text.len() < self.min_len || !ctx.bytes().intersects(&self.first) {
            return;
        }
        let cues = ctx.cues(text);
        for m in self.regex.find_iter(Input::new(text)) {
            if m.is_empty() || !text.is_char_boundary(m.start()) || !text.is_char_boundary(m.end())
            {
                continue;
            }
            let cued = cues.has_before(m.start(), 40, Cue::MunicipalId);
            if self.require_cue && !cued {
                continue;
            }
            let confidence = if cued {
                Confidence::VeryLikely
            } else {
                Confidence::Likely
            };
            out.push(Finding {
                start: m.start(),
                end: m.end(),
                kind: EntityKind::MunicipalId,
                detector: "pattern.municipal_id",
                confidence,
            });
        }
    }
}

/// Place of birth, country of origin and nationality, in context. Its cues and the demonyms are
/// found by the chain's one lexicon pass (`lexicon.rs`).
pub struct BirthplaceDetector;

/// Cues after which a place is a birthplace or origin.
pub const BIRTHPLACE_CUES: &[&str] = &[
    "born in",
    "place of birth",
    "birthplace",
    "birth place",
    "pob",
    "country of birth",
    "country of origin",
    "country of citizenship",
    "citizenship",
    "nationality",
    "native of",
    "citizen of",
    "national of",
    "nacido en",
    "nacida en",
    "lugar de nacimiento",
    "pais de origen",
    "país de origen",
    "pais de nacimiento",
    "país de nacimiento",
    "nacionalidad",
    "originario de",
    "originaria de",
    "ciudadano de",
    "ciudadana de",
    "originally from",
    "hails from",
    "is from",
    "came from",
    "emigrated from",
    "immigrated from",
];

/// Demonyms (English and Spanish) that state a nationality when followed by "national",
/// "citizen" or used as a value after a nationality cue.
pub const DEMONYMS: &[&str] = &[
    "mexican",
    "guatemalan",
    "honduran",
    "salvadoran",
    "salvadorean",
    "nicaraguan",
    "venezuelan",
    "colombian",
    "ecuadorian",
    "peruvian",
    "cuban",
    "dominican",
    "haitian",
    "brazilian",
    "argentine",
    "argentinian",
    "chilean",
    "bolivian",
    "jamaican",
    "polish",
    "ukrainian",
    "russian",
    "romanian",
    "serbian",
    "albanian",
    "bosnian",
    "lithuanian",
    "irish",
    "italian",
    "greek",
    "chinese",
    "indian",
    "pakistani",
    "bangladeshi",
    "nepali",
    "filipino",
    "filipina",
    "vietnamese",
    "korean",
    "burmese",
    "syrian",
    "iraqi",
    "afghan",
    "iranian",
    "jordanian",
    "palestinian",
    "lebanese",
    "egyptian",
    "moroccan",
    "yemeni",
    "nigerian",
    "ghanaian",
    "ethiopian",
    "eritrean",
    "somali",
    "sudanese",
    "congolese",
    "cameroonian",
    "senegalese",
    "mauritanian",
    "kenyan",
    "turkish",
    "canadian",
    "mexicano",
    "mexicana",
    "guatemalteco",
    "guatemalteca",
    "hondureño",
    "hondureña",
    "salvadoreño",
    "salvadoreña",
    "venezolano",
    "venezolana",
    "colombiano",
    "colombiana",
    "ecuatoriano",
    "ecuatoriana",
    "cubano",
    "cubana",
    "dominicano",
    "dominicana",
    "nicaragüense",
    "peruano",
    "peruana",
];

impl BirthplaceDetector {
    /// The detector (its word lists live in the chain's lexicon automaton).
    pub fn new() -> Result<Self, DetectError> {
        Ok(BirthplaceDetector)
    }
}

impl Detector for BirthplaceDetector {
    fn name(&self) -> &'static str {
        "context.birthplace"
    }

    fn detect(&self, text: &str, ctx: &FieldContext, out: &mut Vec<Finding>) {
        let bytes = text.as_bytes();
        let lexicon = ctx.lexicon();
        for m in &lexicon.birthplace {
            let loose = matches!(
                BIRTHPLACE_CUES[m.index],
                "is from" | "came from" | "emigrated from" | "immigrated from"
            );
            if let Some((s, e)) = place_after(bytes, m.end) {
                if loose && !starts_with_demonym(&text[s..e]) && !is_known_country(&text[s..e]) {
                    continue;
                }
                out.push(Finding {
                    start: s,
                    end: e,
                    kind: EntityKind::PlaceOfBirth,
                    detector: "context.birthplace",
                    confidence: Confidence::Likely,
                });
            }
        }
        for m in &lexicon.demonyms {
            let rest = text[m.end..].trim_start_matches([' ', '\t']).as_bytes();
            if [
                "national",
                "citizen",
                "nacional",
                "ciudadan",
                "immigrant",
                "inmigrante",
            ]
            .iter()
            .any(|w| {
                rest.get(..w.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(w.as_bytes()))
            }) {
                out.push(Finding {
                    start: m.start,
                    end: m.end,
                    kind: EntityKind::PlaceOfBirth,
                    detector: "context.nationality",
                    confidence: Confidence::Likely,
                });
            }
        }
        if ctx.field_hint_birthplace {
            let t = text.trim();
            if !t.is_empty() {
                let s = text.len() - text.trim_start().len();
                out.push(Finding {
                    start: s,
                    end: s + t.len(),
                    kind: EntityKind::PlaceOfBirth,
                    detector: "context.birthplace",
                    confidence: Confidence::Likely,
                });
            }
        }
    }
}

/// True when `s` starts with a demonym (ASCII case-insensitive, as the lexicon matches).
fn starts_with_demonym(s: &str) -> bool {
    let b = s.as_bytes();
    DEMONYMS.iter().any(|d| {
        b.get(..d.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(d.as_bytes()))
    })
}

/// Countries most often seen in Chicago records (lower case), for the loose "is from" cue.
const COUNTRIES: &[&str] = &[
    "mexico",
    "méxico",
    "guatemala",
    "honduras",
    "el salvador",
    "nicaragua",
    "venezuela",
    "colombia",
    "ecuador",
    "peru",
    "cuba",
    "dominican republic",
    "haiti",
    "brazil",
    "poland",
    "ukraine",
    "russia",
    "china",
    "india",
    "pakistan",
    "philippines",
    "vietnam",
    "korea",
    "syria",
    "iraq",
    "afghanistan",
    "iran",
    "jordan",
    "lebanon",
    "egypt",
    "morocco",
    "yemen",
    "nigeria",
    "ghana",
    "ethiopia",
    "somalia",
    "sudan",
    "congo",
    "cameroon",
    "senegal",
    "mauritania",
    "turkey",
    "canada",
    "ireland",
    "italy",
    "romania",
    "serbia",
    "albania",
    "bosnia",
    "lithuania",
    "bangladesh",
    "nepal",
];

fn is_known_country(s: &str) -> bool {
    let lower = s.to_lowercase();
    COUNTRIES.iter().any(|c| lower.starts_with(c))
}

/// Capitalised words that end a place in ALL-CAPS text ("BORN IN MEXICO AND MOVED ...").
const PLACE_STOP: &[&str] = &[
    "AND", "TO", "ON", "IN", "AT", "WHERE", "WHO", "WAS", "IS", "BUT", "SINCE", "WITH", "IN", "OF",
    "THE", "HE", "SHE", "Y", "EN",
];

/// After a cue: separators, an optional "the", then up to four capitalised words, allowing one
/// ", Word" continuation ("Guadalajara, Jalisco, Mexico").
fn place_after(bytes: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let limit = (i + 80).min(bytes.len());
    while i < limit && matches!(bytes[i], b' ' | b'\t' | b':' | b'=' | b'-' | b'"') {
        i += 1;
    }
    for filler in [&b"the "[..], b"THE ", b"in ", b"IN "] {
        if bytes[i..limit].starts_with(filler) {
            i += filler.len();
        }
    }
    let start = i;
    let mut end = i;
    let mut words = 0;
    let mut j = i;
    while j < limit && words < 6 {
        let first = bytes[j];
        let capital = first.is_ascii_uppercase() || first >= 0x80;
        if !capital {
            break;
        }
        let mut k = j;
        while k < limit && (bytes[k].is_ascii_alphabetic() || bytes[k] >= 0x80 || bytes[k] == b'\'')
        {
            k += 1;
        }
        if k == j || PLACE_STOP.iter().any(|w| w.as_bytes() == &bytes[j..k]) {
            break;
        }
        end = k;
        words += 1;
        // One space, or ", " before another capitalised word, continues the place.
        if k < limit && bytes[k] == b' ' {
            j = k + 1;
        } else if k + 1 < limit && bytes[k] == b',' && bytes[k + 1] == b' ' {
            j = k + 2;
        } else {
            break;
        }
    }
    (end > start && std::str::from_utf8(&bytes[start..end]).is_ok()).then_some((start, end))
}
