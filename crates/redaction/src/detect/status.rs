//! Immigration and citizenship status phrases, English and Spanish, found by the chain's one
//! lexicon pass (`lexicon.rs`).
//! Generic policy language ("regardless of immigration status") is not a status and is skipped.

use super::{DetectError, Detector, FieldContext};
use crate::entity::{Confidence, EntityKind, Finding};

/// Status phrases. Longest match wins ("DACA recipient" over "DACA").
pub const STATUS_PHRASES: &[&str] = &[
    "undocumented",
    "undocumented immigrant",
    "undocumented alien",
    "illegal alien",
    "illegal immigrant",
    "illegally present",
    "unlawfully present",
    "unlawful presence",
    "out of status",
    "no legal status",
    "without legal status",
    "no lawful status",
    "entered without inspection",
    "entered illegally",
    "daca",
    "daca recipient",
    "daca status",
    "dreamer",
    "tps",
    "tps holder",
    "temporary protected status",
    "asylee",
    "asylum seeker",
    "asylum applicant",
    "pending asylum",
    "refugee",
    "refugee status",
    "parolee",
    "humanitarian parole",
    "paroled into",
    "visa overstay",
    "overstayed",
    "overstayed his visa",
    "overstayed her visa",
    "overstayed their visa",
    "overstayed visa",
    "lpr",
    "lawful permanent resident",
    "legal permanent resident",
    "permanent resident",
    "green card holder",
    "green card",
    "naturalized citizen",
    "naturalized",
    "u.s. citizen",
    "us citizen",
    "united states citizen",
    "non-citizen",
    "noncitizen",
    "not a citizen",
    "not a u.s. citizen",
    "dual citizen",
    "ead",
    "employment authorization",
    "work permit",
    "ice detainer",
    "immigration detainer",
    "ice hold",
    "immigration hold",
    "i-247",
    "i-247a",
    "removal proceedings",
    "deportation proceedings",
    "order of removal",
    "removal order",
    "deportable",
    "deported",
    "notice to appear",
    "h-1b",
    "h1b",
    "f-1 visa",
    "f-1 student",
    "student visa",
    "tourist visa",
    "u visa",
    "t visa",
    "b-2 visa",
    "k-1 visa",
    "i-130",
    "i-485",
    "i-589",
    "i-765",
    "i-821d",
    "withholding of removal",
    "special immigrant juvenile",
    "sijs",
    "vawa self-petition",
    "without papers",
    "no papers",
    "without documents",
    "without immigration papers",
    "indocumentado",
    "indocumentada",
    "indocumentados",
    "indocumentadas",
    "sin papeles",
    "sin documentos",
    "residente permanente",
    "residente legal permanente",
    "residencia permanente",
    "ciudadano estadounidense",
    "ciudadana estadounidense",
    "no ciudadano",
    "no ciudadana",
    "solicitante de asilo",
    "asilado",
    "asilada",
    "refugiado",
    "refugiada",
    "beneficiario de daca",
    "beneficiaria de daca",
    "estatus migratorio irregular",
    "situación migratoria irregular",
    "situacion migratoria irregular",
    "visa vencida",
    "permiso de trabajo",
    "tarjeta verde",
    "deportado",
    "deportada",
    "orden de deportación",
    "orden de deportacion",
    "proceso de deportación",
    "proceso de deportacion",
    "naturalizado",
    "naturalizada",
    "sin estatus legal",
];

/// Phrases that make a following status mention generic ("regardless of immigration status").
const GENERIC_LEADS: &[&str] = &[
    "regardless of",
    "irrespective of",
    "without regard to",
    "independientemente de",
    "sin importar",
    "whether or not",
];

/// The status-phrase detector: reads the phrases the chain's one lexicon pass found.
pub struct StatusDetector;

impl StatusDetector {
    /// The detector (the phrases live in the chain's lexicon automaton).
    pub fn new() -> Result<Self, DetectError> {
        Ok(StatusDetector)
    }
}

/// True when one of the generic leads ends within the 40 bytes before `start` (ASCII
/// case-insensitive, no allocation).
fn is_generic(text: &str, start: usize) -> bool {
    let bytes = text.as_bytes();
    let window = &bytes[start.saturating_sub(40)..start];
    // One pass over the window: only a position whose byte starts a lead (either case) is
    // compared with the leads (a whole-slice compare per lead and position, 40 windows for each
    // of six leads, was most of this detector's cost). The pairs of lead and position compared
    // in full are the same as before, so the answer is too.
    window.iter().enumerate().any(|(p, &b)| {
        LEAD_FIRST[usize::from(b)]
            && GENERIC_LEADS.iter().any(|g| {
                let g = g.as_bytes();
                window
                    .get(p..p + g.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(g))
            })
    })
}

/// The bytes a generic lead starts with, in either case.
static LEAD_FIRST: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < GENERIC_LEADS.len() {
        let first = GENERIC_LEADS[i].as_bytes()[0];
        t[first.to_ascii_lowercase() as usize] = true;
        t[first.to_ascii_uppercase() as usize] = true;
        i += 1;
    }
    t
};

impl Detector for StatusDetector {
    fn name(&self) -> &'static str {
        "lexicon.immigration_status"
    }

    fn detect(&self, text: &str, ctx: &FieldContext, out: &mut Vec<Finding>) {
        let bytes = text.as_bytes();
        for m in &ctx.lexicon().status {
            if is_generic(text, m.start) {
                continue;
            }
            let phrase = STATUS_PHRASES[m.index];
            // Short acronyms are ambiguous in lower case ("ead" in a word list, "tps" in units).
            let acronym = phrase.len() <= 4 && !phrase.contains('-');
            if acronym
                && !bytes[m.start..m.end]
                    .iter()
                    .all(|b| !b.is_ascii_lowercase())
            {
                continue;
            }
            let confidence = if acronym {
                Confidence::Likely
            } else {
                Confidence::VeryLikely
            };
            out.push(Finding {
                start: m.start,
                end: m.end,
                kind: EntityKind::ImmigrationStatus,
                detector: "lexicon.immigration_status",
                confidence,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check before the one-pass scan: every lead compared at every position.
    fn is_generic_reference(text: &str, start: usize) -> bool {
        let bytes = text.as_bytes();
        let window = &bytes[start.saturating_sub(40)..start];
        GENERIC_LEADS.iter().any(|g| {
            let g = g.as_bytes();
            window.len() >= g.len() && window.windows(g.len()).any(|w| w.eq_ignore_ascii_case(g))
        })
    }

    /// The one-pass scan answers as the reference does at every position of texts built from
    /// the leads (in three cases, cut and glued to other words) and random bytes.
    #[test]
    fn generic_scan_matches_reference() {
        let mut rng = crate::corpus::Rng::new(5);
        let pieces: Vec<String> = GENERIC_LEADS
            .iter()
            .flat_map(|g| {
                [
                    g.to_string(),
                    g.to_uppercase(),
                    g[..g.len() - 1].to_string(),
                    format!("x{g}"),
                ]
            })
            .chain(["Regardless Of", "sIn ", " ", "status", "é", "w", "R"].map(String::from))
            .collect();
        let (mut yes, mut no) = (0, 0);
        for _ in 0..3_000 {
            let mut text = String::new();
            for _ in 0..rng.below(6) {
                let piece: &String = rng.pick(&pieces);
                text.push_str(piece);
                if rng.chance(0.5) {
                    text.push(' ');
                }
            }
            for start in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                let want = is_generic_reference(&text, start);
                assert_eq!(is_generic(&text, start), want, "{text:?} at {start}");
                if want {
                    yes += 1;
                } else {
                    no += 1;
                }
            }
        }
        assert!(yes > 1_000 && no > 1_000, "{yes} {no}");
    }
}
