//! Who served which partition when: every instance's lease history, read
//! from its lease log, and the check that no two instances ever served a
//! partition at the same time.

use std::collections::BTreeMap;

use fleetgov_nats::lease::{Lease, LeaseLog};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Every lease an instance was seen holding, by partition and tenure
/// (token): served from `since` to `serve_until`, the moment it ended as
/// the instance reports it, or else the latest deadline seen. A history
/// read from its status.
pub type Tenures = BTreeMap<(u32, u64), Lease>;

/// Records every lease an instance's lease log shows, until the instance ends.
pub fn record(mut log: watch::Receiver<LeaseLog>) -> JoinHandle<Tenures> {
    tokio::spawn(async move {
        let mut seen = Tenures::new();
        let mut ended = Tenures::new();
        loop {
            {
                let log = log.borrow_and_update();
                for lease in &log.held {
                    let tenure = seen.entry((lease.partition, lease.token)).or_insert(*lease);
                    tenure.serve_until = tenure.serve_until.max(lease.serve_until);
                }
                ended.extend(log.ended.iter().map(|lease| ((lease.partition, lease.token), *lease)));
            }
            if log.changed().await.is_err() {
                seen.extend(ended);
                return seen;
            }
        }
    })
}

/// Fails if two of `histories` (one per instance) served a partition at
/// the same time: every tenure is served from its `since` to its latest
/// `serve_until`, on the one monotonic clock of this process.
pub fn assert_no_overlap(histories: &[(&str, &Tenures)]) {
    for (i, (a, tenures_a)) in histories.iter().enumerate() {
        for (b, tenures_b) in &histories[i + 1..] {
            for x in tenures_a.values() {
                for y in tenures_b.values().filter(|y| y.partition == x.partition) {
                    let apart = x.serve_until <= y.since || y.serve_until <= x.since;
                    assert!(apart, "{a} and {b} both served p{}: {x:?} and {y:?}", x.partition);
                }
            }
        }
    }
}
