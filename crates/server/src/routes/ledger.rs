//! The ledger's public read side, for anyone (no authentication, no personal data): the
//! log's verifier key, a signed checkpoint of the current tree, and offline receipts
//! (C2SP tlog-proof: the public leaf, its inclusion proof and the checkpoint) for an entry.

use std::sync::Mutex;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use citygate_ledger::checkpoint::LogKey;
use citygate_ledger::receipt::Receipt;
use citygate_ledger::tiles::{bundle_path, tile_path, TILE_WIDTH};
use citygate_ledger::Ledger;

use crate::error::ApiError;
use crate::state::AppState;

/// The log's signing key and the last checkpoint this instance signed.
pub struct Publisher {
    key: LogKey,
    last: Mutex<Option<(u64, Vec<u8>)>>,
}

impl Publisher {
    /// Publishes with `key`.
    pub fn new(key: LogKey) -> Self {
        Publisher {
            key,
            last: Mutex::new(None),
        }
    }

    /// The verifier key (`<origin>+<id>+<base64>`).
    pub fn verifier_key(&self) -> &str {
        self.key.verifier_key()
    }

    /// A signed checkpoint of the current tree (signed once per size, and stored).
    pub fn checkpoint(&self, ledger: &Ledger) -> Result<(u64, Vec<u8>), ApiError> {
        // Other instances may have appended: look at the store first.
        ledger.refresh()?;
        let (size, root) = ledger.head();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((s, note)) = last.as_ref() {
            if *s == size {
                return Ok((size, note.clone()));
            }
        }
        let note = self.key.sign_checkpoint(size, &root).map_err(|e| {
            tracing::error!(error = %e, "cannot sign a checkpoint");
            ApiError::Internal
        })?;
        ledger.put_checkpoint(size, &note)?;
        *last = Some((size, note.clone()));
        Ok((size, note))
    }
}

fn text(body: Vec<u8>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::Internal)?
}

/// The log's verifier key, to check checkpoints and receipts with.
#[utoipa::path(get, path = "/api/v1/ledger/key", tag = "ledger",
    responses((status = 200, description = "verifier key, text", content_type = "text/plain")))]
pub async fn key(State(state): State<AppState>) -> impl IntoResponse {
    text(format!("{}\n", state.publisher.verifier_key()).into_bytes())
}

/// A signed checkpoint (C2SP signed note) of the ledger as it is now.
#[utoipa::path(get, path = "/api/v1/ledger/checkpoint", tag = "ledger",
    responses((status = 200, description = "signed checkpoint, text", content_type = "text/plain")))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let (ledger, publisher) = (state.ledger.clone(), state.publisher.clone());
    let (_, note) = blocking(move || publisher.checkpoint(&ledger)).await?;
    Ok(text(note))
}

/// An offline receipt for entry `index`: verifiable with the key alone, no server needed.
#[utoipa::path(get, path = "/api/v1/ledger/receipts/{index}", tag = "ledger",
    params(("index" = u64, Path, description = "ledger index, as shown in a case's events")),
    responses((status = 200, description = "C2SP tlog-proof receipt, text", content_type = "text/plain"),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn receipt(
    State(state): State<AppState>,
    Path(index): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let missing = ApiError::NotFound("no ledger entry with that index");
    let index: u64 = index
        .parse()
        .map_err(|_| ApiError::NotFound("no ledger entry with that index"))?;
    let (ledger, publisher) = (state.ledger.clone(), state.publisher.clone());
    let receipt = blocking(move || {
        let (size, note) = publisher.checkpoint(&ledger)?;
        if index >= size {
            return Err(missing);
        }
        let leaf = ledger
            .leaves(index, index + 1)?
            .pop()
            .ok_or(ApiError::Internal)?;
        let proof = ledger.inclusion_proof(index, size)?;
        Ok(Receipt {
            leaf,
            index,
            proof,
            checkpoint: note,
        })
    })
    .await?;
    Ok(text(receipt.encode()))
}

/// Which tile a C2SP tlog-tiles path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TileRef {
    /// `None` for an entry bundle, else the tile level.
    level: Option<usize>,
    /// Tile index.
    n: u64,
    /// Hashes or entries in it (256 = full).
    width: u64,
}

impl TileRef {
    /// Parses `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]` (the part after `tile/`), accepting
    /// only the canonical spelling, so each tile has one URL.
    fn parse(path: &str) -> Option<TileRef> {
        const MAX_LEVEL: usize = 8; // 8 levels of 8 bits cover every u64 index
        let (head, rest) = path.split_once('/')?;
        let level = match head {
            "entries" => None,
            l if l.len() == 1 => Some(l.parse::<usize>().ok().filter(|l| *l < MAX_LEVEL)?),
            _ => return None,
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, w)) => {
                let w: u64 = w.parse().ok().filter(|w| (1..TILE_WIDTH).contains(w))?;
                (index, w)
            }
            None => (rest, TILE_WIDTH),
        };
        let mut n: u64 = 0;
        for group in index.split('/') {
            let digits = group.strip_prefix('x').unwrap_or(group);
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            n = n.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
        }
        let tile = TileRef { level, n, width };
        (tile.path() == format!("tile/{path}")).then_some(tile)
    }

    fn path(&self) -> String {
        match self.level {
            None => bundle_path(self.n, self.width),
            Some(level) => tile_path(level, self.n, self.width),
        }
    }

    /// The smallest tree that has this tile, or `None` past u64.
    fn tree_size(&self) -> Option<u64> {
        let count = self.n.checked_mul(TILE_WIDTH)?.checked_add(self.width)?;
        let shift = 8 * self.level.unwrap_or(0) as u32;
        let size = count.checked_shl(shift)?;
        (size >> shift == count).then_some(size)
    }
}

/// Tiles served over HTTP, written on first request by the ledger's own exporter into a
/// cache directory (public data only) and read from there afterwards.
pub struct TileCache {
    dir: std::path::PathBuf,
    export: Mutex<()>,
}

impl TileCache {
    /// Caches tiles in `dir`.
    pub fn new(dir: std::path::PathBuf) -> Self {
        TileCache {
            dir,
            export: Mutex::new(()),
        }
    }

    fn get(&self, ledger: &Ledger, tile: TileRef) -> Result<Option<Vec<u8>>, ApiError> {
        let Some(size) = tile.tree_size() else {
            return Ok(None);
        };
        if size > ledger.size() && size > ledger.refresh()? {
            return Ok(None);
        }
        let path = self.dir.join(tile.path());
        if let Ok(bytes) = std::fs::read(&path) {
            return Ok(Some(bytes));
        }
        // One export at a time: the exporter writes through fixed temporary names.
        let _one = self.export.lock().unwrap_or_else(|p| p.into_inner());
        if !path.exists() {
            // The exporter skips full tiles already written, so this writes only what is
            // new up to `size`: the tile asked for among them. Its `checkpoint` file is not
            // served (the route signs its own).
            ledger.export_tiles(&self.dir, size, b"")?;
        }
        std::fs::read(&path).map(Some).map_err(|e| {
            tracing::error!(error = %e, "cannot read an exported tile");
            ApiError::Internal
        })
    }
}

/// A tile of the ledger (C2SP tlog-tiles): `tile/<L>/<N>[.p/<W>]` holds hashes,
/// `tile/entries/<N>[.p/<W>]` the public leaves. With `/api/v1/ledger/checkpoint`, any
/// tlog-tiles client can check the log without trusting this server.
#[utoipa::path(get, path = "/api/v1/ledger/tile/{path}", tag = "ledger",
    params(("path" = String, Path, description = "`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`")),
    responses((status = 200, description = "the tile's bytes; full tiles are immutable", content_type = "application/octet-stream"),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let missing = ApiError::NotFound("no such tile (see C2SP tlog-tiles for the paths)");
    let tile = TileRef::parse(&path).ok_or(missing)?;
    let (ledger, cache) = (state.ledger.clone(), state.tiles.clone());
    let bytes = blocking(move || cache.get(&ledger, tile))
        .await?
        .ok_or(ApiError::NotFound(
            "no such tile (see C2SP tlog-tiles for the paths)",
        ))?;
    // A full tile never changes; a partial one is replaced by wider ones as the log grows.
    let cache_control = if tile.width == TILE_WIDTH {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=60"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache_control),
        ],
        bytes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_paths_parse_only_in_canonical_form() {
        let t = |level, n, width| TileRef { level, n, width };
        assert_eq!(TileRef::parse("0/000"), Some(t(Some(0), 0, 256)));
        assert_eq!(TileRef::parse("1/x001/234.p/7"), Some(t(Some(1), 1234, 7)));
        assert_eq!(TileRef::parse("entries/005.p/255"), Some(t(None, 5, 255)));
        assert_eq!(
            TileRef::parse("entries/x001/x234/067"),
            Some(t(None, 1_234_067, 256))
        );
        for bad in [
            "",
            "0",
            "0/",
            "0/0",
            "0/0000",
            "0/x000/001",
            "0/001.p/256",
            "0/001.p/0",
            "0/001.p/07",
            "0/001.p/",
            "8/000",
            "00/000",
            "-1/000",
            "entries/abc",
            "0/../000",
            "0/x001",
            "entries/001/",
            "0/000.p/1/2",
            "0/+01",
            "0/x999/x999/x999/x999/x999/x999/x999/999",
        ] {
            assert_eq!(TileRef::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_tile_needs_the_smallest_tree_that_has_it() {
        let t = |level, n, width| TileRef { level, n, width };
        assert_eq!(t(Some(0), 0, 5).tree_size(), Some(5));
        assert_eq!(t(Some(0), 1, 256).tree_size(), Some(512));
        assert_eq!(t(None, 2, 3).tree_size(), Some(515));
        assert_eq!(t(Some(1), 0, 1).tree_size(), Some(256));
        assert_eq!(t(Some(2), 1, 2).tree_size(), Some(258 << 16));
        assert_eq!(t(Some(7), u64::MAX / 256, 255).tree_size(), None);
    }
}
