//! What one heartbeat does to its node: a pure function from the node's old
//! state word, what the heartbeat reports and what its cluster's authority
//! says now, to the new state word and the answer owed to the node.
//!
//! The ingest paths (struct heartbeats, binary records) decode and validate
//! first, then compute the [`Step`] under the node's slot lock and store it;
//! everything that may block or allocate (the audit record that opens a
//! reconciliation wave, the change feed, the sync-error details) happens
//! after the lock is released. Keeping the decision here, free of atomics,
//! is what lets it be tested exhaustively.

use crate::execution::slot::NodeState;
use crate::execution::sync_error::SyncErrorCode;
use crate::health::ProcessStatus;

/// What a heartbeat reports, checked against the cluster's snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Report {
    /// The applied revision of the node's own cluster (0: none, unknown or foreign).
    pub(crate) revision: u32,
    /// The node-computed hash equals the hash of `revision`.
    pub(crate) hash_ok: bool,
    pub(crate) status: ProcessStatus,
    /// The sync error the node reported, or `HASH_MISMATCH` the engine found.
    pub(crate) code: Option<SyncErrorCode>,
}

/// The cluster's authority as the heartbeat sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Authority {
    /// The desired revision (0: nothing published).
    pub(crate) desired: u32,
    /// The cluster's force-sync epoch.
    pub(crate) force_epoch: u16,
    pub(crate) auto_reconcile: bool,
    /// The audit record of the current reconciliation wave is written.
    pub(crate) wave_open: bool,
}

/// The answer owed to the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Nothing to do.
    Nothing,
    /// Pull the desired snapshot now: an operator forced it.
    ForceSync,
    /// Pull the desired snapshot: the cluster auto-reconciles.
    Reconcile,
    /// As `Reconcile`, but this is the cluster's first directive toward the
    /// desired revision: the wave's audit record must be acknowledged
    /// before the directive is sent (none is sent if it cannot be written).
    OpenWave,
}

/// The outcome of one heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// The node's new state word.
    pub(crate) state: NodeState,
    pub(crate) answer: Answer,
}

impl Step {
    /// The histogram move `(from, to)` of the node's verified revision, if it moved.
    pub(crate) fn bucket_move(&self, old: NodeState) -> Option<(u32, u32)> {
        (old.bucket() != self.state.bucket()).then(|| (old.bucket(), self.state.bucket()))
    }

    /// The fresh-histogram move `(from, to)`, if it moved (`None`: not fresh).
    pub(crate) fn fresh_move(&self, old: NodeState) -> Option<(Option<u32>, Option<u32>)> {
        (old.fresh_bucket() != self.state.fresh_bucket()).then(|| (old.fresh_bucket(), self.state.fresh_bucket()))
    }

    /// The sync-error move `(from, to)`, if the node's code changed.
    pub(crate) fn error_move(&self, old: NodeState) -> Option<(Option<SyncErrorCode>, Option<SyncErrorCode>)> {
        (old.error_code() != self.state.error_code()).then(|| (old.error_code(), self.state.error_code()))
    }

    /// Whether the node's reported state changed in a way the change feed
    /// reports: its first report, another applied revision or hash
    /// verdict, another sync-error code, or in sync ↔ divergent against
    /// `desired`. Steady-state heartbeats are no transition.
    pub(crate) fn is_transition(&self, old: NodeState, desired: u32) -> bool {
        let new = self.state;
        !old.has_heartbeat()
            || old.revision() != new.revision()
            || old.hash_ok() != new.hash_ok()
            || old.error_code() != new.error_code()
            || in_sync(old, desired) != in_sync(new, desired)
    }
}

/// A node is in sync when its verified revision is the desired one.
pub(crate) fn in_sync(state: NodeState, desired: u32) -> bool {
    desired != 0 && state.has_heartbeat() && state.bucket() == desired
}

/// The step a heartbeat takes from `old`.
///
/// A pending force sync (of this node, or a cluster force epoch the node has
/// not answered) is answered first and cleared; otherwise a divergent node
/// of an auto-reconciling cluster is told to pull the desired snapshot on
/// every heartbeat until it runs it.
pub(crate) fn step(old: NodeState, report: &Report, authority: &Authority) -> Step {
    let observed = old.observed(report.revision, report.hash_ok, report.status, report.code);
    if authority.desired == 0 {
        return Step { state: observed, answer: Answer::Nothing };
    }
    if observed.force_pending() || observed.epoch() != authority.force_epoch {
        let state = observed.with_force_pending(false).with_epoch(authority.force_epoch);
        return Step { state, answer: Answer::ForceSync };
    }
    let answer = match (authority.auto_reconcile && !in_sync(observed, authority.desired), authority.wave_open) {
        (false, _) => Answer::Nothing,
        (true, true) => Answer::Reconcile,
        (true, false) => Answer::OpenWave,
    };
    Step { state: observed, answer }
}

/// Whether a heartbeat reporting `report` repeats what the node's state
/// word `old` already says while nothing is owed to the node, given the
/// cluster's `desired` revision, `force_epoch` and `auto_reconcile`: then
/// [`step`] leaves the word as it is (no counter, journal or change-feed
/// work follows) and answers nothing, and the ingest path stores only the
/// report's time and metrics. Rollout steering is the caller's to rule out.
pub(crate) fn is_repeat(old: NodeState, report: &Report, desired: u32, force_epoch: u16, auto_reconcile: bool) -> bool {
    let observed = old.observed(report.revision, report.hash_ok, report.status, report.code);
    observed == old
        && (desired == 0
            || !old.force_pending() && old.epoch() == force_epoch && (!auto_reconcile || in_sync(old, desired)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESH: Authority = Authority { desired: 2, force_epoch: 0, auto_reconcile: false, wave_open: false };

    fn report(revision: u32, hash_ok: bool) -> Report {
        Report { revision, hash_ok, status: ProcessStatus::Ready, code: None }
    }

    fn enrolled() -> NodeState {
        NodeState::enrolled(0)
    }

    #[test]
    fn a_verified_report_of_the_desired_revision_is_in_sync_and_moves_its_bucket() {
        let old = enrolled();
        let s = step(old, &report(2, true), &FRESH);
        assert_eq!(s.answer, Answer::Nothing);
        assert!(in_sync(s.state, 2));
        assert_eq!(s.bucket_move(old), Some((0, 2)));
        assert_eq!(s.error_move(old), None);
        assert!(s.is_transition(old, 2), "a first report is a transition");
        let again = step(s.state, &report(2, true), &FRESH);
        assert!(!again.is_transition(s.state, 2), "steady state is no transition");
        assert_eq!(again.bucket_move(s.state), None);
    }

    #[test]
    fn the_same_revision_with_another_hash_is_divergent() {
        let old = step(enrolled(), &report(2, true), &FRESH).state;
        let mismatch = Report { code: Some(SyncErrorCode::HashMismatch), ..report(2, false) };
        let s = step(old, &mismatch, &FRESH);
        assert!(!in_sync(s.state, 2));
        assert_eq!(s.bucket_move(old), Some((2, 0)));
        assert_eq!(s.error_move(old), Some((None, Some(SyncErrorCode::HashMismatch))));
        assert!(s.is_transition(old, 2));
    }

    #[test]
    fn nothing_published_means_nothing_to_answer() {
        let authority = Authority { desired: 0, force_epoch: 3, auto_reconcile: true, wave_open: false };
        let s = step(enrolled().with_force_pending(true), &report(0, false), &authority);
        assert_eq!(s.answer, Answer::Nothing);
        assert!(s.state.force_pending(), "the force waits for a snapshot to force");
    }

    #[test]
    fn a_force_is_answered_once_whatever_the_node_runs() {
        let auto = Authority { auto_reconcile: true, wave_open: true, ..FRESH };
        let s = step(enrolled().with_force_pending(true), &report(2, true), &auto);
        assert_eq!(s.answer, Answer::ForceSync);
        assert!(!s.state.force_pending());
        assert_eq!(step(s.state, &report(2, true), &auto).answer, Answer::Nothing);

        let epoch = Authority { force_epoch: 1, ..FRESH };
        let s = step(enrolled(), &report(1, true), &epoch);
        assert_eq!((s.answer, s.state.epoch()), (Answer::ForceSync, 1));
        assert_eq!(step(s.state, &report(1, true), &epoch).answer, Answer::Nothing);
    }

    #[test]
    fn auto_reconcile_opens_a_wave_once_then_reconciles_every_divergent_heartbeat() {
        let closed = Authority { auto_reconcile: true, ..FRESH };
        let s = step(enrolled(), &report(1, true), &closed);
        assert_eq!(s.answer, Answer::OpenWave);
        let open = Authority { wave_open: true, ..closed };
        assert_eq!(step(s.state, &report(1, true), &open).answer, Answer::Reconcile);
        assert_eq!(step(s.state, &report(2, true), &open).answer, Answer::Nothing, "in sync: nothing");
        assert_eq!(step(s.state, &report(1, true), &FRESH).answer, Answer::Nothing, "manual clusters wait");
    }

    #[test]
    fn every_old_state_and_report_gives_a_consistent_step() {
        let codes = [None, Some(SyncErrorCode::ReloadFailure), Some(SyncErrorCode::HashMismatch)];
        let statuses = [ProcessStatus::Ready, ProcessStatus::Starting, ProcessStatus::Error];
        let mut olds = vec![enrolled(), enrolled().with_force_pending(true), enrolled().with_epoch(1)];
        for revision in 0..=3 {
            for hash_ok in [false, true] {
                for (epoch, code) in [(0, None), (1, None), (1, codes[1]), (1, codes[2])] {
                    olds.push(enrolled().with_epoch(epoch).observed(revision, hash_ok, ProcessStatus::Ready, code));
                }
            }
        }
        for old in olds {
            for revision in 0..=3 {
                for hash_ok in [false, true] {
                    for code in codes {
                        for status in statuses {
                            for desired in 0..=3 {
                                for (auto, open) in [(false, false), (true, false), (true, true)] {
                                    let r = Report { revision, hash_ok, status, code };
                                    let a =
                                        Authority { desired, force_epoch: 1, auto_reconcile: auto, wave_open: open };
                                    let s = step(old, &r, &a);
                                    // A repeat is a step that changes nothing and answers nothing.
                                    let unchanged = s.state == old && s.answer == Answer::Nothing;
                                    assert_eq!(is_repeat(old, &r, desired, 1, auto), unchanged, "{old:?} {r:?} {a:?}");
                                    // The report is what the state now says.
                                    assert_eq!(s.state.revision(), revision);
                                    assert_eq!((s.state.hash_ok(), s.state.error_code()), (hash_ok, code));
                                    assert_eq!(s.state.status(), Some(status));
                                    assert!(s.state.is_enrolled() && s.state.has_heartbeat());
                                    // A directive only with something to pull; no directive to a node in sync
                                    // unless forced; a pending force is always answered when it can be.
                                    let forced = desired != 0 && (old.force_pending() || old.epoch() != 1);
                                    match s.answer {
                                        Answer::Nothing => {
                                            assert!(!forced && (!auto || desired == 0 || in_sync(s.state, desired)))
                                        }
                                        Answer::ForceSync => assert!(forced && !s.state.force_pending()),
                                        Answer::Reconcile => assert!(auto && open && !in_sync(s.state, desired)),
                                        Answer::OpenWave => assert!(auto && !open && !in_sync(s.state, desired)),
                                    }
                                    // Moves agree with the two states.
                                    let moved = s.bucket_move(old).map_or(old.bucket(), |(_, to)| to);
                                    assert_eq!(moved, s.state.bucket());
                                    let fresh = s.fresh_move(old).map_or(old.fresh_bucket(), |(_, to)| to);
                                    assert_eq!(fresh, Some(s.state.bucket()), "a heartbeat makes its node fresh");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
