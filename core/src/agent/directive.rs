//! Acting on the engine's directives: what to pull.

use super::Agent;
use crate::authority::snapshot::snapshot_id;
use crate::execution::heartbeat::{Directive, DirectiveKind};
use crate::execution::heartbeat_record::{Outcome, OutcomeRecord};
use crate::hash::ContentHash;

/// What the caller should pull and hand to [`Agent::apply`]: the snapshot id
/// and the hash the authority published for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequest {
    /// Why: reconcile or force sync.
    pub kind: DirectiveKind,
    /// The snapshot to pull.
    pub snapshot_id: String,
    /// The hash its bytes must have (pass it to `apply` as `expected`).
    pub hash: ContentHash,
}

impl Agent {
    /// What to pull in answer to `directive`: nothing for a reconcile to the
    /// exact snapshot id and hash already live; a force sync always pulls (and
    /// the apply that follows always reloads).
    ///
    /// ```
    /// use fleetgov::{ContentHash, Directive, DirectiveKind, Snapshot, agent::Agent};
    /// let agent = Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// let snapshot = Snapshot {
    ///     id: "c@r1".into(), cluster: "c".into(), revision: 1, hash: ContentHash::of(b"v1"),
    ///     author: "alice".into(), published_at_ms: 0, size_bytes: 2,
    /// };
    /// let reconcile = Directive { kind: DirectiveKind::Reconcile, snapshot: &snapshot };
    /// let pull = agent.on_directive(&reconcile).expect("nothing applied yet");
    /// agent.apply(&pull.snapshot_id, b"v1".to_vec(), pull.hash, 1)?;
    /// assert_eq!(agent.on_directive(&reconcile), None); // already running it
    /// let force = Directive { kind: DirectiveKind::ForceSync, ..reconcile };
    /// assert!(agent.on_directive(&force).is_some());
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn on_directive(&self, directive: &Directive<'_>) -> Option<PullRequest> {
        self.pull(directive.kind, &directive.snapshot.id, directive.snapshot.hash)
    }

    /// [`on_directive`](Self::on_directive) for the batch path: the outcome
    /// record the engine wrote for this node's heartbeat record, whose
    /// directive names a revision of `cluster` (the node's cluster).
    ///
    /// ```
    /// use fleetgov::record::{HeartbeatRecord, OutcomeRecord, Outcome};
    /// use fleetgov::*;
    /// let t = 1_700_000_000_000;
    /// let e = Engine::with_config(EngineConfig { clock: Clock::manual(t), capacity: 16, ..EngineConfig::default() })?;
    /// e.upsert_workspace(WorkspaceSpec::new("ws"))?;
    /// e.upsert_cluster(ClusterSpec::new("stage", "ws", Environment::Staging).auto_reconcile(true))?;
    /// let s = e.publish("stage", b"v1", "alice", t)?;
    /// let gw = e.enroll("gw-1", "stage", t)?;
    /// let agent = agent::Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// let record = agent.heartbeat(t, Metrics::default(), ProcessStatus::Ready)?.to_record(gw, "stage");
    /// let mut outcomes = [OutcomeRecord::default()];
    /// e.ingest_records(&[record], &mut outcomes)?;
    /// assert_eq!(outcomes[0].outcome(), Some(Outcome::Reconcile));
    /// let pull = agent.on_outcome(&outcomes[0], "stage").expect("behind");
    /// assert_eq!((pull.snapshot_id.as_str(), pull.hash), ("stage@r1", s.hash));
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn on_outcome(&self, outcome: &OutcomeRecord, cluster: &str) -> Option<PullRequest> {
        let kind = match outcome.outcome()? {
            Outcome::Reconcile => DirectiveKind::Reconcile,
            Outcome::ForceSync => DirectiveKind::ForceSync,
            Outcome::Accepted | Outcome::Stale | Outcome::Future | Outcome::UnknownNode | Outcome::WrongCluster => {
                return None;
            }
        };
        let (revision, hash) = outcome.directive()?;
        self.pull(kind, &snapshot_id(cluster, revision), hash)
    }

    fn pull(&self, kind: DirectiveKind, id: &str, hash: ContentHash) -> Option<PullRequest> {
        let running = self.with_current(|c| c.is_some_and(|c| c.snapshot_id() == id && c.hash() == hash));
        (kind == DirectiveKind::ForceSync || !running).then(|| PullRequest { kind, snapshot_id: id.to_owned(), hash })
    }
}
