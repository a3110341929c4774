//! The `applied_snapshot` and `applied_hash` columns: what each node reports
//! it runs, as dictionaries. The core's table gives each row its cluster, the
//! revision it reported and the 32 hash bytes it computed; the labels
//! (`eks-prod-us@r3`, 64 hex characters) are formatted once per distinct
//! snapshot or hash, never once per row.

use arrow_array::ArrayRef;
use arrow_array::types::Int32Type;
use arrow_schema::ArrowError;
use fleetgov::table::NodeTable;
use fleetgov::{ContentHash, Engine, snapshot_id};

use crate::columns::{Labels, dictionary, keys};

/// Hash bytes of a row without a hash.
const NO_HASH: [u8; 32] = [0; 32];

/// The two columns.
pub(crate) struct Applied {
    /// `<cluster>@r<revision>` as the node reported it, or null.
    pub(crate) snapshot: ArrayRef,
    /// The hash the node computed, 64 lowercase hex characters, or null.
    pub(crate) hash: ArrayRef,
}

/// Builds both columns of `t`, looking each distinct applied snapshot up in
/// `engine` once.
pub(crate) fn columns(engine: &Engine, t: &NodeTable) -> Result<Applied, ArrowError> {
    let rows = t.len();
    let mut snapshots = Labels::<(u32, u32)>::new();
    // Per cluster, the last revision seen and its key: most nodes of a
    // cluster run the same revision, while neighbouring rows are often of
    // different clusters.
    let mut last: Vec<Option<(u32, i32)>> = vec![None; t.clusters.len()];
    let (snapshot_keys, snapshot_nulls) = keys(rows, |i| {
        let (cluster, revision) = (t.cluster[i], t.applied_revision[i]);
        if revision == 0 {
            return None;
        }
        let (name, last) = (t.clusters.get(cluster as usize)?, last.get_mut(cluster as usize)?);
        match *last {
            Some((r, key)) if r == revision => Some(key),
            _ => {
                let key = snapshots.key((cluster, revision), |_| snapshot_id(name, revision));
                *last = Some((revision, key));
                Some(key)
            }
        }
    });
    let snapshot_ids = snapshots.into_labels();

    // A verified node's hash is its snapshot's: compare against that first, so
    // only nodes reporting other bytes cost a hash-map lookup.
    let expected: Vec<Option<[u8; 32]>> =
        snapshot_ids.iter().map(|id| engine.snapshot(id).ok().map(|s| s.hash.0)).collect();
    let mut expected_key: Vec<Option<i32>> = vec![None; expected.len()];
    let mut hashes = Labels::<[u8; 32]>::new();
    let hex = |bytes: &[u8; 32]| ContentHash(*bytes).to_string();
    let (hash_keys, hash_nulls) = keys(rows, |i| {
        let bytes: &[u8; 32] = t.applied_hash.get(32 * i..32 * i + 32)?.try_into().ok()?;
        let snapshot = snapshot_nulls.as_ref().is_none_or(|n| n.is_valid(i)).then(|| snapshot_keys[i] as usize);
        match snapshot {
            Some(s) if expected.get(s) == Some(&Some(*bytes)) => {
                Some(*expected_key[s].get_or_insert_with(|| hashes.key(*bytes, hex)))
            }
            // Zero bytes mean "no hash" in the core's table, unless the node
            // reported a snapshot: a snapshot always comes with a hash.
            None if *bytes == NO_HASH => None,
            _ => Some(hashes.key(*bytes, hex)),
        }
    });
    Ok(Applied {
        snapshot: dictionary::<Int32Type, _>(snapshot_keys, snapshot_nulls, snapshot_ids)?,
        hash: dictionary::<Int32Type, _>(hash_keys, hash_nulls, hashes.into_labels())?,
    })
}
