//! Enrolment: a node id gets its dense slot, its cluster and its handle.

use crate::engine::{Engine, NodeHandle};
use crate::error::{Error, ErrorKind, Result};
use crate::execution::node_registry::Enrolled;
use crate::id::validate_id;

impl Engine {
    /// Enrolls node `node` in `cluster` at `at_ms` (shown as the node's
    /// `enrolled_at_ms`, kept to the second). Enrolling again in the same cluster returns the same
    /// handle and keeps the first enrolment time; in another cluster is a
    /// `Conflict`.
    pub fn enroll(&self, node: &str, cluster: &str, at_ms: u64) -> Result<NodeHandle> {
        let (handle, new) = self.enroll_in_memory(node, cluster, at_ms)?;
        if let (Some(durable), true) = (&self.durable, new) {
            durable.enrolled(&[(handle.slot(), node, cluster)], at_ms)?;
        }
        if new {
            self.announce_cluster(self.cluster_state(cluster)?);
        }
        Ok(handle)
    }

    /// Enrols every `(node, cluster)` of `nodes` at `at_ms`, as
    /// [`enroll`](Self::enroll) would one by one, and returns their handles
    /// in order; with a data directory the new enrolments share one fsync.
    /// Everything is checked first (ids, clusters, a node enrolled or listed
    /// in another cluster, capacity): on a refusal nothing is enrolled.
    ///
    /// ```
    /// # use fleetgov::*;
    /// # let e = Engine::new();
    /// # e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    /// # e.upsert_cluster(ClusterSpec::new("c", "ws", Environment::Staging)).unwrap();
    /// let handles = e.enroll_many([("gw-1", "c"), ("gw-2", "c")], 0).unwrap();
    /// assert_eq!(e.node_handle("gw-2").unwrap(), handles[1]);
    /// assert_eq!(e.enroll_many([("gw-3", "c"), ("gw-1", "nope")], 0).unwrap_err().kind(), ErrorKind::NotFound);
    /// assert!(e.node_handle("gw-3").is_err(), "nothing enrolled");
    /// ```
    pub fn enroll_many<'a>(
        &self,
        nodes: impl IntoIterator<Item = (&'a str, &'a str)>,
        at_ms: u64,
    ) -> Result<Vec<NodeHandle>> {
        let nodes: Vec<(&str, &str)> = nodes.into_iter().collect();
        let mut listed: hashbrown::HashMap<&str, &str> = hashbrown::HashMap::with_capacity(nodes.len());
        let mut fresh = 0usize;
        for &(node, cluster) in &nodes {
            validate_id("node", node)?;
            let index = self.cluster_index(cluster)?;
            let current =
                self.execution.nodes.lookup(node).and_then(|s| self.execution.nodes.slot(s)).map(|s| s.cluster());
            if let Some(other) = current.filter(|&c| c != index) {
                let other = &self.cluster_at(other).id;
                return Err(Error::new(ErrorKind::Conflict, format!("node '{node}' is enrolled in cluster '{other}'")));
            }
            match listed.insert(node, cluster) {
                Some(first) if first != cluster => {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!("node '{node}' is listed in clusters '{first}' and '{cluster}'"),
                    ));
                }
                None if current.is_none() => fresh += 1,
                _ => {}
            }
        }
        if self.execution.nodes.len() as usize + fresh > self.execution.nodes.capacity() as usize {
            return Err(Error::invalid(format!(
                "the engine is full: {fresh} new nodes do not fit its capacity of {} (raise EngineConfig::capacity)",
                self.execution.nodes.capacity()
            )));
        }
        let mut handles = Vec::with_capacity(nodes.len());
        let mut new = Vec::with_capacity(fresh);
        for &(node, cluster) in &nodes {
            let (handle, is_new) = self.enroll_in_memory(node, cluster, at_ms)?;
            if is_new {
                new.push((handle.slot(), node, cluster));
            }
            handles.push(handle);
        }
        if let Some(durable) = &self.durable {
            durable.enrolled(&new, at_ms)?;
        }
        let mut announced = hashbrown::HashSet::new();
        for &(_, _, cluster) in &new {
            if announced.insert(cluster) {
                self.announce_cluster(self.cluster_state(cluster)?);
            }
        }
        Ok(handles)
    }

    /// Enrols in memory; `true` when the node is new.
    fn enroll_in_memory(&self, node: &str, cluster: &str, at_ms: u64) -> Result<(NodeHandle, bool)> {
        validate_id("node", node)?;
        let index = self.cluster_index(cluster)?;
        let state = self.cluster_at(index);
        let bucket = crate::authority::rollout::Rank::bucket(cluster, node);
        let enrolled = self.execution.nodes.enroll(node, at_ms, |slot, cell| {
            cell.init(index, bucket, state.authority.force_epoch());
            state.counters.add_member(slot, bucket);
        })?;
        match enrolled {
            Enrolled::New(slot) => Ok((self.execution.handle(slot), true)),
            Enrolled::Existing(slot) => {
                let current = self.execution.nodes.slot(slot).map(|s| s.cluster());
                if current == Some(index) {
                    Ok((self.execution.handle(slot), false))
                } else {
                    let other = current.map_or("?", |c| &*self.cluster_at(c).id);
                    Err(Error::new(ErrorKind::Conflict, format!("node '{node}' is enrolled in cluster '{other}'")))
                }
            }
        }
    }

    /// The handle of an enrolled node.
    pub fn node_handle(&self, node: &str) -> Result<NodeHandle> {
        self.execution.slot_of_id(node).map(|s| self.execution.handle(s))
    }

    /// The id of the cluster node `node` is enrolled in: one registry
    /// lookup, no view built (`NotFound` for a node not enrolled).
    ///
    /// ```
    /// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
    /// assert_eq!(e.node_cluster("gw-prod-us-1").unwrap(), "eks-prod-us");
    /// assert!(e.node_cluster("gw-nowhere").is_err());
    /// ```
    pub fn node_cluster(&self, node: &str) -> Result<&str> {
        let slot = self.execution.slot_of_id(node)?;
        let cluster = self.execution.cluster_of(slot).ok_or_else(|| Error::not_found(format_args!("node '{node}'")))?;
        Ok(&self.cluster_at(cluster).id)
    }
}
