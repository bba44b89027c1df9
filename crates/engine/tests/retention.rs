//! Retention rules: loading (with errors naming file, line and what is allowed) and which
//! limits cover a request, as data tables.

use chrono::NaiveDate;
use citygate_engine::packs::embedded_packs;
use citygate_engine::{Kept, PackText, Request, RuleSet};

const PACK: &str = r#"[pack]
covers_from = "2020-01-01"
level = "city"
title = "Test pack"

[[provision]]
id = "t.base"
citation = "Test Code § 1"
confidence = "TEXT"
excerpt = "No agent shall share records."
when.act = ["share_information"]
outcome = "decline"
explanation = "Do not share."

[[retention]]
id = "t.documents"
citation = "Test Code § 2"
confidence = "TEXT"
excerpt = "Documents shall not be kept."
when.agency = ["municipal_id"]
what = "documents"
keep_days_after_close = 0
explanation = "Destroy the papers."

[[retention]]
id = "t.details-long"
citation = "Test Code § 3"
confidence = "TEXT"
excerpt = "Case files are kept for one year."
when.agency = ["municipal_id", "library"]
what = "details"
keep_days_after_close = 365
explanation = "One year."

[[retention]]
id = "t.details-short"
citation = "Test Code § 4"
confidence = "TEXT"
excerpt = "Library case files are kept for thirty days."
when.agency = ["library"]
what = "details"
keep_days_after_close = 30
from = "2025-01-01"
explanation = "Thirty days."
"#;

fn load(text: &str) -> Result<RuleSet, String> {
    RuleSet::load(&[PackText {
        pack: "chicago".into(),
        file: "rules/chicago/test.toml".into(),
        text: text.into(),
    }])
    .map_err(|e| e.to_string())
}

fn request(json: &str) -> Request {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
}

/// What a limit is, as the tables write it: what it limits, the rule, the days.
type Limit = (Kept, &'static str, u32);

fn limits(rules: &RuleSet, json: &str) -> Vec<(Kept, String, u32)> {
    rules
        .retention_for(&request(json), today())
        .into_iter()
        .map(|r| (r.what, r.rule, r.keep_days_after_close))
        .collect()
}

#[test]
fn which_limits_cover_a_request() {
    let rules = load(PACK).unwrap_or_else(|e| panic!("{e}"));
    let share = r#""act": "share_information", "requester": {"kind": "immigration_agency"}"#;
    let table: &[(&str, &[Limit])] = &[
        (
            r#"{"jurisdiction": "chicago", "agency": {"kind": "municipal_id"}, SHARE}"#,
            &[
                (Kept::Documents, "t.documents", 0),
                (Kept::Details, "t.details-long", 365),
            ],
        ),
        // Two limits on details: the shorter one wins.
        (
            r#"{"jurisdiction": "chicago", "agency": {"kind": "library"}, SHARE}"#,
            &[(Kept::Details, "t.details-short", 30)],
        ),
        // The shorter rule is not in force on the request's date.
        (
            r#"{"jurisdiction": "chicago", "date": "2024-06-01", "agency": {"kind": "library"}, SHARE}"#,
            &[(Kept::Details, "t.details-long", 365)],
        ),
        // Unknown agency: a purge cannot be undone, so nothing is limited.
        (r#"{"jurisdiction": "chicago", SHARE}"#, &[]),
        (
            r#"{"jurisdiction": "chicago", "agency": {"kind": "law_enforcement"}, SHARE}"#,
            &[],
        ),
        // Another jurisdiction's chain does not include the chicago pack.
        (
            r#"{"jurisdiction": "new-york-city", "agency": {"kind": "municipal_id"}, SHARE}"#,
            &[],
        ),
    ];
    for (json, want) in table {
        let json = json.replace("SHARE", share);
        let want: Vec<(Kept, String, u32)> = want
            .iter()
            .map(|(k, id, d)| (*k, id.to_string(), *d))
            .collect();
        assert_eq!(limits(&rules, &json), want, "{json}");
    }
}

#[test]
fn shipped_packs_keep_no_municipal_id_papers_after_close() {
    let rules = RuleSet::load(&embedded_packs()).unwrap_or_else(|e| panic!("{e}"));
    let table: &[(&str, &[Limit])] = &[
        (
            r#"{"jurisdiction": "chicago", "agency": {"kind": "municipal_id"}, "requester": {"kind": "immigration_agency"}, "act": "share_information", "data": ["municipal_id_record"]}"#,
            &[(Kept::Documents, "chicago.citykey.documents-not-kept", 0)],
        ),
        (
            r#"{"jurisdiction": "new-york-city", "agency": {"kind": "municipal_id"}, "requester": {"kind": "immigration_agency"}, "act": "share_information"}"#,
            &[(Kept::Documents, "nyc.idnyc.documents-not-kept", 0)],
        ),
        (
            r#"{"jurisdiction": "chicago", "agency": {"kind": "corrections"}, "requester": {"kind": "immigration_agency"}, "act": "detain"}"#,
            &[],
        ),
    ];
    for (json, want) in table {
        let want: Vec<(Kept, String, u32)> = want
            .iter()
            .map(|(k, id, d)| (*k, id.to_string(), *d))
            .collect();
        assert_eq!(limits(&rules, json), want, "{json}");
    }
    let shown = citygate_engine::show::render(&rules, None);
    assert!(
        shown.contains("### Retention `chicago.citykey.documents-not-kept`"),
        "rules show lists retention rules"
    );
}

#[test]
fn broken_retention_rules_name_file_line_and_what_is_allowed() {
    let table: &[(&str, &str, &str)] = &[
        (
            "keep_days_after_close = 0",
            "keep_days_after_close = 99999",
            "allowed: 0 to 36500",
        ),
        (
            "keep_days_after_close = 0",
            "keep_days_after_close = -1",
            "test.toml:",
        ),
        ("what = \"documents\"", "what = \"everything\"", "documents"),
        (
            "when.agency = [\"municipal_id\"]\nwhat",
            "when.agency = [\"town_hall\"]\nwhat",
            "town_hall",
        ),
        (
            "id = \"t.documents\"",
            "id = \"t.base\"",
            "duplicate id `t.base`",
        ),
        ("id = \"t.documents\"", "id = \"bad id\"", "`id` must be"),
        (
            "excerpt = \"Documents shall not be kept.\"",
            "excerpt = \" \"",
            "`excerpt` is empty",
        ),
    ];
    for (from, to, expect) in table {
        assert!(PACK.contains(from), "{from}");
        let broken = PACK.replacen(from, to, 1);
        let err = match load(&broken) {
            Ok(_) => panic!("{to}: loaded"),
            Err(e) => e,
        };
        assert!(err.contains("rules/chicago/test.toml:"), "{err}");
        assert!(err.contains(expect), "{to}: {err}");
    }
    // The line named is the rule's own (or the offending key's).
    let err = load(&PACK.replacen(
        "keep_days_after_close = 0",
        "keep_days_after_close = 99999",
        1,
    ))
    .err()
    .unwrap_or_default();
    let line = PACK
        .lines()
        .position(|l| l.contains("id = \"t.documents\""))
        .unwrap_or(0);
    assert!(
        err.starts_with(&format!("rules/chicago/test.toml:{line}:")),
        "{err}"
    );
}
