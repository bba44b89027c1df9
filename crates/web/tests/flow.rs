//! The staff app over HTTP, as a browser without JavaScript would drive it, against
//! the real service (API and pages) on SQLite: log in, post the first screen, answer
//! each question the engine asks, read the answer, record the case, and follow it
//! through sign-off, counsel's resolution, the action and the letters.

mod support;

use support::{hidden, Site};

fn outcome(html: &str) -> &str {
    ["decline", "comply", "refer"]
        .into_iter()
        .find(|o| html.contains(&format!("data-outcome=\"{o}\"")))
        .unwrap_or("none")
}

/// Run the flow: first screen (and, with a photo, the confirmation of what the reader
/// found), then answer questions from `answers` (fact path, value) in whatever order
/// the engine asks. Returns the final page, the facts asked and the confirmation page.
async fn flow(
    site: &Site,
    c: &reqwest::Client,
    first: &[(&str, &str)],
    answers: &[(&str, &str)],
    file: Option<(&str, Vec<u8>)>,
) -> (String, Vec<String>, Option<String>) {
    let ask = site.get(c, "/ask").await;
    let csrf = hidden(&ask, "csrf").unwrap_or_default();
    let mut fields = first.to_vec();
    fields.push(("csrf", &csrf));
    let photo = file.is_some();
    let mut confirmation = None;
    let (status, mut html) = site.post_ask(c, "/ask", &fields, file, true).await;
    assert_eq!(status, 200, "{html}");
    if photo {
        // What the reader found is shown for confirmation before it counts.
        assert!(html.contains("Is this the paper?"), "{html}");
        let state = hidden(&html, "state").unwrap_or_default();
        let fields = [
            ("csrf", csrf.as_str()),
            ("state", &state),
            ("confirm", "yes"),
        ];
        let (status, next) = site.post_ask(c, "/ask", &fields, None, true).await;
        assert_eq!(status, 200, "{next}");
        confirmation = Some(std::mem::replace(&mut html, next));
    }
    let mut asked = Vec::new();
    for _ in 0..10 {
        let Some(fact) = hidden(&html, "fact") else {
            break;
        };
        let state = hidden(&html, "state").unwrap_or_default();
        let value = answers
            .iter()
            .find(|(f, _)| *f == fact)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("unexpected question {fact}: {html}"));
        asked.push(fact.clone());
        let fields = [
            ("csrf", csrf.as_str()),
            ("state", &state),
            ("fact", &fact),
            ("answer", value),
        ];
        let (status, next) = site.post_ask(c, "/ask", &fields, None, true).await;
        assert_eq!(status, 200, "{next}");
        html = next;
    }
    (html, asked, confirmation)
}

/// Records the answer on `answer_page` as a case; returns the case page's path.
async fn record(site: &Site, c: &reqwest::Client, answer_page: &str, requester: &str) -> String {
    record_via(site, c, answer_page, requester, "in_person").await
}

/// [`record`], the request having come through `channel`.
async fn record_via(
    site: &Site,
    c: &reqwest::Client,
    answer_page: &str,
    requester: &str,
    channel: &str,
) -> String {
    let csrf = hidden(answer_page, "csrf").unwrap_or_default();
    let state = hidden(answer_page, "state").unwrap_or_default();
    let (status, location, body) = site
        .post_form(
            c,
            "/cases",
            &[
                ("csrf", &csrf),
                ("state", &state),
                ("channel", channel),
                ("requester_name", requester),
                ("requester_organisation", "ICE ERO Chicago"),
                ("subject_name", "Subject Person"),
                ("notes", ""),
            ],
        )
        .await;
    assert_eq!(status, 303, "record: {body}");
    assert!(location.starts_with("/cases/"), "{location}");
    location
}

/// Posts a case step's form (sign-off, resolution, action, disclosure) from the case page.
async fn step(
    site: &Site,
    c: &reqwest::Client,
    case: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let page = site.get(c, case).await;
    let csrf = hidden(&page, "csrf").unwrap_or_default();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let (status, location, body) = site.post_form(c, &format!("{case}/{action}"), &all).await;
    (status, if status == 303 { location } else { body })
}

/// (case, first screen, answers, expected outcome, expected headline)
#[allow(clippy::type_complexity)]
const CASES: &[(&str, &[(&str, &str)], &[(&str, &str)], &str, &str)] = &[
    (
        "detainer at the jail",
        &[
            ("where", "jail"),
            ("who", "ice"),
            ("what", "hold"),
            ("paper", "ice-detainer"),
        ],
        &[("subject.in_custody", "true")],
        "decline",
        "Do not hold or hand over this person",
    ),
    (
        "phone call asking a release date",
        &[
            ("where", "jail"),
            ("who", "ice"),
            ("what", "release-date"),
            ("paper", "none"),
        ],
        &[],
        "decline",
        "Do not share this information",
    ),
    (
        "judge's criminal warrant",
        &[
            ("where", "jail"),
            ("who", "federal"),
            ("what", "hold"),
            ("paper", "judge-warrant"),
        ],
        &[
            ("documents[].signed_by", "magistrate_judge"),
            ("documents[].criminal", "true"),
        ],
        "comply",
        "This is a judge&#39;s warrant: comply, and do not interfere",
    ),
    (
        "ICE subpoena for ID records",
        &[
            ("where", "id-office"),
            ("who", "ice"),
            ("what", "id-records"),
            ("paper", "ice-subpoena"),
        ],
        &[("subject.consent", "none")],
        "decline",
        "Do not share this information",
    ),
    (
        "FOIA request for an arrest report",
        &[
            ("where", "records"),
            ("who", "public"),
            ("what", "foia-arrest"),
            ("paper", "foia"),
        ],
        &[],
        "comply",
        "Comply: the law requires it",
    ),
    (
        "written consent by the person",
        &[
            ("where", "human-services"),
            ("who", "public"),
            ("what", "status"),
            ("paper", "consent"),
        ],
        &[],
        "comply",
        "You may do this",
    ),
    (
        "ICE at the library door",
        &[
            ("where", "library"),
            ("who", "ice"),
            ("what", "enter"),
            ("paper", "none"),
        ],
        &[],
        "decline",
        "Do not allow this use or entry",
    ),
    (
        "search warrant at the library",
        &[
            ("where", "library"),
            ("who", "ice"),
            ("what", "enter"),
            ("paper", "judge-warrant"),
        ],
        &[("documents[].signed_by", "magistrate_judge")],
        "comply",
        "This is a judge&#39;s warrant: comply, and do not interfere",
    ),
    (
        "U visa certification",
        &[
            ("where", "police"),
            ("who", "self"),
            ("what", "visa"),
            ("paper", "none"),
        ],
        &[
            ("subject.crime_victim", "true"),
            ("subject.in_removal_proceedings", "false"),
        ],
        "comply",
        "Comply: the law requires it",
    ),
    (
        "ICE asks a person's status",
        &[
            ("where", "police"),
            ("who", "ice"),
            ("what", "status"),
            ("paper", "none"),
        ],
        &[],
        "refer",
        "Do nothing yet: call the Law Department",
    ),
    (
        "ICE wants a City lot",
        &[
            ("where", "other"),
            ("who", "ice"),
            ("what", "use-place"),
            ("paper", "none"),
        ],
        &[("purpose", "civil_immigration_enforcement")],
        "decline",
        "Do not allow this use or entry",
    ),
];

#[tokio::test]
async fn every_case_reaches_the_right_answer_and_is_recorded_with_its_receipt() {
    let site = Site::start().await;
    let desk = site.login("desk").await;
    for (name, first, answers, expected, headline) in CASES {
        let (html, asked, _) = flow(&site, &desk, first, answers, None).await;
        assert_eq!(
            outcome(&html),
            *expected,
            "{name} (asked {asked:?}): {html}"
        );
        assert!(
            html.contains(headline),
            "{name}: headline {headline:?} missing: {html}"
        );
        assert!(html.contains("<details>"), "{name}: no citations");
        assert!(
            html.contains("tel:312-555-0100"),
            "{name}: no Law Department number"
        );
        // Recorded: the case page shows the same outcome and the ledger receipt of its
        // opening, and the receipt is served.
        let case = record(&site, &desk, &html, "Officer Marker").await;
        let page = site.get(&desk, &case).await;
        assert!(
            page.contains(headline),
            "{name}: case page headline: {page}"
        );
        assert!(
            page.contains("Officer Marker"),
            "{name}: requester not shown"
        );
        let receipt = page
            .split("/api/v1/ledger/receipts/")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_else(|| panic!("{name}: no receipt link: {page}"));
        let (status, text) = site
            .fetch(&desk, &format!("/api/v1/ledger/receipts/{receipt}"))
            .await;
        assert_eq!(status, 200, "{name}: receipt {receipt}: {text}");
    }
    let list = site.get(&desk, "/cases").await;
    assert_eq!(
        list.matches("<tr class=\"status-").count(),
        CASES.len(),
        "{list}"
    );
    // Another desk officer sees none of them.
    let other = site.login("desk2").await;
    let list = site.get(&other, "/cases").await;
    assert!(list.contains("No cases yet."), "{list}");
}

/// Answers to the engine's questions: (fact path, value).
type Answers = &'static [(&'static str, &'static str)];

/// Finds a CASES row by name: its first screen and its answers.
fn scenario(name: &str) -> (Answers, Answers) {
    CASES
        .iter()
        .find(|c| c.0 == name)
        .map(|c| (c.1, c.2))
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

#[tokio::test]
async fn supervisor_signs_off_counsel_resolves_and_the_desk_closes() {
    let site = Site::start().await;
    let desk = site.login("desk").await;
    let boss = site.login("boss").await;
    let lawyer = site.login("lawyer").await;
    let audit = site.login("audit").await;

    // A detainer: declined, and an ICE request needs the supervisor's sign-off.
    let (first, answers) = scenario("detainer at the jail");
    let (html, _, _) = flow(&site, &desk, first, answers, None).await;
    let detainer = record(&site, &desk, &html, "Agent Marker").await;
    let page = site.get(&desk, &detainer).await;
    assert!(page.contains("data-status=\"awaiting_signoff\""), "{page}");
    // The desk cannot sign off; the action waits for the sign-off.
    let (status, _) = step(&site, &desk, &detainer, "signoff", &[("note", "")]).await;
    assert_eq!(status, 403);
    let queue = site.get(&boss, "/cases").await;
    assert!(
        queue.contains("Department cases") && queue.contains(&detainer),
        "{queue}"
    );
    let (status, to) = step(&site, &boss, &detainer, "signoff", &[("note", "Reviewed")]).await;
    assert_eq!((status, to.as_str()), (303, detainer.as_str()));
    let (status, _) = step(
        &site,
        &desk,
        &detainer,
        "action",
        &[("outcome", "declined"), ("note", "")],
    )
    .await;
    assert_eq!(status, 303);
    let page = site.get(&desk, &detainer).await;
    assert!(page.contains("data-status=\"closed\""), "{page}");
    for event in [
        "Request received and decided",
        "Signed off by a supervisor",
        "Action recorded",
    ] {
        assert!(page.contains(event), "{event}: {page}");
    }
    assert_eq!(
        page.matches("/api/v1/ledger/receipts/").count(),
        3,
        "{page}"
    );
    // The declination letter, with the requester and the deciding provision.
    let letter = site
        .get(&desk, &format!("{detainer}/letter?kind=decline"))
        .await;
    assert!(letter.contains("We decline the request"), "{letter}");
    assert!(letter.contains("Agent Marker, ICE ERO Chicago"), "{letter}");
    assert!(letter.contains("3510 S. Michigan Ave."), "{letter}");
    let (status, _) = site
        .fetch(&desk, &format!("{detainer}/letter?kind=comply"))
        .await;
    assert_eq!(status, 400);

    // ICE asks a person's status: referred; counsel resolves, the desk records.
    let (first, answers) = scenario("ICE asks a person's status");
    let (html, _, _) = flow(&site, &desk, first, answers, None).await;
    let referred = record(&site, &desk, &html, "Agent Marker").await;
    let queue = site.get(&lawyer, "/cases").await;
    assert!(
        queue.contains("Referral queue") && queue.contains(&referred),
        "{queue}"
    );
    assert!(
        !queue.contains(&detainer),
        "counsel sees only referrals: {queue}"
    );
    let memo = site
        .get(&lawyer, &format!("{referred}/letter?kind=memo"))
        .await;
    assert!(memo.contains("Referral memo"), "{memo}");
    let (status, _) = step(
        &site,
        &lawyer,
        &referred,
        "resolution",
        &[("outcome", "maybe"), ("note", "")],
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = step(
        &site,
        &lawyer,
        &referred,
        "resolution",
        &[("outcome", "decline"), ("note", "No statute requires it")],
    )
    .await;
    assert_eq!(status, 303);
    let page = site.get(&boss, &referred).await;
    assert!(page.contains("data-status=\"awaiting_signoff\""), "{page}");
    assert!(
        page.contains("No statute requires it"),
        "counsel's note: {page}"
    );

    // The auditor sees the case without personal data; every read above is logged.
    let page = site.get(&audit, &referred).await;
    assert!(!page.contains("Agent Marker"), "{page}");
    assert!(page.contains("not shown to your role"), "{page}");
    let log = site.get(&audit, "/admin/access-log").await;
    assert!(
        log.contains(&referred[7..]) && log.contains("lawyer") && log.contains("boss"),
        "{log}"
    );
}

#[tokio::test]
async fn a_photo_of_the_paper_is_read_and_shown() {
    let site = Site::start().await;
    let desk = site.login("desk").await;
    let detainer = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/documents/i247a_detainer.txt"
    ))
    .unwrap_or_default();
    let (html, _, confirmation) = flow(
        &site,
        &desk,
        &[
            ("where", "jail"),
            ("who", "ice"),
            ("what", "hold"),
            ("paper", "unknown"),
        ],
        &[("subject.in_custody", "true")],
        Some(("photo.txt", detainer)),
    )
    .await;
    let shown = confirmation.unwrap_or_default();
    assert!(shown.contains("What the paper says"), "{shown}");
    assert!(shown.contains("immigration_detainer"), "{shown}");
    assert_eq!(outcome(&html), "decline", "{html}");
}

#[tokio::test]
async fn spanish_is_remembered_per_account() {
    let site = Site::start().await;
    let desk = site.login("desk").await;
    let (status, _) = site.fetch(&desk, "/lang/es").await;
    assert_eq!(status, 303);
    let page = site.get(&desk, "/ask").await;
    assert!(page.contains("<html lang=\"es\">"), "{page}");
    // A new session (another browser, no language cookie) keeps the account's choice.
    let again = site.login("desk").await;
    let (html, _, _) = flow(
        &site,
        &again,
        &[
            ("where", "jail"),
            ("who", "ice"),
            ("what", "release-date"),
            ("paper", "none"),
        ],
        &[],
        None,
    )
    .await;
    assert!(html.contains("No comparta esta información"), "{html}");
    let page = site.get(&again, "/ask").await;
    assert!(page.contains("<html lang=\"es\">"), "{page}");
    // Another account is not affected.
    let boss = site.login("boss").await;
    let page = site.get(&boss, "/cases").await;
    assert!(page.contains("<html lang=\"en\">"), "{page}");
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx() {
    let site = Site::start().await;
    let desk = site.login("desk").await;
    let ask = site.get(&desk, "/ask").await;
    let csrf = hidden(&ask, "csrf").unwrap_or_default();
    let (status, html) = site
        .post_ask(
            &desk,
            "/ask",
            &[
                ("csrf", &csrf),
                ("where", "jail"),
                ("who", "ice"),
                ("what", "teleport"),
                ("paper", "none"),
            ],
            None,
            true,
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("what: choose one of the options"), "{html}");
    let (status, html) = site
        .post_ask(
            &desk,
            "/ask",
            &[
                ("csrf", &csrf),
                ("state", "{not json"),
                ("fact", "documents"),
                ("answer", "none"),
            ],
            None,
            true,
        )
        .await;
    assert_eq!(status, 422, "{html}");
    // A form without the session's token is refused, and changes nothing.
    let (status, html) = site
        .post_ask(
            &desk,
            "/ask",
            &[
                ("where", "jail"),
                ("who", "ice"),
                ("what", "hold"),
                ("paper", "none"),
            ],
            None,
            true,
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("This form has expired"), "{html}");
    let (status, _, _) = site
        .post_form(
            &desk,
            "/cases",
            &[
                ("csrf", "forged"),
                ("state", "{}"),
                ("channel", "phone"),
                ("requester_name", "X"),
            ],
        )
        .await;
    assert_eq!(status, 403);
    let (status, _, body) = site
        .post_form(
            &desk,
            "/cases",
            &[
                ("csrf", &csrf),
                ("state", "{}"),
                ("channel", "pigeon"),
                ("requester_name", "X"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("channel"), "{body}");
    let (status, _) = site.fetch(&desk, "/cases/not-a-case").await;
    assert_eq!(status, 404);
    // A case step's token is checked before its fields are read.
    let (status, _, body) = site
        .post_form(
            &desk,
            "/cases/not-a-case/resolution",
            &[("csrf", "forged"), ("outcome", "maybe")],
        )
        .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn pages_need_a_login_and_the_right_role() {
    let site = Site::start().await;
    let anonymous = support::client();
    for path in [
        "/",
        "/ask",
        "/cases",
        "/admin",
        "/admin/settings",
        "/admin/rules",
        "/admin/ledger",
        "/admin/access-log",
        "/releases/00112233445566778899aabbccddeeff",
    ] {
        let r = anonymous
            .get(format!("{}{path}", site.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(
            r.headers().get("location").and_then(|v| v.to_str().ok()),
            Some("/login"),
            "{path}"
        );
    }
    // (account, path, expected status)
    let table: &[(&str, &str, u16)] = &[
        ("desk", "/ask", 200),
        ("desk", "/cases", 200),
        ("desk", "/admin", 403),
        ("desk", "/admin/settings", 403),
        ("desk", "/admin/ledger", 403),
        ("desk", "/admin/access-log", 403),
        ("desk", "/admin/rules", 200),
        ("boss", "/cases", 200),
        ("lawyer", "/cases", 200),
        ("clerk", "/ask", 200),
        ("clerk", "/releases/00112233445566778899aabbccddeeff", 404),
        ("audit", "/cases", 200),
        ("audit", "/admin/ledger", 200),
        ("audit", "/admin/access-log", 200),
        ("audit", "/admin", 403),
        ("admin", "/admin", 200),
        ("admin", "/admin/settings", 200),
        ("admin", "/admin/ledger", 200),
        ("admin", "/cases", 403),
    ];
    for (who, path, expected) in table {
        let c = site.login(who).await;
        let (status, body) = site.fetch(&c, path).await;
        assert_eq!(status, *expected, "{who} {path}: {body}");
    }
    // Wrong password: the login page again, 401, nothing about which part was wrong.
    let c = support::client();
    let r = c
        .post(format!("{}/login", site.base))
        .form(&[("username", "desk"), ("password", "wrong password!")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap_or_default();
    assert!(body.contains("Wrong username or password."), "{body}");
}

#[tokio::test]
async fn admin_pages_manage_accounts_and_verify_receipts() {
    let site = Site::start().await;
    let admin = site.login("admin").await;
    let accounts = site.get(&admin, "/admin").await;
    for (name, _, _) in support::STAFF {
        assert!(
            accounts.contains(&format!("<th scope=\"row\">{name}</th>")),
            "{name}"
        );
    }
    // Disable desk2: it can no longer log in.
    let csrf = hidden(&accounts, "csrf").unwrap_or_default();
    let row = accounts
        .split("<th scope=\"row\">desk2</th>")
        .nth(1)
        .unwrap_or_default();
    let id: String = row
        .split("form=\"acct-")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let (status, _, body) = site
        .post_form(
            &admin,
            &format!("/admin/accounts/{id}"),
            &[
                ("csrf", &csrf),
                ("role", "desk"),
                ("department", "police"),
                ("disabled", "1"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let c = support::client();
    let r = c
        .post(format!("{}/login", site.base))
        .form(&[("username", "desk2"), ("password", support::PASSWORD)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 401);
    // A bad setting is refused with the field named.
    let (status, _, body) = site
        .post_form(
            &admin,
            "/admin/settings",
            &[
                ("csrf", &csrf),
                ("agency_name", ""),
                ("agency_address", ""),
                ("law_department_phone", ""),
                ("jurisdiction", "atlantis"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // A receipt of a real case verifies; a tampered one does not.
    let desk = site.login("desk").await;
    let (first, answers) = scenario("phone call asking a release date");
    let (html, _, _) = flow(&site, &desk, first, answers, None).await;
    let case = record(&site, &desk, &html, "Caller").await;
    let page = site.get(&desk, &case).await;
    let index = page
        .split("/api/v1/ledger/receipts/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let (_, receipt) = site
        .fetch(&admin, &format!("/api/v1/ledger/receipts/{index}"))
        .await;
    let ledger = site.get(&admin, "/admin/ledger").await;
    assert!(ledger.contains("citygate-ledger"), "{ledger}");
    let (status, _, verdict) = site
        .post_form(
            &admin,
            "/admin/ledger",
            &[("csrf", &csrf), ("receipt", &receipt)],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        verdict.contains(&format!("Valid receipt: entry #{index}")),
        "{verdict}"
    );
    let tampered = receipt.replacen("citygate", "cityhate", 1);
    let (_, _, verdict) = site
        .post_form(
            &admin,
            "/admin/ledger",
            &[("csrf", &csrf), ("receipt", &tampered)],
        )
        .await;
    assert!(verdict.contains("Not a valid receipt"), "{verdict}");
    // The auditor sees the case without personal details until granted access to it.
    let audit = site.login("audit").await;
    let page = site.get(&audit, &case).await;
    assert!(!page.contains("Caller"), "{page}");
    let accounts = site.get(&admin, "/admin").await;
    let auditor = accounts
        .split("\">audit</option>")
        .next()
        .and_then(|s| s.rsplit("<option value=\"").next())
        .unwrap_or_default()
        .to_owned();
    let (status, _, body) = site
        .post_form(
            &admin,
            "/admin/grants",
            &[
                ("csrf", &csrf),
                ("auditor", &auditor),
                ("case", &case[7..]),
                ("days", "0"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = site
        .post_form(
            &admin,
            "/admin/grants",
            &[
                ("csrf", &csrf),
                ("auditor", &auditor),
                ("case", &case[7..]),
                ("days", "3"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let page = site.get(&audit, &case).await;
    assert!(page.contains("Caller"), "{page}");
    let rules = site.get(&admin, "/admin/rules").await;
    assert!(rules.contains("2-173"), "rules page shows the ordinance");
}

/// Fetches a PDF and returns its text (pdftotext), whitespace collapsed.
async fn pdf_text(site: &Site, c: &reqwest::Client, path: &str) -> String {
    let (kind, bytes) = site.get_file(c, path, "content-type").await;
    assert_eq!(kind, "application/pdf", "{path}");
    assert!(bytes.starts_with(b"%PDF"), "{path}");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("letter.pdf");
    std::fs::write(&file, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap_or_else(|e| panic!("pdftotext (poppler-utils, installed by scripts/test): {e}"));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn administrators_edit_letter_templates_checked_before_saving() {
    let site = Site::start().await;
    let admin = site.login("admin").await;
    let page = site
        .get(&admin, "/admin/letters?kind=declination&lang=en")
        .await;
    let csrf = hidden(&page, "csrf").unwrap_or_default();
    let shipped = page
        .split("class=\"code\">")
        .nth(1)
        .and_then(|s| s.split("</textarea>").next())
        .map(support::unescape)
        .unwrap_or_default();
    assert!(shipped.contains("sys.inputs"), "{shipped}");
    // A broken template is refused with where it breaks, and nothing is saved.
    let broken = format!("{shipped}\n#nosuchfunction()\n");
    let (status, _, body) = site
        .post_form(
            &admin,
            "/admin/letters",
            &[
                ("csrf", &csrf),
                ("kind", "declination"),
                ("lang", "en"),
                ("template", &broken),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("line"), "{body}");
    // An edited template is saved and used for the case letters.
    let edited = format!("{shipped}\nEdited by the Department of Police.\n");
    let (status, _, body) = site
        .post_form(
            &admin,
            "/admin/letters",
            &[
                ("csrf", &csrf),
                ("kind", "declination"),
                ("lang", "en"),
                ("template", &edited),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Template checked and saved."), "{body}");
    let preview = pdf_text(
        &site,
        &admin,
        "/admin/letters/preview?kind=declination&lang=en",
    )
    .await;
    assert!(
        preview.contains("Edited by the Department of Police."),
        "{preview}"
    );
    let desk = site.login("desk").await;
    let (first, answers) = scenario("phone call asking a release date");
    let (html, _, _) = flow(&site, &desk, first, answers, None).await;
    let case = record(&site, &desk, &html, "Caller").await;
    let text = pdf_text(&site, &desk, &format!("{case}/letter?format=pdf")).await;
    assert!(
        text.contains("Edited by the Department of Police."),
        "{text}"
    );
    assert!(text.contains("5 ILCS 805/15(h)(6)-(7)"), "{text}");
    // Back to the shipped template.
    let (status, _, _) = site
        .post_form(
            &admin,
            "/admin/letters",
            &[
                ("csrf", &csrf),
                ("kind", "declination"),
                ("lang", "en"),
                ("template", ""),
                ("action", "reset"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let text = pdf_text(&site, &desk, &format!("{case}/letter?format=pdf")).await;
    assert!(
        !text.contains("Edited by the Department of Police."),
        "{text}"
    );
    // Not for other roles.
    let (status, _) = site.fetch(&desk, "/admin/letters").await;
    assert_eq!(status, 403);
    // The Spanish letter in Spanish.
    let (status, _) = site.fetch(&desk, "/lang/es").await;
    assert_eq!(status, 303);
    let texto = pdf_text(&site, &desk, &format!("{case}/letter?format=pdf")).await;
    assert!(texto.contains("Caller"), "{texto}");
}

#[test]
fn spanish_has_every_english_message() {
    let en = citygate_web::i18n::Texts::ids(include_str!("../i18n/en.ftl"));
    let es = citygate_web::i18n::Texts::ids(include_str!("../i18n/es.ftl"));
    let missing: Vec<&String> = en.iter().filter(|k| !es.contains(k)).collect();
    assert!(missing.is_empty(), "missing in es.ftl: {missing:?}");
    // Every choice the app offers has a label.
    for (k, _) in citygate_web::choices::WHO {
        assert!(en.contains(&format!("who-{k}")), "who-{k}");
    }
}

#[tokio::test]
async fn the_answer_prints_a_letter_citing_the_law() {
    let site = Site::start().await;
    let desk = site.login("desk").await;
    let (first, answers) = scenario("phone call asking a release date");
    let (html, _, _) = flow(&site, &desk, first, answers, None).await;
    let state = hidden(&html, "state").unwrap_or_default();
    let csrf = hidden(&html, "csrf").unwrap_or_default();
    let (status, letter) = site
        .post_ask(
            &desk,
            "/letter",
            &[("csrf", &csrf), ("state", &state)],
            None,
            false,
        )
        .await;
    assert_eq!(status, 200, "{letter}");
    assert!(letter.contains("Response to your request"), "{letter}");
    assert!(letter.contains("We decline the request"), "{letter}");
    assert!(letter.contains("5 ILCS 805/15(h)(6)-(7)"), "{letter}");
    assert!(letter.starts_with("<!doctype html>"), "a whole page");
    let (status, _) = site.fetch(&desk, "/lang/es").await;
    assert_eq!(status, 303);
    let (_, carta) = site
        .post_ask(
            &desk,
            "/letter",
            &[("csrf", &csrf), ("state", &state)],
            None,
            false,
        )
        .await;
    assert!(carta.contains("Rechazamos la solicitud"), "{carta}");
    for asset in ["/static/htmx.min.js", "/static/app.css"] {
        let (status, _) = site.fetch(&desk, asset).await;
        assert_eq!(status, 200, "{asset}");
    }
}

#[tokio::test]
async fn a_case_shows_what_is_kept_and_what_the_retention_job_destroyed() {
    let site = Site::start().await;
    let desk = site.login("desk").await;
    let boss = site.login("boss").await;
    let (first, answers) = scenario("ICE subpoena for ID records");
    let (html, _, _) = flow(&site, &desk, first, answers, None).await;
    let case = record(&site, &desk, &html, "Agent Marker").await;
    let page = site.get(&desk, &case).await;
    assert!(
        page.contains("Papers: until the case closes (chicago.citykey.documents-not-kept)"),
        "{page}"
    );
    let (status, _) = step(&site, &boss, &case, "signoff", &[("note", "")]).await;
    assert_eq!(status, 303);
    let (status, _) = step(
        &site,
        &desk,
        &case,
        "action",
        &[("outcome", "declined"), ("note", "")],
    )
    .await;
    assert_eq!(status, 303);
    let purged = citygate_server::retention::run_once(&site.server.state, citygate_server::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(purged.len(), 1, "{purged:?}");
    let page = site.get(&desk, &case).await;
    for text in [
        "Papers destroyed (retention)",
        "citygate (retention schedule)",
        "(chicago.citykey.documents-not-kept: destroyed)",
        "Agent Marker",
    ] {
        assert!(page.contains(text), "{text}: {page}");
    }
}

/// The path of a page's download link with this id.
fn link(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let tag = &html[html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id}: {html}"))..];
    let start = tag.find("href=\"").unwrap_or_else(|| panic!("{tag}")) + 6;
    let end = tag[start..].find('"').unwrap_or_default() + start;
    tag[start..end].to_owned()
}

/// What a page's download link with this id gives `c`, as text, with its
/// `Content-Disposition`.
async fn download(site: &Site, c: &reqwest::Client, html: &str, id: &str) -> (String, String) {
    let (disposition, bytes) = site
        .get_file(c, &link(html, id), "content-disposition")
        .await;
    let text = String::from_utf8(bytes).unwrap_or_else(|e| panic!("{id}: {e}"));
    (text, disposition)
}

/// The release page takes a record as large as the API does (its file limit, with the rest
/// of the form beside it), and answers one byte more with a 413.
#[tokio::test]
async fn the_release_page_takes_a_record_as_large_as_the_api_does() {
    let site = Site::start().await;
    let clerk = site.login("clerk").await;
    let (first, answers) = scenario("FOIA request for an arrest report");
    let (html, _, _) = flow(&site, &clerk, first, answers, None).await;
    let case = record_via(&site, &clerk, &html, "A. Reporter", "records_portal").await;
    let csrf = hidden(&site.get(&clerk, &case).await, "csrf").unwrap_or_default();
    let path = format!("{case}/releases");
    let fields = [("csrf", csrf.as_str()), ("policy", "foia-general")];
    // At the limit the whole body is read and the service answers on the file's name (an
    // unsupported type, so that nothing is redacted), not on its size.
    let at_limit = vec![b'a'; citygate_web::MAX_UPLOAD];
    let (status, answer) = site
        .post_multipart(
            &clerk,
            &path,
            &fields,
            Some(("file", "big.bin", at_limit)),
            false,
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("unsupported file type"), "{answer}");
    let over = vec![b'a'; citygate_web::MAX_UPLOAD + 1];
    let (status, answer) = site
        .post_multipart(
            &clerk,
            &path,
            &fields,
            Some(("file", "big.txt", over)),
            false,
        )
        .await;
    assert_eq!(status, 413, "{answer}");
}

/// A records clerk releases a record from a FOIA case's page: the redacted file and its log
/// come back as downloads, the release is on the case's timeline with its receipt, and an
/// uncertain candidate is decided on the result page and applied when the same record is
/// sent again. Bad decisions, a missing CSRF token or the wrong role change nothing.
#[tokio::test]
async fn a_records_clerk_releases_a_record_and_decides_its_candidates() {
    let site = Site::start().await;
    let clerk = site.login("clerk").await;
    let (first, answers) = scenario("FOIA request for an arrest report");
    let (html, _, _) = flow(&site, &clerk, first, answers, None).await;
    // The records role sees the cases that came through the records portal.
    let case = record_via(&site, &clerk, &html, "A. Reporter", "records_portal").await;
    let page = site.get(&clerk, &case).await;
    let action = format!("action=\"{case}/releases\"");
    assert!(page.contains(&action), "{page}");
    assert!(
        page.contains("value=\"foia-general\" checked"),
        "the default policy is chosen: {page}"
    );
    let csrf = hidden(&page, "csrf").unwrap_or_default();
    let record_text = "ARRESTEE: MARTINEZ, JOSE, SSN 123-45-6789, phone 773-437-2219.\n\
                       Someone said 512449012 at the desk.\n";
    let file = || Some(("file", "report.txt", record_text.as_bytes().to_vec()));
    let path = format!("{case}/releases");

    // The wrong role, or no CSRF token: refused, nothing released.
    let desk = site.login("desk").await;
    let desk_csrf = hidden(&site.get(&desk, "/ask").await, "csrf").unwrap_or_default();
    let (status, _) = site
        .post_multipart(&desk, &path, &[("csrf", &desk_csrf)], file(), false)
        .await;
    assert_eq!(status, 403);
    let (status, _) = site
        .post_multipart(&clerk, &path, &[("csrf", "forged")], file(), false)
        .await;
    assert_eq!(status, 403);

    let fields = [("csrf", csrf.as_str()), ("policy", "foia-general")];
    let (status, result) = site
        .post_multipart(&clerk, &path, &fields, file(), false)
        .await;
    assert_eq!(status, 200, "{result}");
    assert!(result.contains("data-released=\"report.txt\""), "{result}");
    let (released, disposition) = download(&site, &clerk, &result, "release-file").await;
    assert!(
        disposition.contains("filename=\"report.txt\""),
        "{disposition}"
    );
    for value in ["123-45-6789", "773-437-2219", "MARTINEZ"] {
        assert!(!released.contains(value), "{value} left in: {released}");
    }
    assert!(released.contains("[REDACTED"), "{released}");
    assert!(
        released.contains("512449012"),
        "left for review: {released}"
    );
    let (log, disposition) = download(&site, &clerk, &result, "release-log").await;
    assert!(
        disposition.contains("report.txt.redaction-log.jsonl"),
        "{disposition}"
    );
    assert!(log.lines().count() >= 4, "{log}");
    for value in ["123-45-6789", "MARTINEZ", "512449012"] {
        assert!(!log.contains(value), "the log never holds a value: {log}");
    }
    // The files are the clerk's: another account gets a 404.
    let (status, _) = site.fetch(&desk, &link(&result, "release-file")).await;
    assert_eq!(status, 404);
    assert!(result.contains("/api/v1/ledger/receipts/"), "{result}");
    // Each kind with the exemption the policy cites for it.
    assert!(
        result.contains("<th scope=\"row\">SSN</th><td>1</td><td>5 ILCS 140/7(1)(b)</td>"),
        "{result}"
    );
    // The candidate is shown to decide, with the review line to send back.
    assert!(result.contains("<code>512449012</code>"), "{result}");
    let line = hidden(&result, "candidate_0").unwrap_or_default();
    assert!(line.contains("\"candidate\":\"512449012\""), "{line}");

    // A decision that is not one: a 400 naming the field, never the candidate.
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("policy", "foia-general"),
        ("candidate_0", line.as_str()),
        ("decision_0", "maybe"),
    ];
    let (status, refused) = site
        .post_multipart(&clerk, &path, &fields, file(), false)
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.contains("decision_0"), "{refused}");
    assert!(!refused.contains("512449012"), "{refused}");

    fields[3] = ("decision_0", "redact");
    let (status, again) = site
        .post_multipart(&clerk, &path, &fields, file(), false)
        .await;
    assert_eq!(status, 200, "{again}");
    let (released, _) = download(&site, &clerk, &again, "release-file").await;
    assert!(!released.contains("512449012"), "{released}");
    let (log, _) = download(&site, &clerk, &again, "release-log").await;
    assert!(log.contains("review.accepted"), "{log}");
    assert!(
        !again.contains("candidate_0"),
        "nothing left to decide: {again}"
    );
    assert!(again.contains("Your decisions applied"), "{again}");

    // Both releases are on the timeline, in words, with their receipts.
    let page = site.get(&clerk, &case).await;
    assert_eq!(page.matches("Record released").count(), 2, "{page}");
    assert!(!page.contains("event-"), "every event is named: {page}");
    assert!(page.contains("Release policy"), "{page}");
}
