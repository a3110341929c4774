//! The node matrix's order: by any column, ascending or descending, the
//! node id breaking ties (in the same direction). A page of a sorted matrix keeps only the nodes that
//! may still land on it, so memory stays bounded by `offset + limit` however
//! large the cluster.

use std::cmp::Ordering;

use fleetgov::NodeView;
use serde::Deserialize;

/// A column of the matrix to sort by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SortKey {
    /// The node id.
    Id,
    /// The runtime version (never reported first).
    Version,
    /// Process health: healthy, degraded, offline.
    ProcessHealth,
    /// IN_SYNC before DIVERGENT.
    Config,
    /// The applied hash.
    Hash,
    /// The drift root cause: the sync error, else the reconcile reason.
    Cause,
    /// CPU %.
    Cpu,
    /// Memory %.
    Memory,
    /// Transactions per second.
    Tps,
    /// JVM heap %.
    Heap,
    /// Hot-swap errors.
    HotSwapErrors,
    /// Heartbeat age (never heard last).
    Age,
}

/// Ascending or descending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

fn cause(n: &NodeView) -> Option<String> {
    n.last_sync_error.as_ref().map(ToString::to_string).or_else(|| n.reconcile_reason.clone())
}

impl SortKey {
    /// How `a` compares with `b` by this column alone.
    fn compare(self, a: &NodeView, b: &NodeView) -> Ordering {
        let float = |f: fn(&NodeView) -> f32| f(a).total_cmp(&f(b));
        match self {
            SortKey::Id => Ordering::Equal,
            SortKey::Version => a.runtime_version.cmp(&b.runtime_version),
            SortKey::ProcessHealth => (a.process_health as u8).cmp(&(b.process_health as u8)),
            SortKey::Config => (a.config_status as u8).cmp(&(b.config_status as u8)),
            SortKey::Hash => a.applied_hash.map(|h| h.0).cmp(&b.applied_hash.map(|h| h.0)),
            SortKey::Cause => cause(a).cmp(&cause(b)),
            SortKey::Cpu => float(|n| n.metrics.cpu),
            SortKey::Memory => float(|n| n.metrics.memory),
            SortKey::Tps => float(|n| n.metrics.tps),
            SortKey::Heap => float(|n| n.metrics.heap),
            SortKey::HotSwapErrors => a.metrics.hot_swap_errors.cmp(&b.metrics.hot_swap_errors),
            SortKey::Age => a.heartbeat_age_ms.unwrap_or(u64::MAX).cmp(&b.heartbeat_age_ms.unwrap_or(u64::MAX)),
        }
    }
}

/// The nodes of one page of a sorted matrix, fed in any order.
pub struct SortedPage {
    key: SortKey,
    order: SortOrder,
    offset: usize,
    limit: usize,
    kept: Vec<NodeView>,
}

impl SortedPage {
    /// The page `offset..offset + limit` by `key` in `order`.
    pub fn new(key: SortKey, order: SortOrder, offset: usize, limit: usize) -> Self {
        SortedPage { key, order, offset, limit, kept: Vec::new() }
    }

    fn compare(&self, a: &NodeView, b: &NodeView) -> Ordering {
        let (a, b) = match self.order {
            SortOrder::Asc => (a, b),
            SortOrder::Desc => (b, a),
        };
        self.key.compare(a, b).then_with(|| a.id.cmp(&b.id))
    }

    /// Considers `node` for the page.
    pub fn push(&mut self, node: NodeView) {
        self.kept.push(node);
        let keep = self.offset.saturating_add(self.limit);
        if self.kept.len() >= keep.saturating_mul(2).max(1024) {
            self.trim(keep);
        }
    }

    fn trim(&mut self, keep: usize) {
        if keep < self.kept.len() {
            let mut kept = std::mem::take(&mut self.kept);
            kept.select_nth_unstable_by(keep, |a, b| self.compare(a, b));
            kept.truncate(keep);
            self.kept = kept;
        }
    }

    /// The page, in order.
    pub fn finish(mut self) -> Vec<NodeView> {
        let mut kept = std::mem::take(&mut self.kept);
        kept.sort_unstable_by(|a, b| self.compare(a, b));
        kept.into_iter().skip(self.offset).take(self.limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_a_sorted_matrix_equals_the_slice_of_the_whole_sort() {
        let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
        let base = e.node("gw-prod-us-1", 1_700_000_000_000).unwrap();
        let node = |i: u64| {
            let mut n = base.clone();
            n.id = format!("n{i:04}");
            n.metrics.cpu = ((i * 7919) % 1000) as f32;
            n.heartbeat_age_ms = (!i.is_multiple_of(5)).then_some(i);
            n
        };
        let nodes: Vec<NodeView> = (0..3000).map(node).collect();
        for (key, order) in
            [(SortKey::Cpu, SortOrder::Desc), (SortKey::Age, SortOrder::Asc), (SortKey::Id, SortOrder::Desc)]
        {
            let mut page = SortedPage::new(key, order, 1200, 50);
            nodes.iter().cloned().for_each(|n| page.push(n));
            let got: Vec<String> = page.finish().into_iter().map(|n| n.id).collect();
            let mut all = nodes.clone();
            let whole = SortedPage::new(key, order, 0, all.len());
            all.sort_by(|a, b| whole.compare(a, b));
            let want: Vec<String> = all.into_iter().skip(1200).take(50).map(|n| n.id).collect();
            assert_eq!(got, want, "{key:?} {order:?}");
        }
        let mut by_age = SortedPage::new(SortKey::Age, SortOrder::Asc, 0, 3000);
        nodes.iter().cloned().for_each(|n| by_age.push(n));
        assert!(by_age.finish().last().is_some_and(|n| n.heartbeat_age_ms.is_none()), "never heard sorts last");
    }
}
