//! The detector chain: each detector adds findings for one text field; the chain then resolves
//! overlaps and propagates confirmed names and identifiers to their other mentions in the same
//! record. A model-based detector (NER) can be added later as one more `Detector`.

pub mod contextual;
pub mod cues;
pub mod names;
pub mod patterns;
pub mod status;

use cues::{Cue, CueHit, CueIndex, CueMatcher};

use crate::entity::{Confidence, EntityKind, Finding};

/// Errors building detectors (bad patterns in a policy).
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A pattern did not compile.
    #[error("pattern does not compile: {0}")]
    Pattern(String),
}

/// What a detector may know about the field besides its text.
pub struct FieldContext {
    hits: Vec<CueHit>,
    /// A cue that covers the whole field (from its column header or JSON key).
    pub field_hint: Option<Cue>,
    /// The field is known to hold a person's name (column "name", key "first_name").
    pub field_hint_person: bool,
    /// The field is known to hold a place of birth or nationality.
    pub field_hint_birthplace: bool,
}

impl FieldContext {
    /// Cue look-up for this field.
    pub fn cues(&self) -> CueIndex<'_> {
        CueIndex::new(&self.hits, self.field_hint)
    }
}

/// One stage of detection over a text field. Implementations must not panic on any text and must
/// return spans on UTF-8 character boundaries.
pub trait Detector: Send + Sync {
    /// Stable identifier for logs.
    fn name(&self) -> &'static str;
    /// Appends findings for `text` to `out`.
    fn detect(&self, text: &str, ctx: &FieldContext, out: &mut Vec<Finding>);
}

/// Hints for a field that come from outside its text.
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldHint {
    /// A context cue that applies to the whole field.
    pub cue: Option<Cue>,
    /// The field holds a person's name.
    pub person: bool,
    /// The field holds a place of birth / nationality.
    pub birthplace: bool,
}

/// The ordered detectors.
pub struct DetectorChain {
    cue_matcher: CueMatcher,
    detectors: Vec<Box<dyn Detector>>,
    names: names::NameDetector,
}

impl DetectorChain {
    /// The standard chain; `municipal_id` is the policy's pattern and whether it needs a cue.
    pub fn standard(municipal_id: Option<(&str, bool)>) -> Result<Self, DetectError> {
        let mut detectors: Vec<Box<dyn Detector>> = vec![
            Box::new(patterns::PatternDetector::new()?),
            Box::new(status::StatusDetector::new()?),
            Box::new(contextual::BirthplaceDetector::new()?),
            Box::new(contextual::PlateDetector),
        ];
        if let Some((pattern, require_cue)) = municipal_id {
            detectors.push(Box::new(contextual::MunicipalIdDetector::new(
                pattern,
                require_cue,
            )?));
        }
        let cue_matcher = CueMatcher::new().map_err(|e| DetectError::Pattern(e.to_string()))?;
        Ok(DetectorChain {
            cue_matcher,
            detectors,
            names: names::NameDetector::new(),
        })
    }

    /// The name gazetteer.
    pub fn gazetteer(&self) -> &names::Gazetteer {
        self.names.gazetteer()
    }

    /// Adds a detector at the end of the chain (e.g. a future NER stage).
    pub fn push(&mut self, detector: Box<dyn Detector>) {
        self.detectors.push(detector);
    }

    /// The context detectors get for `text` (cues found once).
    pub fn context_for(&self, text: &str, hint: FieldHint) -> FieldContext {
        FieldContext {
            hits: self.cue_matcher.find(text),
            field_hint: hint.cue,
            field_hint_person: hint.person,
            field_hint_birthplace: hint.birthplace,
        }
    }

    /// Findings for one field, overlaps resolved, before record-level propagation.
    pub fn detect_field(&self, text: &str, hint: FieldHint) -> Vec<Finding> {
        let ctx = self.context_for(text, hint);
        let mut out = Vec::new();
        for d in &self.detectors {
            d.detect(text, &ctx, &mut out);
        }
        self.names.detect(text, &ctx, &mut out);
        resolve_overlaps(out)
    }

    /// Detects in every field of one record, then propagates confirmed names and identifiers to
    /// their other mentions anywhere in the record.
    pub fn detect_record(&self, fields: &[(&str, FieldHint)]) -> Vec<Vec<Finding>> {
        let mut per_field: Vec<Vec<Finding>> = fields
            .iter()
            .map(|(t, h)| self.detect_field(t, *h))
            .collect();
        let texts: Vec<&str> = fields.iter().map(|(t, _)| *t).collect();
        self.propagate(&texts, &mut per_field);
        per_field
    }

    /// Propagates confirmed names and identifiers in `per_field` (findings of `texts`, same
    /// order) to their other mentions anywhere in the record.
    pub fn propagate(&self, texts: &[&str], per_field: &mut [Vec<Finding>]) {
        let mut name_keys = Vec::new();
        let mut identifiers: Vec<(&str, EntityKind)> = Vec::new();
        for (text, found) in texts.iter().zip(per_field.iter()) {
            for f in found.iter().filter(|f| f.confidence >= Confidence::Likely) {
                let value = &text[f.start..f.end];
                if f.kind == EntityKind::Person {
                    names::name_keys(value, self.names.gazetteer(), &mut name_keys);
                } else if f.kind.is_structured_identifier()
                    && value.len() >= 5
                    && (f.confidence == Confidence::Likely || f.detector == "column")
                {
                    // Values confirmed by a validator are found again by the same pattern; only
                    // those that needed context (or came from a classified column) propagate.
                    identifiers.push((value, f.kind));
                }
            }
        }
        if name_keys.is_empty() && identifiers.is_empty() {
            return;
        }
        identifiers.sort_unstable();
        identifiers.dedup();
        let keys: names::KeySet = name_keys.into_iter().collect();
        // One automaton for many identifier values; a plain search for a few.
        let automaton = if identifiers.len() <= 24 {
            None
        } else {
            // Built per record: the NFA builds fastest, and searches a short record quickly enough.
            aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                .build(identifiers.iter().map(|(v, _)| v.as_bytes()))
                .ok()
        };
        for (text, found) in texts.iter().zip(per_field.iter_mut()) {
            // A field already redacted whole (a classified column) has nothing left to find.
            if found.first().is_some_and(|f| {
                f.start == 0 && f.end >= text.trim_end().len() && f.confidence >= Confidence::Likely
            }) {
                continue;
            }
            let mut extra = Vec::new();
            if !keys.is_empty() {
                names::find_mentions(text, &keys, &mut extra);
            }
            if let Some(ac) = &automaton {
                for m in ac.find_iter(text.as_bytes()) {
                    let kind = identifiers[m.pattern().as_usize()].1;
                    extra.push(Finding {
                        start: m.start(),
                        end: m.end(),
                        kind,
                        detector: "propagation.identifier",
                        confidence: Confidence::Likely,
                    });
                }
            } else {
                for (value, kind) in &identifiers {
                    for pos in find_all(text.as_bytes(), value.as_bytes()) {
                        extra.push(Finding {
                            start: pos,
                            end: pos + value.len(),
                            kind: *kind,
                            detector: "propagation.identifier",
                            confidence: Confidence::Likely,
                        });
                    }
                }
            }
            // Mentions already covered by a confident finding add nothing; the rest are merged
            // (a propagated mention also confirms a "possible" finding on the same span).
            extra.retain(|e| {
                !found.iter().any(|f| {
                    f.start <= e.start && e.end <= f.end && f.confidence >= Confidence::Likely
                })
            });
            if !extra.is_empty() {
                found.append(&mut extra);
                *found = resolve_overlaps(std::mem::take(found));
            }
        }
    }
}

/// Positions of `needle` in `hay`: first-byte scan with memchr, no searcher to build (cells and
/// short fields are searched for a handful of values, so setup cost dominates).
fn find_all<'h>(hay: &'h [u8], needle: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
    let first = needle.first().copied().unwrap_or(0);
    memchr::memchr_iter(first, hay).filter(move |&p| hay[p..].starts_with(needle))
}

/// Sorts findings and merges overlapping ones: the winner (higher confidence, then structured
/// identifiers, then longer span) takes the union of the spans so nothing leaks at the edges.
pub fn resolve_overlaps(mut found: Vec<Finding>) -> Vec<Finding> {
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut out: Vec<Finding> = Vec::with_capacity(found.len());
    for f in found {
        match out.last_mut() {
            Some(last) if last.overlaps(&f) => {
                let rank = |x: &Finding| (x.confidence, x.kind.is_structured_identifier(), x.len());
                let (start, end) = (last.start.min(f.start), last.end.max(f.end));
                if rank(&f) > rank(last) {
                    *last = f;
                }
                last.start = start;
                last.end = end;
            }
            _ => out.push(f),
        }
    }
    out
}
