//! The publishable static form (C2SP tlog-tiles): `checkpoint`, `tile/<L>/<N>[.p/<W>]` and
//! `tile/entries/<N>[.p/<W>]`, written to a directory any static web server can serve.
//! Also the full re-check of a log from such a directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::checkpoint::{CheckpointError, CheckpointPolicy};
use crate::entry::PublicLeaf;
use crate::merkle::{leaf_hash, Hash, MerkleTree};

/// Hashes (or entries) per full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels per tile level.
const TILE_HEIGHT: usize = 8;

/// Errors while exporting or reading tiles.
#[derive(Debug, thiserror::Error)]
pub enum TilesError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The checkpoint failed its signature policy.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// An entry longer than a bundle can hold (65,535 bytes).
    #[error("entry {0} is too long for an entry bundle")]
    EntryTooLong(u64),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TilesError + '_ {
    move |source| TilesError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The tile index `n` in 3-digit groups, e.g. 1234067 → `x001/x234/067`.
pub fn encode_index(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// Path of hash tile `n` at tile level `level` with `width` hashes (256 = full).
pub fn tile_path(level: usize, n: u64, width: u64) -> String {
    partial(format!("tile/{level}/{}", encode_index(n)), width)
}

/// Path of entry bundle `n` with `width` entries (256 = full).
pub fn bundle_path(n: u64, width: u64) -> String {
    partial(format!("tile/entries/{}", encode_index(n)), width)
}

fn partial(path: String, width: u64) -> String {
    if width == TILE_WIDTH {
        path
    } else {
        format!("{path}.p/{width}")
    }
}

/// Writes a file atomically (temp file, fsync, rename); full tiles already present are kept.
fn publish(dir: &Path, rel: &str, bytes: &[u8], immutable: bool) -> Result<(), TilesError> {
    let path = dir.join(rel);
    if immutable && path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let tmp = path.with_extension("tmp-citygate");
    let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))
}

/// What an export wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Entries covered.
    pub size: u64,
    /// Bytes of hash tiles (all levels) and entry bundles for those entries.
    pub public_bytes: u64,
}

/// Where an export reads the tree's hashes and the public leaves.
pub trait TileSource {
    /// Hashes of the complete subtrees of `2^height` leaves with indexes `start..end`.
    fn hashes(&mut self, height: usize, start: u64, end: u64) -> Result<Vec<Hash>, TilesError>;
    /// Public leaves `start..end`.
    fn leaves(&mut self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, TilesError>;
}

/// Writes tiles, entry bundles and the signed `checkpoint` for the first `size` entries.
/// Full tiles and bundles already in `dir` are immutable and skipped, so a repeated
/// export only writes what is new.
pub fn export(
    dir: &Path,
    source: &mut dyn TileSource,
    size: u64,
    checkpoint: &[u8],
) -> Result<ExportSummary, TilesError> {
    let mut summary = ExportSummary {
        size,
        public_bytes: 0,
    };
    let mut level = 0;
    loop {
        let count = size >> (level * TILE_HEIGHT);
        if count == 0 {
            break;
        }
        for n in 0..count.div_ceil(TILE_WIDTH) {
            let start = n * TILE_WIDTH;
            let width = (count - start).min(TILE_WIDTH);
            summary.public_bytes += width * 32;
            let rel = tile_path(level, n, width);
            if width == TILE_WIDTH && dir.join(&rel).exists() {
                continue;
            }
            let bytes = source
                .hashes(level * TILE_HEIGHT, start, start + width)?
                .concat();
            publish(dir, &rel, &bytes, true)?;
        }
        level += 1;
    }
    for n in 0..size.div_ceil(TILE_WIDTH) {
        let start = n * TILE_WIDTH;
        let width = (size - start).min(TILE_WIDTH);
        let rel = bundle_path(n, width);
        if width == TILE_WIDTH {
            if let Ok(meta) = std::fs::metadata(dir.join(&rel)) {
                summary.public_bytes += meta.len();
                continue;
            }
        }
        let mut bytes = Vec::new();
        for (i, leaf) in source.leaves(start, start + width)?.iter().enumerate() {
            let len = u16::try_from(leaf.len())
                .map_err(|_| TilesError::EntryTooLong(start + i as u64))?;
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(leaf);
        }
        summary.public_bytes += bytes.len() as u64;
        publish(dir, &rel, &bytes, true)?;
    }
    publish(dir, "checkpoint", checkpoint, false)?;
    Ok(summary)
}

/// The outcome of re-checking a log from its tiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TilesVerdict {
    /// Every entry, tile and the root match the signed checkpoint.
    Valid {
        /// Entries checked.
        size: u64,
        /// The verified root.
        root: Hash,
    },
    /// The first entry found wrong, and why.
    BadEntry {
        /// Its index.
        index: u64,
        /// What is wrong.
        reason: String,
    },
    /// Tiles and entries agree with each other but not with the signed root.
    RootMismatch,
}

fn read(dir: &Path, rel: &str) -> Result<Option<Vec<u8>>, TilesError> {
    let path: PathBuf = dir.join(rel);
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path)(e)),
    }
}

/// Re-checks the whole log in `dir`: the checkpoint's signatures against `policy`, every
/// entry bundle against the leaf tiles and the public-leaf schema, every higher tile, and
/// the root. `progress(done, total)` is called after each bundle.
pub fn verify_dir(
    dir: &Path,
    policy: &dyn CheckpointPolicy,
    mut progress: impl FnMut(u64, u64),
) -> Result<TilesVerdict, TilesError> {
    let note = read(dir, "checkpoint")?.ok_or_else(|| TilesError::Io {
        path: dir.join("checkpoint").display().to_string(),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    let cp = policy.check(&note)?;
    let size = cp.size;
    let mut tree = MerkleTree::new();
    for n in 0..size.div_ceil(TILE_WIDTH) {
        let start = n * TILE_WIDTH;
        let width = (size - start).min(TILE_WIDTH);
        let bad = |i: u64, reason: &str| TilesVerdict::BadEntry {
            index: start + i,
            reason: reason.to_owned(),
        };
        let Some(bundle) = read(dir, &bundle_path(n, width))? else {
            return Ok(bad(0, "its entry bundle is missing"));
        };
        let Some(tile) = read(dir, &tile_path(0, n, width))? else {
            return Ok(bad(0, "its leaf tile is missing"));
        };
        if tile.len() as u64 != width * 32 {
            return Ok(bad(0, "its leaf tile has the wrong length"));
        }
        let mut rest = bundle.as_slice();
        for i in 0..width {
            if rest.len() < 2 {
                return Ok(bad(i, "the entry bundle is truncated"));
            }
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            if rest.len() < 2 + len {
                return Ok(bad(i, "the entry bundle is truncated"));
            }
            let leaf = &rest[2..2 + len];
            rest = &rest[2 + len..];
            if let Err(e) = PublicLeaf::decode(leaf) {
                return Ok(bad(i, &format!("not a valid public leaf ({e})")));
            }
            let h = leaf_hash(leaf);
            if tile[(i * 32) as usize..(i * 32 + 32) as usize] != h {
                return Ok(bad(i, "its entry does not match the leaf tile"));
            }
            tree.push(h);
        }
        if !rest.is_empty() {
            return Ok(bad(width - 1, "the entry bundle has trailing bytes"));
        }
        progress(start + width, size);
    }
    if let Some(verdict) = check_upper_tiles(dir, &tree, size)? {
        return Ok(verdict);
    }
    if tree.root() != cp.root {
        return Ok(TilesVerdict::RootMismatch);
    }
    Ok(TilesVerdict::Valid {
        size,
        root: cp.root,
    })
}

/// Rebuilds the tree of the first `size` entries from the leaf tiles in `dir` (hashes only;
/// use [`verify_dir`] to check the entries too).
pub fn read_tree(dir: &Path, size: u64) -> Result<MerkleTree, TilesError> {
    let mut tree = MerkleTree::new();
    for n in 0..size.div_ceil(TILE_WIDTH) {
        let width = (size - n * TILE_WIDTH).min(TILE_WIDTH);
        let rel = tile_path(0, n, width);
        let tile = read_at_least(dir, n, width)?.ok_or_else(|| TilesError::Io {
            path: dir.join(&rel).display().to_string(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        for i in 0..width as usize {
            let h: Option<Hash> = tile
                .get(i * 32..i * 32 + 32)
                .and_then(|s| s.try_into().ok());
            let h = h.ok_or_else(|| TilesError::Io {
                path: dir.join(&rel).display().to_string(),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            })?;
            tree.push(h);
        }
    }
    Ok(tree)
}

/// Leaf tile `n` with at least `width` hashes: the exact one, the full one, or any wider
/// partial one (a tile's first hashes never change as it grows).
fn read_at_least(dir: &Path, n: u64, width: u64) -> Result<Option<Vec<u8>>, TilesError> {
    for w in [width, TILE_WIDTH] {
        if let Some(t) = read(dir, &tile_path(0, n, w))? {
            return Ok(Some(t));
        }
    }
    let partials = dir.join(format!("tile/0/{}.p", encode_index(n)));
    let Ok(entries) = std::fs::read_dir(&partials) else {
        return Ok(None);
    };
    let best = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .filter(|w| *w >= width)
        .min();
    match best {
        Some(w) => read(dir, &tile_path(0, n, w)),
        None => Ok(None),
    }
}

/// Compares tiles above level 0 with the hashes recomputed from the entries.
fn check_upper_tiles(
    dir: &Path,
    tree: &MerkleTree,
    size: u64,
) -> Result<Option<TilesVerdict>, TilesError> {
    let mut level = 1;
    loop {
        let count = size >> (level * TILE_HEIGHT);
        if count == 0 {
            return Ok(None);
        }
        let hashes = tree.level(level * TILE_HEIGHT);
        for n in 0..count.div_ceil(TILE_WIDTH) {
            let start = n * TILE_WIDTH;
            let width = (count - start).min(TILE_WIDTH);
            let tile = read(dir, &tile_path(level, n, width))?.unwrap_or_default();
            for i in 0..width {
                let expected = &hashes[(start + i) as usize];
                let got = tile.get((i * 32) as usize..(i * 32 + 32) as usize);
                if got != Some(&expected[..]) {
                    let first = (start + i) << (level * TILE_HEIGHT);
                    return Ok(Some(TilesVerdict::BadEntry {
                        index: first,
                        reason: format!("the level-{level} tile covering entries from {first} does not match them"),
                    }));
                }
            }
        }
        level += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_index_groups_follow_the_spec_example() {
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        assert_eq!(encode_index(67), "067");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(tile_path(1, 67, 256), "tile/1/067");
        assert_eq!(bundle_path(5, 17), "tile/entries/005.p/17");
    }
}
