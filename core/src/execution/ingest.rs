//! The ingest pipeline: a decoded report is checked, then applied to its
//! node's slot by the pure [`transition::step`]; what may block or allocate
//! (sync-error details, change-feed events, a wave's audit record) happens
//! after the slot lock is released.

use std::hash::BuildHasher;
use std::sync::Arc;

use crate::authority::snapshot::parse_snapshot_id;
use crate::cluster_state::ClusterState;
use crate::engine::{Engine, NodeHandle};
use crate::error::{Error, ErrorKind, Result};
use crate::execution::heartbeat::{Directive, DirectiveKind, Heartbeat, MAX_FUTURE_SKEW_MS, Metrics};
use crate::execution::journal::{HashRef, Transition};
use crate::execution::slot::SlotWrite;
use crate::execution::sync_error::{SyncErrorCode, cut_detail};
use crate::execution::transition::{self, Answer};
use crate::feed::{Change, NodeChange};
use crate::hash::ContentHash;
use crate::health::ProcessStatus;
use crate::id::validate_snapshot_id;

/// A node resolved once per heartbeat: its slot number, slot and cluster.
#[derive(Clone, Copy)]
pub(crate) struct NodeRef<'e> {
    pub(crate) slot: u32,
    pub(crate) cell: &'e crate::execution::slot::Slot,
    pub(crate) cluster: &'e ClusterState,
}

/// What a heartbeat reports, with ids resolved: the form every ingest path
/// (struct, binary record) reduces to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Observation<'a> {
    pub(crate) at_ms: u64,
    /// The applied revision of the node's own cluster (0: none or foreign).
    pub(crate) revision: u32,
    pub(crate) hash: Option<&'a ContentHash>,
    pub(crate) version: u32,
    pub(crate) status: ProcessStatus,
    pub(crate) metrics: &'a Metrics,
    pub(crate) sync_error: Option<(SyncErrorCode, &'a str)>,
}

/// Why [`Engine::observe`] refused a heartbeat, as plain values: a path to
/// which a refusal is an expected outcome (the batch's outcome records,
/// [`Engine::receive`]) builds no message; `Engine::refusal_error` words it
/// for the callers that get an [`Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Older than the node's last heartbeat; `at_ms` as the node stamped it.
    Stale { slot: u32, at_ms: u64 },
    /// More than [`MAX_FUTURE_SKEW_MS`] ahead of the engine's clock `now_ms`.
    Future { at_ms: u64, now_ms: u64 },
    /// Its node was removed after the heartbeat resolved it (see `Engine::unenroll`).
    Removed { slot: u32 },
}

/// Where the ingest path finds the hash of a revision of a node's cluster
/// (the batch paths remember the hashes from batch to batch).
pub(crate) trait Snapshots {
    /// The hash of revision `revision` of `node`'s cluster, if published.
    fn hash(&mut self, node: &NodeRef<'_>, revision: u32) -> Option<ContentHash>;
}

/// No memory: every lookup goes to the cluster (single heartbeats).
pub(crate) struct Direct;

impl Snapshots for Direct {
    #[inline]
    fn hash(&mut self, node: &NodeRef<'_>, revision: u32) -> Option<ContentHash> {
        node.cluster.authority.snapshot(revision).map(|snapshot| snapshot.hash)
    }
}

/// What [`Engine::receive`] made of a heartbeat.
#[derive(Clone, Copy, Debug)]
pub enum Received<'e> {
    /// Recorded; the directive back to the node, if any.
    Accepted(Option<Directive<'e>>),
    /// Older than the node's last heartbeat: ignored, nothing changed.
    Stale,
}

impl Engine {
    /// Hints the cache to fetch the slot behind `handle` (no check, no read).
    #[inline]
    pub(crate) fn prefetch_slot(&self, handle: NodeHandle) {
        if let Some(slot) = self.execution.nodes.slot_unchecked(handle.slot()) {
            crate::prefetch::prefetch(slot);
        }
    }

    pub(crate) fn slot_of(&self, handle: NodeHandle) -> Result<u32> {
        self.resolve(handle).map(|n| n.slot)
    }

    /// The node behind `handle`, with its slot and cluster looked up once.
    #[inline]
    pub(crate) fn resolve(&self, handle: NodeHandle) -> Result<NodeRef<'_>> {
        if !self.owns(handle) {
            return Err(Error::not_found(format_args!("node handle {:#x}", handle.to_raw())));
        }
        self.resolve_slot(handle.slot())
    }

    /// Whether `handle` carries this engine's tag (it may still name no node).
    #[inline]
    pub(crate) fn owns(&self, handle: NodeHandle) -> bool {
        (handle.to_raw() >> 32) as u32 == self.execution.tag
    }

    #[inline]
    fn resolve_slot(&self, slot: u32) -> Result<NodeRef<'_>> {
        self.node_in(slot, |index| self.cluster_at(index))
            .ok_or_else(|| Error::not_found(format_args!("node slot {slot}")))
    }

    /// The node enrolled in `slot`, if any, its cluster found by `cluster`
    /// from the cluster's index.
    #[inline]
    pub(crate) fn node_in<'e>(
        &'e self,
        slot: u32,
        cluster: impl FnOnce(u32) -> &'e ClusterState,
    ) -> Option<NodeRef<'e>> {
        let cell = self.execution.nodes.slot(slot)?;
        Some(NodeRef { slot, cell, cluster: cluster(cell.cluster()) })
    }

    /// Records a heartbeat of the node behind `handle` and answers with a
    /// directive, if any. One more than 5 minutes ahead of the engine's
    /// clock is refused (`FutureHeartbeat`); any other counts at
    /// `min(its stamp, the engine's clock now)`, and one that counts earlier
    /// than the node's last one is ignored (`StaleHeartbeat`), so a node
    /// whose clock runs ahead cannot lock itself out. A revision of the
    /// node's cluster that was never published counts as none; a sync-error
    /// detail is kept to [`MAX_DETAIL_LEN`](crate::MAX_DETAIL_LEN) bytes; an
    /// applied snapshot id must pass
    /// [`validate_snapshot_id`](crate::validate_snapshot_id). Steady-state
    /// heartbeats touch only the node's slot.
    #[inline]
    pub fn heartbeat(&self, handle: NodeHandle, hb: &Heartbeat<'_>) -> Result<Option<Directive<'_>>> {
        self.heartbeat_node(self.resolve(handle)?, hb, self.clock.now_ms())?.map_err(|r| self.refusal_error(r))
    }

    /// [`heartbeat`](Self::heartbeat) by node id (one registry lookup more).
    pub fn heartbeat_by_id(&self, node: &str, hb: &Heartbeat<'_>) -> Result<Option<Directive<'_>>> {
        let slot = self.execution.nodes.lookup(node).ok_or_else(|| Error::not_found(format_args!("node '{node}'")))?;
        self.heartbeat_node(self.resolve_slot(slot)?, hb, self.clock.now_ms())?.map_err(|r| self.refusal_error(r))
    }

    /// [`heartbeat`](Self::heartbeat) for a caller to which a stale heartbeat
    /// is an expected outcome (reordered or retried reports), not a failure:
    /// it comes back as [`Received::Stale`], for which no message is built, so
    /// it costs no more than an accepted heartbeat. Every other error is the
    /// same as `heartbeat`'s.
    ///
    /// ```
    /// use fleetgov::*;
    /// let e = demo::engine(1_700_000_000_000).unwrap();
    /// let gw = e.node_handle("gw-prod-us-1").unwrap();
    /// let hb = |at| Heartbeat::new(at, "3.6.1".parse().unwrap());
    /// assert!(matches!(e.receive(gw, &hb(1_700_000_000_000)).unwrap(), Received::Accepted(_)));
    /// assert!(matches!(e.receive(gw, &hb(1_699_999_999_000)).unwrap(), Received::Stale));
    /// // `heartbeat` words the same outcome as an error, for people:
    /// let stale = e.heartbeat(gw, &hb(1_699_999_999_000)).unwrap_err();
    /// assert_eq!(stale.kind(), ErrorKind::StaleHeartbeat);
    /// assert_eq!(
    ///     stale.message(),
    ///     "heartbeat of node 'gw-prod-us-1' at 1699999999000 ms is older than its last one; ignored"
    /// );
    /// ```
    pub fn receive(&self, handle: NodeHandle, hb: &Heartbeat<'_>) -> Result<Received<'_>> {
        match self.heartbeat_node(self.resolve(handle)?, hb, self.clock.now_ms())? {
            Ok(directive) => Ok(Received::Accepted(directive)),
            Err(Refusal::Stale { .. }) => Ok(Received::Stale),
            Err(refusal) => Err(self.refusal_error(refusal)),
        }
    }

    /// The error a caller of [`heartbeat`](Self::heartbeat) sees for `refusal`,
    /// naming the node and the times.
    fn refusal_error(&self, refusal: Refusal) -> Error {
        match refusal {
            Refusal::Stale { slot, at_ms } => Error::new(
                ErrorKind::StaleHeartbeat,
                format!(
                    "heartbeat of node '{}' at {at_ms} ms is older than its last one; ignored",
                    self.execution.nodes.id(slot)
                ),
            ),
            Refusal::Future { at_ms, now_ms } => Error::new(
                ErrorKind::FutureHeartbeat,
                format!("heartbeat at {at_ms} ms is more than 5 minutes ahead of now ({now_ms} ms)"),
            ),
            Refusal::Removed { slot } => crate::execution::unenrol::removed_error(self.execution.nodes.id(slot)),
        }
    }

    /// A heartbeat decoded and applied: a malformed one is the outer error,
    /// a refused one the inner.
    fn heartbeat_node<'e>(
        &'e self,
        node: NodeRef<'e>,
        hb: &Heartbeat<'_>,
        now_ms: u64,
    ) -> Result<Result<Option<Directive<'e>>, Refusal>> {
        hb.metrics.validate()?;
        let revision = match (hb.applied_snapshot, hb.applied_hash) {
            (None, None) => 0,
            // An id of the node's own cluster is well-formed by construction
            // (the cluster id was validated when it was created); any other
            // is checked before it is counted as none.
            (Some(id), Some(_)) => match parse_snapshot_id(id) {
                Some((c, r)) if c == &*node.cluster.id => r,
                _ => validate_snapshot_id("applied snapshot id", id).map(|()| 0)?,
            },
            _ => return Err(Error::invalid("applied_snapshot and applied_hash go together")),
        };
        let obs = Observation {
            at_ms: hb.at_ms,
            revision,
            hash: hb.applied_hash.as_ref(),
            version: hb.runtime_version.to_bits(),
            status: hb.status,
            metrics: &hb.metrics,
            sync_error: hb.sync_error.map(|e| (e.code, e.detail.as_str())),
        };
        Ok(self.observe(node, &obs, now_ms, &mut Direct))
    }

    /// Applies one validated observation to its node's slot: the hot path.
    /// Every ingest path (single call, batch of records) ends here, so the
    /// rules below hold alike on all of them:
    ///
    /// - **Time**: a heartbeat stamped more than [`MAX_FUTURE_SKEW_MS`]
    ///   ahead of `now_ms` (the engine's clock at receipt) is refused; any
    ///   other counts at `min(stamp, now_ms)`, which orders it (staleness),
    ///   is stored as the node's last heartbeat and journals its
    ///   transitions. A node whose clock runs ahead therefore cannot lock
    ///   itself out: its correct heartbeats afterwards are not older than
    ///   the engine's own clock was. Nothing is ever recorded after the
    ///   engine's clock.
    /// - **Revision**: a revision of the node's own cluster that was never
    ///   published counts as none (as a snapshot of another cluster does):
    ///   the node shows no applied snapshot id, only its hash.
    /// - **Detail**: a sync-error detail is kept cut by
    ///   [`cut_detail`](crate::execution::sync_error::cut_detail).
    ///
    /// Decode and checks come first; under the slot lock only the
    /// [`transition::step`] is computed and stored (with the journal entry
    /// and the counter moves it implies); the audit record of a new
    /// reconciliation wave, the sync-error detail and the change-feed events
    /// are written after the lock is released.
    pub(crate) fn observe<'e>(
        &'e self,
        node: NodeRef<'e>,
        obs: &Observation<'_>,
        now_ms: u64,
        snapshots: &mut impl Snapshots,
    ) -> Result<Option<Directive<'e>>, Refusal> {
        if obs.at_ms > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
            return Err(Refusal::Future { at_ms: obs.at_ms, now_ms });
        }
        let NodeRef { slot, cell, cluster } = node;
        let stamp = obs.at_ms;
        let known = snapshots.hash(&node, obs.revision);
        let obs = &Observation {
            at_ms: stamp.min(now_ms),
            revision: if known.is_some() { obs.revision } else { 0 },
            sync_error: obs.sync_error.map(|(code, detail)| (code, cut_detail(detail))),
            ..*obs
        };
        let hash_ok = matches!((known, obs.hash), (Some(k), Some(h)) if k == *h);
        let report = transition::Report {
            revision: obs.revision,
            hash_ok,
            status: obs.status,
            code: match obs.sync_error {
                Some((code, _)) => Some(code),
                None if known.is_some() && !hash_ok => Some(SyncErrorCode::HashMismatch),
                None => None,
            },
        };
        let fingerprint = obs.sync_error.map_or(0, |e| self.execution.fingerprint.hash_one(e) as u32 | 1);
        // Checked under the lock only: a stale report is rare, and a check
        // before the lock would read the slot twice for every other one.
        let guard = cell.lock();
        let old = guard.state();
        if !old.is_enrolled() {
            // Removed since it was resolved (see `Engine::unenroll`).
            drop(guard);
            return Err(Refusal::Removed { slot });
        }
        if old.has_heartbeat() && obs.at_ms < guard.last_heartbeat_ms() {
            drop(guard);
            return Err(Refusal::Stale { slot, at_ms: stamp });
        }
        // A rollout decides what this node should run and be told (see
        // `Rollout::steer`), read from its steering words; a cluster without
        // one reads two. The desired revision is read first: a publish puts
        // its rollout in place before it makes the target desired, so a
        // heartbeat that sees the target also sees the rollout.
        let cluster_desired = cluster.authority.desired();
        let bucket = cell.bucket();
        let runs = if hash_ok { report.revision } else { 0 };
        let rule = cluster.authority.rule(bucket);
        // The steady state: a report that repeats the node's last one, to
        // which nothing is owed, stores its time and metrics and nothing
        // else (no counter, journal or feed work; see `transition::is_repeat`).
        // Only a verified hash is known to repeat: an unmatched one may
        // differ from the last, and the journal keeps each. A repeat keeps
        // the old word, whose error code is then none, so the stored detail
        // fingerprint is already 0 (one is stored only with a code).
        if rule.is_none()
            && hash_ok
            && fingerprint == 0
            && !old.is_failing()
            && transition::is_repeat(
                old,
                &report,
                cluster_desired,
                cluster.authority.force_epoch(),
                cluster.authority.auto_reconcile(),
            )
        {
            debug_assert_eq!(guard.error_fp(), 0, "a repeated report stores no sync-error detail");
            guard.write(&SlotWrite {
                at_ms: obs.at_ms,
                metrics: obs.metrics,
                version: obs.version,
                error_fp: 0,
                odd_hash: 0,
            });
            return Ok(None);
        }
        let steer = rule.map(|r| r.steer(runs));
        let failing = rule.is_some_and(|r| r.counts_failure(obs.at_ms, report.code.is_some()));
        let rollout_active = rule.is_some_and(|r| r.phase.is_active());
        let desired = steer.map_or(cluster_desired, |s| s.desired);
        let (directs, holds) = steer.map_or((false, false), |s| (s.directs, s.holds));
        let wave = cluster.authority.wave(desired);
        let authority = transition::Authority {
            desired,
            force_epoch: cluster.authority.force_epoch(),
            // The rollout's own directives are audited by its records.
            auto_reconcile: !holds && (directs || cluster.authority.auto_reconcile()),
            wave_open: directs || cluster.authority.wave_open(wave),
        };
        let step = transition::step(old, &report, &authority);
        let state = step.state.with_failing(failing);
        // Journal what the node runs when it changes (never per heartbeat).
        let old_hash = if old.hash_ok() { HashRef::Verified } else { HashRef::from_bits(guard.odd_hash()) };
        let new_hash = match obs.hash {
            None => HashRef::None,
            Some(_) if hash_ok => HashRef::Verified,
            Some(h) if self.execution.journal.odd_hash(old_hash) == Some(*h) => old_hash,
            Some(h) => match crate::execution::unmatched::take(guard.unmatched_budget(), obs.at_ms) {
                Some(word) => {
                    guard.set_unmatched_budget(word);
                    self.execution.journal.push_odd(*h).unwrap_or(HashRef::Withheld)
                }
                None => HashRef::Withheld,
            },
        };
        let applied_changed = !old.has_heartbeat() || old.revision() != obs.revision || old_hash != new_hash;
        if applied_changed {
            // After any time already answered for (see `AuditLog::seal`).
            let at_ms = obs.at_ms.max(self.governance.audit().not_before());
            let transition = Transition { at_ms, revision: obs.revision, hash: new_hash };
            if let Some(entry) = self.execution.journal.push(slot, guard.last_transition(), transition) {
                guard.set_last_transition(entry);
            }
        }
        let old_fingerprint = guard.error_fp();
        guard.write(&SlotWrite {
            at_ms: obs.at_ms,
            metrics: obs.metrics,
            version: obs.version,
            error_fp: fingerprint,
            odd_hash: if matches!(new_hash, HashRef::Odd(_) | HashRef::Withheld) { new_hash.to_bits() } else { 0 },
        });
        let bucket_move = step.bucket_move(old);
        if let Some((from, to)) = bucket_move {
            cluster.counters.move_bucket(from, to);
        }
        let fresh_move = step.fresh_move(old);
        if let Some((from, to)) = fresh_move {
            cluster.counters.move_fresh(bucket, from, to);
        }
        let error_move = step.error_move(old);
        if let Some((from, to)) = error_move {
            cluster.counters.move_error(slot, from, to);
        }
        let failing_moved = old.is_failing() != failing;
        if failing_moved {
            cluster.counters.buckets.move_failing(bucket, failing);
        }
        guard.set_state(state);
        // The feed's order is the lock's order: reserve the numbers here.
        let counters_moved = bucket_move.is_some() || fresh_move.is_some() || error_move.is_some() || failing_moved;
        let announced = (self.feed.is_listened() && (applied_changed || step.is_transition(old, desired)))
            .then(|| self.feed.reserve(if counters_moved { 2 } else { 1 }));
        drop(guard);

        // After the lock: what may block or allocate.
        if !old.is_fresh() {
            cluster.counters.expiry.schedule(slot, obs.at_ms);
        }
        if fingerprint != old_fingerprint {
            self.execution.sync_errors.record(slot, obs.at_ms, obs.sync_error);
        }
        if let Some(seq) = announced {
            self.announce_node(seq, slot, cluster, obs, state, desired);
            if counters_moved {
                self.feed.write(seq + 1, Change::Cluster(cluster.change(self.tally(cluster, now_ms))));
            }
        }
        if counters_moved && rollout_active {
            // Its gates may open now; never waits for the authority lock.
            self.nudge_rollout(cluster, now_ms);
        }
        let kind = match step.answer {
            Answer::Nothing => return Ok(None),
            Answer::ForceSync => DirectiveKind::ForceSync,
            Answer::Reconcile => DirectiveKind::Reconcile,
            // Audit before effect: no record, no directive.
            Answer::OpenWave => {
                let Some(to) = cluster.authority.snapshot(desired) else { return Ok(None) };
                match cluster.authority.open_wave_with(wave, || self.record_wave(cluster, &to.id, obs.at_ms)) {
                    Ok(()) => DirectiveKind::Reconcile,
                    Err(_) => return Ok(None),
                }
            }
        };
        Ok(cluster.authority.snapshot(desired).map(|snapshot| Directive { kind, snapshot }))
    }

    /// Writes a node's transition into the change feed as event `seq`.
    fn announce_node(
        &self,
        seq: u64,
        slot: u32,
        cluster: &ClusterState,
        obs: &Observation<'_>,
        state: crate::execution::slot::NodeState,
        desired: u32,
    ) {
        let change = NodeChange {
            node: self.execution.nodes.id(slot).to_owned(),
            cluster: Arc::clone(&cluster.id),
            at_ms: obs.at_ms,
            applied_revision: (obs.revision != 0).then_some(obs.revision),
            applied_hash: obs.hash.copied(),
            in_sync: transition::in_sync(state, desired),
            sync_error: state.error_code(),
        };
        self.feed.write(seq, Change::Node(change));
    }
}
