//! The RFC 6962 / RFC 9162 Merkle tree: hashing, roots and proof generation.
//!
//! The tree keeps every complete subtree hash in memory (level `l` holds the hashes of the
//! aligned subtrees of `2^l` leaves), so any proof or historical root costs `O(log n)` hashes.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Leaf hash: SHA-256(0x00 ‖ entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// Interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Errors from asking the tree for something it does not hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TreeError {
    /// The requested tree size is larger than the tree.
    #[error("tree size {requested} is larger than the log ({available} entries)")]
    SizeTooLarge {
        /// The size asked for.
        requested: u64,
        /// The number of leaves held.
        available: u64,
    },
    /// The leaf index is not below the tree size.
    #[error("entry {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size it was asked against.
        size: u64,
    },
    /// A consistency proof was asked from a larger to a smaller tree, or from size 0.
    #[error(
        "no consistency proof from size {old} to size {new}: sizes must satisfy 0 < old <= new"
    )]
    BadConsistencySizes {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
}

/// Answers MTH(D[lo:hi]) for the ranges RFC 6962's recursions visit, whose `lo` is aligned
/// to the smallest power of two not below `hi - lo`: so the proofs below serve both the
/// whole in-memory tree and the ledger's tree, which reads its lower levels from the store.
pub(crate) trait Subtrees {
    type Error: From<TreeError>;
    /// Number of leaves.
    fn len(&self) -> u64;
    fn subtree(&mut self, lo: u64, hi: u64) -> Result<Hash, Self::Error>;
}

fn check_size(len: u64, size: u64) -> Result<(), TreeError> {
    if size > len {
        return Err(TreeError::SizeTooLarge {
            requested: size,
            available: len,
        });
    }
    Ok(())
}

/// The root of the tree as it was at `size` leaves.
pub(crate) fn root_at<S: Subtrees>(tree: &mut S, size: u64) -> Result<Hash, S::Error> {
    check_size(tree.len(), size)?;
    if size == 0 {
        Ok(EMPTY_ROOT)
    } else {
        tree.subtree(0, size)
    }
}

/// The inclusion proof (RFC 6962 PATH) for leaf `index` in the tree of `size` leaves,
/// leaf-side sibling first.
pub(crate) fn inclusion_proof<S: Subtrees>(
    tree: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, S::Error> {
    check_size(tree.len(), size)?;
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size }.into());
    }
    let mut proof = Vec::new();
    path(tree, index, 0, size, &mut proof)?;
    Ok(proof)
}

fn path<S: Subtrees>(
    tree: &mut S,
    m: u64,
    lo: u64,
    hi: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = hi - lo;
    if n == 1 {
        return Ok(());
    }
    let k = largest_power_of_two_below(n);
    if m < k {
        path(tree, m, lo, lo + k, out)?;
        out.push(tree.subtree(lo + k, hi)?);
    } else {
        path(tree, m - k, lo + k, hi, out)?;
        out.push(tree.subtree(lo, lo + k)?);
    }
    Ok(())
}

/// The consistency proof (RFC 6962 PROOF) from the tree of `old` leaves to that of `new`.
/// Equal sizes give the empty proof; `old == 0` has no proof.
pub(crate) fn consistency_proof<S: Subtrees>(
    tree: &mut S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, S::Error> {
    check_size(tree.len(), new)?;
    if old == 0 || old > new {
        return Err(TreeError::BadConsistencySizes { old, new }.into());
    }
    let mut proof = Vec::new();
    subproof(tree, old, 0, new, true, &mut proof)?;
    Ok(proof)
}

fn subproof<S: Subtrees>(
    tree: &mut S,
    m: u64,
    lo: u64,
    hi: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push(tree.subtree(lo, hi)?);
        }
        return Ok(());
    }
    let k = largest_power_of_two_below(n);
    if m <= k {
        subproof(tree, m, lo, lo + k, whole, out)?;
        out.push(tree.subtree(lo + k, hi)?);
    } else {
        subproof(tree, m - k, lo + k, hi, false, out)?;
        out.push(tree.subtree(lo, lo + k)?);
    }
    Ok(())
}

/// The whole tree in memory answers every range without failing.
impl Subtrees for &MerkleTree {
    type Error = TreeError;
    fn len(&self) -> u64 {
        MerkleTree::len(self)
    }
    fn subtree(&mut self, lo: u64, hi: u64) -> Result<Hash, TreeError> {
        Ok(MerkleTree::subtree(self, lo, hi))
    }
}

/// An append-only Merkle tree holding every complete subtree hash.
#[derive(Debug, Default, Clone)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

pub(crate) fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n > 1);
    1u64 << (63 - (n - 1).leading_zeros())
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one leaf hash (already computed with [`leaf_hash`]).
    pub fn push(&mut self, leaf: Hash) {
        let mut level = 0;
        let mut hash = leaf;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let nodes = &mut self.levels[level];
            nodes.push(hash);
            if nodes.len() % 2 == 1 {
                return;
            }
            hash = node_hash(&nodes[nodes.len() - 2], &nodes[nodes.len() - 1]);
            level += 1;
        }
    }

    /// The hashes of the complete subtrees of `2^level` leaves, left to right.
    pub fn level(&self, level: usize) -> &[Hash] {
        self.levels.get(level).map_or(&[], |l| l.as_slice())
    }

    /// The leaf hash at `index`, if present.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.level(0).get(usize::try_from(index).ok()?).copied()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        let n = self.len();
        if n == 0 {
            EMPTY_ROOT
        } else {
            self.subtree(0, n)
        }
    }

    /// The root of the tree as it was at `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        root_at(&mut &*self, size)
    }

    /// MTH(D[lo:hi]) for `lo` aligned to the largest power of two not above `hi - lo`
    /// (always true for the subtrees RFC 6962 visits).
    pub(crate) fn subtree(&self, lo: u64, hi: u64) -> Hash {
        let n = hi - lo;
        if n.is_power_of_two() && lo & (n - 1) == 0 {
            let level = n.trailing_zeros() as usize;
            return self.levels[level][(lo >> level) as usize];
        }
        let k = largest_power_of_two_below(n);
        node_hash(&self.subtree(lo, lo + k), &self.subtree(lo + k, hi))
    }

    /// The inclusion proof (RFC 6962 PATH) for leaf `index` in the tree of `size` leaves,
    /// leaf-side sibling first.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        inclusion_proof(&mut &*self, index, size)
    }

    /// The consistency proof (RFC 6962 PROOF) from the tree of `old` leaves to that of `new`.
    /// Equal sizes give the empty proof; `old == 0` has no proof.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, TreeError> {
        consistency_proof(&mut &*self, old, new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_single_leaf_roots() {
        let mut t = MerkleTree::new();
        assert_eq!(t.root(), EMPTY_ROOT);
        t.push(leaf_hash(b""));
        // RFC 6962 test vector: leaf hash of the empty entry.
        assert_eq!(
            hex(&t.root()),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn sizes_beyond_the_tree_are_refused() {
        let mut t = MerkleTree::new();
        t.push(leaf_hash(b"a"));
        assert!(t.root_at(2).is_err());
        assert!(t.inclusion_proof(1, 1).is_err());
        assert!(t.consistency_proof(0, 1).is_err());
        assert!(t.consistency_proof(1, 2).is_err());
        assert_eq!(t.consistency_proof(1, 1), Ok(vec![]));
    }

    fn hex(h: &[u8]) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }
}
