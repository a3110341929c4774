//! The journal writer: a background thread that copies the in-memory
//! journal's new transitions into segment files, fsyncing them every
//! interval (group commit), and replaces the node-state checkpoint every
//! checkpoint interval and when the engine is dropped, compacting the
//! journal behind the retention horizon first (see `segment_compaction.rs`).
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
use super::journal_files::{PER_FRAME, Segment, push_frame, segment_path};
use super::node_checkpoint::Checkpoint;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::execution::JournalSource;
use crate::governance::audit::{AuditAction, AuditLog};
use crate::governance::journal_seal::{SealedSegment, seal_entry};

/// What the writer works on.
pub(crate) struct Job {
    /// The journal and node state it copies.
    pub(crate) source: JournalSource,
    pub(crate) journal_dir: PathBuf,
    pub(crate) checkpoint_path: PathBuf,
    pub(crate) segment: Segment,
    /// Journal entries on disk.
    pub(crate) persisted: u64,
    /// Where sealed segments are committed.
    pub(crate) audit: Arc<AuditLog>,
    pub(crate) clock: Clock,
    pub(crate) segment_len: u64,
    /// [`EngineConfig::retention`](crate::EngineConfig::retention) in ms.
    pub(crate) retention_ms: u64,
    /// The first journal position on disk (earlier ones were compacted).
    pub(crate) first: u64,
}

impl Job {
    /// Writes every whole entry not yet on disk, then syncs.
    pub(crate) fn flush(&mut self) -> Result<()> {
        let end = self.source.len();
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
                let Some(t) = self.source.stored(next) else { break };
                self.segment.note(t.at_ms);
                batch.push(t);
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
        let sealed =
            |r: &crate::governance::audit::AuditRecord| r.action == AuditAction::SealJournal && r.target == target;
        if self.audit.records().iter().any(|r| sealed(r)) {
            return Ok(());
        }
        let path = segment_path(&self.journal_dir, self.segment.first);
        let bytes = std::fs::read(&path).map_err(|e| super::io(&path, "read", &e))?;
        let segment = SealedSegment {
            first: self.segment.first,
            count: self.segment.count,
            span: self.segment.span.unwrap_or_default(),
            bytes: &bytes,
        };
        let entry = seal_entry(self.clock.now_ms(), target, &segment);
        self.audit.append(entry).map(drop)
    }

    /// Flushes, compacts what is behind the retention horizon, then
    /// replaces the node-state checkpoint.
    pub(crate) fn checkpoint(&mut self) -> Result<()> {
        self.flush()?;
        self.compact()?;
        let nodes = self.source.saved_nodes();
        // Every transition those reports reflect was in the journal before
        // they were read (a transition is journalled under the slot lock,
        // before its report is stored): write them all first, so that the
        // checkpoint never runs ahead of the journal on disk. An entry still
        // being written is finished under its slot lock, with no I/O.
        let end = self.source.len();
        while self.persisted < end {
            self.flush()?;
            std::thread::yield_now();
        }
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
    /// Checkpoints asked for by [`JournalWriter::checkpoint`], and how many
    /// of those asks a written checkpoint answers.
    asked: u64,
    answered: u64,
    /// Why the last write failed, if it did.
    failure: Option<String>,
}

/// How many checkpoint asks a written checkpoint has answered.
fn answered(lock: &Mutex<Shared>) -> u64 {
    lock.lock().answered
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
                    let (stopping, asked) = {
                        let mut s = lock.lock();
                        if !s.stop && !s.hurry && s.asked == s.answered {
                            wake.wait_for(&mut s, interval);
                        }
                        s.hurry = false;
                        (s.stop, s.asked)
                    };
                    let due = stopping || asked > answered(lock) || last_checkpoint.elapsed() >= checkpoint_every;
                    let done = if due { job.checkpoint() } else { job.flush() };
                    if due {
                        last_checkpoint = Instant::now();
                    }
                    let mut s = lock.lock();
                    if due && done.is_ok() {
                        s.answered = asked;
                    }
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

    /// Returns once a node-state checkpoint taken after this call is on
    /// disk (with every journal entry before it), or with the error that
    /// keeps it from there.
    pub(crate) fn checkpoint(&self) -> Result<()> {
        let (lock, wake) = &*self.shared;
        let mut s = lock.lock();
        s.asked += 1;
        let ticket = s.asked;
        s.failure = None;
        wake.notify_all();
        while s.answered < ticket {
            if let Some(why) = &s.failure {
                return Err(Error::new(ErrorKind::Io, format!("the node-state checkpoint cannot be written: {why}")));
            }
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
