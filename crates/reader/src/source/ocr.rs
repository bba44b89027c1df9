//! Images through the `tesseract` program, after checking their size from the header.

use std::ffi::OsStr;
use std::path::Path;

use super::{process, Limits, ReadError};

const PACKAGE: &str = "tesseract-ocr (with tesseract-ocr-eng, tesseract-ocr-spa)";

/// Refuse images whose header is unreadable or whose pixel count is over the limit,
/// before any decoder sees them.
pub fn check_image(path: &Path, bytes: &[u8], limits: &Limits) -> Result<(), ReadError> {
    let file = path.to_path_buf();
    let size = imagesize::blob_size(bytes).map_err(|_| ReadError::Corrupt {
        file: file.clone(),
        what: "image (header unreadable)",
    })?;
    let (width, height) = (size.width as u64, size.height as u64);
    if width == 0 || height == 0 {
        return Err(ReadError::Corrupt {
            file,
            what: "image (zero size)",
        });
    }
    if width.saturating_mul(height) > limits.max_pixels {
        return Err(ReadError::TooManyPixels {
            file,
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

/// The text tesseract reads in an image.
pub fn recognise(image: &Path, limits: &Limits) -> Result<String, ReadError> {
    let file = image.to_path_buf();
    let workdir = tempfile::tempdir().map_err(|source| ReadError::Io {
        file: file.clone(),
        source,
    })?;
    let psm = limits.ocr_page_segmentation.to_string();
    let args: [&OsStr; 6] = [
        image.as_os_str(),
        "stdout".as_ref(),
        "-l".as_ref(),
        limits.ocr_languages.as_ref(),
        "--psm".as_ref(),
        psm.as_ref(),
    ];
    let result = process::run(
        "tesseract",
        PACKAGE,
        &args,
        image,
        workdir.path(),
        limits,
        limits.max_text_bytes,
    )?;
    if !result.success && result.stderr.contains("Failed loading language") {
        return Err(ReadError::OcrLanguage {
            languages: limits.ocr_languages.clone(),
        });
    }
    if !result.success {
        return Err(ReadError::Corrupt {
            file,
            what: "image (OCR could not decode it within the memory limit)",
        });
    }
    Ok(result.stdout)
}
