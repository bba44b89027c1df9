//! Test-time rendering of the corpus: a minimal PDF writer (text pages in
//! Courier, or one JPEG per page for a "scan"), and a noisy phone-photo image
//! made from the PDF with `pdftoppm` plus rotation, blur, low contrast and speckle.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const PAGE_WIDTH: f32 = 612.0;
const PAGE_HEIGHT: f32 = 792.0;
const FONT_SIZE: f32 = 9.0;
const LEADING: f32 = 11.0;
const LINES_PER_PAGE: usize = 66;

/// Write a PDF with a text layer: one page per form-feed-separated part.
pub fn text_pdf(text: &str, out: &Path) {
    let mut pages: Vec<Vec<u8>> = Vec::new();
    for part in text.split('\u{c}') {
        let lines: Vec<&str> = part.lines().collect();
        for chunk in lines.chunks(LINES_PER_PAGE) {
            let mut content = format!(
                "BT /F1 {FONT_SIZE} Tf {LEADING} TL 30 {} Td\n",
                PAGE_HEIGHT - 40.0
            )
            .into_bytes();
            for line in chunk {
                content.push(b'(');
                content.extend(pdf_string(line));
                content.extend_from_slice(b") Tj T*\n");
            }
            content.extend_from_slice(b"ET\n");
            pages.push(content);
        }
    }
    let font =
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>".to_vec();
    write_pdf(
        out,
        pages.into_iter().map(|c| (c, None)).collect(),
        Some(font),
    );
}

/// Write a scanned PDF: each JPEG is one page, with no text layer.
pub fn scanned_pdf(jpegs: &[(Vec<u8>, u32, u32)], out: &Path) {
    let pages = jpegs
        .iter()
        .map(|(jpeg, w, h)| {
            let content =
                format!("q {PAGE_WIDTH} 0 0 {PAGE_HEIGHT} 0 0 cm /Im1 Do Q\n").into_bytes();
            (content, Some((jpeg.clone(), *w, *h)))
        })
        .collect();
    write_pdf(out, pages, None);
}

fn pdf_string(line: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for c in line.chars() {
        let byte = match c {
            '–' | '—' => b'-',
            '☐' => b'[',
            c if (c as u32) < 256 => c as u32 as u8,
            _ => b'?',
        };
        if matches!(byte, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out
}

type Page = (Vec<u8>, Option<(Vec<u8>, u32, u32)>);

fn write_pdf(out: &Path, pages: Vec<Page>, font: Option<Vec<u8>>) {
    // Objects: 1 catalog, 2 pages, 3 font, then per page: page, content, [image].
    let mut objects: Vec<Vec<u8>> = vec![
        Vec::new(),
        Vec::new(),
        font.unwrap_or_else(|| b"<< >>".to_vec()),
    ];
    let mut kids = Vec::new();
    for (content, image) in pages {
        let page_id = objects.len() + 1;
        let content_id = page_id + 1;
        let image_id = content_id + 1;
        kids.push(format!("{page_id} 0 R"));
        let resources = if image.is_some() {
            format!("<< /XObject << /Im1 {image_id} 0 R >> >>")
        } else {
            "<< /Font << /F1 3 0 R >> >>".to_string()
        };
        objects.push(
            format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] /Resources {resources} /Contents {content_id} 0 R >>")
                .into_bytes(),
        );
        objects.push(stream(
            &format!("<< /Length {} >>", content.len()),
            &content,
        ));
        if let Some((jpeg, w, h)) = image {
            let dict = format!(
                "<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>",
                jpeg.len()
            );
            objects.push(stream(&dict, &jpeg));
        }
    }
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>".to_vec();
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        kids.join(" "),
        kids.len()
    )
    .into_bytes();
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        pdf.extend(body);
        pdf.extend(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").into_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .into_bytes(),
    );
    std::fs::File::create(out)
        .and_then(|mut f| f.write_all(&pdf))
        .expect("write pdf");
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("{dict}\nstream\n").into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

/// How a photo is spoiled.
#[derive(Clone, Copy)]
pub struct Noise {
    /// Rotation in degrees.
    pub degrees: f32,
    /// Box-blur passes (each a 3x3 mean).
    pub blur_passes: u32,
    /// Ink darkness kept, 0..1 (lower is fainter).
    pub contrast: f32,
    /// Share of pixels flipped to random grey, 0..1.
    pub speckle: f32,
}

impl Noise {
    /// A phone photo taken at a desk: slightly turned, soft, grey, speckled.
    pub fn phone() -> Self {
        Noise {
            degrees: 1.8,
            blur_passes: 1,
            contrast: 0.55,
            speckle: 0.01,
        }
    }
}

/// A grey image of every page of `pdf` stacked, with noise, as JPEG bytes.
pub fn noisy_photo(
    pdf: &Path,
    workdir: &Path,
    dpi: u32,
    noise: Noise,
    seed: u64,
) -> (Vec<u8>, u32, u32) {
    let prefix = workdir.join("raster");
    let status = Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-gray", "-png"])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .expect("pdftoppm runs (poppler-utils installed by scripts/test)");
    assert!(status.success());
    let mut pages: Vec<PathBuf> = std::fs::read_dir(workdir)
        .expect("workdir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("raster"))
        })
        .collect();
    pages.sort();
    let images: Vec<image::GrayImage> = pages
        .iter()
        .map(|p| image::open(p).expect("raster png").to_luma8())
        .collect();
    for p in &pages {
        let _ = std::fs::remove_file(p);
    }
    let width = images.iter().map(|i| i.width()).max().unwrap_or(1);
    let height: u32 = images.iter().map(|i| i.height()).sum();
    let mut stacked = vec![255u8; (width * height) as usize];
    let mut y0 = 0;
    for img in &images {
        for (x, y, p) in img.enumerate_pixels() {
            stacked[((y0 + y) * width + x) as usize] = p.0[0];
        }
        y0 += img.height();
    }
    let pixels = spoil(&stacked, width, height, noise, seed);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 75)
        .encode(&pixels, width, height, image::ExtendedColorType::L8)
        .expect("jpeg encode");
    (jpeg, width, height)
}

fn spoil(src: &[u8], width: u32, height: u32, noise: Noise, seed: u64) -> Vec<u8> {
    let (w, h) = (width as i64, height as i64);
    let (sin, cos) = noise.degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let at = |x: i64, y: i64| -> f32 {
        if x < 0 || y < 0 || x >= w || y >= h {
            255.0
        } else {
            f32::from(src[(y * w + x) as usize])
        }
    };
    let mut out = vec![255u8; src.len()];
    for y in 0..h {
        for x in 0..w {
            // Inverse rotation, bilinear sample.
            let dx = x as f32 - cx;
            let dy = y as f32 - cy;
            let sx = cos * dx + sin * dy + cx;
            let sy = -sin * dx + cos * dy + cy;
            let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
            let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
            out[(y * w + x) as usize] = (top * (1.0 - fy) + bottom * fy) as u8;
        }
    }
    for _ in 0..noise.blur_passes {
        out = box_blur(&out, w, h);
    }
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for p in out.iter_mut() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = (state >> 33) as u32;
        let v = f32::from(*p);
        // Fainter ink on a grey page.
        let mut v = 255.0 - (255.0 - v) * noise.contrast - 35.0;
        if (r % 10_000) as f32 / 10_000.0 < noise.speckle {
            v = (r % 256) as f32;
        }
        *p = v.clamp(0.0, 255.0) as u8;
    }
    out
}

fn box_blur(src: &[u8], w: i64, h: i64) -> Vec<u8> {
    let mut out = src.to_vec();
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let mut sum = 0u32;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    sum += u32::from(src[((y + dy) * w + x + dx) as usize]);
                }
            }
            out[(y * w + x) as usize] = (sum / 9) as u8;
        }
    }
    out
}
