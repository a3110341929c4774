//! Fencing of the audit records an instance writes on behalf of a
//! partition.
//!
//! Most audit records are written on behalf of whoever called the engine
//! (an operator's publish or force sync), and any instance may write them.
//! A **reconciliation wave** record (`auto_reconcile`) is different: the
//! engine writes it while it answers a heartbeat of a cluster, so it is
//! written on behalf of the cluster's partition, and only the partition's
//! owner may write it. So is a **journal seal** (`seal_journal` of a
//! partition's segment, see [`crate::seal`]). An [`AuditFence`] tells the audit store
//! ([`StreamStore`](crate::audit::StreamStore)) which partitions its
//! instance holds, under which lease, and whether the lease's deadline
//! still lets it serve them:
//!
//! - a wave record of a cluster whose partition the instance does not hold,
//!   or holds past its deadline (a paused or cut-off owner), is refused
//!   before it is sent: the engine gives no reconcile directive for it
//!   (audit before effect) and the refusal is counted
//!   ([`refused`](AuditFence::refused));
//! - a wave record that is sent carries its partition and lease token
//!   (headers `Fleet-Partition` and `Fleet-Lease`), so every such record in
//!   `FLEET_AUDIT` names the tenure it was written under and can be checked
//!   against the lease history;
//! - and the stream itself refuses a wave record whose writer has not seen
//!   the cluster's last one (see [`crate::wave`]).
//!
//! An audit store whose engine no instance serves (a control plane, the
//! `authority` command) is not attached to any instance: it writes every
//! record as it comes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::fence::Fence;
use crate::placement::Placement;

/// Which partitions an instance serves, and under which lease, as its
/// audit store sees them. Cheap to clone: clones share it.
///
/// ```
/// let fence = fleetgov_nats::audit_fence::AuditFence::default();
/// assert_eq!(fence.refused(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct AuditFence {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// `None` until an instance serves the engine: no record is fenced.
    held: Mutex<Option<Held>>,
    refused: AtomicU64,
}

#[derive(Debug)]
struct Held {
    placement: Placement,
    leases: HashMap<u32, (u64, Fence)>,
}

/// Where a record written on behalf of a cluster may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// No instance serves the engine: written as it comes.
    Unfenced,
    /// Written under the lease `token` of `partition`.
    Leased { partition: u32, token: u64 },
}

impl AuditFence {
    fn held(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.inner.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An instance placing clusters by `placement` fences the records from now on.
    pub(crate) fn attach(&self, placement: Placement) {
        let mut held = self.held();
        if held.is_none() {
            *held = Some(Held { placement, leases: HashMap::new() });
        }
    }

    /// The instance holds `partition` under lease `token` while `fence` is open.
    pub(crate) fn hold(&self, partition: u32, token: u64, fence: Fence) {
        if let Some(held) = self.held().as_mut() {
            held.leases.insert(partition, (token, fence));
        }
    }

    /// The instance no longer holds `partition`.
    pub(crate) fn let_go(&self, partition: u32) {
        if let Some(held) = self.held().as_mut() {
            held.leases.remove(&partition);
        }
    }

    /// Where a record on behalf of `cluster` may be written: `None` when
    /// the instance may not write it (counted as refused).
    pub(crate) fn origin(&self, cluster: &str) -> Option<Origin> {
        // A cluster not placed yet is served nowhere: no partition of it is held.
        let partition = self.held().as_ref().map(|held| held.placement.partition_of(cluster).unwrap_or(u32::MAX));
        self.origin_of(partition)
    }

    /// Where a record on behalf of `partition` (a journal seal) may be
    /// written: `None` when the instance may not write it (counted as refused).
    pub(crate) fn partition_origin(&self, partition: u32) -> Option<Origin> {
        let attached = self.held().is_some();
        self.origin_of(attached.then_some(partition))
    }

    /// The origin of a record on behalf of `partition` (`None`: no
    /// instance serves the engine).
    fn origin_of(&self, partition: Option<u32>) -> Option<Origin> {
        let origin = match (self.held().as_ref(), partition) {
            (Some(held), Some(partition)) => held
                .leases
                .get(&partition)
                .filter(|(_, fence)| fence.is_open())
                .map(|&(token, _)| Origin::Leased { partition, token }),
            _ => Some(Origin::Unfenced),
        };
        if origin.is_none() {
            // Relaxed: a statistic read on its own; it publishes no other memory.
            self.inner.refused.fetch_add(1, Ordering::Relaxed);
        }
        origin
    }

    /// How many times a record on behalf of a partition was refused
    /// because the instance did not hold the partition's lease (or held it
    /// past its deadline). The engine retries a refused append a few
    /// times, each counted.
    pub fn refused(&self) -> u64 {
        // Relaxed: see `origin`.
        self.inner.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::placement::PlacementMode;

    #[test]
    fn a_record_is_written_only_under_an_open_lease_of_its_partition() {
        let fence = AuditFence::default();
        assert_eq!(fence.origin("eks-prod-us"), Some(Origin::Unfenced), "no instance attached");
        assert_eq!(fence.partition_origin(1), Some(Origin::Unfenced), "no instance attached");
        let placement = Placement::new(PlacementMode::Hashed, std::num::NonZeroU32::new(4).unwrap());
        fence.attach(placement.clone());
        let partition = placement.partition_of("eks-prod-us").unwrap();
        assert_eq!(fence.origin("eks-prod-us"), None, "not held");
        let base = Instant::now();
        let open = Fence::open_until(base, base + Duration::from_secs(3_600));
        fence.hold(partition, 7, open.clone());
        assert_eq!(fence.origin("eks-prod-us"), Some(Origin::Leased { partition, token: 7 }));
        open.close();
        assert_eq!(fence.origin("eks-prod-us"), None, "past its deadline");
        fence.hold(partition, 9, Fence::open_until(base, base + Duration::from_secs(3_600)));
        fence.let_go(partition);
        assert_eq!(fence.origin("eks-prod-us"), None, "let go");
        assert_eq!(fence.partition_origin(partition), None, "let go");
        fence.hold(partition, 11, Fence::open_until(base, base + Duration::from_secs(3_600)));
        assert_eq!(fence.partition_origin(partition), Some(Origin::Leased { partition, token: 11 }));
        assert_eq!(fence.partition_origin(partition + 1), None, "another partition");
        assert_eq!(fence.refused(), 5);
    }
}
