//! Bringing an engine's execution state back from its data directory.

use std::collections::HashMap;
use std::sync::Arc;

use super::enrolments::{Enrolment, EnrolmentLog};
use super::journal_files::{self, Segment};
use super::node_checkpoint::{Checkpoint, SavedNode};
use super::segment_compaction;
use super::writer::{Job, JournalWriter};
use super::{Cadence, DataDir};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};

/// What an engine keeps open of its data directory.
pub(crate) struct Durable {
    pub(crate) enrolments: EnrolmentLog,
    pub(crate) writer: JournalWriter,
    pub(crate) journal_dir: std::path::PathBuf,
    /// Held for the lock; dropped last.
    dir: DataDir,
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

    /// Makes the removal of `node` from `slot` at `at_ms` durable.
    pub(crate) fn removed(&self, slot: u32, node: &str, at_ms: u64) -> Result<()> {
        let at_s = u32::try_from(at_ms / 1000).unwrap_or(u32::MAX);
        self.enrolments.append(&[Enrolment::removal(slot, at_s, node)])
    }

    /// Makes durable the removals (slot, node) at `at_ms` that a restore
    /// of stored state made, unaudited here ([`Engine::replace_execution`]),
    /// with one fsync.
    pub(crate) fn handed_over(&self, removed: &[(u32, String)], at_ms: u64) -> Result<()> {
        let at_s = u32::try_from(at_ms / 1000).unwrap_or(u32::MAX);
        let records: Vec<Enrolment> =
            removed.iter().map(|(slot, node)| Enrolment::handed_over(*slot, at_s, node)).collect();
        self.enrolments.append(&records)
    }

    /// Why the journal writer's last write failed, if it did.
    pub(crate) fn failure(&self) -> Option<String> {
        self.writer.failure()
    }

    /// The directory.
    pub(crate) fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Waits until a node-state checkpoint taken now is on disk.
    pub(crate) fn checkpoint(&self) -> Result<()> {
        self.writer.checkpoint()
    }

    /// Journal files (segments and bases) in the directory.
    pub(crate) fn journal_files(&self) -> u64 {
        segment_compaction::files(&self.journal_dir)
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
    /// `dir` (the authority state is already replayed from the audit log,
    /// which other engines write to as well when `shared_audit`), then
    /// starts the journal writer.
    pub(crate) fn restore_execution(&self, dir: DataDir, cadence: Cadence, shared_audit: bool) -> Result<Durable> {
        let (enrolments, enrolled) = EnrolmentLog::open(&dir.enrolments_path())?;
        for e in &enrolled {
            if e.is_removal() { self.restore_removal(e)? } else { self.restore_enrolment(e)? }
        }
        self.finish_removals(&enrolments, &enrolled, shared_audit)?;
        let journal_dir = dir.journal_dir();
        // The bases of the last compaction come first, at the positions just
        // before the segments they precede; a compaction a crash cut short is
        // finished (or, unrecorded, undone) first.
        let compacted = segment_compaction::last(self.governance.audit())?;
        let first = compacted.map_or(0, |c| c.first);
        if let Some(c) = &compacted {
            let bases = segment_compaction::read_bases(&journal_dir, c)?;
            let start = u32::try_from(first - (bases.len() as u64).min(first))
                .map_err(|_| tampered(format!("the journal compaction of audit record {} is out of range", c.seq)))?;
            self.restore_journal_start(start);
            for base in &bases {
                self.restore_transition(base)?;
            }
        }
        segment_compaction::remove_compacted(&journal_dir, first)?;
        let stored = journal_files::read_all(&journal_dir, first, |t| self.restore_transition(t))?;
        let saved: HashMap<u32, SavedNode> = Checkpoint::read(&dir.checkpoint_path())?
            .map(|c| c.nodes.into_iter().map(|n| (n.slot, n)).collect())
            .unwrap_or_default();
        self.restore_reports(&saved);

        let persisted = stored.count;
        let segment = Segment::open(&dir.journal_dir(), stored.last_first, &stored.last)?;
        let job = Job {
            source: self.execution.journal_source(),
            journal_dir: dir.journal_dir(),
            checkpoint_path: dir.checkpoint_path(),
            segment,
            persisted,
            audit: Arc::clone(self.governance.audit()),
            clock: self.clock.clone(),
            segment_len: cadence.segment_len,
            retention_ms: cadence.retention_ms,
            first,
        };
        let writer = JournalWriter::start(job, cadence)?;
        Ok(Durable { enrolments, writer, journal_dir: dir.journal_dir(), dir })
    }
}

impl Engine {
    /// Reconciles the removals the audit log records with those the
    /// enrolment log holds.
    ///
    /// `unenroll` appends its audit record, then the removal frame: a crash
    /// between the two leaves the node enrolled in the enrolment log while
    /// the audit log says it was removed. Removals of a node are serialised
    /// and a removed node cannot enrol again before its frame is written,
    /// so with a log private to this engine a node with one audit record
    /// more than frames is exactly that case; its frame is written now and
    /// the removal applied. A removal a restore of stored state made
    /// ([`Engine::replace_execution`]) has a frame of its own and no record
    /// here; it may account for a record another engine sharing the log
    /// wrote.
    ///
    /// With a log `shared` with other engines, records beyond this
    /// engine's frames are removals those engines made:
    /// - of a node not enrolled here (never, or no longer: a removal this
    ///   engine began leaves its node enrolled), nothing to do;
    /// - of a node enrolled here, the rule of
    ///   [`replace_execution`](Engine::replace_execution): removed (a frame
    ///   as a restore writes) when the latest such record is at or after
    ///   its enrolment here, kept otherwise. That also finishes a removal
    ///   of this engine's that a crash cut short.
    ///
    /// Any other difference is `AuditTampered`: a removal frame without
    /// its record, or (with a private log) records no frame accounts for
    /// but the one a crash can leave.
    fn finish_removals(&self, log: &EnrolmentLog, frames: &[Enrolment], shared: bool) -> Result<()> {
        let mut pending: HashMap<String, (i64, u64)> = HashMap::new();
        for (node, time_ms) in self.audited_removals() {
            let entry = pending.entry(node).or_default();
            *entry = (entry.0 + 1, time_ms);
        }
        let mut handed_over: HashMap<&str, i64> = HashMap::new();
        for f in frames {
            if f.is_audited_removal() {
                pending.entry(f.node.clone()).or_default().0 -= 1;
            } else if f.is_removal() {
                *handed_over.entry(&f.node).or_default() += 1;
            }
        }
        for (node, (missing, at_ms)) in pending {
            // A removal a restore made (unaudited here) may be the one
            // another engine audited: it accounts for a record, never for
            // a frame without one.
            let missing = match handed_over.get(node.as_str()) {
                Some(&handed) if missing > 0 => (missing - handed).max(0),
                _ => missing,
            };
            let slot = self.execution.slot_of_id(&node).ok();
            let at_s = u32::try_from(at_ms / 1000).unwrap_or(u32::MAX);
            match (missing, slot) {
                (0, _) => {}
                (1.., None) if shared => {}
                (1.., Some(slot)) if shared => {
                    if self.removed_since_enrolment(slot, at_ms) {
                        log.append(&[Enrolment::handed_over(slot, at_s, &node)])?;
                        self.remove_in_memory(&node);
                    }
                }
                (1, Some(slot)) => {
                    log.append(&[Enrolment::removal(slot, at_s, &node)])?;
                    self.remove_in_memory(&node);
                }
                _ => {
                    return Err(tampered(format!(
                        "the audit log and the enrolment log disagree on the removals of node '{node}'"
                    )));
                }
            }
        }
        Ok(())
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
    /// [`AuditTampered`](ErrorKind::AuditTampered) error. Segments that a
    /// compaction dropped are not looked for; the base file that replaces
    /// them is checked against the compaction's record instead. Without a
    /// data directory there is nothing to check.
    pub fn verify_journal(&self) -> Result<JournalVerification> {
        let mut checked = JournalVerification { sealed_segments: 0, sealed_transitions: 0 };
        let Some(dir) = self.durable.as_ref().map(|d| d.journal_dir.clone()) else { return Ok(checked) };
        // No compaction deletes files while they are checked against the last one's record.
        let source = self.execution.journal_source();
        let _one = source.compacting();
        let compacted = segment_compaction::last(self.governance.audit())?;
        if let Some(c) = &compacted {
            segment_compaction::read_bases(&dir, c)?;
        }
        let dropped_before = compacted.map_or(0, |c| c.first);
        for record in self
            .governance
            .audit()
            .records()
            .iter()
            .filter(|r| r.action == crate::governance::audit::AuditAction::SealJournal)
        {
            let (event, _) = crate::authority::event::AuthorityEvent::decode(&record.payload)?;
            let crate::authority::event::AuthorityEvent::JournalSegment { first, count, hash, .. } = event else {
                return Err(tampered(format!("audit record {} seals no journal segment", record.seq)));
            };
            if first + count <= dropped_before {
                continue; // dropped by the last compaction, whose base file was checked
            }
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
