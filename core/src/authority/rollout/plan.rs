//! The plan a publish may carry.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The most waves a plan may have.
const MAX_WAVES: usize = 100;

/// How a published snapshot reaches its cluster: `waves` (strictly
/// increasing whole percentages of the cluster's nodes, the last 100), how
/// long a converged wave holds before the next starts (`bake_ms`), the
/// failures allowed among the nodes of started waves (`max_failure_pct`),
/// and whether a halt returns the cluster to the previous snapshot
/// (`auto_rollback`).
///
/// ```
/// use fleetgov::rollout::RolloutPlan;
/// let plan = RolloutPlan::new([1, 10, 50, 100], 60_000, 5.0, true).unwrap();
/// assert_eq!(plan.waves(), &[1, 10, 50, 100]);
/// assert_eq!(plan.failure_budget(200), 10);
/// assert!(RolloutPlan::new([10, 5, 100], 0, 0.0, false).is_err(), "not increasing");
/// assert!(RolloutPlan::new([10, 50], 0, 0.0, false).is_err(), "does not end at 100");
/// assert!(RolloutPlan::new([100], 0, f64::NAN, false).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PlanRepr", into = "PlanRepr")]
pub struct RolloutPlan {
    waves: Vec<u8>,
    bake_ms: u64,
    max_failure_pct: f64,
    auto_rollback: bool,
}

/// The serde form of a [`RolloutPlan`], validated on the way in.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanRepr {
    waves: Vec<u8>,
    bake_ms: u64,
    max_failure_pct: f64,
    auto_rollback: bool,
}

impl RolloutPlan {
    /// A plan; [`InvalidInput`](crate::ErrorKind::InvalidInput) unless the
    /// waves are 1 to 100 whole percentages, strictly increasing, ending at
    /// 100, and `max_failure_pct` is a number from 0 to 100.
    pub fn new(waves: impl Into<Vec<u8>>, bake_ms: u64, max_failure_pct: f64, auto_rollback: bool) -> Result<Self> {
        let waves = waves.into();
        if waves.is_empty() || waves.len() > MAX_WAVES {
            return Err(Error::invalid(format!("a rollout has 1 to {MAX_WAVES} waves, not {}", waves.len())));
        }
        if waves[0] == 0 || waves.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid(format!(
                "rollout waves {waves:?} are not strictly increasing percentages from 1"
            )));
        }
        if waves.last() != Some(&100) {
            return Err(Error::invalid(format!("rollout waves {waves:?} do not end at 100")));
        }
        if !(0.0..=100.0).contains(&max_failure_pct) {
            return Err(Error::invalid(format!("max_failure_pct {max_failure_pct} is not from 0 to 100")));
        }
        Ok(RolloutPlan { waves, bake_ms, max_failure_pct, auto_rollback })
    }

    /// The waves: cumulative percentages of the cluster's nodes, the last 100.
    pub fn waves(&self) -> &[u8] {
        &self.waves
    }

    /// How long a converged wave holds before the next starts (ms).
    pub fn bake_ms(&self) -> u64 {
        self.bake_ms
    }

    /// The failures allowed, in percent of the nodes of started waves.
    pub fn max_failure_pct(&self) -> f64 {
        self.max_failure_pct
    }

    /// Whether a halt returns the cluster to the previous snapshot.
    pub fn auto_rollback(&self) -> bool {
        self.auto_rollback
    }

    /// How many of `nodes` (the nodes of started waves) may fail, or lag,
    /// without halting: `max_failure_pct` of them, rounded down.
    pub fn failure_budget(&self, nodes: u64) -> u64 {
        // Exact for every u64 a fleet can hold (< 2^53 nodes).
        (nodes as f64 * self.max_failure_pct / 100.0).floor() as u64
    }
}

impl TryFrom<PlanRepr> for RolloutPlan {
    type Error = Error;
    fn try_from(r: PlanRepr) -> Result<Self> {
        RolloutPlan::new(r.waves, r.bake_ms, r.max_failure_pct, r.auto_rollback)
    }
}

impl From<RolloutPlan> for PlanRepr {
    fn from(p: RolloutPlan) -> Self {
        PlanRepr {
            waves: p.waves,
            bake_ms: p.bake_ms,
            max_failure_pct: p.max_failure_pct,
            auto_rollback: p.auto_rollback,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_plans_are_refused_with_a_reason() {
        for (waves, pct) in [
            (vec![], 0.0),
            (vec![0, 100], 0.0),
            (vec![50, 50, 100], 0.0),
            (vec![101], 0.0),
            (vec![100], -1.0),
            (vec![100], 100.5),
            (vec![100], f64::INFINITY),
            ((1..=101).map(|p| p as u8).collect(), 0.0),
        ] {
            let e = RolloutPlan::new(waves.clone(), 0, pct, false).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{waves:?} {pct}");
        }
        assert!(RolloutPlan::new((1..=100).collect::<Vec<u8>>(), 0, 100.0, false).is_ok());
    }

    #[test]
    fn the_serde_form_round_trips_and_is_checked() {
        let plan = RolloutPlan::new([10, 100], 60_000, 20.0, true).unwrap();
        let json = serde_json::to_string(&plan).unwrap();
        assert_eq!(json, r#"{"waves":[10,100],"bake_ms":60000,"max_failure_pct":20.0,"auto_rollback":true}"#);
        assert_eq!(serde_json::from_str::<RolloutPlan>(&json).unwrap(), plan);
        let bad = r#"{"waves":[10,50],"bake_ms":0,"max_failure_pct":0,"auto_rollback":false}"#;
        assert!(serde_json::from_str::<RolloutPlan>(bad).is_err());
    }

    #[test]
    fn the_budget_rounds_down() {
        let plan = RolloutPlan::new([100], 0, 20.0, false).unwrap();
        assert_eq!((plan.failure_budget(0), plan.failure_budget(4), plan.failure_budget(5)), (0, 0, 1));
        assert_eq!(plan.failure_budget(1_000_000), 200_000);
    }
}
