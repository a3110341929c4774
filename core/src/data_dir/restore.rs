//! Bringing an engine's execution state back from its data directory.

use std::collections::HashMap;
use std::sync::Arc;

use super::enrolments::{Enrolment, EnrolmentLog};
use super::journal_files::{self, Segment};
use super::node_checkpoint::{Checkpoint, SavedNode};
use super::writer::{Job, JournalWriter};
use super::{Cadence, DataDir};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::health::ProcessStatus;
use crate::heartbeat::Metrics;
use crate::journal::{HashRef, Transition};
use crate::slot::SlotWrite;
use crate::sync_error::SyncErrorCode;

/// What an engine keeps open of its data directory.
pub(crate) struct Durable {
    pub(crate) enrolments: EnrolmentLog,
    pub(crate) writer: JournalWriter,
    pub(crate) journal_dir: std::path::PathBuf,
    /// Held for the lock; dropped last.
    _dir: DataDir,
}

impl Durable {
    /// Makes the enrolments of `nodes` (slot, node, cluster) at `at_ms`
    /// durable, with one fsync.
    pub(crate) fn enrolled(&self, nodes: &[(u32, &str, &str)], at_ms: u64) -> Result<()> {
        let at_s = u32::try_from(at_ms / 1000).unwrap_or(u32::MAX);
        let records: Vec<Enrolment> = nodes
            .iter()
            .map(|&(slot, node, cluster)| Enrolment { slot, at_s, cluster: cluster.to_owned(), node: node.to_owned() })
            .collect();
        self.enrolments.append(&records)
    }

    /// Why the journal writer's last write failed, if it did.
    pub(crate) fn failure(&self) -> Option<String> {
        self.writer.failure()
    }

    /// Waits until the first `entries` journal entries are on disk.
    pub(crate) fn sync(&self, entries: u64) -> Result<()> {
        self.writer.sync(entries)
    }
}

fn tampered(why: String) -> Error {
    Error::new(ErrorKind::AuditTampered, why)
}

impl Engine {
    /// Restores enrolments, the journal and every node's last report from
    /// `dir` (the authority state is already replayed from the audit log),
    /// then starts the journal writer.
    pub(crate) fn restore_execution(&self, dir: DataDir, cadence: Cadence) -> Result<Durable> {
        let (enrolments, enrolled) = EnrolmentLog::open(&dir.enrolments_path())?;
        for e in enrolled {
            let index = self.cluster_index(&e.cluster).map_err(|_| {
                tampered(format!(
                    "the enrolment log enrols node '{}' in cluster '{}', which the audit log never created",
                    e.node, e.cluster
                ))
            })?;
            let cluster = self.cluster_at(index);
            self.nodes.restore(e.slot, &e.node, e.at_s, |slot, cell| {
                cell.init(index, cluster.force_epoch());
                cluster.add_member(slot);
            })?;
        }

        let stored = journal_files::read_all(&dir.journal_dir(), |t| {
            let cell = self
                .nodes
                .slot(t.slot)
                .ok_or_else(|| tampered(format!("the journal names slot {}, which was never enrolled", t.slot)))?;
            let hash = t.hash.into_ref(&self.journal);
            let guard = cell.lock();
            let transition = Transition { at_ms: t.at_ms, revision: t.revision, hash };
            if let Some(entry) = self.journal.push(t.slot, guard.last_transition(), transition) {
                guard.set_last_transition(entry);
            }
            Ok(())
        })?;

        let saved: HashMap<u32, SavedNode> = Checkpoint::read(&dir.checkpoint_path())?
            .map(|c| c.nodes.into_iter().map(|n| (n.slot, n)).collect())
            .unwrap_or_default();
        for slot in 0..self.nodes.len() {
            let Some(cell) = self.nodes.slot(slot) else { continue };
            let latest = self.journal.at(cell.read().last_transition, u64::MAX);
            if let Some(report) = merge(saved.get(&slot), latest, &|r| self.journal.odd_hash(r)) {
                self.restore_node(slot, &report);
            }
        }

        let persisted = stored.count;
        let segment = Segment::open(&dir.journal_dir(), stored.last_first, &stored.last)?;
        let job = Job {
            journal: Arc::clone(&self.journal),
            nodes: Arc::clone(&self.nodes),
            sync_errors: Arc::clone(&self.sync_errors),
            journal_dir: dir.journal_dir(),
            checkpoint_path: dir.checkpoint_path(),
            segment,
            persisted,
            audit: Arc::clone(&self.audit),
            clock: self.clock.clone(),
            segment_len: cadence.segment_len,
        };
        let writer = JournalWriter::start(job, cadence)?;
        Ok(Durable { enrolments, writer, journal_dir: dir.journal_dir(), _dir: dir })
    }

    /// Puts a node's last report back into its slot and its cluster's counters.
    pub(super) fn restore_node(&self, slot: u32, n: &SavedNode) {
        let Some(cell) = self.nodes.slot(slot) else { return };
        let cluster = self.cluster_at(cell.cluster());
        let status = ProcessStatus::from_u8(n.status).unwrap_or(ProcessStatus::Ready);
        let code = SyncErrorCode::from_u8(n.code);
        let odd = n.odd_hash.and_then(|h| self.journal.push_odd(h)).map_or(0, HashRef::to_bits);
        let guard = cell.lock();
        let old = guard.state();
        let new = old.observed(n.revision, n.hash_ok, status, code);
        // Two writes: the slot keeps the previous heap reading of the first.
        let before = Metrics { heap: n.heap_prev, ..n.metrics };
        for metrics in [&before, &n.metrics] {
            guard.write(&SlotWrite { at_ms: n.last_hb_ms, metrics, version: n.version, error_fp: 0, odd_hash: odd });
        }
        guard.set_state(new);
        cluster.move_bucket(old.bucket(), new.bucket());
        cluster.move_fresh(old.fresh_bucket(), new.fresh_bucket());
        cluster.move_error(slot, old.error_code(), new.error_code());
        drop(guard);
        cluster.expiry.schedule(slot, n.last_hb_ms);
        if let (Some(code), Some(detail)) = (code, &n.detail) {
            self.sync_errors.record(slot, n.last_hb_ms, Some((code, detail)));
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

/// What [`Engine::verify_journal`] checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalVerification {
    /// Sealed segments whose files match their audit records.
    pub sealed_segments: u64,
    /// The transitions in them.
    pub sealed_transitions: u64,
}

impl Engine {
    /// Checks every sealed journal segment of the data directory against the
    /// audit record that sealed it (blake3 of the file, transition count);
    /// the first that differs, or is missing, is named in an
    /// [`AuditTampered`](ErrorKind::AuditTampered) error. Without a data
    /// directory there is nothing to check.
    pub fn verify_journal(&self) -> Result<JournalVerification> {
        let mut checked = JournalVerification { sealed_segments: 0, sealed_transitions: 0 };
        let Some(dir) = self.durable.as_ref().map(|d| d.journal_dir.clone()) else { return Ok(checked) };
        for record in self.audit.records().iter().filter(|r| r.action == crate::audit::AuditAction::SealJournal) {
            let (event, _) = crate::authority_event::AuthorityEvent::decode(&record.payload)?;
            let crate::authority_event::AuthorityEvent::JournalSegment { first, count, hash, .. } = event else {
                return Err(tampered(format!("audit record {} seals no journal segment", record.seq)));
            };
            let path = journal_files::segment_path(&dir, first);
            let bad = |why: &str| {
                tampered(format!("journal segment {} (sealed by audit record {}) {why}", path.display(), record.seq))
            };
            let bytes = std::fs::read(&path).map_err(|_| bad("is missing"))?;
            if crate::hash::ContentHash::of(&bytes) != hash {
                return Err(bad("does not match its seal"));
            }
            if journal_files::count(&bytes, &path)? != count {
                return Err(bad("holds another number of transitions than its seal says"));
            }
            checked.sealed_segments += 1;
            checked.sealed_transitions += count;
        }
        Ok(checked)
    }
}
