//! Rollouts across instances.
//!
//! A rollout (a publish with a [`RolloutPlan`]) lives in the audit log: the
//! `publish` record carries the plan, and every wave start, halt,
//! rollback, completion and operator action is one `rollout` record. Every
//! instance's engine replays `FLEET_AUDIT` ([`crate::Replica`]), so every
//! instance holds the same rollout of every cluster: the same state, wave,
//! target and previous snapshot.
//!
//! The gates are another matter. They are evaluated against the cluster's
//! node counters, and only the owner of a cluster's partition holds its
//! nodes: an instance that does not own the cluster counts none of them,
//! and evaluating its gates there would find every wave converged and
//! complete the rollout falsely. So the engine's own steps are taken on
//! behalf of the cluster's partition, like a reconciliation wave record
//! ([`crate::audit_fence`]):
//!
//! - gates are evaluated on the heartbeats the owner receives, and, every
//!   [`ADVANCE_INTERVAL`], by [`Engine::advance_rollout`] for each cluster
//!   the instance serves (its partition held, its state restored, its
//!   handover complete, its fence open), never by
//!   [`Engine::advance_rollouts`] for every cluster the engine knows;
//! - the audit store writes an engine step (a `rollout` record by
//!   [`SYSTEM_ACTOR`]) only under an open lease of the cluster's partition,
//!   naming it (`Fleet-Partition`, `Fleet-Lease`); anyone else's is refused
//!   before it is sent (the engine retries a refused step within its
//!   contention budget, then gives it up: the rollout stays as it was);
//! - a step is written only as the next record of the log
//!   (`Nats-Expected-Last-Sequence`) and checked again against the
//!   records that won the place, so a new owner that had not yet applied
//!   the old owner's wave start adopts it instead of starting the wave
//!   again.
//!
//! Operator actions ([`act`]) and publishes with a plan
//! ([`publish_with_rollout`]) are written on behalf of whoever calls them,
//! from any engine over the streams (a control plane, the `publish` and
//! `rollout` commands of the binary).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fleetgov::audit::{AuditAction, AuditRecord};
use fleetgov::rollout::RolloutPlan;
use fleetgov::{By, Engine, Override, RolloutView, SYSTEM_ACTOR, Snapshot};
use tokio::task::JoinHandle;

use crate::artifact::Artifacts;
use crate::error::{Error, Result};
use crate::fence::Fence;

/// How often an instance evaluates the gates of the rollouts of the
/// clusters it serves, so that a bake ends without a heartbeat.
pub const ADVANCE_INTERVAL: Duration = Duration::from_secs(1);

/// The cluster whose rollout `record` is a step of the engine's own (a
/// wave start, a halt, a rollback, a completion), if it is one.
pub(crate) fn engine_step(record: &AuditRecord) -> Option<&str> {
    let own = record.action == AuditAction::Rollout && record.actor == SYSTEM_ACTOR;
    own.then(|| record.target.strip_prefix("cluster:")).flatten()
}

/// An operator action on a rollout.
///
/// ```
/// use fleetgov_nats::rollout::Action;
/// assert_eq!("promote".parse::<Action>().unwrap(), Action::Promote);
/// assert_eq!(Action::Pause.as_str(), "pause");
/// assert!("restart".parse::<Action>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// No wave starts, and started waves get no directive, until resumed.
    Pause,
    /// A paused or halted rollout goes on.
    Resume,
    /// Every node returns to the previous snapshot.
    Abort,
    /// Every remaining wave starts now.
    Promote,
}

impl Action {
    /// `pause`, `resume`, `abort` or `promote`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Abort => "abort",
            Action::Promote => "promote",
        }
    }
}

impl std::str::FromStr for Action {
    type Err = fleetgov::Error;

    fn from_str(s: &str) -> fleetgov::Result<Action> {
        match s {
            "pause" => Ok(Action::Pause),
            "resume" => Ok(Action::Resume),
            "abort" => Ok(Action::Abort),
            "promote" => Ok(Action::Promote),
            _ => Err(fleetgov::Error::invalid(format!(
                "unknown rollout action '{s}': expected pause, resume, abort or promote"
            ))),
        }
    }
}

/// Stores `bytes` in the artifact store, then publishes them as the next
/// snapshot of `cluster` rolled out by `plan` (so an artifact a directive
/// names is always there to fetch). The engine call runs on a blocking
/// thread.
///
/// Errors: the engine's ([`Engine::publish_with_rollout`]: a cluster with
/// nothing published yet is [`InvalidInput`](fleetgov::ErrorKind::InvalidInput)),
/// or the artifact store's.
///
/// ```no_run
/// # async fn run(js: async_nats::jetstream::Context, engine: std::sync::Arc<fleetgov::Engine>) -> fleetgov_nats::Result<()> {
/// use fleetgov::{By, Role, rollout::RolloutPlan};
/// let artifacts = fleetgov_nats::Artifacts::open(&js, 1).await?;
/// let plan = RolloutPlan::new([10, 100], 60_000, 5.0, true)?;
/// let by = By::new("alice", Role::Operator, 1_700_000_000_000);
/// let v3 = fleetgov_nats::rollout::publish_with_rollout(&artifacts, &engine, "eks-prod-us", b"rate_limit: 700", &by, plan).await?;
/// println!("rolling out {}", v3.id);
/// # Ok(()) }
/// ```
pub async fn publish_with_rollout(
    artifacts: &Artifacts,
    engine: &Arc<Engine>,
    cluster: &str,
    bytes: &[u8],
    by: &By<'_>,
    plan: RolloutPlan,
) -> Result<Snapshot> {
    artifacts.put(bytes).await?;
    let (engine, cluster, bytes) = (engine.clone(), cluster.to_owned(), bytes.to_vec());
    let (actor, role, at_ms) = (by.actor.to_owned(), by.role, by.at_ms);
    tokio::task::spawn_blocking(move || {
        engine.publish_with_rollout(&cluster, &bytes, &By::new(&actor, role, at_ms), plan)
    })
    .await
    .map_err(|e| Error::transport("publish with a rollout plan", e))?
    .map_err(Error::Engine)
}

/// Takes `action` on the rollout of `cluster` by `by` (an operator or
/// admin with a justification) and returns the rollout after it, as of
/// `by.at_ms`. The engine calls run on a blocking thread.
///
/// Errors: the engine's: a blank justification is
/// [`JustificationRequired`](fleetgov::ErrorKind::JustificationRequired), a
/// viewer [`PermissionDenied`](fleetgov::ErrorKind::PermissionDenied), a
/// cluster without a rollout [`NotFound`](fleetgov::ErrorKind::NotFound), a
/// rollout whose state does not allow it
/// [`Conflict`](fleetgov::ErrorKind::Conflict); nothing is recorded then.
///
/// ```no_run
/// # async fn run(engine: std::sync::Arc<fleetgov::Engine>) -> fleetgov_nats::Result<()> {
/// use fleetgov::{Override, Role};
/// use fleetgov_nats::rollout::{Action, act};
/// let by = Override::new("bob", Role::Operator, "canary p99 latency is up", 1_700_000_000_000);
/// let paused = act(&engine, "eks-prod-us", Action::Pause, &by).await?;
/// assert_eq!(paused.state.as_str(), "paused");
/// # Ok(()) }
/// ```
pub async fn act(engine: &Arc<Engine>, cluster: &str, action: Action, by: &Override<'_>) -> Result<RolloutView> {
    let (engine, cluster) = (engine.clone(), cluster.to_owned());
    let (actor, role, why, at_ms) = (by.actor.to_owned(), by.role, by.justification.to_owned(), by.at_ms);
    tokio::task::spawn_blocking(move || {
        let by = Override::new(&actor, role, &why, at_ms);
        match action {
            Action::Pause => engine.pause_rollout(&cluster, &by),
            Action::Resume => engine.resume_rollout(&cluster, &by),
            Action::Abort => engine.abort_rollout(&cluster, &by),
            Action::Promote => engine.promote_rollout(&cluster, &by),
        }?;
        engine
            .rollout(&cluster, at_ms)?
            .ok_or_else(|| fleetgov::Error::not_found(format_args!("a rollout of cluster '{cluster}'")))
    })
    .await
    .map_err(|e| Error::transport(format!("{} a rollout", action.as_str()), e))?
    .map_err(Error::Engine)
}

/// Evaluates the gates of the rollouts of the clusters an instance serves,
/// off its worker: one pass at a time, on a blocking thread (an engine
/// step is an audit append, a round trip to the stream).
#[derive(Default)]
pub(crate) struct Advancer {
    pass: Option<JoinHandle<Option<String>>>,
    passes: Arc<AtomicU64>,
}

impl Advancer {
    /// How many passes have ended: shared with whoever reads it.
    pub(crate) fn passes(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.passes)
    }

    /// Starts a pass over `clusters` (each with its partition's fence:
    /// a cluster whose fence has closed meanwhile is skipped), unless the
    /// last one is still running. Returns why the last pass failed, once.
    pub(crate) async fn tick(&mut self, engine: &Arc<Engine>, clusters: Vec<(String, Fence)>) -> Option<String> {
        let failed = match self.pass.take() {
            Some(pass) if !pass.is_finished() => {
                self.pass = Some(pass);
                return None;
            }
            Some(pass) => pass.await.unwrap_or_else(|e| Some(format!("advance rollouts: {e}"))),
            None => None,
        };
        let (engine, passes) = (engine.clone(), self.passes());
        self.pass = Some(tokio::task::spawn_blocking(move || {
            let failed = advance(&engine, &clusters);
            // Relaxed: a count read on its own; it publishes no other memory.
            passes.fetch_add(1, Ordering::Relaxed);
            failed
        }));
        failed
    }
}

/// Advances the active rollout of each of `clusters` whose fence is open,
/// at the engine's time; the first failure, if any. A cluster without an
/// active rollout costs a read of its rollout's counters: no audit round
/// trip (advancing one catches the engine up with the stream first).
fn advance(engine: &Engine, clusters: &[(String, Fence)]) -> Option<String> {
    let mut failed = None;
    for (cluster, fence) in clusters {
        let now = engine.clock().now_ms();
        let active = engine.rollout(cluster, now).map(|r| r.is_some_and(|r| r.state.is_active()));
        let advanced = match active {
            Ok(true) if fence.is_open() => engine.advance_rollout(cluster, now).map(drop),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = advanced {
            failed.get_or_insert_with(|| format!("advance the rollout of {cluster}: {e}"));
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use fleetgov::{ClusterSpec, Environment, Role, WorkspaceSpec};

    use super::*;

    #[test]
    fn only_the_engines_own_rollout_steps_are_written_on_behalf_of_a_partition() {
        let t = 1_700_000_000_000;
        let engine = Engine::new();
        engine.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        engine.upsert_cluster(ClusterSpec::new("c-1", "ws", Environment::Staging)).unwrap();
        engine.publish("c-1", b"v1", "alice", t).unwrap();
        let plan = RolloutPlan::new([10, 100], 0, 0.0, false).unwrap();
        engine.publish_with_rollout("c-1", b"v2", &By::new("alice", Role::Operator, t), plan).unwrap();
        engine.pause_rollout("c-1", &Override::new("bob", Role::Operator, "hold on", t)).unwrap();
        engine.resume_rollout("c-1", &Override::new("bob", Role::Operator, "go on", t)).unwrap();
        // An engine that holds none of the cluster's nodes finds every wave
        // converged: what an instance that does not own the cluster must
        // never evaluate.
        assert!(engine.advance_rollout("c-1", t + 1).unwrap() > 0);
        assert_eq!(engine.rollout("c-1", t + 1).unwrap().unwrap().state.as_str(), "complete");
        let steps: Vec<(String, Option<String>)> = engine
            .audit()
            .iter()
            .filter(|r| r.action == AuditAction::Rollout || r.action == AuditAction::Publish)
            .map(|r| (r.actor.clone(), engine_step(r).map(str::to_owned)))
            .collect();
        let of = |actor: &str, cluster: Option<&str>| (actor.to_owned(), cluster.map(str::to_owned));
        assert_eq!(steps[..4], [of("alice", None), of("alice", None), of("bob", None), of("bob", None)]);
        assert!(steps.len() > 4 && steps[4..].iter().all(|s| *s == of(SYSTEM_ACTOR, Some("c-1"))), "{steps:?}");
    }
}
