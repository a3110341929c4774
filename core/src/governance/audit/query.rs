//! What an audit query asks for and what it answers; the engine runs it
//! (`Engine::audit_query`).

use std::sync::Arc;

use super::record::{AuditAction, AuditRecord};

/// The most records one query scans.
pub const AUDIT_SCAN_MAX: u64 = 200_000;
/// The most records one page holds.
pub const AUDIT_PAGE_MAX: usize = 1_000;

/// What an audit query asks for; every filter given must match.
///
/// ```
/// use fleetgov::audit::{AuditAction, AuditQuery};
/// let q = AuditQuery { actions: vec![AuditAction::ForceSyncNode], cluster: Some("eks-prod-us".into()), ..AuditQuery::default() };
/// assert_eq!(q.limit, 50);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditQuery {
    /// Records with a sequence number below this one; the end of the log when `None`.
    pub before: Option<u64>,
    /// The most records of the page: 1 to [`AUDIT_PAGE_MAX`] (default 50).
    pub limit: usize,
    /// Any of these actions (every action when empty).
    pub actions: Vec<AuditAction>,
    /// The exact target, e.g. `node:gw-1`, `cluster:eks-prod-us`, `fleet`.
    pub target: Option<String>,
    /// Records about this cluster: the cluster itself, its snapshots and its
    /// nodes (a removed node's removal included).
    pub cluster: Option<String>,
    /// Records about this node (target `node:<id>`).
    pub node: Option<String>,
    /// Records made by this actor.
    pub actor: Option<String>,
    /// Records stamped at or after this moment (unix ms).
    pub from_ms: Option<u64>,
    /// Records stamped at or before this moment (unix ms).
    pub to_ms: Option<u64>,
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            before: None,
            limit: 50,
            actions: Vec::new(),
            target: None,
            cluster: None,
            node: None,
            actor: None,
            from_ms: None,
            to_ms: None,
        }
    }
}

/// One page of an audit query, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditQueryPage {
    /// The matching records, newest first.
    pub records: Vec<Arc<AuditRecord>>,
    /// Pass as [`AuditQuery::before`] for the next (older) page; `None` at
    /// the start of the log. A page scans at most [`AUDIT_SCAN_MAX`]
    /// records, so it may hold fewer than `limit` records and still go on.
    pub next_before: Option<u64>,
}
