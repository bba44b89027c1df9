//! The particulars of a document: form number, issuer, signer, case number,
//! subject, dates and statutes. Best effort: a field not found stays `None`;
//! nothing here decides the kind.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;
use serde::Serialize;

use crate::markers::{Family, Found};
use crate::normalize::NormalizedText;

/// What was read off the document besides its kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Fields {
    /// "I-200", "I-247A", "AO 442", ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_number: Option<String>,
    /// The issuing agency or the court caption, as printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The signer's printed name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_name: Option<String>,
    /// The signer's printed title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_title: Option<String>,
    /// Case, docket or file number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    /// The person the document is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_name: Option<String>,
    /// Date issued, signed or entered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued: Option<NaiveDate>,
    /// Last day to execute (search warrants: "on or before").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    /// Statutes and regulations cited, canonical form ("8 U.S.C. § 1326").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statutes: Vec<String>,
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex")
}

static USC: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"\b(\d{1,2}) ?U\.? ?S\.? ?C\.?(?: ?A\.?)? ?(?:§+|\$|SS\b|S\b|SECTIONS?\b|SEC\.)? ?(\d{2,5}[A-Z]?(?: ?\([A-Z0-9]{1,3}\))*)",
    )
});
static CFR: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"\b(\d{1,2}) ?C\.? ?F\.? ?R\.? ?(?:§+|\$|PART\b)? ?(\d{1,4}(?:\.\d{1,4})?(?:\([A-Z0-9]{1,3}\))*)",
    )
});
static INA: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?-u:\b)INA ?(?:§+|SECTIONS?|SEC\.)? ?(\d{3}(?:\([A-Z0-9]{1,3}\))*)"));
static ILCS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?-u:\b)(\d{1,4}) ILCS (\d{1,4}/[\d.\-]*\d(?:\([A-Z0-9]{1,3}\))*)"));
static CRIM_RULE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"FED\.? ?R\.? ?CRIM\.? ?P\.? ?(\d{1,2})"));

/// Every statute and regulation cited in the flat text, canonical and deduplicated.
pub fn statutes(flat: &str) -> Vec<String> {
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut add = |at: usize, s: String| {
        if !found.iter().any(|(_, f)| *f == s) {
            found.push((at, s));
        }
    };
    for c in USC.captures_iter(flat) {
        add(
            c.get(0).map_or(0, |m| m.start()),
            format!("{} U.S.C. § {}", &c[1], subsections(&c[2])),
        );
    }
    for c in CFR.captures_iter(flat) {
        add(
            c.get(0).map_or(0, |m| m.start()),
            format!("{} CFR {}", &c[1], subsections(&c[2])),
        );
    }
    for c in INA.captures_iter(flat) {
        add(
            c.get(0).map_or(0, |m| m.start()),
            format!("INA § {}", subsections(&c[1])),
        );
    }
    for c in ILCS.captures_iter(flat) {
        add(
            c.get(0).map_or(0, |m| m.start()),
            format!("{} ILCS {}", &c[1], subsections(&c[2])),
        );
    }
    for c in CRIM_RULE.captures_iter(flat) {
        add(
            c.get(0).map_or(0, |m| m.start()),
            format!("Fed. R. Crim. P. {}", &c[1]),
        );
    }
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, s)| s).collect()
}

/// "1225 (D)(4)" → "1225(d)(4)".
fn subsections(section: &str) -> String {
    let mut out = String::new();
    let mut in_parens = false;
    for c in section.chars().filter(|c| *c != ' ') {
        match c {
            '(' => in_parens = true,
            ')' => in_parens = false,
            _ => {}
        }
        out.push(if in_parens { c.to_ascii_lowercase() } else { c });
    }
    out
}

/// A marker's citation in canonical form, or the match as printed.
pub fn canonical_citation(matched: &str) -> String {
    statutes(matched)
        .into_iter()
        .next()
        .unwrap_or_else(|| matched.trim().to_string())
}

/// Read every field.
pub fn fields(text: &NormalizedText, found: &[Found]) -> Fields {
    Fields {
        form_number: form_number(found),
        issuer: issuer(text, found),
        signer_name: None,
        signer_title: None,
        case_number: case_number(text),
        subject_name: subject_name(text),
        issued: issued(text),
        expires: expires(text),
        statutes: statutes(&text.flat),
    }
    .with_signer(signer(text, found))
}

impl Fields {
    fn with_signer(mut self, signer: (Option<String>, Option<String>)) -> Self {
        (self.signer_name, self.signer_title) = signer;
        self
    }
}

fn form_number(found: &[Found]) -> Option<String> {
    let dhs = found.iter().find(|f| f.family == Family::DhsForm);
    let ao = found.iter().find(|f| f.label.starts_with("AO "));
    dhs.or(ao).map(|f| f.label.clone())
}

fn issuer(text: &NormalizedText, found: &[Found]) -> Option<String> {
    let pick = |family: Family| found.iter().find(|f| f.family == family);
    let marker = pick(Family::CourtCaption)
        .or_else(|| {
            found
                .iter()
                .find(|f| f.family == Family::ImmigrationCourt && f.label != "Immigration Judge")
        })
        .or_else(|| pick(Family::AdminIssuer))?;
    let line = text.lines.get(marker.line_index)?;
    let mut issuer = line.original.clone();
    // "UNITED STATES DISTRICT COURT" / "for the Northern District of Illinois"
    if let Some(next) = text.lines.get(marker.line_index + 1) {
        if next.norm.starts_with("FOR THE ") || next.norm.ends_with(" DISTRICT OF ILLINOIS") {
            issuer.push(' ');
            issuer.push_str(&next.original);
        }
    }
    Some(clip(&issuer, 120))
}

static CASE_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\b(?:case|docket|cause|file)\s*(?:no\.?|number|#)\s*:?\s*([A-Za-z0-9][A-Za-z0-9:\-/.]*(?:\s[A-Za-z]{1,3})?(?:\s\d[\d\-]*){0,3})",
    )
});
static CASE_BARE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\b(\d:\d{2}-(?:mj|cr|cv|mc|gj|sw|m)-\d{2,6}|(?:19|20)\d{2}\s?(?:CR|CH|MC|GJ|SW|L|M|D)\s?\d{3,7})\b",
    )
});

fn case_number(text: &NormalizedText) -> Option<String> {
    for line in &text.lines {
        if let Some(c) = CASE_LABEL.captures(&line.original) {
            let number = c[1].trim_end_matches(['.', ',']).to_string();
            if number.chars().any(|ch| ch.is_ascii_digit()) {
                return Some(number);
            }
        }
    }
    text.lines
        .iter()
        .find_map(|line| CASE_BARE.captures(&line.original).map(|c| c[1].to_string()))
}

static SUBJECT_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^\s*(?:name of alien|alien'?s name|subject'?s? name|name of subject|name of respondent|respondent|name of person to be arrested|person to be arrested|subject|nombre del sujeto|nombre|name|in the matter of|re)\s*[:\-]\s*(\S.*)$",
    )
});
static SUBJECT_PAREN: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\(name of person to be arrested\)\s*(\S.*)$"));
static SUBJECT_CAPTION: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^(?:united states of america|the people of the state of illinois|people of the state of illinois)\s*,?\s*v(?:s)?\.?\s*(.*)$",
    )
});

fn subject_name(text: &NormalizedText) -> Option<String> {
    for (i, line) in text.lines.iter().enumerate() {
        let raw = SUBJECT_LABEL
            .captures(&line.original)
            .or_else(|| SUBJECT_PAREN.captures(&line.original))
            .map(|c| c[1].to_string())
            .or_else(|| {
                SUBJECT_CAPTION.captures(&line.original).map(|c| {
                    let rest = c[1].trim().to_string();
                    if rest.is_empty() {
                        text.lines
                            .get(i + 1)
                            .map(|l| l.original.clone())
                            .unwrap_or_default()
                    } else {
                        rest
                    }
                })
            });
        if let Some(raw) = raw {
            let name = clean_name(&raw);
            if !name.is_empty() {
                return Some(name);
            }
        }
    }
    None
}

fn clean_name(raw: &str) -> String {
    let cut = raw
        .split(['(', ';'])
        .next()
        .unwrap_or("")
        .split("  ")
        .next()
        .unwrap_or("");
    let cut = cut.trim().trim_end_matches([',', '.']);
    let lower = cut.to_ascii_lowercase();
    let cut = ["defendant", "respondent", "file no", "case no"]
        .iter()
        .filter_map(|w| lower.find(w))
        .min()
        .map_or(cut, |at| cut[..at].trim().trim_end_matches(','));
    clip(cut, 80)
}

/// Printed name and title of whoever signed.
fn signer(text: &NormalizedText, found: &[Found]) -> (Option<String>, Option<String>) {
    for (i, line) in text.lines.iter().enumerate() {
        if !line.norm.contains("PRINTED NAME") {
            continue;
        }
        let after = line
            .original
            .split_once(':')
            .map(|(_, rest)| rest.trim())
            .unwrap_or("");
        // The value follows the label, or is printed on the line above or below it.
        let neighbours = [i.checked_sub(1), Some(i + 1)];
        let candidates = std::iter::once(after).chain(
            neighbours
                .iter()
                .flatten()
                .filter_map(|j| text.lines.get(*j))
                .map(|l| l.original.as_str()),
        );
        for value in candidates {
            if let Some((name, title)) = value.rsplit_once(',') {
                let name = clean_signer_name(name);
                if looks_like_name(&name) {
                    return (Some(name), non_empty(title.trim().to_string()));
                }
            }
        }
    }
    let marker = [
        Family::JudgeSignature,
        Family::ClerkSignature,
        Family::AdminSigner,
    ]
    .iter()
    .find_map(|family| found.iter().rev().find(|f| f.family == *family))
    .or_else(|| found.iter().find(|f| f.label == "Immigration Judge"));
    let Some(marker) = marker else {
        return (None, None);
    };
    let Some(line) = text.lines.get(marker.line_index) else {
        return (None, None);
    };
    let title = marker.label.clone();
    let title_at = line.norm.find(&title.to_ascii_uppercase()).unwrap_or(0);
    let before = line.original.get(..title_at).unwrap_or("");
    let name = Some(clean_signer_name(before))
        .filter(|n| looks_like_name(n))
        .or_else(|| {
            let previous = marker
                .line_index
                .checked_sub(1)
                .and_then(|p| text.lines.get(p));
            previous
                .map(|l| clean_signer_name(&l.original))
                .filter(|n| looks_like_name(n))
        });
    (name, Some(title))
}

fn clean_signer_name(raw: &str) -> String {
    // In a laid-out page the name is the last column before the title.
    let raw = raw
        .rsplit("  ")
        .find(|part| !part.trim().is_empty())
        .unwrap_or(raw);
    let raw = raw.replace("/s/", " ").replace("/S/", " ");
    let raw = raw
        .trim()
        .trim_start_matches("Hon.")
        .trim_start_matches("HON.");
    raw.trim().trim_end_matches([',', '-']).trim().to_string()
}

fn looks_like_name(candidate: &str) -> bool {
    let words: Vec<&str> = candidate.split_whitespace().collect();
    let upper = candidate.to_ascii_uppercase();
    (2..=6).contains(&words.len())
        && !candidate
            .chars()
            .any(|c| c.is_ascii_digit() || c == ':' || c == '(' || c == '_')
        && ![
            "SIGNATURE",
            "DATE",
            "COURT",
            "OFFICER",
            "DEPARTMENT",
            "JUDGE",
            "WARRANT",
            "ORDER",
            "UNITED",
        ]
        .iter()
        .any(|w| upper.contains(w))
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

static DATE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"\b(JANUARY|FEBRUARY|MARCH|APRIL|MAY|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|NOVEMBER|DECEMBER|JAN|FEB|MAR|APR|JUN|JUL|AUG|SEPT|SEP|OCT|NOV|DEC)\.? (\d{1,2}) ?,? (\d{4})\b",
    )
});
static DATE_SLASH: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?-u:\b)(\d{1,2})/(\d{1,2})/(\d{4})(?-u:\b)"));
static DATE_ISO: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?-u:\b)(\d{4})-(\d{2})-(\d{2})(?-u:\b)"));

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    MONTHS
        .iter()
        .position(|m| name.starts_with(m))
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// The first date in a normalised line.
fn first_date(norm: &str) -> Option<NaiveDate> {
    let mut dates: Vec<(usize, NaiveDate)> = Vec::new();
    let mut add = |at: usize, y: &str, m: Option<u32>, d: &str| {
        if let (Ok(y), Some(m), Ok(d)) = (y.parse::<i32>(), m, d.parse::<u32>()) {
            if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
                dates.push((at, date));
            }
        }
    };
    for c in DATE_WORDS.captures_iter(norm) {
        add(
            c.get(0).map_or(0, |m| m.start()),
            &c[3],
            month_number(&c[1]),
            &c[2],
        );
    }
    for c in DATE_SLASH.captures_iter(norm) {
        add(
            c.get(0).map_or(0, |m| m.start()),
            &c[3],
            c[1].parse().ok(),
            &c[2],
        );
    }
    for c in DATE_ISO.captures_iter(norm) {
        add(
            c.get(0).map_or(0, |m| m.start()),
            &c[1],
            c[2].parse().ok(),
            &c[3],
        );
    }
    dates.into_iter().min_by_key(|(at, _)| *at).map(|(_, d)| d)
}

/// A date on a labelled line, or on the line after it when the label stands alone.
fn labelled_date(text: &NormalizedText, is_label: impl Fn(&str) -> bool) -> Option<NaiveDate> {
    text.lines.iter().enumerate().find_map(|(i, line)| {
        if !is_label(&line.norm) {
            return None;
        }
        first_date(&line.norm).or_else(|| {
            text.lines
                .get(i + 1)
                .and_then(|next| first_date(&next.norm))
        })
    })
}

fn issued(text: &NormalizedText) -> Option<NaiveDate> {
    const LABELS: &[&str] = &[
        "ISSUED",
        "DATE:",
        "DATED",
        "ENTERED",
        "SIGNED",
        "FECHA",
        "DATE OF ISSUANCE",
    ];
    let personal = |n: &str| n.contains("BIRTH") || n.contains("DOB") || n.contains("ON OR BEFORE");
    labelled_date(text, |n| {
        LABELS.iter().any(|l| n.contains(l)) && !personal(n)
    })
    .or_else(|| labelled_date(text, |n| n.starts_with("DATE") && !personal(n)))
}

fn expires(text: &NormalizedText) -> Option<NaiveDate> {
    labelled_date(text, |n| n.contains("ON OR BEFORE"))
}

fn clip(s: &str, max_chars: usize) -> String {
    s.chars()
        .take(max_chars)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statutes_are_canonical() {
        let flat = "8 U.S.C. $ 1326(A) AND 8 USC 1225 (D)(4); 8 C.F.R. § 287.7; INA SECTION 287; 720 ILCS 5/12-3; FED. R. CRIM. P. 41";
        assert_eq!(
            statutes(flat),
            vec![
                "8 U.S.C. § 1326(a)",
                "8 U.S.C. § 1225(d)(4)",
                "8 CFR 287.7",
                "INA § 287",
                "720 ILCS 5/12-3",
                "Fed. R. Crim. P. 41"
            ]
        );
    }

    #[test]
    fn dates_in_three_styles() {
        assert_eq!(
            first_date("ISSUED: MARCH 3, 2026"),
            NaiveDate::from_ymd_opt(2026, 3, 3)
        );
        assert_eq!(
            first_date("DATE 04/15/2026"),
            NaiveDate::from_ymd_opt(2026, 4, 15)
        );
        assert_eq!(
            first_date("2026-01-09"),
            NaiveDate::from_ymd_opt(2026, 1, 9)
        );
        assert_eq!(first_date("DATE 13/45/2026"), None);
    }
}
