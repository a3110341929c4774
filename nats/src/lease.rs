//! Partition ownership by leases in JetStream KV, fenced by a deadline.
//!
//! - Liveness: every instance puts its key in [`INSTANCES_BUCKET`] every
//!   tick; the bucket's `max_age` is the lease TTL, so a dead instance's key
//!   expires.
//! - Leases: key `p<k>` of [`PARTITIONS_BUCKET`] (same `max_age`) holds the
//!   owner's instance id. An instance claims a free partition with `create`
//!   (fails if another holds it) and renews with `update(key, id, revision)`
//!   (fails if anyone else wrote the key since), every tick, at most TTL/3
//!   apart. A lease not renewed within the TTL expires and can be claimed.
//! - Balance by load ([`crate::balance`]): every round an instance reads
//!   the live instances, the lease owners and the partitions' loads (nodes
//!   enrolled, from the cluster summaries) and computes the same plan as
//!   every other instance. It claims the free partitions the plan gives it
//!   and hands over (its owner writes their state, then releases them:
//!   deletes, expecting its own revision) those the plan gives to others,
//!   so a newcomer gets work and the survivors of a dead instance take its
//!   partitions once its leases expire.
//!
//! # The deadline: an instance serves only what it can prove it holds
//!
//! The server stores a renewal after the instance sent it, so the lease
//! cannot expire elsewhere before `sent + ttl` (the server expires entries
//! late, never early). An instance serves a partition only until its
//! **deadline**, `sent + ttl − margin` of its last successful renewal (or
//! claim), with the [safety margin](safety_margin) `ttl / 4`: it covers
//! requests admitted just before the deadline that are still being
//! answered, and any difference between the rates of this host's monotonic
//! clock and the server's. Any error or timeout while renewing leaves the
//! deadline where the last success put it; when it passes, the partition's
//! fence closes (its request handlers admit nothing more) and the
//! instance stops serving it, whatever the state of its connection. A lease
//! it lets go (handed over by the balance plan, or on shutdown) is fenced first and
//! deleted after, so nobody can claim it while it is still served.
//!
//! Every NATS operation of a round waits at most the safety margin (and a
//! renewal no longer than its lease's deadline), so a round on a dead
//! connection ends in time to notice the deadlines.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::TryStreamExt;
use futures_util::future::join_all;
use tokio::sync::watch;

use crate::audit_fence::AuditFence;
use crate::balance::{partition_loads, plan};
use crate::buckets::{self, read_all, read_owners};
use crate::error::{Error, Result};
use crate::fence::Fence;
use crate::placement::Placement;
use crate::subject::{INSTANCES_BUCKET, PARTITIONS_BUCKET, SUMMARIES_BUCKET, decode_id, instance_key, partition_key};
use crate::summary::ClusterSummary;

/// The part of the lease TTL an instance keeps in hand: it stops serving a
/// partition this long before its lease could expire elsewhere.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(fleetgov_nats::lease::safety_margin(Duration::from_secs(10)), Duration::from_millis(2_500));
/// ```
pub fn safety_margin(ttl: Duration) -> Duration {
    ttl / 4
}

/// A lease an instance holds, as its status reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The partition.
    pub partition: u32,
    /// The KV revision of the claim that began this tenure: it names the
    /// tenure, and is written into every summary put under it.
    pub token: u64,
    /// When the claim was acknowledged: the instance serves the partition
    /// from then on.
    pub since: Instant,
    /// The deadline: the instance serves the partition until then at the
    /// latest, unless a renewal moves it.
    pub serve_until: Instant,
}

/// How many ended tenures a [`LeaseLog`] keeps.
const ENDED_KEPT: usize = 64;

/// An instance's leases, published on every change (claim, renewal, end):
/// its lease history as it happens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseLog {
    /// The leases held, by partition.
    pub held: Vec<Lease>,
    /// The last tenures ended (up to 64, oldest first), each with
    /// `serve_until` the moment it stopped being served: let go, lost, or
    /// past its deadline.
    pub ended: Vec<Lease>,
}

/// A lease this instance holds.
#[derive(Clone, Debug)]
struct Held {
    /// The KV revision of our last write of the key.
    revision: u64,
    lease: Lease,
    fence: Fence,
}

/// One instance's leases.
pub(crate) struct Leases {
    partitions: kv::Store,
    instances: kv::Store,
    /// The cluster summaries: the partitions' loads.
    summaries: kv::Store,
    /// The partitions' loads as last read ([`crate::balance`]): a failed
    /// read plans with these rather than with none.
    loads: Vec<u64>,
    id: String,
    instance_key: String,
    count: NonZeroU32,
    ttl: Duration,
    base: Instant,
    /// When the last renewal began (or the leases were opened): the next
    /// is due a tick later.
    renewed: Instant,
    held: BTreeMap<u32, Held>,
    log: watch::Sender<LeaseLog>,
    /// What the audit store checks before it writes on behalf of a partition.
    audit: AuditFence,
}

impl Leases {
    pub(crate) async fn open(
        js: &jetstream::Context,
        id: &str,
        placement: Placement,
        ttl: Duration,
        replicas: usize,
        audit: AuditFence,
    ) -> Result<Leases> {
        let count = placement.partitions();
        audit.attach(placement);
        Ok(Leases {
            partitions: buckets::key_value(js, PARTITIONS_BUCKET, ttl, replicas).await?,
            instances: buckets::key_value(js, INSTANCES_BUCKET, ttl, replicas).await?,
            summaries: buckets::key_value(js, SUMMARIES_BUCKET, Duration::ZERO, replicas).await?,
            loads: vec![1; count.get() as usize],
            id: id.to_owned(),
            instance_key: instance_key(id)?,
            count,
            ttl,
            base: Instant::now(),
            renewed: Instant::now(),
            held: BTreeMap::new(),
            log: watch::Sender::new(LeaseLog::default()),
            audit,
        })
    }

    /// The partitions held, ascending.
    pub(crate) fn owned(&self) -> impl Iterator<Item = u32> + '_ {
        self.held.keys().copied()
    }

    /// The leases held, by partition.
    pub(crate) fn leases(&self) -> Vec<Lease> {
        self.held.values().map(|h| h.lease).collect()
    }

    /// The lease log, following its changes.
    pub(crate) fn log(&self) -> watch::Receiver<LeaseLog> {
        self.log.subscribe()
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

    /// The fence of a held partition.
    pub(crate) fn fence(&self, partition: u32) -> Option<Fence> {
        self.held.get(&partition).map(|h| h.fence.clone())
    }

    /// The lease of a held partition, with its deadline as of the last renewal.
    pub(crate) fn lease(&self, partition: u32) -> Option<Lease> {
        self.held.get(&partition).map(|h| h.lease)
    }

    /// The token of a held partition's tenure.
    pub(crate) fn token(&self, partition: u32) -> Option<u64> {
        self.held.get(&partition).map(|h| h.lease.token)
    }

    /// The earliest deadline of the leases held.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.held.values().map(|h| h.lease.serve_until).min()
    }

    /// When the leases held are next due for renewal, a `tick` after the
    /// last renewal began (failed or not: a failing renewal is retried a
    /// tick later, not at once); `None` while none is held.
    pub(crate) fn renewal_due(&self, tick: Duration) -> Option<Instant> {
        (!self.held.is_empty()).then(|| self.renewed + tick)
    }

    /// Renews the leases held and gives up those past their deadline: the
    /// renewal of a round, for a worker that is waiting on other work when
    /// one falls due. Returns the first failure other than a lost lease.
    pub(crate) async fn renew_held(&mut self) -> Result<()> {
        let renewed = self.renew().await;
        self.expire();
        renewed
    }

    /// How long one NATS operation of a round may take.
    fn op_timeout(&self) -> Duration {
        safety_margin(self.ttl)
    }

    /// One round: renew, give up what could not be renewed in time, then
    /// announce liveness, read the live instances, the lease owners and the
    /// partitions' loads, claim the free partitions the balance plan gives
    /// this instance ([`crate::balance`]), and return the held ones it gives
    /// to others: the caller writes their state and
    /// [releases](Self::release) them. Renewal comes first and never
    /// depends on the rest: a failed liveness put or listing skips the
    /// rebalancing (and is returned), never the renewal or the deadlines.
    /// The leases are renewed once a `period`: a round that follows a
    /// renewal made less than half a period ago (by [`Self::renew_held`],
    /// while the worker waited on other work) does not renew them again.
    pub(crate) async fn tick(&mut self, period: Duration) -> Result<Vec<u32>> {
        let renewed = if self.renewed.elapsed() < period / 2 { Ok(()) } else { self.renew().await };
        self.expire();
        let mut live = self.announce().await?;
        renewed?;
        live.insert(self.id.clone()); // it just announced itself
        let mut owners = self.owners().await?;
        for partition in self.held.keys() {
            owners.insert(*partition, self.id.clone());
        }
        if let Ok(loads) = self.read_loads().await {
            self.loads = loads;
        }
        let planned = plan(&self.loads, &live, &owners);
        for (&partition, owner) in &planned {
            if *owner == self.id && !owners.contains_key(&partition) {
                self.claim(partition).await;
            }
        }
        Ok(self.held.keys().copied().filter(|p| planned.get(p).is_some_and(|o| *o != self.id)).collect())
    }

    /// Puts the liveness key and lists the live instances.
    async fn announce(&self) -> Result<BTreeSet<String>> {
        let limit = self.op_timeout();
        let announce = self.instances.put(&self.instance_key, Bytes::from(self.id.clone()));
        within(limit, "announce the instance", announce).await?;
        let list = async {
            let keys = self.instances.keys().await?;
            keys.try_collect::<Vec<String>>().await.map_err(Into::into)
        };
        let keys: Vec<String> = within::<_, _, async_nats::Error>(limit, "list instances", list).await?;
        // A key that does not decode is nobody's.
        Ok(keys.iter().filter_map(|k| decode_id(k).ok()).collect())
    }

    /// The owner of every leased partition.
    async fn owners(&self) -> Result<BTreeMap<u32, String>> {
        within(self.op_timeout(), "list leases", read_owners(&self.partitions)).await
    }

    /// The partitions' loads, from every summary that decodes.
    async fn read_loads(&self) -> Result<Vec<u64>> {
        let values = within(self.op_timeout(), "read the summaries", read_all(&self.summaries)).await?;
        let summaries: Vec<ClusterSummary> =
            values.iter().filter_map(|(_, value)| serde_json::from_slice(value).ok()).collect();
        Ok(partition_loads(&summaries, self.count))
    }

    /// Renews every lease at once, each waiting no longer than its deadline
    /// allows. A lease another instance wrote (or that expired) is lost;
    /// after any other failure the deadline stays where it was. Returns the
    /// first failure other than a lost lease.
    async fn renew(&mut self) -> Result<()> {
        self.renewed = Instant::now();
        let limit = self.op_timeout();
        let renewals = self.held.iter().map(|(&partition, held)| {
            let (store, id) = (self.partitions.clone(), Bytes::from(self.id.clone()));
            let (revision, deadline) = (held.revision, held.lease.serve_until);
            async move {
                let sent = Instant::now();
                let wait = deadline.saturating_duration_since(sent).min(limit);
                let outcome = tokio::time::timeout(wait, store.update(partition_key(partition), id, revision)).await;
                (partition, sent, outcome)
            }
        });
        let mut failure = Ok(());
        for (partition, sent, outcome) in join_all(renewals).await {
            match outcome {
                Ok(Ok(revision)) => {
                    let deadline = sent + self.ttl - safety_margin(self.ttl);
                    if let Some(held) = self.held.get_mut(&partition) {
                        held.revision = revision;
                        held.lease.serve_until = deadline;
                        held.fence.extend(deadline);
                    }
                }
                Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => self.drop_lease(partition),
                Ok(Err(e)) => failure = failure.and(Err(Error::retryable(format!("renew lease p{partition}"), e))),
                Err(e) => failure = failure.and(Err(Error::retryable(format!("renew lease p{partition}"), e))),
            }
        }
        self.publish(None);
        failure
    }

    /// Gives up every lease whose deadline has passed; returns them.
    pub(crate) fn expire(&mut self) -> Vec<u32> {
        let now = Instant::now();
        let expired: Vec<u32> =
            self.held.iter().filter(|(_, h)| h.lease.serve_until <= now).map(|(&partition, _)| partition).collect();
        for &partition in &expired {
            self.drop_lease(partition);
        }
        expired
    }

    /// Stops serving `partition` at once and forgets the lease (it expires
    /// on the server, or is someone else's already).
    pub(crate) fn drop_lease(&mut self, partition: u32) {
        self.end(partition);
    }

    /// Closes the fence of `partition` and records the tenure as ended.
    fn end(&mut self, partition: u32) -> Option<Held> {
        let held = self.held.remove(&partition)?;
        held.fence.close();
        self.audit.let_go(partition);
        self.publish(Some(Lease { serve_until: held.lease.serve_until.min(Instant::now()), ..held.lease }));
        Some(held)
    }

    async fn claim(&mut self, partition: u32) {
        let sent = Instant::now();
        let create = self.partitions.create(partition_key(partition), Bytes::from(self.id.clone()));
        // Another instance holding it is the common case, not an error. A
        // claim whose answer timed out may have been stored: that lease
        // expires unused.
        if let Ok(Ok(revision)) = tokio::time::timeout(self.op_timeout(), create).await {
            let deadline = sent + self.ttl - safety_margin(self.ttl);
            let lease = Lease { partition, token: revision, since: Instant::now(), serve_until: deadline };
            let fence = Fence::open_until(self.base, deadline);
            self.audit.hold(partition, revision, fence.clone());
            self.held.insert(partition, Held { revision, lease, fence });
            self.publish(None);
        }
    }

    /// Lets `partition` go: fenced first, then deleted (expecting our
    /// revision), so nobody claims it while it is served.
    pub(crate) async fn release(&mut self, partition: u32) {
        if let Some(held) = self.end(partition) {
            // If the delete fails the lease simply expires.
            let delete = self.partitions.delete_expect_revision(partition_key(partition), Some(held.revision));
            let _ = tokio::time::timeout(self.op_timeout(), delete).await;
        }
    }

    /// Releases every lease and the liveness key (a graceful shutdown).
    pub(crate) async fn release_all(&mut self) {
        let partitions: Vec<u32> = self.owned().collect();
        for partition in partitions {
            self.release(partition).await;
        }
        let _ = tokio::time::timeout(self.op_timeout(), self.instances.delete(&self.instance_key)).await;
    }
}

/// `operation`, failing as a retryable transport error `what` when it fails
/// or takes longer than `limit`.
async fn within<T, F, E>(limit: Duration, what: &str, operation: F) -> Result<T>
where
    F: Future<Output = std::result::Result<T, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match tokio::time::timeout(limit, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Error::retryable(what, e)),
        Err(elapsed) => Err(Error::retryable(what, elapsed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_is_open_until_its_deadline_and_closes_at_once() {
        let base = Instant::now();
        let fence = Fence::open_until(base, base + Duration::from_secs(3_600));
        let handler = fence.clone();
        assert!(handler.is_open());
        fence.close();
        assert!(!handler.is_open());
        fence.extend(base + Duration::from_secs(3_600));
        assert!(handler.is_open());
        fence.extend(base);
        assert!(!handler.is_open(), "a deadline in the past");
    }
}
