//! Removal: a node's enrolment ends. It leaves its cluster's members and
//! counts, its heartbeats are refused, and it may enrol again later (at a
//! new slot, with a new handle and a history that starts anew).

use std::sync::Arc;

use crate::authority::event::AuthorityEvent;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::execution::slot::NodeState;
use crate::governance::audit::{AuditAction, AuditEntry, AuditRecord};
use crate::governance::overrides::{By, ForceTarget};
use crate::role::Role;

/// The answer to a heartbeat of a node removed while it was being resolved.
pub(crate) fn removed_error(node: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("node '{node}' was removed; it reports again once enrolled again"))
}

impl Engine {
    /// Removes node `node` from its cluster, as `by` asks (an operator or an
    /// admin): the node leaves the cluster's members and every count
    /// (enrolled, verified, errors), so cohesion and status are figured
    /// without it from then on, and queries about it (views, `what_ran`,
    /// `fleet_at`) no longer name it. Returns the audit record
    /// (`remove_node`, target `node:<id>`), written before the removal takes
    /// effect; with a data directory the removal is durable before this
    /// returns and a reopened engine does not bring the node back. The
    /// change feed gets the audit record and the cluster's new figures.
    ///
    /// Afterwards the node's heartbeats, by id or by its old handle, answer
    /// [`NotFound`](ErrorKind::NotFound) (in a batch:
    /// [`Outcome::UnknownNode`](crate::record::Outcome::UnknownNode)); it
    /// may be [enrolled](Self::enroll) again, in any cluster, with a new
    /// handle. Its slot is not handed out again (handles stay unambiguous),
    /// so the engine's capacity counts every enrolment made, removed ones
    /// included. Errors, with nothing recorded and nothing changed: a blank,
    /// too long or [reserved](crate::is_reserved_actor) actor
    /// (`InvalidInput`), a viewer (`PermissionDenied`), a node that is not
    /// enrolled (`NotFound`).
    ///
    /// ```
    /// use fleetgov::*;
    /// let t = 1_700_000_000_000;
    /// let e = demo::engine(t).unwrap();
    /// let before = e.cluster("gke-stage-eu", t).unwrap().total;
    /// let record = e.unenroll("gw-stage-eu-4", &By::new("bob", Role::Operator, t)).unwrap();
    /// assert_eq!((record.action.as_str(), record.target.as_str()), ("remove_node", "node:gw-stage-eu-4"));
    /// assert_eq!(e.cluster("gke-stage-eu", t).unwrap().total, before - 1);
    /// assert_eq!(e.node_handle("gw-stage-eu-4").unwrap_err().kind(), ErrorKind::NotFound);
    /// let viewer = By::new("vic", Role::Viewer, t);
    /// assert_eq!(e.unenroll("gw-stage-eu-1", &viewer).unwrap_err().kind(), ErrorKind::PermissionDenied);
    /// assert!(e.recount_mismatches().is_empty());
    /// ```
    pub fn unenroll(&self, node: &str, by: &By<'_>) -> Result<Arc<AuditRecord>> {
        by.check(Role::Operator, "remove a node")?;
        let serial = self.execution.removals.lock();
        let slot = self.execution.slot_of_id(node)?;
        let index = self.execution.cluster_of(slot).ok_or_else(|| Error::not_found(format_args!("node '{node}'")))?;
        let cluster = self.cluster_at(index);
        let target = ForceTarget::Node(node).label();
        let event = AuthorityEvent::RemoveNode { node: node.to_owned(), cluster: cluster.id.to_string() };
        let entry =
            AuditEntry::new(by.at_ms, by.actor, by.role, AuditAction::RemoveNode, target).payload(event.encode(&[]));
        let record = self.governance.audit().append(entry)?;
        if let Some(durable) = &self.durable {
            durable.removed(slot, node, by.at_ms)?;
        }
        self.remove_in_memory(node);
        drop(serial);
        self.announce(&record);
        self.announce_cluster(cluster);
        Ok(record)
    }

    /// Every `remove_node` record of the audit log, oldest first: the node
    /// removed and the record's time. Removals other engines sharing the
    /// log made are among them.
    pub(crate) fn audited_removals(&self) -> Vec<(String, u64)> {
        let records = self.governance.audit().records();
        let removals = records.iter().filter(|r| r.action == AuditAction::RemoveNode);
        removals
            .filter_map(|r| match AuthorityEvent::decode(&r.payload) {
                Ok((AuthorityEvent::RemoveNode { node, .. }, _)) => Some((node, r.time_ms)),
                _ => None,
            })
            .collect()
    }

    /// Takes `node` out of the registry, its slot and its cluster's counters;
    /// returns its slot, or `None` when it was not enrolled.
    pub(crate) fn remove_in_memory(&self, node: &str) -> Option<u32> {
        let slot = self.execution.nodes.remove(node)?;
        let cell = self.execution.nodes.slot(slot)?;
        let cluster = self.cluster_at(cell.cluster());
        let guard = cell.lock();
        let old = guard.state();
        // Not enrolled from here on: a heartbeat that resolved the slot
        // before finds this under the lock and is refused (see `observe`).
        guard.set_state(NodeState::EMPTY);
        cluster.counters.remove_member(slot, cell.bucket(), old);
        drop(guard);
        self.execution.sync_errors.forget(slot);
        Some(slot)
    }
}
