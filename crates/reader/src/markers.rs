//! The markers of legal.md § 4.2, found in normalised text.
//!
//! Literal phrases are found with one Aho-Corasick automaton; patterns (form
//! numbers, case numbers, citations) with a `RegexSet` that is consulted first,
//! so that a page costs one pass per automaton plus a search per pattern hit.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexSet};
use serde::Serialize;

use crate::normalize::NormalizedText;

/// What a marker says about a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// A DHS form number (I-200, I-247A, ...).
    DhsForm,
    /// A title printed on DHS papers ("Warrant for Arrest of Alien", ...).
    AdminTitle,
    /// An immigration officer's signature block or title.
    AdminSigner,
    /// Executive Office for Immigration Review, Immigration Court or Judge.
    ImmigrationCourt,
    /// INA sections and the regulations DHS forms cite.
    AdminCitation,
    /// DHS, ICE, ERO or CBP named as issuer.
    AdminIssuer,
    /// "Subpoena".
    Subpoena,
    /// A court caption at the head of a line.
    CourtCaption,
    /// A case or docket number.
    CaseNumber,
    /// A judge's signature line (never an immigration judge).
    JudgeSignature,
    /// A clerk's or attorney's signature line.
    ClerkSignature,
    /// "Arrest Warrant", "Search and Seizure Warrant", AO 442/93/109.
    WarrantTitle,
    /// "Search and Seizure Warrant" or "Search Warrant".
    SearchWarrant,
    /// "Order", "It is ordered".
    OrderTitle,
    /// "Grand jury", AO 110.
    GrandJury,
    /// A criminal offence: Title 18/21, 8 U.S.C. §§ 1324-1327, Illinois criminal code.
    CriminalCitation,
    /// A court mentioned inside another document's text (the I-205 checkbox).
    CourtMention,
    /// A consent or authorisation to release.
    Consent,
    /// A public-records (FOIA) request.
    RecordsRequest,
    /// An agreement or memorandum of understanding.
    Agreement,
}

impl Family {
    /// Markers of an administrative (executive-branch) document.
    pub fn is_administrative(self) -> bool {
        matches!(
            self,
            Family::DhsForm
                | Family::AdminTitle
                | Family::AdminSigner
                | Family::ImmigrationCourt
                | Family::AdminCitation
                | Family::AdminIssuer
        )
    }

    /// Markers that only a court's own paper carries.
    pub fn is_judicial(self) -> bool {
        matches!(self, Family::CourtCaption | Family::JudgeSignature)
    }
}

/// One marker found in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// What the marker is.
    pub family: Family,
    /// Its canonical label ("I-247A", "Immigration Detainer").
    pub label: String,
    /// Index into the normalised text's lines.
    #[serde(skip)]
    pub line_index: usize,
}

struct Phrase {
    text: &'static str,
    family: Family,
    /// The phrase counts only at the start of a line (captions, titles).
    line_start: bool,
}

const fn phrase(text: &'static str, family: Family) -> Phrase {
    Phrase {
        text,
        family,
        line_start: false,
    }
}

const fn heading(text: &'static str, family: Family) -> Phrase {
    Phrase {
        text,
        family,
        line_start: true,
    }
}

const PHRASES: &[Phrase] = &[
    phrase("WARRANT FOR ARREST OF ALIEN", Family::AdminTitle),
    phrase("WARRANT OF REMOVAL", Family::AdminTitle),
    phrase("IMMIGRATION DETAINER", Family::AdminTitle),
    phrase("NOTICE OF ACTION", Family::AdminTitle),
    phrase("REQUEST FOR VOLUNTARY ACTION", Family::AdminTitle),
    phrase("REQUEST FOR VOLUNTARY NOTIFICATION", Family::AdminTitle),
    phrase("REQUEST FOR VOLUNTARY TRANSFER", Family::AdminTitle),
    phrase("IMMIGRATION ENFORCEMENT PRIORITY", Family::AdminTitle),
    phrase("NOTICE TO APPEAR", Family::AdminTitle),
    phrase("ORDER TO DETAIN OR RELEASE", Family::AdminTitle),
    phrase("NOTICE OF CUSTODY DETERMINATION", Family::AdminTitle),
    phrase("IMMIGRATION VIOLATOR", Family::AdminTitle),
    phrase("IMMIGRATION SUBPOENA", Family::AdminTitle),
    phrase("AUTHORIZED IMMIGRATION OFFICER", Family::AdminSigner),
    phrase("SIGNATURE OF IMMIGRATION OFFICER", Family::AdminSigner),
    phrase("IMMIGRATION OFFICER", Family::AdminSigner),
    phrase("DEPORTATION OFFICER", Family::AdminSigner),
    phrase(
        "SUPERVISORY DETENTION AND DEPORTATION OFFICER",
        Family::AdminSigner,
    ),
    phrase("FIELD OFFICE DIRECTOR", Family::AdminSigner),
    phrase("SPECIAL AGENT IN CHARGE", Family::AdminSigner),
    phrase("IMMIGRATION JUDGE", Family::ImmigrationCourt),
    phrase(
        "EXECUTIVE OFFICE FOR IMMIGRATION REVIEW",
        Family::ImmigrationCourt,
    ),
    heading("IMMIGRATION COURT", Family::ImmigrationCourt),
    phrase("BOARD OF IMMIGRATION APPEALS", Family::ImmigrationCourt),
    phrase("IMMIGRATION AND NATIONALITY ACT", Family::AdminCitation),
    phrase("REMOVABLE ALIEN", Family::AdminCitation),
    phrase("LAW ENFORCEMENT SUPPORT CENTER", Family::AdminCitation),
    phrase("(802) 872-6020", Family::AdminCitation),
    phrase("DEPARTMENT OF HOMELAND SECURITY", Family::AdminIssuer),
    phrase("IMMIGRATION AND CUSTOMS ENFORCEMENT", Family::AdminIssuer),
    phrase("ENFORCEMENT AND REMOVAL OPERATIONS", Family::AdminIssuer),
    phrase("CUSTOMS AND BORDER PROTECTION", Family::AdminIssuer),
    phrase("SUBPOENA", Family::Subpoena),
    phrase("SUBPENA", Family::Subpoena),
    heading("UNITED STATES DISTRICT COURT", Family::CourtCaption),
    heading("SUPERIOR COURT", Family::CourtCaption),
    heading("SUPREME COURT OF", Family::CourtCaption),
    heading("CLERK OF THE CIRCUIT COURT", Family::ClerkSignature),
    phrase("CLERK OF COURT", Family::ClerkSignature),
    phrase("DEPUTY CLERK", Family::ClerkSignature),
    phrase("SIGNATURE OF CLERK", Family::ClerkSignature),
    phrase("ATTORNEYS SIGNATURE", Family::ClerkSignature),
    phrase("ASSISTANT UNITED STATES ATTORNEY", Family::ClerkSignature),
    phrase("ARREST WARRANT", Family::WarrantTitle),
    phrase("WARRANT FOR ARREST", Family::WarrantTitle),
    phrase("YOU ARE COMMANDED TO ARREST", Family::WarrantTitle),
    phrase("SEARCH AND SEIZURE WARRANT", Family::SearchWarrant),
    phrase("SEARCH WARRANT", Family::SearchWarrant),
    phrase("IT IS HEREBY ORDERED", Family::OrderTitle),
    phrase("IT IS ORDERED", Family::OrderTitle),
    phrase("IT IS FURTHER ORDERED", Family::OrderTitle),
    phrase("GRAND JURY", Family::GrandJury),
    phrase("FED R CRIM P", Family::CriminalCitation),
    phrase(
        "FEDERAL RULE OF CRIMINAL PROCEDURE",
        Family::CriminalCitation,
    ),
    phrase("CRIMINAL COMPLAINT", Family::CriminalCitation),
    phrase("TITLE 18", Family::CriminalCitation),
    phrase("DISTRICT OR MAGISTRATE COURT JUDGE", Family::CourtMention),
    phrase("CONSENT TO RELEASE", Family::Consent),
    phrase("CONSENT TO DISCLOSE", Family::Consent),
    phrase("AUTHORIZATION TO RELEASE", Family::Consent),
    phrase("AUTHORIZATION FOR RELEASE", Family::Consent),
    phrase("I HEREBY AUTHORIZE", Family::Consent),
    phrase("I HEREBY CONSENT", Family::Consent),
    phrase("AUTORIZACION PARA", Family::Consent),
    phrase("CONSENTIMIENTO", Family::Consent),
    phrase("FREEDOM OF INFORMATION ACT", Family::RecordsRequest),
    phrase("FOIA REQUEST", Family::RecordsRequest),
    phrase("5 ILCS 140", Family::RecordsRequest),
    phrase("PUBLIC RECORDS REQUEST", Family::RecordsRequest),
    phrase("MEMORANDUM OF AGREEMENT", Family::Agreement),
    phrase("MEMORANDUM OF UNDERSTANDING", Family::Agreement),
    phrase("INTERGOVERNMENTAL SERVICE AGREEMENT", Family::Agreement),
    phrase("DATA SHARING AGREEMENT", Family::Agreement),
    phrase("287(G)", Family::Agreement),
];

struct Pattern {
    regex: &'static str,
    family: Family,
    line_start: bool,
}

/// A judge's title with its court half lost to OCR ("...ted States: Magistrate
/// Judge") counts only beside a signature or printed-name label.
const LOOSE_JUDGE_TITLE: &str = r"(?-u:\b)(?:MAGISTRATE|DISTRICT) JUDGE(?-u:\b)";

const PATTERNS: &[Pattern] = &[
    Pattern {
        regex: r"(?-u:\b)I-(?:200|203|205|213|247[ADNX]?|286|862|138)(?-u:\b)",
        family: Family::DhsForm,
        line_start: false,
    },
    Pattern {
        regex: r"(?-u:\b)INA ?(?:§+|SECTIONS?|SEC\.)? ?(?:235|236|241|287)(?-u:\b)",
        family: Family::AdminCitation,
        line_start: false,
    },
    Pattern {
        regex: r"(?-u:\b)SECTIONS 236 AND 287(?-u:\b)",
        family: Family::AdminCitation,
        line_start: false,
    },
    Pattern {
        regex: r"(?-u:\b)8 ?U\.? ?S\.? ?C\.? ?(?:§+|\$|SS?|SECTION)? ?(?:1226|1231|1357|1225 ?\(D\))",
        family: Family::AdminCitation,
        line_start: false,
    },
    Pattern {
        regex: r"(?-u:\b)8 ?C\.? ?F\.? ?R\.? ?(?:§+|\$|PART)? ?(?:287\.7|236\.1|287\.5|241\.2|287\.4|287)(?-u:\b)",
        family: Family::AdminCitation,
        line_start: false,
    },
    Pattern {
        regex: r"CIRCUIT COURT (?:OF|FOR) [A-Z .']{2,40}? (?:COUNTY|JUDICIAL CIRCUIT)",
        family: Family::CourtCaption,
        line_start: true,
    },
    Pattern {
        regex: r"(?-u:\b)(?:CASE|DOCKET|CAUSE) ?(?:NO\.?|NUMBER|#) ?:? ?[A-Z0-9]*[0-9][A-Z0-9:\-/.]*",
        family: Family::CaseNumber,
        line_start: false,
    },
    Pattern {
        regex: r"(?-u:\b)\d ?:? ?\d{2} ?- ?(?:MJ|CR|CV|MC|GJ|SW|M) ?- ?\d{2,6}(?-u:\b)",
        family: Family::CaseNumber,
        line_start: false,
    },
    Pattern {
        regex: r"(?-u:\b)(?:19|20)?\d{2} ?(?:CR|CH|MC|GJ|SW|L|M|D) ?\d{3,7}(?-u:\b)",
        family: Family::CaseNumber,
        line_start: false,
    },
    Pattern {
        regex: r"(?:UNITED STATES|(?-u:\b)U\.? ?S\.?) (?:MAGISTRATE|DISTRICT) JUDGE|(?-u:\b)CIRCUIT JUDGE|(?-u:\b)ASSOCIATE JUDGE|(?-u:\b)JUDGE,? CIRCUIT COURT|(?-u:\b)JUDGE OF THE CIRCUIT COURT",
        family: Family::JudgeSignature,
        line_start: false,
    },
    Pattern {
        regex: LOOSE_JUDGE_TITLE,
        family: Family::JudgeSignature,
        line_start: false,
    },
    Pattern {
        regex: r"(?-u:\b)AO (?:442|93|109)(?-u:\b)",
        family: Family::WarrantTitle,
        line_start: false,
    },
    Pattern {
        regex: r"(?-u:\b)AO 93(?-u:\b)",
        family: Family::SearchWarrant,
        line_start: false,
    },
    Pattern {
        regex: r"(?-u:\b)AO 110(?-u:\b)",
        family: Family::GrandJury,
        line_start: false,
    },
    Pattern {
        regex: r"(?-u:\b)AO (?:88B?|89)(?-u:\b)",
        family: Family::Subpoena,
        line_start: false,
    },
    Pattern {
        regex: r"^(?:AGREED |PROTECTIVE |TEMPORARY |FINAL |MEMORANDUM OPINION AND )?ORDER(?-u:\b)",
        family: Family::OrderTitle,
        line_start: true,
    },
    Pattern {
        regex: r"(?-u:\b)(?:18|21) ?U\.? ?S\.? ?C\.?|(?-u:\b)8 ?U\.? ?S\.? ?C\.? ?(?:§+|\$|SS?|SECTION)? ?(?:1324|1325|1326|1327)(?-u:\b)|(?-u:\b)(?:720|725) ILCS(?-u:\b)",
        family: Family::CriminalCitation,
        line_start: false,
    },
];

static PHRASE_AUTOMATON: LazyLock<AhoCorasick> =
    LazyLock::new(|| AhoCorasick::new(PHRASES.iter().map(|p| p.text)).expect("static phrase list"));

static PATTERN_SET: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(PATTERNS.iter().map(|p| p.regex)).expect("static regex set"));

static PATTERN_REGEXES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .map(|p| Regex::new(p.regex).expect("static regex"))
        .collect()
});

/// Every marker in the text: the first occurrence of each label, in text order.
pub fn find(text: &NormalizedText) -> Vec<Found> {
    let flat = text.flat.as_str();
    let mut found: Vec<(usize, Found)> = Vec::new();
    let push = |offset: usize, family: Family, label: String, found: &mut Vec<(usize, Found)>| {
        if !found
            .iter()
            .any(|(_, f)| f.family == family && f.label == label)
        {
            found.push((
                offset,
                Found {
                    family,
                    label,
                    line_index: text.line_at(offset),
                },
            ));
        }
    };
    for m in PHRASE_AUTOMATON.find_overlapping_iter(flat) {
        let phrase = &PHRASES[m.pattern().as_usize()];
        if !at_word_boundary(flat, m.start(), m.end()) {
            continue;
        }
        if phrase.line_start && !text.is_heading(m.start()) {
            continue;
        }
        if phrase.family == Family::AdminSigner
            && phrase.text == "IMMIGRATION OFFICER"
            && preceded_by(flat, m.start(), "AUTHORIZED ")
        {
            continue;
        }
        push(
            m.start(),
            phrase.family,
            title_case(phrase.text),
            &mut found,
        );
    }
    for index in PATTERN_SET.matches(flat).iter() {
        let pattern = &PATTERNS[index];
        if pattern.line_start {
            // Anchored patterns are tried at each line start.
            for (i, &start) in text.line_starts.iter().enumerate() {
                let line_end = text.line_starts.get(i + 1).copied().unwrap_or(flat.len());
                let line = flat.get(start..line_end).unwrap_or("");
                let line = line.strip_prefix("IN THE ").unwrap_or(line);
                if let Some(m) = PATTERN_REGEXES[index].find(line) {
                    if m.start() == 0
                        && (pattern.family != Family::CourtCaption || text.is_heading(start))
                    {
                        push(
                            start,
                            pattern.family,
                            title_case(m.as_str().trim()),
                            &mut found,
                        );
                        break;
                    }
                }
            }
            continue;
        }
        for m in PATTERN_REGEXES[index].find_iter(flat) {
            if pattern.family == Family::JudgeSignature
                && !is_signature_line(text, m.start(), pattern.regex == LOOSE_JUDGE_TITLE)
            {
                continue;
            }
            push(
                m.start(),
                pattern.family,
                canonical_label(pattern.family, m.as_str()),
                &mut found,
            );
            break;
        }
    }
    found.sort_by_key(|(offset, _)| *offset);
    found.into_iter().map(|(_, f)| f).collect()
}

fn at_word_boundary(flat: &str, start: usize, end: usize) -> bool {
    let before = flat[..start].chars().next_back();
    let after = flat[end..].chars().next();
    !before.is_some_and(|c| c.is_ascii_alphanumeric())
        && !after.is_some_and(|c| c.is_ascii_alphanumeric())
}

fn preceded_by(flat: &str, start: usize, prefix: &str) -> bool {
    flat[..start].ends_with(prefix)
}

/// A judge's title counts as a signature line only where it is printed as one:
/// on a short line, after a signature or "printed name" label, never inside the
/// command sentence ("bring before a United States magistrate judge").
fn is_signature_line(text: &NormalizedText, offset: usize, label_required: bool) -> bool {
    let i = text.line_at(offset);
    let Some(line) = text.lines.get(i) else {
        return false;
    };
    let norm = &line.norm;
    let lead = text.flat[..offset].trim_end();
    let lead = lead
        .strip_suffix(" UNITED STATES")
        .or_else(|| lead.strip_suffix(" U S"))
        .unwrap_or(lead);
    if lead.ends_with(" A")
        || lead.ends_with(" AN")
        || lead.ends_with("BEFORE")
        || lead.ends_with(" BY")
    {
        return false;
    }
    if norm.contains("BEFORE") || norm.contains("COMMANDED") || norm.contains("IMMIGRATION JUDGE") {
        return false;
    }
    let labelled = line.words.contains("PRINTED NAME")
        || line.words.contains("SIGNATURE")
        || norm.contains("/S/");
    let is_label = |l: &crate::normalize::Line| {
        l.words.contains("SIGNATURE") || l.norm.contains("/S/") || l.words.contains("PRINTED NAME")
    };
    let previous_labelled = i
        .checked_sub(1)
        .and_then(|p| text.lines.get(p))
        .is_some_and(is_label);
    let next_labelled = text.lines.get(i + 1).is_some_and(is_label);
    if label_required {
        return labelled || previous_labelled || next_labelled;
    }
    labelled || previous_labelled || norm.split(' ').count() <= 9
}

fn canonical_label(family: Family, matched: &str) -> String {
    match family {
        Family::DhsForm | Family::CaseNumber => matched.trim().to_string(),
        Family::AdminCitation | Family::CriminalCitation => {
            crate::extract::canonical_citation(matched)
        }
        _ => title_case(matched.trim()),
    }
}

/// "WARRANT OF REMOVAL" → "Warrant of Removal" for display.
fn title_case(upper: &str) -> String {
    const SMALL: &[&str] = &["OF", "FOR", "AND", "TO", "OR", "IN", "THE"];
    upper
        .split(' ')
        .enumerate()
        .map(|(i, word)| {
            if word.len() <= 3
                && word
                    .chars()
                    .any(|c| c.is_ascii_digit() || c == '.' || c == '(')
            {
                word.to_string()
            } else if i > 0 && SMALL.contains(&word) {
                word.to_ascii_lowercase()
            } else if word.len() <= 3
                && !SMALL.contains(&word)
                && word.chars().all(|c| c.is_ascii_uppercase())
                && matches!(word, "ICE" | "DHS" | "CBP" | "ERO" | "FOIA" | "AO")
            {
                word.to_string()
            } else {
                let mut chars = word.chars();
                match chars.next() {
                    Some(first) => first.to_string() + &chars.as_str().to_ascii_lowercase(),
                    None => String::new(),
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
