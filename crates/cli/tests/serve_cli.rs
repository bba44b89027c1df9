//! `citygate serve` as a process: first start prints the one-time set-up link, SIGTERM
//! stops it gracefully, and a `kill -9` in the middle of case creations loses no case
//! that was acknowledged, nor its ledger entry, also with two processes on one PostgreSQL.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

struct Running {
    child: Child,
    addr: String,
    setup_link: Option<String>,
    lines: mpsc::Receiver<String>,
}

fn start(data_dir: &Path) -> Running {
    start_with(data_dir, &[])
}

/// Starts `citygate serve` with extra environment (e.g. `DATABASE_URL`).
fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_citygate"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("CITYGATE_DATABASE_SCHEMA")
        .env("RUST_LOG", "warn")
        // These tests load the service as hard as they can from one address and account:
        // they measure durability, not the rate limits (tested in the server's tests).
        .env("CITYGATE_RATE_PER_ADDRESS", "0")
        .env("CITYGATE_RATE_PER_ACCOUNT", "0")
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let (tx, lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut addr = None;
    let mut setup_link = None;
    while addr.is_none() {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the server says where it listens");
        if let Some(rest) = line.strip_prefix("citygate: listening on http://") {
            addr = rest.split_whitespace().next().map(str::to_owned);
        }
    }
    // The link, if any, follows right after.
    while let Ok(line) = lines.recv_timeout(Duration::from_millis(300)) {
        if let Some(i) = line.find("http://") {
            if line.contains("/setup?token=") {
                setup_link = Some(line[i..].trim().to_owned());
            }
        }
    }
    Running {
        child,
        addr: addr.unwrap(),
        setup_link,
        lines,
    }
}

/// A minimal HTTP/1.1 exchange: (status, Set-Cookie values, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> std::io::Result<(u16, Vec<String>, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    stream.write_all(req.as_bytes())?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let (head, rest) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let cookies = head
        .lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .map(|c| c.split(';').next().unwrap_or("").to_owned())
        .collect();
    // Bodies here are small; chunked encoding is undone by taking the JSON between braces.
    let text = match (rest.find(['{', '[']), rest.rfind(['}', ']'])) {
        (Some(a), Some(b)) if a <= b => rest[a..=b].to_owned(),
        _ => rest.to_owned(),
    };
    Ok((status, cookies, text))
}

/// Creates the administrator with the link, a desk account, and returns the desk's API token.
fn desk_token(server: &Running) -> String {
    let link = server
        .setup_link
        .clone()
        .expect("first start prints the set-up link");
    let token = link.split("token=").nth(1).unwrap();
    let password = "a long enough password";
    let (status, _, body) = http(
        &server.addr,
        "POST",
        "/api/v1/setup",
        &[],
        Some(&json!({"token": token, "username": "admin", "password": password})),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, cookies, body) = http(
        &server.addr,
        "POST",
        "/api/v1/session",
        &[],
        Some(&json!({"username": "admin", "password": password})),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let csrf = serde_json::from_str::<Value>(&body).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = cookies.join("; ");
    let auth = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let (status, _, body) = http(
        &server.addr,
        "POST",
        "/api/v1/accounts",
        &auth,
        Some(&json!({"username": "desk", "role": "desk", "department": "police"})),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, _, body) = http(
        &server.addr,
        "POST",
        &format!("/api/v1/accounts/{id}/tokens"),
        &auth,
        Some(&json!({"label": "test"})),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn terminate(server: &mut Running) {
    let ok = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let status = server.child.wait().unwrap();
    assert!(status.success(), "graceful stop exits 0: {status}");
}

#[test]
fn first_start_prints_the_link_once_and_sigterm_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir.path().join("data"));
    let (status, _, body) = http(&server.addr, "GET", "/healthz", &[], None).unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    desk_token(&server);
    terminate(&mut server);
    let stopped: Vec<String> = server.lines.try_iter().collect();
    assert!(
        stopped.iter().any(|l| l == "citygate: stopped"),
        "{stopped:?}"
    );
    let mut again = start(&dir.path().join("data"));
    assert!(
        again.setup_link.is_none(),
        "no set-up link once an administrator exists"
    );
    terminate(&mut again);
}

/// Loads case creations from six threads, kills the server with SIGKILL, restarts it and
/// checks every acknowledged case; returns the acknowledged (case id, ledger index) pairs.
fn kill_9_under_load(data: &Path, env: &[(&str, &str)]) -> Vec<(String, i64)> {
    let mut server = start_with(data, env);
    let token = desk_token(&server);
    let bearer = format!("Bearer {token}");
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, i64)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let case = transfer_case();
    let writers: Vec<_> = (0..6)
        .map(|_| {
            load(
                server.addr.clone(),
                bearer.clone(),
                case.clone(),
                stop.clone(),
                acknowledged.clone(),
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    eprintln!("{} cases acknowledged before kill -9", acknowledged.len());
    assert!(
        acknowledged.len() >= 10,
        "the load ran: {} cases",
        acknowledged.len()
    );

    let mut restarted = start_with(data, env);
    assert_cases_served(&restarted.addr, &bearer, &acknowledged);
    terminate(&mut restarted);
    acknowledged
}

/// Every acknowledged case is served, with the ledger index it was acknowledged with.
fn assert_cases_served(addr: &str, bearer: &str, acknowledged: &[(String, i64)]) {
    for (id, index) in acknowledged {
        let (status, _, body) = http(
            addr,
            "GET",
            &format!("/api/v1/cases/{id}"),
            &[("Authorization", bearer)],
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "acknowledged case {id} is there: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["events"][0]["ledger_index"].as_i64(), Some(*index));
    }
}

fn check_ledger(ledger: &citygate_ledger::Ledger, acknowledged: &[(String, i64)]) {
    for (id, index) in acknowledged {
        let record = ledger
            .private_record(*index as u64)
            .unwrap()
            .expect("the ledger entry survived");
        let details: Value = serde_json::from_slice(&record.details).unwrap();
        assert_eq!(details["case"].as_str(), Some(id.as_str()));
    }
}

#[test]
fn kill_9_during_case_creation_loses_no_acknowledged_case() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let acknowledged = kill_9_under_load(&data, &[]);
    let store = citygate_ledger::SqliteStore::open(&data.join("ledger.sqlite")).unwrap();
    check_ledger(
        &citygate_ledger::Ledger::open(Box::new(store)).unwrap(),
        &acknowledged,
    );
}

const PG_URL: &str = "postgres://root@127.0.0.1:5432/test";

#[test]
fn kill_9_on_postgres_loses_no_acknowledged_case() {
    if TcpStream::connect("127.0.0.1:5432").is_err() {
        eprintln!("NOTICE: PostgreSQL not reachable at 127.0.0.1:5432; kill_9_on_postgres skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let schema = format!(
        "cg_cli_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let env = [
        ("DATABASE_URL", PG_URL),
        ("CITYGATE_DATABASE_SCHEMA", schema.as_str()),
    ];
    let acknowledged = kill_9_under_load(&dir.path().join("data"), &env);
    // The service's entry keys sit beside its key file (the data directory by default).
    let keys = dir.path().join("data").join("ledger.keys");
    let store = citygate_ledger::PostgresStore::connect_with_keys(PG_URL, &schema, &keys).unwrap();
    check_ledger(
        &citygate_ledger::Ledger::open(Box::new(store)).unwrap(),
        &acknowledged,
    );
    // Best effort: a leftover schema only costs space.
    let _ = Command::new("psql")
        .args([PG_URL, "-qc", &format!("DROP SCHEMA {schema} CASCADE")])
        .output();
}

/// The case body for ICE asking to take a person held on a detainer.
fn transfer_case() -> Value {
    json!({"channel": "phone", "requester": {"name": "Load"},
        "request": {"jurisdiction": "chicago", "act": "transfer_custody", "agency": {"kind": "corrections"},
                    "requester": {"kind": "immigration_agency"}, "documents": [{"kind": "immigration_detainer"}]}})
}

/// Creates `case` against one server until `stop` or the server dies, recording
/// each acknowledged (case id, ledger index).
fn load(
    addr: String,
    bearer: String,
    case: Value,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<(String, i64)>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match http(
                &addr,
                "POST",
                "/api/v1/cases",
                &[("Authorization", &bearer)],
                Some(&case),
            ) {
                Ok((201, _, body)) => {
                    let v: Value = serde_json::from_str(&body).unwrap();
                    let id = v["id"].as_str().unwrap().to_owned();
                    let index = v["events"][0]["ledger_index"].as_i64().unwrap();
                    acknowledged.lock().unwrap().push((id, index));
                }
                Ok((status, _, body)) => panic!("case creation answered {status}: {body}"),
                Err(_) => break,
            }
        }
    })
}

#[test]
fn two_processes_on_postgres_then_kill_9_of_one_loses_nothing() {
    if TcpStream::connect("127.0.0.1:5432").is_err() {
        eprintln!("NOTICE: PostgreSQL not reachable at 127.0.0.1:5432; two-process test skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let schema = format!(
        "cg_two_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let env = [
        ("DATABASE_URL", PG_URL),
        ("CITYGATE_DATABASE_SCHEMA", schema.as_str()),
    ];
    // Two OS processes share the database and the data directory (its key files).
    let mut first = start_with(&data, &env);
    let token = desk_token(&first);
    let bearer = format!("Bearer {token}");
    let mut second = start_with(&data, &env);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for server in [&first, &second, &first, &second] {
        writers.push(load(
            server.addr.clone(),
            bearer.clone(),
            transfer_case(),
            stop.clone(),
            acknowledged.clone(),
        ));
    }
    std::thread::sleep(Duration::from_millis(1500));
    first.child.kill().unwrap(); // SIGKILL one of the two, mid-load
    first.child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    eprintln!("{} cases acknowledged by two processes", acknowledged.len());
    assert!(
        acknowledged.len() >= 10,
        "the load ran: {}",
        acknowledged.len()
    );
    // The survivor serves every acknowledged case, from either process, with its index.
    assert_cases_served(&second.addr, &bearer, &acknowledged);
    terminate(&mut second);
    // One log, no index given twice.
    let mut indexes: Vec<i64> = acknowledged.iter().map(|(_, i)| *i).collect();
    indexes.sort_unstable();
    let before = indexes.len();
    indexes.dedup();
    assert_eq!(before, indexes.len(), "an index was acknowledged twice");
    let keys = data.join("ledger.keys");
    let store = citygate_ledger::PostgresStore::connect_with_keys(PG_URL, &schema, &keys).unwrap();
    check_ledger(
        &citygate_ledger::Ledger::open(Box::new(store)).unwrap(),
        &acknowledged,
    );
    let _ = Command::new("psql")
        .args([PG_URL, "-qc", &format!("DROP SCHEMA {schema} CASCADE")])
        .output();
}

/// `citygate keys rotate` on a stopped service's data directory: interrupted, resumed,
/// old key retired; the restarted service serves the same cases.
#[test]
fn keys_rotate_resumes_and_the_service_reads_everything_after() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start(&data);
    let bearer = format!("Bearer {}", desk_token(&server));
    let mut cases = Vec::new();
    for _ in 0..3 {
        let (status, _, body) = http(
            &server.addr,
            "POST",
            "/api/v1/cases",
            &[("Authorization", &bearer)],
            Some(&transfer_case()),
        )
        .unwrap();
        assert_eq!(status, 201, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        cases.push(v["id"].as_str().unwrap().to_owned());
    }
    let read = |addr: &str| -> Vec<String> {
        cases
            .iter()
            .map(|id| {
                let (status, _, body) = http(
                    addr,
                    "GET",
                    &format!("/api/v1/cases/{id}"),
                    &[("Authorization", &bearer)],
                    None,
                )
                .unwrap();
                assert_eq!(status, 200, "{body}");
                body
            })
            .collect()
    };
    let before = read(&server.addr);
    terminate(&mut server);
    let key_file = data.join("citygate.key");
    let old_key = std::fs::read_to_string(&key_file).unwrap();
    let rotate = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_citygate"))
            .args(["keys", "rotate", "--data-dir"])
            .arg(&data)
            .args(extra)
            .env_remove("DATABASE_URL")
            .env_remove("CITYGATE_DATABASE_SCHEMA")
            .output()
            .unwrap()
    };
    let first = rotate(&["--batch", "1", "--max-batches", "1", "--retire-old"]);
    assert_eq!(first.status.code(), Some(1), "not finished yet");
    assert!(String::from_utf8_lossy(&first.stderr).contains("run `citygate keys rotate` again"));
    let two_keys = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(two_keys.lines().count(), 2);
    assert!(two_keys.starts_with(&old_key));
    let second = rotate(&["--retire-old"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(stderr.contains("resuming rotation"), "{stderr}");
    assert!(String::from_utf8_lossy(&second.stdout).contains("0 left under older keys"));
    let rotated = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(rotated.lines().count(), 1);
    assert_eq!(
        rotated.lines().next(),
        two_keys.lines().nth(1),
        "the new key is kept"
    );
    let mut again = start(&data);
    assert_eq!(read(&again.addr), before);
    terminate(&mut again);
}
