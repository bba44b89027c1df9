//! The ledger's tree: the levels at and above blocks of 32 leaves in memory, the levels
//! below read from the store when a proof or tile needs them.
//!
//! A whole [`MerkleTree`] keeps 64 bytes per entry, so the service's memory grew with its
//! ledger by 64 MB per million entries. This keeps 2 bytes per entry, plus the leaf hashes of
//! the last, incomplete block. A query that needs a subtree inside a complete block reads that
//! block's 32 leaves (one store read, then 63 hashes); the current root never does. Blocks of
//! 32 keep a proof within the ledger's 50 µs target; blocks of 256 (a quarter of a byte per
//! entry) took about 100 µs, mostly hashing.

use crate::merkle::{
    self, largest_power_of_two_below, node_hash, Hash, MerkleTree, Subtrees, TreeError,
};

const BLOCK_LEVEL: usize = 5;
/// Leaves per block.
pub const BLOCK: u64 = 1 << BLOCK_LEVEL;

/// The tree of a ledger, without its lowest [`BLOCK_LEVEL`] levels except for the last
/// block.
#[derive(Debug, Default)]
pub struct CompactTree {
    /// The tree whose leaves are the roots of the complete blocks: its level `l` is level
    /// `l + BLOCK_LEVEL` of the ledger's tree.
    blocks: MerkleTree,
    /// Leaf hashes of the last block, while it has fewer than [`BLOCK`] leaves.
    tail: Vec<Hash>,
}

impl CompactTree {
    /// The tree of complete blocks with these roots (as stored by a ledger earlier).
    pub fn from_block_roots(roots: &[Hash]) -> Self {
        Self {
            blocks: tree_of(roots),
            tail: Vec::new(),
        }
    }

    /// Number of complete blocks.
    pub fn complete_blocks(&self) -> u64 {
        self.blocks.len()
    }

    /// The roots of complete blocks `start..end`, if complete.
    pub fn block_roots(&self, start: u64, end: u64) -> Option<&[Hash]> {
        self.blocks.level(0).get(start as usize..end as usize)
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.blocks.len() * BLOCK + self.tail.len() as u64
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.tail.push(leaf);
        if self.tail.len() as u64 == BLOCK {
            let block = tree_of(&self.tail);
            self.blocks.push(block.root());
            self.tail.clear();
        }
    }

    /// The root of the whole tree. Never reads a block: every range RFC 6962 splits the
    /// whole tree into is either a whole block or larger (in memory), or ends at the last
    /// leaf, inside the tail.
    pub fn root(&self) -> Hash {
        let mut no_reads = WithBlocks {
            tree: self,
            read: |_| {
                Err(TreeError::SizeTooLarge {
                    requested: 0,
                    available: 0,
                })
            },
            cached: None,
        };
        merkle::root_at(&mut no_reads, self.len()).unwrap_or(merkle::EMPTY_ROOT)
    }

    /// This tree with `read`, which gives the leaf hashes of leaves `start..end` (a complete
    /// block), to answer queries.
    pub fn with_blocks<F, E>(&self, read: F) -> WithBlocks<'_, F>
    where
        F: FnMut(std::ops::Range<u64>) -> Result<Vec<Hash>, E>,
        E: From<TreeError>,
    {
        WithBlocks {
            tree: self,
            read,
            cached: None,
        }
    }
}

/// A [`CompactTree`] that can read its complete blocks' leaves.
pub struct WithBlocks<'a, F> {
    tree: &'a CompactTree,
    read: F,
    /// The last block used, as a tree (a proof visits several subtrees of its leaf's block,
    /// a tile every leaf of one).
    cached: Option<(u64, MerkleTree)>,
}

impl<F, E> WithBlocks<'_, F>
where
    F: FnMut(std::ops::Range<u64>) -> Result<Vec<Hash>, E>,
    E: From<TreeError>,
{
    /// The root of the tree at `size` leaves.
    pub fn root_at(&mut self, size: u64) -> Result<Hash, E> {
        merkle::root_at(self, size)
    }

    /// The inclusion proof for leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&mut self, index: u64, size: u64) -> Result<Vec<Hash>, E> {
        merkle::inclusion_proof(self, index, size)
    }

    /// The consistency proof from the tree of `old` leaves to that of `new`.
    pub fn consistency_proof(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, E> {
        merkle::consistency_proof(self, old, new)
    }

    /// The hashes of the complete subtrees of `2^height` leaves with indexes `start..end`.
    pub fn level(&mut self, height: usize, start: u64, end: u64) -> Result<Vec<Hash>, E> {
        if height >= BLOCK_LEVEL {
            let level = self.tree.blocks.level(height - BLOCK_LEVEL);
            return level
                .get(start as usize..end as usize)
                .map(<[Hash]>::to_vec)
                .ok_or_else(|| self.beyond((end << height).saturating_sub(1)).into());
        }
        (start..end)
            .map(|i| self.subtree(i << height, (i + 1) << height))
            .collect()
    }

    fn beyond(&self, requested: u64) -> TreeError {
        TreeError::SizeTooLarge {
            requested,
            available: self.tree.len(),
        }
    }
}

impl<F, E> Subtrees for WithBlocks<'_, F>
where
    F: FnMut(std::ops::Range<u64>) -> Result<Vec<Hash>, E>,
    E: From<TreeError>,
{
    type Error = E;

    fn len(&self) -> u64 {
        self.tree.len()
    }

    fn subtree(&mut self, lo: u64, hi: u64) -> Result<Hash, E> {
        if hi > self.tree.len() || lo >= hi {
            return Err(self.beyond(hi).into());
        }
        let n = hi - lo;
        if n.is_power_of_two() && n >= BLOCK && lo & (n - 1) == 0 {
            let level = n.trailing_zeros() as usize;
            return Ok(self.tree.blocks.level(level - BLOCK_LEVEL)[(lo >> level) as usize]);
        }
        if n > BLOCK {
            let k = largest_power_of_two_below(n);
            return Ok(node_hash(
                &self.subtree(lo, lo + k)?,
                &self.subtree(lo + k, hi)?,
            ));
        }
        // At most a block, and aligned as RFC 6962's ranges are: inside block `lo / BLOCK`.
        let block = lo / BLOCK;
        let first = block * BLOCK;
        let tree = match self.cached.take() {
            Some((b, tree)) if b == block => tree,
            _ if block == self.tree.blocks.len() => tree_of(&self.tree.tail),
            _ => {
                let hashes = (self.read)(first..first + BLOCK)?;
                if hashes.len() as u64 != BLOCK {
                    return Err(self.beyond(first + BLOCK).into());
                }
                tree_of(&hashes)
            }
        };
        let hash = tree.subtree(lo - first, hi - first);
        self.cached = Some((block, tree));
        Ok(hash)
    }
}

/// The root of one block's leaf hashes.
pub fn block_root(hashes: &[Hash]) -> Hash {
    tree_of(hashes).root()
}

fn tree_of(hashes: &[Hash]) -> MerkleTree {
    let mut tree = MerkleTree::new();
    for h in hashes {
        tree.push(*h);
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;
    use std::cell::Cell;

    /// Leaves 0..n, and both trees over them.
    fn trees(n: u64) -> (Vec<Hash>, MerkleTree, CompactTree) {
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut whole = MerkleTree::new();
        let mut compact = CompactTree::default();
        for h in &leaves {
            whole.push(*h);
            compact.push(*h);
        }
        (leaves, whole, compact)
    }

    fn reader<'a>(
        leaves: &'a [Hash],
        reads: &'a Cell<u32>,
    ) -> impl FnMut(std::ops::Range<u64>) -> Result<Vec<Hash>, TreeError> + 'a {
        move |r: std::ops::Range<u64>| {
            reads.set(reads.get() + 1);
            Ok(leaves[r.start as usize..r.end as usize].to_vec())
        }
    }

    #[test]
    fn roots_and_proofs_match_the_whole_tree() {
        let (leaves, whole, compact) = trees(1100);
        let reads = Cell::new(0);
        let mut q = compact.with_blocks(reader(&leaves, &reads));
        assert_eq!(compact.root(), whole.root());
        for size in (0..=1100)
            .step_by(7)
            .chain([31, 32, 33, 255, 256, 257, 512, 513, 1024])
        {
            assert_eq!(q.root_at(size), whole.root_at(size), "root at {size}");
        }
        for size in [1, 2, 31, 32, 33, 64, 255, 256, 257, 300, 768, 1099, 1100] {
            for index in (0..size).step_by(13).chain([size - 1]) {
                assert_eq!(
                    q.inclusion_proof(index, size),
                    whole.inclusion_proof(index, size),
                    "inclusion of {index} in {size}"
                );
            }
            for old in (1..=size).step_by(11).chain([size]) {
                assert_eq!(
                    q.consistency_proof(old, size),
                    whole.consistency_proof(old, size),
                    "consistency {old} to {size}"
                );
            }
        }
        for height in [0, 3, 5, 8] {
            let n = 1100 >> height;
            assert_eq!(
                q.level(height, 0, n).unwrap(),
                whole.level(height)[..n as usize]
            );
        }
        assert!(reads.get() > 0);
    }

    #[test]
    fn only_block_roots_and_the_tail_are_kept_and_the_root_reads_nothing() {
        let (_, whole, compact) = trees(BLOCK * 40 + 3);
        assert_eq!(compact.len(), whole.len());
        assert_eq!(compact.tail.len(), 3);
        assert_eq!(compact.blocks.len(), 40);
        for size in [BLOCK * 40, BLOCK * 40 + 3] {
            let (_, whole, compact) = trees(size);
            assert_eq!(compact.root(), whole.root(), "{size}");
        }
    }

    #[test]
    fn a_tree_started_from_stored_block_roots_is_the_same_tree() {
        let (leaves, whole, compact) = trees(BLOCK * 21 + 5);
        let roots = compact.block_roots(0, 21).unwrap();
        assert_eq!(compact.complete_blocks(), 21);
        assert!(compact.block_roots(0, 22).is_none());
        assert_eq!(
            roots[3],
            block_root(&leaves[3 * BLOCK as usize..4 * BLOCK as usize])
        );
        for stored in [0, 1, 20, 21] {
            let mut restarted = CompactTree::from_block_roots(&roots[..stored]);
            for h in &leaves[stored * BLOCK as usize..] {
                restarted.push(*h);
            }
            assert_eq!(restarted.root(), whole.root(), "from {stored} blocks");
            let reads = Cell::new(0);
            let mut q = restarted.with_blocks(reader(&leaves, &reads));
            assert_eq!(q.inclusion_proof(70, 600), whole.inclusion_proof(70, 600));
            assert_eq!(
                q.consistency_proof(33, whole.len()),
                whole.consistency_proof(33, whole.len())
            );
        }
    }

    #[test]
    fn bad_sizes_and_short_reads_are_errors_not_panics() {
        let (leaves, whole, compact) = trees(600);
        let mut q = compact.with_blocks(|r: std::ops::Range<u64>| {
            Ok::<_, TreeError>(leaves[r.start as usize..(r.end as usize).min(20)].to_vec())
        });
        assert!(q.root_at(601).is_err());
        assert!(q.inclusion_proof(600, 600).is_err());
        assert!(q.consistency_proof(0, 10).is_err());
        assert!(
            q.level(8, 0, 5).is_err(),
            "600 leaves hold two subtrees of 256"
        );
        // A store that returns fewer leaves than a block holds.
        assert!(q.inclusion_proof(5, 600).is_err());
        assert_eq!(q.root_at(600), whole.root_at(600), "the root needs no read");
    }
}
