//! A cluster's hash partition: where its placement starts looking
//! ([`crate::placement`]), and its partition in a fleet whose stored state
//! predates placement.
//!
//! `partition = u64::from_le_bytes(blake3(cluster_id)[0..8]) % N`: the first
//! eight bytes of the blake3 hash of the cluster id's UTF-8 bytes, read as a
//! little-endian unsigned 64-bit integer, modulo the number of partitions.
//! Any language with a blake3 library computes the same partition.

use std::num::NonZeroU32;

/// The default number of partitions.
pub const DEFAULT_PARTITIONS: NonZeroU32 = NonZeroU32::new(16).unwrap();

/// The hash partition of `cluster` among `partitions`.
///
/// ```
/// use fleetgov_nats::partition::{partition_of, DEFAULT_PARTITIONS};
/// let p = partition_of("eks-prod-us", DEFAULT_PARTITIONS);
/// assert!(p < DEFAULT_PARTITIONS.get());
/// assert_eq!(p, partition_of("eks-prod-us", DEFAULT_PARTITIONS));
/// ```
pub fn partition_of(cluster: &str, partitions: NonZeroU32) -> u32 {
    let hash = blake3::hash(cluster.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    (u64::from_le_bytes(first) % u64::from(partitions.get())) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_documented_formula() {
        // blake3("eks-prod-us"), computed independently of partition_of.
        let hex = blake3::hash(b"eks-prod-us").to_hex();
        let first = u64::from_str_radix(
            &hex[..16].as_bytes().chunks(2).rev().map(|b| std::str::from_utf8(b).unwrap()).collect::<String>(),
            16,
        )
        .unwrap();
        for n in [1, 2, 7, 16, 1000] {
            assert_eq!(u64::from(partition_of("eks-prod-us", NonZeroU32::new(n).unwrap())), first % u64::from(n));
        }
    }

    #[test]
    fn spreads_clusters_over_every_partition() {
        let n = DEFAULT_PARTITIONS;
        let mut seen = vec![0u32; n.get() as usize];
        for i in 0..1_000 {
            seen[partition_of(&format!("cluster-{i}"), n) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 20), "{seen:?}");
    }
}
