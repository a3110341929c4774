//! The rollout's gates: when the next wave starts, when it halts.
//!
//! [`Gate`] is the rollout's state machine, free of the engine: it is told
//! the counts of each wave and the time, and answers with the one [`Step`]
//! it took. Operator actions ([`pause`](Gate::pause),
//! [`resume`](Gate::resume), [`abort`](Gate::abort),
//! [`promote`](Gate::promote)) and the rollback after a halt are methods
//! too, so the rules live in one place and a replay of the same inputs
//! reaches the same state.

use serde::{Deserialize, Serialize};

use super::plan::RolloutPlan;
use crate::error::{Error, ErrorKind, Result};

/// Where a rollout stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The newest started wave is converging.
    Progressing,
    /// The newest started wave converged and holds for the bake time.
    Baking,
    /// An operator paused it: no wave starts until it is resumed.
    Paused,
    /// Failures exceeded the budget: no wave starts.
    Halted,
    /// Halted, then returned to the previous snapshot.
    RolledBack,
    /// An operator returned the cluster to the previous snapshot.
    Aborted,
    /// Every wave converged.
    Complete,
}

impl Phase {
    /// Whether the rollout still decides what nodes should run (not rolled
    /// back, aborted or complete).
    pub fn is_active(self) -> bool {
        matches!(self, Phase::Progressing | Phase::Baking | Phase::Paused | Phase::Halted)
    }

    /// Every phase, in code order (see [`code`](Self::code)).
    pub(crate) const ALL: [Phase; 7] = [
        Phase::Progressing,
        Phase::Baking,
        Phase::Paused,
        Phase::Halted,
        Phase::RolledBack,
        Phase::Aborted,
        Phase::Complete,
    ];

    /// A small code, 1 to 7, for packing into an atomic word.
    pub(crate) fn code(self) -> u8 {
        // The index is below 7.
        Phase::ALL.iter().position(|&p| p == self).map_or(0, |i| i as u8 + 1)
    }

    /// The phase of a [`code`](Self::code).
    pub(crate) fn from_code(code: u8) -> Option<Phase> {
        Phase::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    /// The lower-case name (`progressing`, `baking`, ..., `rolled_back`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Progressing => "progressing",
            Phase::Baking => "baking",
            Phase::Paused => "paused",
            Phase::Halted => "halted",
            Phase::RolledBack => "rolled_back",
            Phase::Aborted => "aborted",
            Phase::Complete => "complete",
        }
    }
}

/// What one wave's nodes are doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaveCounts {
    /// The wave's nodes.
    pub nodes: u64,
    /// Of them, verified to run the target.
    pub on_target: u64,
    /// Of them, failed since the wave started (a sync error or a hash
    /// mismatch).
    pub failures: u64,
}

/// What [`Gate::evaluate`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The newest wave converged and began to bake.
    Baking,
    /// The newest wave stopped being converged while it baked.
    Unsettled,
    /// Wave `index` started.
    WaveStarted(usize),
    /// Failures exceeded the budget: `failures` of the started waves' `nodes`.
    Halted {
        /// Failed nodes of the started waves.
        failures: u64,
        /// Nodes of the started waves.
        nodes: u64,
    },
    /// The last wave converged.
    Complete,
}

/// A rollout's progress: the newest started wave, the phase, and since when.
///
/// ```
/// use fleetgov::rollout::{Gate, Phase, RolloutPlan, Step, WaveCounts};
/// let plan = RolloutPlan::new([10, 100], 1_000, 0.0, true).unwrap();
/// let mut gate = Gate::start(0);
/// let converged = |nodes| WaveCounts { nodes, on_target: nodes, failures: 0 };
/// let canary = [converged(10), WaveCounts { nodes: 90, ..Default::default() }];
/// assert_eq!(gate.evaluate(&plan, &canary, 5), Some(Step::Baking));
/// assert_eq!(gate.evaluate(&plan, &canary, 500), None, "still baking");
/// assert_eq!(gate.evaluate(&plan, &canary, 1_005), Some(Step::WaveStarted(1)));
/// let failing = [converged(10), WaveCounts { nodes: 90, on_target: 0, failures: 1 }];
/// assert_eq!(gate.evaluate(&plan, &failing, 1_006), Some(Step::Halted { failures: 1, nodes: 100 }));
/// gate.roll_back(1_006).unwrap();
/// assert_eq!(gate.phase(), Phase::RolledBack);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    wave: usize,
    phase: Phase,
    since_ms: u64,
}

impl Gate {
    /// A rollout whose first wave starts at `at_ms`.
    pub fn start(at_ms: u64) -> Gate {
        Gate { wave: 0, phase: Phase::Progressing, since_ms: at_ms }
    }

    /// The index of the newest started wave.
    pub fn wave(&self) -> usize {
        self.wave
    }

    /// The phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// When the phase began (unix ms): the bake's start while baking.
    pub fn since_ms(&self) -> u64 {
        self.since_ms
    }

    /// Takes at most one step from `waves` (one entry per wave of `plan`;
    /// only the started ones are read) at `now_ms`; `None` when nothing
    /// changes. Call it again after a step: a wave that starts converged
    /// moves on at once.
    ///
    /// A wave is converged when its nodes, and those of every wave before,
    /// run the target except at most the failure budget. Failures beyond
    /// the budget halt the rollout whatever its phase, a paused one too.
    pub fn evaluate(&mut self, plan: &RolloutPlan, waves: &[WaveCounts], now_ms: u64) -> Option<Step> {
        if !matches!(self.phase, Phase::Progressing | Phase::Baking | Phase::Paused) {
            return None;
        }
        let started = &waves[..waves.len().min(self.wave + 1)];
        let nodes: u64 = started.iter().map(|w| w.nodes).sum();
        let failures: u64 = started.iter().map(|w| w.failures).sum();
        let budget = plan.failure_budget(nodes);
        if failures > budget {
            self.enter(Phase::Halted, now_ms);
            return Some(Step::Halted { failures, nodes });
        }
        let on_target: u64 = started.iter().map(|w| w.on_target).sum();
        let converged = nodes - on_target.min(nodes) <= budget;
        let last = self.wave + 1 >= plan.waves().len();
        match self.phase {
            Phase::Progressing if converged && last => {
                self.enter(Phase::Complete, now_ms);
                Some(Step::Complete)
            }
            Phase::Progressing if converged && plan.bake_ms() == 0 => Some(self.next_wave(now_ms)),
            Phase::Progressing if converged => {
                self.enter(Phase::Baking, now_ms);
                Some(Step::Baking)
            }
            Phase::Baking if !converged => {
                self.enter(Phase::Progressing, now_ms);
                Some(Step::Unsettled)
            }
            Phase::Baking if now_ms >= self.since_ms.saturating_add(plan.bake_ms()) => Some(self.next_wave(now_ms)),
            _ => None,
        }
    }

    /// When the bake of the newest wave ends, if it is baking: the next
    /// moment [`evaluate`](Self::evaluate) can start a wave without any
    /// count changing.
    pub fn bake_ends_ms(&self, plan: &RolloutPlan) -> Option<u64> {
        (self.phase == Phase::Baking).then(|| self.since_ms.saturating_add(plan.bake_ms()))
    }

    /// An operator pauses a progressing or baking rollout.
    pub fn pause(&mut self, at_ms: u64) -> Result<()> {
        self.require(&[Phase::Progressing, Phase::Baking], "paused")?;
        self.enter(Phase::Paused, at_ms);
        Ok(())
    }

    /// An operator resumes a paused or halted rollout: its gates are
    /// evaluated again (a halted one halts again unless failures fell
    /// within the budget).
    pub fn resume(&mut self, at_ms: u64) -> Result<()> {
        self.require(&[Phase::Paused, Phase::Halted], "resumed")?;
        self.enter(Phase::Progressing, at_ms);
        Ok(())
    }

    /// An operator returns the cluster to the previous snapshot.
    pub fn abort(&mut self, at_ms: u64) -> Result<()> {
        self.require(&[Phase::Progressing, Phase::Baking, Phase::Paused, Phase::Halted], "aborted")?;
        self.enter(Phase::Aborted, at_ms);
        Ok(())
    }

    /// An operator starts every remaining wave now.
    pub fn promote(&mut self, plan: &RolloutPlan, at_ms: u64) -> Result<()> {
        self.require(&[Phase::Progressing, Phase::Baking, Phase::Paused], "promoted")?;
        self.wave = plan.waves().len() - 1;
        self.enter(Phase::Progressing, at_ms);
        Ok(())
    }

    /// Starts wave `wave`, which must be the one after the newest started,
    /// from a progressing or baking rollout (what [`evaluate`](Self::evaluate)
    /// does when a wave converged and baked; a replay of its record).
    pub fn start_wave(&mut self, plan: &RolloutPlan, wave: usize, at_ms: u64) -> Result<()> {
        self.require(&[Phase::Progressing, Phase::Baking], "moved on")?;
        if wave != self.wave + 1 || wave >= plan.waves().len() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("wave {wave} cannot start after wave {} of {}", self.wave, plan.waves().len()),
            ));
        }
        self.next_wave(at_ms);
        Ok(())
    }

    /// Failures exceeded the budget (a replay of [`Step::Halted`]).
    pub fn halt(&mut self, at_ms: u64) -> Result<()> {
        self.require(&[Phase::Progressing, Phase::Baking, Phase::Paused], "halted")?;
        self.enter(Phase::Halted, at_ms);
        Ok(())
    }

    /// The last wave converged (a replay of [`Step::Complete`]).
    pub fn complete(&mut self, plan: &RolloutPlan, at_ms: u64) -> Result<()> {
        self.require(&[Phase::Progressing, Phase::Baking], "completed")?;
        if self.wave + 1 < plan.waves().len() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("a rollout at wave {} of {} cannot be completed", self.wave, plan.waves().len()),
            ));
        }
        self.enter(Phase::Complete, at_ms);
        Ok(())
    }

    /// A halted rollout returns to the previous snapshot (its plan's
    /// `auto_rollback`).
    pub fn roll_back(&mut self, at_ms: u64) -> Result<()> {
        self.require(&[Phase::Halted], "rolled back")?;
        self.enter(Phase::RolledBack, at_ms);
        Ok(())
    }

    fn next_wave(&mut self, now_ms: u64) -> Step {
        self.wave += 1;
        self.enter(Phase::Progressing, now_ms);
        Step::WaveStarted(self.wave)
    }

    fn enter(&mut self, phase: Phase, at_ms: u64) {
        self.phase = phase;
        self.since_ms = at_ms;
    }

    fn require(&self, from: &[Phase], verb: &str) -> Result<()> {
        if from.contains(&self.phase) {
            return Ok(());
        }
        Err(Error::new(ErrorKind::Conflict, format!("a {} rollout cannot be {verb}", self.phase.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(waves: &[u8], bake_ms: u64, pct: f64) -> RolloutPlan {
        RolloutPlan::new(waves.to_vec(), bake_ms, pct, false).unwrap()
    }

    fn wave(nodes: u64, on_target: u64, failures: u64) -> WaveCounts {
        WaveCounts { nodes, on_target, failures }
    }

    /// Evaluates until nothing changes; the steps taken.
    fn settle(gate: &mut Gate, plan: &RolloutPlan, waves: &[WaveCounts], now: u64) -> Vec<Step> {
        std::iter::from_fn(|| gate.evaluate(plan, waves, now)).take(plan.waves().len() * 3 + 3).collect()
    }

    #[test]
    fn waves_start_only_after_convergence_and_the_bake() {
        let p = plan(&[1, 10, 100], 100, 0.0);
        let mut g = Gate::start(0);
        let fleet = [wave(1, 0, 0), wave(9, 0, 0), wave(90, 0, 0)];
        assert!(settle(&mut g, &p, &fleet, 1_000).is_empty(), "the canary has not applied it");
        let canary_done = [wave(1, 1, 0), wave(9, 0, 0), wave(90, 0, 0)];
        assert_eq!(settle(&mut g, &p, &canary_done, 1_000), [Step::Baking]);
        assert_eq!(g.bake_ends_ms(&p), Some(1_100));
        assert_eq!(settle(&mut g, &p, &fleet, 1_050), [Step::Unsettled], "it lost the canary while baking");
        assert_eq!(settle(&mut g, &p, &canary_done, 1_060), [Step::Baking]);
        assert_eq!(settle(&mut g, &p, &canary_done, 1_160), [Step::WaveStarted(1)]);
        let all = [wave(1, 1, 0), wave(9, 9, 0), wave(90, 90, 0)];
        assert_eq!(settle(&mut g, &p, &all, 1_170), [Step::Baking]);
        assert_eq!(settle(&mut g, &p, &all, 1_270), [Step::WaveStarted(2), Step::Complete]);
        assert!(!g.phase().is_active());
    }

    #[test]
    fn without_a_bake_converged_waves_cascade() {
        let p = plan(&[10, 50, 100], 0, 0.0);
        let mut g = Gate::start(0);
        let all = [wave(0, 0, 0), wave(3, 3, 0), wave(5, 5, 0)];
        assert_eq!(settle(&mut g, &p, &all, 1), [Step::WaveStarted(1), Step::WaveStarted(2), Step::Complete]);
    }

    #[test]
    fn failures_beyond_the_budget_halt_even_a_paused_rollout() {
        let p = plan(&[10, 100], 0, 10.0);
        let mut g = Gate::start(0);
        assert!(settle(&mut g, &p, &[wave(20, 17, 1), wave(180, 0, 5)], 5).is_empty(), "1 of 20 is within 2");
        g.pause(6).unwrap();
        assert_eq!(
            settle(&mut g, &p, &[wave(20, 17, 3), wave(180, 0, 0)], 7),
            [Step::Halted { failures: 3, nodes: 20 }]
        );
        assert_eq!(g.phase(), Phase::Halted);
        assert!(settle(&mut g, &p, &[wave(20, 20, 0), wave(180, 0, 0)], 8).is_empty(), "a halt holds");
        g.resume(9).unwrap();
        assert_eq!(settle(&mut g, &p, &[wave(20, 20, 0), wave(180, 0, 0)], 10), [Step::WaveStarted(1)]);
    }

    #[test]
    fn operator_actions_follow_the_phase() {
        let p = plan(&[1, 100], 0, 0.0);
        let mut g = Gate::start(0);
        assert_eq!(g.resume(1).unwrap_err().kind(), ErrorKind::Conflict);
        assert_eq!(g.roll_back(1).unwrap_err().kind(), ErrorKind::Conflict);
        g.promote(&p, 2).unwrap();
        assert_eq!((g.wave(), g.phase()), (1, Phase::Progressing));
        g.abort(3).unwrap();
        assert_eq!(g.phase(), Phase::Aborted);
        for action in [Gate::pause, Gate::resume, Gate::abort] {
            assert_eq!(action(&mut g, 4).unwrap_err().kind(), ErrorKind::Conflict);
        }
        assert!(g.promote(&p, 4).unwrap_err().to_string().contains("aborted"));
    }
}
