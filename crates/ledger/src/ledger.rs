//! The ledger: a store plus the in-memory tree, with a group-commit sequencer.
//!
//! Writers hand sealed entries to one sequencer thread over a channel. The thread takes
//! everything queued, appends it in one store transaction (one fsync), then answers each
//! writer with its index. So an index is returned only once durable, and many concurrent
//! writers share one sync.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::compact::{self, CompactTree, WithBlocks, BLOCK};
use crate::entry::{EntryError, Event, EventKind, NewEntry, PrivateRecord};
use crate::merkle::{leaf_hash, Hash, TreeError};
use crate::store::{LedgerStore, StoreError};
use crate::tiles::{self, ExportSummary, TileSource, TilesError};

/// Most entries committed in one transaction.
const MAX_BATCH: usize = 4096;
/// Leaves read per query when loading the tree.
const LOAD_CHUNK: u64 = 50_000;
/// Block roots read or written per query.
const ROOTS_CHUNK: u64 = 50_000;
/// New complete blocks (of 32 entries) that the sequencer lets build up before it stores
/// their roots: one small write per 32,768 entries, off the appends' path, and at most that
/// many leaves for the next open to hash.
const PERSIST_EVERY: u64 = 1024;

/// Errors from the ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The event was refused.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A size or index outside the tree.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The batch holding this entry failed to commit; nothing of it was acknowledged.
    #[error("the append failed and was not recorded: {0}")]
    AppendFailed(String),
    /// Writing tiles failed.
    #[error(transparent)]
    Tiles(#[from] TilesError),
    /// The sequencer has stopped.
    #[error("the ledger is closed")]
    Closed,
}

/// Called once, on the sequencer thread, with an entry's durable index or why it was not
/// recorded. It must not block: it hands the answer on (to a channel, a future).
pub type AppendDone = Box<dyn FnOnce(Result<u64, LedgerError>) + Send>;

/// Why [`Ledger::try_submit`] did not queue an entry.
pub enum SubmitRefused {
    /// The queue is full: the entry and its callback, to submit again (e.g. with
    /// [`Ledger::submit`] from a thread that may wait).
    Full(NewEntry, AppendDone),
    /// The sequencer has stopped.
    Closed,
}

struct Request {
    entry: NewEntry,
    done: AppendDone,
}

struct Inner {
    store: Box<dyn LedgerStore>,
    tree: CompactTree,
    /// Complete blocks whose roots are in the store.
    persisted_blocks: u64,
}

/// Leaf hashes of a range of entries, read from the store.
type BlockReader<'a> = Box<dyn FnMut(std::ops::Range<u64>) -> Result<Vec<Hash>, LedgerError> + 'a>;

impl Inner {
    /// The tree, able to read the leaves of its complete blocks from the store.
    fn query(&mut self) -> WithBlocks<'_, BlockReader<'_>> {
        let Inner { store, tree, .. } = self;
        tree.with_blocks(Box::new(move |range| {
            Ok(stored_leaf_hashes(store.as_mut(), range)?)
        }))
    }

    /// Reads leaves other processes appended since we last looked.
    fn catch_up(&mut self, upto: u64) -> Result<(), LedgerError> {
        while self.tree.len() < upto {
            let start = self.tree.len();
            let end = upto.min(start + LOAD_CHUNK);
            for leaf in self.store.leaves(start, end)? {
                self.tree.push(leaf_hash(&leaf));
            }
        }
        Ok(())
    }

    /// Starts the tree from the block roots stored by an earlier open, as far as they go
    /// below `blocks`. The last one is checked against its leaves, so a cache that is not
    /// this ledger's is refused rather than used.
    fn load_block_roots(&mut self, blocks: u64) -> Result<(), LedgerError> {
        let mut roots = Vec::new();
        while (roots.len() as u64) < blocks {
            let start = roots.len() as u64;
            let end = blocks.min(start + ROOTS_CHUNK);
            let chunk = self.store.block_roots(start, end)?;
            let complete = chunk.len() as u64 == end - start;
            roots.extend(chunk);
            if !complete {
                break;
            }
        }
        if let Some(last) = roots.last() {
            let block = roots.len() as u64 - 1;
            let hashes =
                stored_leaf_hashes(self.store.as_mut(), block * BLOCK..(block + 1) * BLOCK)?;
            if compact::block_root(&hashes) != *last {
                return Err(StoreError::Corrupt(format!(
                    "the stored root of block {block} does not match its leaves \
                     (emptying the ledger_blocks table makes the next open rebuild it)"
                ))
                .into());
            }
        }
        self.tree = CompactTree::from_block_roots(&roots);
        self.persisted_blocks = roots.len() as u64;
        Ok(())
    }

    /// Stores the roots of complete blocks not yet stored, once there are at least
    /// `at_least`. They are a cache: if the store refuses them now, a later call retries.
    fn persist_blocks(&mut self, at_least: u64) {
        let complete = self.tree.complete_blocks();
        if complete.saturating_sub(self.persisted_blocks) < at_least.max(1) {
            return;
        }
        while self.persisted_blocks < complete {
            let start = self.persisted_blocks;
            let end = complete.min(start + ROOTS_CHUNK);
            let Some(roots) = self.tree.block_roots(start, end) else {
                return;
            };
            if self.store.put_block_roots(start, roots).is_err() {
                return;
            }
            self.persisted_blocks = end;
        }
    }

    fn append(&mut self, entries: &[NewEntry]) -> Result<u64, LedgerError> {
        let start = self.store.append(entries)?;
        self.catch_up(start)?;
        for e in entries {
            self.tree.push(leaf_hash(&e.leaf));
        }
        Ok(start)
    }
}

/// The leaf hashes of the stored entries in `range`.
fn stored_leaf_hashes(
    store: &mut dyn LedgerStore,
    range: std::ops::Range<u64>,
) -> Result<Vec<Hash>, StoreError> {
    let leaves = store.leaves(range.start, range.end)?;
    Ok(leaves.iter().map(|l| leaf_hash(l)).collect())
}

/// An open ledger. Cheap to share between threads by reference.
pub struct Ledger {
    inner: Arc<Mutex<Inner>>,
    queue: Option<SyncSender<Request>>,
    sequencer: Option<JoinHandle<()>>,
}

impl Ledger {
    /// Opens a ledger over `store`: the tree from the stored block roots, then the leaves
    /// after them (all the leaves, the first time).
    pub fn open(store: Box<dyn LedgerStore>) -> Result<Self, LedgerError> {
        let mut inner = Inner {
            store,
            tree: CompactTree::default(),
            persisted_blocks: 0,
        };
        let size = inner.store.size()?;
        inner.load_block_roots(size / BLOCK)?;
        inner.catch_up(size)?;
        inner.persist_blocks(1);
        let inner = Arc::new(Mutex::new(inner));
        let (queue, requests) = mpsc::sync_channel(MAX_BATCH * 4);
        let shared = Arc::clone(&inner);
        let sequencer = std::thread::Builder::new()
            .name("ledger-sequencer".into())
            .spawn(move || sequence(&shared, &requests))
            .map_err(|e| LedgerError::AppendFailed(format!("cannot start the sequencer: {e}")))?;
        Ok(Self {
            inner,
            queue: Some(queue),
            sequencer: Some(sequencer),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the tree half-updated in a way we could repair,
        // but the store is transactional, so keep serving what is there.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Logs `event` and returns its index once it is durable (log before act).
    pub fn append(&self, event: &Event) -> Result<u64, LedgerError> {
        self.append_sealed(event.seal()?)
    }

    /// Appends an already sealed entry; returns its durable index.
    pub fn append_sealed(&self, entry: NewEntry) -> Result<u64, LedgerError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(
            entry,
            Box::new(move |result| {
                let _ = reply.send(result);
            }),
        )?;
        answer.recv().map_err(|_| LedgerError::Closed)?
    }

    /// Queues `entry` for the next group commit, waiting while the queue is full, and
    /// returns; the sequencer calls `done` once the entry is durable (or refused).
    pub fn submit(&self, entry: NewEntry, done: AppendDone) -> Result<(), LedgerError> {
        let queue = self.queue.as_ref().ok_or(LedgerError::Closed)?;
        queue
            .send(Request { entry, done })
            .map_err(|_| LedgerError::Closed)
    }

    /// Queues `entry` without ever waiting, for callers whose thread must not block (an
    /// async task completes a future in `done`, so no thread sits waiting for the sync).
    pub fn try_submit(&self, entry: NewEntry, done: AppendDone) -> Result<(), SubmitRefused> {
        let queue = self.queue.as_ref().ok_or(SubmitRefused::Closed)?;
        queue
            .try_send(Request { entry, done })
            .map_err(|e| match e {
                mpsc::TrySendError::Full(r) => SubmitRefused::Full(r.entry, r.done),
                mpsc::TrySendError::Disconnected(_) => SubmitRefused::Closed,
            })
    }

    /// Erases the private record of entry `index` (details and nonce) and logs an erasure
    /// event under `provision`; returns the erasure's index. The public leaf stays.
    pub fn erase(&self, index: u64, provision: &str, time: u64) -> Result<u64, LedgerError> {
        let event = Event {
            kind: EventKind::Erasure,
            time,
            provision: provision.to_owned(),
            refers_to: Some(index),
            details: None,
        };
        let sealed = event.seal()?;
        let mut inner = self.lock();
        if index >= inner.tree.len() {
            inner.catch_up_to_store()?;
        }
        let (at, scrub) = match inner.store.erase(index, &sealed) {
            Ok(at) => (at, Ok(at)),
            // Committed all the same: the tree must take the erasure event.
            Err(e @ StoreError::ScrubIncomplete { erasure_index }) => {
                (erasure_index, Err(e.into()))
            }
            Err(e) => return Err(e.into()),
        };
        inner.catch_up(at)?;
        inner.tree.push(leaf_hash(&sealed.leaf));
        scrub
    }

    /// Picks up entries appended by other processes sharing the store.
    pub fn refresh(&self) -> Result<u64, LedgerError> {
        let mut inner = self.lock();
        inner.catch_up_to_store()?;
        Ok(inner.tree.len())
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.lock().tree.len()
    }

    /// Root hash of the tree at `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        self.lock().query().root_at(size)
    }

    /// Size and root of the current tree, read together.
    pub fn head(&self) -> (u64, Hash) {
        let inner = self.lock();
        (inner.tree.len(), inner.tree.root())
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        self.lock().query().inclusion_proof(index, size)
    }

    /// Consistency proof from `old` to `new` entries.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LedgerError> {
        self.lock().query().consistency_proof(old, new)
    }

    /// Public leaves `start..end`.
    pub fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LedgerError> {
        Ok(self.lock().store.leaves(start, end)?)
    }

    /// The private record of entry `index`, unless erased.
    pub fn private_record(&self, index: u64) -> Result<Option<PrivateRecord>, LedgerError> {
        Ok(self.lock().store.private_record(index)?)
    }

    /// Writes the tiles, entry bundles and `checkpoint` for the first `size` entries to `dir`.
    /// The lock is taken per tile, so appends go on while a large log is exported.
    pub fn export_tiles(
        &self,
        dir: &Path,
        size: u64,
        checkpoint: &[u8],
    ) -> Result<ExportSummary, LedgerError> {
        self.lock().query().root_at(size)?;
        let mut source = LockedSource {
            ledger: self,
            store_error: None,
        };
        let result = tiles::export(dir, &mut source, size, checkpoint);
        match (result, source.store_error) {
            (_, Some(e)) => Err(e.into()),
            (r, None) => Ok(r?),
        }
    }

    /// Stores a signed checkpoint (or its cosigned replacement).
    pub fn put_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), LedgerError> {
        Ok(self.lock().store.put_checkpoint(size, note)?)
    }

    /// The latest stored checkpoint.
    pub fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.lock().store.latest_checkpoint()?)
    }
}

impl Inner {
    fn catch_up_to_store(&mut self) -> Result<(), LedgerError> {
        let size = self.store.size()?;
        self.catch_up(size)
    }
}

/// Reads tile data from the ledger, holding its lock only for each call. Entries below the
/// exported size never change, so the tiles are consistent even while appends go on.
struct LockedSource<'a> {
    ledger: &'a Ledger,
    store_error: Option<StoreError>,
}

impl TileSource for LockedSource<'_> {
    fn hashes(&mut self, height: usize, start: u64, end: u64) -> Result<Vec<Hash>, TilesError> {
        let found = self.ledger.lock().query().level(height, start, end);
        found.map_err(|e| match e {
            LedgerError::Store(e) => self.keep(e),
            other => tiles_error(other.to_string()),
        })
    }

    fn leaves(&mut self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, TilesError> {
        let found = self.ledger.lock().store.leaves(start, end);
        found.map_err(|e| self.keep(e))
    }
}

impl LockedSource<'_> {
    /// Keeps the store's error to report as such once the export stops.
    fn keep(&mut self, e: StoreError) -> TilesError {
        let error = tiles_error(e.to_string());
        self.store_error = Some(e);
        error
    }
}

fn tiles_error(message: String) -> TilesError {
    TilesError::Io {
        path: "ledger store".into(),
        source: std::io::Error::other(message),
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.queue = None;
        if let Some(handle) = self.sequencer.take() {
            let _ = handle.join();
        }
    }
}

fn sequence(inner: &Mutex<Inner>, requests: &Receiver<Request>) {
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let (entries, callbacks): (Vec<NewEntry>, Vec<AppendDone>) =
            batch.into_iter().map(|r| (r.entry, r.done)).unzip();
        let result = inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(&entries);
        for (i, done) in callbacks.into_iter().enumerate() {
            done(match &result {
                Ok(start) => Ok(start + i as u64),
                Err(e) => Err(LedgerError::AppendFailed(e.to_string())),
            });
        }
        // After the answers, so that no append waits for it.
        inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .persist_blocks(PERSIST_EVERY);
    }
}
