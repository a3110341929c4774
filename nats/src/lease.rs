//! Partition ownership by leases in JetStream KV, fenced by a deadline.
//!
//! - Liveness: every instance puts its key in [`INSTANCES_BUCKET`] every
//!   tick; the bucket's `max_age` is the lease TTL, so a dead instance's key
//!   expires.
//! - Leases: key `p<k>` of [`PARTITIONS_BUCKET`] (same `max_age`) holds the
//!   owner's instance id. An instance claims a free partition with `create`
//!   (fails if another holds it) and renews with `update(key, id, revision)`
//!   (fails if anyone else wrote the key since), every tick, at most TTL/3
//!   apart, on a task of its own (the crate's `renewal` module), never
//!   waiting on the worker. A lease not renewed within the TTL expires and can be claimed.
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
//! A renewal waits no longer than its lease's deadline (nor than the
//! safety margin), so renewals on a dead connection end in time to notice
//! the deadlines; every NATS operation of a round waits at most the safety
//! margin too. Who writes and ends what: the crate's `held` module.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::TryStreamExt;
use tokio::sync::watch;

use crate::audit_fence::AuditFence;
use crate::balance::{partition_loads, plan};
use crate::buckets::{self, read_all, read_owners};
use crate::error::{Error, Result};
use crate::fence::Fence;
use crate::held::HeldLeases;
use crate::placement::Placement;
use crate::renewal::Renewal;
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

/// One instance's leases, as its worker sees them: the rounds of balance,
/// claims and releases. Renewals are the [renewal task](crate::renewal)'s,
/// which runs as long as this lives.
pub(crate) struct Leases {
    /// The lease bucket (written in [the writer's turn](HeldLeases::writing)).
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
    held: Arc<HeldLeases>,
    _renewal: Renewal,
}

impl Leases {
    /// Opens the buckets and starts renewing, every `tick`, the leases
    /// this instance will hold.
    pub(crate) async fn open(
        js: &jetstream::Context,
        id: &str,
        placement: Placement,
        (ttl, tick): (Duration, Duration),
        replicas: usize,
        audit: AuditFence,
    ) -> Result<Leases> {
        let count = placement.partitions();
        audit.attach(placement);
        let partitions = buckets::key_value(js, PARTITIONS_BUCKET, ttl, replicas).await?;
        let held = Arc::new(HeldLeases::new(ttl, audit));
        let renewal = Renewal::spawn(held.clone(), partitions.clone(), id.to_owned(), ttl, tick);
        Ok(Leases {
            partitions,
            instances: buckets::key_value(js, INSTANCES_BUCKET, ttl, replicas).await?,
            summaries: buckets::key_value(js, SUMMARIES_BUCKET, Duration::ZERO, replicas).await?,
            loads: vec![1; count.get() as usize],
            id: id.to_owned(),
            instance_key: instance_key(id)?,
            count,
            ttl,
            _renewal: renewal,
            held,
        })
    }

    /// The partitions held, ascending.
    pub(crate) fn owned(&self) -> Vec<u32> {
        self.held.owned()
    }

    /// The leases held, by partition.
    pub(crate) fn leases(&self) -> Vec<Lease> {
        self.held.leases()
    }

    /// The lease log, following its changes.
    pub(crate) fn log(&self) -> watch::Receiver<LeaseLog> {
        self.held.log()
    }

    /// The fence of a held partition.
    pub(crate) fn fence(&self, partition: u32) -> Option<Fence> {
        self.held.get(partition).map(|h| h.fence)
    }

    /// The lease of a held partition, with its deadline as of the last renewal.
    pub(crate) fn lease(&self, partition: u32) -> Option<Lease> {
        self.held.get(partition).map(|h| h.lease)
    }

    /// The token of a held partition's tenure.
    pub(crate) fn token(&self, partition: u32) -> Option<u64> {
        self.lease(partition).map(|l| l.token)
    }

    /// Resolves once the renewal task has ended a lease (lost, or past its
    /// deadline): the worker stops serving it.
    pub(crate) async fn ended(&self) {
        self.held.ended().await;
    }

    /// How long one NATS operation of a round may take.
    fn op_timeout(&self) -> Duration {
        safety_margin(self.ttl)
    }

    /// One round: give up what is past its deadline, announce liveness,
    /// read the live instances, the lease owners and the partitions'
    /// loads, claim the free partitions the balance plan gives this
    /// instance ([`crate::balance`]), and return the held ones it gives to
    /// others: the caller writes their state and [releases](Self::release)
    /// them. Returns the last renewal round's failure, if any, after a
    /// failed liveness put or listing (which skips the rebalancing).
    pub(crate) async fn tick(&mut self) -> Result<Vec<u32>> {
        self.held.expire();
        let renewed = self.held.take_failure().map_or(Ok(()), Err);
        let mut live = self.announce().await?;
        renewed?;
        live.insert(self.id.clone()); // it just announced itself
        let mut owners = self.owners().await?;
        for partition in self.held.owned() {
            owners.insert(partition, self.id.clone());
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
        let others = self.held.owned().into_iter().filter(|p| planned.get(p).is_some_and(|o| *o != self.id));
        Ok(others.collect())
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

    async fn claim(&mut self, partition: u32) {
        let _turn = self.held.writing().await;
        let sent = Instant::now();
        let create = self.partitions.create(partition_key(partition), Bytes::from(self.id.clone()));
        // Another instance holding it is the common case, not an error. A
        // claim whose answer timed out may have been stored: that lease
        // expires unused.
        if let Ok(Ok(revision)) = tokio::time::timeout(self.op_timeout(), create).await {
            self.held.claimed(partition, revision, sent);
        }
    }

    /// Lets `partition` go: fenced first, then deleted (expecting our
    /// last revision: no renewal comes between), so nobody claims it while
    /// it is served.
    pub(crate) async fn release(&mut self, partition: u32) {
        let _turn = self.held.writing().await;
        if let Some(held) = self.held.end(partition) {
            // If the delete fails the lease simply expires.
            let delete = self.partitions.delete_expect_revision(partition_key(partition), Some(held.revision));
            let _ = tokio::time::timeout(self.op_timeout(), delete).await;
        }
    }

    /// Releases every lease and the liveness key (a graceful shutdown).
    pub(crate) async fn release_all(&mut self) {
        for partition in self.held.owned() {
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
