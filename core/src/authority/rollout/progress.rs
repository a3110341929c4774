//! One cluster's rollout: its plan, the revisions it moves between, and
//! where its gate stands, with the per-bucket figures turned into per-wave
//! ones.

use serde::{Deserialize, Serialize};

use super::gate::{Gate, Phase, Step, WaveCounts};
use super::plan::RolloutPlan;
use super::rank::{BUCKETS, WaveSpan};
use crate::error::Result;

/// What a cluster's nodes of one bucket are doing, as its counters keep it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketCounts {
    /// Enrolled nodes of the bucket.
    pub nodes: u64,
    /// Of them, verified to run the rollout's target.
    pub on_target: u64,
    /// Of them, verified to run the previous snapshot.
    pub on_previous: u64,
    /// Of them, failed on the target (a sync error or a hash mismatch).
    pub failures: u64,
}

/// A cluster's rollout from revision `previous` to `target`.
///
/// ```
/// use fleetgov::rollout::{BucketCounts, Rollout, RolloutPlan};
/// let plan = RolloutPlan::new([10, 100], 0, 0.0, false).unwrap();
/// let r = Rollout::new("c", plan, 1, 2, 0);
/// let canary = (0..100).filter(|&b| r.desired_for(b) == 2).count();
/// assert_eq!(canary, 10, "the first wave is 10 % of the buckets");
/// // Every node still runs revision 1: the canary's 10 buckets lag.
/// let before = [BucketCounts { nodes: 10, on_previous: 10, ..Default::default() }; 100];
/// assert_eq!(r.verified(&before), 900);
/// // The canary applied revision 2, the rest still run 1: nothing lags.
/// let after: [BucketCounts; 100] = std::array::from_fn(|b| match r.started(b as u8) {
///     true => BucketCounts { nodes: 10, on_target: 10, ..Default::default() },
///     false => BucketCounts { nodes: 10, on_previous: 10, ..Default::default() },
/// });
/// assert_eq!(r.verified(&after), 1_000, "a smooth rollout never looks like an outage");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RolloutRepr", into = "RolloutRepr")]
pub struct Rollout {
    cluster: String,
    plan: RolloutPlan,
    previous: u32,
    target: u32,
    gate: Gate,
    /// When each wave up to the gate's started (unix ms), in wave order:
    /// exactly `gate.wave() + 1` entries, kept so by
    /// [`set_gate`](Self::set_gate), the one way the gate changes, and
    /// checked when a rollout is read back.
    started_ms: Vec<u64>,
    /// Why it halted, while it is halted or rolled back.
    reason: Option<String>,
    /// Which wave each bucket belongs to (derived from the rest).
    wave_of_bucket: Vec<u8>,
}

/// The serde form of a [`Rollout`]: everything but the derived bucket index.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolloutRepr {
    cluster: String,
    plan: RolloutPlan,
    previous: u32,
    target: u32,
    gate: Gate,
    started_ms: Vec<u64>,
    reason: Option<String>,
}

impl TryFrom<RolloutRepr> for Rollout {
    type Error = crate::Error;

    fn try_from(r: RolloutRepr) -> Result<Self> {
        let wave = r.gate.wave();
        if wave >= r.plan.waves().len() || r.started_ms.len() != wave + 1 {
            return Err(crate::Error::invalid(format!(
                "a rollout at wave {wave} of {} has {} wave start times",
                r.plan.waves().len(),
                r.started_ms.len()
            )));
        }
        Ok(Rollout::from_parts(r))
    }
}

impl Rollout {
    /// The rollout of `r`, its buckets indexed; `r`'s start times fit its gate.
    fn from_parts(r: RolloutRepr) -> Rollout {
        let mut rollout = Rollout {
            cluster: r.cluster,
            plan: r.plan,
            previous: r.previous,
            target: r.target,
            gate: r.gate,
            started_ms: r.started_ms,
            reason: r.reason,
            wave_of_bucket: vec![],
        };
        rollout.index_buckets();
        rollout
    }
}

impl From<Rollout> for RolloutRepr {
    fn from(r: Rollout) -> Self {
        RolloutRepr {
            cluster: r.cluster,
            plan: r.plan,
            previous: r.previous,
            target: r.target,
            gate: r.gate,
            started_ms: r.started_ms,
            reason: r.reason,
        }
    }
}

/// A change of a rollout that the audit log records, one record each: the
/// engine's own gate steps that change what nodes should run or report
/// (a wave starts, a halt, a rollback, the end) and the operator actions.
/// Replaying them in order rebuilds the rollout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case", deny_unknown_fields)]
pub enum RolloutChange {
    /// Wave `wave` started.
    WaveStarted {
        /// The wave's index.
        wave: usize,
    },
    /// Failures exceeded the budget.
    Halted {
        /// The counts and failure codes, e.g. `3 of 100 nodes failed: RELOAD_FAILURE`.
        reason: String,
    },
    /// A halted rollout returned to the previous snapshot (its plan's `auto_rollback`).
    RolledBack,
    /// Every wave converged.
    Complete,
    /// An operator paused it.
    Paused,
    /// An operator resumed it.
    Resumed,
    /// An operator returned the cluster to the previous snapshot.
    Aborted,
    /// An operator started every remaining wave.
    Promoted,
}

impl RolloutChange {
    /// The lower-case name (`wave_started`, `halted`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            RolloutChange::WaveStarted { .. } => "wave_started",
            RolloutChange::Halted { .. } => "halted",
            RolloutChange::RolledBack => "rolled_back",
            RolloutChange::Complete => "complete",
            RolloutChange::Paused => "paused",
            RolloutChange::Resumed => "resumed",
            RolloutChange::Aborted => "aborted",
            RolloutChange::Promoted => "promoted",
        }
    }
}

/// What a rollout says one node should run and be told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Steer {
    /// The revision the node should run now.
    pub desired: u32,
    /// The rollout itself tells the node to pull `desired` when it does not
    /// run it, whether or not its cluster auto-reconciles.
    pub directs: bool,
    /// The rollout holds the node where it is: no directive at all (a
    /// paused or halted rollout's started waves).
    pub holds: bool,
}

/// What a rollout says about the nodes of one bucket (see
/// [`Rollout::rule`]): its phase, its two revisions and when the bucket's
/// wave started, if it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BucketRule {
    pub(crate) phase: Phase,
    pub(crate) target: u32,
    pub(crate) previous: u32,
    pub(crate) wave_started_ms: Option<u64>,
}

impl BucketRule {
    /// The revision the bucket's nodes should run (see [`Rollout::desired_for`]).
    pub(crate) fn desired(&self) -> u32 {
        match self.phase {
            Phase::RolledBack | Phase::Aborted => self.previous,
            Phase::Complete => self.target,
            _ if self.started() => self.target,
            _ => self.previous,
        }
    }

    /// See [`Rollout::steer`].
    pub(crate) fn steer(&self, runs: u32) -> Steer {
        let desired = self.desired();
        let started = self.started();
        match self.phase {
            Phase::Progressing | Phase::Baking => Steer { desired, directs: started, holds: false },
            Phase::Paused | Phase::Halted => Steer { desired, directs: false, holds: started },
            Phase::RolledBack | Phase::Aborted => Steer { desired, directs: runs == self.target, holds: false },
            Phase::Complete => Steer { desired, directs: false, holds: false },
        }
    }

    /// See [`Rollout::counts_failure`].
    pub(crate) fn counts_failure(&self, at_ms: u64, failed: bool) -> bool {
        failed && self.phase.is_active() && self.wave_started_ms.is_some_and(|start| start <= at_ms)
    }

    /// Whether the bucket's wave has started (see [`Rollout::started`]).
    pub(crate) fn started(&self) -> bool {
        self.wave_started_ms.is_some()
    }
}

impl Rollout {
    /// A rollout of `cluster` from revision `previous` to `target`, its
    /// first wave started at `at_ms`.
    pub fn new(cluster: &str, plan: RolloutPlan, previous: u32, target: u32, at_ms: u64) -> Rollout {
        Rollout::from_parts(RolloutRepr {
            cluster: cluster.to_owned(),
            plan,
            previous,
            target,
            gate: Gate::start(at_ms),
            started_ms: vec![at_ms],
            reason: None,
        })
    }

    /// When wave `wave` started (unix ms), if it has: the one answer to
    /// whether a wave started.
    pub fn started_ms(&self, wave: usize) -> Option<u64> {
        self.started_ms.get(wave).copied()
    }

    /// Why it halted, while it is halted or rolled back.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// What the rollout says a node of `bucket` that runs (verified)
    /// revision `runs` should run and be told:
    /// - progressing or baking: a node of a started wave should run the
    ///   target and is told to; any other keeps the previous snapshot (and
    ///   is never told to pull the target);
    /// - paused or halted: the same desired revisions, but the started
    ///   waves' nodes are held: no directive reaches them;
    /// - rolled back or aborted: every node should run the previous
    ///   snapshot, and those that run the target are told to return;
    /// - complete: every node should run the target, by the cluster's
    ///   ordinary rules.
    pub fn steer(&self, bucket: u8, runs: u32) -> Steer {
        self.rule(bucket).steer(runs)
    }

    /// Whether a heartbeat at `at_ms` of a node of `bucket` that reports a
    /// sync error or a hash mismatch (`failed`) counts among the rollout's
    /// failures: while the rollout is active, for a node whose wave
    /// started at or before `at_ms`.
    pub fn counts_failure(&self, bucket: u8, at_ms: u64, failed: bool) -> bool {
        self.rule(bucket).counts_failure(at_ms, failed)
    }

    /// What the rollout says about the nodes of `bucket`: everything a
    /// heartbeat needs, in a few words.
    pub(crate) fn rule(&self, bucket: u8) -> BucketRule {
        BucketRule {
            phase: self.gate.phase(),
            target: self.target,
            previous: self.previous,
            wave_started_ms: self.started_ms(self.wave_of(bucket)),
        }
    }

    /// Applies a recorded change made at `at_ms`; [`Conflict`](crate::ErrorKind::Conflict)
    /// when the rollout's phase does not allow it (nothing changes then).
    pub fn apply(&mut self, change: &RolloutChange, at_ms: u64) -> Result<()> {
        let mut gate = self.gate;
        match change {
            RolloutChange::WaveStarted { wave } => gate.start_wave(&self.plan, *wave, at_ms)?,
            RolloutChange::Halted { reason } => {
                gate.halt(at_ms)?;
                self.reason = Some(reason.clone());
            }
            RolloutChange::RolledBack => gate.roll_back(at_ms)?,
            RolloutChange::Complete => gate.complete(&self.plan, at_ms)?,
            RolloutChange::Paused => gate.pause(at_ms)?,
            RolloutChange::Resumed => {
                gate.resume(at_ms)?;
                self.reason = None;
            }
            RolloutChange::Aborted => gate.abort(at_ms)?,
            RolloutChange::Promoted => gate.promote(&self.plan, at_ms)?,
        }
        self.set_gate(gate, at_ms);
        Ok(())
    }

    /// Moves the gate to `gate` at `at_ms`: the waves it starts started then.
    fn set_gate(&mut self, gate: Gate, at_ms: u64) {
        self.gate = gate;
        self.started_ms.resize(gate.wave() + 1, at_ms);
    }

    fn index_buckets(&mut self) {
        let mut wave_of_bucket = vec![0u8; usize::from(BUCKETS)];
        for k in 0..self.plan.waves().len() {
            for b in WaveSpan::new(&self.cluster, self.target, self.plan.waves(), k).buckets() {
                // At most 100 waves: the index fits a byte.
                wave_of_bucket[usize::from(b)] = k as u8;
            }
        }
        self.wave_of_bucket = wave_of_bucket;
    }

    /// The plan.
    pub fn plan(&self) -> &RolloutPlan {
        &self.plan
    }

    /// The revision nodes leave (0: none).
    pub fn previous(&self) -> u32 {
        self.previous
    }

    /// The revision nodes move to.
    pub fn target(&self) -> u32 {
        self.target
    }

    /// The gate: the newest started wave and the phase.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// The wave of the nodes of `bucket`.
    pub fn wave_of(&self, bucket: u8) -> usize {
        usize::from(self.wave_of_bucket.get(usize::from(bucket)).copied().unwrap_or(0))
    }

    /// Whether the wave of `bucket` has started.
    pub fn started(&self, bucket: u8) -> bool {
        self.rule(bucket).started()
    }

    /// The revision the nodes of `bucket` should run now: the target once
    /// their wave started, the previous snapshot before; the previous for
    /// every node once the rollout was rolled back or aborted, the target
    /// once it completed.
    pub fn desired_for(&self, bucket: u8) -> u32 {
        self.rule(bucket).desired()
    }

    /// The nodes verified against their own desired revision.
    pub fn verified(&self, buckets: &[BucketCounts; BUCKETS as usize]) -> u64 {
        (0..BUCKETS)
            .map(|b| {
                let c = &buckets[usize::from(b)];
                if self.desired_for(b) == self.target { c.on_target } else { c.on_previous }
            })
            .sum()
    }

    /// The figures of each wave.
    pub fn waves(&self, buckets: &[BucketCounts; BUCKETS as usize]) -> Vec<WaveCounts> {
        let mut waves = vec![WaveCounts::default(); self.plan.waves().len()];
        for (b, c) in buckets.iter().enumerate() {
            // b < BUCKETS = 100.
            let w = &mut waves[self.wave_of(b as u8)];
            w.nodes += c.nodes;
            w.on_target += c.on_target;
            w.failures += c.failures;
        }
        waves
    }

    /// Evaluates the gate until it settles at `now_ms`; the steps taken, in
    /// order (at most a few per wave).
    pub fn advance(&mut self, buckets: &[BucketCounts; BUCKETS as usize], now_ms: u64) -> Vec<Step> {
        self.evaluate_bounded(buckets, now_ms, self.plan.waves().len() * 3 + 3)
    }

    /// Takes at most one gate step at `now_ms` ([`Gate::evaluate`] on the
    /// figures of each wave); `None` when nothing changes.
    pub fn evaluate(&mut self, buckets: &[BucketCounts; BUCKETS as usize], now_ms: u64) -> Option<Step> {
        self.evaluate_bounded(buckets, now_ms, 1).pop()
    }

    /// At most `bound` gate steps at `now_ms`, in order.
    fn evaluate_bounded(&mut self, buckets: &[BucketCounts; BUCKETS as usize], now_ms: u64, bound: usize) -> Vec<Step> {
        let waves = self.waves(buckets);
        let mut gate = self.gate;
        let steps = std::iter::from_fn(|| gate.evaluate(&self.plan, &waves, now_ms)).take(bound).collect();
        self.set_gate(gate, now_ms);
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(f: impl Fn(u8) -> BucketCounts) -> [BucketCounts; BUCKETS as usize] {
        std::array::from_fn(|b| f(b as u8))
    }

    #[test]
    fn nodes_of_unstarted_waves_keep_the_previous_snapshot() {
        let plan = RolloutPlan::new([1, 10, 100], 0, 0.0, true).unwrap();
        let mut r = Rollout::new("eks-prod-us", plan, 3, 4, 0);
        let started = |r: &Rollout| (0..BUCKETS).filter(|&b| r.desired_for(b) == 4).count();
        assert_eq!(started(&r), 1);
        // The canary bucket applied the target; the rest still run 3.
        let canary_done = counts(|b| {
            if r.started(b) {
                BucketCounts { nodes: 5, on_target: 5, ..Default::default() }
            } else {
                BucketCounts { nodes: 5, on_previous: 5, ..Default::default() }
            }
        });
        assert_eq!(r.verified(&canary_done), 500);
        assert_eq!(r.advance(&canary_done, 10), [Step::WaveStarted(1)]);
        assert_eq!(started(&r), 10);
        assert_eq!(r.verified(&canary_done), 455, "the second wave's 9 buckets now lag");
        let failing = counts(|b| BucketCounts { nodes: 5, failures: u64::from(r.started(b)), ..Default::default() });
        assert_eq!(r.advance(&failing, 11), [Step::Halted { failures: 10, nodes: 50 }]);
        r.apply(&RolloutChange::RolledBack, 11).unwrap();
        assert_eq!(started(&r), 0, "rolled back: every node should run the previous snapshot");
    }

    #[test]
    fn every_wave_the_gate_starts_has_its_start_time() {
        let plan = RolloutPlan::new([10, 50, 100], 0, 0.0, false).unwrap();
        let mut r = Rollout::new("c", plan, 1, 2, 7);
        let agree = |r: &Rollout| (0..BUCKETS).all(|b| r.started(b) == r.rule(b).wave_started_ms.is_some());
        assert!(agree(&r));
        let converged = counts(|b| BucketCounts { nodes: 1, on_target: u64::from(r.started(b)), ..Default::default() });
        assert_eq!(r.evaluate(&converged, 9), Some(Step::WaveStarted(1)));
        assert_eq!((r.started_ms(0), r.started_ms(1), r.started_ms(2)), (Some(7), Some(9), None));
        assert!(agree(&r));
        r.apply(&RolloutChange::Promoted, 12).unwrap();
        assert_eq!(r.started_ms(2), Some(12));
        assert!((0..BUCKETS).all(|b| r.started(b)) && agree(&r));
    }

    #[test]
    fn a_rollout_whose_start_times_disagree_with_its_gate_is_refused() {
        let plan = RolloutPlan::new([5, 50, 100], 1_000, 10.0, false).unwrap();
        let json = serde_json::to_string(&Rollout::new("c", plan, 1, 2, 7)).unwrap();
        assert!(json.contains(r#""started_ms":[7]"#), "{json}");
        for started in ["[]", "[7,8]"] {
            let bad = json.replace("[7]", started);
            let err = serde_json::from_str::<Rollout>(&bad).unwrap_err().to_string();
            assert!(err.contains("wave start times"), "{started}: {err}");
        }
        let beyond = json.replace(r#""wave":0"#, r#""wave":3"#).replace("[7]", "[7,7,7,7]");
        assert!(serde_json::from_str::<Rollout>(&beyond).is_err(), "a plan of 3 waves has no wave 3");
    }

    #[test]
    fn the_serde_form_restores_the_same_waves() {
        let plan = RolloutPlan::new([5, 50, 100], 1_000, 10.0, false).unwrap();
        let r = Rollout::new("c", plan, 1, 2, 7);
        let back: Rollout = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!((0..BUCKETS).filter(|&b| back.desired_for(b) == 2).count(), 5);
    }
}
