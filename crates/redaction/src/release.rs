//! A release: redacts files into an output folder, each written atomically (temporary file, then
//! rename), with one redaction log (a header line per file, then its redactions; see
//! [`crate::log`]) and a summary for the whole release. A file that fails leaves
//! no output behind, only its error in the summary.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::formats::{self, FileReport, FormatError, Sink};
use crate::redactor::Redactor;
use crate::review::DecisionCounts;

/// Name of the release log written beside the outputs.
pub const LOG_FILE: &str = "redaction-log.jsonl";
/// Name of the release summary written beside the outputs.
pub const SUMMARY_FILE: &str = "redaction-summary.json";

/// Input formats, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.txt`, `.text`, `.log`, `.md`.
    Text,
    /// `.csv`.
    Csv,
    /// `.tsv`, `.tab`.
    Tsv,
    /// `.json`.
    Json,
    /// `.jsonl`, `.ndjson`.
    JsonLines,
    /// `.xlsx`.
    Xlsx,
    /// `.eml`.
    Eml,
    /// `.pdf` (text layer; the output is text with page markers).
    Pdf,
}

/// Extensions accepted, for error messages.
pub const SUPPORTED: &str =
    ".txt .text .log .md .csv .tsv .tab .json .jsonl .ndjson .xlsx .eml .pdf";

impl Format {
    /// The format for a path's extension.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "txt" | "text" | "log" | "md" => Format::Text,
            "csv" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "json" => Format::Json,
            "jsonl" | "ndjson" => Format::JsonLines,
            "xlsx" => Format::Xlsx,
            "eml" => Format::Eml,
            "pdf" => Format::Pdf,
            _ => return None,
        })
    }
}

/// The released file's name for an input named `name`: the same, except that a PDF's
/// release is its redacted text layer, so it is named as text.
pub fn output_name(name: &str, format: Format) -> String {
    if format == Format::Pdf {
        format!("{name}.txt")
    } else {
        name.to_string()
    }
}

/// Errors of a release (per file or for the whole folder).
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The input's format is not supported.
    #[error("{0}: unsupported file type; supported extensions: {SUPPORTED}")]
    UnsupportedType(String),
    /// Bad input or I/O inside a format.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// File-system error outside a format.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Writing would overwrite an input or a file of this release.
    #[error("{0}")]
    Conflict(String),
}

fn io_err(path: &Path, source: std::io::Error) -> ReleaseError {
    ReleaseError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The summary of a release, written as JSON beside the outputs.
#[derive(Debug, Default, Serialize)]
pub struct ReleaseSummary {
    /// Policy id.
    pub policy: String,
    /// Policy title.
    pub policy_title: String,
    /// Files redacted.
    pub files: Vec<FileReport>,
    /// Files that failed, with the reason (no personal data: errors carry positions only).
    pub failed: Vec<FailedFile>,
    /// A records officer's decisions on review candidates applied to this release (counts of
    /// decided values; absent when there were none). Redactions they caused are logged with
    /// detector `review.accepted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisions: Option<DecisionCounts>,
}

/// A file that could not be redacted.
#[derive(Debug, Serialize)]
pub struct FailedFile {
    /// Input path.
    pub file: String,
    /// Why.
    pub error: String,
}

struct FileSink<'a> {
    log: BufWriter<File>,
    review: Option<&'a mut BufWriter<File>>,
}

impl Sink for FileSink<'_> {
    fn write_log(&mut self, lines: &[u8]) -> std::io::Result<()> {
        self.log.write_all(lines)
    }
    fn write_review(&mut self, lines: &[u8]) -> std::io::Result<()> {
        match self.review.as_mut() {
            Some(w) => w.write_all(lines),
            None => Ok(()),
        }
    }
}

/// An open release folder.
pub struct Release {
    out_dir: PathBuf,
    log_tmp: PathBuf,
    log: BufWriter<File>,
    review: Option<(PathBuf, PathBuf, BufWriter<File>)>,
    written: Vec<PathBuf>,
    summary: ReleaseSummary,
    finished: bool,
}

fn tmp_name(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.citygate-partial-{}", std::process::id()))
}

impl Release {
    /// Opens (creates) `out_dir`. `review`, if given, receives uncertain candidates; it must be
    /// outside `out_dir`, because it shows candidate text and must never be released.
    pub fn create(
        out_dir: &Path,
        review: Option<&Path>,
        redactor: &Redactor,
    ) -> Result<Release, ReleaseError> {
        fs::create_dir_all(out_dir).map_err(|e| io_err(out_dir, e))?;
        let out_canon = fs::canonicalize(out_dir).map_err(|e| io_err(out_dir, e))?;
        // A summary from an earlier release in this folder would make an interrupted new one
        // look complete: the old summary and log go first.
        for stale in [SUMMARY_FILE, LOG_FILE] {
            let path = out_canon.join(stale);
            if path.exists() {
                fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
            }
        }
        let log_tmp = tmp_name(&out_canon, LOG_FILE);
        let log = BufWriter::new(File::create(&log_tmp).map_err(|e| io_err(&log_tmp, e))?);
        let review = match review {
            Some(path) => {
                let parent = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let parent_canon = fs::canonicalize(parent).map_err(|e| io_err(parent, e))?;
                if parent_canon.starts_with(&out_canon) {
                    return Err(ReleaseError::Conflict(format!(
                        "{}: the review list shows candidate values and must not be inside the release folder {}",
                        path.display(),
                        out_dir.display()
                    )));
                }
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("review.jsonl");
                let tmp = tmp_name(&parent_canon, name);
                let w = BufWriter::new(File::create(&tmp).map_err(|e| io_err(&tmp, e))?);
                Some((tmp, path.to_path_buf(), w))
            }
            None => None,
        };
        Ok(Release {
            out_dir: out_canon,
            log_tmp,
            log,
            review,
            written: Vec::new(),
            finished: false,
            summary: ReleaseSummary {
                policy: redactor.policy().id.clone(),
                policy_title: redactor.policy().title.clone(),
                files: Vec::new(),
                failed: Vec::new(),
                decisions: redactor.decisions().counts(),
            },
        })
    }

    /// Redacts one file into the release. On error the file is listed as failed, nothing of it is
    /// left in the folder, and the error is returned so the caller can report it.
    pub fn add(
        &mut self,
        redactor: &Redactor,
        input: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<&FileReport, ReleaseError> {
        match self.add_inner(redactor, input, progress) {
            Ok(report) => {
                self.summary.files.push(report);
                self.summary
                    .files
                    .last()
                    .ok_or_else(|| ReleaseError::Conflict("internal: report missing".into()))
            }
            Err(e) => {
                self.summary.failed.push(FailedFile {
                    file: input.display().to_string(),
                    error: e.to_string(),
                });
                Err(e)
            }
        }
    }

    fn add_inner(
        &mut self,
        redactor: &Redactor,
        input: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<FileReport, ReleaseError> {
        let name = input
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ReleaseError::UnsupportedType(input.display().to_string()))?;
        let format = Format::of(input)
            .ok_or_else(|| ReleaseError::UnsupportedType(input.display().to_string()))?;
        let out_name = output_name(name, format);
        let target = self.out_dir.join(&out_name);
        if [LOG_FILE, SUMMARY_FILE].contains(&name) {
            return Err(ReleaseError::Conflict(format!(
                "{}: this name is reserved for the release log",
                input.display()
            )));
        }
        if self.written.contains(&target) {
            return Err(ReleaseError::Conflict(format!(
                "{}: another input of this release has the same file name",
                input.display()
            )));
        }
        let input_canon = fs::canonicalize(input).map_err(|e| io_err(input, e))?;
        if input_canon == target {
            return Err(ReleaseError::Conflict(format!(
                "{}: the output folder holds the input itself; choose another --out",
                input.display()
            )));
        }
        let out_tmp = tmp_name(&self.out_dir, name);
        let file_log_tmp = tmp_name(&self.out_dir, &format!("{name}.log"));
        let result = self.write_file(
            redactor,
            format,
            input,
            name,
            &out_tmp,
            &file_log_tmp,
            progress,
        );
        match result {
            Ok(report) => {
                fs::rename(&out_tmp, &target).map_err(|e| io_err(&target, e))?;
                // The file's header line (its name, and each kind's exemption, action and
                // counsel flag), then its redaction lines.
                crate::log::write_file_header(&mut self.log, redactor, name, &report.format)
                    .map_err(|e| io_err(&self.log_tmp, e))?;
                let mut part = File::open(&file_log_tmp).map_err(|e| io_err(&file_log_tmp, e))?;
                std::io::copy(&mut part, &mut self.log).map_err(|e| io_err(&self.log_tmp, e))?;
                let _ = fs::remove_file(&file_log_tmp);
                self.written.push(target);
                Ok(report)
            }
            Err(e) => {
                let _ = fs::remove_file(&out_tmp);
                let _ = fs::remove_file(&file_log_tmp);
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn write_file(
        &mut self,
        redactor: &Redactor,
        format: Format,
        input: &Path,
        name: &str,
        out_tmp: &Path,
        log_tmp: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<FileReport, ReleaseError> {
        let reader =
            BufReader::with_capacity(1 << 20, File::open(input).map_err(|e| io_err(input, e))?);
        let out_file = File::create(out_tmp).map_err(|e| io_err(out_tmp, e))?;
        let mut writer = BufWriter::with_capacity(1 << 20, out_file);
        let mut sink = FileSink {
            log: BufWriter::new(File::create(log_tmp).map_err(|e| io_err(log_tmp, e))?),
            review: self.review.as_mut().map(|(_, _, w)| w),
        };
        let report = match format {
            Format::Text => {
                formats::text::redact(redactor, reader, &mut writer, name, &mut sink, progress)?
            }
            Format::Csv => formats::table::redact(
                redactor,
                reader,
                &mut writer,
                b',',
                name,
                &mut sink,
                progress,
            )?,
            Format::Tsv => formats::table::redact(
                redactor,
                reader,
                &mut writer,
                b'\t',
                name,
                &mut sink,
                progress,
            )?,
            Format::JsonLines => formats::json::redact_lines(
                redactor,
                reader,
                &mut writer,
                name,
                &mut sink,
                progress,
            )?,
            Format::Json => formats::json::redact_document(
                redactor,
                reader,
                &mut writer,
                name,
                &mut sink,
                progress,
            )?,
            Format::Eml => formats::eml::redact(redactor, reader, &mut writer, name, &mut sink)?,
            Format::Xlsx => formats::xlsx::redact(redactor, reader, &mut writer, name, &mut sink)?,
            Format::Pdf => formats::pdf::redact(redactor, reader, &mut writer, name, &mut sink)?,
        };
        sink.log.flush().map_err(|e| io_err(log_tmp, e))?;
        let file = writer
            .into_inner()
            .map_err(|e| io_err(out_tmp, e.into_error()))?;
        file.sync_all().map_err(|e| io_err(out_tmp, e))?;
        Ok(report)
    }

    /// Closes the release: the log and the summary are renamed into place last, so a release
    /// folder with a summary is complete.
    pub fn finish(mut self) -> Result<ReleaseSummary, ReleaseError> {
        self.log.flush().map_err(|e| io_err(&self.log_tmp, e))?;
        let log_path = self.out_dir.join(LOG_FILE);
        fs::rename(&self.log_tmp, &log_path).map_err(|e| io_err(&log_path, e))?;
        if let Some((tmp, path, mut w)) = self.review.take() {
            w.flush().map_err(|e| io_err(&tmp, e))?;
            fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
        }
        let summary_path = self.out_dir.join(SUMMARY_FILE);
        let tmp = tmp_name(&self.out_dir, SUMMARY_FILE);
        let json = serde_json::to_vec_pretty(&self.summary).map_err(|e| io_err(&tmp, e.into()))?;
        fs::write(&tmp, json).map_err(|e| io_err(&tmp, e))?;
        fs::rename(&tmp, &summary_path).map_err(|e| io_err(&summary_path, e))?;
        self.finished = true;
        Ok(std::mem::take(&mut self.summary))
    }
}

impl Drop for Release {
    /// A release abandoned before `finish` (an error, an interrupt) leaves no temporary log or
    /// review list behind; the outputs already renamed stay, but there is no summary, which is
    /// what marks a release folder complete.
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_file(&self.log_tmp);
            if let Some((tmp, _, _)) = &self.review {
                let _ = fs::remove_file(tmp);
            }
        }
    }
}
