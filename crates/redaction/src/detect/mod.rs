//! The detector chain: each detector adds findings for one text field; the chain then resolves
//! overlaps and propagates confirmed names and identifiers to their other mentions in the same
//! record. A model-based detector (NER) can be added later as one more `Detector`.

pub mod bytes;
pub mod contextual;
pub mod cues;
pub mod lexicon;
pub mod names;
pub mod patterns;
pub mod status;

use std::cell::RefCell;

use bytes::ByteSet;
use cues::{Cue, CueIndex};
use lexicon::{Lexicon, LexiconHits};
use names::{NameKeys, Token};

use crate::entity::{Confidence, EntityKind, Finding};
use crate::redactor::Applied;

/// Errors building detectors (bad patterns in a policy).
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A pattern did not compile.
    #[error("pattern does not compile: {0}")]
    Pattern(String),
}

/// What a detector may know about the field besides its text.
#[derive(Debug)]
pub struct FieldContext {
    lexicon: LexiconHits,
    /// The byte values in the field (every byte for a long field).
    bytes: ByteSet,
    /// A cue that covers the whole field (from its column header or JSON key).
    pub field_hint: Option<Cue>,
    /// The field is known to hold a person's name (column "name", key "first_name").
    pub field_hint_person: bool,
    /// The field is known to hold a place of birth or nationality.
    pub field_hint_birthplace: bool,
}

/// No list word found, no hint, and every byte possible (so a context built without its text
/// skips no detector).
impl Default for FieldContext {
    fn default() -> Self {
        FieldContext {
            lexicon: LexiconHits::default(),
            bytes: ByteSet::ALL,
            field_hint: None,
            field_hint_person: false,
            field_hint_birthplace: false,
        }
    }
}

impl FieldContext {
    /// Cue look-up for this field.
    pub fn cues(&self) -> CueIndex<'_> {
        CueIndex::new(&self.lexicon.cues, self.field_hint)
    }

    /// Every word of the detectors' lists found in this field (one pass).
    pub fn lexicon(&self) -> &LexiconHits {
        &self.lexicon
    }

    /// The byte values in this field, or every byte for a long field: a detector whose matches
    /// need a byte the field lacks has nothing to find.
    pub fn bytes(&self) -> &ByteSet {
        &self.bytes
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

/// Buffers reused from field to field and record to record on one thread, so detection makes
/// no allocation per field beyond its findings.
#[derive(Default)]
pub struct Scratch {
    ctx: FieldContext,
    /// Per field of the current record: its tokens, when tokenized.
    tokens: Vec<Option<Vec<Token>>>,
    spare_tokens: Vec<Vec<Token>>,
    flags: Vec<u16>,
    keys: NameKeys,
    name_tokens: Vec<Token>,
    /// Findings vectors of earlier records, emptied, for the next fields (a table row or a JSON
    /// record has a vector per field; reusing them saves an allocation and a free each).
    spare_findings: Vec<Vec<Finding>>,
    /// The same for the applied-redaction vectors of redacted fields, given back by the formats
    /// once a record is written ([`crate::Redactor::recycle`]).
    spare_applied: Vec<Vec<Applied>>,
}

impl Scratch {
    /// Prepares for a record of `n` fields.
    fn start_record(&mut self, n: usize) {
        for t in self.tokens.drain(..).flatten() {
            self.spare_tokens.push(t);
        }
        self.tokens.resize_with(n, || None);
    }

    /// The tokens of field `i`, tokenizing `text` the first time.
    fn tokens_of(&mut self, i: usize, text: &str) -> &[Token] {
        if self.tokens.len() <= i {
            self.tokens.resize_with(i + 1, || None);
        }
        if self.tokens[i].is_none() {
            let mut t = self.spare_tokens.pop().unwrap_or_default();
            names::tokenize(text, &mut t);
            self.tokens[i] = Some(t);
        }
        self.tokens[i].as_deref().unwrap_or_default()
    }
}

/// Prepares `scratch` for a record of `n` fields (tokens of the previous record are recycled).
pub fn scratch_start(scratch: &mut Scratch, n: usize) {
    scratch.start_record(n);
}

/// An empty findings vector, reused when one is spare.
pub fn findings_buffer(scratch: &mut Scratch) -> Vec<Finding> {
    scratch.spare_findings.pop().unwrap_or_default()
}

/// Gives a findings vector back for reuse.
pub fn recycle_findings(scratch: &mut Scratch, v: Vec<Finding>) {
    keep_spare(&mut scratch.spare_findings, v);
}

/// An empty vector for a field's applied redactions, with room for `n`, reused when one is
/// spare.
pub fn applied_buffer(scratch: &mut Scratch, n: usize) -> Vec<Applied> {
    match scratch.spare_applied.pop() {
        Some(mut v) => {
            v.reserve(n);
            v
        }
        None => Vec::with_capacity(n),
    }
}

/// Gives an applied-redactions vector back for reuse.
pub fn recycle_applied(scratch: &mut Scratch, v: Vec<Applied>) {
    keep_spare(&mut scratch.spare_applied, v);
}

/// Keeps `v`, emptied, among `spares` (bounded: a thousand vectors of at most 4,096 items, so
/// one huge record does not pin its memory).
fn keep_spare<T>(spares: &mut Vec<Vec<T>>, mut v: Vec<T>) {
    if v.capacity() > 0 && v.capacity() <= 4096 && spares.len() < 1024 {
        v.clear();
        spares.push(v);
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers (a fresh set if they are already in use).
pub fn with_scratch<T>(f: impl FnOnce(&mut Scratch) -> T) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut Scratch::default()),
    })
}

/// The ordered detectors.
pub struct DetectorChain {
    lexicon: Lexicon,
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
        let lexicon = Lexicon::new()?;
        Ok(DetectorChain {
            lexicon,
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

    /// The context detectors get for `text` (every list word found in one pass).
    pub fn context_for(&self, text: &str, hint: FieldHint) -> FieldContext {
        let mut ctx = FieldContext::default();
        self.fill_context(text, hint, &mut ctx);
        ctx
    }

    fn fill_context(&self, text: &str, hint: FieldHint, ctx: &mut FieldContext) {
        ctx.bytes = ByteSet::of(text.as_bytes());
        self.lexicon.scan(text, &ctx.bytes, &mut ctx.lexicon);
        ctx.field_hint = hint.cue;
        ctx.field_hint_person = hint.person;
        ctx.field_hint_birthplace = hint.birthplace;
    }

    /// Findings for one field, overlaps resolved, before record-level propagation.
    pub fn detect_field(&self, text: &str, hint: FieldHint) -> Vec<Finding> {
        with_scratch(|scratch| {
            scratch.start_record(1);
            self.detect_in(text, hint, 0, scratch)
        })
    }

    /// Findings for field `i` of the record being detected with `scratch` (its tokens stay in
    /// `scratch` for propagation).
    pub fn detect_in(
        &self,
        text: &str,
        hint: FieldHint,
        i: usize,
        scratch: &mut Scratch,
    ) -> Vec<Finding> {
        // About one candidate per 64 bytes of report text: sized once, not grown push by push
        // (a short field, often without any, allocates nothing until it has one).
        let mut out = match scratch.spare_findings.pop() {
            Some(v) => v,
            None if text.len() >= 1024 => Vec::with_capacity((text.len() / 64).min(4096)),
            None => Vec::new(),
        };
        let mut ctx = std::mem::take(&mut scratch.ctx);
        self.fill_context(text, hint, &mut ctx);
        for d in &self.detectors {
            d.detect(text, &ctx, &mut out);
        }
        // Names start with a capitalised word: without a capital the field is not tokenized
        // (propagation tokenizes it if it ever needs to).
        if ctx.bytes.intersects(&bytes::CAPITALS) {
            let mut flags = std::mem::take(&mut scratch.flags);
            let tokens = scratch.tokens_of(i, text);
            self.names
                .detect_tokens(text, tokens, &mut flags, &ctx, &mut out);
            scratch.flags = flags;
        }
        scratch.ctx = ctx;
        resolve_overlaps(out)
    }

    /// Detects in every field of one record, then propagates confirmed names and identifiers to
    /// their other mentions anywhere in the record.
    pub fn detect_record(&self, fields: &[(&str, FieldHint)]) -> Vec<Vec<Finding>> {
        with_scratch(|scratch| {
            scratch.start_record(fields.len());
            let mut per_field: Vec<Vec<Finding>> = fields
                .iter()
                .enumerate()
                .map(|(i, (t, h))| self.detect_in(t, *h, i, scratch))
                .collect();
            let texts: Vec<&str> = fields.iter().map(|(t, _)| *t).collect();
            self.propagate_in(&texts, &mut per_field, scratch);
            per_field
        })
    }

    /// Propagates confirmed names and identifiers in `per_field` (findings of `texts`, same
    /// order) to their other mentions anywhere in the record.
    pub fn propagate(&self, texts: &[&str], per_field: &mut [Vec<Finding>]) {
        with_scratch(|scratch| {
            scratch.start_record(texts.len());
            self.propagate_in(texts, per_field, scratch)
        })
    }

    /// [`Self::propagate`] with the tokens already in `scratch` (from [`Self::detect_in`]).
    pub fn propagate_in(
        &self,
        texts: &[&str],
        per_field: &mut [Vec<Finding>],
        scratch: &mut Scratch,
    ) {
        let mut keys = std::mem::take(&mut scratch.keys);
        keys.clear();
        let mut identifiers: Vec<(&str, EntityKind)> = Vec::new();
        let mut person_values: Vec<&str> = Vec::new();
        for (text, found) in texts.iter().zip(per_field.iter()) {
            for f in found.iter().filter(|f| f.confidence >= Confidence::Likely) {
                let value = &text[f.start..f.end];
                if f.kind == EntityKind::Person {
                    // The same name again adds no key (keys are a set): tokenized once. Only
                    // the last few distinct names are compared, so a long record stays linear.
                    let recent = &person_values[person_values.len().saturating_sub(32)..];
                    if recent.contains(&value) {
                        continue;
                    }
                    person_values.push(value);
                    names::name_keys(
                        value,
                        self.names.gazetteer(),
                        &mut scratch.name_tokens,
                        &mut keys,
                    );
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
        if keys.is_empty() && identifiers.is_empty() {
            scratch.keys = keys;
            return;
        }
        identifiers.sort_unstable();
        identifiers.dedup();
        // One automaton for many identifier values; a plain search for a few.
        let automaton = if identifiers.len() <= 24 {
            None
        } else {
            // Built per record: a packed (Teddy) searcher builds and searches fastest; when the
            // values do not suit it, the NFA builds fastest and searches a short record quickly
            // enough. Both report leftmost-longest matches.
            let values = || identifiers.iter().map(|(v, _)| v.as_bytes());
            let mut packed = aho_corasick::packed::Config::new();
            packed.match_kind(aho_corasick::packed::MatchKind::LeftmostLongest);
            match packed.builder().extend(values()).build() {
                Some(p) => Some(Multi::Packed(p)),
                None => aho_corasick::AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                    .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                    .build(values())
                    .ok()
                    .map(Multi::Automaton),
            }
        };
        for (i, (text, found)) in texts.iter().zip(per_field.iter_mut()).enumerate() {
            // A field already redacted whole (a classified column) has nothing left to find.
            if found.first().is_some_and(|f| {
                f.start == 0 && f.end >= text.trim_end().len() && f.confidence >= Confidence::Likely
            }) {
                continue;
            }
            let mut extra = Vec::new();
            // A mention is a capitalised word: a field without a capital has none.
            if !keys.is_empty() && text.bytes().any(|b| bytes::CAPITALS.contains(b)) {
                let tokens = scratch.tokens_of(i, text);
                names::find_mentions(text, tokens, &keys, &mut extra);
            }
            if let Some(multi) = &automaton {
                let mut push = |m: aho_corasick::Match| {
                    extra.push(Finding {
                        start: m.start(),
                        end: m.end(),
                        kind: identifiers[m.pattern().as_usize()].1,
                        detector: "propagation.identifier",
                        confidence: Confidence::Likely,
                    })
                };
                match multi {
                    Multi::Packed(p) => p.find_iter(text.as_bytes()).for_each(&mut push),
                    Multi::Automaton(ac) => ac.find_iter(text.as_bytes()).for_each(&mut push),
                }
            } else {
                for (value, kind) in &identifiers {
                    find_all(text.as_bytes(), value.as_bytes(), |pos| {
                        extra.push(Finding {
                            start: pos,
                            end: pos + value.len(),
                            kind: *kind,
                            detector: "propagation.identifier",
                            confidence: Confidence::Likely,
                        })
                    });
                }
            }
            // Mentions already covered by a confident finding add nothing; the rest are merged
            // (a propagated mention also confirms a "possible" finding on the same span).
            if !extra.is_empty() {
                let covered = |e: &Finding, f: &Finding| {
                    f.start <= e.start && e.end <= f.end && f.confidence >= Confidence::Likely
                };
                if disjoint_sorted(found) {
                    // Only the last finding starting at or before a mention can cover it; a
                    // binary search instead of a pass over the field's findings per mention.
                    extra.retain(|e| {
                        let i = found.partition_point(|f| f.start <= e.start);
                        !(i > 0 && covered(e, &found[i - 1]))
                    });
                } else {
                    extra.retain(|e| !found.iter().any(|f| covered(e, f)));
                }
            }
            if !extra.is_empty() {
                found.append(&mut extra);
                *found = resolve_overlaps(std::mem::take(found));
            }
        }
        scratch.keys = keys;
    }
}

/// True when `found` is sorted by start and its spans are non-empty and do not overlap (what
/// [`resolve_overlaps`] returns): then a span is covered by one of them only if it is covered by
/// the last one starting at or before it (every earlier one ends at or before that one starts).
fn disjoint_sorted(found: &[Finding]) -> bool {
    found.iter().all(|f| f.start < f.end) && found.windows(2).all(|w| w[0].end <= w[1].start)
}

/// A searcher for many identifier values at once.
enum Multi {
    Packed(aho_corasick::packed::Searcher),
    Automaton(aho_corasick::AhoCorasick),
}

/// Calls `found` with each position of `needle` in `hay`, overlapping ones included:
/// memchr's substring search on long texts; on short ones (table cells) a first-byte scan,
/// since building a searcher costs more than the search.
fn find_all(hay: &[u8], needle: &[u8], mut found: impl FnMut(usize)) {
    if hay.len() < needle.len() {
        return;
    }
    if hay.len() >= 512 {
        // Every occurrence, overlapping ones included ("11111" twice in "111111"): the union of
        // their spans is what must be redacted.
        let finder = memchr::memmem::Finder::new(needle);
        let mut from = 0;
        while let Some(p) = hay.get(from..).and_then(|h| finder.find(h)) {
            found(from + p);
            from += p + 1;
        }
        return;
    }
    let first = needle.first().copied().unwrap_or(0);
    for p in memchr::memchr_iter(first, hay).filter(|&p| hay[p..].starts_with(needle)) {
        found(p);
    }
}

/// Sorts findings and merges overlapping ones: the winner (higher confidence, then structured
/// identifiers, then longer span) takes the union of the spans so nothing leaks at the edges.
pub fn resolve_overlaps(mut found: Vec<Finding>) -> Vec<Finding> {
    if found.len() < 2 {
        return found;
    }
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    // Merged in place: `kept` findings at the front, the rest still to look at.
    let mut kept = 0;
    for i in 0..found.len() {
        let f = found[i];
        if kept > 0 && found[kept - 1].overlaps(&f) {
            let last = &mut found[kept - 1];
            let rank = |x: &Finding| (x.confidence, x.kind.is_structured_identifier(), x.len());
            let (start, end) = (last.start.min(f.start), last.end.max(f.end));
            if rank(&f) > rank(last) {
                *last = f;
            }
            last.start = start;
            last.end = end;
        } else {
            found[kept] = f;
            kept += 1;
        }
    }
    found.truncate(kept);
    found
}
