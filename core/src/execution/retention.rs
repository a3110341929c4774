//! Retention: the execution history is kept for a horizon
//! ([`EngineConfig::retention`](crate::EngineConfig::retention), 30 days by
//! default) and compacted behind it.
//!
//! Compaction drops the journal's positions below a cut whose transitions
//! are all older than the horizon, and keeps each node's last transition
//! below the cut as its *base*. Every answer about a time within the horizon
//! stays exact: a node's latest transition at such a time is either a
//! retained one or its last one below the cut, the base. Times before the
//! horizon are refused ([`HistoryUnavailable`](crate::ErrorKind::HistoryUnavailable)),
//! whether or not their transitions are still held.
//!
//! With a data directory the journal writer compacts in the background
//! (see `data_dir/segment_compaction.rs`): the cut is the end of the sealed
//! segments wholly before the horizon, and the bases are written to disk
//! before the segments are deleted under an audit record. Without one,
//! [`Engine::compact`] compacts the memory alone.

use crate::data_dir::StoredTransition;
use crate::engine::Engine;
use crate::error::Result;
use crate::execution::JournalSource;
use crate::execution::journal::Bases;

/// What the retained history holds: see [`Engine::retention`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Times before this one (unix ms) are refused: the engine's clock less
    /// the retention, or the start of the history if later.
    pub horizon_ms: u64,
    /// Journal positions below this one were compacted away.
    pub first_position: u64,
    /// Transitions held in memory: the retained ones and the bases.
    pub transitions_in_memory: u64,
    /// Chunks of 65,536 journal entries (1.5 MB each) held in memory.
    pub journal_chunks: u64,
    /// Journal files in the data directory (segments and bases; 0 without one).
    pub journal_files: u64,
}

impl JournalSource {
    /// Each node's last journal entry below position `first`: its base.
    pub(crate) fn bases_below(&self, first: u32) -> Bases {
        let by_slot: Box<[_]> = (0..self.nodes.len())
            .map(|slot| {
                let latest = self.nodes.slot(slot)?.read().last_transition;
                self.journal.walk_entries(slot, latest).find(|&(entry, _)| entry <= first)
            })
            .collect();
        let count = by_slot.iter().flatten().count();
        Bases { first, by_slot, count }
    }

    /// `bases` as stored, by slot.
    pub(crate) fn stored_bases(&self, bases: &Bases) -> Vec<StoredTransition> {
        (0..)
            .zip(&bases.by_slot)
            .filter_map(|(slot, base)| base.map(|(_, t)| StoredTransition::of(&self.journal, slot, t)))
            .collect()
    }

    /// Waits for any other compaction (see [`Journal::compacting`](crate::execution::journal::Journal::compacting)).
    pub(crate) fn compacting(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.journal.compacting()
    }

    /// Drops the journal's positions below `bases.first`, keeping `bases`;
    /// returns the chunks of entries freed.
    pub(crate) fn drop_below(&self, bases: Bases) -> usize {
        self.journal.drop_below(bases)
    }

    /// The end of the run of positions from the current first one whose
    /// transitions are all before `horizon_ms` (stopping at one still being written).
    fn end_before(&self, horizon_ms: u64) -> u32 {
        let mut end = self.journal.first();
        while self.journal.entry(end).is_some_and(|(_, t)| t.at_ms < horizon_ms) {
            end += 1;
        }
        end
    }

    /// Transitions held in memory: the retained positions and the bases
    /// (a restored journal holds its bases as its first positions).
    fn in_memory(&self) -> u64 {
        let first = self.journal.first();
        u64::from(self.journal.len().saturating_sub(first)) + self.journal.bases_held() as u64
    }
}

impl Engine {
    /// The retention horizon now: times before it are refused
    /// ([`HistoryUnavailable`](crate::ErrorKind::HistoryUnavailable)).
    pub(crate) fn horizon_ms(&self) -> u64 {
        self.clock.now_ms().saturating_sub(self.retention_ms)
    }

    /// Compacts the execution history older than the retention horizon now,
    /// and says what is retained. With a data directory this asks the
    /// journal writer, which also compacts on its own every
    /// [`checkpoint_interval`](crate::EngineConfig::checkpoint_interval),
    /// and waits for it (sealed segments wholly before the horizon are
    /// dropped, see the README's "Data directory"); without one, the
    /// in-memory journal is compacted in the calling thread. Answers about
    /// times within the horizon are the same before and after.
    ///
    /// ```
    /// use fleetgov::{Clock, Engine, EngineConfig};
    /// let clock = Clock::manual(1_700_000_000_000);
    /// let retention = std::time::Duration::from_secs(3600);
    /// let e = Engine::with_config(EngineConfig { clock: clock.clone(), retention, ..EngineConfig::default() })?;
    /// clock.set(1_700_000_000_000 + 2 * 3_600_000);
    /// let kept = e.compact()?;
    /// assert_eq!(kept.horizon_ms, 1_700_000_000_000 + 3_600_000);
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn compact(&self) -> Result<Retention> {
        match &self.durable {
            Some(durable) => durable.checkpoint()?,
            None => {
                let source = self.execution.journal_source();
                let _one = self.execution.journal.compacting();
                let end = source.end_before(self.horizon_ms());
                if end > self.execution.journal.first() {
                    source.drop_below(source.bases_below(end));
                }
            }
        }
        Ok(self.retention())
    }

    /// What the retained history holds now: its horizon, the first journal
    /// position kept, the transitions and journal chunks held in memory and
    /// the journal files on disk.
    ///
    /// ```
    /// let e = fleetgov::Engine::new();
    /// assert_eq!((e.retention().transitions_in_memory, e.retention().journal_files), (0, 0));
    /// ```
    pub fn retention(&self) -> Retention {
        let source = self.execution.journal_source();
        Retention {
            horizon_ms: self.history_start_ms(),
            first_position: u64::from(self.execution.journal.first()),
            transitions_in_memory: source.in_memory(),
            journal_chunks: self.execution.journal.chunks_held() as u64,
            journal_files: self.durable.as_ref().map_or(0, crate::data_dir::Durable::journal_files),
        }
    }
}
