//! One ingest instance: leases partitions, serves the clusters in them and
//! writes their summaries.
//!
//! Every tick the instance renews its leases and rebalances them (see
//! [`crate::lease`]), then, for every cluster the engine knows
//! ([`Engine::cluster_ids`]) whose partition it owns, makes sure it is
//! subscribed to the cluster's enrollment and heartbeat subjects, and puts
//! the cluster's summary. Clusters of partitions it no longer owns are
//! unsubscribed. Clusters created later are picked up on the next tick.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, jetstream};
use fleetgov::{ClusterView, Engine};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinHandle;

use crate::artifact::Artifacts;
use crate::error::{Error, Result};
use crate::lease::Leases;
use crate::partition::{DEFAULT_PARTITIONS, partition_of};
use crate::service::ClusterService;
use crate::summary::{ClusterSummary, Summaries};

/// How to run an [`Instance`].
///
/// ```
/// use std::time::Duration;
/// let config = fleetgov_nats::InstanceConfig { lease_ttl: Duration::from_secs(2), ..fleetgov_nats::InstanceConfig::new("ingest-1") };
/// assert_eq!((config.partitions.get(), config.tick), (16, Duration::from_millis(3_333)));
/// ```
#[derive(Clone, Debug)]
pub struct InstanceConfig {
    /// The instance id: an engine id (letters, digits, `. _ - :`), unique among live instances.
    pub id: String,
    /// How many partitions the clusters are spread over; every instance must agree.
    pub partitions: NonZeroU32,
    /// How long a lease and a liveness key live without renewal.
    pub lease_ttl: Duration,
    /// How often leases are renewed and rebalanced and summaries written; at most `lease_ttl / 3`.
    pub tick: Duration,
    /// How many requests are handled at once.
    pub max_in_flight: usize,
    /// Copies of the buckets this instance creates when they do not exist yet
    /// (leases, liveness, summaries, artifacts): 1 for tests, 3 in production.
    pub replicas: usize,
}

impl InstanceConfig {
    /// Defaults: 16 partitions, a 10 s lease, a tick of a third of it, 64 requests in flight, one replica.
    pub fn new(id: impl Into<String>) -> InstanceConfig {
        InstanceConfig {
            id: id.into(),
            partitions: DEFAULT_PARTITIONS,
            lease_ttl: Duration::from_secs(10),
            tick: Duration::from_millis(3_333),
            max_in_flight: 64,
            replicas: 1,
        }
    }

    fn validate(&self) -> fleetgov::Result<()> {
        fleetgov::validate_id("instance", &self.id)?;
        if self.tick.is_zero() || self.tick > self.lease_ttl / 3 {
            return Err(fleetgov::Error::invalid("tick must be positive and at most a third of the lease TTL"));
        }
        if self.replicas == 0 {
            return Err(fleetgov::Error::invalid("replicas must be positive"));
        }
        if self.max_in_flight == 0 {
            return Err(fleetgov::Error::invalid("max_in_flight must be positive"));
        }
        Ok(())
    }
}

/// What an instance is doing, as of its last tick.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceStatus {
    /// The partitions it owns, ascending.
    pub partitions: Vec<u32>,
    /// The clusters it serves, ascending.
    pub clusters: Vec<String>,
    /// The last tick's failure, if it failed.
    pub last_error: Option<String>,
}

/// A running ingest instance.
///
/// [`shutdown`](Self::shutdown) stops it gracefully: unsubscribes, releases
/// its leases and its liveness key, so others take over at once. Dropping it
/// stops it abruptly, like a killed process: its leases stay until they expire.
///
/// ```no_run
/// # async fn run() -> fleetgov_nats::Result<()> {
/// use std::sync::Arc;
/// let client = async_nats::connect("127.0.0.1:4222").await.unwrap();
/// let engine = Arc::new(fleetgov::Engine::new());
/// let instance = fleetgov_nats::Instance::start(client, fleetgov_nats::InstanceConfig::new("ingest-1"), engine).await?;
/// println!("owns {:?}", instance.owned_partitions());
/// instance.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Instance {
    id: String,
    status: watch::Receiver<InstanceStatus>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Instance {
    /// Opens the buckets, takes a first share of partitions and starts serving.
    pub async fn start(client: Client, config: InstanceConfig, engine: Arc<Engine>) -> Result<Instance> {
        config.validate()?;
        let js = jetstream::new(client.clone());
        let leases = Leases::open(&js, &config.id, config.partitions, config.lease_ttl, config.replicas).await?;
        let summaries = Summaries::open(&js, config.replicas).await?;
        Artifacts::open_replicated(&js, config.replicas).await?;
        let (publish, status) = watch::channel(InstanceStatus::default());
        let mut worker = Worker {
            client,
            engine,
            leases,
            summaries,
            id: config.id.clone(),
            partitions: config.partitions,
            permits: Arc::new(Semaphore::new(config.max_in_flight)),
            services: BTreeMap::new(),
            status: publish,
        };
        worker.round().await;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(worker.run(config.tick, stopped));
        Ok(Instance { id: config.id, status, stop: Some(stop), task })
    }

    /// The instance id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The partitions owned as of the last tick, ascending.
    pub fn owned_partitions(&self) -> Vec<u32> {
        self.status.borrow().partitions.clone()
    }

    /// The whole status as of the last tick.
    pub fn status(&self) -> InstanceStatus {
        self.status.borrow().clone()
    }

    /// Stops gracefully: unsubscribes (requests already received are
    /// answered), deletes its leases and liveness key.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Worker {
    client: Client,
    engine: Arc<Engine>,
    leases: Leases,
    summaries: Summaries,
    id: String,
    partitions: NonZeroU32,
    permits: Arc<Semaphore>,
    services: BTreeMap<String, ClusterService>,
    status: watch::Sender<InstanceStatus>,
}

impl Worker {
    async fn run(mut self, tick: Duration, mut stopped: oneshot::Receiver<()>) {
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is immediate; `start` already ran a round
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = ticks.tick() => self.round().await,
            }
        }
        for (_, service) in std::mem::take(&mut self.services) {
            service.stop().await;
        }
        self.leases.release_all().await;
    }

    async fn round(&mut self) {
        let outcome = self.try_round().await;
        let status = InstanceStatus {
            partitions: self.leases.owned().collect(),
            clusters: self.services.keys().cloned().collect(),
            last_error: outcome.err().map(|e| e.to_string()),
        };
        self.status.send_replace(status);
    }

    async fn try_round(&mut self) -> Result<()> {
        let leased = self.leases.tick().await;
        let owned: Vec<u32> = self.leases.owned().collect();
        let (engine, partitions) = (self.engine.clone(), self.partitions);
        let views = tokio::task::spawn_blocking(move || owned_views(&engine, partitions, &owned))
            .await
            .map_err(|e| Error::transport("read cluster views", e))?;
        let lost: Vec<String> = self.services.keys().filter(|c| !views.iter().any(|v| &v.id == *c)).cloned().collect();
        for cluster in lost {
            if let Some(service) = self.services.remove(&cluster) {
                service.stop().await;
            }
        }
        let now = self.engine.clock().now_ms();
        for view in &views {
            if !self.services.contains_key(&view.id) {
                let service = ClusterService::start(
                    &self.client,
                    self.engine.clone(),
                    &view.workspace,
                    &view.id,
                    self.permits.clone(),
                )
                .await?;
                self.services.insert(view.id.clone(), service);
            }
            self.summaries.put(&ClusterSummary::from_view(view, &self.id, now)).await?;
        }
        leased
    }
}

/// The views of the engine's clusters whose partition is in `owned`.
fn owned_views(engine: &Engine, partitions: NonZeroU32, owned: &[u32]) -> Vec<ClusterView> {
    let now = engine.clock().now_ms();
    engine
        .cluster_ids()
        .into_iter()
        .filter(|id| owned.contains(&partition_of(id, partitions)))
        .filter_map(|id| engine.cluster(&id, now).ok())
        .collect()
}
