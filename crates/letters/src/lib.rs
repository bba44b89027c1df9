//! Letters as accessible (tagged) PDF, typeset by Typst from templates an
//! administrator can edit.
//!
//! Four kinds ([`LetterKind`]) in English and Spanish ([`Lang`]); the default
//! templates are `templates/<kind>.<lang>.typ`, embedded in the binary
//! ([`default_template`]). An edited template is checked with
//! [`check_template`] before it is saved, and a letter is made with
//! [`render_pdf`].
//!
//! The data reaches the template only as Typst values in `sys.inputs` (strings,
//! `none`, an array of dictionaries), never spliced into the markup, so a
//! requester called `#panic()` or `*bold*` is printed as written. Templates
//! cannot read files, import packages or read the clock.
//!
//! The PDF is written to PDF/UA-1: tagged (structure tree, `/MarkInfo`),
//! with the document's title and language. [`check_template`] refuses
//! templates that break the standard's rules (for example a document without a
//! title); [`render_pdf`] falls back to tagged PDF without the PDF/UA claim
//! only when the data has characters no loaded font can draw.
//!
//! No I/O. Rendering is CPU-bound (milliseconds); call it from a blocking
//! thread in async code. A template is trusted to terminate (Typst stops
//! runaway `while` loops and deep recursion, but not, say, a very long `for`
//! loop): only administrators may edit templates.

mod error;
mod world;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use typst::diag::Warned;
use typst::foundations::{Array, Dict, Str, Value};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards};

pub use error::{LetterError, Problem};

/// The largest template accepted, in bytes (the defaults are about 3 KiB).
pub const MAX_TEMPLATE_BYTES: usize = 256 * 1024;
/// Limits on the data, in characters: a name or a citation is short, what was
/// asked and the notes may be paragraphs.
const MAX_SHORT: usize = 1_000;
const MAX_TEXT: usize = 10_000;
const MAX_NOTES: usize = 50_000;
const MAX_PROVISIONS: usize = 200;

/// Which letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterKind {
    /// To the requester: the request is declined, with the provisions that forbid it.
    Declination,
    /// To the requester: the request was received and referred to the Law Department.
    Acknowledgment,
    /// To the Law Department: a memo referring the request for legal review.
    Referral,
    /// For the file: what was disclosed, to whom, and on what basis.
    Disclosure,
}

impl LetterKind {
    /// Every kind, in a stable order.
    pub const ALL: [LetterKind; 4] = [
        LetterKind::Declination,
        LetterKind::Acknowledgment,
        LetterKind::Referral,
        LetterKind::Disclosure,
    ];

    /// The kind's name as templates see it (`sys.inputs.kind`) and as it is
    /// written in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            LetterKind::Declination => "declination",
            LetterKind::Acknowledgment => "acknowledgment",
            LetterKind::Referral => "referral",
            LetterKind::Disclosure => "disclosure",
        }
    }

    /// The kind named by [`LetterKind::as_str`].
    pub fn parse(name: &str) -> Option<LetterKind> {
        LetterKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// The letter's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// Both languages.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The ISO 639-1 code (`en`, `es`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language of an ISO 639-1 code.
    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }
}

/// A provision the outcome rests on, as the engine cites it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Provision {
    /// The provision's id in the rule packs, e.g. `chicago.wco.2-173-020.a1C`.
    pub id: String,
    /// The citation, e.g. `MCC 2-173-020(a)(1)(C)`.
    pub citation: String,
    /// The quoted text of the provision.
    pub excerpt: String,
}

/// Everything a letter shows. Strings are shown as written (never read as
/// markup). Empty optional text is treated as absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterData {
    /// Which letter; picks the default template.
    pub kind: LetterKind,
    /// The letter's language; picks the default template.
    pub lang: Lang,
    /// The agency's name, from the settings (e.g. "City of Chicago").
    pub agency_name: String,
    /// The date of the request and of the law applied, already formatted.
    pub date: String,
    /// Who asked (person or agency), when known.
    pub requester: Option<String>,
    /// What was asked, in a sentence.
    pub subject: String,
    /// The outcome in words (what the engine said to say).
    pub outcome: String,
    /// The deciding provisions, in the order to show them.
    pub provisions: Vec<Provision>,
    /// The Law Department's phone; empty when not yet set.
    pub law_department_phone: String,
    /// The rule packs' hash (the letter shows its first 12 characters).
    pub rules_hash: String,
    /// The case number, when the letter belongs to a case.
    pub case_id: Option<String>,
    /// Free text added by staff, shown to the letter's recipient.
    pub notes: Option<String>,
}

impl LetterData {
    /// Invented data, for previews and for [`check_template`]; every optional
    /// field set.
    pub fn sample(kind: LetterKind, lang: Lang) -> LetterData {
        let es = lang == Lang::Es;
        LetterData {
            kind,
            lang,
            agency_name: "City of Chicago".into(),
            date: "2026-11-29".into(),
            requester: Some("U.S. Immigration and Customs Enforcement".into()),
            subject: if es {
                "Retener a una persona después de su hora de salida (orden de detención I-247A)"
                    .into()
            } else {
                "Hold a person past their release time (detainer I-247A)".into()
            },
            outcome: if es {
                "Rechazar: la ciudad no retiene a personas por una orden de detención administrativa.".into()
            } else {
                "Decline: the City does not hold people on an administrative detainer.".into()
            },
            provisions: vec![
                Provision {
                    id: "chicago.wco.2-173-020.a1C".into(),
                    citation: "MCC 2-173-020(a)(1)(C)".into(),
                    excerpt: "No agent or agency shall detain, or continue to detain, a person \
                              on the basis of an immigration detainer."
                        .into(),
                },
                Provision {
                    id: "illinois.trust.15a".into(),
                    citation: "5 ILCS 805/15(a)".into(),
                    excerpt: "A law enforcement agency or official shall not detain or continue \
                              to detain any individual solely on the basis of any immigration \
                              detainer or civil immigration warrant."
                        .into(),
                },
            ],
            law_department_phone: "312-744-0200".into(),
            rules_hash: "3f1a9c0d5e7b2a4c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e".into(),
            case_id: Some("C-2026-000123".into()),
            notes: Some(if es {
                "Se entregó una copia de esta carta al agente en persona.".into()
            } else {
                "A copy of this letter was handed to the officer in person.".into()
            }),
        }
    }

    /// The same letter without any optional field, and without provisions: a
    /// template must cope with both.
    fn minimal(mut self) -> LetterData {
        self.requester = None;
        self.case_id = None;
        self.notes = None;
        self.provisions.clear();
        self.law_department_phone.clear();
        self
    }

    fn check_sizes(&self) -> Result<(), LetterError> {
        fn check(field: &str, value: &str, limit: usize) -> Result<(), LetterError> {
            // Bytes bound characters from above: count only when it matters.
            if value.len() > limit && value.chars().count() > limit {
                return Err(LetterError::DataTooLarge {
                    field: field.to_owned(),
                    size: value.chars().count(),
                    limit,
                });
            }
            Ok(())
        }
        check("agency_name", &self.agency_name, MAX_SHORT)?;
        check("date", &self.date, MAX_SHORT)?;
        check(
            "requester",
            self.requester.as_deref().unwrap_or(""),
            MAX_SHORT,
        )?;
        check("subject", &self.subject, MAX_TEXT)?;
        check("outcome", &self.outcome, MAX_TEXT)?;
        check(
            "law_department_phone",
            &self.law_department_phone,
            MAX_SHORT,
        )?;
        check("rules_hash", &self.rules_hash, MAX_SHORT)?;
        check("case_id", self.case_id.as_deref().unwrap_or(""), MAX_SHORT)?;
        check("notes", self.notes.as_deref().unwrap_or(""), MAX_NOTES)?;
        if self.provisions.len() > MAX_PROVISIONS {
            return Err(LetterError::DataTooLarge {
                field: "provisions".into(),
                size: self.provisions.len(),
                limit: MAX_PROVISIONS,
            });
        }
        for (i, p) in self.provisions.iter().enumerate() {
            check(&format!("provisions[{i}].id"), &p.id, MAX_SHORT)?;
            check(&format!("provisions[{i}].citation"), &p.citation, MAX_SHORT)?;
            check(&format!("provisions[{i}].excerpt"), &p.excerpt, MAX_TEXT)?;
        }
        Ok(())
    }

    /// The data as `sys.inputs`. Field names are the template's contract
    /// (documented at the top of every default template): extend, never rename.
    fn inputs(&self) -> Dict {
        fn text(s: &str) -> Value {
            Value::Str(Str::from(clean(s)))
        }
        fn optional(s: Option<&str>) -> Value {
            match s.map(str::trim) {
                Some(s) if !s.is_empty() => text(s),
                _ => Value::None,
            }
        }
        let provisions: Array = self
            .provisions
            .iter()
            .map(|p| {
                let mut d = Dict::new();
                d.insert("id".into(), text(&p.id));
                d.insert("citation".into(), text(&p.citation));
                d.insert("excerpt".into(), text(&p.excerpt));
                Value::Dict(d)
            })
            .collect();
        let hash_short: String = self.rules_hash.chars().take(12).collect();
        let mut d = Dict::new();
        d.insert("kind".into(), text(self.kind.as_str()));
        d.insert("lang".into(), text(self.lang.code()));
        d.insert("agency".into(), text(&self.agency_name));
        d.insert("date".into(), text(&self.date));
        d.insert("requester".into(), optional(self.requester.as_deref()));
        d.insert("subject".into(), text(&self.subject));
        d.insert("outcome".into(), text(&self.outcome));
        d.insert("provisions".into(), Value::Array(provisions));
        d.insert(
            "phone".into(),
            optional(Some(self.law_department_phone.as_str())),
        );
        d.insert("rules_hash".into(), text(&self.rules_hash));
        d.insert("rules_hash_short".into(), text(&hash_short));
        d.insert("case_id".into(), optional(self.case_id.as_deref()));
        d.insert("notes".into(), optional(self.notes.as_deref()));
        d
    }

    /// The values that may identify someone, to keep out of error messages.
    fn personal(&self) -> Vec<&str> {
        let mut v = vec![self.subject.as_str(), self.outcome.as_str()];
        v.extend(self.requester.as_deref());
        v.extend(self.case_id.as_deref());
        v.extend(self.notes.as_deref());
        v
    }
}

/// Control characters other than line breaks and tabs have no place in a
/// letter and no glyph in any font: each becomes a space.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The template shipped for a kind of letter in a language: Typst markup,
/// self-contained, reading its data from `sys.inputs`.
pub fn default_template(kind: LetterKind, lang: Lang) -> &'static str {
    match (kind, lang) {
        (LetterKind::Declination, Lang::En) => include_str!("../templates/declination.en.typ"),
        (LetterKind::Declination, Lang::Es) => include_str!("../templates/declination.es.typ"),
        (LetterKind::Acknowledgment, Lang::En) => {
            include_str!("../templates/acknowledgment.en.typ")
        }
        (LetterKind::Acknowledgment, Lang::Es) => {
            include_str!("../templates/acknowledgment.es.typ")
        }
        (LetterKind::Referral, Lang::En) => include_str!("../templates/referral.en.typ"),
        (LetterKind::Referral, Lang::Es) => include_str!("../templates/referral.es.typ"),
        (LetterKind::Disclosure, Lang::En) => include_str!("../templates/disclosure.en.typ"),
        (LetterKind::Disclosure, Lang::Es) => include_str!("../templates/disclosure.es.typ"),
    }
}

/// A letter renderer: the parsed fonts, kept so that repeated renders are
/// cheap. The free functions [`render_pdf`] and [`check_template`] use one
/// shared `Letters` with the bundled fonts only; build your own with
/// [`Letters::with_fonts`] to add fonts (for names in scripts the bundled fonts
/// lack, such as Chinese, Japanese, Korean or emoji). `Send + Sync`: share one
/// across threads.
pub struct Letters {
    fonts: world::Fonts,
}

impl Default for Letters {
    fn default() -> Self {
        Letters::new()
    }
}

impl Letters {
    /// The bundled fonts only: Libertinus Serif (Latin, Greek, Cyrillic,
    /// Hebrew), New Computer Modern, DejaVu Sans Mono (also Arabic, Armenian,
    /// Georgian).
    pub fn new() -> Letters {
        Letters::with_fonts(Vec::new())
    }

    /// The bundled fonts and `extra` font files (TrueType/OpenType bytes or
    /// collections, e.g. read from `/usr/share/fonts` by the caller; anything
    /// that does not parse as a font is skipped). Characters the template's
    /// font lacks are drawn from any font that has them.
    pub fn with_fonts(extra: Vec<Vec<u8>>) -> Letters {
        Letters {
            fonts: world::Fonts::new(extra),
        }
    }

    /// How many font faces are loaded.
    pub fn font_count(&self) -> usize {
        self.fonts.len()
    }

    /// Typesets a letter as tagged PDF.
    ///
    /// The PDF is made to PDF/UA-1. If that fails once the template has
    /// compiled (in practice: the data holds characters no loaded font can
    /// draw, which PDF/UA forbids, since [`Letters::check_template`] has
    /// vetted the template), the letter is still made, tagged with its title
    /// and language but without the PDF/UA claim, and those characters show
    /// as empty boxes: better a letter than none. Add fonts with
    /// [`Letters::with_fonts`] to avoid it.
    ///
    /// Errors name the template's line and column, or the data field that is
    /// too long; they never quote the data.
    pub fn render_pdf(&self, template: &str, data: &LetterData) -> Result<Vec<u8>, LetterError> {
        self.render(template, data, Strictness::FallBack)
    }

    /// Checks an edited template before it is saved: typesets it to strict
    /// PDF/UA-1 on invented data ([`LetterData::sample`]), once with every
    /// optional field set and once with none (and no provisions), since a
    /// template must cope with both. The error lists Typst's problems with line
    /// and column.
    pub fn check_template(&self, template: &str) -> Result<(), LetterError> {
        let full = LetterData::sample(LetterKind::Declination, Lang::En);
        let minimal = LetterData::sample(LetterKind::Declination, Lang::Es).minimal();
        self.render(template, &full, Strictness::Strict)?;
        self.render(template, &minimal, Strictness::Strict)?;
        Ok(())
    }

    fn render(
        &self,
        template: &str,
        data: &LetterData,
        strictness: Strictness,
    ) -> Result<Vec<u8>, LetterError> {
        if template.len() > MAX_TEMPLATE_BYTES {
            return Err(LetterError::TemplateTooLarge {
                size: template.len(),
                limit: MAX_TEMPLATE_BYTES,
            });
        }
        data.check_sizes()?;
        // Checks run on invented data: their messages may quote it in full.
        let secrets = match strictness {
            Strictness::Strict => Vec::new(),
            Strictness::FallBack => data.personal(),
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.typeset(template, data, &secrets, strictness)
        }));
        // Typst memoises across compilations; without eviction a long-running
        // service would keep every letter's intermediate results. Entries used
        // in the last few renders (fonts, shaping of the fixed wording) stay.
        typst::comemo::evict(10);
        result.unwrap_or(Err(LetterError::Internal))
    }

    fn typeset(
        &self,
        template: &str,
        data: &LetterData,
        secrets: &[&str],
        strictness: Strictness,
    ) -> Result<Vec<u8>, LetterError> {
        let world = world::LetterWorld::new(template, data.inputs(), &self.fonts)
            .ok_or(LetterError::Internal)?;
        let Warned { output, .. } = typst::compile::<PagedDocument>(&world);
        let document =
            output.map_err(|e| LetterError::Template(error::problems(&world, &e, secrets)))?;
        let strict = PdfOptions {
            standards: PdfStandards::new(&[PdfStandard::Ua_1])
                .map_err(|_| LetterError::Internal)?,
            ..PdfOptions::default()
        };
        match typst_pdf::pdf(&document, &strict) {
            Ok(pdf) => Ok(pdf),
            // The template compiled, so what PDF/UA refused is most likely in
            // the data (a character without a glyph): still tagged, no claim.
            Err(_) if strictness == Strictness::FallBack => {
                typst_pdf::pdf(&document, &PdfOptions::default())
                    .map_err(|e| LetterError::Template(error::problems(&world, &e, secrets)))
            }
            Err(e) => Err(LetterError::Template(error::problems(&world, &e, secrets))),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Strictness {
    /// PDF/UA-1 or an error: for checking templates.
    Strict,
    /// PDF/UA-1 when possible, otherwise tagged PDF: for real letters.
    FallBack,
}

/// The shared renderer with the bundled fonts, built on first use.
fn shared() -> &'static Letters {
    static SHARED: OnceLock<Letters> = OnceLock::new();
    SHARED.get_or_init(Letters::new)
}

/// Typesets a letter as tagged PDF (PDF/UA-1 when every character has a
/// glyph), with the bundled fonts: see [`Letters::render_pdf`].
pub fn render_pdf(template: &str, data: &LetterData) -> Result<Vec<u8>, LetterError> {
    shared().render_pdf(template, data)
}

/// Checks an edited template before it is saved: see [`Letters::check_template`].
pub fn check_template(template: &str) -> Result<(), LetterError> {
    shared().check_template(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Letters>();
    }

    #[test]
    fn names_round_trip() {
        for kind in LetterKind::ALL {
            assert_eq!(LetterKind::parse(kind.as_str()), Some(kind));
        }
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
        }
        assert_eq!(Lang::parse("fr"), None);
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(clean("a\u{0}b\u{1b}c\nd\te\u{85}"), "a b c\nd\te ");
    }
}
