//! The ledger's tiles over HTTP (C2SP tlog-tiles), with no authentication: a client that
//! trusts only the log's key fetches the checkpoint and the tiles, re-checks the whole log
//! with the ledger crate's verifier and proves a case's entry is in it.

mod common;

use citygate_ledger::checkpoint::{verify_checkpoint, Policy};
use citygate_ledger::tiles::{
    bundle_path, read_tree, tile_path, verify_dir, TilesVerdict, TILE_WIDTH,
};
use citygate_ledger::{verify_inclusion, PublicLeaf};
use citygate_server::testkit::TestServer;
use common::*;
use reqwest::StatusCode;

async fn fetch(http: &reqwest::Client, url: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let resp = http.get(url).send().await.unwrap();
    let status = resp.status();
    let cache = resp
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, cache, resp.bytes().await.unwrap().to_vec())
}

/// Every tile path of a tree of `size` entries: hash tiles of each level, then bundles.
fn tile_paths(size: u64) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut level = 0;
    loop {
        let count = size >> (8 * level);
        if count == 0 {
            break;
        }
        for n in 0..count.div_ceil(TILE_WIDTH) {
            let width = (count - n * TILE_WIDTH).min(TILE_WIDTH);
            out.push((tile_path(level, n, width), width));
        }
        level += 1;
    }
    for n in 0..size.div_ceil(TILE_WIDTH) {
        let width = (size - n * TILE_WIDTH).min(TILE_WIDTH);
        out.push((bundle_path(n, width), width));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_over_http_verify_and_prove_inclusion() {
    // Past one full tile, so there are full and partial tiles and a level-1 tile.
    check_tiles(TestServer::sqlite().await.unwrap(), 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_over_http_on_postgres() {
    let Some(server) = TestServer::postgres().await else {
        eprintln!("NOTICE: PostgreSQL not reachable; tiles_over_http_on_postgres skipped");
        return;
    };
    check_tiles(server.unwrap(), 20).await;
}

async fn check_tiles(mut server: TestServer, cases: usize) {
    let staff = staff(&server).await;
    let first = open_case(&staff.desk, "phone", with_consent()).await;
    for _ in 1..cases {
        open_case(&staff.desk, "phone", with_consent()).await;
    }
    let (_, case) = staff.desk.get(&format!("/api/v1/cases/{first}")).await;
    let index = case["events"][0]["ledger_index"].as_u64().unwrap();

    // No login: a plain client.
    let http = reqwest::Client::new();
    let base = format!("{}/api/v1/ledger", server.base_url);
    let (status, _, key) = fetch(&http, &format!("{base}/key")).await;
    assert_eq!(status, StatusCode::OK);
    let policy = Policy {
        log_key: String::from_utf8(key).unwrap().trim().to_owned(),
        witnesses: vec![],
        quorum: 0,
    };
    let (status, _, note) = fetch(&http, &format!("{base}/checkpoint")).await;
    assert_eq!(status, StatusCode::OK);
    let cp = verify_checkpoint(&note, &policy).unwrap();
    assert!(cp.size >= cases as u64, "{}", cp.size);

    let mirror = tempfile::tempdir().unwrap();
    std::fs::write(mirror.path().join("checkpoint"), &note).unwrap();
    let paths = tile_paths(cp.size);
    assert_eq!(
        paths.iter().any(|(p, _)| p.starts_with("tile/1/")),
        cp.size >= TILE_WIDTH,
        "{paths:?}"
    );
    for (path, width) in &paths {
        let (status, cache, bytes) = fetch(&http, &format!("{base}/{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let cache = cache.unwrap_or_default();
        assert_eq!(
            cache.contains("immutable"),
            *width == TILE_WIDTH,
            "{path}: {cache}"
        );
        let file = mirror.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    // The whole log re-checked from what was fetched: entries, every tile, the signed root.
    match verify_dir(mirror.path(), &policy, |_, _| {}).unwrap() {
        TilesVerdict::Valid { size, root } => {
            assert_eq!(size, cp.size);
            assert_eq!(root, cp.root);
        }
        other => panic!("tiles do not verify: {other:?}"),
    }
    // The case's opening is in the log: its leaf, an inclusion proof from the tiles, the
    // signed root.
    let tree = read_tree(mirror.path(), cp.size).unwrap();
    let leaf = tree.leaf(index).unwrap();
    let proof = tree.inclusion_proof(index, cp.size).unwrap();
    verify_inclusion(&leaf, index, cp.size, &proof, &cp.root).unwrap();
    let bundle_width = (cp.size - index / TILE_WIDTH * TILE_WIDTH).min(TILE_WIDTH);
    let bundle = std::fs::read(
        mirror
            .path()
            .join(bundle_path(index / TILE_WIDTH, bundle_width)),
    )
    .unwrap();
    let mut rest = bundle.as_slice();
    for _ in 0..index % TILE_WIDTH {
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        rest = &rest[2 + len..];
    }
    let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
    let entry = &rest[2..2 + len];
    assert_eq!(citygate_ledger::leaf_hash(entry), leaf);
    PublicLeaf::decode(entry).unwrap();

    // The log grows: tiles already served keep their bytes; the new tree is served too.
    let first_tile = paths[0].0.clone();
    let (_, _, full_before) = fetch(&http, &format!("{base}/{first_tile}")).await;
    let partial = &paths
        .iter()
        .find(|(p, w)| p.starts_with("tile/0/") && *w < TILE_WIDTH)
        .unwrap()
        .0;
    let (_, _, partial_before) = fetch(&http, &format!("{base}/{partial}")).await;
    for _ in 0..3 {
        open_case(&staff.desk, "phone", with_consent()).await;
    }
    let (_, _, note) = fetch(&http, &format!("{base}/checkpoint")).await;
    let grown = verify_checkpoint(&note, &policy).unwrap();
    assert!(grown.size > cp.size);
    assert_eq!(
        fetch(&http, &format!("{base}/{first_tile}")).await.2,
        full_before
    );
    assert_eq!(
        fetch(&http, &format!("{base}/{partial}")).await.2,
        partial_before
    );
    let newest = tile_path(0, (grown.size - 1) / TILE_WIDTH, grown.size % TILE_WIDTH);
    assert_eq!(
        fetch(&http, &format!("{base}/{newest}")).await.0,
        StatusCode::OK
    );

    // Beyond the log, or not a canonical tile path: 404 with a message.
    let beyond = tile_path(0, grown.size / TILE_WIDTH + 1, 1);
    for bad in [
        beyond.as_str(),
        "tile/0/0",
        "tile/0/000.p/256",
        "tile/9/000",
        "tile/entries/x000/001",
        "tile/..%2Fcheckpoint",
        "tile/0/999.p/1",
    ] {
        let (status, _, body) = fetch(&http, &format!("{base}/{bad}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert!(String::from_utf8_lossy(&body).contains("message"), "{bad}");
    }
    server.stop().await.unwrap();
}
