//! Deliberately broken packs: each must fail to load, or fail `rules check`, with a
//! message naming the file, the line and what is allowed.

use citygate_engine::check::check;
use citygate_engine::scenario;
use citygate_engine::{PackText, RuleSet};

const BASE: &str = r#"[pack]
covers_from = "2020-01-01"
level = "city"
title = "Test pack"

[[provision]]
id = "t.base"
citation = "Test Code § 1"
confidence = "TEXT"
excerpt = "No agent shall hold a person on a detainer."
when.act = ["detain"]
when.document.kind = ["immigration_detainer"]
outcome = "decline"
explanation = "Do not hold."

[[provision]]
id = "t.exception"
citation = "Test Code § 1(b)"
confidence = "TEXT"
excerpt = "Unless a judge orders it."
when.act = ["detain"]
when.document = { kind = ["court_order"], signed_by = ["federal_judge"] }
exception_to = ["t.base"]
outcome = "comply"
obligation = "must"
explanation = "Obey the order."
"#;

const SCENARIOS: &str = r#"
[[scenario]]
name = "detainer"
outcome = "decline"
deciding = ["t.base"]
request = { jurisdiction = "chicago", act = "detain", documents = [{ kind = "immigration_detainer" }] }

[[scenario]]
name = "order"
outcome = "comply"
deciding = ["t.exception"]
request = { jurisdiction = "chicago", act = "detain", documents = [{ kind = "court_order", signed_by = "federal_judge" }] }
"#;

fn pack(text: &str) -> Vec<PackText> {
    vec![PackText {
        pack: "chicago".into(),
        file: "rules/chicago/test.toml".into(),
        text: text.into(),
    }]
}

fn load(text: &str) -> Result<RuleSet, String> {
    RuleSet::load(&pack(text)).map_err(|e| e.to_string())
}

fn check_errors(text: &str, scenarios: &str) -> Vec<String> {
    let rules = load(text).unwrap_or_else(|e| panic!("{e}"));
    let sc =
        scenario::parse("rules/scenarios/test.toml", scenarios).unwrap_or_else(|e| panic!("{e}"));
    check(&rules, &sc)
        .errors
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn the_base_pack_is_sound() {
    assert_eq!(check_errors(BASE, SCENARIOS), Vec::<String>::new());
}

/// (what is broken, replace this, with this, expected message fragment, expected line)
const LOAD_ERRORS: &[(&str, &str, &str, &str, usize)] = &[
    (
        "misspelt fact",
        "when.act = [\"detain\"]\nwhen.document.kind",
        "when.acts = [\"detain\"]\nwhen.document.kind",
        "unknown field `acts`",
        11,
    ),
    (
        "unknown act",
        "when.act = [\"detain\"]\nwhen.document.kind",
        "when.act = [\"deport\"]\nwhen.document.kind",
        "unknown variant `deport`, expected one of `detain`",
        11,
    ),
    (
        "unknown document kind",
        "[\"immigration_detainer\"]",
        "[\"ice_form\"]",
        "unknown variant `ice_form`",
        12,
    ),
    (
        "unknown outcome",
        "outcome = \"decline\"",
        "outcome = \"deny\"",
        "unknown variant `deny`",
        13,
    ),
    (
        "unknown confidence",
        "confidence = \"TEXT\"\nexcerpt = \"No",
        "confidence = \"SURE\"\nexcerpt = \"No",
        "unknown variant `SURE`",
        9,
    ),
    (
        "missing citation",
        "citation = \"Test Code § 1\"\n",
        "",
        "missing field `citation`",
        6,
    ),
    (
        "empty citation",
        "citation = \"Test Code § 1\"\n",
        "citation = \" \"\n",
        "`citation` is empty",
        6,
    ),
    (
        "comply without obligation",
        "obligation = \"must\"\n",
        "",
        "needs `obligation",
        16,
    ),
    (
        "exception to nothing",
        "exception_to = [\"t.base\"]",
        "exception_to = [\"t.nothing\"]",
        "`t.nothing`, which does not exist",
        23,
    ),
    (
        "duplicate id",
        "id = \"t.exception\"",
        "id = \"t.base\"",
        "duplicate provision id `t.base`",
        16,
    ),
    (
        "ambiguous not",
        "when.document.kind = [\"immigration_detainer\"]",
        "when.not.minor = true\nwhen.not.bulk = true",
        "negates their conjunction",
        6,
    ),
    (
        "empty list",
        "when.act = [\"detain\"]\nwhen.document.kind",
        "when.act = []\nwhen.document.kind",
        "`act` is an empty list",
        6,
    ),
];

#[test]
fn load_errors_name_file_line_and_allowed_values() {
    for (what, from, to, fragment, line) in LOAD_ERRORS {
        assert!(BASE.contains(from), "{what}: base lacks {from:?}");
        let broken = BASE.replacen(from, to, 1);
        let err = match load(&broken) {
            Ok(_) => panic!("{what}: loaded"),
            Err(e) => e,
        };
        let prefix = format!("rules/chicago/test.toml:{line}:");
        assert!(
            err.starts_with(&prefix),
            "{what}: {err:?} should start with {prefix:?}"
        );
        assert!(
            err.contains(fragment),
            "{what}: {err:?} should contain {fragment:?}"
        );
    }
}

#[test]
fn an_exception_cycle_is_a_load_error() {
    let cyclic = BASE.replacen(
        "outcome = \"decline\"",
        "exception_to = [\"t.exception\"]\noutcome = \"decline\"",
        1,
    );
    let err = load(&cyclic).err().unwrap_or_default();
    assert!(err.contains("cycle"), "{err}");
}

#[test]
fn check_catches_an_untested_provision() {
    let scenarios = SCENARIOS.replace("deciding = [\"t.exception\"]", "");
    let errors = check_errors(BASE, &scenarios);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("rules/chicago/test.toml:16")
                && e.contains("`t.exception` has no test")),
        "{errors:?}"
    );
}

#[test]
fn check_catches_a_conflict_without_an_exception_edge() {
    let no_edge = BASE
        .replacen("exception_to = [\"t.base\"]\n", "", 1)
        .replacen(
            "when.document = { kind = [\"court_order\"], signed_by = [\"federal_judge\"] }",
            "when.document = { signed_by = [\"federal_judge\"] }",
            1,
        );
    let errors = check_errors(&no_edge, SCENARIOS);
    assert!(
        errors.iter().any(
            |e| e.contains("`t.base` (decline) and `t.exception` (comply")
                || e.contains("`t.exception` (comply) and `t.base` (decline")
        ),
        "{errors:?}"
    );
}

#[test]
fn check_catches_an_unreachable_provision() {
    // The exception now covers every detainer case, so the base can never decide.
    let shadowed = BASE.replacen(
        "when.document = { kind = [\"court_order\"], signed_by = [\"federal_judge\"] }",
        "when.document = { kind = [\"immigration_detainer\"] }",
        1,
    );
    let errors = check_errors(&shadowed, SCENARIOS);
    assert!(
        errors.iter().any(|e| e.contains("`t.base` is unreachable")),
        "{errors:?}"
    );
}

#[test]
fn check_catches_a_failing_scenario() {
    let wrong = SCENARIOS.replacen("outcome = \"decline\"", "outcome = \"comply\"", 1);
    let errors = check_errors(BASE, &wrong);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("scenario `detainer`") && e.contains("expected comply")),
        "{errors:?}"
    );
}
