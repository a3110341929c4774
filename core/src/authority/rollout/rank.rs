//! Each node's stable place in a rollout.
//!
//! A node's rank in a rollout of cluster `c` to revision `r` is
//! `(base(c, node) + 100 · offset(c, r)) mod 10000`: `base` spreads the
//! cluster's nodes evenly over `[0, 10000)`, and `offset` turns the order by
//! a whole percent per revision, so the canaries change from one rollout to
//! the next. A node is in the first wave whose percentage × 100 exceeds its
//! rank.
//!
//! Because the turn is a whole percent, the node's *bucket* (`base / 100`)
//! never depends on the revision, and every wave of every rollout is a run
//! of whole buckets. Counting nodes per bucket once is enough to know any
//! wave's size in O(100), without visiting a node.

use crate::hash::ContentHash;

/// Ranks are in `[0, RANKS)`.
pub const RANKS: u16 = 10_000;

/// Nodes are counted in `BUCKETS` buckets of one percent each.
pub const BUCKETS: u8 = 100;

/// A node's place in rollouts of its cluster.
///
/// ```
/// use fleetgov::rollout::Rank;
/// let r = Rank::of("eks-prod-us", 4, "gw-17");
/// assert_eq!(r, Rank::of("eks-prod-us", 4, "gw-17"), "a pure function");
/// assert!(r.value() < 10_000);
/// let waves = [1u8, 10, 50, 100];
/// assert_eq!(r.wave(&waves), waves.iter().position(|&p| r.value() < u16::from(p) * 100).unwrap());
/// assert_eq!(Rank::bucket("eks-prod-us", "gw-17"), Rank::bucket("eks-prod-us", "gw-17"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rank(u16);

impl Rank {
    /// The rank of `node` in a rollout of `cluster` to `revision`.
    pub fn of(cluster: &str, revision: u32, node: &str) -> Rank {
        let base = base(cluster, node);
        Rank((base + 100 * u16::from(offset(cluster, revision))) % RANKS)
    }

    /// The node's bucket in its cluster, in `[0, BUCKETS)`: the same for
    /// every revision.
    pub fn bucket(cluster: &str, node: &str) -> u8 {
        // base < 10000, so the quotient is < 100.
        (base(cluster, node) / 100) as u8
    }

    /// The rank, in `[0, RANKS)`.
    pub fn value(self) -> u16 {
        self.0
    }

    /// The index of the wave of `waves` (cumulative percentages ending at
    /// 100) the node is in: the first whose percentage × 100 exceeds the rank.
    pub fn wave(self, waves: &[u8]) -> usize {
        waves.iter().position(|&p| self.0 < u16::from(p) * 100).unwrap_or(waves.len().saturating_sub(1))
    }
}

/// Wave `index` of `waves` in a rollout of `cluster` to `revision`, as the
/// run of buckets it covers.
///
/// ```
/// use fleetgov::rollout::{Rank, WaveSpan};
/// let waves = [10, 100];
/// let canary = WaveSpan::new("c", 2, &waves, 0);
/// assert_eq!(canary.buckets().count(), 10);
/// for node in ["a", "b", "c", "d", "e"] {
///     let in_canary = Rank::of("c", 2, node).wave(&waves) == 0;
///     assert_eq!(canary.contains(Rank::bucket("c", node)), in_canary);
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaveSpan {
    /// The first bucket, before the turn.
    first: u8,
    /// How many buckets, from `first` on, wrapping at [`BUCKETS`].
    len: u8,
}

impl WaveSpan {
    /// The span of wave `index` of `waves`; an index past the last wave is
    /// an empty span.
    pub fn new(cluster: &str, revision: u32, waves: &[u8], index: usize) -> WaveSpan {
        let Some(&hi) = waves.get(index) else {
            return WaveSpan { first: 0, len: 0 };
        };
        let lo = if index == 0 { 0 } else { waves[index - 1] };
        // A node of bucket b has rank / 100 = (b + offset) mod 100, so the
        // wave's ranks [lo, hi) · 100 are the buckets from lo - offset on.
        let first = (u16::from(lo) + u16::from(BUCKETS) - u16::from(offset(cluster, revision))) % u16::from(BUCKETS);
        WaveSpan { first: first as u8, len: hi.saturating_sub(lo) }
    }

    /// Whether `bucket` is in the span.
    pub fn contains(self, bucket: u8) -> bool {
        (u16::from(bucket) + u16::from(BUCKETS) - u16::from(self.first)) % u16::from(BUCKETS) < u16::from(self.len)
    }

    /// The buckets of the span, in order.
    pub fn buckets(self) -> impl Iterator<Item = u8> {
        (0..self.len).map(move |i| ((u16::from(self.first) + u16::from(i)) % u16::from(BUCKETS)) as u8)
    }
}

/// The node's base rank in its cluster, in `[0, RANKS)`.
fn base(cluster: &str, node: &str) -> u16 {
    (digest(b"fleetgov rollout rank", cluster, node.as_bytes()) % u64::from(RANKS)) as u16
}

/// The turn of rollouts of `cluster` to `revision`, in whole percent.
fn offset(cluster: &str, revision: u32) -> u8 {
    (digest(b"fleetgov rollout turn", cluster, &revision.to_be_bytes()) % u64::from(BUCKETS)) as u8
}

/// The first 8 bytes of the blake3 hash of `domain`, the cluster id
/// (length-prefixed, so no two inputs meet) and `rest`. Reducing them
/// modulo 10000 leaves a bias below 10⁻¹⁵.
fn digest(domain: &[u8], cluster: &str, rest: &[u8]) -> u64 {
    let mut input = Vec::with_capacity(domain.len() + 8 + cluster.len() + rest.len());
    input.extend_from_slice(domain);
    input.extend_from_slice(&(cluster.len() as u64).to_be_bytes());
    input.extend_from_slice(cluster.as_bytes());
    input.extend_from_slice(rest);
    let hash = ContentHash::of(&input);
    u64::from_be_bytes(hash.as_bytes()[..8].try_into().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_are_proportional_over_100000_nodes() {
        let waves = [1, 10, 50, 100];
        let mut per_wave = [0u32; 4];
        for i in 0..100_000 {
            per_wave[Rank::of("eks-prod-us", 7, &format!("gw-{i}")).wave(&waves)] += 1;
        }
        // Expected 1,000 / 9,000 / 40,000 / 50,000; a binomial's standard
        // deviation is at most 158 here, and the tolerance is 4 of them.
        let expected = [1_000, 9_000, 40_000, 50_000];
        for (got, want) in per_wave.iter().zip(expected) {
            assert!(got.abs_diff(want) <= 632, "{per_wave:?}");
        }
    }

    #[test]
    fn spans_cover_each_bucket_once_and_match_the_ranks() {
        let waves = [1, 10, 50, 100];
        for revision in 1..40 {
            let spans: Vec<WaveSpan> = (0..waves.len()).map(|k| WaveSpan::new("c", revision, &waves, k)).collect();
            for b in 0..BUCKETS {
                assert_eq!(spans.iter().filter(|s| s.contains(b)).count(), 1, "bucket {b}, revision {revision}");
            }
            for i in 0..500 {
                let node = format!("n{i}");
                let k = Rank::of("c", revision, &node).wave(&waves);
                assert!(spans[k].contains(Rank::bucket("c", &node)), "{node} revision {revision}");
            }
        }
        assert_eq!(WaveSpan::new("c", 1, &waves, 4).buckets().count(), 0);
    }

    #[test]
    fn canaries_change_from_one_revision_to_the_next() {
        let waves = [5, 100];
        let canaries = |r| (0..2_000).filter(|i| Rank::of("c", r, &format!("n{i}")).wave(&waves) == 0).count();
        let both = (0..2_000)
            .filter(|i| {
                let node = format!("n{i}");
                Rank::of("c", 1, &node).wave(&waves) == 0 && Rank::of("c", 2, &node).wave(&waves) == 0
            })
            .count();
        assert!(canaries(1) > 0 && both < canaries(1), "{both} of {}", canaries(1));
    }
}
