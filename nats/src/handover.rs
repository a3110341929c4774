//! What a new owner waits for before it vouches for a cluster.
//!
//! An instance that starts serving a cluster (a takeover, a rejoin, a
//! restart) first restores the partition's node state from JetStream
//! ([`crate::journal`]). What the previous owner held since its last
//! checkpoint and journal segment may be missing, and an owner killed
//! before it wrote either leaves nothing: the nodes re-enroll and report to
//! the new owner over the next heartbeat period. A summary built before
//! then would count too few nodes (an empty cluster reads `0 / 0`,
//! HEALTHY). So the new owner first rewrites the previous summary as
//! *restoring* (the previous figures, flagged, which the merged view shows
//! as STALE; see [`crate::ClusterSummary::restoring`]) and publishes its own
//! figures only when the handover is complete:
//!
//! - its engine holds a report of as many of the cluster's nodes as the
//!   previous summary counted enrolled (restored, or sent since), or
//! - [`handover_wait`](crate::InstanceConfig::handover_wait) has passed since
//!   it took over (nodes that did not come back have left, or cannot
//!   reach it; its figures are the truth as far as it can know it).
//!
//! A node counts as reported when its last heartbeat is at or after the
//! handover's start, by the engine's clock; a new owner starts it at 0 (any
//! report counts), the partition being restored.

use std::time::{Duration, Instant};

/// A takeover in progress.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Handover {
    /// The nodes the previous summary counted enrolled.
    expect: u64,
    /// The takeover, by the engine's clock (unix ms).
    since_ms: u64,
    /// The takeover, by this host's monotonic clock.
    started: Instant,
    /// The longest wait.
    wait: Duration,
}

impl Handover {
    /// A takeover at `since_ms` (engine clock) of a cluster whose previous
    /// summary counted `expect` nodes enrolled, waiting at most `wait`.
    pub(crate) fn new(expect: u64, since_ms: u64, wait: Duration) -> Handover {
        Handover { expect, since_ms, started: Instant::now(), wait }
    }

    /// The takeover, by the engine's clock: heartbeats at or after it count.
    pub(crate) fn since_ms(&self) -> u64 {
        self.since_ms
    }

    /// Whether the new owner may publish its figures, `reported` nodes
    /// having reported since the takeover.
    pub(crate) fn is_complete(&self, reported: u64) -> bool {
        reported >= self.expect || self.started.elapsed() >= self.wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_once_the_previous_nodes_are_back_or_the_wait_is_over() {
        let long = Duration::from_secs(3_600);
        let handover = Handover::new(3, 1_000, long);
        assert!(!handover.is_complete(0));
        assert!(!handover.is_complete(2));
        assert!(handover.is_complete(3));
        assert!(Handover::new(0, 1_000, long).is_complete(0), "no previous summary: nothing to wait for");
        assert!(Handover::new(3, 1_000, Duration::ZERO).is_complete(0), "the wait is over");
    }
}
