//! The staff app in a real browser: headless Chromium (Debian's) driven by
//! playwright-core from `e2e/flow.mjs`, against the app served on a free
//! loopback port. Checks the outcome of each scenario, times first tap to answer,
//! runs axe-core on every screen, and keeps screenshots in `target/e2e/`.
//! `scripts/test` installs Chromium and the npm packages; without them the test
//! says so and, under CI, fails.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use citygate_engine::packs::embedded_packs;
use citygate_engine::RuleSet;
use citygate_web::{router, Settings, Web};

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
    let rules = RuleSet::load(&embedded_packs()).unwrap_or_else(|e| panic!("{e}"));
    let app = router(Web::new(
        Arc::new(rules),
        Settings {
            law_department_phone: "312-555-0100".into(),
            ..Settings::default()
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(e2e.join("flow.mjs"))
            .arg(format!("http://{addr}"))
            .arg(&artifacts)
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
