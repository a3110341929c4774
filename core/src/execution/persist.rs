//! What the data directory keeps of the execution, and how it comes back:
//! the journal and every node's last report as the writer reads them, and
//! enrolments, transitions and reports restored into the slots.

use std::collections::HashMap;
use std::sync::Arc;

use crate::data_dir::{Enrolment, SavedNode, StoredTransition};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::execution::Execution;
use crate::execution::heartbeat::Metrics;
use crate::execution::journal::{HashRef, Journal, Transition};
use crate::execution::node_registry::Registry;
use crate::execution::slot::SlotWrite;
use crate::execution::sync_error::{SyncErrorCode, SyncErrorDetails};
use crate::health::ProcessStatus;

/// The journal and node state, as the data directory's writer reads them
/// from its own thread.
pub(crate) struct JournalSource {
    pub(super) journal: Arc<Journal>,
    pub(super) nodes: Arc<Registry>,
    sync_errors: Arc<SyncErrorDetails>,
}

impl Execution {
    /// A reader of the journal and node state for the journal writer.
    pub(crate) fn journal_source(&self) -> JournalSource {
        JournalSource {
            journal: Arc::clone(&self.journal),
            nodes: Arc::clone(&self.nodes),
            sync_errors: Arc::clone(&self.sync_errors),
        }
    }
}

impl JournalSource {
    /// Journal entries written so far.
    pub(crate) fn len(&self) -> u64 {
        u64::from(self.journal.len())
    }

    /// Journal entry `index` as it is stored, if it is completely written.
    pub(crate) fn stored(&self, index: u64) -> Option<StoredTransition> {
        let (slot, t) = self.journal.entry(u32::try_from(index).ok()?)?;
        Some(StoredTransition::of(&self.journal, slot, t))
    }

    /// Every node's last report (nodes never heard from are left out).
    pub(crate) fn saved_nodes(&self) -> Vec<SavedNode> {
        (0..self.nodes.len())
            .filter_map(|slot| saved_node(&self.nodes, &self.journal, &self.sync_errors, slot))
            .collect()
    }
}

/// The last report of the node in `slot`, if it has reported.
pub(super) fn saved_node(
    nodes: &Registry,
    journal: &Journal,
    sync_errors: &SyncErrorDetails,
    slot: u32,
) -> Option<SavedNode> {
    let read = nodes.slot(slot)?.read();
    let state = read.state;
    state.has_heartbeat().then(|| SavedNode {
        slot,
        revision: state.revision(),
        hash_ok: state.hash_ok(),
        status: state.status().map_or(0, |s| s as u8),
        code: state.error_code().map_or(0, |c| c as u8),
        last_hb_ms: read.last_hb_ms,
        metrics: read.metrics,
        heap_prev: read.heap_prev,
        version: read.version,
        odd_hash: journal.odd_hash(HashRef::from_bits(read.odd_hash)),
        detail: sync_errors.get(slot).filter(|e| Some(e.code) == state.error_code()).map(|e| e.detail),
    })
}

fn tampered(why: String) -> Error {
    Error::new(ErrorKind::AuditTampered, why)
}

impl Engine {
    /// Puts an enrolment back at its slot, in a cluster the audit log created.
    pub(crate) fn restore_enrolment(&self, e: &Enrolment) -> Result<()> {
        let index = self.cluster_index(&e.cluster).map_err(|_| {
            tampered(format!(
                "the enrolment log enrols node '{}' in cluster '{}', which the audit log never created",
                e.node, e.cluster
            ))
        })?;
        let cluster = self.cluster_at(index);
        let bucket = crate::authority::rollout::Rank::bucket(&e.cluster, &e.node);
        self.execution.nodes.restore(e.slot, &e.node, e.at_s, |slot, cell| {
            cell.init(index, bucket, cluster.authority.force_epoch());
            cluster.counters.add_member(slot, bucket);
        })
    }

    /// Ends a restored enrolment, as a removal frame of the enrolment log says.
    pub(crate) fn restore_removal(&self, e: &Enrolment) -> Result<()> {
        match self.execution.nodes.lookup(&e.node) {
            Some(slot) if slot == e.slot => self
                .remove_in_memory(&e.node)
                .map(drop)
                .ok_or_else(|| tampered(format!("the enrolment log removes node '{}' twice", e.node))),
            _ => Err(tampered(format!(
                "the enrolment log removes node '{}' from slot {}, where it is not enrolled",
                e.node, e.slot
            ))),
        }
    }

    /// Begins the restored journal at position `first` (a compaction dropped
    /// the earlier ones): the bases go there, then the segments.
    pub(crate) fn restore_journal_start(&self, first: u32) {
        self.execution.journal.start_at(first);
    }

    /// Appends a stored transition of a node enrolled now or removed since
    /// to the journal.
    pub(crate) fn restore_transition(&self, t: &StoredTransition) -> Result<()> {
        let execution = &self.execution;
        let cell = execution
            .nodes
            .slot_ever_enrolled(t.slot)
            .ok_or_else(|| tampered(format!("the journal names slot {}, which was never enrolled", t.slot)))?;
        let hash = t.hash.into_ref(&execution.journal);
        let guard = cell.lock();
        let transition = Transition { at_ms: t.at_ms, revision: t.revision, hash };
        if let Some(entry) = execution.journal.push(t.slot, guard.last_transition(), transition) {
            guard.set_last_transition(entry);
        }
        Ok(())
    }

    /// Restores every node's last report: the checkpointed one (`saved`, by
    /// slot) merged with its latest journalled transition.
    pub(crate) fn restore_reports(&self, saved: &HashMap<u32, SavedNode>) {
        let execution = &self.execution;
        for slot in 0..execution.nodes.len() {
            let Some(cell) = execution.nodes.slot(slot) else { continue };
            let latest = execution.journal.at(slot, cell.read().last_transition, u64::MAX);
            if let Some(report) = merge(saved.get(&slot), latest, &|r| execution.journal.odd_hash(r)) {
                self.restore_node(slot, &report);
            }
        }
    }

    /// Puts a node's last report back into its slot and its cluster's counters.
    pub(super) fn restore_node(&self, slot: u32, n: &SavedNode) {
        let execution = &self.execution;
        let Some(cell) = execution.nodes.slot(slot) else { return };
        let cluster = self.cluster_at(cell.cluster());
        let status = ProcessStatus::from_u8(n.status).unwrap_or(ProcessStatus::Ready);
        let code = SyncErrorCode::from_u8(n.code);
        let odd = n.odd_hash.and_then(|h| execution.journal.push_odd(h)).map_or(0, HashRef::to_bits);
        // A revision this engine never published (a damaged or forged
        // report) counts as none, as it would in a heartbeat.
        let (revision, hash_ok) =
            if cluster.authority.snapshot(n.revision).is_some() { (n.revision, n.hash_ok) } else { (0, false) };
        // Failing in the cluster's rollout, as the report's heartbeat made it.
        let failing = cluster
            .with_active_rollout(|r| r.counts_failure(cell.bucket(), n.last_hb_ms, code.is_some()))
            .unwrap_or(false);
        let guard = cell.lock();
        let old = guard.state();
        let new = old.observed(revision, hash_ok, status, code).with_failing(failing);
        // Two writes: the slot keeps the previous heap reading of the first.
        let before = Metrics { heap: n.heap_prev, ..n.metrics };
        for metrics in [&before, &n.metrics] {
            guard.write(&SlotWrite { at_ms: n.last_hb_ms, metrics, version: n.version, error_fp: 0, odd_hash: odd });
        }
        guard.set_state(new);
        cluster.counters.move_bucket(old.bucket(), new.bucket());
        cluster.counters.move_fresh(cell.bucket(), old.fresh_bucket(), new.fresh_bucket());
        cluster.counters.move_error(slot, old.error_code(), new.error_code());
        if old.is_failing() != failing {
            cluster.counters.buckets.move_failing(cell.bucket(), failing);
        }
        drop(guard);
        cluster.counters.expiry.schedule(slot, n.last_hb_ms);
        if let (Some(code), Some(detail)) = (code, &n.detail) {
            execution.sync_errors.record(slot, n.last_hb_ms, Some((code, detail)));
        }
    }
}

/// A node's last report from its checkpointed one and its latest journalled
/// transition: the transition wins what the node applied when it is newer
/// (its time is then the last heartbeat); the rest comes from the
/// checkpoint, or is the neutral value (ready, no error, no metrics) when
/// the node was first heard after the last checkpoint.
pub(super) fn merge(
    saved: Option<&SavedNode>,
    latest: Option<Transition>,
    odd: &dyn Fn(HashRef) -> Option<crate::hash::ContentHash>,
) -> Option<SavedNode> {
    let base = match (saved, latest) {
        (Some(s), _) => s.clone(),
        (None, Some(t)) => SavedNode {
            slot: 0,
            revision: 0,
            hash_ok: false,
            status: ProcessStatus::Ready as u8,
            code: 0,
            last_hb_ms: t.at_ms,
            metrics: Metrics::default(),
            heap_prev: 0.0,
            version: 0,
            odd_hash: None,
            detail: None,
        },
        (None, None) => return None,
    };
    match latest {
        Some(t) if saved.is_none_or(|s| t.at_ms > s.last_hb_ms) => {
            let hash_ok = t.hash == HashRef::Verified;
            let mismatch = t.revision != 0 && !hash_ok && t.hash != HashRef::None;
            let code = if base.code == 0 && mismatch { SyncErrorCode::HashMismatch as u8 } else { base.code };
            Some(SavedNode { revision: t.revision, hash_ok, code, last_hb_ms: t.at_ms, odd_hash: odd(t.hash), ..base })
        }
        _ => Some(base),
    }
}
