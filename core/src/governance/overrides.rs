//! Governance: justified overrides (force sync, global fleet overwrite) and
//! the audit trail of every authority change.
//!
//! | action | who may | needs |
//! |---|---|---|
//! | force sync of a node or a cluster | operator, admin | actor, justification with visible text |
//! | global overwrite of a workspace or of every workspace | admin | actor, justification with visible text |
//! | publish, workspace or cluster change | the embedding program | recorded, no justification |
//! | auto-reconcile (per cluster flag) | the engine | one record per reconciliation wave |
//!
//! Every override is written to the audit log **before** it takes effect;
//! if the log cannot record it, nothing happens. A forced node is answered
//! with a `force_sync` directive on its next heartbeat.
//!
//! A *reconciliation wave* is a cluster's directives toward one desired
//! revision: its first directive appends one `auto_reconcile` record
//! (target `cluster:<id>`) and is sent only once the record is
//! acknowledged; the later directives of the wave, to any node, are
//! execution events (the change feed, the journal), not audit records. A
//! new publish, or switching auto-reconcile back on, starts a new wave, so a
//! flapping node never grows the log.

use std::sync::Arc;

use crate::authority::event::AuthorityEvent;
use crate::cluster_state::ClusterState;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::governance::audit::{
    AuditAction, AuditEntry, AuditRecord, CheckpointVerifier, ConsistencyProof, InclusionProof, Tile, TlogProof,
    TreeHead,
};
use crate::role::Role;

/// Who asks for an override, in which role, why, and when.
///
/// ```
/// use fleetgov::{Override, Role};
/// let by = Override::new("bob", Role::Operator, "Rollback due to failed deployment", 1_700_000_000_000);
/// assert_eq!(by.role, Role::Operator);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Override<'a> {
    /// The person or service acting.
    pub actor: &'a str,
    /// The role they act in.
    pub role: Role,
    /// Why: visible text of at most 4096 bytes with no control character
    /// (see [`validate_justification`](crate::validate_justification)).
    pub justification: &'a str,
    /// When (unix ms).
    pub at_ms: u64,
}

impl<'a> Override<'a> {
    /// An override request.
    pub fn new(actor: &'a str, role: Role, justification: &'a str, at_ms: u64) -> Self {
        Override { actor, role, justification, at_ms }
    }
}

/// The engine's own identity in the audit log: the actor of the records it
/// writes by itself (the `auto_reconcile` record that opens a
/// reconciliation wave, role operator). Reserved: no caller may act under
/// it, nor under [`EMBEDDER`](crate::EMBEDDER) (see [`is_reserved_actor`]).
pub const SYSTEM_ACTOR: &str = "fleetgov";

/// Whether `actor` is an identity the engine reserves for itself:
/// [`SYSTEM_ACTOR`] or [`EMBEDDER`](crate::EMBEDDER), in any case, with
/// white space or invisible (format) characters anywhere, so that no actor
/// reads like one of them.
///
/// ```
/// assert!(fleetgov::is_reserved_actor(" FleetGov"));
/// assert!(fleetgov::is_reserved_actor("fleet\u{200b}gov"));
/// assert!(fleetgov::is_reserved_actor("embedder"));
/// assert!(!fleetgov::is_reserved_actor("ada.admin"));
/// ```
pub fn is_reserved_actor(actor: &str) -> bool {
    let shown: String = actor.chars().filter(|&c| crate::text::is_visible(c)).collect();
    shown.eq_ignore_ascii_case(SYSTEM_ACTOR) || shown.eq_ignore_ascii_case(crate::EMBEDDER)
}

/// Checks an actor a caller names: the free-text rules of an actor
/// ([`validate_actor`](crate::validate_actor): visible text, at most 256
/// bytes, no control character) and not reserved
/// ([`InvalidInput`](ErrorKind::InvalidInput)).
pub(crate) fn check_actor(actor: &str) -> Result<()> {
    crate::text::validate_actor("actor", actor)?;
    if is_reserved_actor(actor) {
        return Err(Error::invalid(format!("actor {actor:?} is reserved for the engine's own records")));
    }
    Ok(())
}

/// Who makes an authority change (a workspace or cluster upsert, a
/// publish), in which role, and when: what the audit record names.
///
/// ```
/// use fleetgov::*;
/// let e = Engine::new();
/// let by = By::new("ada.admin", Role::Admin, 1_700_000_000_000);
/// e.upsert_workspace_by(WorkspaceSpec::new("ws-1"), &by).unwrap();
/// let r = e.audit().pop().unwrap();
/// assert_eq!((r.actor.as_str(), r.role, r.time_ms), ("ada.admin", Role::Admin, 1_700_000_000_000));
/// let viewer = By::new("vic", Role::Viewer, 1_700_000_000_000);
/// assert_eq!(e.upsert_workspace_by(WorkspaceSpec::new("ws-2"), &viewer).unwrap_err().kind(), ErrorKind::PermissionDenied);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct By<'a> {
    /// The person or service acting (not blank, not [reserved](is_reserved_actor)).
    pub actor: &'a str,
    /// The role they act in.
    pub role: Role,
    /// When (unix ms).
    pub at_ms: u64,
}

impl<'a> By<'a> {
    /// An authority change by `actor` in `role` at `at_ms`.
    pub fn new(actor: &'a str, role: Role, at_ms: u64) -> Self {
        By { actor, role, at_ms }
    }

    /// Checks the actor ([`check_actor`]) and that `role` is at least `least`
    /// ([`PermissionDenied`](ErrorKind::PermissionDenied)) for `what`.
    pub(crate) fn check(&self, least: Role, what: &str) -> Result<()> {
        check_actor(self.actor)?;
        if self.role < least {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!("role {} may not {what}; it needs {}", self.role.as_str(), least.as_str()),
            ));
        }
        Ok(())
    }
}

/// What to force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForceTarget<'a> {
    /// One node.
    Node(&'a str),
    /// Every node of one cluster.
    Cluster(&'a str),
    /// Every cluster of one workspace (a global overwrite; admin only).
    Workspace(&'a str),
    /// Every cluster of every workspace (a global overwrite; admin only).
    Fleet,
}

impl ForceTarget<'_> {
    fn action(self) -> AuditAction {
        match self {
            ForceTarget::Node(_) => AuditAction::ForceSyncNode,
            ForceTarget::Cluster(_) => AuditAction::ForceSyncCluster,
            ForceTarget::Workspace(_) | ForceTarget::Fleet => AuditAction::GlobalOverwrite,
        }
    }

    fn minimum_role(self) -> Role {
        match self {
            ForceTarget::Node(_) | ForceTarget::Cluster(_) => Role::Operator,
            ForceTarget::Workspace(_) | ForceTarget::Fleet => Role::Admin,
        }
    }

    /// The target a [`label`](Self::label) names: `node:<id>`,
    /// `cluster:<id>`, `workspace:<id>` or `fleet`; `None` for anything else.
    ///
    /// ```
    /// use fleetgov::ForceTarget;
    /// assert_eq!(ForceTarget::from_label("node:gw-1"), Some(ForceTarget::Node("gw-1")));
    /// assert_eq!(ForceTarget::from_label(&ForceTarget::Fleet.label()), Some(ForceTarget::Fleet));
    /// assert_eq!(ForceTarget::from_label("galaxy:x"), None);
    /// ```
    pub fn from_label(label: &str) -> Option<ForceTarget<'_>> {
        match label.split_once(':') {
            Some(("node", id)) => Some(ForceTarget::Node(id)),
            Some(("cluster", id)) => Some(ForceTarget::Cluster(id)),
            Some(("workspace", id)) => Some(ForceTarget::Workspace(id)),
            None if label == "fleet" => Some(ForceTarget::Fleet),
            _ => None,
        }
    }

    /// `node:<id>`, `cluster:<id>`, `workspace:<id>` or `fleet`.
    pub fn label(self) -> String {
        match self {
            ForceTarget::Node(id) => format!("node:{id}"),
            ForceTarget::Cluster(id) => format!("cluster:{id}"),
            ForceTarget::Workspace(id) => format!("workspace:{id}"),
            ForceTarget::Fleet => "fleet".to_owned(),
        }
    }
}

impl Engine {
    /// Forces `target` to resync to its authority, as `by` asks. Returns the
    /// audit record. Errors, with nothing recorded and nothing changed:
    /// a blank, too long or [reserved](is_reserved_actor) actor or one with a
    /// control character (`InvalidInput`), a justification with no visible
    /// text (`JustificationRequired`), a justification longer than 4096 bytes
    /// or with a control character (`InvalidInput`, never altered), a viewer, or an operator asking for a
    /// global overwrite (`PermissionDenied`), an unknown target (`NotFound`).
    ///
    /// ```
    /// use fleetgov::*;
    /// let t = 1_700_000_000_000;
    /// let e = demo::engine(t).unwrap();
    /// let by = Override::new("bob", Role::Operator, "  ", t);
    /// assert_eq!(e.force_sync(ForceTarget::Node("gw-dev-west-2"), &by).unwrap_err().kind(), ErrorKind::JustificationRequired);
    /// let by = Override::new("bob", Role::Operator, "Node re-provisioning after hardware failure", t);
    /// let record = e.force_sync(ForceTarget::Node("gw-dev-west-2"), &by).unwrap();
    /// assert_eq!((record.actor.as_str(), record.target.as_str()), ("bob", "node:gw-dev-west-2"));
    /// ```
    pub fn force_sync(&self, target: ForceTarget<'_>, by: &Override<'_>) -> Result<Arc<AuditRecord>> {
        check_actor(by.actor)?;
        crate::text::validate_justification(by.justification, true)
            .map_err(|e| e.context(format_args!("forcing {}", target.label())))?;
        if by.role < target.minimum_role() {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "role {} may not force {}; it needs {}",
                    by.role.as_str(),
                    target.label(),
                    target.minimum_role().as_str()
                ),
            ));
        }
        let clusters: Vec<u32> = match target {
            ForceTarget::Node(id) => {
                self.node_handle(id)?;
                Vec::new()
            }
            ForceTarget::Cluster(id) => vec![self.cluster_index(id)?],
            ForceTarget::Workspace(id) => {
                self.workspace(id)?;
                self.cluster_indices().filter(|&i| *self.cluster_at(i).workspace == *id).collect()
            }
            ForceTarget::Fleet => self.cluster_indices().collect(),
        };
        let entry = AuditEntry::new(by.at_ms, by.actor, by.role, target.action(), target.label())
            .justification(by.justification)
            .payload(AuthorityEvent::Force { target: target.label() }.encode(&[]));
        let record = self.governance.audit().append(entry)?;
        self.announce(&record);
        match target {
            ForceTarget::Node(id) => {
                let slot = self.node_handle(id).and_then(|h| self.slot_of(h))?;
                self.execution.mark_force_pending(slot);
            }
            _ => {
                for i in clusters {
                    let cluster = self.cluster_at(i);
                    if let Some(epoch) = cluster.authority.bump_force_epoch() {
                        self.execution.sweep_missed_forces(&cluster.counters.members(), epoch);
                    }
                }
            }
        }
        Ok(record)
    }

    /// Writes the audit record that opens a reconciliation wave of `cluster`
    /// toward its desired snapshot `to`. Called with no node lock held.
    pub(crate) fn record_wave(&self, cluster: &ClusterState, to: &str, at_ms: u64) -> Result<()> {
        let entry = AuditEntry::new(
            at_ms,
            SYSTEM_ACTOR,
            Role::Operator,
            AuditAction::AutoReconcile,
            format!("cluster:{}", cluster.id),
        )
        .justification(format!("cluster '{}' auto-reconciles its divergent nodes to {to}", cluster.id))
        .payload(AuthorityEvent::AutoReconcile { cluster: cluster.id.to_string(), to: to.to_owned() }.encode(&[]));
        self.governance.audit().append(entry).map(|record| self.announce(&record))
    }
}

/// Where things lie: the one place that maps nodes and audit targets to workspaces.
impl Engine {
    /// The workspace of node `node`: one registry lookup, no view built.
    ///
    /// ```
    /// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
    /// assert_eq!(e.node_workspace("gw-prod-us-1").unwrap(), "acme-edge");
    /// ```
    pub fn node_workspace(&self, node: &str) -> Result<String> {
        let slot = self.node_handle(node).and_then(|h| self.slot_of(h))?;
        let cluster = self.execution.cluster_of(slot).ok_or_else(|| Error::not_found(format_args!("node '{node}'")))?;
        Ok(self.cluster_at(cluster).workspace.to_string())
    }

    /// The workspace an audit record's target lies in: a node's, a cluster's
    /// or a snapshot's (`<cluster>@r<revision>`) workspace, or the workspace
    /// itself. `None` for the whole fleet, a policy, or an unknown target:
    /// such records concern no single workspace.
    ///
    /// ```
    /// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
    /// assert_eq!(e.target_workspace("cluster:eks-prod-us").as_deref(), Some("acme-edge"));
    /// assert_eq!(e.target_workspace("eks-prod-us@r2").as_deref(), Some("acme-edge"));
    /// assert_eq!(e.target_workspace("fleet"), None);
    /// ```
    pub fn target_workspace(&self, target: &str) -> Option<String> {
        let cluster_workspace = |id: &str| self.cluster_state(id).ok().map(|c| c.workspace.to_string());
        match ForceTarget::from_label(target) {
            Some(ForceTarget::Node(id)) => self.node_workspace(id).ok(),
            Some(ForceTarget::Cluster(id)) => cluster_workspace(id),
            Some(ForceTarget::Workspace(id)) => self.workspace(id).ok().map(|w| w.id),
            Some(ForceTarget::Fleet) => None,
            None => crate::parse_snapshot_id(target).and_then(|(cluster, _)| cluster_workspace(cluster)),
        }
    }
}

/// Reading and proving the audit trail.
impl Engine {
    /// Every audit record, oldest first.
    pub fn audit(&self) -> Vec<Arc<AuditRecord>> {
        self.governance.audit().records()
    }

    /// The number of audit records.
    pub fn audit_len(&self) -> u64 {
        self.governance.audit().size()
    }

    /// At most `limit` audit records from sequence `from`, oldest first.
    pub fn audit_page(&self, from: u64, limit: usize) -> Vec<Arc<AuditRecord>> {
        self.governance.audit().records_from(from, limit)
    }

    /// The audit record `seq`.
    pub fn audit_record(&self, seq: u64) -> Result<Arc<AuditRecord>> {
        self.governance.audit().record(seq)
    }

    /// Re-verifies the whole audit log (hash chain and Merkle tree) and
    /// returns its head; `AuditTampered` names the first bad record.
    pub fn verify_audit(&self) -> Result<TreeHead> {
        self.governance.audit().verify()
    }

    /// The audit log's current head as a signed checkpoint (C2SP
    /// checkpoint-like text), checkable with [`checkpoint_verifier`](Self::checkpoint_verifier).
    pub fn checkpoint(&self) -> Result<String> {
        self.governance.audit().checkpoint(self.signer()?)
    }

    /// The public key that checks this engine's checkpoints and attestations.
    pub fn checkpoint_verifier(&self) -> Result<CheckpointVerifier> {
        Ok(self.signer()?.verifier())
    }

    /// Proof that record `seq` is in the log of `size` records.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<InclusionProof> {
        self.governance.audit().inclusion_proof(seq, size)
    }

    /// Proof that the log of `old_size` records is a prefix of the log of `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof> {
        self.governance.audit().consistency_proof(old_size, new_size)
    }

    /// A C2SP `tlog-proof@v1` bundle for audit record `seq`: its inclusion
    /// path and the freshly signed checkpoint it leads to.
    ///
    /// ```
    /// let t = 1_700_000_000_000;
    /// let e = fleetgov::demo::engine(t).unwrap();
    /// let bundle = e.tlog_proof(0).unwrap();
    /// let entry = e.audit_record(0).unwrap().encode();
    /// bundle.verify(&entry, &e.checkpoint_verifier().unwrap()).unwrap();
    /// ```
    pub fn tlog_proof(&self, seq: u64) -> Result<TlogProof> {
        self.governance.audit().tlog_proof(seq, self.signer()?)
    }

    /// A C2SP `tlog-tiles` hash tile or entry bundle of the audit log
    /// ([`AuditLog::tile`](crate::governance::audit::AuditLog::tile)).
    ///
    /// ```
    /// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
    /// let tile = fleetgov::audit::Tile::all_for(e.audit_len())[0];
    /// assert!(!e.audit_tile(&tile).unwrap().is_empty());
    /// ```
    pub fn audit_tile(&self, tile: &Tile) -> Result<Vec<u8>> {
        self.governance.audit().tile(tile)
    }
}
