//! Replacing a set of clusters' execution state with a stored one: for an
//! engine that held the clusters, lost them to another engine, and takes
//! them back (a scale-out instance regaining a partition), or takes them
//! over. What it held before is stale: the nodes removed meanwhile (the
//! audit log records every removal) are removed here too, unaudited, the
//! reports of the others forgotten, then the stored state is taken in
//! ([`Engine::import_execution`] takes in alone).

use std::collections::HashMap;

use super::handoff::{Handoff, Imported};
use crate::engine::Engine;
use crate::error::Result;

/// What [`Engine::replace_execution`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Replaced {
    /// Nodes of the clusters removed meanwhile by another engine, removed here.
    pub removed: u64,
    /// Nodes that stayed enrolled, whose reports were forgotten first.
    pub reset: u64,
    /// What the stored state then added.
    pub imported: Imported,
}

impl Engine {
    /// Makes the execution state of `clusters` the stored one: `nodes` (a
    /// node checkpoint, [`export_nodes`](Self::export_nodes)) and `journal`
    /// (exports in journal order, from the first,
    /// [`export_journal`](Self::export_journal)), as another engine wrote
    /// them for the clusters. A node leaves the stored state only by a
    /// removal, and every removal is audited: this engine's audit log
    /// (shared with the engine that removed it, and caught up) tells which
    /// nodes were removed since.
    ///
    /// - Every node enrolled here in one of `clusters` whose removal
    ///   (`remove_node`, by any engine sharing the log) the audit log
    ///   records at or after its enrolment here is removed, as
    ///   [`unenroll`](Self::unenroll) removes (gone from the members, every
    ///   count and every query; durable with a data directory), but with
    ///   **no audit record**: the engine that removed it recorded that. A
    ///   node the stored state does not name and nobody removed stays: an
    ///   enrolment made here after the state was stored is not lost.
    /// - A node that `nodes` lists or `journal` holds a transition of is
    ///   taken in unless the audit log records its removal at or after the
    ///   newest time the stored state gives for it (enrolment, last report,
    ///   transition): the transitions of an earlier enrolment do not bring
    ///   a removed node back.
    /// - Every node of `clusters` that stays forgets what it reported (it
    ///   keeps its handle and its history), so a report this engine knew
    ///   from before never outlives the stored one; then the stored state
    ///   is taken in as [`import_execution`](Self::import_execution) takes
    ///   it (nodes of other clusters it names are imported too).
    ///
    /// Times are compared as given, and they come from different clocks:
    /// a removal's time is the one its remover passed
    /// ([`By`](crate::By)'s `at_ms`, on that engine's caller's clock); an
    /// enrolment's is the time passed to [`enroll`](Self::enroll) here,
    /// kept to the second (truncated); the stored state's are its
    /// enrolment times and the times the nodes reported. The audit log
    /// orders removals among themselves, but an enrolment makes no record,
    /// so nothing orders it against a removal but these times. Hence:
    /// - a node removed elsewhere and enrolled here again within the same
    ///   second (removal time at or after the enrolment's truncated time)
    ///   counts as removed, and so does one enrolled here after a removal
    ///   stamped ahead by a fast clock;
    /// - a removal stamped before the enrolment by a slow clock does not
    ///   end an enrolment it followed: the node stays;
    /// - likewise for the stored state: a node whose reports carry times
    ///   ahead of the removal's (a fast node clock) is taken in again.
    ///
    /// The same rule decides, when an engine on a shared audit log reopens
    /// its data directory, which of its nodes other engines removed in the
    /// meantime. The change feed then gets each
    /// cluster's new figures. Everything is decoded and checked before
    /// anything changes, with the errors of `import_execution`; an unknown
    /// cluster in `clusters` is [`NotFound`](crate::ErrorKind::NotFound); a
    /// node the stored state names that stays enrolled here in another
    /// cluster is a [`Conflict`](crate::ErrorKind::Conflict).
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use fleetgov::audit::{AuditStore, Write};
    /// use fleetgov::*;
    /// # /// Frames two engines share (a stand-in for a replicated stream).
    /// # #[derive(Clone, Default)]
    /// # struct Shared(Arc<Mutex<Vec<Vec<u8>>>>);
    /// # impl AuditStore for Shared {
    /// #     fn write(&self, seq: u64, frame: &[u8]) -> Result<Write> {
    /// #         let mut frames = self.0.lock().unwrap();
    /// #         if frames.len() as u64 != seq { return Ok(Write::Refused) }
    /// #         frames.push(frame.to_vec());
    /// #         Ok(Write::Written)
    /// #     }
    /// #     fn sync(&self) -> Result<()> { Ok(()) }
    /// #     fn read_from(&self, from: u64) -> Result<Vec<Vec<u8>>> {
    /// #         Ok(self.0.lock().unwrap().iter().skip(from as usize).cloned().collect())
    /// #     }
    /// # }
    /// let t = 1_700_000_000_000;
    /// let shared = Shared::default();
    /// let engine = || Engine::with_audit_store(EngineConfig { clock: Clock::manual(t), ..EngineConfig::default() }, Box::new(shared.clone())).unwrap();
    /// let (held, owner) = (engine(), engine());
    /// demo::populate(&held, t).unwrap();
    /// owner.catch_up().unwrap(); // the same authority
    /// let (nodes, journal) = (held.export_nodes(&["gke-stage-eu"]).unwrap(), held.export_journal(&["gke-stage-eu"], 0, usize::MAX).unwrap());
    /// owner.replace_execution(&["gke-stage-eu"], Some(&nodes), &[&journal.bytes]).unwrap();
    ///
    /// // The owner removes a node while `held` does not serve the cluster.
    /// owner.unenroll("gw-stage-eu-4", &By::new("bob", Role::Operator, t)).unwrap();
    /// let nodes = owner.export_nodes(&["gke-stage-eu"]).unwrap();
    /// let later = owner.export_journal(&["gke-stage-eu"], 0, usize::MAX).unwrap();
    /// held.catch_up().unwrap();
    /// let audited = held.audit().len();
    /// let replaced = held.replace_execution(&["gke-stage-eu"], Some(&nodes), &[&journal.bytes, &later.bytes]).unwrap();
    /// assert_eq!(replaced.removed, 1);
    /// assert_eq!(held.node_handle("gw-stage-eu-4").unwrap_err().kind(), ErrorKind::NotFound);
    /// assert_eq!(held.cluster("gke-stage-eu", t).unwrap(), owner.cluster("gke-stage-eu", t).unwrap());
    /// assert_eq!(held.audit().len(), audited, "not audited again");
    /// assert!(held.recount_mismatches().is_empty());
    /// assert_eq!(held.replace_execution(&["nowhere"], Some(&nodes), &[]).unwrap_err().kind(), ErrorKind::NotFound);
    /// ```
    pub fn replace_execution(&self, clusters: &[&str], nodes: Option<&[u8]>, journal: &[&[u8]]) -> Result<Replaced> {
        let mut replaced = clusters.iter().map(|c| self.cluster_index(c)).collect::<Result<Vec<u32>>>()?;
        replaced.sort_unstable();
        replaced.dedup();
        let handoff = Handoff::decode(nodes, journal)?;
        let mut members = self.handoff_members(&handoff)?;
        // The latest audited removal of each node: by this engine or by
        // another sharing the log (the removal that made it leave the stored state).
        let removed_at: HashMap<String, u64> = self.audited_removals().into_iter().collect();
        members.retain(|node, member| removed_at.get(*node).is_none_or(|&at| at < member.newest_ms));

        // Removals are serialised: nobody removes a node between the check and the removal.
        let serial = self.execution.removals.lock();
        let mut gone = Vec::new();
        for &index in &replaced {
            for slot in self.cluster_at(index).counters.members() {
                let node = self.execution.nodes.id(slot);
                if removed_at.get(node).is_some_and(|&at| self.removed_since_enrolment(slot, at)) {
                    gone.push((slot, node.to_owned()));
                }
            }
        }
        self.check_members(&members, &gone.iter().map(|(_, node)| node.as_str()).collect())?;
        if let Some(durable) = &self.durable {
            durable.handed_over(&gone, self.clock.now_ms())?;
        }
        let removed = gone.iter().filter_map(|(_, node)| self.remove_in_memory(node)).count() as u64;
        drop(serial);

        let reset = replaced.iter().map(|&index| self.forget_reports(self.cluster_at(index))).sum();
        let imported = self.take_in(&handoff, &members)?;
        for &index in &replaced {
            self.announce_cluster(self.cluster_at(index));
        }
        Ok(Replaced { removed, reset, imported })
    }
}

impl Engine {
    /// Whether a removal of the node at `slot` recorded at `removed_ms` (by
    /// any engine sharing the audit log) ends its enrolment here: whether
    /// it is at or after the enrolment, whose time is kept to the second.
    /// See [`replace_execution`](Self::replace_execution) for what the
    /// comparison of the two clocks can and cannot tell.
    pub(crate) fn removed_since_enrolment(&self, slot: u32, removed_ms: u64) -> bool {
        removed_ms >= self.execution.nodes.enrolled_at(slot)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::authority::event::AuthorityEvent;
    use crate::feed::{Change, FeedItem};
    use crate::governance::audit::{AuditAction, AuditEntry};
    use crate::{By, Clock, Engine, EngineConfig, ErrorKind, Heartbeat, Role, SyncError};

    const T: u64 = 1_700_000_000_000;
    const CLUSTER: &str = "gke-stage-eu";
    /// Removed by the owner; its removal reaches `held`'s audit log.
    const REPLICATED: &str = "gw-stage-eu-4";
    /// Removed by the owner; its removal reaches `held`'s audit log in some tests.
    const UNHEARD: &str = "gw-stage-eu-3";
    /// Its report at `held` is newer than the owner's and stale.
    const STALE: &str = "gw-stage-eu-2";

    /// The removal of `node` as the owner audited it, as a replica of a
    /// shared log would hold it.
    fn replicate_removal(e: &Engine, node: &str, at_ms: u64) {
        let event = AuthorityEvent::RemoveNode { node: node.to_owned(), cluster: CLUSTER.to_owned() };
        let entry = AuditEntry::new(at_ms, "bob", Role::Operator, AuditAction::RemoveNode, format!("node:{node}"))
            .payload(event.encode(&[]));
        e.governance.audit().append(entry).unwrap();
    }

    /// `held` served the cluster, lost it to an owner that removed two
    /// nodes (the removals of `replicated` reach `held`'s audit log), and
    /// knows a stale report of a third: the owner's checkpoint, and its
    /// journal export, after `held`'s earlier one if `earlier` (which
    /// names every node, the removed ones too).
    fn lost_and_stored(held: &Engine, replicated: &[&str], earlier: bool) -> (Engine, Vec<u8>, Vec<Vec<u8>>) {
        let mut journal = Vec::new();
        if earlier {
            journal.push(held.export_journal(&[CLUSTER], 0, usize::MAX).unwrap().bytes);
        }
        let owner = crate::demo::engine(T).unwrap();
        for node in [REPLICATED, UNHEARD] {
            owner.unenroll(node, &By::new("bob", Role::Operator, T + 1)).unwrap();
        }
        for node in replicated {
            replicate_removal(held, node, T + 1);
        }
        let view = held.node(STALE, T).unwrap();
        let error: SyncError = "RELOAD_FAILURE: listener port in use".parse().unwrap();
        let stale = Heartbeat {
            sync_error: Some(&error),
            ..Heartbeat::new(T, "3.6.0".parse().unwrap())
                .applied(view.applied_snapshot_id.as_deref().unwrap(), view.applied_hash.unwrap())
        };
        held.heartbeat_by_id(STALE, &stale).unwrap();
        let nodes = owner.export_nodes(&[CLUSTER]).unwrap();
        journal.push(owner.export_journal(&[CLUSTER], 0, usize::MAX).unwrap().bytes);
        (owner, nodes, journal)
    }

    /// What `e` shows of the cluster and of every node it enrols.
    fn shown(e: &Engine, cluster: &str) -> (crate::ClusterView, Vec<crate::NodeView>) {
        (e.cluster(cluster, T).unwrap(), e.cluster_nodes(cluster, T, 0, usize::MAX).unwrap())
    }

    #[test]
    fn the_nodes_another_owner_removed_are_gone_and_the_rest_is_what_it_stored() {
        let held = crate::demo::engine(T).unwrap();
        // Both removals reach `held`, and its earlier journal names both nodes.
        let (owner, nodes, journal) = lost_and_stored(&held, &[REPLICATED, UNHEARD], true);
        let journal: Vec<&[u8]> = journal.iter().map(Vec::as_slice).collect();
        let other = shown(&held, "eks-prod-us");
        let audited = held.audit().len();
        let mut feed = held.subscribe(None).unwrap();

        let replaced = held.replace_execution(&[CLUSTER, CLUSTER], Some(&nodes), &journal).unwrap();
        assert_eq!(replaced.removed, 2, "{replaced:?}");
        for node in [REPLICATED, UNHEARD] {
            assert_eq!(held.node_handle(node).unwrap_err().kind(), ErrorKind::NotFound, "{node} is still enrolled");
        }
        assert_eq!(shown(&held, CLUSTER), shown(&owner, CLUSTER), "the stored state, the stale report gone");
        assert_eq!(shown(&held, "eks-prod-us"), other, "another cluster untouched");
        assert_eq!(held.recount_mismatches(), Vec::<String>::new());
        assert_eq!(held.audit().len(), audited, "no audit record added");
        let mut last = None;
        while let Some(FeedItem::Change(event)) = feed.next_timeout(Duration::ZERO) {
            if let Change::Cluster(c) = &event.change
                && &*c.cluster == CLUSTER
            {
                last = Some((c.enrolled, c.in_sync));
            }
        }
        let view = owner.cluster(CLUSTER, T).unwrap();
        assert_eq!(last, Some((view.total, view.in_sync)), "the feed's last figures are the cluster's");

        let again = held.replace_execution(&[CLUSTER], Some(&nodes), &journal).unwrap();
        assert_eq!((again.removed, again.imported.enrolled), (0, 0), "{again:?}");
        assert_eq!(shown(&held, CLUSTER), shown(&owner, CLUSTER));
    }

    #[test]
    fn bad_input_changes_nothing_and_an_unrecorded_removal_removes_nothing() {
        let held = crate::demo::engine(T).unwrap();
        let (_, nodes, journal) = lost_and_stored(&held, &[REPLICATED], true);
        let journal: Vec<&[u8]> = journal.iter().map(Vec::as_slice).collect();
        let before = shown(&held, CLUSTER);
        let mut damaged = nodes.clone();
        damaged[40] ^= 1;
        // A checkpoint that names a node in the cluster, enrolled here in another.
        let moved = crate::demo::engine(T).unwrap();
        moved.unenroll("gw-prod-us-1", &By::new("bob", Role::Operator, T)).unwrap();
        moved.enroll("gw-prod-us-1", CLUSTER, T).unwrap();
        let elsewhere = moved.export_nodes(&[CLUSTER]).unwrap();
        let refusals = [
            (held.replace_execution(&[CLUSTER], Some(&damaged), &journal), ErrorKind::AuditTampered),
            (held.replace_execution(&[CLUSTER], Some(&nodes), &[b"junk"]), ErrorKind::InvalidInput),
            (held.replace_execution(&[CLUSTER], Some(journal[0]), &[]), ErrorKind::InvalidInput),
            (held.replace_execution(&[CLUSTER, "nowhere"], Some(&nodes), &journal), ErrorKind::NotFound),
            (held.replace_execution(&[CLUSTER], Some(&elsewhere), &journal), ErrorKind::Conflict),
        ];
        for (refused, kind) in refusals {
            assert_eq!(refused.map_err(|e| e.kind()), Err(kind));
            assert_eq!(shown(&held, CLUSTER), before, "nothing changed on a refusal");
        }
        assert!(held.node_handle(UNHEARD).is_ok());

        // UNHEARD's removal is not in `held`'s audit log: for all `held`
        // knows it was enrolled after the state was stored, and it stays.
        let replaced = held.replace_execution(&[CLUSTER], Some(&nodes), &journal).unwrap();
        assert_eq!(replaced.removed, 1);
        assert_eq!(held.node_handle(REPLICATED).unwrap_err().kind(), ErrorKind::NotFound);
        assert!(held.node_handle(UNHEARD).is_ok());
        assert_eq!(held.cluster(CLUSTER, T).unwrap().total, before.0.total - 1);
        assert_ne!(held.node(STALE, T).unwrap(), before.1.iter().find(|n| n.id == STALE).unwrap().clone());
        assert_eq!(held.recount_mismatches(), Vec::<String>::new());
        assert_eq!(held.recount_mismatches(), Vec::<String>::new());
    }

    #[test]
    fn a_removal_a_restore_made_is_durable_and_a_reopened_engine_accepts_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = || EngineConfig {
            clock: Clock::manual(T),
            data_dir: Some(dir.path().to_owned()),
            ..EngineConfig::default()
        };
        let held = Engine::with_config(config()).unwrap();
        crate::demo::populate(&held, T).unwrap();
        let (owner, nodes, journal) = lost_and_stored(&held, &[REPLICATED, UNHEARD], false);
        let journal: Vec<&[u8]> = journal.iter().map(Vec::as_slice).collect();
        assert_eq!(held.replace_execution(&[CLUSTER], Some(&nodes), &journal).unwrap().removed, 2);
        held.checkpoint_nodes().unwrap();
        drop(held);

        let reopened = Engine::with_config(config()).unwrap();
        for node in [REPLICATED, UNHEARD] {
            assert_eq!(reopened.node_handle(node).unwrap_err().kind(), ErrorKind::NotFound, "{node} came back");
        }
        assert_eq!(reopened.cluster(CLUSTER, T).unwrap().total, owner.cluster(CLUSTER, T).unwrap().total);
        assert_eq!(reopened.recount_mismatches(), Vec::<String>::new());
    }
}
