//! End-to-end read of a one-page phone photo against the bare `tesseract`
//! program on the same image, in one run, alternating (target: overhead < 10%).
//! `cargo bench -p citygate-reader --bench ocr_overhead`
//!
//! The photo is the corpus detainer rendered at 300 dpi (2550x3300, 8.4 MP, the
//! size of a phone photo of a letter page), turned 1.8°, blurred, faded and
//! speckled, as in the accuracy test.

#[path = "../tests/support/render.rs"]
mod render;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use citygate_reader::{read_file, Limits};

const RUNS: usize = 9;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/documents/i247a_detainer.txt"
    ))
    .expect("corpus");
    let pdf = dir.path().join("page.pdf");
    render::text_pdf(&text, &pdf);
    let work = dir.path().join("raster");
    std::fs::create_dir_all(&work).expect("dir");
    let (jpeg, w, h) = render::noisy_photo(&pdf, &work, 300, render::Noise::phone(), 1);
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&photo, &jpeg).expect("photo");
    let limits = Limits::default();
    let psm = limits.ocr_page_segmentation.to_string();

    let bare = || {
        let start = Instant::now();
        let out = Command::new("tesseract")
            .arg(&photo)
            .args(["stdout", "-l", &limits.ocr_languages, "--psm", &psm])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .expect("tesseract");
        assert!(out.status.success() && !out.stdout.is_empty());
        start.elapsed()
    };
    let ours = || {
        let start = Instant::now();
        let read = read_file(&photo, &limits).expect("read");
        assert_eq!(
            read.reading.kind.map(|k| k.to_string()).as_deref(),
            Some("immigration_detainer")
        );
        start.elapsed()
    };
    // Warm the page cache and tesseract's model files once each.
    bare();
    ours();
    let (mut bare_times, mut our_times) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        bare_times.push(bare());
        our_times.push(ours());
    }
    let (b, o) = (median(bare_times), median(our_times));
    println!("photo: {w}x{h} JPEG, {} KiB", jpeg.len() / 1024);
    println!(
        "bare tesseract   median {:>8.1} ms  ({RUNS} runs)",
        b.as_secs_f64() * 1e3
    );
    println!(
        "citygate read    median {:>8.1} ms  ({RUNS} runs)",
        o.as_secs_f64() * 1e3
    );
    println!(
        "overhead ratio   {:.3} ({:+.1}%)",
        o.as_secs_f64() / b.as_secs_f64(),
        (o.as_secs_f64() / b.as_secs_f64() - 1.0) * 100.0
    );
}
