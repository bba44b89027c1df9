//! Evaluation against the synthetic corpus: recall and precision per entity kind (span overlap,
//! same kind), leak rate (gold values left verbatim in the released text), and column
//! classification accuracy; plus the targets as a checklist.

use std::collections::BTreeMap;

use crate::columns::hint_for;
use crate::columns::{classify_column, ColumnRole};
use crate::corpus::{Corpus, GoldField};
use crate::detect::cues::is_word_bounded;
use crate::entity::{EntityKind, Finding};
use crate::formats::json::role_for_pointer;
use crate::redactor::{FieldRole, Redactor};

/// Counts for one kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct KindStats {
    /// Gold spans.
    pub gold: u64,
    /// Gold spans overlapped by a finding of the same kind.
    pub found: u64,
    /// Findings of this kind (at or above the policy threshold).
    pub predicted: u64,
    /// Findings of this kind that overlap a gold span of the same kind.
    pub correct: u64,
    /// Gold values still present verbatim in the output.
    pub leaked: u64,
}

impl KindStats {
    /// found / gold (1 when there is no gold).
    pub fn recall(&self) -> f64 {
        if self.gold == 0 {
            1.0
        } else {
            self.found as f64 / self.gold as f64
        }
    }
    /// correct / predicted (1 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        if self.predicted == 0 {
            1.0
        } else {
            self.correct as f64 / self.predicted as f64
        }
    }
}

/// The evaluation result.
#[derive(Debug, Clone, Default)]
pub struct EvalReport {
    /// Per-kind counts.
    pub kinds: BTreeMap<EntityKind, KindStats>,
    /// Table columns evaluated.
    pub columns: u64,
    /// Columns classified correctly (entity kind, or not-an-entity).
    pub columns_correct: u64,
    /// Bytes of text evaluated.
    pub bytes: u64,
    /// Collect misses and false findings of this kind (synthetic values only) in `errors`.
    pub show_errors: Option<EntityKind>,
    /// Misses and false findings, when `show_errors` is set.
    pub errors: Vec<String>,
}

impl EvalReport {
    /// Share of gold values left verbatim in the output, over all kinds.
    pub fn leak_rate(&self) -> f64 {
        let gold: u64 = self.kinds.values().map(|k| k.gold).sum();
        let leaked: u64 = self.kinds.values().map(|k| k.leaked).sum();
        if gold == 0 {
            0.0
        } else {
            leaked as f64 / gold as f64
        }
    }

    /// Column classification accuracy.
    pub fn column_accuracy(&self) -> f64 {
        if self.columns == 0 {
            1.0
        } else {
            self.columns_correct as f64 / self.columns as f64
        }
    }

    /// Stats for a kind (zeros when absent).
    pub fn kind(&self, k: EntityKind) -> KindStats {
        self.kinds.get(&k).copied().unwrap_or_default()
    }

    /// The targets that this report misses (empty when all are met).
    pub fn target_failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (&kind, s) in &self.kinds {
            let (r, p) = match kind {
                EntityKind::Person => (0.90, 0.0),
                EntityKind::StreetAddress
                | EntityKind::ImmigrationStatus
                | EntityKind::PlaceOfBirth => (0.95, 0.95),
                EntityKind::DateOfBirth => (0.97, 0.90),
                _ => (0.99, 0.97),
            };
            if s.recall() < r {
                out.push(format!("{kind}: recall {:.4} < {r}", s.recall()));
            }
            if s.precision() < p {
                out.push(format!("{kind}: precision {:.4} < {p}", s.precision()));
            }
            if matches!(
                kind,
                EntityKind::Ssn | EntityKind::ANumber | EntityKind::DriverLicense
            ) && s.leaked > 0
            {
                out.push(format!("{kind}: {} values leaked (target 0)", s.leaked));
            }
        }
        if self.leak_rate() > 0.005 {
            out.push(format!("overall leak rate {:.4} > 0.005", self.leak_rate()));
        }
        if self.column_accuracy() < 0.98 {
            out.push(format!(
                "column classification {:.4} < 0.98",
                self.column_accuracy()
            ));
        }
        out
    }

    /// A plain-text table for terminals and BENCHMARKS.md.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<20} {:>7} {:>8} {:>9} {:>7}\n",
            "kind", "gold", "recall", "precision", "leaked"
        );
        for (kind, k) in &self.kinds {
            s.push_str(&format!(
                "{:<20} {:>7} {:>8.4} {:>9.4} {:>7}\n",
                kind.as_str(),
                k.gold,
                k.recall(),
                k.precision(),
                k.leaked
            ));
        }
        let gold: u64 = self.kinds.values().map(|k| k.gold).sum();
        let leaked: u64 = self.kinds.values().map(|k| k.leaked).sum();
        s.push_str(&format!(
            "overall leak rate {:.4}% ({leaked} of {gold} values)\n",
            100.0 * self.leak_rate()
        ));
        s.push_str(&format!(
            "column classification {:.4} ({} of {})\n",
            self.column_accuracy(),
            self.columns_correct,
            self.columns
        ));
        s
    }
}

/// Evaluates `redactor` on `corpus`.
pub fn evaluate(redactor: &Redactor, corpus: &Corpus) -> EvalReport {
    evaluate_showing(redactor, corpus, None)
}

/// Like [`evaluate`], also listing misses and false findings of one kind.
pub fn evaluate_showing(
    redactor: &Redactor,
    corpus: &Corpus,
    show: Option<EntityKind>,
) -> EvalReport {
    let mut report = EvalReport {
        show_errors: show,
        ..Default::default()
    };
    for rec in &corpus.texts {
        let roles = vec![FieldRole::Scan(Default::default()); rec.fields.len()];
        score_record(redactor, &rec.fields, &roles, &mut report);
    }
    for table in &corpus.tables {
        let sample_rows = table.rows.iter().take(crate::formats::table::SAMPLE_ROWS);
        let sample: Vec<Vec<&str>> = (0..table.headers.len())
            .map(|i| {
                sample_rows
                    .clone()
                    .map(|r| r.fields[i].text.as_str())
                    .collect()
            })
            .collect();
        let mut roles = Vec::new();
        for (i, header) in table.headers.iter().enumerate() {
            let class = classify_column(redactor.chain(), header, &sample[i]);
            let predicted = match class.role {
                ColumnRole::Entity(k) => Some(k),
                _ => None,
            };
            report.columns += 1;
            report.columns_correct += u64::from(predicted == table.column_kinds[i]);
            if predicted != table.column_kinds[i] {
                report.errors.push(format!(
                    "COLUMN {header:?}: classified {predicted:?}, truth {:?} (sample {:?} {:.2})",
                    table.column_kinds[i], class.sample_kind, class.sample_share
                ));
            }
            roles.push(match class.role {
                ColumnRole::Entity(k) => FieldRole::Whole(k),
                other => FieldRole::Scan(hint_for(other)),
            });
        }
        for row in &table.rows {
            score_record(redactor, &row.fields, &roles, &mut report);
        }
    }
    for rec in &corpus.json {
        let roles: Vec<FieldRole> = rec
            .fields
            .iter()
            .map(|f| role_for_pointer(f.name.as_deref().unwrap_or("")))
            .collect();
        score_record(redactor, &rec.fields, &roles, &mut report);
    }
    report
}

fn score_record(
    redactor: &Redactor,
    fields: &[GoldField],
    roles: &[FieldRole],
    report: &mut EvalReport,
) {
    let input: Vec<(&str, FieldRole)> = fields
        .iter()
        .zip(roles)
        .map(|(f, r)| (f.text.as_str(), *r))
        .collect();
    let found = redactor.detect_record(&input);
    let threshold = redactor.policy().min_confidence;
    for (field, findings) in fields.iter().zip(found) {
        report.bytes += field.text.len() as u64;
        let policy = redactor.policy();
        let kept: Vec<Finding> = findings
            .iter()
            .copied()
            .filter(|f| {
                f.confidence >= threshold
                    && !(f.kind == EntityKind::Email
                        && policy.is_public_email(&field.text[f.start..f.end]))
            })
            .collect();
        let output = redactor.apply(&field.text, findings).text;
        for g in &field.spans {
            let s = report.kinds.entry(g.kind).or_default();
            s.gold += 1;
            if kept
                .iter()
                .any(|f| f.kind == g.kind && f.start < g.end && g.start < f.end)
            {
                s.found += 1;
            } else if report.show_errors == Some(g.kind) {
                report.errors.push(format!(
                    "MISS {}: {:?} in {:?}",
                    g.kind,
                    &field.text[g.start..g.end],
                    excerpt(&field.text, g.start, g.end)
                ));
            }
            if contains_word(&output, &field.text[g.start..g.end]) {
                s.leaked += 1;
            }
        }
        for f in &kept {
            let s = report.kinds.entry(f.kind).or_default();
            s.predicted += 1;
            if field
                .spans
                .iter()
                .any(|g| g.kind == f.kind && f.start < g.end && g.start < f.end)
            {
                s.correct += 1;
            } else if report.show_errors == Some(f.kind) {
                report.errors.push(format!(
                    "FALSE {} ({}): {:?} in {:?}",
                    f.kind,
                    f.detector,
                    &field.text[f.start..f.end],
                    excerpt(&field.text, f.start, f.end)
                ));
            }
        }
    }
}

fn contains_word(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    memchr::memmem::find_iter(haystack.as_bytes(), needle.as_bytes())
        .any(|pos| is_word_bounded(haystack.as_bytes(), pos, pos + needle.len()))
}

fn excerpt(text: &str, start: usize, end: usize) -> String {
    let mut a = start.saturating_sub(40);
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (end + 40).min(text.len());
    while !text.is_char_boundary(b) {
        b += 1;
    }
    text[a..b].to_string()
}
