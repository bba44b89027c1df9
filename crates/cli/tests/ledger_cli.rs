//! `citygate ledger ...` end to end: append, checkpoint, prove, verify, erase, export,
//! key and a two-witness cosigning round, in a fresh data directory.

use std::path::Path;
use std::process::{Command, Output};

fn citygate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_citygate"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("CITYGATE_DATA_DIR")
        .output()
        .expect("run citygate")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = citygate(dir, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn ledger_commands_work_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let vkey = ok(d, &["ledger", "key"]).trim().to_owned();
    assert!(vkey.starts_with("citygate.local/ledger+"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("citygate-data/ledger.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    for i in 0..5 {
        let idx = ok(
            d,
            &[
                "ledger",
                "append",
                "--kind",
                "decision_made",
                "--provision",
                "IL-TRUST-15(a)",
                "--details",
                r#"{"subject":"Rosa Testperson","answer":"decline"}"#,
            ],
        );
        assert_eq!(idx.trim(), i.to_string());
    }
    // Bad input names the field and exits 2.
    let out = citygate(
        d,
        &[
            "ledger",
            "append",
            "--kind",
            "decision_made",
            "--provision",
            "Rosa Testperson",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("provision"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Rosa"));

    // A malformed event file is refused by position, without quoting its values.
    std::fs::write(
        d.join("event.json"),
        r#"{"kind":"decision_made","time":"Rosa Testperson","provision":"IL-TRUST-15(a)"}"#,
    )
    .unwrap();
    let out = citygate(d, &["ledger", "append", "--json", "event.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1") && !err.contains("Rosa"), "{err}");

    std::fs::write(d.join("cp1"), ok(d, &["ledger", "checkpoint"])).unwrap();
    ok(d, &["ledger", "prove", "3", "-o", "r3"]);
    assert!(ok(d, &["ledger", "verify", "--receipt", "r3"]).starts_with("OK"));
    // A receipt altered in its proof fails.
    let receipt = std::fs::read_to_string(d.join("r3")).unwrap();
    let proof_line = receipt.lines().nth(3).unwrap().to_owned();
    let flipped = if proof_line.starts_with('A') {
        proof_line.replacen('A', "B", 1)
    } else {
        format!("A{}", &proof_line[1..])
    };
    std::fs::write(d.join("bad"), receipt.replace(&proof_line, &flipped)).unwrap();
    assert_eq!(
        citygate(d, &["ledger", "verify", "--receipt", "bad"])
            .status
            .code(),
        Some(1)
    );

    // An auditor's opening matches the receipt; a doctored one does not.
    ok(d, &["ledger", "open", "3", "-o", "open3.json"]);
    assert!(ok(
        d,
        &[
            "ledger",
            "verify",
            "--receipt",
            "r3",
            "--opening",
            "open3.json"
        ]
    )
    .contains("opening matches"));
    let doctored = std::fs::read_to_string(d.join("open3.json"))
        .unwrap()
        .replace("decline", "comply");
    std::fs::write(d.join("doctored.json"), doctored).unwrap();
    assert_eq!(
        citygate(
            d,
            &[
                "ledger",
                "verify",
                "--receipt",
                "r3",
                "--opening",
                "doctored.json"
            ]
        )
        .status
        .code(),
        Some(1)
    );

    assert!(ok(d, &["ledger", "erase", "3", "--provision", "retention-7"]).contains("entry 5"));
    std::fs::write(d.join("cp2"), ok(d, &["ledger", "checkpoint"])).unwrap();
    assert!(ok(d, &["ledger", "verify", "--old", "cp1", "--new", "cp2"]).starts_with("OK"));
    // After the erasure there is nothing left to open.
    assert_eq!(citygate(d, &["ledger", "open", "3"]).status.code(), Some(1));
    assert!(ok(d, &["ledger", "export", "pub"]).contains("exported 6 entries"));
    assert!(ok(
        d,
        &["ledger", "verify", "--tiles", "pub", "--log-key", &vkey]
    )
    .starts_with("OK"));
    assert!(ok(
        d,
        &["ledger", "verify", "--old", "cp1", "--new", "cp2", "--tiles", "pub"]
    )
    .starts_with("OK"));

    // Two witnesses cosign; a verifier requiring 2 of 2 accepts, 1 of 1 unknown witness refuses.
    let w1 = ok(
        d,
        &[
            "ledger",
            "cosign",
            "--witness-dir",
            "w1",
            "--name",
            "ig.example",
            "--show-key",
        ],
    )
    .trim()
    .to_owned();
    let w2 = ok(
        d,
        &[
            "ledger",
            "cosign",
            "--witness-dir",
            "w2",
            "--name",
            "clerk.example",
            "--show-key",
        ],
    )
    .trim()
    .to_owned();
    std::fs::write(
        d.join("req"),
        ok(d, &["ledger", "prove", "--witness-from", "0"]),
    )
    .unwrap();
    let mut lines = ok(
        d,
        &[
            "ledger",
            "cosign",
            "--witness-dir",
            "w1",
            "--log-key",
            &vkey,
            "req",
        ],
    );
    lines += &ok(
        d,
        &[
            "ledger",
            "cosign",
            "--witness-dir",
            "w2",
            "--log-key",
            &vkey,
            "req",
        ],
    );
    std::fs::write(d.join("cosigs"), lines).unwrap();
    ok(
        d,
        &[
            "ledger",
            "checkpoint",
            "--attach",
            "cosigs",
            "--witness",
            &w1,
            "--witness",
            &w2,
        ],
    );
    ok(d, &["ledger", "prove", "0", "-o", "r0"]);
    assert!(ok(
        d,
        &[
            "ledger",
            "verify",
            "--receipt",
            "r0",
            "--witness",
            &w1,
            "--witness",
            &w2,
            "--quorum",
            "2"
        ]
    )
    .contains("ig.example"));
    // The same trust as a C2SP tlog-policy file: 2 of 3 witnesses.
    let w3_key = ok(
        d,
        &[
            "ledger",
            "cosign",
            "--witness-dir",
            "w3",
            "--name",
            "uni.example",
            "--show-key",
        ],
    );
    std::fs::write(
        d.join("city.policy"),
        format!("log {vkey}\nwitness IG {w1}\nwitness Clerk {w2}\nwitness Uni {}\ngroup city 2 IG Clerk Uni\nquorum city\n", w3_key.trim()),
    )
    .unwrap();
    assert!(ok(
        d,
        &[
            "ledger",
            "verify",
            "--receipt",
            "r0",
            "--policy",
            "city.policy"
        ]
    )
    .starts_with("OK"));
    std::fs::write(
        d.join("strict.policy"),
        format!("log {vkey}\nwitness IG {w1}\nwitness Clerk {w2}\nwitness Uni {}\ngroup city all IG Clerk Uni\nquorum city\n", w3_key.trim()),
    )
    .unwrap();
    assert_eq!(
        citygate(
            d,
            &[
                "ledger",
                "verify",
                "--receipt",
                "r0",
                "--policy",
                "strict.policy"
            ]
        )
        .status
        .code(),
        Some(1)
    );
    let w3 = ok(
        d,
        &["ledger", "cosign", "--witness-dir", "w3", "--show-key"],
    )
    .trim()
    .to_owned();
    assert_eq!(
        citygate(
            d,
            &[
                "ledger",
                "verify",
                "--receipt",
                "r0",
                "--witness",
                &w3,
                "--quorum",
                "1"
            ]
        )
        .status
        .code(),
        Some(1)
    );
    // The witness refuses to go back to size 0 once it has seen size 6.
    assert_eq!(
        citygate(
            d,
            &[
                "ledger",
                "cosign",
                "--witness-dir",
                "w1",
                "--log-key",
                &vkey,
                "req"
            ]
        )
        .status
        .code(),
        Some(1)
    );
}
