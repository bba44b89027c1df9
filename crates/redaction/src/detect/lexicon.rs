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
use super::cues::{is_word_bounded, sentence_end, CueHit, CUE_WORDS};
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
    /// The automaton's unanchored start state.
    start: StateID,
    /// Per pattern: its list and index in that list.
    entries: Vec<(List, usize)>,
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
        Ok(Lexicon {
            automaton,
            start,
            entries,
        })
    }

    /// Every occurrence of every list word in `bytes`, overlapping ones included, into `raw`
    /// (per list), in the order the library's overlapping search reports them: by end, then
    /// by the order the automaton's match state holds them. A plain loop over the DFA's
    /// transitions instead of `find_overlapping_iter`, which keeps its position in a state
    /// struct read and written at every byte (this pass went from 41.3 to 37.7 M
    /// instructions per text redaction of `generate(2026, 3000)`). List words are never
    /// empty, so no match ends at offset 0 and only states reached on a byte need checking.
    fn overlapping(&self, bytes: &[u8], raw: &mut [Vec<WordHit>; 4]) {
        let dfa = &self.automaton;
        let mut sid = self.start;
        for (at, &b) in bytes.iter().enumerate() {
            sid = dfa.next_state(Anchored::No, sid, b);
            // Without a prefilter only dead and match states are special.
            if !dfa.is_special(sid) {
                continue;
            }
            if dfa.is_dead(sid) {
                // Unreachable in an unanchored search of this kind; where the library stops too.
                break;
            }
            for k in 0..dfa.match_len(sid) {
                let pattern = dfa.match_pattern(sid, k);
                let (list, index) = self.entries[pattern.as_usize()];
                raw[list as usize].push(WordHit {
                    start: at + 1 - dfa.pattern_len(pattern),
                    end: at + 1,
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
                    reach: sentence_end(bytes, h.end),
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
fn leftmost_longest(hits: &mut Vec<WordHit>) {
    hits.sort_unstable_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
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
        let mut texts: Vec<String> = corpus
            .texts
            .iter()
            .chain(&corpus.json)
            .flat_map(|r| r.fields.iter().map(|f| f.text.clone()))
            .collect();
        for t in &corpus.tables {
            texts.extend(
                t.rows
                    .iter()
                    .flat_map(|r| r.fields.iter().map(|f| f.text.clone())),
            );
        }
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
