//! Which instance should own which partition: partitions spread by load.
//!
//! A partition's **load** is the number of nodes enrolled in its clusters,
//! as their summaries in `FLEET_SUMMARIES` count them. Partitions are
//! weighed by their load first and their count second (a partition weighs
//! its load times the number of partitions, plus one), so a fleet with no
//! nodes yet, or with empty partitions, is spread by count. Every instance
//! reads the same summaries, the same lease owners (`FLEET_PARTITIONS`) and
//! the same live instances (`FLEET_INSTANCES`) and computes the same
//! [`plan`] from them: a pure function of its inputs.
//!
//! The plan starts from the current owners, so an instance keeps what it
//! holds unless moving it makes the spread better:
//!
//! 1. each partition held by a live instance stays with it;
//! 2. every other partition (free, or held by an instance no longer live),
//!    heaviest first, goes to the least loaded instance;
//! 3. then, while one is worth making, a partition moves from a more
//!    loaded instance to a less loaded one: of the moves that narrow the
//!    gap between the two, the one that evens the weights most (lowers
//!    the sum of the squared instance weights most). A move is worth
//!    making when the gap exceeds the heaviest partition's weight, or when
//!    the move narrows it by more than the hysteresis, a twentieth of an
//!    instance's mean weight: loads that barely change move nothing, and a
//!    move is never undone by a change smaller than the hysteresis.
//!
//! So the most and the least loaded instance end at most the largest
//! partition's load apart in nodes ([`spread`]; one node more when an
//! instance is left with no partition, as when there are fewer partitions
//! than instances), and a plan is its own fixed point: planning again from
//! its result moves nothing.
//!
//! **Why clusters are placed, not hashed.** The unit moved is a partition.
//! With clusters in partitions by hash alone, the demo's eight cluster
//! names land in five of the default sixteen partitions (three sharing
//! one; eight random names in six and a half on average), and the best
//! split of them at 20 to 230 nodes each is 460 / 540. Raising the
//! partition count only makes sharing less likely (eight clusters still
//! share a partition one time in ten among 256) while every partition
//! costs a lease renewal every tick, a claim and a restore (two stream
//! reads) at start-up and at every takeover, and a journal pass every
//! second. So the count stays at sixteen and clusters are placed
//! ([`crate::placement`]): up to sixteen clusters get a partition each, so
//! the instances end at most the largest **cluster's** nodes apart (and
//! eight clusters of near sizes four and four); beyond that the partitions'
//! cluster counts stay within one of each other.
//!
//! An instance acts only on its own part: it claims the free partitions the
//! plan gives it and lets go (after writing their state) of those the plan
//! gives to others, which the others claim on their next round.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;

use crate::summary::ClusterSummary;

/// The load of every partition (index = partition): the nodes enrolled in
/// its clusters, by `summaries` (one per cluster, each naming the
/// partition its owner serves it in). A summary naming no partition of
/// `partitions` (written under another count) counts nowhere.
///
/// ```
/// use std::num::NonZeroU32;
/// use fleetgov_nats::balance::partition_loads;
/// use fleetgov_nats::placement::{Placement, PlacementMode};
/// let t = 1_700_000_000_000;
/// let engine = fleetgov::demo::engine(t).unwrap();
/// let n = NonZeroU32::new(16).unwrap();
/// let placement = Placement::new(PlacementMode::Placed, n);
/// placement.update(&engine);
/// let summaries: Vec<_> = engine
///     .cluster_ids()
///     .iter()
///     .map(|c| fleetgov_nats::ClusterSummary {
///         partition: placement.partition_of(c).unwrap(),
///         ..fleetgov_nats::ClusterSummary::read(&engine, c, "i", t).unwrap()
///     })
///     .collect();
/// let loads = partition_loads(&summaries, n);
/// assert_eq!(loads.len(), 16);
/// assert_eq!(loads.iter().sum::<u64>(), 11, "the seeds' eleven nodes");
/// assert!(loads[placement.partition_of("gke-stage-eu").unwrap() as usize] >= 4);
/// ```
pub fn partition_loads<'a>(
    summaries: impl IntoIterator<Item = &'a ClusterSummary>,
    partitions: NonZeroU32,
) -> Vec<u64> {
    let mut loads = vec![0u64; partitions.get() as usize];
    for summary in summaries {
        if let Some(load) = loads.get_mut(summary.partition as usize) {
            // Summaries come from a shared bucket: sums saturate, never overflow.
            *load = load.saturating_add(summary.enrolled);
        }
    }
    loads
}

/// How much a move must narrow the weight gap between the two instances it
/// is made between, unless the gap exceeds the heaviest partition: a
/// twentieth of the mean weight per instance, at least 1.
fn hysteresis(weights: &[u64], instances: usize) -> u64 {
    let total = weights.iter().fold(0u64, |sum, &w| sum.saturating_add(w));
    (total / (20 * instances.max(1) as u64)).max(1)
}

/// The owner every partition should have: `loads` by partition (see
/// [`partition_loads`]), the `live` instances, and the `current` owner of
/// each leased partition. Every partition is given to a live instance; none
/// when no instance is live. Deterministic: the same inputs give the same
/// plan on every instance.
///
/// ```
/// use std::collections::{BTreeMap, BTreeSet};
/// use fleetgov_nats::balance::{plan, spread};
/// let live: BTreeSet<String> = ["a".to_owned(), "b".to_owned()].into();
/// // Eight partitions, one of them heavy, three empty.
/// let loads = [900, 100, 200, 300, 0, 0, 400, 0];
/// let first = plan(&loads, &live, &BTreeMap::new());
/// assert!(spread(&loads, &first) <= 900);
/// // Its own fixed point: planning again moves nothing.
/// assert_eq!(plan(&loads, &live, &first), first);
/// // A few nodes more or less move nothing either.
/// let later = [903, 99, 198, 302, 0, 1, 404, 0];
/// assert_eq!(plan(&later, &live, &first), first);
/// // A fleet without nodes is spread by count.
/// let empty = plan(&[0; 16], &live, &BTreeMap::new());
/// assert_eq!(empty.values().filter(|o| *o == "a").count(), 8);
/// ```
pub fn plan(loads: &[u64], live: &BTreeSet<String>, current: &BTreeMap<u32, String>) -> BTreeMap<u32, String> {
    if live.is_empty() {
        return BTreeMap::new();
    }
    let count = loads.len() as u64;
    let weights: Vec<u64> = loads.iter().map(|l| l.saturating_mul(count).saturating_add(1)).collect();
    let loads = &weights[..];
    let ids: Vec<&String> = live.iter().collect();
    let index: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut owner: Vec<Option<usize>> =
        (0..loads.len() as u32).map(|p| current.get(&p).and_then(|o| index.get(o.as_str()).copied())).collect();
    let mut load = vec![0u64; ids.len()];
    for (p, o) in owner.iter().enumerate() {
        if let Some(o) = o {
            load[*o] = load[*o].saturating_add(loads[p]);
        }
    }
    let lightest = |load: &[u64]| (0..load.len()).min_by_key(|&i| (load[i], i)).unwrap_or(0);
    let mut free: Vec<usize> = (0..loads.len()).filter(|&p| owner[p].is_none()).collect();
    free.sort_by_key(|&p| (std::cmp::Reverse(loads[p]), p));
    for p in free {
        let to = lightest(&load);
        owner[p] = Some(to);
        load[to] = load[to].saturating_add(loads[p]);
    }
    let largest = loads.iter().copied().max().unwrap_or(0);
    let hysteresis = hysteresis(loads, ids.len());
    // Every move lowers the sum of the squared instance loads, so this
    // ends; the bound is a backstop.
    for _ in 0..4 * loads.len() * ids.len() + 16 {
        let Some((p, to)) = best_move(loads, &owner, &load, largest, hysteresis) else { break };
        let from = owner[p].unwrap_or(to);
        owner[p] = Some(to);
        load[from] -= loads[p];
        load[to] += loads[p];
    }
    owner.iter().enumerate().filter_map(|(p, o)| Some((p as u32, ids[(*o)?].clone()))).collect()
}

/// The move worth making (partition, to whom), if any, by the partitions'
/// weights `loads` and the instances' `load`: of every partition `p` whose
/// owner carries more than another instance by a gap over `p`'s weight,
/// the one that lowers the sum of the squared instance weights most (first
/// partition, then first instance, on a tie), provided the gap exceeds
/// `largest` or the move narrows it by more than `hysteresis`.
fn best_move(
    loads: &[u64],
    owner: &[Option<usize>],
    load: &[u64],
    largest: u64,
    hysteresis: u64,
) -> Option<(usize, usize)> {
    let mut best: Option<(u128, usize, usize)> = None;
    for (p, &w) in loads.iter().enumerate() {
        let Some(from) = owner[p] else { continue };
        for (to, &there) in load.iter().enumerate() {
            let Some(gap) = load[from].checked_sub(there) else { continue };
            if w == 0 || w >= gap {
                continue;
            }
            let narrowed = gap - gap.abs_diff(2 * w);
            if gap <= largest && narrowed <= hysteresis {
                continue;
            }
            // (from - w)² + (to + w)² - from² - to² = -2 w (gap - w)
            let gain = 2 * u128::from(w) * u128::from(gap - w);
            if best.is_none_or(|(g, _, _)| gain > g) {
                best = Some((gain, p, to));
            }
        }
    }
    best.map(|(_, p, to)| (p, to))
}

/// The load each instance of `assignment` carries, by instance id.
///
/// ```
/// use std::collections::BTreeMap;
/// let assignment = BTreeMap::from([(0, "a".to_owned()), (1, "b".to_owned()), (2, "a".to_owned())]);
/// let loads = fleetgov_nats::balance::instance_loads(&[5, 7, 2], &assignment);
/// assert_eq!(loads, BTreeMap::from([("a".to_owned(), 7), ("b".to_owned(), 7)]));
/// ```
pub fn instance_loads(loads: &[u64], assignment: &BTreeMap<u32, String>) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for (p, owner) in assignment {
        let load = out.entry(owner.clone()).or_default();
        *load = load.saturating_add(loads.get(*p as usize).copied().unwrap_or(0));
    }
    out
}

/// The gap between the most and the least loaded instance of `assignment`
/// (0 with fewer than two instances).
///
/// ```
/// use std::collections::BTreeMap;
/// let assignment = BTreeMap::from([(0, "a".to_owned()), (1, "b".to_owned()), (2, "a".to_owned())]);
/// assert_eq!(fleetgov_nats::balance::spread(&[5, 7, 4], &assignment), 2);
/// ```
pub fn spread(loads: &[u64], assignment: &BTreeMap<u32, String>) -> u64 {
    let per = instance_loads(loads, assignment);
    match (per.values().max(), per.values().min()) {
        (Some(max), Some(min)) if per.len() > 1 => max - min,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn live(n: usize) -> BTreeSet<String> {
        (0..n).map(|i| format!("ingest-{i}")).collect()
    }

    #[test]
    fn a_fleet_without_nodes_is_spread_by_count() {
        let loads = [0; 16];
        let count = |plan: &BTreeMap<u32, String>, id: &str| plan.values().filter(|o| *o == id).count();
        let planned = plan(&loads, &live(2), &BTreeMap::new());
        assert_eq!((count(&planned, "ingest-0"), count(&planned, "ingest-1")), (8, 8));
        // A newcomer beside an instance holding everything gets half.
        let alone = plan(&loads, &live(1), &BTreeMap::new());
        let joined = plan(&loads, &live(2), &alone);
        assert_eq!((count(&joined, "ingest-0"), count(&joined, "ingest-1")), (8, 8));
        assert_eq!(instance_loads(&loads, &plan(&loads, &live(3), &BTreeMap::new())).len(), 3);
    }

    #[test]
    fn a_newcomer_gets_load_and_a_dead_instances_partitions_are_shared() {
        let loads: Vec<u64> = (0..16).map(|p| 100 * (p % 5)).collect();
        let alone = plan(&loads, &live(1), &BTreeMap::new());
        assert!(alone.values().all(|o| o == "ingest-0"));
        let joined = plan(&loads, &live(2), &alone);
        assert!(spread(&loads, &joined) <= *loads.iter().max().unwrap());
        assert!(joined.values().any(|o| o == "ingest-1"));
        // ingest-0 dies: everything goes to the survivor.
        let survivor: BTreeSet<String> = ["ingest-1".to_owned()].into();
        assert!(plan(&loads, &survivor, &joined).values().all(|o| o == "ingest-1"));
        assert!(plan(&loads, &BTreeSet::new(), &joined).is_empty());
    }

    #[test]
    fn loads_that_barely_change_move_nothing() {
        let live = live(2);
        let loads = [2_500, 1_200, 1_900, 300, 0, 800, 0, 600, 0, 0, 1_500, 0, 0, 0, 0, 0];
        let planned = plan(&loads, &live, &BTreeMap::new());
        assert!(spread(&loads, &planned) <= 2_500, "{planned:?}");
        for nudge in [-5i64, -1, 1, 5] {
            let nudged: Vec<u64> =
                loads.iter().map(|&l| if l == 0 { 0 } else { l.saturating_add_signed(nudge) }).collect();
            assert_eq!(plan(&nudged, &live, &planned), planned, "{nudge}");
        }
        // A cluster that grows by far more than the hysteresis moves something.
        let mut grown = loads;
        grown[0] += 4_000;
        assert_ne!(plan(&grown, &live, &planned), planned);
    }

    proptest! {
        #[test]
        fn every_partition_gets_a_live_owner_within_one_partitions_load(
            loads in proptest::collection::vec(0u64..5_000, 1..40),
            instances in 1usize..6,
            owners in proptest::collection::vec(0usize..8, 40),
        ) {
            let live = live(instances);
            // Current owners, some of them no longer live.
            let current: BTreeMap<u32, String> =
                (0..loads.len()).map(|p| (p as u32, format!("ingest-{}", owners[p]))).collect();
            let planned = plan(&loads, &live, &current);
            prop_assert_eq!(planned.len(), loads.len());
            prop_assert!(planned.values().all(|o| live.contains(o)));
            // One node more only when an instance is left without a partition.
            let all_hold = instance_loads(&loads, &planned).len() == instances;
            prop_assert!(spread(&loads, &planned) <= loads.iter().max().unwrap() + u64::from(!all_hold));
            prop_assert_eq!(plan(&loads, &live, &current), planned.clone(), "deterministic");
            prop_assert_eq!(plan(&loads, &live, &planned), planned, "its own fixed point");
        }
    }
}
