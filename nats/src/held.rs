//! The leases an instance holds, shared by its worker and its renewal task.
//!
//! Who does what:
//!
//! - The **renewal task** ([`crate::renewal`]) renews every lease held, once
//!   a tick, and ends a lease that is lost (someone else wrote its key, or
//!   it expired) or past its deadline: its fence closes at once, and the
//!   worker is told ([`HeldLeases::ended`]).
//! - The **worker** claims partitions and lets them go (a handover, a
//!   refused write, a shutdown), and follows every end with its services
//!   and tenures. Before each write on behalf of a partition it checks the
//!   lease as the renewal task keeps it: the fence, the tenure's token and
//!   its deadline, read here for a moment, never across a NATS operation.
//! - **Every write of a lease key** (a claim, a renewal, a release) is made
//!   [holding the writer's turn](HeldLeases::writing), one at a time: a release
//!   never races a renewal of its key (a renewal landing between a
//!   release's end and its delete would make the delete fail and leave the
//!   lease to expire unused), and a lease claimed during a renewal round
//!   waits for the next one.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use crate::audit_fence::AuditFence;
use crate::error::Error;
use crate::fence::Fence;
use crate::lease::{Lease, LeaseLog, safety_margin};

/// How many ended tenures a [`LeaseLog`] keeps.
const ENDED_KEPT: usize = 64;

/// The leases an instance holds ([module docs](self)).
pub(crate) struct HeldLeases {
    table: Mutex<Table>,
    /// The turn to write a lease key: one write at a time.
    writer: tokio::sync::Mutex<()>,
    /// Signalled when the renewal task ends a lease.
    ended: Notify,
    ttl: Duration,
    /// The origin of the fences' clocks.
    base: Instant,
}

struct Table {
    held: BTreeMap<u32, Held>,
    log: watch::Sender<LeaseLog>,
    /// What the audit store checks before it writes on behalf of a partition.
    audit: AuditFence,
    /// Why the last renewal round failed, if it did: for the worker's
    /// next round to report.
    failure: Option<Error>,
}

/// A lease held.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    /// The KV revision of our last write of the key.
    pub(crate) revision: u64,
    pub(crate) lease: Lease,
    pub(crate) fence: Fence,
}

/// A renewal to make: a lease as it stood when the round began.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Due {
    pub(crate) partition: u32,
    pub(crate) token: u64,
    pub(crate) revision: u64,
    pub(crate) serve_until: Instant,
}

/// What became of a renewal sent at `sent`.
pub(crate) enum Renewed {
    /// Stored at this KV revision.
    At(u64),
    /// Someone else wrote the key, or it expired: the lease is lost.
    Lost,
    /// No answer in time, or another failure: the deadline stays where it was.
    Failed(Error),
}

impl HeldLeases {
    pub(crate) fn new(ttl: Duration, audit: AuditFence) -> HeldLeases {
        let table = Table { held: BTreeMap::new(), log: watch::Sender::new(LeaseLog::default()), audit, failure: None };
        HeldLeases {
            table: Mutex::new(table),
            writer: tokio::sync::Mutex::new(()),
            ended: Notify::new(),
            ttl,
            base: Instant::now(),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock leaves a table that is still whole.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The turn to write a lease key, held until the guard is dropped.
    pub(crate) async fn writing(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    /// The deadline of a lease whose last claim or renewal was sent at `sent`.
    fn deadline(&self, sent: Instant) -> Instant {
        sent + self.ttl - safety_margin(self.ttl)
    }

    /// The partitions held, ascending.
    pub(crate) fn owned(&self) -> Vec<u32> {
        self.table().held.keys().copied().collect()
    }

    /// The leases held, by partition.
    pub(crate) fn leases(&self) -> Vec<Lease> {
        self.table().leases()
    }

    /// The lease log, following its changes.
    pub(crate) fn log(&self) -> watch::Receiver<LeaseLog> {
        self.table().log.subscribe()
    }

    /// The lease held of `partition`: its revision, tenure, deadline and fence.
    pub(crate) fn get(&self, partition: u32) -> Option<Held> {
        self.table().held.get(&partition).cloned()
    }

    /// The earliest deadline of the leases held.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.table().held.values().map(|h| h.lease.serve_until).min()
    }

    /// Resolves once the renewal task has ended a lease since the last
    /// time it resolved (a signal given while nobody waits is kept).
    pub(crate) async fn ended(&self) {
        self.ended.notified().await;
    }

    /// Takes why the last renewal round failed, if it did.
    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.table().failure.take()
    }

    /// A claim of `partition` sent at `sent` was stored at `revision`: the
    /// tenure `revision` begins, served until the claim's deadline.
    pub(crate) fn claimed(&self, partition: u32, revision: u64, sent: Instant) {
        let deadline = self.deadline(sent);
        let lease = Lease { partition, token: revision, since: Instant::now(), serve_until: deadline };
        let fence = Fence::open_until(self.base, deadline);
        let mut table = self.table();
        table.audit.hold(partition, revision, fence.clone());
        table.held.insert(partition, Held { revision, lease, fence });
        table.publish(None);
    }

    /// The leases to renew, as they stand.
    pub(crate) fn due(&self) -> Vec<Due> {
        let table = self.table();
        table
            .held
            .iter()
            .map(|(&partition, h)| Due {
                partition,
                token: h.lease.token,
                revision: h.revision,
                serve_until: h.lease.serve_until,
            })
            .collect()
    }

    /// Takes a renewal round's outcomes in, each for the tenure it was sent
    /// for (a lease let go and claimed again meanwhile is another tenure,
    /// left alone): a stored renewal moves the deadline, a lost lease ends,
    /// a failure leaves the deadline where it was and is kept for the
    /// worker's round. Returns whether a lease ended.
    pub(crate) fn renewed(&self, outcomes: Vec<(Due, Instant, Renewed)>) -> bool {
        let mut table = self.table();
        let (mut ended, mut failure) = (false, None);
        for (due, sent, outcome) in outcomes {
            let current = table.held.get(&due.partition).is_some_and(|h| h.lease.token == due.token);
            match outcome {
                Renewed::At(revision) => {
                    let deadline = self.deadline(sent);
                    if let Some(held) = table.held.get_mut(&due.partition).filter(|_| current) {
                        held.revision = revision;
                        held.lease.serve_until = deadline;
                        held.fence.extend(deadline);
                    }
                }
                Renewed::Lost => ended |= current && table.end(due.partition).is_some(),
                Renewed::Failed(e) => failure = failure.or(Some(e)),
            }
        }
        table.failure = failure;
        table.publish(None);
        ended
    }

    /// Ends every lease whose deadline has passed; returns whether one ended.
    pub(crate) fn expire(&self) -> bool {
        let now = Instant::now();
        let mut table = self.table();
        let expired: Vec<u32> =
            table.held.iter().filter(|(_, h)| h.lease.serve_until <= now).map(|(&partition, _)| partition).collect();
        for &partition in &expired {
            table.end(partition);
        }
        !expired.is_empty()
    }

    /// Tells the worker that leases ended.
    pub(crate) fn tell_ended(&self) {
        self.ended.notify_one();
    }

    /// Stops serving `partition` at once: closes its fence and records the
    /// tenure as ended. Returns the lease it held.
    pub(crate) fn end(&self, partition: u32) -> Option<Held> {
        self.table().end(partition)
    }
}

impl Table {
    fn leases(&self) -> Vec<Lease> {
        self.held.values().map(|h| h.lease).collect()
    }

    /// Publishes the leases held, after `ended` (a tenure that just ended).
    fn publish(&self, ended: Option<Lease>) {
        let held = self.leases();
        self.log.send_modify(|log| {
            log.held = held;
            if let Some(ended) = ended {
                if log.ended.len() == ENDED_KEPT {
                    log.ended.remove(0);
                }
                log.ended.push(ended);
            }
        });
    }

    fn end(&mut self, partition: u32) -> Option<Held> {
        let held = self.held.remove(&partition)?;
        held.fence.close();
        self.audit.let_go(partition);
        self.publish(Some(Lease { serve_until: held.lease.serve_until.min(Instant::now()), ..held.lease }));
        Some(held)
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::audit_fence::Origin;
    use crate::placement::{Placement, PlacementMode};

    const TTL: Duration = Duration::from_secs(2);

    /// Leases held by an instance whose audit store is fenced by them.
    fn held() -> (HeldLeases, AuditFence) {
        let audit = AuditFence::default();
        audit.attach(Placement::new(PlacementMode::Hashed, NonZeroU32::new(4).unwrap()));
        (HeldLeases::new(TTL, audit.clone()), audit)
    }

    fn due(held: &HeldLeases, partition: u32) -> Due {
        held.due().into_iter().find(|d| d.partition == partition).unwrap()
    }

    #[test]
    fn a_renewal_counts_only_for_the_tenure_it_was_sent_for() {
        let (held, audit) = held();
        let sent = Instant::now();
        held.claimed(3, 10, sent);
        let old = due(&held, 3);
        // Let go and claimed again while the renewal was on its way.
        held.end(3);
        held.claimed(3, 12, sent);
        let tenure = held.get(3).unwrap();
        let later = sent + Duration::from_secs(60);
        assert!(!held.renewed(vec![(old, later, Renewed::At(11)), (old, later, Renewed::Lost)]));
        let now = held.get(3).unwrap();
        assert_eq!((now.revision, now.lease), (12, tenure.lease), "the new tenure untouched");
        assert!(now.fence.is_open());
        assert_eq!(audit.partition_origin(3), Some(Origin::Leased { partition: 3, token: 12 }));

        assert!(!held.renewed(vec![(due(&held, 3), later, Renewed::At(13))]));
        let renewed = held.get(3).unwrap();
        assert_eq!((renewed.revision, renewed.lease.token), (13, 12));
        assert_eq!(renewed.lease.serve_until, later + TTL - safety_margin(TTL), "the deadline follows the renewal");
        assert_eq!(held.log().borrow().held, vec![renewed.lease]);
    }

    #[test]
    fn a_lost_lease_ends_at_once_and_a_failed_renewal_leaves_the_deadline() {
        let (held, audit) = held();
        let sent = Instant::now();
        held.claimed(1, 5, sent);
        held.claimed(2, 6, sent);
        let (lost, failed) = (held.get(1).unwrap(), held.get(2).unwrap());
        let outcomes = vec![
            (due(&held, 1), sent, Renewed::Lost),
            (due(&held, 2), sent, Renewed::Failed(Error::retryable("renew lease p2", "no answer"))),
        ];
        assert!(held.renewed(outcomes), "a lease ended");
        assert!(held.get(1).is_none() && !lost.fence.is_open(), "lost: ended, its fence closed");
        assert_eq!(audit.partition_origin(1), None, "nothing written on behalf of a lost lease");
        assert_eq!(held.log().borrow().ended.iter().map(|l| l.token).collect::<Vec<_>>(), vec![5]);
        let kept = held.get(2).unwrap();
        assert_eq!((kept.revision, kept.lease), (failed.revision, failed.lease), "the deadline stays");
        assert!(kept.fence.is_open());
        assert!(held.take_failure().is_some(), "the failure is reported");
        assert!(held.take_failure().is_none(), "once");
    }

    #[test]
    fn leases_past_their_deadline_end_and_the_others_stay() {
        let (held, _) = held();
        let now = Instant::now();
        held.claimed(1, 5, now.checked_sub(TTL).unwrap());
        held.claimed(2, 6, now);
        let past = held.get(1).unwrap();
        assert!(!past.fence.is_open(), "closed at its deadline, by the clock alone");
        assert_eq!(held.next_deadline(), Some(past.lease.serve_until));
        assert!(held.expire());
        assert_eq!(held.owned(), vec![2]);
        assert!(!held.expire(), "nothing more to end");
    }
}
