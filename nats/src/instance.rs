//! One ingest instance: leases partitions, serves the clusters in them and
//! writes their summaries.
//!
//! Every tick the instance renews its leases and rebalances them (see
//! [`crate::lease`]), then, for every cluster the engine knows
//! ([`Engine::cluster_ids`]) whose partition it owns, makes sure it is
//! subscribed to the cluster's enrollment and heartbeat subjects. Clusters
//! of partitions it no longer owns are unsubscribed; clusters created later
//! are picked up on the next tick.
//!
//! A partition is served only once its node state and history are
//! restored from JetStream ([`crate::journal`]); restores run off the
//! worker and report back. While it serves a partition the instance
//! appends the partition's new transitions to its journal every
//! [`journal_interval`](InstanceConfig::journal_interval) and writes its
//! node checkpoint every
//! [`checkpoint_interval`](InstanceConfig::checkpoint_interval), and both
//! once more when its tenure ends; a write refused because a later tenure
//! wrote the partition's subject lets the partition go.
//!
//! Ownership is fenced ([`crate::lease`]): the instance serves a partition
//! only until the deadline its last successful renewal proves, and stops
//! serving it at that deadline (a timer of its own, not the next round)
//! when renewals fail. Renewals do not wait for the worker's engine work:
//! while it waits on one (a summary scan of a large cluster, a journal
//! export), the leases are renewed whenever a renewal falls due.
//!
//! Summaries follow the engine's change feed ([`crate::feed`]): a cluster
//! it serves is put when it changes, at most once per
//! [`summary_coalesce`](InstanceConfig::summary_coalesce). Every
//! [`summary_refresh`](InstanceConfig::summary_refresh) every served
//! cluster is put again whether it changed or not: the liveness signal
//! behind [`FleetView`](crate::FleetView)'s staleness bound. A cluster it
//! no longer serves is never put. Puts and lease rounds run on one task,
//! so a put always follows the ownership of the last round.
//!
//! **Summary writes are fenced too.** When the instance starts serving a
//! cluster it takes the cluster's summary key over: it rewrites the current
//! summary as *restoring* expecting the key's revision (a new owner shows
//! no figures of its own until the handover is complete, see
//! [`crate::handover`]), and every later write of the tenure is a KV
//! `update` expecting the revision of its previous write. So once a new
//! owner has taken the key over, the bucket refuses every write of a stale
//! owner, whatever it believes about its lease. A refused write means
//! someone else wrote the cluster: the instance lets the partition go.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::{Client, jetstream};
use bytes::Bytes;
use fleetgov::Engine;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::artifact::Artifacts;
use crate::audit_fence::AuditFence;
use crate::error::{Error, Result};
use crate::feed::{self, Changed};
use crate::handover::Handover;
use crate::journal::{Journals, Marks, PART_BYTES, Stored, Written};
use crate::lease::{Lease, LeaseLog, Leases, safety_margin};
use crate::partition::DEFAULT_PARTITIONS;
use crate::placement::{Placement, PlacementMode};
use crate::rollout::{self, Advancer};
use crate::seal;
use crate::service::{ClusterService, Shared, WrongCluster};
use crate::summary::{ClusterSummary, Summaries};

/// How to run an [`Instance`].
///
/// ```
/// use std::time::Duration;
/// let config = fleetgov_nats::InstanceConfig { lease_ttl: Duration::from_secs(2), ..fleetgov_nats::InstanceConfig::new("ingest-1") };
/// assert_eq!((config.partitions.get(), config.tick), (16, Duration::from_millis(3_333)));
/// assert_eq!((config.summary_refresh, config.summary_coalesce), (Duration::from_secs(10), Duration::from_millis(200)));
/// ```
#[derive(Clone, Debug)]
pub struct InstanceConfig {
    /// The instance id: an engine id (letters, digits, `. _ - :`), unique among live instances.
    pub id: String,
    /// How many partitions the clusters are placed in ([`crate::placement`]);
    /// every instance must agree, and the journal streams refuse another
    /// count than the one they were created for.
    pub partitions: NonZeroU32,
    /// How long a lease and a liveness key live without renewal.
    pub lease_ttl: Duration,
    /// How often leases are renewed and rebalanced and new clusters picked up; at most `lease_ttl / 3`.
    pub tick: Duration,
    /// How often every served cluster's summary is put again, changed or
    /// not: the liveness signal behind the merged view's staleness bound.
    /// A reader's bound should exceed `summary_refresh + lease_ttl` (the
    /// age of a live owner's summary, plus a takeover).
    pub summary_refresh: Duration,
    /// The shortest time between two puts of the summaries of changed
    /// clusters: a cluster that changes many times within it is put once,
    /// at the end of it at the latest. At most `summary_refresh`.
    pub summary_coalesce: Duration,
    /// The longest a new owner of a cluster waits for its nodes to report
    /// before it publishes its own figures ([`crate::handover`]); meanwhile
    /// the merged view shows the cluster STALE with the previous figures.
    /// Longer than the agents' heartbeat period.
    pub handover_wait: Duration,
    /// How often the transitions recorded for each served partition are
    /// appended to its journal in JetStream ([`crate::journal`]): what a
    /// killed instance can lose of a partition's history.
    pub journal_interval: Duration,
    /// How often each served partition's node checkpoint (every node's
    /// last report) is written to JetStream ([`crate::journal`]): what a
    /// killed instance can lose of heartbeat times and metrics (what nodes
    /// ran is in the journal).
    pub checkpoint_interval: Duration,
    /// How many requests are handled at once.
    pub max_in_flight: usize,
    /// Copies of the buckets and streams this instance creates when they do
    /// not exist yet (leases, liveness, summaries, artifacts, journals): 1
    /// for tests, 3 in production.
    pub replicas: usize,
}

impl InstanceConfig {
    /// Defaults: 16 partitions, a 10 s lease, a tick of a third of it, a
    /// summary refresh every 10 s, changes coalesced over 200 ms, a
    /// handover wait of 30 s, the journal appended every second and node
    /// checkpoints every 30 s, 64 requests in flight, one replica.
    pub fn new(id: impl Into<String>) -> InstanceConfig {
        InstanceConfig {
            id: id.into(),
            partitions: DEFAULT_PARTITIONS,
            lease_ttl: Duration::from_secs(10),
            tick: Duration::from_millis(3_333),
            summary_refresh: Duration::from_secs(10),
            summary_coalesce: Duration::from_millis(200),
            handover_wait: Duration::from_secs(30),
            journal_interval: Duration::from_secs(1),
            checkpoint_interval: Duration::from_secs(30),
            max_in_flight: 64,
            replicas: 1,
        }
    }

    fn validate(&self) -> fleetgov::Result<()> {
        fleetgov::validate_id("instance", &self.id)?;
        if self.tick.is_zero() || self.tick > self.lease_ttl / 3 {
            return Err(fleetgov::Error::invalid("tick must be positive and at most a third of the lease TTL"));
        }
        if self.summary_coalesce.is_zero() || self.summary_coalesce > self.summary_refresh {
            return Err(fleetgov::Error::invalid("summary_coalesce must be positive and at most summary_refresh"));
        }
        if self.replicas == 0 {
            return Err(fleetgov::Error::invalid("replicas must be positive"));
        }
        if self.handover_wait.is_zero() {
            return Err(fleetgov::Error::invalid("handover_wait must be positive"));
        }
        if self.journal_interval.is_zero() || self.checkpoint_interval.is_zero() {
            return Err(fleetgov::Error::invalid("journal_interval and checkpoint_interval must be positive"));
        }
        if self.max_in_flight == 0 {
            return Err(fleetgov::Error::invalid("max_in_flight must be positive"));
        }
        Ok(())
    }
}

/// What an instance is doing, as of its last tick (or summary put, or
/// lease deadline).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceStatus {
    /// The partitions it owns, ascending.
    pub partitions: Vec<u32>,
    /// The leases behind them, by partition: since when and until when
    /// each is served.
    pub leases: Vec<Lease>,
    /// The clusters it serves, ascending.
    pub clusters: Vec<String>,
    /// The partitions it owns whose node state and history it holds
    /// ([`crate::journal`]), ascending: it serves only these.
    pub restored: Vec<u32>,
    /// The last tick's failure, or a summary put that failed after it.
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
    placement: Placement,
    status: watch::Receiver<InstanceStatus>,
    lease_log: watch::Receiver<LeaseLog>,
    wrong_cluster: Arc<WrongCluster>,
    rollout_passes: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Instance {
    /// Opens the buckets, takes a first share of partitions and starts
    /// serving. For an engine built by a [`Replica`](crate::Replica), use
    /// [`Replica::serve`](crate::Replica::serve): it fences the audit
    /// records written on behalf of a partition too.
    pub async fn start(client: Client, config: InstanceConfig, engine: Arc<Engine>) -> Result<Instance> {
        Instance::start_fenced(client, config, engine, AuditFence::default()).await
    }

    /// [`start`](Self::start), keeping `audit` up to date with the leases held.
    pub(crate) async fn start_fenced(
        client: Client,
        config: InstanceConfig,
        engine: Arc<Engine>,
        audit: AuditFence,
    ) -> Result<Instance> {
        config.validate()?;
        let js = jetstream::new(client.clone());
        let journals = Journals::open(&js, config.replicas, config.partitions).await?;
        // Clusters are placed by the rounds, off the async threads (owned_clusters).
        let placement = Placement::new(journals.placement(), config.partitions);
        let leases = Leases::open(&js, &config.id, placement.clone(), config.lease_ttl, config.replicas, audit).await?;
        let lease_log = leases.log();
        let summaries = Summaries::open(&js, config.replicas).await?;
        Artifacts::open(&js, config.replicas).await?;
        let (restored_tx, restored_rx) = mpsc::unbounded_channel();
        let (publish, status) = watch::channel(InstanceStatus::default());
        // Subscribed before the first round: no change after it is missed.
        let changed = Arc::new(Changed::default());
        feed::follow(&engine, changed.clone(), format!("feed-{}", config.id))?;
        let wrong_cluster = Arc::new(WrongCluster::default());
        let mut worker = Worker {
            client,
            engine,
            leases,
            summaries,
            journals,
            tenures: BTreeMap::new(),
            restoring: BTreeMap::new(),
            restored: restored_tx,
            restore_timeout: config.lease_ttl * 3,
            id: config.id.clone(),
            placement: placement.clone(),
            op_timeout: safety_margin(config.lease_ttl),
            tick: config.tick,
            handover_wait: config.handover_wait,
            shared: Shared {
                permits: Arc::new(Semaphore::new(config.max_in_flight)),
                changed: changed.clone(),
                wrong_cluster: wrong_cluster.clone(),
            },
            services: BTreeMap::new(),
            rollouts: Advancer::default(),
            status: publish,
            changed: CloseOnDrop(changed),
        };
        worker.round().await;
        // The first share is served once restored, before `start` returns.
        let mut restored_rx = restored_rx;
        let first = tokio::time::timeout(worker.restore_timeout, async {
            while !worker.restoring.is_empty() {
                let Some(done) = restored_rx.recv().await else { break };
                worker.restored(done);
            }
        });
        let waited = first.await;
        let followed = worker.follow_leases().await;
        worker.publish_status(Some(
            waited
                .map_err(|e| Error::retryable("restore the first share", e))
                .and(followed)
                .err()
                .map(|e| e.to_string()),
        ));
        let (stop, stopped) = oneshot::channel();
        let (id, rollout_passes) = (config.id.clone(), worker.rollouts.passes());
        let task = tokio::spawn(worker.run(config, stopped, restored_rx));
        Ok(Instance { id, placement, status, lease_log, wrong_cluster, rollout_passes, stop: Some(stop), task })
    }

    /// The instance id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The partitions owned as of the last tick, ascending.
    pub fn owned_partitions(&self) -> Vec<u32> {
        self.status.borrow().partitions.clone()
    }

    /// How the fleet's clusters are placed in partitions, as its stored
    /// state records it ([`crate::placement`]).
    pub fn placement(&self) -> PlacementMode {
        self.placement.mode()
    }

    /// The partition `cluster` is served in: `None` for a cluster this
    /// instance has not placed yet (its engine does not know it, or it was
    /// created after the last round).
    pub fn partition_of(&self, cluster: &str) -> Option<u32> {
        self.placement.partition_of(cluster)
    }

    /// The whole status as of the last tick.
    pub fn status(&self) -> InstanceStatus {
        self.status.borrow().clone()
    }

    /// The instance's leases, following every claim, renewal and end:
    /// its lease history as it happens.
    pub fn lease_log(&self) -> watch::Receiver<LeaseLog> {
        self.lease_log.clone()
    }

    /// Heartbeat records refused since the start because their node is not
    /// enrolled in the cluster of the subject they came on (outcome 6,
    /// [`WrongCluster`](fleetgov::record::Outcome::WrongCluster)); none of
    /// them was applied. Up to date, not as of the last tick.
    pub fn wrong_cluster_records(&self) -> u64 {
        self.wrong_cluster.get()
    }

    /// How many times since the start the instance has evaluated the gates
    /// of the rollouts of the clusters it serves, and of those alone
    /// ([`crate::rollout`]), every [`ADVANCE_INTERVAL`](rollout::ADVANCE_INTERVAL).
    pub fn rollout_passes(&self) -> u64 {
        // Relaxed: a count read on its own; it publishes no other memory.
        self.rollout_passes.load(Ordering::Relaxed)
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
    journals: Journals,
    /// The owned partitions whose state this engine holds, and where their
    /// journal and checkpoints stand.
    tenures: BTreeMap<u32, Tenure>,
    /// Restores under way, by partition, with the lease token they are for.
    restoring: BTreeMap<u32, (u64, JoinHandle<()>)>,
    /// Where a restore reports.
    restored: mpsc::UnboundedSender<Restored>,
    /// The longest a restore may take before it is tried again.
    restore_timeout: Duration,
    id: String,
    placement: Placement,
    /// The longest one summary write may take: a round must not outlast a deadline.
    op_timeout: Duration,
    /// How often the leases are renewed, also while the worker waits on
    /// engine work ([`Worker::off_worker`]).
    tick: Duration,
    handover_wait: Duration,
    shared: Shared,
    /// The clusters served, by id: those of owned partitions as of the last round.
    services: BTreeMap<String, Served>,
    /// Evaluates the gates of the served clusters' rollouts.
    rollouts: Advancer,
    status: watch::Sender<InstanceStatus>,
    changed: CloseOnDrop,
}

/// A cluster this instance serves.
struct Served {
    service: ClusterService,
    /// Its partition.
    partition: u32,
    /// The KV revision of this tenure's last write of its summary: the next
    /// write expects it.
    revision: u64,
    /// Until the new owner holds the cluster's node state: what it waits for.
    handover: Option<Handover>,
}

/// A partition whose node state and history this engine holds: restored
/// from JetStream for the lease `token`, and written back as it changes.
struct Tenure {
    token: u64,
    /// Where the partition's subjects end, as far as this tenure knows.
    marks: Marks,
    /// The engine's journal position up to which the partition's
    /// transitions are in JetStream (or were imported from it).
    position: u64,
    /// Segments this tenure wrote whose seal is not in the audit log yet
    /// (stream sequence, bytes), oldest first ([`crate::seal`]).
    unsealed: Vec<(u64, Bytes)>,
}

/// A finished restore.
struct Restored {
    partition: u32,
    token: u64,
    /// Where the subjects ended, the journal position after the import,
    /// and why a checkpoint was skipped.
    outcome: Result<(Marks, u64, Option<String>)>,
}

/// The clusters marked changed; stops the feed reader when the worker ends,
/// gracefully or aborted.
struct CloseOnDrop(Arc<Changed>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Worker {
    async fn run(
        mut self,
        config: InstanceConfig,
        mut stopped: oneshot::Receiver<()>,
        mut restored: mpsc::UnboundedReceiver<Restored>,
    ) {
        let mut ticks = tokio::time::interval(config.tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is immediate; `start` already ran a round
        let mut refreshes = tokio::time::interval(config.summary_refresh);
        refreshes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        refreshes.tick().await;
        let mut journal_ticks = tokio::time::interval(config.journal_interval);
        journal_ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut checkpoint_ticks = tokio::time::interval(config.checkpoint_interval);
        checkpoint_ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rollout_ticks = tokio::time::interval(rollout::ADVANCE_INTERVAL);
        rollout_ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Puts of changed clusters: at `flush_at`, at least `summary_coalesce` after the last one.
        let mut flush_at: Option<Instant> = None;
        let mut last_flush: Option<Instant> = None;
        loop {
            let deadline = self.leases.next_deadline().map(Instant::from_std);
            tokio::select! {
                _ = &mut stopped => break,
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.leases.expire();
                    let followed = self.follow_leases().await;
                    self.publish_status(followed.err().map(|e| Some(e.to_string())));
                }
                _ = ticks.tick() => self.round().await,
                Some(done) = restored.recv() => {
                    self.restored(done);
                    let followed = self.follow_leases().await;
                    self.publish_status(followed.err().map(|e| Some(e.to_string())));
                }
                _ = journal_ticks.tick() => self.write_state(false).await,
                _ = checkpoint_ticks.tick() => self.write_state(true).await,
                _ = rollout_ticks.tick() => self.advance_rollouts().await,
                _ = refreshes.tick() => {
                    let served = self.services.keys().cloned().collect();
                    self.put(served).await;
                }
                _ = self.changed.0.marked(), if flush_at.is_none() => {
                    let now = Instant::now();
                    flush_at = Some(last_flush.map_or(now, |last| (last + config.summary_coalesce).max(now)));
                }
                _ = tokio::time::sleep_until(flush_at.unwrap_or_else(Instant::now)), if flush_at.is_some() => {
                    flush_at = None;
                    last_flush = Some(Instant::now());
                    self.flush().await;
                }
            }
        }
        for (_, served) in std::mem::take(&mut self.services) {
            served.service.stop().await;
        }
        // What the next owner restores: the last transitions and every node's last report.
        // Nobody else serves them until the leases are released: it may take a restore's time.
        self.let_go_states(self.tenures.keys().copied().collect(), self.restore_timeout).await;
        self.leases.release_all().await;
    }

    async fn round(&mut self) {
        let outcome = self.try_round().await;
        self.publish_status(Some(outcome.err().map(|e| e.to_string())));
    }

    /// Publishes the status; `error` replaces the last error when given.
    fn publish_status(&self, error: Option<Option<String>>) {
        self.status.send_modify(|status| {
            status.partitions = self.leases.owned().collect();
            status.leases = self.leases.leases();
            status.clusters = self.services.keys().cloned().collect();
            status.restored = self.tenures.keys().copied().collect();
            if let Some(error) = error {
                status.last_error = error;
            }
        });
    }

    /// Renews and rebalances the leases, follows them with the services,
    /// and takes over the summaries of the clusters it starts serving.
    async fn try_round(&mut self) -> Result<()> {
        let leased = match self.leases.tick(self.tick).await {
            Ok(others) => {
                self.hand_over(others).await;
                Ok(())
            }
            Err(e) => Err(e),
        };
        let followed = self.follow_leases().await;
        leased.and(followed)
    }

    /// Hands `partitions` over to the instances the balance plan gives them
    /// to ([`crate::balance`]): stops serving their clusters, writes their
    /// state one last time while their leases still hold, then releases
    /// the leases (fenced first, then deleted).
    async fn hand_over(&mut self, partitions: Vec<u32>) {
        if partitions.is_empty() {
            return;
        }
        let leaving: Vec<String> =
            self.services.iter().filter(|(_, s)| partitions.contains(&s.partition)).map(|(c, _)| c.clone()).collect();
        for cluster in leaving {
            if let Some(served) = self.services.remove(&cluster) {
                served.service.stop().await;
            }
        }
        // Its clusters are found in the engine: they are no longer served.
        self.let_go_states(partitions.clone(), self.op_timeout).await;
        for partition in partitions {
            self.leases.release(partition).await;
        }
    }

    /// Stops serving the clusters of partitions no longer held, and starts
    /// serving those of held partitions: each new one's summary key is
    /// taken over first.
    async fn follow_leases(&mut self) -> Result<()> {
        // A tenure ends with its lease: the partition is no longer held, or
        // held again under another lease (restored afresh before it is served).
        let ended: Vec<u32> =
            self.tenures.iter().filter(|(p, t)| self.leases.token(**p) != Some(t.token)).map(|(p, _)| *p).collect();
        let lost: Vec<String> = self
            .services
            .iter()
            .filter(|(_, s)| ended.contains(&s.partition) || self.leases.token(s.partition).is_none())
            .map(|(c, _)| c.clone())
            .collect();
        for cluster in lost {
            if let Some(served) = self.services.remove(&cluster) {
                served.service.stop().await;
            }
        }
        self.let_go_states(ended, self.op_timeout).await;
        self.start_restores();
        let owned: Vec<u32> = self.leases.owned().filter(|p| self.tenures.contains_key(p)).collect();
        let (engine, placement) = (self.engine.clone(), self.placement.clone());
        let clusters =
            self.off_worker("list the owned clusters", move || owned_clusters(&engine, &placement, &owned)).await?;
        let new: Vec<(String, Option<u64>)> =
            clusters.keys().filter(|c| !self.services.contains_key(*c)).map(|c| (c.clone(), None)).collect();
        let mut outcome = Ok(());
        for (mut summary, _) in self.read_summaries(new).await? {
            let partition = clusters[&summary.cluster];
            let (Some(fence), Some(lease)) = (self.leases.fence(partition), self.leases.token(partition)) else {
                continue;
            };
            if !fence.is_open() {
                continue; // past its deadline: the next round follows the leases
            }
            summary.partition = partition;
            summary.lease = lease;
            let (revision, enrolled) =
                match self.within("take a summary over", self.summaries.take_over(&summary)).await {
                    Ok(taken) => taken,
                    Err(e) => {
                        outcome = outcome.and(Err(e)); // the next round tries again
                        continue;
                    }
                };
            // Restored nodes count: every node the engine holds a report of.
            let handover = Handover::new(enrolled, 0, self.handover_wait);
            let service = ClusterService::start(
                &self.client,
                self.engine.clone(),
                &summary.workspace,
                &summary.cluster,
                fence,
                &self.shared,
            )
            .await?;
            self.services
                .insert(summary.cluster.clone(), Served { service, partition, revision, handover: Some(handover) });
            // Put as soon as the handover is complete (at once if there is nothing to wait for).
            self.changed.0.mark(&summary.cluster);
        }
        outcome
    }

    /// Evaluates the gates of the rollouts of the clusters it serves whose
    /// handover is complete, each under its partition's fence: never those
    /// of clusters whose nodes it does not hold ([`crate::rollout`]).
    async fn advance_rollouts(&mut self) {
        let served = self
            .services
            .iter()
            .filter(|(_, s)| s.handover.is_none() && self.tenures.contains_key(&s.partition))
            .filter_map(|(c, s)| Some((c.clone(), self.leases.fence(s.partition)?)))
            .collect();
        if let Some(why) = self.rollouts.tick(&self.engine, served).await {
            self.status.send_modify(|status| status.last_error = Some(why));
        }
    }

    /// Puts the summaries of the changed clusters it serves (every served
    /// cluster when the feed reader lagged).
    async fn flush(&mut self) {
        let marks = self.changed.0.take();
        let due: Vec<String> = if marks.all {
            self.services.keys().cloned().collect()
        } else {
            marks.clusters.iter().filter(|c| self.services.contains_key(&***c)).map(|c| c.to_string()).collect()
        };
        self.put(due).await;
    }

    /// Puts the summaries of `clusters`; a failure is reported in the status.
    async fn put(&mut self, clusters: Vec<String>) {
        if clusters.is_empty() {
            return;
        }
        let due: Vec<(String, Option<u64>)> = clusters
            .into_iter()
            .filter_map(|c| {
                let since = self.services.get(&c)?.handover.map(|h| h.since_ms());
                Some((c, since))
            })
            .collect();
        let outcome = match self.read_summaries(due).await {
            Ok(summaries) => self.put_summaries(summaries).await,
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            self.status.send_modify(|status| status.last_error = Some(e.to_string()));
        }
    }

    /// Puts each summary whose cluster is still served, under an open
    /// fence, with its handover complete, expecting the tenure's last
    /// revision. A cluster whose put fails is marked changed again, so the
    /// next flush retries it; a refused put gives the partition up. The
    /// first failure is returned.
    async fn put_summaries(&mut self, summaries: Vec<(ClusterSummary, u64)>) -> Result<()> {
        let mut outcome = Ok(());
        let mut refused = Vec::new();
        for (mut summary, reported) in summaries {
            let Some(served) = self.services.get(&summary.cluster) else { continue };
            let partition = served.partition;
            let (Some(fence), Some(lease)) = (self.leases.fence(partition), self.leases.token(partition)) else {
                continue; // no longer held: the next round stops the service
            };
            if !fence.is_open() || served.handover.is_some_and(|h| !h.is_complete(reported)) {
                continue;
            }
            (summary.partition, summary.lease) = (partition, lease);
            match self.within("put a summary", self.summaries.update(&summary, served.revision)).await {
                Ok(Some(revision)) => {
                    if let Some(served) = self.services.get_mut(&summary.cluster) {
                        (served.revision, served.handover) = (revision, None);
                    }
                }
                Ok(None) => {
                    refused.push(partition);
                    let message = format!("summary of {} refused: another instance wrote it", summary.cluster);
                    outcome =
                        outcome.and(Err(Error::from(fleetgov::Error::new(fleetgov::ErrorKind::Conflict, message))));
                }
                Err(e) => {
                    self.changed.0.mark(&summary.cluster);
                    outcome = outcome.and(Err(e));
                }
            }
        }
        self.give_up(refused).await;
        outcome
    }

    /// Lets `partitions` go (someone else wrote on their behalf: this
    /// tenure is stale) and follows the leases.
    async fn give_up(&mut self, partitions: Vec<u32>) {
        if partitions.is_empty() {
            return;
        }
        for partition in partitions {
            self.leases.release(partition).await;
        }
        let followed = self.follow_leases().await;
        self.publish_status(followed.err().map(|e| Some(e.to_string())));
    }

    /// Starts restoring every held partition whose state this engine does
    /// not hold for its current lease, unless a restore for that lease is
    /// under way: reads the partition's journal and latest checkpoint and
    /// imports them, off the worker, which serves the partition once it
    /// reports back.
    fn start_restores(&mut self) {
        self.restoring.retain(|partition, (token, task)| {
            let current = self.leases.token(*partition) == Some(*token);
            if !current {
                task.abort();
            }
            current && !task.is_finished()
        });
        let due: Vec<(u32, u64)> = self
            .leases
            .owned()
            .filter_map(|p| Some((p, self.leases.token(p)?)))
            .filter(|(p, token)| {
                self.tenures.get(p).is_none_or(|t| t.token != *token) && !self.restoring.contains_key(p)
            })
            .collect();
        for (partition, token) in due {
            let (journals, engine, report) = (self.journals.clone(), self.engine.clone(), self.restored.clone());
            let (timeout, placement) = (self.restore_timeout, self.placement.clone());
            let task = tokio::spawn(async move {
                let restore = restore(journals, engine, placement, partition);
                let outcome = tokio::time::timeout(timeout, restore)
                    .await
                    .unwrap_or_else(|e| Err(Error::retryable(format!("restore partition {partition}"), e)));
                // The worker may be gone; then nobody needs the answer.
                let _ = report.send(Restored { partition, token, outcome });
            });
            self.restoring.insert(partition, (token, task));
        }
    }

    /// Takes a finished restore in: the partition's tenure begins if its
    /// lease is still the one restored for; a failure is reported and the
    /// next round tries again.
    fn restored(&mut self, done: Restored) {
        if self.restoring.get(&done.partition).is_some_and(|(token, _)| *token == done.token) {
            self.restoring.remove(&done.partition);
        }
        match done.outcome {
            Ok((marks, position, skipped)) if self.leases.token(done.partition) == Some(done.token) => {
                self.tenures
                    .insert(done.partition, Tenure { token: done.token, marks, position, unsealed: Vec::new() });
                if let Some(why) = skipped {
                    self.status.send_modify(|status| status.last_error = Some(why));
                }
            }
            Ok(_) => {} // the lease moved on meanwhile
            Err(e) => self.status.send_modify(|status| status.last_error = Some(e.to_string())),
        }
    }

    /// The clusters of `partition` this instance serves.
    fn clusters_of(&self, partition: u32) -> Vec<String> {
        self.services.iter().filter(|(_, s)| s.partition == partition).map(|(c, _)| c.clone()).collect()
    }

    /// Appends every served partition's new transitions to its journal
    /// and, with `checkpoint`, writes its node checkpoint after them. A
    /// partition whose write is refused (another tenure wrote its subject)
    /// is given up; another failure is reported and retried next time.
    async fn write_state(&mut self, checkpoint: bool) {
        let mut stale = Vec::new();
        let mut outcome = Ok(());
        for partition in self.tenures.keys().copied().collect::<Vec<_>>() {
            let clusters = self.clusters_of(partition);
            let mut written = self.write_segments(partition, &clusters).await;
            if let Ok(true) = written {
                if let Err(e) = self.seal_segments(partition).await {
                    outcome = outcome.and(Err(e));
                }
                if checkpoint && !clusters.is_empty() {
                    let covered = self.tenures.get(&partition).map_or(0, |t| t.marks.segments);
                    written = self.write_checkpoint(partition, clusters.clone()).await;
                    if let Ok(true) = written
                        && let Err(e) = self.trim_segments(partition, covered, clusters).await
                    {
                        outcome = outcome.and(Err(e));
                    }
                }
            }
            match written {
                Ok(true) => {}
                Ok(false) => stale.push(partition),
                Err(e) => outcome = outcome.and(Err(e)),
            }
        }
        if let Err(e) = outcome {
            self.status.send_modify(|status| status.last_error = Some(e.to_string()));
        }
        for partition in &stale {
            self.tenures.remove(partition);
        }
        self.give_up(stale).await;
    }

    /// Ends the tenures of `partitions`, writing their state one last time
    /// for the next owner, all within `limit` (a round on a dead connection
    /// must not wait for each in turn).
    async fn let_go_states(&mut self, partitions: Vec<u32>, limit: Duration) {
        let flush = async {
            for &partition in &partitions {
                self.let_go_state(partition).await;
            }
        };
        let _ = tokio::time::timeout(limit, flush).await;
        for partition in partitions {
            self.tenures.remove(&partition);
        }
    }

    /// Writes a partition's state one last time as its tenure ends (best
    /// effort: a refusal means the next owner has written already) and
    /// forgets the tenure. Only while its lease still holds (a handover, a
    /// shutdown): a tenure whose lease was lost or is past its deadline
    /// writes nothing ([`crate::journal`]).
    async fn let_go_state(&mut self, partition: u32) {
        let clusters = self.clusters_of(partition);
        let clusters = if clusters.is_empty() { self.partition_clusters(partition).await } else { clusters };
        if let Ok(true) = self.write_segments(partition, &clusters).await {
            // Best effort too: refused once the partition's fence has closed.
            let _ = self.seal_segments(partition).await;
            if !clusters.is_empty() {
                let _ = self.write_checkpoint(partition, clusters).await;
            }
        }
        self.tenures.remove(&partition);
    }

    /// The clusters the engine knows in `partition`.
    async fn partition_clusters(&mut self, partition: u32) -> Vec<String> {
        let (engine, placement) = (self.engine.clone(), self.placement.clone());
        let list = move || owned_clusters(&engine, &placement, &[partition]).into_keys().collect();
        self.off_worker("list a partition's clusters", list).await.unwrap_or_default()
    }

    /// Appends the partition's transitions recorded since its tenure's
    /// position, in segments; `Ok(false)` when the stream refused a
    /// segment because another tenure wrote the subject.
    async fn write_segments(&mut self, partition: u32, clusters: &[String]) -> Result<bool> {
        loop {
            let Some(tenure) = self.tenures.get(&partition) else { return Ok(true) };
            let (token, from, last) = (tenure.token, tenure.position, tenure.marks.segments);
            let (engine, ids) = (self.engine.clone(), clusters.to_vec());
            let (export, audit) = self
                .off_worker("export the journal", move || {
                    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                    Ok::<_, fleetgov::Error>((engine.export_journal(&ids, from, PART_BYTES)?, engine.audit_len()))
                })
                .await??;
            let body = Bytes::from(export.bytes);
            let written = if export.transitions == 0 {
                Written::At(last)
            } else {
                let lease = self.tenure_lease(partition, token)?;
                let append = self.journals.append_segment(&lease, body.clone(), audit, last);
                self.within("append a journal segment", append).await?
            };
            let at = match written {
                Written::At(at) => at,
                Written::Refused => {
                    let last = self.within("read a journal", self.journals.last_write(partition, false)).await?;
                    match last {
                        // A later tenure wrote: this one is stale.
                        Some(last) if last.token > token => return Ok(false),
                        // An earlier tenure's last segment, written after
                        // this one restored: taken in. Or a write of this
                        // tenure whose acknowledgement was lost. Either way
                        // the segment is written again after it (importing
                        // a transition twice adds nothing).
                        Some(last) => {
                            if last.token < token {
                                self.import_segment(last.body).await?;
                            }
                            self.set_marks(partition, |marks| marks.segments = last.seq);
                            continue;
                        }
                        None => return Ok(false),
                    }
                }
            };
            let Some(tenure) = self.tenures.get_mut(&partition) else { return Ok(true) };
            (tenure.marks.segments, tenure.position) = (at, export.next);
            if export.transitions == 0 {
                return Ok(true);
            }
            tenure.unsealed.push((at, body));
        }
    }

    /// Seals the segments of `partition` this tenure wrote and has not
    /// sealed yet into the audit log, oldest first, each on behalf of the
    /// partition ([`crate::seal`]); what fails is tried again next time.
    async fn seal_segments(&mut self, partition: u32) -> Result<()> {
        let Some(tenure) = self.tenures.get(&partition) else { return Ok(()) };
        let unsealed = tenure.unsealed.clone();
        let engine = self.engine.clone();
        let sealed = self
            .off_worker("seal journal segments", move || {
                let journal = seal::journal_name(partition);
                let mut sealed = 0;
                for (seq, body) in &unsealed {
                    engine.record_journal_segment(&journal, *seq, body)?;
                    sealed += 1;
                }
                Ok::<_, fleetgov::Error>(sealed)
            })
            .await?;
        let done = sealed.as_ref().map_or(0, |n| *n);
        if let Some(tenure) = self.tenures.get_mut(&partition) {
            tenure.unsealed.drain(..done.min(tenure.unsealed.len()));
        }
        sealed.map(drop).map_err(Error::from)
    }

    /// Trims the partition's journal subject behind what a restore no
    /// longer needs: the sealed segments up to `covered` (the subject's end
    /// when the checkpoint just written began) that lie wholly before the
    /// engine's retention horizon and hold no node's base
    /// ([`seal::trimmable`]).
    async fn trim_segments(&mut self, partition: u32, covered: u64, clusters: Vec<String>) -> Result<()> {
        let engine = self.engine.clone();
        let trimmable = self
            .off_worker("find the segments to trim", move || {
                let horizon = engine.retention().horizon_ms;
                let mut bases = Vec::new();
                for cluster in &clusters {
                    bases.extend(engine.fleet_at(cluster, horizon)?.into_iter().map(|ran| ran.since_ms));
                }
                bases.sort_unstable();
                let seals = seal::seals_of(&engine.audit(), partition);
                Ok::<_, fleetgov::Error>(seal::trimmable(&seals, covered, horizon, &bases))
            })
            .await??;
        let token = self.tenures.get(&partition).map_or(0, |t| t.token);
        let lease = self.tenure_lease(partition, token)?;
        self.within("trim a journal", self.journals.trim(&lease, &trimmable)).await.map(drop)
    }

    /// Writes the partition's node checkpoint; `Ok(false)` when the stream
    /// refused it because another tenure wrote the subject.
    async fn write_checkpoint(&mut self, partition: u32, clusters: Vec<String>) -> Result<bool> {
        let Some(tenure) = self.tenures.get(&partition) else { return Ok(true) };
        let (token, marks) = (tenure.token, tenure.marks);
        let engine = self.engine.clone();
        let (body, audit) = self
            .off_worker("export the nodes", move || {
                let ids: Vec<&str> = clusters.iter().map(String::as_str).collect();
                Ok::<_, fleetgov::Error>((engine.export_nodes(&ids)?, engine.audit_len()))
            })
            .await??;
        let lease = self.tenure_lease(partition, token)?;
        let put = self.journals.put_checkpoint(&lease, &body, audit, marks);
        match self.within("write a node checkpoint", put).await? {
            Written::At(at) => self.set_marks(partition, |marks| (marks.checkpoints, marks.whole) = (at, at)),
            Written::Refused => {
                match self.within("read a checkpoint", self.journals.last_write(partition, true)).await? {
                    Some(last) if last.token > token => return Ok(false),
                    // Its own write whose acknowledgement was lost, or an
                    // earlier tenure's late one: the next checkpoint follows it.
                    Some(last) => self.set_marks(partition, |marks| marks.checkpoints = last.seq),
                    None => return Ok(false),
                }
            }
        }
        Ok(true)
    }

    /// The lease of `partition`'s tenure `token`, while it is held: what
    /// the journal's writes are made under, until its deadline. A tenure
    /// whose lease is gone (lost, let go) writes nothing: `Conflict`.
    fn tenure_lease(&self, partition: u32, token: u64) -> Result<Lease> {
        self.leases.lease(partition).filter(|l| l.token == token).ok_or_else(|| {
            let message = format!("partition {partition}: tenure {token} no longer holds its lease; nothing written");
            fleetgov::Error::new(fleetgov::ErrorKind::Conflict, message).into()
        })
    }

    /// Imports a journal segment another tenure wrote.
    async fn import_segment(&self, body: Bytes) -> Result<()> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || engine.import_execution(None, &[&body[..]]))
            .await
            .map_err(|e| Error::transport("import a journal segment", e))??;
        Ok(())
    }

    fn set_marks(&mut self, partition: u32, set: impl FnOnce(&mut Marks)) {
        if let Some(tenure) = self.tenures.get_mut(&partition) {
            set(&mut tenure.marks);
        }
    }

    /// `operation`, failing when it takes longer than a round may wait.
    async fn within<T>(&self, what: &str, operation: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::time::timeout(self.op_timeout, operation).await.unwrap_or_else(|e| Err(Error::retryable(what, e)))
    }

    /// The current summaries of `clusters` (each a view and a scan of its
    /// nodes' freshness), each with how many of its nodes reported at or
    /// after the given time (its handover's start), read on a blocking
    /// thread: engine calls may block.
    async fn read_summaries(&mut self, clusters: Vec<(String, Option<u64>)>) -> Result<Vec<(ClusterSummary, u64)>> {
        if clusters.is_empty() {
            return Ok(Vec::new());
        }
        let (engine, owner) = (self.engine.clone(), self.id.clone());
        self.off_worker("read cluster summaries", move || {
            let now = engine.clock().now_ms();
            clusters
                .iter()
                .filter_map(|(id, since)| {
                    ClusterSummary::scan(&engine, id, &owner, now, since.unwrap_or(u64::MAX)).ok()
                })
                .collect()
        })
        .await
    }

    /// Runs `work` on a blocking thread (engine calls may block) and waits
    /// for it, renewing the leases whenever a renewal falls due meanwhile:
    /// engine work (a scan of a large cluster's nodes, the export of a
    /// journal after a million first reports) can outlast a lease's
    /// deadline, and the instance must not lose its partitions, and restore
    /// them, because its worker was waiting.
    async fn off_worker<T: Send + 'static>(
        &mut self,
        what: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let done = tokio::task::spawn_blocking(work);
        renewing(&mut self.leases, self.tick, done).await.map_err(|e| Error::transport(what, e))
    }
}

/// Waits for `work`, renewing `leases` every `tick` meanwhile (a due
/// renewal goes first: a worker that keeps finding work ready still renews
/// on time). A failed renewal is retried a tick later; its error is left to
/// the next round, which renews again and reports it.
async fn renewing<T>(leases: &mut Leases, tick: Duration, work: impl Future<Output = T>) -> T {
    tokio::pin!(work);
    loop {
        let due = leases.renewal_due(tick).map(Instant::from_std);
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                let _ = leases.renew_held().await;
            }
            done = &mut work => return done,
        }
    }
}

/// Reads a partition's journal and latest checkpoint from JetStream and
/// makes them the engine's state of the partition's clusters: where the
/// subjects ended, the engine's journal position after the import, and why
/// a checkpoint was skipped. The stored state is the truth: what the
/// engine held of the partition before (an instance that regains a
/// partition it lost held it) is replaced, not merged
/// ([`Engine::replace_execution`]): a node another owner removed meanwhile
/// is removed here too, unaudited, and a node the stored state does not
/// cover shows no report rather than a stale one. The removals it knows
/// are those of the engine's audit log. The replica's follower keeps it
/// caught up with `FLEET_AUDIT`, but may not yet have taken in a removal
/// the stored bodies already reflect: when the log holds fewer records
/// than the bodies were written after ([`Stored::audit`]), the restore
/// catches it up first ([`Engine::catch_up`]), and waits on the audit
/// stream only then.
async fn restore(
    journals: Journals,
    engine: Arc<Engine>,
    placement: Placement,
    partition: u32,
) -> Result<(Marks, u64, Option<String>)> {
    let Stored { segments, checkpoint, marks, skipped, audit } = journals.read(partition).await?;
    let position = tokio::task::spawn_blocking(move || {
        if engine.audit_len() < audit {
            engine.catch_up()?;
        }
        let clusters = owned_clusters(&engine, &placement, &[partition]);
        let clusters: Vec<&str> = clusters.keys().map(String::as_str).collect();
        let segments: Vec<&[u8]> = segments.iter().map(|s| &s[..]).collect();
        engine.replace_execution(&clusters, checkpoint.as_deref(), &segments)?;
        Ok::<_, fleetgov::Error>(engine.journal_position())
    })
    .await
    .map_err(|e| Error::transport("import a partition's state", e))??;
    Ok((marks, position, skipped))
}

/// The engine's clusters whose partition is in `owned`, with their
/// partitions, placing those not placed yet first ([`crate::placement`]).
fn owned_clusters(engine: &Engine, placement: &Placement, owned: &[u32]) -> BTreeMap<String, u32> {
    placement.update(engine);
    engine
        .cluster_ids()
        .into_iter()
        .filter_map(|id| {
            let partition = placement.partition_of(&id)?;
            owned.contains(&partition).then_some((id, partition))
        })
        .collect()
}
