//! Partition ownership by leases in JetStream KV.
//!
//! - Liveness: every instance puts its key in [`INSTANCES_BUCKET`] every
//!   tick; the bucket's `max_age` is the lease TTL, so a dead instance's key
//!   expires.
//! - Leases: key `p<k>` of [`PARTITIONS_BUCKET`] (same `max_age`) holds the
//!   owner's instance id. An instance claims a free partition with `create`
//!   (fails if another holds it) and renews with `update(key, id, revision)`
//!   (fails if anyone else wrote the key since), every tick, at most TTL/3
//!   apart. A lease not renewed within the TTL expires and can be claimed.
//! - Fair share: `ceil(N / live instances)`. An instance claims free
//!   partitions up to its fair share and releases (deletes, expecting its own
//!   revision) the ones above it, so a newcomer gets work and the survivors of
//!   a dead instance take its partitions once its leases expire.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::TryStreamExt;

use crate::buckets;
use crate::error::{Error, Result};
use crate::subject::{INSTANCES_BUCKET, PARTITIONS_BUCKET, instance_key, partition_key};

/// How many partitions each of `live` instances should own: `ceil(N / live)`.
///
/// ```
/// use std::num::NonZeroU32;
/// use fleetgov_nats::lease::fair_share;
/// let n = NonZeroU32::new(16).unwrap();
/// assert_eq!((fair_share(n, 1), fair_share(n, 2), fair_share(n, 3), fair_share(n, 40)), (16, 8, 6, 1));
/// assert_eq!(fair_share(n, 0), 16); // not yet counting itself: take what is free
/// ```
pub fn fair_share(partitions: NonZeroU32, live: usize) -> u32 {
    let live = u32::try_from(live.max(1)).unwrap_or(u32::MAX);
    partitions.get().div_ceil(live)
}

/// A lease this instance holds.
#[derive(Clone, Copy, Debug)]
struct Held {
    /// The KV revision of our last write of the key.
    revision: u64,
    /// When that write was acknowledged.
    renewed: Instant,
}

/// One instance's leases.
pub(crate) struct Leases {
    partitions: kv::Store,
    instances: kv::Store,
    id: String,
    instance_key: String,
    count: NonZeroU32,
    ttl: Duration,
    held: BTreeMap<u32, Held>,
}

impl Leases {
    pub(crate) async fn open(
        js: &jetstream::Context,
        id: &str,
        count: NonZeroU32,
        ttl: Duration,
        replicas: usize,
    ) -> Result<Leases> {
        Ok(Leases {
            partitions: buckets::key_value(js, PARTITIONS_BUCKET, ttl, replicas).await?,
            instances: buckets::key_value(js, INSTANCES_BUCKET, ttl, replicas).await?,
            id: id.to_owned(),
            instance_key: instance_key(id)?,
            count,
            ttl,
            held: BTreeMap::new(),
        })
    }

    /// The partitions held, ascending.
    pub(crate) fn owned(&self) -> impl Iterator<Item = u32> + '_ {
        self.held.keys().copied()
    }

    /// One round: announce liveness, renew, then release above or claim up to
    /// the fair share. A lease that could not be renewed within the TTL is
    /// given up (someone else may hold it by now).
    pub(crate) async fn tick(&mut self) -> Result<()> {
        self.instances
            .put(&self.instance_key, Bytes::from(self.id.clone()))
            .await
            .map_err(|e| Error::transport("announce the instance", e))?;
        let live = self.live_instances().await?;
        self.renew().await;
        let fair = fair_share(self.count, live) as usize;
        while self.held.len() > fair {
            let Some((&partition, _)) = self.held.last_key_value() else { break };
            self.release(partition).await;
        }
        for partition in 0..self.count.get() {
            if self.held.len() >= fair {
                break;
            }
            if !self.held.contains_key(&partition) {
                self.claim(partition).await;
            }
        }
        Ok(())
    }

    async fn live_instances(&self) -> Result<usize> {
        let keys = self.instances.keys().await.map_err(|e| Error::transport("list instances", e))?;
        let keys: Vec<String> = keys.try_collect().await.map_err(|e| Error::transport("list instances", e))?;
        Ok(keys.len())
    }

    async fn renew(&mut self) {
        let now = Instant::now();
        let mut lost = Vec::new();
        for (&partition, held) in &mut self.held {
            match self.partitions.update(partition_key(partition), Bytes::from(self.id.clone()), held.revision).await {
                Ok(revision) => *held = Held { revision, renewed: now },
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => lost.push(partition),
                // A transport hiccup: keep serving while the lease may still be ours.
                Err(_) if now.duration_since(held.renewed) < self.ttl => {}
                Err(_) => lost.push(partition),
            }
        }
        for partition in lost {
            self.held.remove(&partition);
        }
    }

    async fn claim(&mut self, partition: u32) {
        // Another instance holding it is the common case, not an error.
        if let Ok(revision) = self.partitions.create(partition_key(partition), Bytes::from(self.id.clone())).await {
            self.held.insert(partition, Held { revision, renewed: Instant::now() });
        }
    }

    async fn release(&mut self, partition: u32) {
        if let Some(held) = self.held.remove(&partition) {
            // If the delete fails the lease simply expires.
            let _ = self.partitions.delete_expect_revision(partition_key(partition), Some(held.revision)).await;
        }
    }

    /// Releases every lease and the liveness key (a graceful shutdown).
    pub(crate) async fn release_all(&mut self) {
        let partitions: Vec<u32> = self.owned().collect();
        for partition in partitions {
            self.release(partition).await;
        }
        let _ = self.instances.delete(&self.instance_key).await;
    }
}
