//! PDFs through poppler: `pdfinfo` (pages, password), `pdftotext` (text layer),
//! `pdftoppm` (a scanned page to an image for OCR, its size bounded).

use std::ffi::OsStr;
use std::path::Path;

use super::{ocr, process, Limits, ReadError, TextSource};

const PACKAGE: &str = "poppler-utils";

/// A page with fewer letters and digits than this is taken to be scanned.
const MIN_TEXT_LAYER_CHARS: usize = 16;

/// Each page's text: the text layer, or OCR where the page has none.
pub fn pages(path: &Path, limits: &Limits) -> Result<Vec<(String, TextSource)>, ReadError> {
    let file = path.to_path_buf();
    let workdir = tempfile::tempdir().map_err(|source| ReadError::Io {
        file: file.clone(),
        source,
    })?;
    let page_count = page_count(path, workdir.path(), limits)?;
    let last = page_count.to_string();
    let out = workdir.path().join("text.txt");
    let args: [&OsStr; 9] = [
        "-layout".as_ref(),
        "-enc".as_ref(),
        "UTF-8".as_ref(),
        "-f".as_ref(),
        "1".as_ref(),
        "-l".as_ref(),
        last.as_ref(),
        path.as_os_str(),
        out.as_os_str(),
    ];
    let result = process::run("pdftotext", PACKAGE, &args, path, workdir.path(), limits, 0)?;
    if !result.success {
        return Err(ReadError::Corrupt {
            file,
            what: "PDF (its text could not be extracted)",
        });
    }
    let text =
        process::read_bounded(&out, limits.max_text_bytes).map_err(|source| ReadError::Io {
            file: file.clone(),
            source,
        })?;
    let mut pages: Vec<(String, TextSource)> = text
        .split('\u{c}')
        .take(page_count)
        .map(|t| (t.to_string(), TextSource::TextLayer))
        .collect();
    pages.resize(page_count, (String::new(), TextSource::TextLayer));
    for (index, page) in pages.iter_mut().enumerate() {
        if page.0.chars().filter(|c| c.is_alphanumeric()).count() < MIN_TEXT_LAYER_CHARS {
            let image = rasterise(path, index + 1, workdir.path(), limits)?;
            *page = (ocr::recognise_oriented(&image, limits)?, TextSource::Ocr);
        }
    }
    Ok(pages)
}

fn page_count(path: &Path, workdir: &Path, limits: &Limits) -> Result<usize, ReadError> {
    let file = path.to_path_buf();
    let info = process::run(
        "pdfinfo",
        PACKAGE,
        &[path.as_os_str()],
        path,
        workdir,
        limits,
        64 * 1024,
    )?;
    if !info.success {
        if info.stderr.to_ascii_lowercase().contains("password") {
            return Err(ReadError::Encrypted { file });
        }
        return Err(ReadError::Corrupt { file, what: "PDF" });
    }
    let pages = info
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .ok_or(ReadError::Corrupt {
            file: file.clone(),
            what: "PDF (no page count)",
        })?;
    if pages == 0 {
        return Err(ReadError::Corrupt {
            file,
            what: "PDF (no pages)",
        });
    }
    if pages > limits.max_pages {
        return Err(ReadError::TooManyPages {
            file,
            pages,
            limit: limits.max_pages,
        });
    }
    Ok(pages)
}

/// One page as a grey PNG whose longest side is at most `raster_max_side`.
fn rasterise(
    path: &Path,
    page: usize,
    workdir: &Path,
    limits: &Limits,
) -> Result<std::path::PathBuf, ReadError> {
    let page = page.to_string();
    let side = limits.raster_max_side.to_string();
    let prefix = workdir.join(format!("page-{page}"));
    let args: [&OsStr; 12] = [
        "-f".as_ref(),
        page.as_ref(),
        "-l".as_ref(),
        page.as_ref(),
        "-r".as_ref(),
        "300".as_ref(),
        "-scale-to".as_ref(),
        side.as_ref(),
        "-gray".as_ref(),
        "-png".as_ref(),
        path.as_os_str(),
        prefix.as_os_str(),
    ];
    let with_single: Vec<&OsStr> = std::iter::once("-singlefile".as_ref())
        .chain(args)
        .collect();
    let result = process::run("pdftoppm", PACKAGE, &with_single, path, workdir, limits, 0)?;
    let image = prefix.with_extension("png");
    if !result.success || !image.exists() {
        return Err(ReadError::ToolFailed {
            file: path.to_path_buf(),
            tool: "pdftoppm",
            status: result.status,
        });
    }
    Ok(image)
}
