//! Findings of short fields already detected on a thread, by text and hint.
//!
//! Table columns and JSON keys repeat their values ("BATTERY", "English", a date), and a
//! field's findings depend on nothing but its text, its hint and the detector chain, so a value
//! seen before is not detected again. Direct-mapped: a value that never repeats (a booking
//! number) only ever takes one slot from another, and a slot's buffers are reused when it is
//! overwritten, so the memo allocates nothing once warm.

use super::FieldHint;
use crate::entity::Finding;

/// Fields longer than this are detected every time: long values rarely repeat, and their
/// detection costs far more than the look-up saves anyway.
pub(crate) const MAX_LEN: usize = 64;

/// Slots per thread (a power of two). 4,096, not 1,024: a table's unique values (booking
/// numbers) and its classification sample overwrote the repeated ones before they came round
/// again. Full, the slots hold about 0.6 MB per thread (16,384 saved more, for four times that).
const SLOTS: usize = 4096;

#[derive(Default)]
pub(crate) struct FieldMemo {
    /// The chain the slots' findings are from: a thread's scratch serves every redactor.
    chain: u64,
    slots: Vec<Slot>,
}

#[derive(Default)]
struct Slot {
    filled: bool,
    /// Found by a look-up since it was filled or last spared: a value that repeats.
    used: bool,
    hint: u16,
    text: Vec<u8>,
    findings: Vec<Finding>,
}

/// The hint as a number: equal for equal hints, different for different ones.
pub(super) fn hint_key(hint: FieldHint) -> u16 {
    let cue = hint.cue.map_or(0, |c| c as u16 + 1);
    cue << 2 | u16::from(hint.person) << 1 | u16::from(hint.birthplace)
}

/// A hash of the text and hint, eight bytes at a time.
fn slot_of(text: &[u8], hint: u16) -> usize {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (u64::from(hint) ^ text.len() as u64).wrapping_mul(K);
    let mut chunks = text.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    (h >> 32) as usize & (SLOTS - 1)
}

impl FieldMemo {
    /// Forgets everything if the slots are from another chain than `chain`.
    fn serve(&mut self, chain: u64) {
        if self.chain != chain {
            for s in &mut self.slots {
                s.filled = false;
            }
            self.chain = chain;
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, Slot::default);
        }
    }

    /// The findings remembered for `text` with `hint` under `chain`, if any.
    pub(crate) fn get(&mut self, chain: u64, text: &str, hint: FieldHint) -> Option<&[Finding]> {
        self.serve(chain);
        let hint = hint_key(hint);
        let slot = self.slots.get_mut(slot_of(text.as_bytes(), hint))?;
        if slot.filled && slot.hint == hint && slot.text == text.as_bytes() {
            slot.used = true;
            Some(slot.findings.as_slice())
        } else {
            None
        }
    }

    /// Remembers `findings` for `text` with `hint` under `chain`, in place of what the slot
    /// held, unless that was found again since it was stored: then it is spared once (a
    /// second chance), so that a run of values that never repeat (booking numbers) cannot
    /// evict a value that does before it comes round again.
    pub(crate) fn put(&mut self, chain: u64, text: &str, hint: FieldHint, findings: &[Finding]) {
        self.serve(chain);
        let hint = hint_key(hint);
        if let Some(slot) = self.slots.get_mut(slot_of(text.as_bytes(), hint)) {
            if slot.filled && slot.used {
                slot.used = false;
                return;
            }
            slot.filled = true;
            slot.hint = hint;
            slot.text.clear();
            slot.text.extend_from_slice(text.as_bytes());
            slot.findings.clear();
            slot.findings.extend_from_slice(findings);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::cues::Cue;
    use crate::entity::{Confidence, EntityKind};

    fn finding(end: usize) -> Finding {
        Finding {
            start: 0,
            end,
            kind: EntityKind::Person,
            detector: "test",
            confidence: Confidence::Likely,
        }
    }

    #[test]
    fn hints_are_told_apart() {
        let hints = [
            FieldHint::default(),
            FieldHint {
                person: true,
                ..FieldHint::default()
            },
            FieldHint {
                birthplace: true,
                ..FieldHint::default()
            },
            FieldHint {
                cue: Some(Cue::Ssn),
                ..FieldHint::default()
            },
            FieldHint {
                cue: Some(Cue::MunicipalId),
                person: true,
                birthplace: true,
            },
        ];
        let keys: std::collections::HashSet<u16> = hints.iter().map(|h| hint_key(*h)).collect();
        assert_eq!(keys.len(), hints.len());
    }

    #[test]
    fn remembers_by_text_hint_and_chain() {
        let mut memo = FieldMemo::default();
        let plain = FieldHint::default();
        let person = FieldHint {
            person: true,
            ..plain
        };
        memo.put(1, "Maria", person, &[finding(5)]);
        memo.put(1, "BATTERY", plain, &[]);
        assert_eq!(memo.get(1, "Maria", person).map(<[_]>::len), Some(1));
        assert_eq!(memo.get(1, "BATTERY", plain).map(<[_]>::len), Some(0));
        assert!(memo.get(1, "Maria", plain).is_none());
        assert!(memo.get(1, "Mari", person).is_none());
        // Another chain (another policy's detectors): nothing is known.
        assert!(memo.get(2, "BATTERY", plain).is_none());
        assert!(memo.get(1, "BATTERY", plain).is_none());
    }

    #[test]
    fn a_value_found_again_is_spared_once() {
        let mut memo = FieldMemo::default();
        let plain = FieldHint::default();
        let key = hint_key(plain);
        let slot = slot_of(b"BATTERY", key);
        // Values that never repeat (booking numbers) landing in the same slot.
        let mut unique = (0..).map(|i| format!("{i:08}"));
        let mut colliding = || unique.find(|t| slot_of(t.as_bytes(), key) == slot);
        let [first, second, third] = [(); 3].map(|()| colliding().expect("numbers are endless"));
        memo.put(3, "BATTERY", plain, &[]);
        // Not yet found again: the next value takes its slot.
        memo.put(3, &first, plain, &[finding(1)]);
        assert!(memo.get(3, "BATTERY", plain).is_none());
        memo.put(3, "BATTERY", plain, &[]);
        assert!(memo.get(3, "BATTERY", plain).is_some());
        // Found again: spared by the next value...
        memo.put(3, &second, plain, &[finding(2)]);
        assert!(memo.get(3, "BATTERY", plain).is_some());
        assert!(memo.get(3, &second, plain).is_none());
        // ... but not by two in a row without being found between them.
        memo.put(3, &third, plain, &[finding(3)]);
        memo.put(3, &third, plain, &[finding(3)]);
        assert!(memo.get(3, "BATTERY", plain).is_none());
        assert_eq!(memo.get(3, &third, plain), Some(&[finding(3)][..]));
    }

    #[test]
    fn an_overwritten_slot_answers_only_for_its_new_text() {
        let mut memo = FieldMemo::default();
        let plain = FieldHint::default();
        // Many distinct values: some share slots, and each slot answers for its last text only.
        let texts: Vec<String> = (0..5 * SLOTS).map(|i| format!("value {i}")).collect();
        for (i, t) in texts.iter().enumerate() {
            memo.put(7, t, plain, &[finding(i % 7 + 1)]);
        }
        let mut hits = 0;
        for (i, t) in texts.iter().enumerate() {
            if let Some(f) = memo.get(7, t, plain) {
                assert_eq!(f, [finding(i % 7 + 1)]);
                hits += 1;
            }
        }
        assert!(hits > 0 && hits <= SLOTS, "{hits} hits");
    }
}
