//! E-mail (.eml): headers (From, To, Cc, Subject, Date), the text bodies and the text of
//! attachments are one record (a name in the From line is redacted in the body too). The output
//! is a plain RFC 5322 message: redacted headers, a blank line, the redacted text, then each
//! attachment's redacted text under a marker. Attachments without a text form are withheld and
//! their withholding is shown by a marker (their contents are never released unreviewed).

use std::io::{Read, Write};

use mail_parser::{MessageParser, MimeHeaders};

use super::{report_field, FileReport, FormatError, Sink};
use crate::log::Location;
use crate::redactor::{FieldRole, Redactor};

/// Largest message read.
pub const MAX_EML_BYTES: u64 = 256 * 1024 * 1024;

/// Redacts one message.
pub fn redact<R: Read, W: Write>(
    redactor: &Redactor,
    input: R,
    mut output: W,
    file: &str,
    sink: &mut dyn Sink,
) -> Result<FileReport, FormatError> {
    let raw = super::read_bounded(input, MAX_EML_BYTES, file, || {
        format!("message larger than {MAX_EML_BYTES} bytes")
    })?;
    let message =
        MessageParser::default()
            .parse(&raw[..])
            .ok_or_else(|| FormatError::Unsupported {
                file: file.to_string(),
                message: "not an e-mail message: no headers found".into(),
            })?;
    let addresses = |a: Option<&mail_parser::Address<'_>>| -> String {
        a.map(|a| {
            a.iter()
                .map(|x| match (x.name(), x.address()) {
                    (Some(n), Some(e)) => format!("{n} <{e}>"),
                    (None, Some(e)) => e.to_string(),
                    (Some(n), None) => n.to_string(),
                    (None, None) => String::new(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
    };
    // (label, text, is header)
    let mut parts: Vec<(String, String)> = vec![
        ("From".into(), addresses(message.from())),
        ("To".into(), addresses(message.to())),
        ("Cc".into(), addresses(message.cc())),
        (
            "Subject".into(),
            message.subject().unwrap_or_default().to_string(),
        ),
    ];
    let date = message.date().map(|d| d.to_rfc822());
    let mut body = String::new();
    for i in 0..message.text_body_count() {
        if let Some(t) = message.body_text(i) {
            if !body.is_empty() {
                body.push_str("\n\n");
            }
            body.push_str(&t);
        }
    }
    parts.push(("body".into(), body));
    let mut withheld = Vec::new();
    for (i, att) in message.attachments().enumerate() {
        let name = att.attachment_name().unwrap_or("unnamed").to_string();
        parts.push((format!("attachment {} name", i + 1), name));
        match att.text_contents() {
            Some(text) if att.is_text() => {
                parts.push((format!("attachment {}", i + 1), text.to_string()))
            }
            _ => withheld.push(i + 1),
        }
    }
    let fields: Vec<(&str, FieldRole)> = parts
        .iter()
        .map(|(_, t)| (t.as_str(), FieldRole::Scan(Default::default())))
        .collect();
    let redacted = redactor.redact_record(&fields);
    let mut report = FileReport {
        file: file.to_string(),
        format: "eml".into(),
        bytes: raw.len() as u64,
        records: 1,
        ..Default::default()
    };
    let mut out = String::new();
    let mut attachment_names: Vec<String> = Vec::new();
    for ((label, original), field) in parts.iter().zip(&redacted) {
        let pointer = format!("/{label}");
        let location = |_pos: usize| Location::Json {
            line: 1,
            pointer: &pointer,
        };
        report_field(
            redactor,
            file,
            original,
            field,
            &location,
            sink,
            &mut report,
        )?;
        match label.as_str() {
            "From" | "To" | "Cc" | "Subject" if !field.text.is_empty() => {
                out.push_str(&format!("{label}: {}\n", one_line(&field.text)))
            }
            "body" => {
                if let Some(d) = &date {
                    out.push_str(&format!("Date: {d}\n"));
                }
                out.push_str("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nX-Redacted-By: citygate\n\n");
                out.push_str(&field.text);
                out.push('\n');
            }
            l if l.ends_with(" name") => attachment_names.push(one_line(&field.text)),
            l if l.starts_with("attachment ") => {
                let n = attachment_names.last().cloned().unwrap_or_default();
                out.push_str(&format!(
                    "\n----- attachment: {n} (text, redacted) -----\n{}\n",
                    field.text
                ));
            }
            _ => {}
        }
    }
    for i in withheld {
        let n = attachment_names.get(i - 1).cloned().unwrap_or_default();
        out.push_str(&format!(
            "\n----- attachment: {n} withheld: no text form; review it separately -----\n"
        ));
    }
    output
        .write_all(out.as_bytes())
        .map_err(|e| FormatError::io(file, e))?;
    output.flush().map_err(|e| FormatError::io(file, e))?;
    Ok(report)
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}
