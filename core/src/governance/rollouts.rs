//! Rollouts run by the engine: the gates evaluated on heartbeats and by
//! [`Engine::advance_rollouts`], the operator actions, and the audit record
//! of every change (the model itself is in [`crate::rollout`]).
//!
//! | change | who | record |
//! |---|---|---|
//! | publish with a plan | operator, admin | the `publish` record carries the plan |
//! | a wave starts, the rollout halts, rolls back (`auto_rollback`) or completes | the engine (`fleetgov`) | one `rollout` record each |
//! | pause, resume, abort, promote | operator, admin, with a justification | one `rollout` record each |
//!
//! Every change is recorded before it takes effect, under the authority
//! lock, so the audit order is the apply order and a replay of the log (a
//! reopened engine, every NATS instance) rebuilds the same rollout. What is
//! not recorded: a converged wave beginning to bake (or losing its
//! convergence while it bakes) changes no node's desired snapshot; a
//! reopened engine begins that bake again at its first evaluation, so a
//! bake is never shortened.

use std::sync::Arc;

use serde::Serialize;

use crate::authority::event::AuthorityEvent;
use crate::authority::replay::AuthorityGuard;
use crate::authority::rollout::{BUCKETS, BucketCounts, Phase, Rollout, RolloutChange, Step, WaveCounts};
use crate::authority::snapshot::snapshot_id;
use crate::cluster_state::ClusterState;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::governance::audit::{AuditAction, AuditEntry, AuditRecord};
use crate::governance::overrides::{Override, SYSTEM_ACTOR, check_actor};
use crate::role::Role;

/// A cluster's rollout as an operator sees it at one moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RolloutView {
    /// The cluster.
    pub cluster: String,
    /// Where it stands: `progressing`, `baking`, `paused`, `halted`,
    /// `rolled_back`, `aborted` or `complete`.
    pub state: Phase,
    /// The index of the newest started wave.
    pub wave: usize,
    /// The plan's waves: cumulative percentages of the cluster's nodes.
    pub waves: Vec<u8>,
    /// How long a converged wave holds before the next starts (ms).
    pub bake_ms: u64,
    /// The failures allowed, in percent of the nodes of started waves.
    pub max_failure_pct: f64,
    /// Whether a halt returns the cluster to the previous snapshot.
    pub auto_rollback: bool,
    /// The snapshot the rollout moves nodes to.
    pub target_snapshot: String,
    /// The snapshot nodes of waves not started keep.
    pub previous_snapshot: String,
    /// Nodes of started waves.
    pub nodes_started: u64,
    /// Of them, verified on the target.
    pub on_target: u64,
    /// Of them, failing: a sync error or a hash mismatch reported since their wave started.
    pub failures: u64,
    /// The failures the plan allows among `nodes_started`.
    pub failure_budget: u64,
    /// Why it halted, while it is halted or rolled back.
    pub reason: Option<String>,
    /// When the current phase began (unix ms).
    pub since_ms: u64,
    /// When the current bake ends, while baking.
    pub bake_ends_ms: Option<u64>,
    /// Each wave's figures, in order.
    pub per_wave: Vec<WaveView>,
}

/// One wave of a rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WaveView {
    /// The wave's cumulative percentage.
    pub percent: u8,
    /// The wave's nodes.
    pub nodes: u64,
    /// Of them, verified on the target.
    pub on_target: u64,
    /// Of them, failing.
    pub failures: u64,
    /// When it started (unix ms), if it has.
    pub started_ms: Option<u64>,
}

impl Engine {
    /// The rollout of `cluster` as of `now_ms`; `None` when the cluster
    /// never had one. Reading costs one counter read per rollout bucket.
    ///
    /// ```
    /// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
    /// assert!(e.rollout("eks-prod-us", 1_700_000_000_000).unwrap().is_none());
    /// ```
    pub fn rollout(&self, cluster: &str, now_ms: u64) -> Result<Option<RolloutView>> {
        let state = self.cluster_state(cluster)?;
        Ok(state
            .authority
            .rollout()
            .as_ref()
            .as_ref()
            .map(|r| rollout_view(state, r, &self.bucket_counts(state, r.previous(), r.target(), now_ms))))
    }

    /// Evaluates the gates of every active rollout at `now_ms` (a bake may
    /// have ended with no heartbeat to notice it): waves start, rollouts
    /// halt, roll back or complete, each with its audit record. Returns how
    /// many steps were taken. A server calls it on a timer.
    ///
    /// ```
    /// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
    /// assert_eq!(e.advance_rollouts(1_700_000_000_000).unwrap(), 0);
    /// ```
    pub fn advance_rollouts(&self, now_ms: u64) -> Result<usize> {
        let mut taken = 0;
        for cluster in self.all_clusters() {
            if cluster.with_active_rollout(|_| ()).is_some() {
                let mut guard = self.authority_lock()?;
                taken += self.step_rollout(&mut guard, cluster, now_ms, Retry::Yes)?;
            }
        }
        Ok(taken)
    }

    /// [`advance_rollouts`](Self::advance_rollouts) for one cluster: what
    /// an instance that holds only some clusters' nodes calls for those.
    pub fn advance_rollout(&self, cluster: &str, now_ms: u64) -> Result<usize> {
        let state = self.cluster_state(cluster)?;
        let mut guard = self.authority_lock()?;
        self.step_rollout(&mut guard, state, now_ms, Retry::Yes)
    }

    /// Evaluates a cluster's gates after a heartbeat moved its counters,
    /// unless another authority change holds the lock (the next heartbeat or
    /// [`advance_rollouts`](Self::advance_rollouts) evaluates them then).
    pub(crate) fn nudge_rollout(&self, cluster: &ClusterState, now_ms: u64) {
        // A probe on a copy of the gate first: most transitions open no
        // gate, and taking the lock catches up with a shared audit store.
        let due = cluster.with_active_rollout(|r| {
            let counts = cluster.counters.buckets.counts(r.previous(), r.target());
            let mut gate = *r.gate();
            gate.evaluate(r.plan(), &r.waves(&counts), now_ms).is_some()
        });
        if due != Some(true) {
            return;
        }
        if let Some(Ok(mut guard)) = self.try_authority_lock() {
            // A failed or refused record leaves the rollout as it was; the
            // next evaluation tries again. A heartbeat never waits for one.
            let _ = self.step_rollout(&mut guard, cluster, now_ms, Retry::No);
        }
    }

    /// Pauses the rollout of `cluster`: no wave starts and the started
    /// waves' nodes get no directive until it is resumed. Needs an operator
    /// or admin and a justification ([`Engine::force_sync`]'s rules); a
    /// rollout that is not progressing or baking is a
    /// [`Conflict`](ErrorKind::Conflict). Returns the audit record.
    ///
    /// ```
    /// use fleetgov::{By, Override, Role, rollout::RolloutPlan};
    /// let t = 1_700_000_000_000;
    /// let e = fleetgov::demo::engine(t).unwrap();
    /// let plan = RolloutPlan::new([10, 100], 0, 0.0, false).unwrap();
    /// e.publish_with_rollout("eks-prod-us", b"v3", &By::new("alice", Role::Operator, t), plan).unwrap();
    /// let by = Override::new("bob", Role::Operator, "canary latency is up", t);
    /// e.pause_rollout("eks-prod-us", &by).unwrap();
    /// assert_eq!(e.rollout("eks-prod-us", t).unwrap().unwrap().state.as_str(), "paused");
    /// assert!(e.pause_rollout("eks-prod-us", &by).is_err(), "already paused");
    /// ```
    pub fn pause_rollout(&self, cluster: &str, by: &Override<'_>) -> Result<Arc<AuditRecord>> {
        self.act_on_rollout(cluster, by, RolloutChange::Paused)
    }

    /// Resumes a paused or halted rollout of `cluster` (a halted one halts
    /// again unless its failures fell within the budget); as
    /// [`pause_rollout`](Self::pause_rollout).
    pub fn resume_rollout(&self, cluster: &str, by: &Override<'_>) -> Result<Arc<AuditRecord>> {
        self.act_on_rollout(cluster, by, RolloutChange::Resumed)
    }

    /// Aborts the rollout of `cluster`: every node should run the previous
    /// snapshot again, and those that applied the target are told to
    /// return; as [`pause_rollout`](Self::pause_rollout).
    pub fn abort_rollout(&self, cluster: &str, by: &Override<'_>) -> Result<Arc<AuditRecord>> {
        self.act_on_rollout(cluster, by, RolloutChange::Aborted)
    }

    /// Starts every remaining wave of the rollout of `cluster` now; as
    /// [`pause_rollout`](Self::pause_rollout).
    pub fn promote_rollout(&self, cluster: &str, by: &Override<'_>) -> Result<Arc<AuditRecord>> {
        self.act_on_rollout(cluster, by, RolloutChange::Promoted)
    }

    fn act_on_rollout(&self, cluster: &str, by: &Override<'_>, change: RolloutChange) -> Result<Arc<AuditRecord>> {
        check_actor(by.actor)?;
        let what = format!("{} the rollout of cluster '{cluster}'", change.as_str());
        crate::text::validate_justification(by.justification, true).map_err(|e| e.context(&what))?;
        if by.role < Role::Operator {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!("role {} may not change a rollout ({what}); it needs operator", by.role.as_str()),
            ));
        }
        let mut guard = self.authority_lock()?;
        loop {
            let state = self.cluster_state(cluster)?;
            let who = (by.actor, by.role, by.justification);
            if let Some(record) = self.record_rollout_change(&mut guard, state, who, change.clone(), by.at_ms)? {
                return Ok(record);
            }
        }
    }

    /// Takes the gate steps due at `now_ms`, recording those that change
    /// what nodes should run; returns how many were taken. With
    /// [`Retry::No`] a record the log did not take (another writer came
    /// first, or a shared store refused this engine's step) ends the
    /// evaluation instead of being checked and tried again.
    fn step_rollout(
        &self,
        guard: &mut AuthorityGuard<'_>,
        state: &ClusterState,
        now_ms: u64,
        retry: Retry,
    ) -> Result<usize> {
        let mut taken = 0;
        // Each step moves the gate forward; a few per wave at most.
        for _ in 0..(3 * BUCKETS as usize + 3) {
            let current = state.authority.rollout();
            let Some(rollout) = current.as_ref().as_ref().filter(|r| r.gate().phase().is_active()) else { break };
            let (change, why) = if rollout.gate().phase() == Phase::Halted {
                // A halt rolls back at once with `auto_rollback`; a halt
                // whose rollback was not recorded yet is rolled back now.
                if !rollout.plan().auto_rollback() {
                    break;
                }
                let why = format!("auto_rollback: failure budget exceeded: {}", rollout.reason().unwrap_or_default());
                (RolloutChange::RolledBack, why)
            } else {
                let counts = self.bucket_counts(state, rollout.previous(), rollout.target(), now_ms);
                let mut next = rollout.clone();
                let Some(step) = next.evaluate(&counts, now_ms) else { break };
                match step {
                    Step::Baking | Step::Unsettled => {
                        state.authority.set_rollout(Some(next));
                        self.announce_cluster(state);
                        taken += 1;
                        continue;
                    }
                    Step::WaveStarted(wave) => (
                        RolloutChange::WaveStarted { wave },
                        format!("wave {wave} of the rollout to {} starts", target_id(state, rollout)),
                    ),
                    Step::Halted { failures, nodes } => {
                        let reason = halt_reason(state, failures, nodes);
                        let why = format!("failure budget exceeded: {reason}");
                        (RolloutChange::Halted { reason }, why)
                    }
                    Step::Complete => (
                        RolloutChange::Complete,
                        format!("every wave of the rollout to {} converged", target_id(state, rollout)),
                    ),
                }
            };
            match self.record_rollout_change(guard, state, (SYSTEM_ACTOR, Role::Operator, &why), change, now_ms)? {
                Some(_) => taken += 1,
                None if matches!(retry, Retry::Yes) => continue,
                None => break,
            }
        }
        Ok(taken)
    }

    /// Records `change` of the rollout of `state` by `(actor, role,
    /// justification)` at `at_ms`, then applies it; `None` when the log grew
    /// in between (the change was checked against a stale state: nothing
    /// was written, check again).
    fn record_rollout_change(
        &self,
        guard: &mut AuthorityGuard<'_>,
        state: &ClusterState,
        (actor, role, justification): (&str, Role, &str),
        change: RolloutChange,
        at_ms: u64,
    ) -> Result<Option<Arc<AuditRecord>>> {
        let current = state.authority.rollout();
        let Some(rollout) = current.as_ref() else {
            return Err(Error::not_found(format_args!("a rollout of cluster '{}'", state.id)));
        };
        // Checked before anything is written: audit before effect.
        rollout.clone().apply(&change, at_ms.max(self.governance.audit().not_before()))?;
        let entry = AuditEntry::new(at_ms, actor, role, AuditAction::Rollout, format!("cluster:{}", state.id))
            .justification(justification);
        let event =
            AuthorityEvent::Rollout { cluster: state.id.to_string(), target: rollout.target(), change: change.clone() };
        let Some(record) = guard.record_entry(entry, event, &[])? else { return Ok(None) };
        self.apply_rollout_change(&state.id, rollout.target(), &change, record.time_ms)?;
        Ok(Some(record))
    }

    /// Applies a recorded rollout change (live or replayed): a record for
    /// another rollout than the cluster's current one changes nothing.
    pub(crate) fn apply_rollout_change(
        &self,
        cluster: &str,
        target: u32,
        change: &RolloutChange,
        at_ms: u64,
    ) -> Result<()> {
        let state = self.cluster_state(cluster)?;
        let current = state.authority.rollout();
        let Some(mut next) = current.as_ref().clone().filter(|r| r.target() == target) else { return Ok(()) };
        next.apply(change, at_ms)?;
        let previous = next.previous();
        let returns = matches!(next.gate().phase(), Phase::RolledBack | Phase::Aborted);
        state.authority.set_rollout(Some(next));
        if returns {
            state.authority.restore_desired(previous);
        }
        self.announce_cluster(state);
        Ok(())
    }

    /// Clears the failing bit of the nodes of `state` that last reported
    /// before `at_ms`, when a new rollout starts then: they failed in an
    /// earlier one. Costs a pass over the cluster's nodes only when some
    /// node is failing.
    pub(crate) fn forget_failures_before(&self, state: &ClusterState, at_ms: u64) {
        if state.counters.buckets.failing() > 0 {
            // A copy of the members: a removal locks its slot, then the members.
            let members = state.counters.members();
            self.execution.forget_failures_before(&members, &state.counters.buckets, at_ms);
        }
    }
}

/// Whether a gate step the log did not take is checked and tried again.
#[derive(Clone, Copy)]
enum Retry {
    Yes,
    No,
}

/// The snapshot id of a rollout's target.
fn target_id(state: &ClusterState, rollout: &Rollout) -> String {
    snapshot_id(&state.id, rollout.target())
}

/// `3 of 100 nodes failed: RELOAD_FAILURE, HASH_MISMATCH`: the counts and
/// the failure codes the cluster's nodes report.
fn halt_reason(state: &ClusterState, failures: u64, nodes: u64) -> String {
    let codes: Vec<&str> = state.counts().errors.iter().map(|(code, _)| code.as_str()).collect();
    let noun = if nodes == 1 { "node" } else { "nodes" };
    match codes.is_empty() {
        true => format!("{failures} of {nodes} {noun} failed"),
        false => format!("{failures} of {nodes} {noun} failed: {}", codes.join(", ")),
    }
}

/// The view of `rollout` of `state` from its counts by bucket.
fn rollout_view(state: &ClusterState, rollout: &Rollout, counts: &[BucketCounts; BUCKETS as usize]) -> RolloutView {
    let waves = rollout.waves(counts);
    let started = &waves[..waves.len().min(rollout.gate().wave() + 1)];
    let sum = |f: fn(&WaveCounts) -> u64| started.iter().map(f).sum::<u64>();
    let nodes_started = sum(|w| w.nodes);
    let plan = rollout.plan();
    RolloutView {
        cluster: state.id.to_string(),
        state: rollout.gate().phase(),
        wave: rollout.gate().wave(),
        waves: plan.waves().to_vec(),
        bake_ms: plan.bake_ms(),
        max_failure_pct: plan.max_failure_pct(),
        auto_rollback: plan.auto_rollback(),
        target_snapshot: snapshot_id(&state.id, rollout.target()),
        previous_snapshot: snapshot_id(&state.id, rollout.previous()),
        nodes_started,
        on_target: sum(|w| w.on_target),
        failures: sum(|w| w.failures),
        failure_budget: plan.failure_budget(nodes_started),
        reason: rollout.reason().map(str::to_owned),
        since_ms: rollout.gate().since_ms(),
        bake_ends_ms: rollout.gate().bake_ends_ms(plan),
        per_wave: waves
            .iter()
            .enumerate()
            .map(|(i, w)| WaveView {
                percent: plan.waves()[i],
                nodes: w.nodes,
                on_target: w.on_target,
                failures: w.failures,
                started_ms: rollout.started_ms(i),
            })
            .collect(),
    }
}
