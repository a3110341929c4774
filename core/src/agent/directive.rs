//! Acting on the engine's directives: what to pull.

use super::Agent;
use crate::hash::ContentHash;
use crate::heartbeat::{Directive, DirectiveKind};

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
        let snapshot = directive.snapshot;
        let running = self.with_current(|c| c.is_some_and(|c| c.snapshot_id() == snapshot.id && c.hash() == snapshot.hash));
        (directive.kind == DirectiveKind::ForceSync || !running).then(|| PullRequest {
            kind: directive.kind,
            snapshot_id: snapshot.id.clone(),
            hash: snapshot.hash,
        })
    }
}
