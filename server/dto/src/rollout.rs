//! Controlled rollouts: the plan a publish may carry and a cluster's
//! rollout as the API shows it.

use fleetgov::rollout::RolloutPlan;
use fleetgov::{Result, RolloutView, WaveView};
use serde::{Deserialize, Serialize};

/// The `rollout` object of a publish (a [`RolloutPlan`]):
/// `{"waves": [10, 100], "bakeMs": 60000, "maxFailurePct": 20.0, "autoRollback": true}`.
/// `waves` is required; `bakeMs` and `maxFailurePct` default to 0 and
/// `autoRollback` to `false`.
///
/// ```
/// use fleetgov_dto::RolloutPlanJson;
/// let json = r#"{"waves":[10,100],"bakeMs":60000,"maxFailurePct":20.0,"autoRollback":true}"#;
/// let plan = serde_json::from_str::<RolloutPlanJson>(json).unwrap().plan().unwrap();
/// assert_eq!((plan.waves(), plan.bake_ms(), plan.auto_rollback()), (&[10, 100][..], 60_000, true));
/// assert_eq!(serde_json::to_string(&RolloutPlanJson::from(&plan)).unwrap(), json);
/// let bad: RolloutPlanJson = serde_json::from_str(r#"{"waves":[10,50]}"#).unwrap();
/// assert_eq!(bad.plan().unwrap_err().kind(), fleetgov::ErrorKind::InvalidInput);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutPlanJson {
    /// Strictly increasing whole percentages of the cluster's nodes, the last 100.
    pub waves: Vec<u8>,
    /// How long a converged wave holds before the next starts (ms).
    #[serde(default)]
    pub bake_ms: u64,
    /// The failures allowed, in percent of the nodes of started waves (0 to 100).
    #[serde(default)]
    pub max_failure_pct: f64,
    /// Whether a halt returns the cluster to the previous snapshot.
    #[serde(default)]
    pub auto_rollback: bool,
}

impl RolloutPlanJson {
    /// The plan; [`InvalidInput`](fleetgov::ErrorKind::InvalidInput) for
    /// one [`RolloutPlan::new`] refuses.
    pub fn plan(self) -> Result<RolloutPlan> {
        RolloutPlan::new(self.waves, self.bake_ms, self.max_failure_pct, self.auto_rollback)
    }
}

impl From<&RolloutPlan> for RolloutPlanJson {
    fn from(p: &RolloutPlan) -> Self {
        RolloutPlanJson {
            waves: p.waves().to_vec(),
            bake_ms: p.bake_ms(),
            max_failure_pct: p.max_failure_pct(),
            auto_rollback: p.auto_rollback(),
        }
    }
}

/// One wave of a rollout ([`WaveView`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveJson {
    /// [`WaveView::percent`].
    pub percent: u8,
    /// [`WaveView::nodes`].
    pub nodes: u64,
    /// [`WaveView::on_target`].
    pub on_target: u64,
    /// [`WaveView::failures`].
    pub failures: u64,
    /// [`WaveView::started_ms`].
    pub started_ms: Option<u64>,
}

impl From<&WaveView> for WaveJson {
    fn from(w: &WaveView) -> Self {
        WaveJson {
            percent: w.percent,
            nodes: w.nodes,
            on_target: w.on_target,
            failures: w.failures,
            started_ms: w.started_ms,
        }
    }
}

/// A cluster's rollout ([`RolloutView`]): `GET /api/v1/clusters/{id}/rollout`,
/// the answer to an operator's action on it, and the data of the `rollout`
/// event of the event stream.
///
/// ```
/// use fleetgov::{By, Role, rollout::RolloutPlan};
/// use fleetgov_dto::RolloutJson;
/// let t = 1_700_000_000_000;
/// let e = fleetgov::demo::engine(t).unwrap();
/// let plan = RolloutPlan::new([10, 100], 60_000, 20.0, true).unwrap();
/// e.publish_with_rollout("eks-prod-us", b"v3", &By::new("alice", Role::Operator, t), plan).unwrap();
/// let json = serde_json::to_value(RolloutJson::from(&e.rollout("eks-prod-us", t).unwrap().unwrap())).unwrap();
/// assert_eq!((json["state"].as_str(), json["targetSnapshot"].as_str()), (Some("progressing"), Some("eks-prod-us@r3")));
/// assert_eq!((json["bakeMs"].as_u64(), json["reason"].is_null()), (Some(60_000), true));
/// assert_eq!(json["perWave"][1]["startedMs"], serde_json::Value::Null);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutJson {
    /// [`RolloutView::cluster`].
    pub cluster: String,
    /// [`RolloutView::state`] (`progressing`, `baking`, `paused`, `halted`, `rolled_back`, `aborted`, `complete`).
    pub state: &'static str,
    /// [`RolloutView::wave`].
    pub wave: usize,
    /// [`RolloutView::waves`].
    pub waves: Vec<u8>,
    /// [`RolloutView::bake_ms`].
    pub bake_ms: u64,
    /// [`RolloutView::max_failure_pct`].
    pub max_failure_pct: f64,
    /// [`RolloutView::auto_rollback`].
    pub auto_rollback: bool,
    /// [`RolloutView::target_snapshot`].
    pub target_snapshot: String,
    /// [`RolloutView::previous_snapshot`].
    pub previous_snapshot: String,
    /// [`RolloutView::nodes_started`].
    pub nodes_started: u64,
    /// [`RolloutView::on_target`].
    pub on_target: u64,
    /// [`RolloutView::failures`].
    pub failures: u64,
    /// [`RolloutView::failure_budget`].
    pub failure_budget: u64,
    /// [`RolloutView::reason`].
    pub reason: Option<String>,
    /// [`RolloutView::since_ms`].
    pub since_ms: u64,
    /// [`RolloutView::bake_ends_ms`].
    pub bake_ends_ms: Option<u64>,
    /// [`RolloutView::per_wave`].
    pub per_wave: Vec<WaveJson>,
}

impl From<&RolloutView> for RolloutJson {
    fn from(r: &RolloutView) -> Self {
        RolloutJson {
            cluster: r.cluster.clone(),
            state: r.state.as_str(),
            wave: r.wave,
            waves: r.waves.clone(),
            bake_ms: r.bake_ms,
            max_failure_pct: r.max_failure_pct,
            auto_rollback: r.auto_rollback,
            target_snapshot: r.target_snapshot.clone(),
            previous_snapshot: r.previous_snapshot.clone(),
            nodes_started: r.nodes_started,
            on_target: r.on_target,
            failures: r.failures,
            failure_budget: r.failure_budget,
            reason: r.reason.clone(),
            since_ms: r.since_ms,
            bake_ends_ms: r.bake_ends_ms,
            per_wave: r.per_wave.iter().map(WaveJson::from).collect(),
        }
    }
}
