//! The audit log: append, read, prove, checkpoint; in memory or on disk.
//!
//! # Durability and group commit
//!
//! A file-backed append is acknowledged (returns `Ok`) only after an fsync
//! that covers its frame. Appenders share fsyncs (leader/follower group
//! commit):
//!
//! 1. Under the state lock, an appender assigns the next sequence number,
//!    writes its frame to the file (so frames land in sequence order) and
//!    remembers the record as *written*.
//! 2. It then waits until the *durable* count passes its record. If no fsync
//!    is running it becomes the leader: it notes how many records are
//!    written, releases the lock, fsyncs, re-takes the lock, raises the
//!    durable count to what it noted and wakes everyone. Appenders that wrote
//!    while the leader was in fsync are covered by the next leader's single
//!    fsync: under load one fsync acknowledges a whole group.
//!
//! Readers (`records`, `head`, proofs, checkpoints) see durable records only.
//!
//! # Shared stores
//!
//! An [`AuditStore`] may be shared by several logs in several processes (a
//! replicated stream). Such a store accepts the frame of record `seq` only
//! while it holds exactly `seq` records, so two writers can never fork the
//! chain: the one that comes second is [`Refused`](Write::Refused), reads and
//! verifies the records it missed, *adopts* them, and chains its entry again
//! after them. [`AuditLog::catch_up`] adopts without appending.
//!
//! # Failure
//!
//! A failed write or fsync *fails the log*: that append and every later one
//! return [`Io`](ErrorKind::Io), and fsync is never retried (after a failed
//! fsync the kernel may have dropped the dirty pages, so a retry that
//! succeeds would prove nothing). Reopen the file to recover. As in any
//! database, an append that returned an error may still be found in the file
//! after reopening; one that returned `Ok` always is.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::bundle::TlogProof;
use super::checkpoint::Checkpoint;
use super::file;
use super::hasher::TreeHash;
use super::merkle::MerkleTree;
use super::note::CheckpointSigner;
use super::proof::{ConsistencyProof, InclusionProof};
use super::record::{AuditEntry, AuditRecord};
use super::store::{AuditStore, Write};
use super::tiles::{self, Tile, TileKind};
use super::verify::{TreeHead, check_next, tampered, verify_records};
use crate::error::{Error, ErrorKind, Result};

/// How long a writer keeps adopting other writers' records and trying again
/// against a shared store before it gives up with
/// [`Conflict`](ErrorKind::Conflict). A time, not a count of rounds: under
/// load every round is slower, and a writer must not give up only because
/// the machine is busy.
const CONTENTION_BUDGET: Duration = Duration::from_secs(30);

/// The retries of one write against a shared store whose other writers keep
/// appending first.
pub(crate) struct Contention {
    round: u32,
    since: Instant,
}

impl Contention {
    pub(crate) fn new() -> Contention {
        Contention { round: 0, since: Instant::now() }
    }

    /// Waits before the next attempt ([`back_off`]); `false`, at once, when
    /// the budget is spent.
    pub(crate) fn wait(&mut self) -> bool {
        if self.since.elapsed() >= CONTENTION_BUDGET {
            return false;
        }
        back_off(self.round);
        self.round = self.round.saturating_add(1);
        true
    }
}

/// Waits before attempt `round + 1` against a shared store, so that writers
/// refused together do not collide again at once: 100 µs doubling per round,
/// at most 50 ms, with jitter of ±50 %.
fn back_off(round: u32) {
    let base = Duration::from_micros(100).saturating_mul(1 << round.min(16)).min(Duration::from_millis(50));
    // Jitter from the clock's low bits: spreads writers, needs no randomness source.
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    std::thread::sleep(base / 2 + base.mul_f64(f64::from(nanos % 1000) / 1000.0));
}

/// What one attempt to append did.
enum Attempt {
    /// The entry is now this record.
    Appended(Arc<AuditRecord>),
    /// The log was not at the expected size, or the store held records the
    /// log had not seen (now adopted): nothing was written.
    Behind,
}

/// An append-only, hash-chained, Merkle-tree audit log.
///
/// Thread-safe: every method takes `&self`; share it in an `Arc`.
///
/// ```
/// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog};
/// use fleetgov::Role;
/// let log = AuditLog::in_memory();
/// let entry = AuditEntry::new(1_700_000_000_000, "alice", Role::Operator, AuditAction::ForceSyncNode, "gw-1")
///     .justification("Emergency disaster recovery")
///     .payload(&b"{\"node\":\"gw-1\"}"[..]);
/// let record = log.append(entry).unwrap();
/// assert_eq!((record.seq, log.size()), (0, 1));
/// assert_eq!(log.head().root, record.leaf_hash()); // a one-leaf tree's root is its leaf
/// ```
pub struct AuditLog {
    /// Records appended from now on are stamped at this time or later (see [`seal`](Self::seal)).
    floor_ms: AtomicU64,
    state: Mutex<State>,
    synced: Condvar,
    store: Option<Box<dyn AuditStore>>,
}

#[derive(Default)]
struct State {
    /// Every written record, in order.
    records: Vec<Arc<AuditRecord>>,
    tree: MerkleTree,
    /// `records[..durable]` are acknowledged; only they are visible.
    durable: usize,
    /// A leader is in fsync.
    syncing: bool,
    /// Why the log failed, if it did.
    failure: Option<String>,
}

impl State {
    /// Record `seq`'s place in the chain: the leaf hash of the record before it.
    fn prev_hash(&self, seq: u64) -> TreeHash {
        seq.checked_sub(1).and_then(|p| self.tree.leaf_hash(p)).unwrap_or_default()
    }

    fn push(&mut self, record: Arc<AuditRecord>) {
        self.tree.push_leaf_hash(record.leaf_hash());
        self.records.push(record);
    }

    fn fail(&mut self, why: String) -> Error {
        let error = failed(&why);
        self.failure.get_or_insert(why);
        error
    }

    fn durable_size(&self) -> u64 {
        self.durable as u64
    }
}

fn failed(why: &str) -> Error {
    Error::new(ErrorKind::Io, format!("the audit log failed and accepts no more appends: {why}"))
}

impl AuditLog {
    /// Fixes the log up to `t_ms`: a record appended later is stamped after
    /// `t_ms` even when its entry names an earlier time, so
    /// [`head_at(t)`](Self::head_at) for any `t <= t_ms` never changes again.
    /// The engine seals a time when it answers or signs a statement about it.
    pub fn seal(&self, t_ms: u64) {
        // Relaxed: a monotone floor; an append racing the seal is ordered by
        // the state lock in which it reads the floor (the answer that sealed
        // reads the log after this store, under the same lock).
        self.floor_ms.fetch_max(t_ms.saturating_add(1), Ordering::Relaxed);
    }

    /// The earliest time a record appended now can carry.
    pub fn not_before(&self) -> u64 {
        // Relaxed: see `seal`.
        self.floor_ms.load(Ordering::Relaxed)
    }

    /// A log kept in memory only: appends are acknowledged at once and are
    /// gone when the log is dropped.
    pub fn in_memory() -> Self {
        AuditLog { floor_ms: AtomicU64::new(0), state: Mutex::default(), synced: Condvar::new(), store: None }
    }

    /// Opens the file-backed log at `path`, creating it (and making its
    /// directory entry durable) if needed.
    ///
    /// Recovery: a torn tail (an append cut short by a crash, never
    /// acknowledged) is cut off; a corrupt or inconsistent record anywhere
    /// refuses the file with [`AuditTampered`](ErrorKind::AuditTampered)
    /// naming it; a file that is not an audit log is
    /// [`InvalidInput`](ErrorKind::InvalidInput). The file is locked while
    /// open: a second open, in this or another process, is
    /// [`Conflict`](ErrorKind::Conflict).
    ///
    /// ```
    /// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog};
    /// use fleetgov::Role;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("audit.log");
    /// let log = AuditLog::open(&path).unwrap();
    /// log.append(AuditEntry::new(1, "alice", Role::Admin, AuditAction::Publish, "eks-prod-us")).unwrap();
    /// let head = log.head();
    /// drop(log);
    /// let reopened = AuditLog::open(&path).unwrap();
    /// assert_eq!(reopened.head(), head);
    /// assert_eq!(reopened.records()[0].target, "eks-prod-us");
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let (log_file, scan) = file::open(path.as_ref())?;
        let records: Vec<_> = scan.records.into_iter().map(Arc::new).collect();
        let state =
            State { durable: records.len(), records, tree: scan.chain.into_tree(), syncing: false, failure: None };
        Ok(Self::with_state(state, Box::new(log_file)))
    }

    /// A log over `store`, which may be shared with other writers: every
    /// record the store holds is read and verified (a bad one refuses the
    /// store with [`AuditTampered`](ErrorKind::AuditTampered) naming it).
    /// See [`AuditStore`] for an example.
    pub fn with_store(store: Box<dyn AuditStore>) -> Result<Self> {
        let log = Self::with_state(State::default(), store);
        log.catch_up()?;
        Ok(log)
    }

    fn with_state(state: State, store: Box<dyn AuditStore>) -> Self {
        AuditLog { floor_ms: AtomicU64::new(0), state: Mutex::new(state), synced: Condvar::new(), store: Some(store) }
    }

    /// Whether appends are written to a store (a file or a shared store).
    pub fn is_durable(&self) -> bool {
        self.store.is_some()
    }

    /// Appends `entry` and returns the record it became (sequence number and
    /// hashes filled in), once it is durable. Over a shared store, records
    /// other writers appended first are adopted and the entry is chained after
    /// them.
    ///
    /// Errors: an invalid entry ([`AuditEntry::validate`]) changes nothing;
    /// a failed write or fsync, now or earlier, is [`Io`](ErrorKind::Io); a
    /// shared store whose other writers kept appending first for 30 s is
    /// [`Conflict`](ErrorKind::Conflict).
    pub fn append(&self, entry: AuditEntry) -> Result<Arc<AuditRecord>> {
        entry.validate()?;
        let mut contention = Contention::new();
        loop {
            if let Attempt::Appended(record) = self.attempt(&entry, None)? {
                return Ok(record);
            }
            if !contention.wait() {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "the shared audit store's other writers kept appending first for 30 s; gave up",
                ));
            }
        }
    }

    /// Appends `entry` only as record `expected` (the log's size when the
    /// caller checked the change it describes); `None` when the log holds
    /// more records by now, adopted from the store or appended by another
    /// thread: nothing was written, and the caller checks its change again.
    pub(crate) fn append_at(&self, entry: AuditEntry, expected: u64) -> Result<Option<Arc<AuditRecord>>> {
        entry.validate()?;
        Ok(match self.attempt(&entry, Some(expected))? {
            Attempt::Appended(record) => Some(record),
            Attempt::Behind => None,
        })
    }

    fn attempt(&self, entry: &AuditEntry, expected: Option<u64>) -> Result<Attempt> {
        let mut state = self.state.lock();
        if let Some(why) = &state.failure {
            return Err(failed(why));
        }
        let seq = state.records.len() as u64;
        if expected.is_some_and(|e| e != seq) {
            return Ok(Attempt::Behind);
        }
        let mut entry = entry.clone();
        entry.time_ms = entry.time_ms.max(self.not_before());
        let record = Arc::new(AuditRecord::chain(entry, seq, state.prev_hash(seq)));
        let Some(store) = self.store.as_deref() else {
            state.push(Arc::clone(&record));
            state.durable = state.records.len();
            return Ok(Attempt::Appended(record));
        };
        match store.write(seq, &record.to_frame()) {
            Ok(Write::Written) => {}
            Ok(Write::Refused) => {
                Self::adopt(&mut state, store)?;
                return Ok(Attempt::Behind);
            }
            Ok(Write::Unknown) => {
                Self::adopt(&mut state, store)?;
                // The write may have landed after all: then the store's record
                // `seq` is this very record (same fields, same place in the chain).
                let landed = state.records.get(seq as usize).filter(|r| r.leaf_hash() == record.leaf_hash());
                return Ok(landed.map_or(Attempt::Behind, |r| Attempt::Appended(Arc::clone(r))));
            }
            Err(e) => return Err(state.fail(format!("write: {}", e.message()))),
        }
        state.push(Arc::clone(&record));
        self.wait_durable(state, store, seq)?;
        Ok(Attempt::Appended(record))
    }

    /// Reads, verifies and adopts the records the store holds beyond this
    /// log's; returns how many. A private store (a file) holds none.
    ///
    /// Errors: a record that does not continue the chain is
    /// [`AuditTampered`](ErrorKind::AuditTampered) and nothing is adopted
    /// from it on; the store's read error is passed on. Neither fails the log.
    pub fn catch_up(&self) -> Result<u64> {
        let Some(store) = self.store.as_deref() else {
            return Ok(0);
        };
        Self::adopt(&mut self.state.lock(), store)
    }

    /// Adopts the store's records beyond `state`'s: they are durable there.
    fn adopt(state: &mut State, store: &dyn AuditStore) -> Result<u64> {
        let from = state.records.len() as u64;
        let frames = store.read_from(from)?;
        for (seq, frame) in (from..).zip(&frames) {
            let record = AuditRecord::from_frame(frame).map_err(|e| tampered(seq, e.message().to_owned()))?;
            check_next(&state.tree, &record)?;
            state.push(Arc::new(record));
            state.durable = state.records.len();
        }
        Ok(frames.len() as u64)
    }

    /// Group commit: returns once record `seq` is durable (leading an fsync
    /// if none is running), or the log has failed.
    fn wait_durable(&self, mut state: MutexGuard<'_, State>, store: &dyn AuditStore, seq: u64) -> Result<()> {
        loop {
            if state.durable_size() > seq {
                return Ok(());
            }
            if let Some(why) = &state.failure {
                return Err(failed(why));
            }
            if state.syncing {
                self.synced.wait(&mut state);
                continue;
            }
            state.syncing = true;
            let covered = state.records.len();
            let result = MutexGuard::unlocked(&mut state, || store.sync());
            state.syncing = false;
            match result {
                Ok(()) => state.durable = covered,
                Err(e) => {
                    state.fail(format!("fsync: {}", e.message()));
                }
            }
            self.synced.notify_all();
        }
    }

    /// The error every append now returns, if the log has failed.
    pub fn failure(&self) -> Option<Error> {
        self.state.lock().failure.as_deref().map(failed)
    }

    /// The number of acknowledged records.
    pub fn size(&self) -> u64 {
        self.state.lock().durable_size()
    }

    /// Size and Merkle root of the acknowledged records.
    pub fn head(&self) -> TreeHead {
        let state = self.state.lock();
        let size = state.durable_size();
        TreeHead { size, root: state.tree.prefix_root(size) }
    }

    /// The root when the log held `size` records.
    pub fn root_at(&self, size: u64) -> Result<TreeHash> {
        let state = self.state.lock();
        check_size(&state, size)?;
        state.tree.root_at(size)
    }

    /// Size and root of the log as it stood at `t_ms`: the longest prefix
    /// of records stamped at or before `t_ms` (the first record stamped
    /// later ends it). The same `t_ms` gives the same head once the log has
    /// a record stamped later.
    pub fn head_at(&self, t_ms: u64) -> Result<TreeHead> {
        const CHUNK: usize = 4096;
        let mut size = 0u64;
        // Scan copies of the records in chunks, outside the state lock.
        loop {
            let chunk = self.records_from(size, CHUNK);
            let before = chunk.iter().take_while(|r| r.time_ms <= t_ms).count();
            size += before as u64;
            if before < CHUNK {
                break;
            }
        }
        Ok(TreeHead { size, root: self.root_at(size)? })
    }

    /// Record `seq` ([`NotFound`](ErrorKind::NotFound) past the end).
    pub fn record(&self, seq: u64) -> Result<Arc<AuditRecord>> {
        let state = self.state.lock();
        usize::try_from(seq)
            .ok()
            .and_then(|i| state.records[..state.durable].get(i))
            .cloned()
            .ok_or_else(|| Error::not_found(format!("audit record {seq}")))
    }

    /// Every acknowledged record, in order (for replay and listing).
    pub fn records(&self) -> Vec<Arc<AuditRecord>> {
        self.records_from(0, usize::MAX)
    }

    /// Up to `limit` acknowledged records starting at `from`.
    pub fn records_from(&self, from: u64, limit: usize) -> Vec<Arc<AuditRecord>> {
        let state = self.state.lock();
        let visible = &state.records[..state.durable];
        let start = usize::try_from(from).unwrap_or(usize::MAX).min(visible.len());
        visible[start..].iter().take(limit).cloned().collect()
    }

    /// Proof that record `seq` is in the log of `size` records.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<InclusionProof> {
        let state = self.state.lock();
        check_size(&state, size)?;
        Ok(InclusionProof { leaf_index: seq, tree_size: size, path: state.tree.inclusion_path(seq, size)? })
    }

    /// Proof that the log of `old_size` records is a prefix of the log of
    /// `new_size` records.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof> {
        let state = self.state.lock();
        check_size(&state, new_size)?;
        Ok(ConsistencyProof { old_size, new_size, path: state.tree.consistency_path(old_size, new_size)? })
    }

    /// The bytes of a C2SP `tlog-tiles` hash tile or entry bundle of the
    /// acknowledged records (see [`Tile`]). A tile the log does not hold yet
    /// (beyond its size) is [`NotFound`](ErrorKind::NotFound). The content
    /// of a tile never changes once it exists.
    ///
    /// ```
    /// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, Tile};
    /// use fleetgov::{ErrorKind, Role};
    /// let log = AuditLog::in_memory();
    /// log.append(AuditEntry::new(1, "alice", Role::Admin, AuditAction::Publish, "eks-prod-us")).unwrap();
    /// let leaves = log.tile(&"tile/0/000.p/1".parse::<Tile>().unwrap()).unwrap();
    /// assert_eq!(leaves, log.head().root.0); // one leaf: the root
    /// let bundle = log.tile(&"tile/entries/000.p/1".parse().unwrap()).unwrap();
    /// assert_eq!(&bundle[2..], &log.record(0).unwrap().encode()[..]);
    /// assert_eq!(log.tile(&"tile/0/000.p/2".parse().unwrap()).unwrap_err().kind(), ErrorKind::NotFound);
    /// ```
    pub fn tile(&self, tile: &Tile) -> Result<Vec<u8>> {
        let records = {
            let state = self.state.lock();
            match tile.kind {
                TileKind::Hashes(_) => return tiles::hash_tile(&state.tree, state.durable_size(), tile),
                TileKind::Entries => tiles::bundle_records(&state.records[..state.durable], tile)?,
            }
        };
        // Encoded after the lock: up to 256 entries.
        Ok(tiles::entry_bundle(&records))
    }

    /// A C2SP `tlog-proof@v1` bundle for record `seq`: its inclusion path in
    /// the current log and the checkpoint of that size, signed by `signer`.
    /// See [`TlogProof`] for an example. A record the log does not hold is
    /// [`NotFound`](ErrorKind::NotFound).
    pub fn tlog_proof(&self, seq: u64, signer: &CheckpointSigner) -> Result<TlogProof> {
        let (head, path) = {
            let state = self.state.lock();
            let size = state.durable_size();
            if seq >= size {
                return Err(Error::not_found(format!("audit record {seq}")));
            }
            (TreeHead { size, root: state.tree.prefix_root(size) }, state.tree.inclusion_path(seq, size)?)
        };
        // Signed after the lock.
        let checkpoint = Checkpoint::new(signer.name(), head).sign(signer)?;
        Ok(TlogProof { index: seq, path, checkpoint })
    }

    /// The current head as a checkpoint signed by `signer` (whose name is
    /// the origin): the text to publish.
    pub fn checkpoint(&self, signer: &CheckpointSigner) -> Result<String> {
        Checkpoint::new(signer.name(), self.head()).sign(signer)
    }

    /// Checks that this log extends `checkpoint` (a checkpoint it signed
    /// earlier): it holds the checkpoint's records with the same root.
    pub fn check_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        let state = self.state.lock();
        checkpoint.check_prefix_of(&state.tree, state.durable_size())
    }

    /// Re-verifies every acknowledged record (sequence, chain, payload
    /// hashes) and the Merkle tree built from them; returns the head.
    pub fn verify(&self) -> Result<TreeHead> {
        let records = self.records();
        let head = verify_records(records.iter().map(|r| &**r))?;
        let root = self.root_at(head.size)?;
        if root != head.root {
            return Err(Error::new(ErrorKind::AuditTampered, "the audit log's tree does not match its records"));
        }
        Ok(head)
    }
}

fn check_size(state: &State, size: u64) -> Result<()> {
    if size > state.durable_size() {
        return Err(Error::invalid(format!("tree size {size} exceeds the log's size {}", state.durable_size())));
    }
    Ok(())
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("durable", &self.is_durable()).field("head", &self.head()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;
    use crate::Role;
    use crate::governance::audit::record::AuditAction;

    fn entry(t: u64) -> AuditEntry {
        AuditEntry::new(t, "alice", Role::Operator, AuditAction::Publish, "eks-prod-us")
            .payload(t.to_string().into_bytes())
    }

    /// Storage that fails on demand and whose fsync can be held closed until
    /// enough frames were written.
    #[derive(Default)]
    struct Scripted {
        appends: AtomicUsize,
        syncs: AtomicUsize,
        fail_append: Option<usize>,
        fail_sync: Option<usize>,
        /// The first fsync waits until this many frames were written.
        first_sync_waits_for: usize,
        gate: (Mutex<()>, Condvar),
    }

    impl AuditStore for Arc<Scripted> {
        fn write(&self, _seq: u64, _frame: &[u8]) -> Result<Write> {
            let n = {
                // Under the gate's mutex, so a waiting fsync cannot miss the wake-up.
                let _gate = self.gate.0.lock();
                self.gate.1.notify_all();
                self.appends.fetch_add(1, SeqCst)
            };
            if self.fail_append == Some(n) {
                return Err(Error::new(ErrorKind::Io, "disk full"));
            }
            Ok(Write::Written)
        }

        fn sync(&self) -> Result<()> {
            let n = self.syncs.fetch_add(1, SeqCst);
            if n == 0 {
                let mut g = self.gate.0.lock();
                while self.appends.load(SeqCst) < self.first_sync_waits_for {
                    self.gate.1.wait(&mut g);
                }
            }
            if self.fail_sync == Some(n) {
                return Err(Error::new(ErrorKind::Io, "EIO"));
            }
            Ok(())
        }

        fn read_from(&self, _from: u64) -> Result<Vec<Vec<u8>>> {
            Ok(Vec::new())
        }
    }

    fn scripted(s: Scripted) -> (Arc<Scripted>, AuditLog) {
        let s = Arc::new(s);
        (Arc::clone(&s), AuditLog::with_state(State::default(), Box::new(Arc::clone(&s))))
    }

    #[test]
    fn the_head_at_a_moment_is_the_prefix_stamped_up_to_it() {
        let log = AuditLog::in_memory();
        // More than one scan chunk, then a record stamped out of order.
        for t in 0..5_000 {
            log.append(entry(t)).unwrap();
        }
        for t in [6_000, 5_500, 7_000] {
            log.append(entry(t)).unwrap();
        }
        let at = |t| log.head_at(t).unwrap();
        assert_eq!(at(0), TreeHead { size: 1, root: log.root_at(1).unwrap() });
        assert_eq!(at(4_999).size, 5_000);
        assert_eq!(at(5_999).size, 5_000, "6_000 ends the prefix");
        assert_eq!(at(6_000).size, 5_002, "5_500 follows 6_000");
        assert_eq!(at(u64::MAX), log.head());
        let empty = AuditLog::in_memory();
        assert_eq!(empty.head_at(1).unwrap(), empty.head());
    }

    #[test]
    fn a_sealed_moment_keeps_its_head_whatever_is_appended_later() {
        let log = AuditLog::in_memory();
        log.append(entry(10)).unwrap();
        log.seal(20);
        let head = log.head_at(20).unwrap();
        let late = log.append(entry(15)).unwrap();
        assert_eq!((late.time_ms, log.head_at(20).unwrap()), (21, head), "stamped after the sealed time");
        assert_eq!(log.append(entry(30)).unwrap().time_ms, 30, "later times are kept");
    }

    #[test]
    fn records_chain_and_the_tree_grows() {
        let log = AuditLog::in_memory();
        let a = log.append(entry(1)).unwrap();
        let b = log.append(entry(2)).unwrap();
        assert_eq!((a.seq, b.seq), (0, 1));
        assert_eq!(a.prev_hash, TreeHash::default());
        assert_eq!(b.prev_hash, a.leaf_hash());
        assert_eq!(log.verify().unwrap(), log.head());
        assert_eq!(log.records_from(1, 10).len(), 1);
        assert_eq!(log.records_from(5, 10).len(), 0);
        assert_eq!(log.record(2).unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(log.inclusion_proof(0, 3).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(log.consistency_proof(1, 3).unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn an_invalid_entry_changes_nothing() {
        let log = AuditLog::in_memory();
        log.append(entry(1)).unwrap();
        let head = log.head();
        let e = log.append(AuditEntry { action: AuditAction::GlobalOverwrite, ..entry(2) }).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::JustificationRequired);
        assert_eq!(log.head(), head);
        assert!(log.failure().is_none());
    }

    #[test]
    fn one_fsync_acknowledges_a_whole_group() {
        const WRITERS: usize = 8;
        let (s, log) = scripted(Scripted { first_sync_waits_for: WRITERS, ..Scripted::default() });
        std::thread::scope(|scope| {
            for t in 0..WRITERS {
                let log = &log;
                scope.spawn(move || log.append(entry(t as u64)).unwrap());
            }
        });
        // The first leader's fsync covered its own frame; it was held until
        // every writer had written, so the next leader's one fsync covered
        // all the others.
        assert_eq!(s.syncs.load(SeqCst), 2);
        assert_eq!(log.size(), WRITERS as u64);
        log.verify().unwrap();
    }

    #[test]
    fn records_are_invisible_until_durable() {
        let (s, log) = scripted(Scripted { first_sync_waits_for: 2, ..Scripted::default() });
        std::thread::scope(|scope| {
            let writer = scope.spawn(|| log.append(entry(1)).unwrap());
            let mut g = s.gate.0.lock();
            while s.appends.load(SeqCst) < 1 {
                s.gate.1.wait(&mut g);
            }
            drop(g);
            // Written, fsync pending: not acknowledged, not visible.
            assert_eq!(log.size(), 0);
            assert!(log.records().is_empty());
            // A second append releases the held fsync.
            log.append(entry(2)).unwrap();
            writer.join().unwrap();
        });
        assert_eq!(log.size(), 2);
    }

    #[test]
    fn a_failed_fsync_fails_the_log_and_is_never_retried() {
        let (s, log) = scripted(Scripted { fail_sync: Some(1), ..Scripted::default() });
        log.append(entry(1)).unwrap();
        let e = log.append(entry(2)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.message().contains("fsync"), "{e}");
        for t in 3..6 {
            assert_eq!(log.append(entry(t)).unwrap_err().kind(), ErrorKind::Io);
        }
        assert_eq!(s.syncs.load(SeqCst), 2, "no fsync after the failed one");
        assert_eq!(s.appends.load(SeqCst), 2, "no write after the failure");
        assert_eq!(log.size(), 1, "the unacknowledged record stays invisible");
        assert_eq!(log.failure().unwrap().kind(), ErrorKind::Io);
        log.verify().unwrap();
    }

    #[test]
    fn a_failed_write_fails_the_log() {
        let (s, log) = scripted(Scripted { fail_append: Some(0), ..Scripted::default() });
        assert!(log.append(entry(1)).unwrap_err().message().contains("disk full"));
        assert_eq!(log.append(entry(2)).unwrap_err().kind(), ErrorKind::Io);
        assert_eq!((s.appends.load(SeqCst), s.syncs.load(SeqCst)), (1, 0));
        assert_eq!(log.size(), 0);
    }

    #[test]
    fn waiting_followers_learn_of_a_failed_fsync() {
        const WRITERS: usize = 4;
        let (s, log) = scripted(Scripted { first_sync_waits_for: WRITERS, fail_sync: Some(0), ..Scripted::default() });
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..WRITERS)
                .map(|t| {
                    let log = &log;
                    scope.spawn(move || log.append(entry(t as u64)).map(|r| r.seq))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(results.iter().all(|r| r.as_ref().is_err_and(|e| e.kind() == ErrorKind::Io)), "{results:?}");
        assert_eq!(s.syncs.load(SeqCst), 1);
        assert_eq!(log.size(), 0);
    }

    #[test]
    fn audit_log_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<AuditLog>();
    }
}
