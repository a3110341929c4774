//! The execution: what each node *does* run. The node registry and its
//! slots, the ingest decoders (heartbeats, binary records), the pure
//! transition step, the per-cluster counters' freshness, the transition
//! journal and the history read from it, sync-error details, and the
//! recount and columnar views over the slots.

pub(crate) mod batch;
pub(crate) mod batch_by_id;
pub(crate) mod bucket_counters;
pub(crate) mod counters;
pub mod freshness;
pub(crate) mod heartbeat;
pub mod heartbeat_record;
pub(crate) mod history;
pub(crate) mod id_table;
pub(crate) mod id_text;
pub(crate) mod journal;
pub(crate) mod node_registry;
pub(crate) mod recount;
pub(crate) mod retention;
pub(crate) mod slot;
pub(crate) mod snapshot_memo;
pub(crate) mod sync_error;
pub mod table;
pub(crate) mod transition;
pub(crate) mod unenrol;
pub mod unmatched;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::execution::bucket_counters::BucketCounters;
use crate::execution::journal::Journal;
use crate::execution::node_registry::{Capacity, Registry};
use crate::execution::sync_error::SyncErrorDetails;

mod discard;
mod enrol;
mod handoff;
mod ingest;
mod node_view;
mod persist;
mod replace;

pub use handoff::{Imported, JournalExport};
pub use ingest::Received;
pub(crate) use ingest::{Observation, Refusal};
pub(crate) use persist::JournalSource;
pub use replace::Replaced;
pub use retention::Retention;

/// The execution state of the whole fleet. Its fields are private to this
/// part: the rest of the engine reaches nodes through the methods here and
/// the `impl Engine` blocks of this folder (enrolment, ingest, node views,
/// recount, history, persistence), so nothing else touches a slot.
pub(crate) struct Execution {
    /// This engine's handle tag (see [`crate::NodeHandle`]).
    tag: u32,
    nodes: Arc<Registry>,
    /// Node-reported sync-error details, by slot (written only when they change).
    sync_errors: Arc<SyncErrorDetails>,
    /// Applied-state transitions of every node (written only on transitions).
    journal: Arc<Journal>,
    /// Serialises removals (rare): each one's checks, records and effect.
    removals: parking_lot::Mutex<()>,
    fingerprint: hashbrown::DefaultHashBuilder,
    /// Snapshot hashes remembered by the batch paths, lent per batch.
    memos: snapshot_memo::MemoPool,
}

impl Execution {
    pub(crate) fn new(capacity: Capacity, tag: u32) -> Execution {
        Execution {
            tag,
            nodes: Arc::new(Registry::new(capacity)),
            sync_errors: Arc::new(SyncErrorDetails::default()),
            journal: Arc::new(Journal::new()),
            removals: parking_lot::Mutex::new(()),
            fingerprint: hashbrown::DefaultHashBuilder::default(),
            memos: snapshot_memo::MemoPool::default(),
        }
    }

    /// The handle of the node in `slot`.
    pub(crate) fn handle(&self, slot: u32) -> crate::NodeHandle {
        crate::NodeHandle::from_raw((self.tag as u64) << 32 | slot as u64)
    }

    /// The slot of an enrolled node.
    pub(crate) fn slot_of_id(&self, node: &str) -> Result<u32> {
        self.nodes.lookup(node).ok_or_else(|| Error::not_found(format_args!("node '{node}'")))
    }

    /// The id of the node in `slot`.
    pub(crate) fn node_id(&self, slot: u32) -> &str {
        self.nodes.id(slot)
    }

    /// The cluster index of the node in `slot`, if the slot is enrolled.
    pub(crate) fn cluster_of(&self, slot: u32) -> Option<u32> {
        self.nodes.slot(slot).map(|s| s.cluster())
    }

    /// Journal entries written so far.
    pub(crate) fn journal_len(&self) -> u32 {
        self.journal.len()
    }

    /// Marks a force pending on the node in `slot`.
    pub(crate) fn mark_force_pending(&self, slot: u32) {
        if let Some(cell) = self.nodes.slot(slot) {
            let guard = cell.lock();
            guard.set_state(guard.state().with_force_pending(true));
        }
    }

    /// Marks a force pending on every slot of `members` that has not
    /// answered the cluster force epoch `epoch` (low 16 bits), one slot lock
    /// at a time (see [`crate::authority::cluster::FORCE_SWEEP_INTERVAL`]).
    pub(crate) fn sweep_missed_forces(&self, members: &[u32], epoch: u16) {
        for &slot in members {
            if let Some(cell) = self.nodes.slot(slot) {
                let guard = cell.lock();
                let state = guard.state();
                if crate::authority::cluster::node_missed_force(state.epoch(), epoch) {
                    guard.set_state(state.with_force_pending(true));
                }
            }
        }
    }

    /// Clears the failing bit of the slots of `members` that last reported
    /// before `at_ms`, one slot lock at a time, and takes them out of
    /// `buckets`' failing counts: a new rollout starting at `at_ms` counts
    /// only failures reported in it.
    pub(crate) fn forget_failures_before(&self, members: &[u32], buckets: &BucketCounters, at_ms: u64) {
        for cell in members.iter().filter_map(|&slot| self.nodes.slot(slot)) {
            let guard = cell.lock();
            let state = guard.state();
            if state.is_failing() && guard.last_heartbeat_ms() < at_ms {
                guard.set_state(state.with_failing(false));
                buckets.move_failing(cell.bucket(), false);
            }
        }
    }
}
