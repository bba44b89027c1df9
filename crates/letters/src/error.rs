//! Errors, and Typst's diagnostics turned into plain words with a line and column.

use std::fmt;

use typst::diag::{Severity, SourceDiagnostic};
use typst::WorldExt;

use crate::world::LetterWorld;

/// Why a letter could not be made. Messages never quote the letter's data.
#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    /// The template does not compile (or, for PDF/UA, breaks an accessibility
    /// rule). The problems are listed with their line and column.
    #[error("{}", Problems(.0))]
    Template(Vec<Problem>),
    /// The template is larger than [`crate::MAX_TEMPLATE_BYTES`].
    #[error("the template is {size} bytes; the limit is {limit} bytes")]
    TemplateTooLarge {
        /// The template's size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A field of the letter's data is longer than its limit (or a list has too
    /// many entries). Names the field, never its value.
    #[error(
        "the letter's {field} is too long ({size} characters or entries; the limit is {limit})"
    )]
    DataTooLarge {
        /// The field, e.g. `requester` or `provisions[3].excerpt`.
        field: String,
        /// Its length in characters (or entries for lists).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Typst failed in a way that is not the template's fault (a bug caught
    /// rather than crashing the caller).
    #[error("the letter could not be typeset (internal error in the typesetter)")]
    Internal,
}

/// One problem in a template, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the template, when Typst could place the problem.
    pub line: Option<usize>,
    /// 1-based column (in characters), when Typst could place the problem.
    pub column: Option<usize>,
    /// Typst's message, with its hints.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("the template has an error"),
            [one] => write!(f, "the template has an error at {one}"),
            many => {
                write!(f, "the template has {} errors:", many.len())?;
                for p in many {
                    write!(f, "\n- {p}")?;
                }
                Ok(())
            }
        }
    }
}

/// At most this many problems are reported: the first ones are the useful ones.
const MAX_PROBLEMS: usize = 10;

/// Typst's errors as [`Problem`]s. `secrets` are the data's values: a template
/// may put one into an error (`panic(sys.inputs.requester)`), and error
/// messages end up in logs, so each is replaced by `[letter data]`.
pub(crate) fn problems(
    world: &LetterWorld<'_>,
    diagnostics: &[SourceDiagnostic],
    secrets: &[&str],
) -> Vec<Problem> {
    let lines = world.source_text().lines();
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .take(MAX_PROBLEMS)
        .map(|d| {
            let position = world
                .range(d.span)
                .and_then(|range| lines.byte_to_line_column(range.start));
            let mut message = d.message.to_string();
            for hint in &d.hints {
                message.push_str(" (hint: ");
                message.push_str(&hint.v);
                message.push(')');
            }
            Problem {
                line: position.map(|(l, _)| l + 1),
                column: position.map(|(_, c)| c + 1),
                message: scrub(&message, secrets),
            }
        })
        .collect()
}

/// Replaces every value in `secrets` (as written, and as Typst quotes strings
/// in messages), and every quoted fragment of one (Typst quotes single
/// characters it cannot draw), by a placeholder.
fn scrub(message: &str, secrets: &[&str]) -> String {
    let mut out = message.to_owned();
    // Longest first, so a value containing another is replaced whole.
    let mut whole: Vec<&str> = secrets
        .iter()
        .copied()
        // Fewer than three characters identify nobody, and scrubbing them
        // would garble the message.
        .filter(|s| s.trim().chars().count() >= 3)
        .collect();
    whole.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in whole {
        let quoted = secret.replace('\\', "\\\\").replace('"', "\\\"");
        for form in [secret, quoted.as_str()] {
            if out.contains(form) {
                out = out.replace(form, PLACEHOLDER);
            }
        }
    }
    scrub_fragments(&out, secrets)
}

const PLACEHOLDER: &str = "[letter data]";

/// Replaces each double-quoted string in `message` whose content (Typst's
/// escapes undone) occurs in one of `secrets`.
fn scrub_fragments(message: &str, secrets: &[&str]) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match closing_quote(after) {
            Some(close) => {
                let raw = &after[..close];
                let text = unescape(raw);
                if !text.is_empty() && secrets.iter().any(|s| s.contains(text.as_str())) {
                    out.push_str(PLACEHOLDER);
                } else {
                    out.push('"');
                    out.push_str(raw);
                    out.push('"');
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The index of the unescaped `"` that ends a quoted string.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// Undoes the escapes of Typst's string repr: `\\`, `\"`, `\n`, `\r`, `\t`,
/// `\u{hex}`.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let code: String = chars
                    .by_ref()
                    .skip_while(|&c| c == '{')
                    .take_while(|&c| c != '}')
                    .collect();
                if let Some(c) = u32::from_str_radix(&code, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_replaces_plain_and_quoted_values() {
        let msg = r#"panicked with: "Ana \"La\" Ruiz" and Ana "La" Ruiz"#;
        let out = scrub(msg, &[r#"Ana "La" Ruiz"#, ""]);
        assert!(!out.contains("Ruiz"), "{out}");
        assert_eq!(out.matches("[letter data]").count(), 2, "{out}");
    }

    #[test]
    fn scrub_replaces_quoted_fragments_of_values() {
        let msg = r#"the text `"小"` and `"\u{200d}"` could not be displayed with font `"Libertinus Serif"`"#;
        let out = scrub(msg, &["王小明 a\u{200d}b"]);
        assert!(!out.contains('小'), "{out}");
        assert!(!out.contains("200d"), "{out}");
        assert!(out.contains("Libertinus Serif"), "{out}");
        // Unbalanced quotes are left as they are.
        assert_eq!(scrub(r#"odd " quote"#, &["x"]), r#"odd " quote"#);
    }
}
