//! The file's type from its first bytes; the extension is never trusted.

use super::Format;

/// The format of `bytes`, or what it is when it is not readable.
pub fn sniff(bytes: &[u8]) -> Result<Format, &'static str> {
    let head = &bytes[..bytes.len().min(1024)];
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return Ok(Format::Tiff);
    }
    // The PDF header may follow some junk, within the first kilobyte.
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if head.starts_with(b"GIF8") {
        return Err("a GIF image");
    }
    if head.starts_with(b"BM") && !looks_like_text(head) {
        return Err("a BMP image");
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        return Err("a WebP image");
    }
    if head.starts_with(b"PK\x03\x04") {
        return Err("a ZIP archive or Office document");
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return Err("a HEIC photo or video; export it as JPEG");
    }
    if looks_like_text(&bytes[..bytes.len().min(64 * 1024)]) {
        return Ok(Format::Text);
    }
    Err("binary data of an unknown type")
}

fn looks_like_text(sample: &[u8]) -> bool {
    if sample.contains(&0) {
        return false;
    }
    let control = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C))
        .count();
    control * 100 <= sample.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Ok(Format::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Ok(Format::Jpeg));
        assert_eq!(sniff(b"II*\0rest"), Ok(Format::Tiff));
        assert_eq!(sniff(b"%PDF-1.4\n"), Ok(Format::Pdf));
        assert_eq!(sniff(b"IMMIGRATION DETAINER"), Ok(Format::Text));
        assert!(sniff(b"PK\x03\x04zip").is_err());
        assert!(sniff(b"\0\x01\x02\x03binary").is_err());
    }
}
