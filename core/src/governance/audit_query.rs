//! The audit query ([`AuditQuery`]): the log newest first, narrowed by
//! action, target, cluster, node, actor and time, in pages that go on from a
//! cursor. One implementation for the HTTP API and every binding.

use std::collections::HashMap;
use std::sync::Arc;

use crate::authority::event::AuthorityEvent;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::governance::audit::{AUDIT_PAGE_MAX, AUDIT_SCAN_MAX, AuditAction, AuditQuery, AuditQueryPage, AuditRecord};
use crate::governance::overrides::ForceTarget;

/// Records scanned per read of the log.
const SCAN_PAGE: usize = 512;
/// A query's filters, checked once, with the node → cluster lookups a
/// cluster filter needs made once per node.
struct Filter<'q> {
    q: &'q AuditQuery,
    target: Option<String>,
    from: u64,
    to: u64,
    node_clusters: HashMap<String, Option<String>>,
}

impl<'q> Filter<'q> {
    fn new(q: &'q AuditQuery) -> Result<Self> {
        if !(1..=AUDIT_PAGE_MAX).contains(&q.limit) {
            return Err(Error::invalid(format!("limit must be from 1 to {AUDIT_PAGE_MAX}")));
        }
        let node_target = q.node.as_deref().map(|n| ForceTarget::Node(n).label());
        let target = match (&q.target, node_target) {
            (Some(t), Some(n)) if *t != n => {
                return Err(Error::invalid(format!("target {t:?} and node {n:?} name different targets")));
            }
            (t, n) => t.clone().or(n),
        };
        let (from, to) = (q.from_ms.unwrap_or(0), q.to_ms.unwrap_or(u64::MAX));
        if from > to {
            return Err(Error::invalid(format!("from ({from}) is after to ({to})")));
        }
        Ok(Filter { q, target, from, to, node_clusters: HashMap::new() })
    }

    fn matches(&mut self, engine: &Engine, r: &AuditRecord) -> bool {
        (self.q.actions.is_empty() || self.q.actions.contains(&r.action))
            && self.target.as_ref().is_none_or(|t| *t == r.target)
            && self.q.actor.as_ref().is_none_or(|a| *a == r.actor)
            && (self.from..=self.to).contains(&r.time_ms)
            && match &self.q.cluster {
                None => true,
                Some(c) => self.cluster_of(engine, r).is_some_and(|of| of == *c),
            }
    }

    fn cluster_of(&mut self, engine: &Engine, r: &AuditRecord) -> Option<String> {
        if let Some(cluster) = removed_from(r) {
            return Some(cluster);
        }
        match ForceTarget::from_label(&r.target) {
            Some(ForceTarget::Node(id)) => self
                .node_clusters
                .entry(id.to_owned())
                .or_insert_with(|| engine.node_cluster(id).ok().map(str::to_owned))
                .clone(),
            _ => target_cluster(&r.target),
        }
    }
}

/// The cluster a `remove_node` record removed its node from.
fn removed_from(r: &AuditRecord) -> Option<String> {
    if r.action != AuditAction::RemoveNode {
        return None;
    }
    match AuthorityEvent::decode(&r.payload) {
        Ok((AuthorityEvent::RemoveNode { cluster, .. }, _)) => Some(cluster),
        _ => None,
    }
}

impl Engine {
    /// The audit log newest first, as `q` narrows it: one page and the
    /// cursor of the next. Bad filters (a limit out of range, `from` after
    /// `to`, a target and a node that differ) are `InvalidInput`.
    ///
    /// ```
    /// use fleetgov::*;
    /// use fleetgov::audit::{AuditAction, AuditQuery};
    /// let t = 1_700_000_000_000;
    /// let e = demo::engine(t).unwrap();
    /// e.force_sync(ForceTarget::Node("gw-prod-us-1"), &Override::new("bob", Role::Operator, "stuck", t)).unwrap();
    /// let q = AuditQuery { actions: vec![AuditAction::ForceSyncNode], cluster: Some("eks-prod-us".into()), ..AuditQuery::default() };
    /// let page = e.audit_query(&q).unwrap();
    /// assert_eq!(page.records.len(), 1);
    /// assert_eq!(page.records[0].actor, "bob");
    /// ```
    pub fn audit_query(&self, q: &AuditQuery) -> Result<AuditQueryPage> {
        self.audit_query_where(q, |_| true)
    }

    /// [`audit_query`](Self::audit_query) over the records `visible` keeps
    /// (a caller's view of the log, e.g. a token's workspaces).
    pub fn audit_query_where(
        &self,
        q: &AuditQuery,
        mut visible: impl FnMut(&AuditRecord) -> bool,
    ) -> Result<AuditQueryPage> {
        let mut filter = Filter::new(q)?;
        let size = self.audit_len();
        let mut end = q.before.unwrap_or(size).min(size);
        let floor = end.saturating_sub(AUDIT_SCAN_MAX);
        let mut records = Vec::new();
        while end > floor && records.len() < q.limit {
            let start = end.saturating_sub(SCAN_PAGE as u64).max(floor);
            let page = self.audit_page(start, (end - start) as usize);
            for r in page.iter().rev() {
                end = r.seq;
                if filter.matches(self, r) && visible(r) {
                    records.push(Arc::clone(r));
                    if records.len() == q.limit {
                        break;
                    }
                }
            }
            if page.is_empty() {
                end = start;
            }
        }
        Ok(AuditQueryPage { records, next_before: (end > 0).then_some(end) })
    }

    /// The workspace an audit record is about: that of the cluster a
    /// removal removed its node from, else its
    /// [target's](Self::target_workspace).
    ///
    /// ```
    /// use fleetgov::*;
    /// let t = 1_700_000_000_000;
    /// let e = demo::engine(t).unwrap();
    /// let removal = e.unenroll("gw-prod-us-1", &By::new("bob", Role::Operator, t)).unwrap();
    /// assert_eq!(e.audit_record_workspace(&removal).as_deref(), Some("acme-edge"));
    /// ```
    pub fn audit_record_workspace(&self, record: &AuditRecord) -> Option<String> {
        match removed_from(record) {
            Some(cluster) => self.target_workspace(&ForceTarget::Cluster(&cluster).label()),
            None => self.target_workspace(&record.target),
        }
    }
}

/// The cluster a target names: `cluster:<id>` or a snapshot id's cluster.
fn target_cluster(target: &str) -> Option<String> {
    match ForceTarget::from_label(target) {
        Some(ForceTarget::Cluster(id)) => Some(id.to_owned()),
        Some(_) => None,
        None => crate::parse_snapshot_id(target).map(|(cluster, _)| cluster.to_owned()),
    }
}
