//! One suite, run against SQLite and against PostgreSQL (skipped with a notice when no
//! PostgreSQL answers on 127.0.0.1:5432). Each PostgreSQL run gets its own schema.

use citygate_store::{
    AccessEntry, AccessGrant, AccountUpdate, ApiToken, CaseChange, CaseEvent, CaseFilter,
    CaseRecord, DocumentRecord, NewAccount, PostgresStore, Resealed, Role, SealedColumn, Session,
    SqliteStore, Store, StoreError,
};
use sqlx::postgres::PgConnectOptions;
use sqlx::Connection as _;
use std::future::Future as _;

fn account(name: &str, role: Role, dept: &str) -> NewAccount {
    NewAccount {
        username: name.into(),
        role,
        department: dept.into(),
        password_hash: Some("$argon2id$stub".into()),
        created_at: 100,
    }
}

fn case(id: &str, by: i64, dept: &str, channel: &str) -> CaseRecord {
    CaseRecord {
        id: id.into(),
        created_at: 1000,
        created_by: by,
        department: dept.into(),
        channel: channel.into(),
        status: "awaiting_action".into(),
        outcome: "decline".into(),
        rules_hash: "abc".into(),
        answer_json: format!(r#"{{"case":"{id}"}}"#),
        requires_signoff: true,
        personal: vec![1, 2, 3],
        action: None,
        signed_off_by: None,
        resolution: None,
        version: 0,
        retention: Default::default(),
    }
}

fn event(case_id: &str, kind: &str, ledger_index: i64, actor: i64) -> CaseEvent {
    CaseEvent {
        case_id: case_id.into(),
        seq: 0,
        kind: kind.into(),
        ledger_index,
        actor,
        at: 1001,
        personal: None,
    }
}

async fn accounts_and_setup(store: &dyn Store) {
    assert_eq!(store.count_accounts().await.unwrap(), 0);
    store.put_setup_token(b"first", 1).await.unwrap();
    store.put_setup_token(b"second", 2).await.unwrap();
    let admin = account("admin", Role::Admin, "it");
    assert!(
        store
            .create_first_admin(b"first", &admin)
            .await
            .unwrap()
            .is_none(),
        "a replaced setup token must not work"
    );
    let made = store
        .create_first_admin(b"second", &admin)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(made.role, Role::Admin);
    assert!(
        store
            .create_first_admin(b"second", &account("x", Role::Admin, "it"))
            .await
            .unwrap()
            .is_none(),
        "a setup token works once"
    );
    store.put_setup_token(b"third", 3).await.unwrap();
    assert!(
        store
            .create_first_admin(b"third", &account("y", Role::Admin, "it"))
            .await
            .unwrap()
            .is_none(),
        "no setup once an account exists"
    );
    let desk = store
        .create_account(&account("dora", Role::Desk, "police"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_account(&account("dora", Role::Counsel, "law"))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.account_by_username("dora").await.unwrap().unwrap().id,
        desk.id
    );
    let updated = store
        .update_account(
            desk.id,
            &AccountUpdate {
                role: Some(Role::Supervisor),
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (updated.role, updated.disabled, updated.department.as_str()),
        (Role::Supervisor, true, "police")
    );
    assert!(store
        .update_account(9999, &AccountUpdate::default())
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.list_accounts().await.unwrap().len(), 2);
}

async fn sessions_and_tokens(store: &dyn Store) {
    let a = store
        .create_account(&account("sam", Role::Records, "records"))
        .await
        .unwrap();
    let s = Session {
        token_hash: vec![7; 32],
        account_id: a.id,
        csrf_token: "c".into(),
        expires_at: 500,
    };
    store.create_session(&s).await.unwrap();
    assert_eq!(store.session(&[7; 32], 499).await.unwrap().unwrap().0, s);
    assert!(
        store.session(&[7; 32], 500).await.unwrap().is_none(),
        "expired"
    );
    store.delete_session(&[7; 32]).await.unwrap();
    assert!(
        store.session(&[7; 32], 1).await.unwrap().is_none(),
        "logged out"
    );
    let t = new_token(store, a.id, 9).await;
    assert_eq!(
        store.token(&t.token_hash).await.unwrap().unwrap().1.id,
        a.id
    );
    disable(store, a.id).await;
    assert!(
        store.token(&[9; 32]).await.unwrap().is_none(),
        "disabled accounts' tokens stop working"
    );
}

/// Creates an API token for `account`, its hash `byte` repeated.
async fn new_token(store: &dyn Store, account: i64, byte: u8) -> ApiToken {
    let t = ApiToken {
        token_hash: vec![byte; 32],
        account_id: account,
        label: "integration".into(),
        created_at: 1,
    };
    store.create_token(&t).await.unwrap();
    t
}

async fn disable(store: &dyn Store, account: i64) {
    let change = AccountUpdate {
        disabled: Some(true),
        ..Default::default()
    };
    store.update_account(account, &change).await.unwrap();
}

/// Two instances on one database: an account disabled through one stops its tokens on
/// the other within the cache's lifetime.
async fn tokens_across_instances(one: &dyn Store, other: &dyn Store) {
    let a = one
        .create_account(&account("ivy", Role::Desk, "police"))
        .await
        .unwrap();
    let t = new_token(one, a.id, 11).await;
    assert!(other.token(&t.token_hash).await.unwrap().is_some());
    disable(one, a.id).await;
    assert!(
        one.token(&t.token_hash).await.unwrap().is_none(),
        "at once where it changed"
    );
    tokio::time::sleep(citygate_store::TOKEN_TTL).await;
    assert!(
        other.token(&t.token_hash).await.unwrap().is_none(),
        "within TOKEN_TTL elsewhere"
    );
}

async fn cases_events_and_access(store: &dyn Store) {
    let desk = store
        .create_account(&account("dee", Role::Desk, "police"))
        .await
        .unwrap();
    let other = store
        .create_account(&account("odo", Role::Desk, "health"))
        .await
        .unwrap();
    store
        .insert_case(
            &case("c1", desk.id, "police", "phone"),
            &event("c1", "opened", 4, desk.id),
        )
        .await
        .unwrap();
    store
        .insert_case(
            &case("c2", other.id, "health", "email"),
            &event("c2", "opened", 5, other.id),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_case(
                &case("c1", desk.id, "police", "phone"),
                &event("c1", "opened", 6, desk.id)
            )
            .await,
        Err(StoreError::Conflict)
    ));
    let mine = store
        .list_cases(&CaseFilter {
            created_by: Some(desk.id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        mine.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["c1"]
    );
    let health = store
        .list_cases(&CaseFilter {
            department: Some("health".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(health.len(), 1);
    assert_eq!(
        store
            .list_cases(&CaseFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .list_cases(&CaseFilter {
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        1
    );

    let change = CaseChange {
        expected_version: 0,
        status: "signed_off".into(),
        action: None,
        signed_off_by: Some(other.id),
        resolution: None,
        closed_at: None,
        retention_due: None,
        event: CaseEvent {
            personal: Some(vec![4, 5]),
            ..event("c1", "signed_off", 8, other.id)
        },
    };
    let after = store.change_case("c1", &change).await.unwrap();
    assert_eq!(
        after.answer_json, r#"{"case":"c1"}"#,
        "the answer comes back"
    );
    assert_eq!(
        (after.version, after.signed_off_by, after.status.as_str()),
        (1, Some(other.id), "signed_off")
    );
    assert!(
        matches!(
            store.change_case("c1", &change).await,
            Err(StoreError::Stale)
        ),
        "a stale version is refused"
    );
    let again = CaseChange {
        expected_version: 1,
        status: "closed".into(),
        action: Some("declined".into()),
        signed_off_by: None,
        ..change
    };
    let closed = store.change_case("c1", &again).await.unwrap();
    assert_eq!(
        (closed.action.as_deref(), closed.signed_off_by),
        (Some("declined"), Some(other.id)),
        "unset fields are kept"
    );
    let events = store.case_events("c1").await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.seq, e.ledger_index))
            .collect::<Vec<_>>(),
        [(0, 4), (1, 8), (2, 8)]
    );
    assert_eq!(events[1].personal.as_deref(), Some(&[4u8, 5][..]));
    assert_eq!(store.case("c1").await.unwrap().unwrap(), closed);
    assert!(store.case("nope").await.unwrap().is_none());

    for (who, case_id) in [(desk.id, "c1"), (other.id, "c2"), (desk.id, "c1")] {
        let entry = AccessEntry {
            id: 0,
            account_id: who,
            case_id: case_id.into(),
            at: 2000,
            what: "case".into(),
        };
        store.record_access(&entry).await.unwrap();
    }
    let log = store.access_log(Some("c1"), 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(log[0].id > log[1].id, "newest first");
    assert_eq!(store.access_log(None, 10).await.unwrap().len(), 3);
    // A grant is per account and case, and lapses at its expiry; granting again renews it.
    let grant = AccessGrant {
        account_id: other.id,
        case_id: "c1".into(),
        granted_by: desk.id,
        granted_at: 1000,
        expires_at: 2000,
    };
    store.grant_access(&grant).await.unwrap();
    assert!(store.has_grant(other.id, "c1", 1999).await.unwrap());
    assert!(!store.has_grant(other.id, "c1", 2000).await.unwrap());
    assert!(!store.has_grant(other.id, "c2", 1500).await.unwrap());
    assert!(!store.has_grant(desk.id, "c1", 1500).await.unwrap());
    store
        .grant_access(&AccessGrant {
            expires_at: 3000,
            ..grant
        })
        .await
        .unwrap();
    assert!(store.has_grant(other.id, "c1", 2500).await.unwrap());
    store.ping().await.unwrap();
}

/// Many cases opened at once (the SQLite store commits them in batches): each is stored
/// with its event, and a duplicate among them is refused alone.
async fn concurrent_cases(store: &dyn Store) {
    let desk = store
        .create_account(&account("busy", Role::Desk, "police"))
        .await
        .unwrap();
    let ids: Vec<String> = (0..200)
        .map(|i| format!("bulk{i}"))
        .chain(["bulk7".to_owned()])
        .collect();
    let results = futures_join(store, &ids, desk.id).await;
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict)))
        .count();
    assert_eq!(conflicts, 1, "exactly the duplicate is refused");
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 200);
    let listed = store
        .list_cases(&CaseFilter {
            created_by: Some(desk.id),
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 200);
    for c in &listed {
        let n: usize = c.id.trim_start_matches("bulk").parse().unwrap();
        assert_eq!(c.answer_json, shared_answer(n), "case {}", c.id);
    }
    assert_eq!(store.case_events("bulk199").await.unwrap().len(), 1);
    // A refused case's new answer goes with it; the next case with that answer stores it.
    let lone = r#"{"first refused":true}"#;
    let with_lone = |id: &str| CaseRecord {
        answer_json: lone.into(),
        ..case(id, desk.id, "police", "phone")
    };
    assert!(matches!(
        store
            .insert_case(&with_lone("bulk0"), &event("bulk0", "opened", 900, desk.id))
            .await,
        Err(StoreError::Conflict)
    ));
    store
        .insert_case(&with_lone("lone"), &event("lone", "opened", 901, desk.id))
        .await
        .unwrap();
    assert_eq!(store.case("lone").await.unwrap().unwrap().answer_json, lone);
}

/// Three answers shared by many cases, as cases with the same facts share theirs.
fn shared_answer(n: usize) -> String {
    format!(r#"{{"shared":{}}}"#, n % 3)
}

async fn futures_join(store: &dyn Store, ids: &[String], by: i64) -> Vec<Result<(), StoreError>> {
    let mut pending = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        pending.push(async move {
            store
                .insert_case(
                    &CaseRecord {
                        answer_json: shared_answer(i),
                        ..case(id, by, "police", "phone")
                    },
                    &event(id, "opened", i as i64, by),
                )
                .await
        });
    }
    let mut results = Vec::new();
    // Poll them all together so they queue at the store at the same time.
    let mut set: Vec<_> = pending.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<Result<(), StoreError>>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, f) in set.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => done[i] = Some(r),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    results.extend(done.into_iter().flatten());
    results
}

async fn settings(store: &dyn Store) {
    assert_eq!(store.setting("agency.name").await.unwrap(), None);
    store
        .put_setting("agency.name", "City of Chicago", 1)
        .await
        .unwrap();
    store.put_setting("account/1/lang", "es", 1).await.unwrap();
    // A second write replaces the first, and keys do not bleed into each other.
    store
        .put_setting("agency.name", "Ciudad de Chicago", 2)
        .await
        .unwrap();
    assert_eq!(
        store.setting("agency.name").await.unwrap().as_deref(),
        Some("Ciudad de Chicago")
    );
    assert_eq!(
        store.setting("account/1/lang").await.unwrap().as_deref(),
        Some("es")
    );
    assert_eq!(store.setting("account/2/lang").await.unwrap(), None);
    store
        .put_setting("agency.address", "121 N LaSalle", 3)
        .await
        .unwrap();
    store
        .put_setting("agencyx", "not in the group", 3)
        .await
        .unwrap();
    assert_eq!(
        store.settings_with_prefix("agency.").await.unwrap(),
        vec![
            ("agency.address".to_owned(), "121 N LaSalle".to_owned()),
            ("agency.name".to_owned(), "Ciudad de Chicago".to_owned()),
        ]
    );
    assert!(store
        .settings_with_prefix("nothing.")
        .await
        .unwrap()
        .is_empty());
}

fn document(case_id: &str, ledger_index: i64, by: i64, kind: Option<&str>) -> DocumentRecord {
    DocumentRecord {
        case_id: case_id.into(),
        n: 0,
        ledger_index,
        uploaded_by: by,
        at: 2000 + ledger_index,
        size: 11,
        format: "text".into(),
        kind: kind.map(Into::into),
        confidence: "high".into(),
        uncertain: kind.is_none(),
        purged_at: None,
    }
}

async fn documents(store: &dyn Store) {
    let desk = store
        .create_account(&account("dox", Role::Desk, "police"))
        .await
        .unwrap();
    store
        .insert_case(
            &case("d1", desk.id, "police", "phone"),
            &event("d1", "opened", 40, desk.id),
        )
        .await
        .unwrap();
    store
        .insert_case(
            &case("d2", desk.id, "police", "phone"),
            &event("d2", "opened", 41, desk.id),
        )
        .await
        .unwrap();
    assert!(store.case_documents("d1").await.unwrap().is_empty());
    let first = store
        .add_document(
            &document("d1", 42, desk.id, Some("immigration_detainer")),
            b"sealed one",
            &event("d1", "document", 42, desk.id),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.n, 1);
    assert_eq!(first.kind.as_deref(), Some("immigration_detainer"));
    let second = store
        .add_document(
            &document("d1", 43, desk.id, None),
            &[0u8, 255, 7],
            &event("d1", "document", 43, desk.id),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.n, 2);
    // Numbers are per case.
    let other = store
        .add_document(
            &document("d2", 44, desk.id, None),
            b"x",
            &event("d2", "document", 44, desk.id),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.n, 1);
    // No such case: nothing stored, no event.
    assert!(store
        .add_document(
            &document("nope", 45, desk.id, None),
            b"x",
            &event("nope", "document", 45, desk.id),
        )
        .await
        .unwrap()
        .is_none());
    let listed = store.case_documents("d1").await.unwrap();
    assert_eq!(listed, vec![first.clone(), second.clone()]);
    let (doc, content) = store.document_content("d1", 2).await.unwrap().unwrap();
    assert_eq!(doc, second);
    assert_eq!(content, vec![0u8, 255, 7]);
    assert!(store.document_content("d1", 3).await.unwrap().is_none());
    assert!(store.document_content("d2", 2).await.unwrap().is_none());
    // Each upload is a case event (after the opening) and moves the case's version, so a
    // decision taken on the version read before the upload is refused as stale.
    let events = store.case_events("d1").await.unwrap();
    let kinds: Vec<(i64, &str, i64)> = events
        .iter()
        .map(|e| (e.seq, e.kind.as_str(), e.ledger_index))
        .collect();
    assert_eq!(
        kinds,
        vec![(0, "opened", 40), (1, "document", 42), (2, "document", 43)]
    );
    assert_eq!(store.case("d1").await.unwrap().unwrap().version, 2);
    let change = CaseChange {
        expected_version: 0,
        status: "closed".into(),
        action: None,
        signed_off_by: None,
        resolution: None,
        closed_at: None,
        retention_due: None,
        event: event("d1", "action", 46, desk.id),
    };
    assert!(matches!(
        store.change_case("d1", &change).await,
        Err(StoreError::Stale)
    ));
    // Concurrent uploads to one case get distinct numbers.
    let uploads = (0..8).map(|i| {
        let d = document("d2", 100 + i, desk.id, None);
        let e = event("d2", "document", 100 + i, desk.id);
        async move { store.add_document(&d, b"c", &e).await }
    });
    let mut ns: Vec<i64> = Vec::new();
    for r in join_all(uploads).await {
        ns.push(r.unwrap().unwrap().n);
    }
    ns.sort_unstable();
    assert_eq!(ns, (2..=9).collect::<Vec<_>>());
}

/// Polls all futures together (the suite has no futures crate).
async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.map(Box::pin).map(Some).collect();
    let mut out: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (slot, fut) in out.iter_mut().zip(pending.iter_mut()) {
            if let Some(f) = fut {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *slot = Some(v);
                        *fut = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

async fn suite(store: &dyn Store) {
    settings(store).await;
    accounts_and_setup(store).await;
    sessions_and_tokens(store).await;
    cases_events_and_access(store).await;
    concurrent_cases(store).await;
    documents(store).await;
    retention(store).await;
    oidc_pending(store).await;
    sealed_columns(store).await;
}

/// Sign-on flows in progress: taken once, expired ones dropped, at most `max` pending.
async fn oidc_pending(store: &dyn Store) {
    let flow = |state: &[u8], at: i64| citygate_store::OidcPending {
        state_hash: state.to_vec(),
        browser_hash: b"browser".to_vec(),
        verifier: b"sealed verifier".to_vec(),
        nonce: "n".into(),
        started_at: at,
    };
    assert!(store
        .put_oidc_pending(&flow(b"a", 100), 0, 3)
        .await
        .unwrap());
    assert!(store
        .put_oidc_pending(&flow(b"b", 200), 0, 3)
        .await
        .unwrap());
    assert!(store
        .put_oidc_pending(&flow(b"c", 300), 0, 3)
        .await
        .unwrap());
    assert!(
        !store
            .put_oidc_pending(&flow(b"d", 300), 0, 3)
            .await
            .unwrap(),
        "full"
    );
    assert_eq!(
        store.take_oidc_pending(b"b", 0).await.unwrap(),
        Some(flow(b"b", 200))
    );
    assert_eq!(
        store.take_oidc_pending(b"b", 0).await.unwrap(),
        None,
        "used once"
    );
    // Expired: not handed out, and dropped by the next flow.
    assert_eq!(store.take_oidc_pending(b"a", 150).await.unwrap(), None);
    assert!(
        store
            .put_oidc_pending(&flow(b"d", 400), 350, 2)
            .await
            .unwrap(),
        "c expired"
    );
    assert_eq!(store.take_oidc_pending(b"c", 0).await.unwrap(), None);
    assert_eq!(
        store.take_oidc_pending(b"d", 350).await.unwrap(),
        Some(flow(b"d", 400))
    );
}

/// Closing sets when the first purge is due; a purge destroys documents (bytes only) or
/// the details (case fields, event details, documents), once, stale versions refused.
async fn retention(store: &dyn Store) {
    let desk = store
        .create_account(&account("ret", Role::Desk, "clerk"))
        .await
        .unwrap();
    let schedule = r#"[{"rule":"t.documents","what":"documents","keep_days_after_close":0}]"#;
    let mut opened = case("r1", desk.id, "clerk", "in_person");
    opened.retention.schedule = schedule.into();
    store
        .insert_case(&opened, &event("r1", "opened", 60, desk.id))
        .await
        .unwrap();
    let doc = store
        .add_document(
            &document("r1", 61, desk.id, Some("subpoena")),
            b"sealed paper",
            &CaseEvent {
                personal: Some(vec![7, 7]),
                ..event("r1", "document", 61, desk.id)
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.case("r1").await.unwrap().unwrap().retention.schedule,
        schedule
    );
    assert!(
        store
            .retention_due(i64::MAX, 10)
            .await
            .unwrap()
            .iter()
            .all(|c| c.id != "r1"),
        "open cases are never due"
    );
    let close = CaseChange {
        expected_version: 1,
        status: "closed".into(),
        action: Some("declined".into()),
        signed_off_by: None,
        resolution: None,
        closed_at: Some(5_000),
        retention_due: Some(5_000),
        event: CaseEvent {
            personal: Some(vec![8]),
            ..event("r1", "action", 62, desk.id)
        },
    };
    let closed = store.change_case("r1", &close).await.unwrap();
    assert_eq!(
        (closed.retention.closed_at, closed.retention.retention_due),
        (Some(5_000), Some(5_000))
    );
    assert!(store.retention_due(4_999, 10).await.unwrap().is_empty());
    let due = store.retention_due(5_000, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["r1"]
    );

    let purge = citygate_store::Purge {
        expected_version: closed.version,
        documents: true,
        details: false,
        next_due: Some(9_000),
        event: CaseEvent {
            at: 5_001,
            ..event("r1", "purged", 63, 0)
        },
    };
    let after = store.purge_case("r1", &purge).await.unwrap();
    assert!(matches!(
        store.purge_case("r1", &purge).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(
        (
            after.retention.documents_purged_at,
            after.retention.details_purged_at,
            after.retention.retention_due
        ),
        (Some(5_001), None, Some(9_000))
    );
    assert_eq!(after.personal, vec![1, 2, 3], "the details stay");
    let (record, content) = store.document_content("r1", doc.n).await.unwrap().unwrap();
    assert_eq!((record.purged_at, content.len()), (Some(5_001), 0));
    assert!(store.retention_due(5_001, 10).await.unwrap().is_empty());
    let personal: Vec<Option<Vec<u8>>> = store
        .case_events("r1")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.personal)
        .collect();
    assert_eq!(
        personal,
        [None, None, Some(vec![8]), None],
        "what the reader found goes with the papers"
    );

    let details = citygate_store::Purge {
        expected_version: after.version,
        documents: false,
        details: true,
        next_due: None,
        event: CaseEvent {
            at: 9_001,
            ..event("r1", "purged", 64, 0)
        },
    };
    let gone = store.purge_case("r1", &details).await.unwrap();
    assert!(gone.personal.is_empty());
    assert_eq!(
        (
            gone.retention.documents_purged_at,
            gone.retention.details_purged_at,
            gone.retention.retention_due
        ),
        (Some(5_001), Some(9_001), None),
        "the first purge time is kept"
    );
    let events = store.case_events("r1").await.unwrap();
    assert!(
        events.iter().all(|e| e.personal.is_none()),
        "event details destroyed"
    );
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["opened", "document", "action", "purged", "purged"]
    );
    assert!(store
        .retention_due(i64::MAX, 10)
        .await
        .unwrap()
        .iter()
        .all(|c| c.id != "r1"));
}

/// Listing every sealed value in pages, and replacing them only where unchanged (key
/// rotation). Runs last, over what the other parts stored.
async fn sealed_columns(store: &dyn Store) {
    // A prefix no stored value has yet: everything is "under another key".
    let mark: &[u8] = &[9, 9, 9, 9, 9];
    let total = store.count_sealed_without(mark).await.unwrap();
    let mut listed = 0;
    for column in SealedColumn::ALL {
        // Pages of 2, resumed after the last row seen: each row exactly once, in order.
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .sealed_values(column, mark, after.as_ref(), 2)
                .await
                .unwrap();
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = Some(last.at.clone());
            all.extend(page);
        }
        assert!(!all.is_empty(), "{column:?} has values in the suite");
        let keys: Vec<(String, i64)> = all
            .iter()
            .map(|v| (v.at.case_id.clone(), v.at.item))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "{column:?}: ordered, no repeats");
        listed += all.len() as i64;
        // The value and ledger index are the stored ones.
        let first = &all[0];
        match column {
            SealedColumn::CasePersonal => {
                let case = store.case(&first.at.case_id).await.unwrap().unwrap();
                assert_eq!(case.personal, first.sealed);
            }
            SealedColumn::EventPersonal => {
                let events = store.case_events(&first.at.case_id).await.unwrap();
                let e = events.iter().find(|e| e.seq == first.at.item).unwrap();
                assert_eq!(e.personal.as_deref(), Some(&first.sealed[..]));
                assert_eq!(e.ledger_index, first.ledger_index);
            }
            SealedColumn::DocumentContent => {
                let (doc, content) = store
                    .document_content(&first.at.case_id, first.at.item)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(content, first.sealed);
                assert_eq!(doc.ledger_index, first.ledger_index);
            }
        }
        // Re-seal all but one; one more names a value that changed meanwhile: left alone.
        let mut updates: Vec<Resealed> = all[1..]
            .iter()
            .map(|v| Resealed {
                at: v.at.clone(),
                old: v.sealed.clone(),
                new: [mark, &v.sealed[..]].concat(),
            })
            .collect();
        updates.push(Resealed {
            at: first.at.clone(),
            old: b"not what is stored".to_vec(),
            new: [mark, b"lost"].concat(),
        });
        let replaced = store.reseal(&updates).await.unwrap();
        assert_eq!(replaced, all.len() as u64 - 1);
        let left = store.sealed_values(column, mark, None, 100).await.unwrap();
        assert_eq!(left, vec![first.clone()]);
    }
    assert_eq!(listed, total);
    assert_eq!(
        store.count_sealed_without(mark).await.unwrap(),
        SealedColumn::ALL.len() as i64
    );
    // The replaced values are what the store reads back.
    let docs = store
        .sealed_values(SealedColumn::DocumentContent, &[0], None, 100)
        .await
        .unwrap();
    assert!(docs.iter().any(|d| d.sealed.starts_with(mark)));
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("citygate.sqlite"))
        .await
        .unwrap();
    suite(&store).await;
    // Migrations are idempotent: reopening keeps the data.
    drop(store);
    let store = SqliteStore::open(&dir.path().join("citygate.sqlite"))
        .await
        .unwrap();
    assert_eq!(store.count_accounts().await.unwrap(), 8);
}

const PG_URL: &str = "postgres://root@127.0.0.1:5432/test";

#[tokio::test]
async fn postgres_store() {
    let Ok(mut admin) = sqlx::PgConnection::connect(PG_URL).await else {
        eprintln!("NOTICE: PostgreSQL not reachable at {PG_URL}; postgres_store skipped");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("cg_store_{}_{nanos}", std::process::id());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let options: PgConnectOptions = PG_URL
        .parse::<PgConnectOptions>()
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let store = PostgresStore::connect_with(options.clone()).await.unwrap();
    suite(&store).await;
    let other = PostgresStore::connect_with(options).await.unwrap();
    tokens_across_instances(&store, &other).await;
    drop((store, other));
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .unwrap();
}
