//! What a cluster's rollout says each node should run, in a form a
//! heartbeat reads with a few plain loads.
//!
//! The rollout itself ([`Rollout`]) is published whole for every other
//! reader; a heartbeat needs only its phase, its two revisions and when the
//! node's wave started ([`BucketRule`]). Those live here in atomic words
//! under a sequence lock: the one writer (rollout changes are serialised by
//! the engine's authority lock) makes the sequence odd, writes, and makes it
//! even again; a reader retries when the sequence moved. A heartbeat of a
//! cluster without a rollout reads two words.
//!
//! The phase word is also the one record of whether a rollout steers any
//! node: [`Steering::steers`] reads it alone for the readers of the
//! published rollout, so a rollout change is one store of these words.

use std::sync::atomic::Ordering;

use crate::authority::rollout::{BUCKETS, BucketRule, Phase, Rollout};
use crate::sync::{AtomicU64, fence, spin_loop};

const WAVE_WORDS: usize = (BUCKETS as usize).div_ceil(8);

/// A cluster's rollout as its heartbeats read it.
pub(crate) struct Steering {
    /// Odd while the writer is inside.
    seq: AtomicU64,
    /// The phase's code (0: no rollout steers any node).
    phase: AtomicU64,
    /// `target << 32 | previous`.
    revisions: AtomicU64,
    /// The wave of each bucket, eight buckets per word.
    waves: [AtomicU64; WAVE_WORDS],
    /// When each wave started (`u64::MAX`: not yet).
    started_ms: [AtomicU64; BUCKETS as usize],
}

// Orderings: the sequence lock's. The writer's odd store is followed by a
// Release fence so no field store is seen before it; its final Release
// store publishes the fields. A reader's Acquire load of the sequence, its
// Relaxed field loads, an Acquire fence and a Relaxed re-check of the
// sequence see either the whole old or the whole new rule.

impl Steering {
    pub(crate) fn new() -> Self {
        Steering {
            seq: AtomicU64::new(0),
            phase: AtomicU64::new(0),
            revisions: AtomicU64::new(0),
            waves: std::array::from_fn(|_| AtomicU64::new(0)),
            started_ms: std::array::from_fn(|_| AtomicU64::new(u64::MAX)),
        }
    }

    /// Stores what `rollout` says (none, or a complete one: nothing). One
    /// writer at a time.
    pub(crate) fn store(&self, rollout: Option<&Rollout>) {
        let r = Ordering::Relaxed;
        let seq = self.seq.load(r);
        self.seq.store(seq + 1, r);
        fence(Ordering::Release);
        let steers = rollout.filter(|r| r.gate().phase() != Phase::Complete);
        self.phase.store(steers.map_or(0, |r| u64::from(r.gate().phase().code())), r);
        if let Some(rollout) = steers {
            self.revisions.store(u64::from(rollout.target()) << 32 | u64::from(rollout.previous()), r);
            for (w, word) in self.waves.iter().enumerate() {
                let packed = (0..8)
                    .filter_map(|i| u8::try_from(w * 8 + i).ok().filter(|&b| b < BUCKETS).map(|b| (i, b)))
                    .fold(0u64, |acc, (i, b)| acc | (rollout.wave_of(b) as u64) << (8 * i));
                word.store(packed, r);
            }
            for (wave, started) in self.started_ms.iter().enumerate() {
                started.store(rollout.started_ms(wave).unwrap_or(u64::MAX), r);
            }
        }
        self.seq.store(seq + 2, Ordering::Release);
    }

    /// Whether a rollout steers any node of the cluster (it exists and is
    /// not complete): one load of the phase word, which a heartbeat's
    /// [`rule`](Self::rule) reads too.
    ///
    /// Acquire: pairs with the writer's Release fence in [`store`](Self::store),
    /// which follows everything the writer did before it; the caller stores
    /// the rollout itself first, so a reader that sees a steering phase also
    /// sees that rollout (or a later one). One word needs no sequence check.
    #[inline]
    pub(crate) fn steers(&self) -> bool {
        self.phase.load(Ordering::Acquire) != 0
    }

    /// What the rollout says about the nodes of `bucket`; `None` when no
    /// rollout steers any node of the cluster.
    #[inline]
    pub(crate) fn rule(&self, bucket: u8) -> Option<BucketRule> {
        let r = Ordering::Relaxed;
        loop {
            let seq = self.seq.load(Ordering::Acquire);
            if seq & 1 == 1 {
                spin_loop();
                continue;
            }
            let phase = Phase::from_code(self.phase.load(r) as u8);
            let rule = phase.map(|phase| {
                let revisions = self.revisions.load(r);
                let b = usize::from(bucket.min(BUCKETS - 1));
                let wave = (self.waves[b / 8].load(r) >> (8 * (b % 8))) as u8;
                let started = self.started_ms[usize::from(wave)].load(r);
                BucketRule {
                    phase,
                    target: (revisions >> 32) as u32,
                    previous: revisions as u32,
                    wave_started_ms: (started != u64::MAX).then_some(started),
                }
            });
            fence(Ordering::Acquire);
            if self.seq.load(r) == seq {
                return rule;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::rollout::{RolloutChange, RolloutPlan};

    #[test]
    fn every_bucket_reads_what_the_rollout_says() {
        let steering = Steering::new();
        assert_eq!(steering.rule(5), None);
        let plan = RolloutPlan::new([3, 40, 100], 1_000, 0.0, true).unwrap();
        let mut rollout = Rollout::new("c", plan, 4, 5, 10);
        for change in [RolloutChange::WaveStarted { wave: 1 }, RolloutChange::Paused, RolloutChange::Aborted] {
            steering.store(Some(&rollout));
            for b in 0..BUCKETS {
                assert_eq!(steering.rule(b), Some(rollout.rule(b)), "bucket {b}");
            }
            rollout.apply(&change, 20).unwrap();
        }
        let plan = RolloutPlan::new([100], 0, 0.0, false).unwrap();
        let mut done = Rollout::new("c", plan, 4, 5, 10);
        done.apply(&RolloutChange::Complete, 11).unwrap();
        steering.store(Some(&done));
        assert_eq!(steering.rule(0), None, "a complete rollout steers nothing");
    }
}

/// loom model of the sequence lock (see `crate::sync`).
#[cfg(all(test, fleetgov_loom))]
mod loom_model {
    use loom::sync::Arc;
    use loom::thread;

    use super::*;
    use crate::authority::rollout::{RolloutChange, RolloutPlan};

    /// A reader racing the writer sees the rule before or after the
    /// change, never a mix of the two.
    #[test]
    fn a_reader_never_sees_half_a_change() {
        loom::model(|| {
            let plan = RolloutPlan::new([50, 100], 0, 0.0, false).unwrap();
            let before = Rollout::new("c", plan, 1, 2, 10);
            let mut after = before.clone();
            after.apply(&RolloutChange::Aborted, 20).unwrap();
            let steering = Arc::new(Steering::new());
            steering.store(Some(&before));
            let writer = {
                let (steering, after) = (Arc::clone(&steering), after.clone());
                thread::spawn(move || steering.store(Some(&after)))
            };
            let seen = steering.rule(0);
            assert!(seen == Some(before.rule(0)) || seen == Some(after.rule(0)), "{seen:?}");
            writer.join().unwrap();
            assert_eq!(steering.rule(0), Some(after.rule(0)));
        });
    }
}
