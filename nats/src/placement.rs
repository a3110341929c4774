//! Which partition each cluster is served in: clusters are *placed*, one
//! per partition while there are partitions to spare, so that a handful of
//! clusters never share one.
//!
//! A hash alone ([`crate::partition::partition_of`]) puts the demo's eight
//! clusters into five of sixteen partitions: the balance plan moves whole
//! partitions, so two clusters sharing one are never split, and two
//! instances can end a partition's load apart (460 / 540 nodes for those
//! eight at 20 to 230 nodes each). More partitions only make a shared one less
//! likely (one in ten for eight clusters among 256) and cost a lease
//! renewal, a restore and a journal subject each. Placement makes it
//! impossible:
//!
//! **The rule** ([`place`]). Clusters are taken in the order of their
//! first `upsert_cluster` record in the audit log (their creation through
//! the audited path, a total order every replica shares). Each goes to a
//! partition holding the fewest clusters so far: the first such partition
//! from its hash partition upwards (wrapping). So the first `N` clusters
//! get a partition each, every partition's cluster count stays within one
//! of every other's, and a cluster created later never moves one created
//! before: its partition, its lease, its journal subject
//! (`fleet.journal.p<k>`) and its node checkpoints stay where they are.
//! Every instance computes the same answer from the same log: a pure
//! function of the creation order and `N`. A cluster the engine knows
//! without a record of its creation (none is created otherwise) is placed
//! after the recorded ones, in id order.
//!
//! **Existing deployments** ([`PlacementMode`]). The journal streams
//! `FLEET_JOURNAL` and `FLEET_NODES` record, when they are created, that
//! clusters are placed and among how many partitions (in their
//! descriptions, see [`Journals::open`](crate::journal::Journals::open)).
//! A fleet whose streams were created before has its state stored by
//! hash: it keeps hash placement, so everything stored (journal subjects,
//! node checkpoints, leases, summaries) stays where its readers look, and
//! says so ([`Instance::placement`](crate::Instance::placement)). An
//! instance started with another partition count than the streams record
//! is refused, naming the count to use.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::{Arc, PoisonError, RwLock};

use fleetgov::audit::{AuditAction, AuditRecord};
use fleetgov::{Engine, ForceTarget};

use crate::partition::partition_of;

/// How a fleet's clusters are put into partitions: fixed when its node
/// checkpoint stream is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlacementMode {
    /// By creation order ([`place`]): a fleet whose stored state was
    /// created with placement.
    Placed,
    /// By hash alone ([`partition_of`]): a fleet whose stored state
    /// predates placement, kept so that it stays readable.
    Hashed,
}

impl PlacementMode {
    /// What an operator should know about it.
    ///
    /// ```
    /// use fleetgov_nats::placement::PlacementMode;
    /// assert!(PlacementMode::Hashed.describe().contains("FLEET_NODES"));
    /// ```
    pub fn describe(self) -> &'static str {
        match self {
            PlacementMode::Placed => "clusters placed by creation order, one per partition while partitions remain",
            PlacementMode::Hashed => {
                "clusters placed by hash: FLEET_NODES predates placement and holds state stored by hash, kept \
                 readable; a few clusters may share a partition (balance within a partition's load). Placement \
                 applies to a fleet whose FLEET_JOURNAL and FLEET_NODES are created afresh"
            }
        }
    }
}

/// The partition of every cluster of `order` (creation order, duplicates
/// ignored) among `partitions`, by the placement rule: each to the first
/// partition from its hash partition upwards holding the fewest clusters
/// so far.
///
/// ```
/// use std::num::NonZeroU32;
/// use fleetgov_nats::placement::place;
/// let n = NonZeroU32::new(16).unwrap();
/// let names: Vec<String> = (0..40).map(|i| format!("cluster-{i}")).collect();
/// let placed = place(names.iter().map(String::as_str), n);
/// // The first sixteen get a partition each; then two, then three per partition at most.
/// let mut first: Vec<u32> = names[..16].iter().map(|c| placed[c]).collect();
/// first.sort_unstable();
/// assert_eq!(first, (0..16).collect::<Vec<_>>());
/// // Later clusters move none placed before.
/// assert_eq!(place(names[..16].iter().map(String::as_str), n), names[..16].iter().map(|c| (c.clone(), placed[c])).collect());
/// ```
pub fn place<'a>(order: impl IntoIterator<Item = &'a str>, partitions: NonZeroU32) -> BTreeMap<String, u32> {
    let mut placed = Placed::new(partitions);
    for cluster in order {
        placed.add(cluster);
    }
    placed.at
}

/// Clusters placed so far, and how many each partition holds.
#[derive(Debug)]
struct Placed {
    partitions: NonZeroU32,
    at: BTreeMap<String, u32>,
    counts: Vec<u64>,
    /// The audit records read so far.
    read: u64,
}

impl Placed {
    fn new(partitions: NonZeroU32) -> Placed {
        Placed { partitions, at: BTreeMap::new(), counts: vec![0; partitions.get() as usize], read: 0 }
    }

    /// Places `cluster` unless it is placed.
    fn add(&mut self, cluster: &str) {
        if self.at.contains_key(cluster) {
            return;
        }
        let n = self.partitions.get();
        let fewest = self.counts.iter().copied().min().unwrap_or(0);
        let start = partition_of(cluster, self.partitions);
        let partition = (0..n).map(|i| (start + i) % n).find(|&p| self.counts[p as usize] == fewest).unwrap_or(start);
        self.counts[partition as usize] += 1;
        self.at.insert(cluster.to_owned(), partition);
    }
}

/// An instance's placement of the clusters it knows, kept up to date with
/// its engine's audit log ([`update`](Self::update)) and read by its
/// lease rounds and its audit store. Cheap to clone: clones share it.
#[derive(Clone, Debug)]
pub struct Placement {
    mode: PlacementMode,
    placed: Arc<RwLock<Placed>>,
}

impl Placement {
    /// A placement of `partitions` partitions by `mode`, with no cluster placed yet.
    pub fn new(mode: PlacementMode, partitions: NonZeroU32) -> Placement {
        Placement { mode, placed: Arc::new(RwLock::new(Placed::new(partitions))) }
    }

    /// How clusters are placed.
    pub fn mode(&self) -> PlacementMode {
        self.mode
    }

    /// The number of partitions.
    pub fn partitions(&self) -> NonZeroU32 {
        self.read().partitions
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Placed> {
        // Every write leaves the map whole: a panic elsewhere cannot tear it.
        self.placed.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The partition of `cluster`: `None` for a cluster not placed yet
    /// (one created after the last [`update`](Self::update)), which is
    /// served nowhere until it is.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use fleetgov_nats::placement::{Placement, PlacementMode};
    /// use fleetgov_nats::partition::partition_of;
    /// let n = NonZeroU32::new(16).unwrap();
    /// let engine = fleetgov::demo::engine(1_700_000_000_000).unwrap();
    /// let placed = Placement::new(PlacementMode::Placed, n);
    /// assert_eq!(placed.partition_of("eks-prod-us"), None);
    /// placed.update(&engine);
    /// assert!(placed.partition_of("eks-prod-us").is_some());
    /// let hashed = Placement::new(PlacementMode::Hashed, n);
    /// assert_eq!(hashed.partition_of("eks-prod-us"), Some(partition_of("eks-prod-us", n)));
    /// ```
    pub fn partition_of(&self, cluster: &str) -> Option<u32> {
        match self.mode {
            PlacementMode::Hashed => Some(partition_of(cluster, self.partitions())),
            PlacementMode::Placed => self.read().at.get(cluster).copied(),
        }
    }

    /// Places the clusters `engine` knows that are not placed yet: reads
    /// the audit records it has not read (from where it stopped), each
    /// `upsert_cluster` in order, then any cluster left without one.
    /// Nothing is read while every known cluster is placed. The engine is
    /// called with no lock held: an audit store may read the placement
    /// while the engine appends.
    pub fn update(&self, engine: &Engine) {
        if self.mode == PlacementMode::Hashed {
            return;
        }
        let mut ids = engine.cluster_ids();
        ids.retain(|id| !self.read().at.contains_key(id));
        if ids.is_empty() {
            return;
        }
        let from = self.read().read;
        let records = engine.audit_page(from, usize::MAX);
        let created: Vec<&str> = records.iter().filter_map(|r| upserted(r)).collect();
        let mut placed = self.placed.write().unwrap_or_else(PoisonError::into_inner);
        if placed.read != from {
            return; // another update read them meanwhile
        }
        placed.read = from + records.len() as u64;
        for cluster in created {
            placed.add(cluster);
        }
        ids.sort_unstable();
        for cluster in &ids {
            placed.add(cluster);
        }
    }
}

/// The cluster an `upsert_cluster` record (target `cluster:<id>`) creates or changes.
fn upserted(record: &AuditRecord) -> Option<&str> {
    match (record.action, ForceTarget::from_label(&record.target)) {
        (AuditAction::UpsertCluster, Some(ForceTarget::Cluster(cluster))) => Some(cluster),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::balance::{instance_loads, plan, spread};
    use crate::partition::DEFAULT_PARTITIONS;

    proptest! {
        /// What placement guarantees at the default partition count: up
        /// to N clusters get a partition each, so two instances end at
        /// most the largest cluster's nodes apart; beyond N, partitions
        /// hold within one cluster of each other.
        #[test]
        fn clusters_get_a_partition_each_and_split_within_the_largest_cluster(
            names in proptest::collection::btree_set("[a-z][a-z0-9-]{0,20}", 1..64),
            sizes in proptest::collection::vec(1u64..100_000, 64),
            instances in 2usize..5,
        ) {
            let n = DEFAULT_PARTITIONS;
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let placed = place(names.iter().copied(), n);
            let mut counts = vec![0u64; n.get() as usize];
            let mut loads = vec![0u64; n.get() as usize];
            for (i, name) in names.iter().enumerate() {
                counts[placed[*name] as usize] += 1;
                loads[placed[*name] as usize] += sizes[i];
            }
            prop_assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1, "{counts:?}");
            if names.len() <= n.get() as usize {
                prop_assert!(counts.iter().all(|&c| c <= 1));
                let live = (0..instances).map(|i| format!("ingest-{i}")).collect();
                let split = plan(&loads, &live, &BTreeMap::new());
                let largest = sizes[..names.len()].iter().copied().max().unwrap();
                let all_hold = instance_loads(&loads, &split).len() == instances;
                prop_assert!(spread(&loads, &split) <= largest + u64::from(!all_hold));
            }
            // A cluster created later moves none placed before.
            let earlier = place(names[..names.len() / 2].iter().copied(), n);
            prop_assert!(earlier.iter().all(|(c, p)| placed[c] == *p));
        }
    }

    #[test]
    fn eight_clusters_of_one_size_split_four_and_four() {
        let n = DEFAULT_PARTITIONS;
        let names: Vec<String> = crate::demo::clusters(8).into_iter().map(|(c, ..)| c).collect();
        let placed = place(names.iter().map(String::as_str), n);
        let mut loads = vec![0u64; n.get() as usize];
        for name in &names {
            loads[placed[name] as usize] += 2_500;
        }
        let live = ["a".to_owned(), "b".to_owned()].into();
        let split = plan(&loads, &live, &BTreeMap::new());
        let clusters = |id: &str| names.iter().filter(|c| split[&placed[*c]] == id).count();
        assert_eq!((clusters("a"), clusters("b")), (4, 4));
        assert_eq!(spread(&loads, &split), 0);
    }

    #[test]
    fn an_engine_places_its_clusters_in_creation_order() {
        let engine = fleetgov::demo::engine(1_700_000_000_000).unwrap();
        let n = NonZeroU32::new(2).unwrap();
        let placement = Placement::new(PlacementMode::Placed, n);
        placement.update(&engine);
        let records = engine.audit();
        let expected = place(records.iter().filter_map(|r| upserted(r)), n);
        assert!(!expected.is_empty());
        for cluster in engine.cluster_ids() {
            assert_eq!(placement.partition_of(&cluster), expected.get(&cluster).copied(), "{cluster}");
        }
    }
}
