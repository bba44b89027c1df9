//! Every word list of the detectors (context cues, status phrases, birthplace cues, demonyms) in
//! one ASCII case-insensitive Aho-Corasick DFA: one pass over a field finds them all.
//!
//! The lists were separate leftmost-longest automata; a merged leftmost-longest automaton would
//! let a phrase of one list hide a word of another ("born in" over "born"). So the merged
//! automaton reports every occurrence (overlapping search) and each list then keeps its own
//! leftmost-longest, non-overlapping selection, exactly what its own automaton found.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{dfa::DFA, Anchored, MatchKind};

use super::bytes::{ByteSet, LETTERS};
use super::contextual::{BIRTHPLACE_CUES, DEMONYMS};
use super::cues::{is_word_bounded, CueHit, CUE_WORDS};
use super::names::FnvMap;
use super::status::STATUS_PHRASES;
use super::DetectError;

/// Which list a word belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Cue,
    Status,
    Birthplace,
    Demonym,
}

/// A word of one list found in a field: byte span and its index in that list.
#[derive(Debug, Clone, Copy)]
pub struct WordHit {
    /// Byte offset of the word's start.
    pub start: usize,
    /// Byte offset one past the word.
    pub end: usize,
    /// Index in the list (`STATUS_PHRASES`, `BIRTHPLACE_CUES`, `DEMONYMS`).
    pub index: usize,
}

/// What one pass found in a field, per list, each sorted by position and word-bounded.
#[derive(Debug, Default)]
pub struct LexiconHits {
    /// Context cues.
    pub cues: Vec<CueHit>,
    /// Immigration status phrases.
    pub status: Vec<WordHit>,
    /// Place-of-birth cues.
    pub birthplace: Vec<WordHit>,
    /// Demonyms.
    pub demonyms: Vec<WordHit>,
    raw: [Vec<WordHit>; 4],
}

impl LexiconHits {
    /// Empties every list, keeping the buffers.
    pub fn clear(&mut self) {
        self.cues.clear();
        self.status.clear();
        self.birthplace.clear();
        self.demonyms.clear();
        for r in &mut self.raw {
            r.clear();
        }
    }
}

/// The merged automaton.
pub struct Lexicon {
    automaton: DFA,
    /// The same transitions in a table of this module's own, walked by the pass.
    table: Table,
    /// Per pattern: its list and index in that list.
    entries: Vec<(List, usize)>,
}

/// The DFA's transitions copied into one flat table of this module's own (2,387 states × 49
/// byte classes on the shipped lists: 0.47 MB used of its 1 MiB, built once per process), so that the pass is a
/// loop of one class read, one transition read and one compare per byte ([`Table::to_special`]).
/// Walking the library's `next_state` inside the pass, with the match handling in the same
/// loop, kept the state and position on the stack: ~14 instructions a byte against 10 (the
/// pass went from 30.2 to 20.6 M instructions per text redaction of `generate(2026, 3000)`).
/// States are the library's, renumbered so that its special ones (the dead state and the
/// states where words end) come first; a match state's words are read from the library by the
/// state it stands for. A test checks every transition against the library's.
#[derive(Debug)]
struct Table {
    /// Per state, per byte class: the next state, as its index times `stride`; the rest zero.
    /// A fixed power-of-two size, so that an index masked with [`TABLE_MASK`] needs no bounds
    /// check in the pass (two instructions of about nine a byte).
    next: Box<[u32; TABLE_SLOTS]>,
    /// Byte → class. Bytes of no list word are one class, and a letter's two cases one
    /// (the automaton is ASCII case-insensitive); the build checks this, byte by byte and
    /// state by state, against the library and falls back to one class per byte.
    class: [u8; 256],
    stride: u32,
    /// States below this (times `stride`) are special in the library's DFA.
    special_below: u32,
    /// The start state (times `stride`).
    start: u32,
    /// Per state: the library's state.
    states: Vec<StateID>,
}

/// Room in [`Table::next`]: the shipped lists take 2,387 states × 49 classes (116,963).
const TABLE_SLOTS: usize = 1 << 18;
const TABLE_MASK: usize = TABLE_SLOTS - 1;

impl Table {
    /// Walks from state `s` (times `stride`) at byte `at` to the next special state: where
    /// it was reached (one past the byte that led there) and the state, or `None` at the end
    /// of `bytes`. A function of its own, so that the loop keeps its state in registers (inside
    /// the pass, with the match handling around it, the state and position went through the
    /// stack at every byte).
    #[inline(never)]
    fn to_special(&self, bytes: &[u8], at: usize, mut s: u32) -> Option<(usize, u32)> {
        let (next, class, special) = (&*self.next, &self.class, self.special_below);
        // Every entry is below `states.len() * stride` (built so), so the mask changes no
        // index; it only spares the bounds check.
        let step =
            |s: u32, b: u8| next[(s + u32::from(class[usize::from(b)])) as usize & TABLE_MASK];
        // Blocks of eight, the inner loop unrolled: one loop test per block, not per byte
        // (with the mask, about 7 instructions a byte against 9).
        let rest = bytes.get(at..)?;
        let mut blocks = rest.chunks_exact(8);
        for (q, block) in blocks.by_ref().enumerate() {
            for (k, &b) in block.iter().enumerate() {
                s = step(s, b);
                if s < special {
                    return Some((at + 8 * q + k + 1, s));
                }
            }
        }
        let done = rest.len() - blocks.remainder().len();
        for (k, &b) in blocks.remainder().iter().enumerate() {
            s = step(s, b);
            if s < special {
                return Some((at + done + k + 1, s));
            }
        }
        None
    }

    fn new(dfa: &DFA, start: StateID, words: &[&str]) -> Option<Table> {
        let mut class = [0u8; 256];
        let mut classes = 1u32;
        for b in words.iter().flat_map(|w| w.bytes()) {
            let folded = usize::from(b.to_ascii_lowercase());
            if class[folded] == 0 {
                class[folded] = u8::try_from(classes).ok()?;
                classes += 1;
            }
        }
        for b in 0..=255u8 {
            class[usize::from(b)] = class[usize::from(b.to_ascii_lowercase())];
        }
        Table::build(dfa, start, class, classes).or_else(|| {
            // One class per byte: always exact, only larger.
            let mut identity = [0u8; 256];
            for (i, c) in identity.iter_mut().enumerate() {
                *c = i as u8;
            }
            Table::build(dfa, start, identity, 256)
        })
    }

    /// The table with these byte classes, or `None` if two bytes of one class lead somewhere
    /// different from some state.
    fn build(dfa: &DFA, start: StateID, class: [u8; 256], classes: u32) -> Option<Table> {
        // Each class's first byte, in byte order: walking them visits states in the order a
        // walk over all 256 bytes would.
        let mut rep = vec![None; classes as usize];
        for b in 0..=255u8 {
            rep[usize::from(class[usize::from(b)])].get_or_insert(b);
        }
        let mut rep: Vec<u8> = rep.into_iter().collect::<Option<_>>()?;
        rep.sort_unstable();
        // Every state reachable from the start, numbered in the order first reached. Start-up
        // time: hashing every state for all 256 bytes with the default hasher was 137 M
        // instructions, most of the redactor's construction.
        let mut order = vec![start];
        let mut seen: FnvMap<StateID, ()> = FnvMap::default();
        seen.insert(start, ());
        let mut by_class = vec![start; classes as usize];
        let mut i = 0;
        while let Some(&sid) = order.get(i) {
            for &r in &rep {
                let next = dfa.next_state(Anchored::No, sid, r);
                by_class[usize::from(class[usize::from(r)])] = next;
                if seen.insert(next, ()).is_none() {
                    order.push(next);
                }
            }
            for b in 0..=255u8 {
                let next = dfa.next_state(Anchored::No, sid, b);
                if next != by_class[usize::from(class[usize::from(b)])] {
                    return None;
                }
            }
            i += 1;
        }
        // Special states first, each group in the order reached.
        let (mut states, rest): (Vec<StateID>, Vec<StateID>) =
            order.into_iter().partition(|&sid| dfa.is_special(sid));
        let special = states.len();
        states.extend(rest);
        let index: FnvMap<StateID, u32> = states
            .iter()
            .enumerate()
            .map(|(i, &sid)| Some((sid, u32::try_from(i).ok()?.checked_mul(classes)?)))
            .collect::<Option<_>>()?;
        // Rows by class number (class 0 first), as the search indexes them.
        let mut by_number = vec![0u8; classes as usize];
        for &r in &rep {
            by_number[usize::from(class[usize::from(r)])] = r;
        }
        let mut next: Box<[u32; TABLE_SLOTS]> =
            vec![0; TABLE_SLOTS].into_boxed_slice().try_into().ok()?;
        let mut slots = next.iter_mut();
        for &sid in &states {
            for &r in &by_number {
                *slots.next()? = *index.get(&dfa.next_state(Anchored::No, sid, r))?;
            }
        }
        Some(Table {
            next,
            class,
            stride: classes,
            special_below: u32::try_from(special).ok()?.checked_mul(classes)?,
            start: *index.get(&start)?,
            states,
        })
    }
}

impl Lexicon {
    /// Builds the automaton over the four lists.
    pub fn new() -> Result<Self, DetectError> {
        let mut words: Vec<&str> = Vec::new();
        let mut entries = Vec::new();
        for (list, items) in [
            (
                List::Cue,
                CUE_WORDS.iter().map(|(w, _)| *w).collect::<Vec<_>>(),
            ),
            (List::Status, STATUS_PHRASES.to_vec()),
            (List::Birthplace, BIRTHPLACE_CUES.to_vec()),
            (List::Demonym, DEMONYMS.to_vec()),
        ] {
            for (i, w) in items.into_iter().enumerate() {
                words.push(w);
                entries.push((list, i));
            }
        }
        let pattern_error = |e: &dyn std::fmt::Display| DetectError::Pattern(e.to_string());
        // No prefilter: it is only consulted by the library's own search loops.
        let automaton = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&words)
            .map_err(|e| pattern_error(&e))?;
        let start = automaton
            .start_state(Anchored::No)
            .map_err(|e| pattern_error(&e))?;
        let table = Table::new(&automaton, start, &words)
            .ok_or_else(|| pattern_error(&"word-list automaton too large for its table"))?;
        Ok(Lexicon {
            automaton,
            table,
            entries,
        })
    }

    /// Every occurrence of every list word in `bytes`, overlapping ones included, into `raw`
    /// (per list), in the order the library's overlapping search reports them: by end, then
    /// by the order the automaton's match state holds them. A plain loop over the DFA's
    /// transitions (its [`Table`]) instead of `find_overlapping_iter`, which keeps its position
    /// in a state struct read and written at every byte. List words are never empty, so no
    /// match ends at offset 0 and only states reached on a byte need checking.
    fn overlapping(&self, bytes: &[u8], raw: &mut [Vec<WordHit>; 4]) {
        let dfa = &self.automaton;
        let t = &self.table;
        let (mut at, mut s) = (0, t.start);
        while let Some((end, state)) = t.to_special(bytes, at, s) {
            (at, s) = (end, state);
            // Without a prefilter only dead and match states are special.
            let sid = t.states[(s / t.stride) as usize];
            if dfa.is_dead(sid) {
                // Unreachable in an unanchored search of this kind; where the library stops too.
                break;
            }
            for k in 0..dfa.match_len(sid) {
                let pattern = dfa.match_pattern(sid, k);
                let (list, index) = self.entries[pattern.as_usize()];
                raw[list as usize].push(WordHit {
                    start: end - dfa.pattern_len(pattern),
                    end,
                    index,
                });
            }
        }
    }

    /// Finds every list's words in `text` (whose bytes are among `present`) into `out` (cleared
    /// first).
    pub fn scan(&self, text: &str, present: &ByteSet, out: &mut LexiconHits) {
        out.clear();
        let bytes = text.as_bytes();
        // No list word is without an ASCII letter: a field of digits and punctuation (most table
        // cells) has none, and the scan is skipped.
        if !present.intersects(&LETTERS) {
            return;
        }
        self.overlapping(bytes, &mut out.raw);
        let [cues, status, birthplace, demonyms] = &mut out.raw;
        leftmost_longest(cues);
        for h in cues.iter() {
            if is_word_bounded(bytes, h.start, h.end) {
                out.cues.push(CueHit {
                    start: h.start,
                    end: h.end,
                    cue: CUE_WORDS[h.index].1,
                });
            }
        }
        for (raw, kept) in [
            (status, &mut out.status),
            (birthplace, &mut out.birthplace),
            (demonyms, &mut out.demonyms),
        ] {
            leftmost_longest(raw);
            kept.extend(
                raw.iter()
                    .filter(|h| is_word_bounded(bytes, h.start, h.end))
                    .copied(),
            );
        }
    }
}

/// Keeps, in place, what a leftmost-longest search would report: from the left, the longest
/// word starting first, then the next one starting at or after its end.
///
/// The hits come from the overlapping search in order of their ends, so they are in start order
/// but for words inside longer ones ("dl" in "dl no", "born" in "born in"): an insertion sort
/// moves only those, a few places each, where `sort_unstable` had sorted each field's hits
/// afresh (~1 % of a text redaction). No list holds a word twice, so no two hits of a list
/// have the same span and every sort gives one order (a test checks the lists).
fn leftmost_longest(hits: &mut Vec<WordHit>) {
    let key = |h: &WordHit| (h.start, std::cmp::Reverse(h.end));
    for i in 1..hits.len() {
        let h = hits[i];
        let mut j = i;
        while j > 0 && key(&h) < key(&hits[j - 1]) {
            hits[j] = hits[j - 1];
            j -= 1;
        }
        hits[j] = h;
    }
    let mut end = 0;
    let mut kept = 0;
    for i in 0..hits.len() {
        let h = hits[i];
        if kept > 0 && h.start < end {
            continue;
        }
        hits[kept] = h;
        kept += 1;
        end = h.end;
    }
    hits.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::cues::{Cue, CueMatcher};
    use aho_corasick::AhoCorasickBuilder;

    /// The hand-written loop reports what the library's overlapping search reports, hit for
    /// hit and in the same order, on generated reports, tables and JSON values, and on texts
    /// with words overlapping, adjacent, at both ends and in mixed case.
    #[test]
    fn overlapping_loop_matches_the_library() {
        let lexicon = Lexicon::new().unwrap();
        assert!(lexicon.automaton.min_pattern_len() >= 1);
        let mut words: Vec<&str> = CUE_WORDS.iter().map(|(w, _)| *w).collect();
        for list in [STATUS_PHRASES, BIRTHPLACE_CUES, DEMONYMS] {
            words.extend_from_slice(list);
        }
        let library = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&words)
            .unwrap();
        let corpus = crate::corpus::generate(2026, 300);
        let mut texts: Vec<String> = corpus.field_texts().map(String::from).collect();
        texts.extend(
            [
                "born in",
                "BORN IN MEXICO",
                "bornin",
                "dldl#dl no",
                "Mexican-American",
                "t visa",
                "out visa overstay",
                "",
                "x",
            ]
            .map(String::from),
        );
        let mut compared = 0;
        for t in &texts {
            let mut raw: [Vec<WordHit>; 4] = Default::default();
            lexicon.overlapping(t.as_bytes(), &mut raw);
            let mut got: Vec<(usize, usize, usize)> = Vec::new();
            let mut next = [0usize; 4];
            for m in library.find_overlapping_iter(t.as_str()) {
                let (list, index) = lexicon.entries[m.pattern().as_usize()];
                let hit = raw[list as usize].get(next[list as usize]);
                next[list as usize] += 1;
                assert_eq!(
                    hit.map(|h| (h.start, h.end, h.index)),
                    Some((m.start(), m.end(), index)),
                    "{t}"
                );
                got.push((m.start(), m.end(), index));
            }
            let counts: Vec<usize> = raw.iter().map(Vec::len).collect();
            assert_eq!(counts, next, "{t}");
            compared += got.len();
        }
        assert!(compared > 1_000, "{compared} hits compared");
    }

    /// The table stands for the library's DFA: from every state, on every byte, its next
    /// state is the library's next state; its special states are the library's; and the byte
    /// classes are the compact ones, not the one-class-per-byte fallback.
    #[test]
    fn table_has_the_library_transitions() {
        let lexicon = Lexicon::new().unwrap();
        let (dfa, t) = (&lexicon.automaton, &lexicon.table);
        assert!(t.stride < 64, "{} classes", t.stride);
        assert!(t.states.len() * t.stride as usize <= TABLE_SLOTS);
        assert_eq!(
            t.states[(t.start / t.stride) as usize],
            dfa.start_state(Anchored::No).unwrap()
        );
        let mut matching = 0;
        for (i, &sid) in t.states.iter().enumerate() {
            let s = i as u32 * t.stride;
            assert_eq!(dfa.is_special(sid), s < t.special_below, "{i}");
            matching += usize::from(dfa.is_match(sid));
            for b in 0..=255u8 {
                let next = t.next[(s + u32::from(t.class[usize::from(b)])) as usize];
                assert_eq!(next % t.stride, 0);
                assert_eq!(
                    t.states[(next / t.stride) as usize],
                    dfa.next_state(Anchored::No, sid, b),
                    "state {i} byte {b}"
                );
            }
        }
        assert!(matching > 300, "{matching} match states");
    }

    /// No list holds a word twice (ASCII case folded), so two hits of one list never share a
    /// span, and sorting a list's hits by span has one result whichever sort is used.
    #[test]
    fn no_list_holds_a_word_twice() {
        let cues: Vec<&str> = CUE_WORDS.iter().map(|(w, _)| *w).collect();
        for list in [&cues[..], STATUS_PHRASES, BIRTHPLACE_CUES, DEMONYMS] {
            let mut folded: Vec<String> = list.iter().map(|w| w.to_ascii_lowercase()).collect();
            folded.sort();
            let n = folded.len();
            folded.dedup();
            assert_eq!(folded.len(), n, "{list:?}");
        }
    }

    /// The insertion sort orders hits as the library sort did: on random hits, few or many,
    /// in order of their ends (as the search gives them) or in any order.
    #[test]
    fn insertion_sort_keeps_the_selection() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for case in 0..2000 {
            let mut hits: Vec<WordHit> = (0..next(40))
                .map(|_| {
                    let start = next(60);
                    WordHit {
                        start,
                        end: start + 1 + next(12),
                        index: next(5),
                    }
                })
                .collect();
            // Unique spans, as the lists guarantee.
            hits.sort_by_key(|h| (h.start, h.end));
            hits.dedup_by_key(|h| (h.start, h.end));
            if case % 2 == 0 {
                hits.sort_by_key(|h| h.end);
            } else {
                hits.reverse();
            }
            let mut want = hits.clone();
            want.sort_unstable_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
            let mut end = 0;
            want.retain(|h| {
                let keep = h.start >= end;
                if keep {
                    end = h.end;
                }
                keep
            });
            leftmost_longest(&mut hits);
            let spans = |v: &[WordHit]| {
                v.iter()
                    .map(|h| (h.start, h.end, h.index))
                    .collect::<Vec<_>>()
            };
            assert_eq!(spans(&hits), spans(&want));
        }
    }

    /// The merged pass finds what the separate leftmost-longest automata found.
    #[test]
    fn same_hits_as_separate_automata() {
        let lexicon = Lexicon::new().unwrap();
        let cues = CueMatcher::new().unwrap();
        let separate = |words: &[&str], text: &str| -> Vec<(usize, usize, usize)> {
            let ac = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(words)
                .unwrap();
            ac.find_iter(text)
                .filter(|m| is_word_bounded(text.as_bytes(), m.start(), m.end()))
                .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
                .collect()
        };
        let texts = [
            "He was born in Guadalajara. DOB: 01/02/1980, SSN 123-45-6789, plate no ABC123.",
            "BORN ON 3/4/1990 IN MEXICO; A MEXICAN NATIONAL, DACA RECIPIENT, LPR, TPS holder",
            "regardless of immigration status, the undocumented immigrant's social is 594 70 0666",
            "citizenship: Honduran; country of birth Honduras; nacido en Oaxaca, mexicano",
            "dl dl# dl no lp# lp tag tags plates plate number, phone tel cell ph: 773",
            "",
            "12345 678",
        ];
        for t in texts {
            let mut hits = LexiconHits::default();
            lexicon.scan(t, &ByteSet::ALL, &mut hits);
            let got: Vec<(usize, usize, Cue)> =
                hits.cues.iter().map(|h| (h.start, h.end, h.cue)).collect();
            let want: Vec<(usize, usize, Cue)> = cues
                .find(t)
                .iter()
                .map(|h| (h.start, h.end, h.cue))
                .collect();
            assert_eq!(got, want, "{t}");
            for (list, kept) in [
                (STATUS_PHRASES, &hits.status),
                (BIRTHPLACE_CUES, &hits.birthplace),
                (DEMONYMS, &hits.demonyms),
            ] {
                let got: Vec<_> = kept.iter().map(|h| (h.start, h.end, h.index)).collect();
                assert_eq!(got, separate(list, t), "{t}");
            }
        }
    }
}
