//! The journal writer: a background thread that copies the in-memory
//! journal's new transitions into segment files, fsyncing them every
//! interval (group commit), and replaces the node-state checkpoint every
//! checkpoint interval and when the engine is dropped.
//!
//! It reads the journal itself, by entry number, rather than the change
//! feed: the feed may drop events for a slow reader by design, the journal
//! never does. Ingest never waits for it; no heartbeat waits on disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::Cadence;
use super::journal_files::{PER_FRAME, Segment, StoredTransition, push_frame, segment_path};
use super::node_checkpoint::{Checkpoint, SavedNode};
use crate::audit::{AuditAction, AuditEntry, AuditLog};
use crate::authority_event::AuthorityEvent;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::hash::ContentHash;
use crate::journal::Journal;
use crate::node_registry::Registry;
use crate::role::Role;

/// What the writer works on.
pub(crate) struct Job {
    pub(crate) journal: Arc<Journal>,
    pub(crate) nodes: Arc<Registry>,
    pub(crate) sync_errors: Arc<crate::sync_error::SyncErrorDetails>,
    pub(crate) journal_dir: PathBuf,
    pub(crate) checkpoint_path: PathBuf,
    pub(crate) segment: Segment,
    /// Journal entries on disk.
    pub(crate) persisted: u64,
    /// Where sealed segments are committed.
    pub(crate) audit: Arc<AuditLog>,
    pub(crate) clock: Clock,
    pub(crate) segment_len: u64,
}

impl Job {
    /// Writes every whole entry not yet on disk, then syncs.
    pub(crate) fn flush(&mut self) -> Result<()> {
        let end = u64::from(self.journal.len());
        while self.persisted < end {
            if self.segment.count >= self.segment_len {
                self.seal()?;
                self.segment = Segment::open(&self.journal_dir, self.persisted, &[])?;
            }
            let room = self.segment_len - self.segment.count;
            let mut bytes = Vec::new();
            let mut batch = Vec::with_capacity(PER_FRAME);
            let mut next = self.persisted;
            while next < end && next - self.persisted < room {
                // Entry numbers fit a u32 (`Journal::len`).
                let Some((slot, t)) = self.journal.entry(next as u32) else { break };
                self.segment.note(t.at_ms);
                batch.push(StoredTransition::of(&self.journal, slot, t));
                if batch.len() == PER_FRAME {
                    push_frame(&mut bytes, &batch);
                    batch.clear();
                }
                next += 1;
            }
            if !batch.is_empty() {
                push_frame(&mut bytes, &batch);
            }
            if next == self.persisted {
                break; // the next entry is still being written
            }
            self.segment.write(&bytes, next - self.persisted, &self.journal_dir)?;
            self.persisted = next;
        }
        Ok(())
    }

    /// Commits the full segment to the audit log: its hash, count and times
    /// (once: a seal written before a crash is not written again).
    fn seal(&self) -> Result<()> {
        let target = format!("journal:{}", self.segment.first);
        let sealed = |r: &crate::audit::AuditRecord| r.action == AuditAction::SealJournal && r.target == target;
        if self.audit.records().iter().any(|r| sealed(r)) {
            return Ok(());
        }
        let path = segment_path(&self.journal_dir, self.segment.first);
        let bytes = std::fs::read(&path).map_err(|e| super::io(&path, "read", &e))?;
        let (from_ms, to_ms) = self.segment.span.unwrap_or_default();
        let event = AuthorityEvent::JournalSegment {
            first: self.segment.first,
            count: self.segment.count,
            from_ms,
            to_ms,
            hash: ContentHash::of(&bytes),
        };
        let entry =
            AuditEntry::new(self.clock.now_ms(), crate::SYSTEM_ACTOR, Role::Admin, AuditAction::SealJournal, target)
                .payload(event.encode(&[]));
        self.audit.append(entry).map(drop)
    }

    /// Flushes, then replaces the node-state checkpoint.
    pub(crate) fn checkpoint(&mut self) -> Result<()> {
        self.flush()?;
        let nodes = (0..self.nodes.len())
            .filter_map(|slot| SavedNode::of(&self.nodes, &self.journal, &self.sync_errors, slot))
            .collect();
        Checkpoint { journal_len: self.persisted, nodes }.write(&self.checkpoint_path)
    }
}

/// What the engine and the writer thread share.
#[derive(Default)]
struct Shared {
    /// The engine is being dropped: write what is left, checkpoint, stop.
    stop: bool,
    /// Someone waits in [`JournalWriter::sync`]: write now.
    hurry: bool,
    /// Journal entries on disk.
    persisted: u64,
    /// Why the last write failed, if it did.
    failure: Option<String>,
}

/// The running writer; dropping it writes what is left and a last checkpoint.
pub(crate) struct JournalWriter {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl JournalWriter {
    /// Starts writing `job` every `interval`, checkpointing every `checkpoint_every`.
    pub(crate) fn start(mut job: Job, cadence: Cadence) -> Result<JournalWriter> {
        let Cadence { interval, checkpoint_every, .. } = cadence;
        let shared = Arc::new((Mutex::new(Shared { persisted: job.persisted, ..Shared::default() }), Condvar::new()));
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fleetgov-journal".to_owned())
            .spawn(move || {
                let (lock, wake) = &*theirs;
                let mut last_checkpoint = Instant::now();
                loop {
                    let stopping = {
                        let mut s = lock.lock();
                        if !s.stop && !s.hurry {
                            wake.wait_for(&mut s, interval);
                        }
                        s.hurry = false;
                        s.stop
                    };
                    let due = stopping || last_checkpoint.elapsed() >= checkpoint_every;
                    let done = if due { job.checkpoint() } else { job.flush() };
                    if due {
                        last_checkpoint = Instant::now();
                    }
                    let mut s = lock.lock();
                    s.persisted = job.persisted;
                    s.failure = done.err().map(|e| e.to_string());
                    wake.notify_all();
                    if stopping {
                        return;
                    }
                }
            })
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start the journal writer: {e}")))?;
        Ok(JournalWriter { shared, thread: Some(thread) })
    }

    /// Returns once the first `entries` journal entries are on disk, or
    /// with the error that keeps them from it.
    pub(crate) fn sync(&self, entries: u64) -> Result<()> {
        let (lock, wake) = &*self.shared;
        let mut s = lock.lock();
        while s.persisted < entries {
            if let Some(why) = &s.failure {
                return Err(Error::new(ErrorKind::Io, format!("the journal writer cannot write: {why}")));
            }
            s.hurry = true;
            wake.notify_all();
            wake.wait(&mut s);
        }
        Ok(())
    }

    /// Why the last write failed, if it did (the writer retries every interval).
    pub(crate) fn failure(&self) -> Option<String> {
        self.shared.0.lock().failure.clone()
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        let (lock, wake) = &*self.shared;
        lock.lock().stop = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // A panic in the writer has already been reported by the thread;
            // there is nothing more to do with it here.
            let _ = thread.join();
        }
    }
}
