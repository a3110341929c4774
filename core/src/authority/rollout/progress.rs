//! One cluster's rollout: its plan, the revisions it moves between, and
//! where its gate stands, with the per-bucket figures turned into per-wave
//! ones.

use serde::{Deserialize, Serialize};

use super::gate::{Gate, Phase, Step, WaveCounts};
use super::plan::RolloutPlan;
use super::rank::{BUCKETS, WaveSpan};

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
#[serde(from = "RolloutRepr", into = "RolloutRepr")]
pub struct Rollout {
    cluster: String,
    plan: RolloutPlan,
    previous: u32,
    target: u32,
    gate: Gate,
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
}

impl From<RolloutRepr> for Rollout {
    fn from(r: RolloutRepr) -> Self {
        let mut rollout = Rollout {
            cluster: r.cluster,
            plan: r.plan,
            previous: r.previous,
            target: r.target,
            gate: r.gate,
            wave_of_bucket: vec![],
        };
        rollout.index_buckets();
        rollout
    }
}

impl From<Rollout> for RolloutRepr {
    fn from(r: Rollout) -> Self {
        RolloutRepr { cluster: r.cluster, plan: r.plan, previous: r.previous, target: r.target, gate: r.gate }
    }
}

impl Rollout {
    /// A rollout of `cluster` from revision `previous` (0: nothing was
    /// published before) to `target`, its first wave started at `at_ms`.
    pub fn new(cluster: &str, plan: RolloutPlan, previous: u32, target: u32, at_ms: u64) -> Rollout {
        Rollout::from(RolloutRepr { cluster: cluster.to_owned(), plan, previous, target, gate: Gate::start(at_ms) })
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
        self.wave_of(bucket) <= self.gate.wave()
    }

    /// The revision the nodes of `bucket` should run now: the target once
    /// their wave started, the previous snapshot before; the previous for
    /// every node once the rollout was rolled back or aborted, the target
    /// once it completed.
    pub fn desired_for(&self, bucket: u8) -> u32 {
        match self.gate.phase() {
            Phase::RolledBack | Phase::Aborted => self.previous,
            Phase::Complete => self.target,
            _ if self.started(bucket) => self.target,
            _ => self.previous,
        }
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
        let waves = self.waves(buckets);
        let bound = self.plan.waves().len() * 3 + 3;
        std::iter::from_fn(|| self.gate.evaluate(&self.plan, &waves, now_ms)).take(bound).collect()
    }

    /// The gate, for the operator actions ([`Gate::pause`], ...).
    pub fn gate_mut(&mut self) -> &mut Gate {
        &mut self.gate
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
        r.gate_mut().roll_back(11).unwrap();
        assert_eq!(started(&r), 0, "rolled back: every node should run the previous snapshot");
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
