//! `citygate read FILE...`: what each document is, with the evidence.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use citygate_reader::{read_file, FileReading, Limits, Packet, Reading};

/// Read documents (text, PDF, scan or photo) and say what they are.
#[derive(clap::Args)]
pub struct Args {
    /// Files to read as one packet (e.g. a detainer and its I-200). The type is
    /// taken from the file's content, not its extension.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print JSON (the packet, each file and page, and the documents for `decide`).
    #[arg(long)]
    pub json: bool,
    /// OCR languages for photos and scans, as tesseract names them.
    #[arg(long, default_value = "eng", value_name = "LANGS")]
    pub ocr_languages: String,
    /// Refuse PDFs with more pages than this.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub max_pages: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let limits = Limits {
        ocr_languages: args.ocr_languages,
        max_pages: args.max_pages,
        ..Limits::default()
    };
    let progress = std::io::stderr().is_terminal() && !args.json;
    let mut files = Vec::with_capacity(args.files.len());
    for path in &args.files {
        if progress {
            eprintln!("reading {} ...", path.display());
        }
        match read_file(path, &limits) {
            Ok(file) => files.push(file),
            Err(err) => {
                eprintln!("error: {err}");
                return Ok(ExitCode::from(crate::EXIT_BAD_INPUT));
            }
        }
    }
    let packet = Packet::from_files(files);
    let mut out = String::new();
    if args.json {
        let json = serde_json::json!({
            "overall": packet.overall,
            "documents": packet.documents(),
            "files": packet.files,
        });
        out = serde_json::to_string_pretty(&json)?;
        out.push('\n');
    } else {
        print_packet(&mut out, &packet);
    }
    crate::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn print_packet(out: &mut String, packet: &Packet) {
    for file in &packet.files {
        print_file(out, file);
        out.push('\n');
    }
    if packet.files.len() > 1 {
        let kind = packet
            .overall
            .kind
            .map_or("unknown".to_string(), |k| k.to_string());
        if packet.overall.uncertain {
            let _ = writeln!(out, "packet: UNCERTAIN ({kind}): refer to counsel");
        } else {
            let _ = writeln!(out, "packet: {kind}");
        }
        for reason in &packet.overall.reasons {
            let _ = writeln!(out, "  - {reason}");
        }
    }
}

fn print_file(out: &mut String, file: &FileReading) {
    let format = serde_json::to_value(file.format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} ({format}, {} page{})",
        file.file,
        file.pages.len(),
        if file.pages.len() == 1 { "" } else { "s" }
    );
    print_reading(out, &file.reading);
    if file.pages.len() > 1 {
        let _ = writeln!(out, "  pages:");
        for page in &file.pages {
            let kind = page
                .reading
                .kind
                .map_or("unknown".to_string(), |k| k.to_string());
            let flag = if page.reading.uncertain {
                " (uncertain)"
            } else {
                ""
            };
            let _ = writeln!(out, "    {}: {kind}{flag}", page.page);
        }
    }
}

fn print_reading(out: &mut String, r: &Reading) {
    let kind = r.kind.map_or("unknown".to_string(), |k| k.to_string());
    let confidence = serde_json::to_value(r.confidence)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    if r.uncertain {
        let _ = writeln!(
            out,
            "  kind:       UNCERTAIN (read as {kind}): refer to counsel"
        );
        for reason in &r.reasons {
            let _ = writeln!(out, "              - {reason}");
        }
    } else {
        let _ = writeln!(out, "  kind:       {kind} (confidence {confidence})");
    }
    let mut line = |label: &str, value: Option<String>| {
        if let Some(value) = value {
            let _ = writeln!(out, "  {label:<11} {value}");
        }
    };
    line("signed by:", r.signed_by.map(|s| s.to_string()));
    line(
        "criminal:",
        r.criminal.map(|c| if c { "yes" } else { "no" }.to_string()),
    );
    let f = &r.fields;
    line("form:", f.form_number.clone());
    line("issuer:", f.issuer.clone());
    let signer = match (&f.signer_name, &f.signer_title) {
        (Some(n), Some(t)) => Some(format!("{n}, {t}")),
        (n, t) => n.clone().or(t.clone()),
    };
    line("signer:", signer);
    line("case/file:", f.case_number.clone());
    line("subject:", f.subject_name.clone());
    line("issued:", f.issued.map(|d| d.to_string()));
    line("expires:", f.expires.map(|d| d.to_string()));
    line(
        "statutes:",
        (!f.statutes.is_empty()).then(|| f.statutes.join("; ")),
    );
    if !r.evidence.is_empty() {
        let _ = writeln!(out, "  evidence:");
        for e in &r.evidence {
            let page = if e.page > 1 {
                format!("p{} ", e.page)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "    {page}line {:>3}  {:<34} \"{}\"",
                e.line, e.marker, e.quote
            );
        }
    }
}
