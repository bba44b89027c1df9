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

/// The text of an image. When nothing recognisable comes out, the photo may be
/// sideways or upside down (a phone's EXIF orientation, a page fed the wrong
/// way): tesseract is run again with orientation detection (`--psm 1`), and that
/// text is kept if it holds any marker.
pub fn recognise_oriented(image: &Path, limits: &Limits) -> Result<String, ReadError> {
    let text = recognise(image, limits, limits.ocr_page_segmentation)?;
    if !crate::classify_text(&text).evidence.is_empty() {
        return Ok(text);
    }
    match recognise(image, limits, 1) {
        Ok(turned) if !crate::classify_text(&turned).evidence.is_empty() => Ok(turned),
        _ => Ok(text),
    }
}

/// The text tesseract reads in an image with page segmentation mode `psm`.
fn recognise(image: &Path, limits: &Limits, psm: u8) -> Result<String, ReadError> {
    let file = image.to_path_buf();
    let workdir = tempfile::tempdir().map_err(|source| ReadError::Io {
        file: file.clone(),
        source,
    })?;
    let psm = psm.to_string();
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
