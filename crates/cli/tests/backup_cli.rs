//! `citygate backup` while the service runs, `citygate restore` into a new directory, and
//! the service started from the restored directory: cases (with their sealed personal data)
//! and the ledger are all there, under the same ledger key; the key files travel only when
//! asked; a restore never writes into a non-empty directory.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

fn citygate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_citygate"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("CITYGATE_DATA_DIR")
        .env_remove("CITYGATE_KEY_FILE")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

struct Running {
    child: Child,
    addr: String,
    setup_link: Option<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_citygate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("CITYGATE_KEY_FILE")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = None;
    let mut setup_link = None;
    while addr.is_none() {
        let line = lines
            .next()
            .expect("the server says where it listens")
            .unwrap();
        if let Some(rest) = line.strip_prefix("citygate: listening on http://") {
            addr = rest.split_whitespace().next().map(str::to_owned);
        }
    }
    let addr = addr.unwrap();
    // The link, if any, is printed right after; the rest of the log is drained.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
        if let Some(i) = line.find("http://") {
            if line.contains("/setup?token=") {
                setup_link = Some(line[i..].trim().to_owned());
            }
        }
    }
    Running {
        child,
        addr,
        setup_link,
    }
}

fn stop(mut server: Running) {
    let ok = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    assert!(server.child.wait().unwrap().success());
}

/// A minimal HTTP/1.1 exchange: (status, Set-Cookie values, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Vec<String>, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
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
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let cookies = head
        .lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .map(|c| c.split(';').next().unwrap_or("").to_owned())
        .collect();
    // Small bodies; chunked encoding is undone by taking what lies between the braces.
    let text = match (rest.find(['{', '[']), rest.rfind(['}', ']'])) {
        (Some(a), Some(b)) if a <= b => rest[a..=b].to_owned(),
        _ => rest.to_owned(),
    };
    (status, cookies, text)
}

/// Creates the administrator, a desk account and its API token.
fn desk_token(server: &Running) -> String {
    let link = server
        .setup_link
        .clone()
        .expect("first start prints the link");
    let token = link.split("token=").nth(1).unwrap();
    let password = "a long enough password";
    let (status, _, body) = http(
        &server.addr,
        "POST",
        "/api/v1/setup",
        &[],
        Some(&json!({"token": token, "username": "admin", "password": password})),
    );
    assert_eq!(status, 201, "{body}");
    let (_, cookies, body) = http(
        &server.addr,
        "POST",
        "/api/v1/session",
        &[],
        Some(&json!({"username": "admin", "password": password})),
    );
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
    );
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
    );
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn open_case(addr: &str, bearer: &str, name: &str) -> String {
    let body = json!({"channel": "phone", "requester": {"name": name},
        "request": {"jurisdiction": "chicago", "act": "share_information"}});
    let (status, _, body) = http(
        addr,
        "POST",
        "/api/v1/cases",
        &[("Authorization", bearer)],
        Some(&body),
    );
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Sends `text` as a document of `case` (raw body); returns the status and the response.
fn upload(addr: &str, bearer: &str, case: &str, text: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let req = format!(
        "POST /api/v1/cases/{case}/documents HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: {bearer}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}",
        text.len()
    );
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, raw)
}

const PAPER: &str = "DEPARTMENT OF HOMELAND SECURITY\nIMMIGRATION DETAINER - NOTICE OF ACTION\n\
    Name of Alien: Paper Person\nDHS Form I-247A (3/17)\n";

fn checkpoint(addr: &str) -> (u64, String) {
    let (status, _, body) = http(addr, "GET", "/api/v1/ledger/checkpoint", &[], None);
    assert_eq!(status, 200);
    let mut lines = body.lines();
    lines.next();
    let size = lines.next().unwrap().parse().unwrap();
    (size, lines.next().unwrap().to_owned())
}

fn copy_keys(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    for name in ["citygate.key", "ledger-signing.key"] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
        std::fs::set_permissions(to.join(name), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[test]
fn backup_while_serving_then_restore_and_serve_from_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let server = serve(&a);
    let token = desk_token(&server);
    let bearer = format!("Bearer {token}");
    let kept: Vec<String> = (0..5)
        .map(|i| open_case(&server.addr, &bearer, &format!("Kept Requester {i}")))
        .collect();
    let (_, _, key) = http(&server.addr, "GET", "/api/v1/ledger/key", &[], None);
    let (status, body) = upload(&server.addr, &bearer, &kept[0], PAPER);
    assert_eq!(status, 201, "{body}");

    // Backed up while the service runs.
    let archive = dir.path().join("backup.tar");
    let out = citygate(&[
        "backup",
        archive.to_str().unwrap(),
        "--data-dir",
        a.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("backed up 5 cases"), "{said}");
    assert!(
        said.contains("NOT in the archive") && said.contains("citygate.key"),
        "{said}"
    );
    let bytes = std::fs::read(&archive).unwrap();
    let vault_key = std::fs::read_to_string(a.join("citygate.key")).unwrap();
    let secret = vault_key.split_whitespace().last().unwrap();
    assert!(
        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the key is not in the archive by default"
    );
    for clear in [&b"Kept Requester 0"[..], b"Paper Person"] {
        assert!(
            !bytes.windows(clear.len()).any(|w| w == clear),
            "sealed in the archive too"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&archive).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the archive is private");
    }
    // Never written over.
    let again = citygate(&[
        "backup",
        archive.to_str().unwrap(),
        "--data-dir",
        a.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));

    // After the backup: not in the restored copy.
    let later = open_case(&server.addr, &bearer, "Later Requester");
    let (size_at_a, _) = checkpoint(&server.addr);
    stop(server);

    // A restore refuses a non-empty directory, and leaves it as it was.
    let before: Vec<_> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let refused = citygate(&[
        "restore",
        archive.to_str().unwrap(),
        "--data-dir",
        a.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("not empty"));
    let after: Vec<_> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after);

    let b = dir.path().join("b");
    let out = citygate(&[
        "restore",
        archive.to_str().unwrap(),
        "--data-dir",
        b.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("no key files"), "{}", text(&out));
    // Without its keys the service refuses to start rather than make new ones.
    let no_keys = Command::new(env!("CARGO_BIN_EXE_citygate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&b)
        .env_remove("DATABASE_URL")
        .env_remove("CITYGATE_KEY_FILE")
        .output()
        .unwrap();
    assert!(!no_keys.status.success());
    assert!(text(&no_keys).contains("is missing"), "{}", text(&no_keys));
    assert!(!b.join("citygate.key").exists(), "no new key was made");

    copy_keys(&a, &b);
    let restored = serve(&b);
    assert!(restored.setup_link.is_none(), "accounts came back");
    for (i, id) in kept.iter().enumerate() {
        let (status, _, body) = http(
            &restored.addr,
            "GET",
            &format!("/api/v1/cases/{id}"),
            &[("Authorization", &bearer)],
            None,
        );
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["personal"]["requester"]["name"],
            format!("Kept Requester {i}")
        );
    }
    // The document came back too, readable with the restored key.
    let (status, _, body) = http(
        &restored.addr,
        "GET",
        &format!("/api/v1/cases/{}/documents/1", kept[0]),
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(status, 200);
    assert!(body.contains("Name of Alien: Paper Person"), "{body}");
    let (status, _, _) = http(
        &restored.addr,
        "GET",
        &format!("/api/v1/cases/{later}"),
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(status, 404, "the case opened after the backup is not in it");
    // The same log, under the same key: one entry shorter than at the end, and it goes on.
    let (_, _, key_b) = http(&restored.addr, "GET", "/api/v1/ledger/key", &[], None);
    assert_eq!(key, key_b);
    let (size_b, _) = checkpoint(&restored.addr);
    assert_eq!(size_b + 1, size_at_a);
    open_case(&restored.addr, &bearer, "After Restore");
    assert_eq!(checkpoint(&restored.addr).0, size_b + 1);
    // The restored log is signed by the same key and is a prefix of the original one.
    let (_, _, note) = http(
        &restored.addr,
        "GET",
        "/api/v1/ledger/checkpoint",
        &[],
        None,
    );
    stop(restored);
    let policy = citygate_ledger::checkpoint::Policy {
        log_key: key.trim().to_owned(),
        witnesses: vec![],
        quorum: 0,
    };
    let cp = citygate_ledger::checkpoint::verify_checkpoint(note.as_bytes(), &policy).unwrap();
    let original = citygate_ledger::Ledger::open(Box::new(
        citygate_ledger::SqliteStore::open(&a.join("ledger.sqlite")).unwrap(),
    ))
    .unwrap();
    assert_eq!(original.root_at(size_b).unwrap(), {
        let again = citygate_ledger::Ledger::open(Box::new(
            citygate_ledger::SqliteStore::open(&b.join("ledger.sqlite")).unwrap(),
        ))
        .unwrap();
        again.root_at(size_b).unwrap()
    });
    assert_eq!(cp.size, size_b + 1);
}

#[test]
fn keys_travel_only_when_asked_and_a_damaged_archive_restores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let server = serve(&a);
    let bearer = format!("Bearer {}", desk_token(&server));
    let id = open_case(&server.addr, &bearer, "Keyed Requester");
    stop(server);

    let archive = dir.path().join("with-keys.tar");
    let out = citygate(&[
        "backup",
        archive.to_str().unwrap(),
        "--data-dir",
        a.to_str().unwrap(),
        "--include-keys",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("holds the key files"), "{}", text(&out));

    let c = dir.path().join("c");
    let out = citygate(&[
        "restore",
        archive.to_str().unwrap(),
        "--data-dir",
        c.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(c.join("citygate.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let restored = serve(&c);
    let (status, _, body) = http(
        &restored.addr,
        "GET",
        &format!("/api/v1/cases/{id}"),
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Keyed Requester"));
    stop(restored);

    // One flipped byte in the middle: refused, and the target stays empty.
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    let damaged = dir.path().join("damaged.tar");
    std::fs::write(&damaged, &bytes).unwrap();
    let d = dir.path().join("d");
    let out = citygate(&[
        "restore",
        damaged.to_str().unwrap(),
        "--data-dir",
        d.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!d.exists() || std::fs::read_dir(&d).unwrap().next().is_none());
    // Not a backup at all.
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"not a tar file at all").unwrap();
    let out = citygate(&[
        "restore",
        junk.to_str().unwrap(),
        "--data-dir",
        d.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // PostgreSQL is pg_dump's job.
    let out = Command::new(env!("CARGO_BIN_EXE_citygate"))
        .args(["backup", dir.path().join("pg.tar").to_str().unwrap()])
        .env("DATABASE_URL", "postgres://root@127.0.0.1:5432/test")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("pg_dump"));
}
