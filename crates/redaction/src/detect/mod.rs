//! The detector chain: each detector adds findings for one text field; the chain then resolves
//! overlaps and propagates confirmed names and identifiers to their other mentions in the same
//! record. A model-based detector (NER) can be added later as one more `Detector`.

pub mod bytes;
pub mod contextual;
pub mod cues;
pub mod lexicon;
mod memo;
pub mod names;
pub mod patterns;
pub mod status;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use bytes::ByteSet;
use cues::{Cue, CueIndex};
use lexicon::{Lexicon, LexiconHits};
use memo::FieldMemo;
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
    /// Cue look-up for this field, whose text is `text`.
    pub fn cues<'a>(&'a self, text: &'a str) -> CueIndex<'a> {
        CueIndex::new(text, &self.lexicon.cues, self.field_hint)
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
    /// The identifier search of propagation and its hits in a field.
    id_search: IdSearch,
    id_hits: Vec<(usize, usize)>,
    /// Findings of short fields seen before on this thread.
    memo: FieldMemo,
    /// The per-field vector of a record's findings, emptied, for the next record.
    per_field: Vec<Vec<Finding>>,
}

impl Scratch {
    /// Prepares for a record of `n` fields.
    fn start_record(&mut self, n: usize) {
        // Slot by slot, not through `drain(..).flatten()`: a table row has a dozen slots, nearly
        // all empty, and the adapters cost several times the loop.
        for slot in &mut self.tokens {
            if let Some(t) = slot.take() {
                self.spare_tokens.push(t);
            }
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

/// An empty vector for a record's per-field findings, reused when one is spare.
pub fn per_field_buffer(scratch: &mut Scratch) -> Vec<Vec<Finding>> {
    std::mem::take(&mut scratch.per_field)
}

/// Gives a record's per-field findings back: the findings vectors to the spares, the vector
/// holding them for the next record.
pub fn recycle_per_field(scratch: &mut Scratch, mut per_field: Vec<Vec<Finding>>) {
    for f in per_field.drain(..) {
        keep_spare(&mut scratch.spare_findings, f);
    }
    if per_field.capacity() <= 4096 {
        scratch.per_field = per_field;
    }
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

/// The detectors built from the shipped lists and patterns alone, built once per process and
/// shared by every chain: they were nearly all of a redactor's construction (tens of
/// milliseconds), which the service paid on every release request.
struct Shipped {
    lexicon: Lexicon,
    patterns: patterns::PatternDetector,
    names: names::NameDetector,
}

impl Shipped {
    fn get() -> Result<&'static Shipped, DetectError> {
        static SHIPPED: OnceLock<Result<Shipped, String>> = OnceLock::new();
        SHIPPED
            .get_or_init(|| {
                Ok(Shipped {
                    lexicon: Lexicon::new().map_err(|e| e.to_string())?,
                    patterns: patterns::PatternDetector::new().map_err(|e| e.to_string())?,
                    names: names::NameDetector::new(),
                })
            })
            .as_ref()
            .map_err(|e| DetectError::Pattern(e.clone()))
    }
}

/// A detector shared by several chains.
impl<D: Detector> Detector for &'static D {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn detect(&self, text: &str, ctx: &FieldContext, out: &mut Vec<Finding>) {
        (**self).detect(text, ctx, out)
    }
}

/// A number no other chain in this process has (0 is never given: an empty memo has it).
fn next_chain_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The ordered detectors.
pub struct DetectorChain {
    /// Tells this chain's memorised findings from another's (see [`memo`]); a new one whenever
    /// the detectors change.
    id: u64,
    lexicon: &'static Lexicon,
    detectors: Vec<Box<dyn Detector>>,
    names: &'static names::NameDetector,
}

impl DetectorChain {
    /// The standard chain; `municipal_id` is the policy's pattern and whether it needs a cue.
    pub fn standard(municipal_id: Option<(&str, bool)>) -> Result<Self, DetectError> {
        let shipped = Shipped::get()?;
        let mut detectors: Vec<Box<dyn Detector>> = vec![
            Box::new(&shipped.patterns),
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
        Ok(DetectorChain {
            id: next_chain_id(),
            lexicon: &shipped.lexicon,
            detectors,
            names: &shipped.names,
        })
    }

    /// The name gazetteer.
    pub fn gazetteer(&self) -> &names::Gazetteer {
        self.names.gazetteer()
    }

    /// Adds a detector at the end of the chain (e.g. a future NER stage).
    pub fn push(&mut self, detector: Box<dyn Detector>) {
        self.detectors.push(detector);
        self.id = next_chain_id();
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
        if text.len() > memo::MAX_LEN {
            return self.detect_anew(text, hint, i, scratch);
        }
        if let Some(known) = scratch.memo.get(self.id, text, hint) {
            let mut out = scratch.spare_findings.pop().unwrap_or_default();
            out.extend_from_slice(known);
            return out;
        }
        let found = self.detect_anew(text, hint, i, scratch);
        scratch.memo.put(self.id, text, hint, &found);
        found
    }

    /// [`Self::detect_in`] without the memo.
    fn detect_anew(
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
            self.propagate_in(fields, &mut per_field, scratch);
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

    /// [`Self::propagate`] with the tokens already in `scratch` (from [`Self::detect_in`]); the
    /// texts are read from the record's fields as they are (no vector of them per record).
    pub fn propagate_in<T: FieldText>(
        &self,
        fields: &[T],
        per_field: &mut [Vec<Finding>],
        scratch: &mut Scratch,
    ) {
        let texts = || fields.iter().map(FieldText::text);
        let mut keys = std::mem::take(&mut scratch.keys);
        keys.clear();
        let mut identifiers: Vec<(&str, EntityKind)> = Vec::new();
        let mut person_values: Vec<&str> = Vec::new();
        for (text, found) in texts().zip(per_field.iter()) {
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
        if person_values.is_empty() && identifiers.is_empty() {
            scratch.keys = keys;
            return;
        }
        // Sorted and deduplicated, so one value under two kinds is searched in kind order; a few
        // values that are told apart by length and end bytes need neither (a table row's:
        // sorting them compared strings, 2 % of a CityKey export's instructions). Only the
        // order of hits on one span depends on the values' order, and such hits are of one
        // value.
        if !quickly_distinct(&identifiers) {
            identifiers.sort_unstable();
            identifiers.dedup();
        }
        // One pass per field for all values (`IdSearch`, prepared once per record) when a field
        // is long or the values many; short fields with a few values get a first-byte scan per
        // value (preparing costs more than that).
        let long = texts().any(|t| t.len() > 64);
        let one_pass =
            !identifiers.is_empty() && (identifiers.len() > 24 || texts().any(|t| t.len() >= 512));
        // Taken out of `scratch` only when used (a table row with a few short values does not
        // move them).
        let search = one_pass.then(|| {
            let mut search = std::mem::take(&mut scratch.id_search);
            search.prepare(&identifiers);
            search
        });
        let mut hits = match search.is_some() {
            true => std::mem::take(&mut scratch.id_hits),
            false => Vec::new(),
        };
        // The names' keys are built when a field first may mention one. Until then `starts` is
        // what the names' words start with (a superset of the keys' mention starts), which most
        // other cells of a table row do not hold; or every byte for a record with a long text,
        // which most likely mentions a name anyway.
        let mut built = person_values.is_empty();
        let mut starts = if long {
            ByteSet::ALL
        } else {
            person_values
                .iter()
                .fold(bytes::NON_ASCII, |s, v| s.union(names::initials(v)))
        };
        for (i, (text, found)) in texts().zip(per_field.iter_mut()).enumerate() {
            // A field already redacted whole (a classified column) has nothing left to find.
            if found.first().is_some_and(|f| {
                f.start == 0
                    && f.end >= bytes::trimmed_end(text)
                    && f.confidence >= Confidence::Likely
            }) {
                continue;
            }
            // A long text (a text chunk) has a few hundred mentions: room for about one per
            // 64 bytes at once, not six growths from empty. Short fields, mostly without any,
            // allocate only if they have one.
            let mut extra = if text.len() >= 1024 {
                Vec::with_capacity(text.len() / 64)
            } else {
                Vec::new()
            };
            // A mention is a capitalised word that folds to a key: a field without a byte such
            // a word can start with has none.
            let may_mention = |starts: &ByteSet| names::has_word_starting_with(text, starts);
            if !person_values.is_empty() && may_mention(&starts) {
                if !built {
                    for value in &person_values {
                        names::name_keys(
                            value,
                            self.names.gazetteer(),
                            &mut scratch.name_tokens,
                            &mut keys,
                        );
                    }
                    built = true;
                    starts = keys.mention_starts();
                }
                if !keys.is_empty() && may_mention(&starts) {
                    let tokens = scratch.tokens_of(i, text);
                    names::find_mentions(text, tokens, &keys, &mut extra);
                }
            }
            identifier_hits(
                text.as_bytes(),
                &identifiers,
                search.as_ref(),
                &mut hits,
                |start, id| {
                    if let Some((value, kind)) = identifiers.get(id) {
                        extra.push(Finding {
                            start,
                            end: start + value.len(),
                            kind: *kind,
                            detector: "propagation.identifier",
                            confidence: Confidence::Likely,
                        })
                    }
                },
            );
            // Mentions already covered by a confident finding add nothing; the rest are merged
            // (a propagated mention also confirms a "possible" finding on the same span).
            if !extra.is_empty() {
                drop_covered(found, &mut extra);
            }
            if !extra.is_empty() {
                found.append(&mut extra);
                *found = resolve_overlaps(std::mem::take(found));
            }
        }
        scratch.keys = keys;
        if let Some(search) = search {
            scratch.id_search = search;
        }
        if hits.capacity() > 0 {
            scratch.id_hits = hits;
        }
    }
}

/// Drops from `extra` (propagated mentions) those a confident finding of `found` already
/// covers.
#[inline]
fn drop_covered(found: &[Finding], extra: &mut Vec<Finding>) {
    let covered = |e: &Finding, f: &Finding| {
        f.start <= e.start && e.end <= f.end && f.confidence >= Confidence::Likely
    };
    if disjoint_sorted(found) {
        // Only the last finding starting at or before a mention can cover it. The mentions
        // come as runs in position order (names', then identifiers'), so the count of findings
        // starting at or before one (what a binary search found, 2 % of a text redaction with
        // `retain`) is kept by a cursor that moves forward, back to the start where a run
        // begins again.
        let (mut i, mut last) = (0, 0);
        extra.retain(|e| {
            if e.start < last {
                i = 0;
            }
            last = e.start;
            while found.get(i).is_some_and(|f| f.start <= e.start) {
                i += 1;
            }
            !(i > 0 && covered(e, &found[i - 1]))
        });
    } else {
        extra.retain(|e| !found.iter().any(|f| covered(e, f)));
    }
}

/// A field of a record, as propagation reads it: its text.
pub trait FieldText {
    /// The field's text.
    fn text(&self) -> &str;
}

impl FieldText for &str {
    fn text(&self) -> &str {
        self
    }
}

/// A field with something beside its text (a hint, a role).
impl<T> FieldText for (&str, T) {
    fn text(&self) -> &str {
        self.0
    }
}

/// True when no two of a few `values` can be equal: their lengths, first bytes or last bytes
/// differ pairwise. False for more than 16 (not worth comparing pairwise).
fn quickly_distinct(values: &[(&str, EntityKind)]) -> bool {
    let key = |v: &str| {
        let b = v.as_bytes();
        (b.len(), b.first().copied(), b.last().copied())
    };
    values.len() <= 16
        && values.iter().enumerate().all(|(i, (a, _))| {
            let ka = key(a);
            values[i + 1..].iter().all(|(b, _)| key(b) != ka)
        })
}

/// True when `found` is sorted by start and its spans are non-empty and do not overlap (what
/// [`resolve_overlaps`] returns): then a span is covered by one of them only if it is covered by
/// the last one starting at or before it (every earlier one ends at or before that one starts).
fn disjoint_sorted(found: &[Finding]) -> bool {
    found.iter().all(|f| f.start < f.end) && found.windows(2).all(|w| w[0].end <= w[1].start)
}

/// Slots of [`IdSearch`]'s shift table, indexed by a hash of two bytes.
const BLOCK_SLOTS: usize = 4096;

fn block_slot(a: u8, b: u8) -> usize {
    ((usize::from(a) << 5) ^ usize::from(b)) & (BLOCK_SLOTS - 1)
}

/// Every occurrence of a record's identifier values in a field, in one pass (Wu-Manber with
/// two-byte blocks): with `m` the shortest value's length, the window `[pos, pos + m)` moves by
/// the least distance at which its last two bytes could end a block of some value's first `m`
/// bytes (hashed, so a shift may be smaller than it could be, never larger); only a window with
/// shift 0 is compared, with the values starting with its first byte. Reused from record to
/// record.
#[derive(Debug, Default)]
pub struct IdSearch {
    /// Per block slot: how far the window may move (at most `m - 1`, at most 255).
    shift: Vec<u8>,
    /// Per byte: the values (of the first 64) that start with it, one bit each.
    by_first: Vec<u64>,
    /// The shortest value's length (below 2: no table).
    min_len: usize,
}

impl IdSearch {
    /// Prepares for `values` (propagation's are at least five bytes long; with one shorter than
    /// two there is no two-byte block to shift by, and [`Self::find`] declines).
    fn prepare(&mut self, values: &[(&str, EntityKind)]) {
        let m = values.iter().map(|(v, _)| v.len()).min().unwrap_or(0);
        self.min_len = m;
        if m < 2 {
            return;
        }
        // A smaller shift than the greatest safe one is still safe: capped at 255.
        let cap = |d: usize| d.min(255) as u8;
        self.shift.clear();
        self.shift.resize(BLOCK_SLOTS, cap(m - 1));
        self.by_first.clear();
        self.by_first.resize(256, 0);
        for (i, (v, _)) in values.iter().enumerate() {
            let b = v.as_bytes();
            // Blocks ending 255 or more bytes before `m` allow no less than the default.
            for q in m.saturating_sub(255).max(2)..=m {
                let s = &mut self.shift[block_slot(b[q - 2], b[q - 1])];
                *s = (*s).min(cap(m - q));
            }
            if i < 64 {
                self.by_first[usize::from(b[0])] |= 1 << i;
            }
        }
    }

    /// Calls `found(pos, value index)` for every occurrence in `hay` of the values given to
    /// [`Self::prepare`], in position order, then value order. Gives up (false) once the
    /// comparisons exceed [`WORK_PER_BYTE`] bytes per byte of `hay`: on a text that repeats a
    /// value's bytes (hostile or degenerate) nearly every position needs comparing with every
    /// value, where the per-value scans stay linear. Declines (false) values shorter than two.
    fn find(
        &self,
        hay: &[u8],
        values: &[(&str, EntityKind)],
        mut found: impl FnMut(usize, usize),
    ) -> bool {
        let budget = hay
            .len()
            .saturating_mul(WORK_PER_BYTE)
            .saturating_add(1 << 16);
        let mut work = 0usize;
        let m = self.min_len;
        if m < 2 {
            return false;
        }
        // As an array, the masked slot index needs no bounds check; the window's last two
        // bytes are read with one check (the step is about ten instructions, was nineteen).
        let Ok(shift) = <&[u8; BLOCK_SLOTS]>::try_from(self.shift.as_slice()) else {
            return false;
        };
        let mut pos = 0;
        while let Some(&[a, b]) = hay.get(pos + m - 2..).and_then(|r| r.first_chunk::<2>()) {
            let s = shift[block_slot(a, b)];
            if s > 0 {
                pos += usize::from(s);
                continue;
            }
            let rest = &hay[pos..];
            if values.len() <= 64 {
                let mut bits = self.by_first[usize::from(rest[0])];
                while bits != 0 {
                    let i = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let Some((v, _)) = values.get(i) else {
                        continue;
                    };
                    work += v.len();
                    if rest.starts_with(v.as_bytes()) {
                        found(pos, i);
                    }
                }
            } else {
                for (i, (v, _)) in values.iter().enumerate() {
                    work += v.len();
                    if rest.starts_with(v.as_bytes()) {
                        found(pos, i);
                    }
                }
            }
            if work > budget {
                return false;
            }
            pos += 1;
        }
        true
    }
}

/// Comparison bytes per searched byte that [`IdSearch::find`] may spend before it gives up.
const WORK_PER_BYTE: usize = 16;

/// Calls `push(start, value index)` for the occurrences of `values` (sorted) in `hay`: with
/// more than 24 values, the leftmost-longest ones that do not overlap (as the automaton this
/// replaced reported them; `hits` is a buffer for them); otherwise every occurrence,
/// overlapping ones included. `search`, prepared for `values`, finds them in one pass; without
/// it (short fields, a few values), or when it gives up, a first-byte scan per value. Two
/// occurrences on the same span are of the same value, pushed in value order either way, so
/// the stable sort in [`resolve_overlaps`] orders the findings alike. Inlined: called for every
/// field of a table row, where a call cost more than the few values' scans.
#[inline(always)]
fn identifier_hits(
    hay: &[u8],
    values: &[(&str, EntityKind)],
    search: Option<&IdSearch>,
    hits: &mut Vec<(usize, usize)>,
    mut push: impl FnMut(usize, usize),
) {
    if search.is_none() && values.len() <= 24 {
        for (id, (value, _)) in values.iter().enumerate() {
            find_all(hay, value.as_bytes(), |pos| push(pos, id));
        }
        return;
    }
    hits.clear();
    if !search.is_some_and(|s| s.find(hay, values, |p, id| hits.push((p, id)))) {
        hits.clear();
        for (id, (value, _)) in values.iter().enumerate() {
            find_all(hay, value.as_bytes(), |pos| hits.push((pos, id)));
        }
        hits.sort_unstable();
    }
    if values.len() > 24 {
        keep_leftmost_longest(hits, values);
    }
    for &(p, id) in hits.iter() {
        push(p, id);
    }
}

/// Keeps of `hits` (every occurrence, in position order, then value order) the leftmost-longest
/// ones that do not overlap: at the first position at or after the last kept one's end, the
/// longest value, the first of equally long ones.
fn keep_leftmost_longest(hits: &mut Vec<(usize, usize)>, values: &[(&str, EntityKind)]) {
    let len = |id: usize| values.get(id).map_or(0, |(v, _)| v.len());
    let (mut from, mut k, mut kept) = (0, 0, 0);
    while let Some(&(p, first)) = hits.get(k) {
        k += 1;
        if p < from {
            continue;
        }
        let mut best = first;
        while let Some(&(q, id)) = hits.get(k) {
            if q != p {
                break;
            }
            if len(id) > len(best) {
                best = id;
            }
            k += 1;
        }
        // `kept` < `k`: written over a hit already read.
        hits[kept] = (p, best);
        kept += 1;
        from = p + len(best);
    }
    hits.truncate(kept);
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

/// The order [`resolve_overlaps`] sorts findings in: by start, the longer first.
#[inline]
fn order_key(f: &Finding) -> (usize, std::cmp::Reverse<usize>) {
    (f.start, std::cmp::Reverse(f.end))
}

/// Most runs [`sort_findings`] merges; more are sorted by the library.
const MAX_RUNS: usize = 32;

/// `found` stably sorted by [`order_key`], as `sort_by_key` would. A field's findings arrive as
/// a few sorted runs (one or more per detector; a propagated field's findings and its
/// mentions), which are merged here, the two adjacent runs with the fewest findings first: the
/// library's sort took most of them for unsorted and quicksorted them (3 % of a text
/// redaction's instructions). Short vectors and vectors of many runs go to the library.
fn sort_findings(mut found: Vec<Finding>) -> Vec<Finding> {
    if found.len() < 32 {
        found.sort_by_key(order_key);
        return found;
    }
    // bounds[r]..bounds[r + 1] is run r.
    let mut bounds = [0usize; MAX_RUNS + 1];
    let mut runs = 1;
    for i in 1..found.len() {
        if order_key(&found[i]) < order_key(&found[i - 1]) {
            if runs == MAX_RUNS {
                found.sort_by_key(order_key);
                return found;
            }
            bounds[runs] = i;
            runs += 1;
        }
    }
    bounds[runs] = found.len();
    // `buf` takes the shorter of two adjacent runs, at most half the findings: one allocation,
    // not one growth per merge.
    let mut buf = Vec::with_capacity(found.len() / 2);
    while runs > 1 {
        let mut best = 0;
        for r in 1..runs - 1 {
            if bounds[r + 2] - bounds[r] < bounds[best + 2] - bounds[best] {
                best = r;
            }
        }
        let (a, m, b) = (bounds[best], bounds[best + 1], bounds[best + 2]);
        merge_adjacent(&mut found[a..b], m - a, &mut buf);
        bounds.copy_within(best + 2..=runs, best + 1);
        runs -= 1;
    }
    found
}

/// Merges the sorted runs `v[..mid]` and `v[mid..]` in place (stably: on equal keys the left
/// run's findings first), through `buf`, which takes the shorter run.
fn merge_adjacent(v: &mut [Finding], mid: usize, buf: &mut Vec<Finding>) {
    let (Some(last), Some(first)) = (mid.checked_sub(1).and_then(|i| v.get(i)), v.get(mid)) else {
        return;
    };
    if order_key(last) <= order_key(first) {
        return;
    }
    buf.clear();
    if mid <= v.len() - mid {
        // From the front: the left run in `buf`; a write at k = i + (j - mid) < j never
        // overwrites a right finding still to be read.
        buf.extend_from_slice(&v[..mid]);
        let (mut i, mut j, mut k) = (0, mid, 0);
        while i < buf.len() && j < v.len() {
            if order_key(&v[j]) < order_key(&buf[i]) {
                v[k] = v[j];
                j += 1;
            } else {
                v[k] = buf[i];
                i += 1;
            }
            k += 1;
        }
        // Left findings still in `buf` fill the end; right ones left over are in place.
        let rest = &buf[i..];
        v[k..k + rest.len()].copy_from_slice(rest);
    } else {
        // From the back: the right run in `buf`; a write at k - 1 = i + j - 1 >= i never
        // overwrites a left finding still to be read.
        buf.extend_from_slice(&v[mid..]);
        let (mut i, mut j, mut k) = (mid, buf.len(), v.len());
        while i > 0 && j > 0 {
            k -= 1;
            if order_key(&buf[j - 1]) < order_key(&v[i - 1]) {
                v[k] = v[i - 1];
                i -= 1;
            } else {
                v[k] = buf[j - 1];
                j -= 1;
            }
        }
        // Right findings still in `buf` fill the start; left ones left over are in place.
        v[..j].copy_from_slice(&buf[..j]);
    }
}

/// Sorts findings and merges overlapping ones: the winner (higher confidence, then structured
/// identifiers, then longer span) takes the union of the spans so nothing leaks at the edges.
pub fn resolve_overlaps(found: Vec<Finding>) -> Vec<Finding> {
    if found.len() < 2 {
        return found;
    }
    let mut found = sort_findings(found);
    // Most findings overlap neither neighbour: up to the first that overlaps the one before it,
    // every finding is kept where it is, and the loop below starts there (it read each finding
    // of that prefix into a copy to compare it).
    let Some(first_overlap) = found.windows(2).position(|w| w[0].overlaps(&w[1])) else {
        return found;
    };
    // Merged in place: `kept` findings at the front, the rest still to look at.
    let mut kept = first_overlap + 1;
    for i in first_overlap + 1..found.len() {
        let f = found[i];
        if found[kept - 1].overlaps(&f) {
            absorb(&mut found[kept - 1], f);
        } else {
            found[kept] = f;
            kept += 1;
        }
    }
    found.truncate(kept);
    found
}

/// Merges `f` into `last`, which it overlaps: the higher-ranked of the two (confidence, then a
/// structured identifier, then the longer span) over the union of their spans.
#[inline]
fn absorb(last: &mut Finding, f: Finding) {
    let rank = |x: &Finding| (x.confidence, x.kind.is_structured_identifier(), x.len());
    let (start, end) = (last.start.min(f.start), last.end.max(f.end));
    if rank(&f) > rank(last) {
        *last = f;
    }
    last.start = start;
    last.end = end;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{generate, Rng};

    /// Finds a person at the start of every field, whatever the text (a stand-in for a new
    /// stage such as NER).
    struct Everything;

    impl Detector for Everything {
        fn name(&self) -> &'static str {
            "test.everything"
        }
        fn detect(&self, text: &str, _: &FieldContext, out: &mut Vec<Finding>) {
            if !text.is_empty() {
                out.push(Finding {
                    start: 0,
                    end: text.len(),
                    kind: EntityKind::Person,
                    detector: self.name(),
                    confidence: Confidence::VeryLikely,
                });
            }
        }
    }

    /// `sort_findings` orders as the library's stable sort does: vectors made of sorted runs
    /// (few and many, short and long, with many equal keys told apart only by their order),
    /// unsorted ones and short ones; `resolve_overlaps` of them is unchanged too.
    #[test]
    fn sorted_runs_merge_as_the_stable_sort() {
        let kinds = [EntityKind::Person, EntityKind::Ssn, EntityKind::Phone];
        let detectors = ["a", "b", "c", "d", "e"];
        let mut rng = Rng::new(5);
        let (mut cases, mut merged) = (0, 0);
        for round in 0..3000 {
            let runs = 1 + rng.below(if round % 10 == 0 { 48 } else { 12 }) as usize;
            let sorted = round % 7 != 0;
            // Small spans on few positions: equal keys are common.
            let span = if round % 3 == 0 { 8 } else { 400 };
            let mut found = Vec::new();
            for r in 0..runs {
                let len = rng.below(if r % 2 == 0 { 80 } else { 6 }) as usize;
                let mut run: Vec<Finding> = (0..len)
                    .map(|k| {
                        let start = rng.below(span) as usize;
                        Finding {
                            start,
                            end: start + 1 + rng.below(4) as usize,
                            kind: kinds[k % kinds.len()],
                            detector: detectors[(r + k) % detectors.len()],
                            confidence: Confidence::Possible,
                        }
                    })
                    .collect();
                if sorted {
                    run.sort_by_key(order_key);
                }
                found.extend(run);
            }
            let mut expected = found.clone();
            expected.sort_by_key(order_key);
            let got = sort_findings(found.clone());
            let same = |a: &[Finding], b: &[Finding]| {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(x, y)| {
                        (x.start, x.end, x.kind, x.detector) == (y.start, y.end, y.kind, y.detector)
                    })
            };
            assert!(same(&got, &expected), "round {round}: {runs} runs");
            let mut resolved = found.clone();
            resolved.sort_by_key(order_key);
            let old = resolve_overlaps_sorted(resolved);
            assert!(
                same(&resolve_overlaps(found.clone()), &old),
                "round {round}"
            );
            cases += 1;
            merged += usize::from(found.len() >= 32 && (2..=MAX_RUNS).contains(&runs) && sorted);
        }
        assert!(merged > 1000, "{merged} of {cases} cases merged");
    }

    /// `resolve_overlaps` as it was before the disjoint prefix was skipped: the library's sort,
    /// then the merge loop over every finding (each merge by the same [`absorb`]).
    fn resolve_overlaps_reference(mut found: Vec<Finding>) -> Vec<Finding> {
        found.sort_by_key(order_key);
        let mut kept = 0;
        for i in 0..found.len() {
            let f = found[i];
            if kept > 0 && found[kept - 1].overlaps(&f) {
                absorb(&mut found[kept - 1], f);
            } else {
                found[kept] = f;
                kept += 1;
            }
        }
        found.truncate(kept);
        found
    }

    /// [`drop_covered`] keeps the mentions the former code kept: with a disjoint `found`, a
    /// binary search per mention for the last finding starting at or before it; else a pass
    /// over all findings. Mentions as propagation makes them (two runs in position order), in
    /// one run, shuffled, with equal starts, before, inside and after the findings.
    #[test]
    fn drop_covered_equals_reference() {
        let reference = |found: &[Finding], extra: &mut Vec<Finding>| {
            let covered = |e: &Finding, f: &Finding| {
                f.start <= e.start && e.end <= f.end && f.confidence >= Confidence::Likely
            };
            if disjoint_sorted(found) {
                extra.retain(|e| {
                    let i = found.partition_point(|f| f.start <= e.start);
                    !(i > 0 && covered(e, &found[i - 1]))
                });
            } else {
                extra.retain(|e| !found.iter().any(|f| covered(e, f)));
            }
        };
        let confidences = [
            Confidence::Possible,
            Confidence::Likely,
            Confidence::VeryLikely,
        ];
        let mut rng = Rng::new(99);
        let finding = |rng: &mut Rng, span: u64| {
            let start = rng.below(span) as usize;
            Finding {
                start,
                end: start + 1 + rng.below(8) as usize,
                kind: EntityKind::Person,
                detector: "t",
                confidence: confidences[rng.below(3) as usize],
            }
        };
        let (mut dropped, mut kept) = (0, 0);
        for round in 0..20_000 {
            let span = [30, 200, 2000][round % 3];
            let mut found: Vec<Finding> = (0..rng.below(40))
                .map(|_| finding(&mut rng, span))
                .collect();
            found.sort_by_key(order_key);
            if round % 4 != 0 {
                // Disjoint, as most fields' findings are.
                found.dedup_by(|b, a| b.start < a.end);
            }
            let mut extra: Vec<Finding> = Vec::new();
            for _ in 0..rng.below(4) {
                let mut run: Vec<Finding> = (0..rng.below(30))
                    .map(|_| finding(&mut rng, span))
                    .collect();
                if round % 7 != 0 {
                    run.sort_by_key(order_key);
                }
                extra.extend(run);
            }
            // Mentions on a finding's exact span and inside it.
            for f in found.iter().take(3) {
                extra.push(*f);
                extra.push(Finding {
                    start: f.start + 1,
                    ..*f
                });
            }
            let mut expected = extra.clone();
            reference(&found, &mut expected);
            let before = extra.len();
            drop_covered(&found, &mut extra);
            assert_eq!(extra.len(), expected.len(), "{round}");
            for (a, b) in extra.iter().zip(&expected) {
                assert_eq!(
                    (a.start, a.end, a.confidence),
                    (b.start, b.end, b.confidence)
                );
            }
            kept += extra.len();
            dropped += before - extra.len();
        }
        assert!(kept > 10_000 && dropped > 10_000, "{kept} {dropped}");
    }

    /// `resolve_overlaps` equals the reference on random findings (disjoint ones, ones that
    /// overlap at the start, in the middle or only at the end, nested and equal spans) and on
    /// the corpus's detections before they are resolved.
    #[test]
    fn resolve_overlaps_equals_reference() {
        let kinds = [EntityKind::Person, EntityKind::Ssn, EntityKind::Phone];
        let confidences = [
            Confidence::Possible,
            Confidence::Likely,
            Confidence::VeryLikely,
        ];
        let mut rng = Rng::new(2026);
        let mut overlapping = 0;
        for round in 0..20_000 {
            let n = rng.below(if round % 4 == 0 { 80 } else { 8 }) as usize;
            // Wide positions: mostly disjoint; narrow ones: overlaps anywhere.
            let span = [4, 40, 4000][round % 3];
            let mut found: Vec<Finding> = (0..n)
                .map(|k| {
                    let start = rng.below(span) as usize;
                    Finding {
                        start,
                        end: start + rng.below(6) as usize,
                        kind: kinds[rng.below(3) as usize],
                        detector: ["a", "b", "c"][k % 3],
                        confidence: confidences[rng.below(3) as usize],
                    }
                })
                .collect();
            if round % 5 == 1 {
                // A disjoint run, then one overlap at its end.
                found.sort_by_key(order_key);
                found.dedup_by(|b, a| a.overlaps(b) || b.start < a.end);
                if let Some(&last) = found.last() {
                    found.push(Finding {
                        end: last.end + 3,
                        ..last
                    });
                }
            }
            let want = resolve_overlaps_reference(found.clone());
            overlapping += usize::from(want.len() < found.len());
            assert_eq!(
                resolve_overlaps(found.clone()),
                want,
                "round {round}: {found:?}"
            );
        }
        assert!(overlapping > 2_000, "{overlapping}");
        let chain = DetectorChain::standard(None).expect("chain");
        let corpus = generate(2026, 300);
        with_scratch(|scratch| {
            for text in corpus.field_texts() {
                scratch.start_record(1);
                let found = chain.detect_anew(text, FieldHint::default(), 0, scratch);
                // Resolved already; with its spans widened by one, neighbours overlap.
                let widened: Vec<Finding> = found
                    .iter()
                    .map(|f| Finding {
                        end: f.end + 1,
                        ..*f
                    })
                    .collect();
                for v in [found, widened] {
                    assert_eq!(resolve_overlaps(v.clone()), resolve_overlaps_reference(v));
                }
            }
        });
    }

    /// `resolve_overlaps` as it was before `sort_findings`: the library's sort, then the merge.
    fn resolve_overlaps_sorted(found: Vec<Finding>) -> Vec<Finding> {
        let mut found = found;
        found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        resolve_overlaps(found)
    }

    #[test]
    fn memorised_findings_equal_fresh_ones() {
        let chain = DetectorChain::standard(None).expect("chain");
        let corpus = generate(2026, 300);
        let hints = [
            FieldHint::default(),
            FieldHint {
                person: true,
                ..FieldHint::default()
            },
            FieldHint {
                cue: Some(Cue::Phone),
                ..FieldHint::default()
            },
        ];
        let (mut short, mut found, mut repeated) = (0, 0, 0);
        let mut seen = std::collections::HashSet::new();
        with_scratch(|scratch| {
            for text in corpus.field_texts() {
                for hint in hints {
                    scratch.start_record(1);
                    let fresh = chain.detect_anew(text, hint, 0, scratch);
                    scratch.start_record(1);
                    let first = chain.detect_in(text, hint, 0, scratch);
                    let again = chain.detect_in(text, hint, 0, scratch);
                    assert_eq!(first, fresh, "{hint:?}");
                    assert_eq!(again, fresh, "{hint:?}");
                    if text.len() <= memo::MAX_LEN {
                        short += 1;
                        found += usize::from(!fresh.is_empty());
                        repeated += usize::from(!seen.insert((text, memo::hint_key(hint))));
                    }
                }
            }
        });
        assert!(
            short > 5_000 && found > 1_000 && repeated > 1_000,
            "{short} {found} {repeated}"
        );
    }

    #[test]
    fn chains_share_the_shipped_detectors() {
        let a = DetectorChain::standard(None).expect("chain");
        let b = DetectorChain::standard(Some((r"\b[0-9]{8}\b", true))).expect("chain");
        assert!(std::ptr::eq(a.lexicon, b.lexicon));
        assert!(std::ptr::eq(a.names, b.names));
        assert!(std::ptr::eq(a.gazetteer(), b.gazetteer()));
        // Not the same chain: the memo tells them apart.
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn a_changed_chain_does_not_reuse_memorised_findings() {
        let mut chain = DetectorChain::standard(None).expect("chain");
        let other = DetectorChain::standard(None).expect("chain");
        let text = "BATTERY";
        let hint = FieldHint::default();
        with_scratch(|scratch| {
            scratch.start_record(1);
            assert!(chain.detect_in(text, hint, 0, scratch).is_empty());
            chain.push(Box::new(Everything));
            let after = chain.detect_in(text, hint, 0, scratch);
            assert_eq!(after.len(), 1);
            assert_eq!(after[0].detector, "test.everything");
            // Another chain does not see the first one's findings either.
            assert!(other.detect_in(text, hint, 0, scratch).is_empty());
            assert_eq!(chain.detect_in(text, hint, 0, scratch).len(), 1);
        });
    }

    /// The identifier search propagation used before `IdSearch`: up to 24 values, every
    /// occurrence of each (memchr's substring search), value by value; more, the leftmost-longest
    /// matches of a packed (Teddy) searcher, or of an NFA when the values do not suit it.
    fn reference_hits(hay: &[u8], values: &[(&str, EntityKind)]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if values.len() <= 24 {
            for (id, (v, _)) in values.iter().enumerate() {
                let finder = memchr::memmem::Finder::new(v.as_bytes());
                let mut from = 0;
                while let Some(p) = hay.get(from..).and_then(|h| finder.find(h)) {
                    out.push((from + p, id));
                    from += p + 1;
                }
            }
            return out;
        }
        let bytes = || values.iter().map(|(v, _)| v.as_bytes());
        let mut packed = aho_corasick::packed::Config::new();
        packed.match_kind(aho_corasick::packed::MatchKind::LeftmostLongest);
        match packed.builder().extend(bytes()).build() {
            Some(p) => out.extend(
                p.find_iter(hay)
                    .map(|m| (m.start(), m.pattern().as_usize())),
            ),
            None => {
                let ac = aho_corasick::AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                    .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                    .build(bytes())
                    .expect("automaton");
                out.extend(
                    ac.find_iter(hay)
                        .map(|m| (m.start(), m.pattern().as_usize())),
                );
            }
        }
        out
    }

    /// A search prepared for `values`.
    fn prepared(values: &[(&str, EntityKind)]) -> IdSearch {
        let mut search = IdSearch::default();
        search.prepare(values);
        search
    }

    /// Findings from hits, in the order `resolve_overlaps` sorts them (stable: equal spans keep
    /// their order).
    fn as_sorted(hits: &[(usize, usize)], values: &[(&str, EntityKind)]) -> Vec<Finding> {
        let mut f: Vec<Finding> = hits
            .iter()
            .map(|&(p, id)| Finding {
                start: p,
                end: p + values[id].0.len(),
                kind: values[id].1,
                detector: "propagation.identifier",
                confidence: Confidence::Likely,
            })
            .collect();
        f.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        f
    }

    /// Compares the one-pass search (and, up to 24 values, the per-value scan) with the
    /// reference on one field; returns the number of findings.
    fn check(hay: &str, values: &mut Vec<(&str, EntityKind)>) -> usize {
        values.sort_unstable();
        values.dedup();
        let want = as_sorted(&reference_hits(hay.as_bytes(), values), values);
        let search = prepared(values);
        let (mut buf, mut hits) = (Vec::new(), Vec::new());
        identifier_hits(hay.as_bytes(), values, Some(&search), &mut buf, |p, id| {
            hits.push((p, id))
        });
        assert_eq!(
            as_sorted(&hits, values),
            want,
            "one pass, {values:?} in {hay:?}"
        );
        hits.clear();
        identifier_hits(hay.as_bytes(), values, None, &mut buf, |p, id| {
            hits.push((p, id))
        });
        assert_eq!(
            as_sorted(&hits, values),
            want,
            "scan, {values:?} in {hay:?}"
        );
        want.len()
    }

    /// The identifier values propagation takes from `found` (findings of `text`).
    fn values_of<'a>(text: &'a str, found: &[Finding], out: &mut Vec<(&'a str, EntityKind)>) {
        for f in found.iter().filter(|f| f.confidence >= Confidence::Likely) {
            let value = &text[f.start..f.end];
            if f.kind.is_structured_identifier()
                && value.len() >= 5
                && (f.confidence == Confidence::Likely || f.detector == "column")
            {
                out.push((value, f.kind));
            }
        }
    }

    /// On generated records (text reports in chunks of about 8 KB, as the text format makes
    /// them, and every table row and JSON record), the one-pass search finds what the old
    /// search found, with few and with many values.
    #[test]
    fn identifier_search_matches_reference_on_corpus() {
        let chain = DetectorChain::standard(None).expect("chain");
        let corpus = generate(2026, 1000);
        let mut chunks = vec![String::new()];
        for r in &corpus.texts {
            for f in &r.fields {
                let last = chunks.last_mut().expect("a chunk");
                last.push_str(&f.text);
                last.push('\n');
                if last.len() >= 8 * 1024 {
                    chunks.push(String::new());
                }
            }
        }
        let mut records: Vec<Vec<String>> = chunks.into_iter().map(|c| vec![c]).collect();
        for r in corpus.texts.iter().chain(&corpus.json) {
            records.push(r.fields.iter().map(|f| f.text.clone()).collect());
        }
        for t in &corpus.tables {
            for r in &t.rows {
                records.push(r.fields.iter().map(|f| f.text.clone()).collect());
            }
        }
        let (mut many, mut few, mut found) = (0, 0, 0);
        for fields in &records {
            let per_field: Vec<Vec<Finding>> = fields
                .iter()
                .map(|t| chain.detect_field(t, FieldHint::default()))
                .collect();
            let mut values = Vec::new();
            for (t, f) in fields.iter().zip(&per_field) {
                values_of(t, f, &mut values);
            }
            if values.is_empty() {
                continue;
            }
            for t in fields {
                found += check(t, &mut values);
            }
            if values.len() > 24 {
                many += 1;
            } else {
                few += 1;
            }
        }
        assert!(
            many >= 20 && few >= 300 && found >= 3000,
            "{many} {few} {found}"
        );
    }

    /// Random fields over a small alphabet, with values cut from them or made up (one value
    /// under two kinds, values of 1 to 300 bytes, 1 to 90 of them): the one-pass search finds
    /// what the old search found.
    #[test]
    fn identifier_search_matches_reference_on_random_text() {
        let mut rng = Rng::new(17);
        let kinds = [EntityKind::Phone, EntityKind::Ssn, EntityKind::LicensePlate];
        let alphabet = b"1122a- B";
        let (mut many, mut found) = (0, 0);
        for round in 0..3000 {
            let len = rng.below(if round % 10 == 0 { 3000 } else { 700 }) as usize;
            let hay: String = (0..len).map(|_| char::from(*rng.pick(alphabet))).collect();
            let n = if rng.chance(0.3) {
                rng.range(25, 90)
            } else {
                rng.range(1, 24)
            };
            let long = rng.chance(0.05);
            let mut made = Vec::new();
            for _ in 0..n {
                // Now and then a value of one byte, which the one-pass search declines.
                let l = if long {
                    rng.range(2, 300)
                } else {
                    let shortest = if rng.chance(0.01) { 1 } else { 2 };
                    rng.range(shortest, 9)
                } as usize;
                if hay.len() > l && rng.chance(0.8) {
                    let at = rng.below((hay.len() - l) as u64) as usize;
                    made.push(hay[at..at + l].to_string());
                } else {
                    made.push(
                        (0..l)
                            .map(|_| char::from(*rng.pick(alphabet)))
                            .collect::<String>(),
                    );
                }
            }
            let mut values: Vec<(&str, EntityKind)> = made
                .iter()
                .map(|v| (v.as_str(), *rng.pick(&kinds)))
                .collect();
            if let Some(&(v, _)) = values.first() {
                values.push((v, EntityKind::MunicipalId));
            }
            found += check(&hay, &mut values);
            if values.len() > 24 {
                many += 1;
            }
        }
        assert!(many >= 500 && found >= 10_000, "{many} {found}");
    }

    /// Propagation finds the same in every field whatever the fields' order (the values are
    /// searched unsorted when they are told apart quickly): corpus table rows with their
    /// classified columns' values, and rows where one value comes under two kinds, or two
    /// values share their length and end bytes.
    #[test]
    fn propagation_does_not_depend_on_field_order() {
        let chain = DetectorChain::standard(None).expect("chain");
        let whole = |text: &str, kind| {
            vec![Finding {
                start: 0,
                end: text.len(),
                kind,
                detector: "column",
                confidence: Confidence::VeryLikely,
            }]
        };
        let mut records: Vec<Vec<(String, Option<EntityKind>)>> = vec![
            vec![
                ("312-555-0100".into(), Some(EntityKind::Phone)),
                ("call 312-555-0100 or 312-555-0199".into(), None),
                ("312-555-0100".into(), Some(EntityKind::MunicipalId)),
                ("312-555-0199".into(), Some(EntityKind::Passport)),
                ("Maria Garcia".into(), Some(EntityKind::Person)),
                ("Garcia 312-555-0100".into(), None),
            ],
            vec![
                ("A1234567".into(), Some(EntityKind::Passport)),
                ("A1294567".into(), Some(EntityKind::DriverLicense)),
                ("A1234567 A1294567 A12345678".into(), None),
                ("A12345678".into(), Some(EntityKind::MunicipalId)),
            ],
        ];
        let corpus = crate::corpus::generate(5, 200);
        for t in &corpus.tables {
            for r in t.rows.iter().take(100) {
                records.push(
                    r.fields
                        .iter()
                        .zip(&t.column_kinds)
                        .map(|(f, k)| (f.text.clone(), *k))
                        .collect(),
                );
            }
        }
        let (mut changed, mut rng) = (0, Rng::new(3));
        for fields in &records {
            let found = |order: &[usize]| {
                let texts: Vec<&str> = order.iter().map(|&i| fields[i].0.as_str()).collect();
                let mut per_field: Vec<Vec<Finding>> = order
                    .iter()
                    .map(|&i| match fields[i].1 {
                        Some(kind) => whole(&fields[i].0, kind),
                        None => chain.detect_field(&fields[i].0, FieldHint::default()),
                    })
                    .collect();
                let before: usize = per_field.iter().map(Vec::len).sum();
                chain.propagate(&texts, &mut per_field);
                let after: usize = per_field.iter().map(Vec::len).sum();
                let mut by_field = vec![Vec::new(); fields.len()];
                for (&i, f) in order.iter().zip(per_field) {
                    by_field[i] = f;
                }
                (by_field, before != after)
            };
            let natural: Vec<usize> = (0..fields.len()).collect();
            let (want, grew) = found(&natural);
            changed += usize::from(grew);
            for _ in 0..4 {
                let mut order = natural.clone();
                for k in (1..order.len()).rev() {
                    order.swap(k, rng.below(k as u64 + 1) as usize);
                }
                assert_eq!(found(&order).0, want, "{fields:?}");
            }
        }
        assert!(changed >= 2, "{changed}");
    }

    /// A text that repeats the values' bytes would have the one-pass search compare at every
    /// position with every value: it gives up within its budget, and the per-value scans
    /// that take over find what the reference finds, with few values and with many.
    #[test]
    fn identifier_search_gives_up_on_degenerate_text() {
        let hay = "7".repeat(100_000);
        let made: Vec<String> = (0..40).map(|i| format!("{}{i}", "7".repeat(60))).collect();
        for n in [3, 40] {
            let mut values: Vec<(&str, EntityKind)> = made[..n]
                .iter()
                .map(|v| (v.as_str(), EntityKind::Phone))
                .collect();
            values.push(("7777777", EntityKind::Ssn));
            values.sort_unstable();
            let search = prepared(&values);
            let mut calls = 0;
            assert!(!search.find(hay.as_bytes(), &values, |_, _| calls += 1));
            assert!(calls > 0 && calls < hay.len(), "{calls}");
            assert!(check(&hay, &mut values) > 0);
        }
    }
}
