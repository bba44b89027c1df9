//! The staff app in a real browser: headless Chromium (Debian's) driven by
//! playwright-core from `e2e/flow.mjs`, against the real service (API and pages) on a
//! free loopback port. Logs in, checks the outcome of each scenario and the case it
//! records, times first tap to answer, follows a case through sign-off and counsel's
//! resolution, runs axe-core on every screen, and keeps screenshots in `target/e2e/`.
//! `scripts/test` installs Chromium and the npm packages; without them the test
//! says so and, under CI, fails.

#[path = "../../reader/tests/support/render.rs"]
mod render;
mod support;

use std::path::Path;
use std::process::Command;

use support::Site;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_in_chromium_with_axe() {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = Path::new(&chromium).exists() && e2e.join("node_modules/playwright-core").exists();
    if !ready {
        let msg = "browser test skipped: Chromium or e2e/node_modules missing (run scripts/test)";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("{msg}");
        return;
    }
    let site = Site::start().await;
    let base = site.base.clone();
    // "ICE is here with this paper": a phone photo of a detainer (the corpus text set
    // as a PDF, rasterised, rotated, blurred and speckled), for the reader to OCR.
    let photos = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let detainer = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/documents/i247a_detainer.txt"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let pdf = photos.path().join("detainer.pdf");
    render::text_pdf(&detainer, &pdf);
    let (jpeg, _, _) = render::noisy_photo(&pdf, photos.path(), 200, render::Noise::phone(), 7);
    let photo = photos.path().join("detainer-photo.jpg");
    std::fs::write(&photo, jpeg).unwrap_or_else(|e| panic!("{e}"));
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(e2e.join("flow.mjs"))
            .arg(&base)
            .arg(&artifacts)
            .env("CITYGATE_PASSWORD", support::PASSWORD)
            .env("DETAINER_PHOTO", &photo)
            .output()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|e| panic!("node: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "browser scenarios failed:\n{stdout}");
    assert!(stdout.contains("e2e: all scenarios passed"));
    // The letters, as printed to PDF, must read back as text.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    for (file, expected) in [
        ("letter-detainer-at-the-jail.pdf", "We decline the request"),
        (
            "letter-ice-asks-status.pdf",
            "referred to the Law Department",
        ),
    ] {
        let text = Command::new("pdftotext")
            .arg(root.join(file))
            .arg("-")
            .output()
            .unwrap_or_else(|e| panic!("pdftotext: {e}"));
        let text = String::from_utf8_lossy(&text.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(text.contains(expected), "{file}: {text}");
    }
}
