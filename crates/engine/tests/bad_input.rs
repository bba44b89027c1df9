//! Bad requests: a clear error naming the field and the allowed values, never a
//! panic, and never the value itself (it may be personal data).

use citygate_engine::vocab::Request;

/// (request JSON, field named, fragment of the message)
const CASES: &[(&str, &str, &str)] = &[
    ("{", "request", "EOF"),
    ("", "request", "EOF"),
    ("[]", "request", "expected struct Request"),
    ("{\"act\": \"detain\"}", "request", "missing field `jurisdiction`"),
    ("{\"jurisdiction\": \"chicago\"}", "request", "missing field `act`"),
    ("{\"jurisdiction\": \"gotham\", \"act\": \"detain\"}", "jurisdiction", "expected one of `chicago`, `cook-county`, `illinois`, `new-york-city`, `california`, `san-francisco`"),
    ("{\"jurisdiction\": \"chicago\", \"act\": \"deport\"}", "act", "expected one of `detain`"),
    ("{\"jurisdiction\": \"chicago\", \"act\": \"detain\", \"documents\": [{\"kind\": \"I-247A\"}]}", "documents[0].kind", "expected one of `none`, `civil_immigration_warrant`"),
    ("{\"jurisdiction\": \"chicago\", \"act\": \"detain\", \"subject\": {\"age\": 3}}", "subject.(unknown field)", "unknown field (value withheld), expected one of `in_custody`"),
    ("{\"jurisdiction\": \"chicago\", \"act\": \"detain\", \"colour\": 1}", "(unknown field)", "unknown field (value withheld), expected one of `jurisdiction`"),
    ("{\"jurisdiction\": \"chicago\", \"act\": \"detain\", \"date\": \"03/02/2026\"}", "date", "input contains invalid characters"),
    ("{\"jurisdiction\": \"chicago\", \"act\": \"detain\", \"data\": [\"ssn\"]}", "data[0]", "expected one of `immigration_status`"),
    ("{\"jurisdiction\": \"chicago\", \"act\": \"detain\", \"subject\": {\"in_custody\": \"yes\"}}", "subject.in_custody", "expected a boolean"),
    ("{\"jurisdiction\": \"chicago\", \"act\": \"detain\"} trailing", "request", "trailing characters"),
];

#[test]
fn bad_requests_name_the_field_and_allowed_values() {
    for (json, field, fragment) in CASES {
        let err = match Request::from_json(json) {
            Ok(r) => panic!("{json}: accepted as {r:?}"),
            Err(e) => e,
        };
        assert_eq!(&err.field, field, "{json}: {err}");
        assert!(
            err.message.contains(fragment),
            "{json}: {err:?} lacks {fragment:?}"
        );
    }
}

#[test]
fn errors_never_repeat_the_value() {
    let marker = "Maria-Zzyzx-Marker";
    for json in [
        format!("{{\"jurisdiction\": \"chicago\", \"act\": \"detain\", \"{marker}\": 1}}"),
        format!("{{\"jurisdiction\": \"{marker}\", \"act\": \"detain\"}}"),
        format!("{{\"jurisdiction\": \"chicago\", \"act\": \"detain\", \"requester\": {{\"kind\": \"{marker}\"}}}}"),
        format!("{{\"jurisdiction\": \"chicago\", \"act\": \"detain\", \"subject\": {{\"in_custody\": \"{marker}\"}}}}"),
        format!("{{\"jurisdiction\": \"chicago\", \"act\": \"detain\", \"date\": \"{marker}\"}}"),
    ] {
        let err = Request::from_json(&json).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!err.is_empty(), "{json} accepted");
        assert!(!err.contains(marker), "{err}");
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic fuzz: mutate a valid request byte by byte.
    let valid = include_str!("../../../examples/detainer-at-the-jail.json");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut rejected = 0usize;
    for _ in 0..20_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut bytes = valid.as_bytes().to_vec();
        let i = (seed as usize) % bytes.len();
        bytes[i] = (seed >> 32) as u8;
        let text = String::from_utf8_lossy(&bytes);
        rejected += usize::from(Request::from_json(&text).is_err());
    }
    // The fuzz must reach the parser's error paths, and the untouched request parse.
    assert!(Request::from_json(valid).is_ok());
    assert!(rejected > 1_000, "only {rejected} mutations rejected");
}
