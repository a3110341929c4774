//! The simulated fleet that keeps the demo moving.
//!
//! Every demo cluster is filled up to its share of the configured node
//! count (the seeds' three clusters: 10,000 nodes each by default), and every
//! node heartbeats once per interval from one background thread. Nodes drift
//! and recover — reload failures, NATS and fetch timeouts, JVM memory
//! pressure, corrupted artifacts (hash mismatches) — and pick up newly
//! published snapshots over a few heartbeats, like a rollout.
//!
//! **Cohesion stays in the seeds' bands.** Each cluster keeps a fixed number
//! of failing nodes, taken from the share of its seed nodes that were
//! verified before the simulation started (rounded so that the floored
//! cohesion is the seeds'): 3 of 4 stays 75 % and 1 of 3 stays 33 %
//! (33.33 % with 10,000 nodes), failures and recoveries swapped one for one.
//! A cluster whose seeds are all verified keeps *no* failing node: it reads
//! 100 % HEALTHY, and root causes appear under it only when something really
//! fails (a node reporting a sync error through the API, say). So the demo
//! page shows the seeds' 100 / 75 / 33 and HEALTHY / SYNCING / DIVERGENT
//! while it moves. The seeds' own nodes are never picked for churn; they
//! keep reporting what the seeds say until an operator force-syncs them. A
//! node told to reconcile applies the desired snapshot if it is healthy,
//! while a failing node keeps failing until it recovers.
//!
//! **An operator's force holds until the cluster's next publish.** The
//! simulation learns of an override as a real node does, from the force-sync
//! directive its next heartbeat gets. A forced node applies the desired
//! snapshot at once and is *held*: the drift generator never picks it again,
//! and a failure the force repaired is not replaced (the cluster's failing
//! count shrinks by one). A cluster force reaches every node within one
//! heartbeat interval, so the cluster climbs to 100 % and stays there. A
//! new desired snapshot (a publish) releases the held nodes and restores the
//! cluster's band: the demo moves again from the next rollout on.
//!
//! **A restart picks up where the fleet stopped.** Over a data directory
//! the engine comes back with every node enrolled and its last report, so
//! the simulation enrols only the nodes still missing (all of them at
//! once, [`Engine::enroll_many`]) and every node goes on reporting what it
//! last reported; the bands come from the demo dataset, not from the
//! restored figures. Which nodes operators had forced is not kept: the
//! hold ends with the restart, and the cluster returns to its band.
//!
//! **Rollouts now and then.** A cluster whose band keeps no failing node
//! (the seeds' all-verified cluster) gets a new snapshot through a
//! controlled rollout ([`Engine::publish_with_rollout`], [`RELEASE_PLAN`])
//! once it has been quiet for [`RELEASE_QUIET_MS`]: no publish and no
//! active rollout since the simulation started or since its last
//! rollout ended. Two of every three complete; the third carries
//! [`RELOAD_FAILURE_MARKER`], its canaries fail to reload it, and the
//! rollout halts and rolls back. Quiet first, so the demo opens on the
//! seeds' figures. Only that cluster: in the others the band's failing
//! nodes report sync errors, which a rollout counts as failures.
//!
//! **A simulated node cannot load an artifact carrying
//! [`RELOAD_FAILURE_MARKER`]**, whoever published it: told to apply it (a
//! rollout's wave, a reconcile or force directive, or a plain publish it
//! picks up) it keeps running what it ran and reports `RELOAD_FAILURE`
//! until the cluster's desired snapshot changes again (a rollback, an
//! abort, the next publish). During a cluster's active rollout nodes move
//! only when a directive tells them to, as the rollout's waves decide.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use fleetgov::rollout::RolloutPlan;
use fleetgov::{
    By, ContentHash, DirectiveKind, Engine, ErrorKind, Heartbeat, Metrics as NodeMetrics, NodeHandle, NodeView,
    ProcessStatus, Role, RuntimeVersion, SyncError, SyncErrorCode,
};

use crate::config::SimulationConfig;
use crate::demo::SeedCluster;
use crate::metrics::Metrics;

/// Failures a node may pick up: `(sync error or None for a corrupted
/// artifact, process status, weight)`.
const FAILURES: [(Option<&str>, ProcessStatus, u32); 6] = [
    (Some("RELOAD_FAILURE: Incompatible Filter Signature"), ProcessStatus::Starting, 30),
    (Some("NATS_TIMEOUT: Failed to receive snapshot"), ProcessStatus::Ready, 25),
    (Some("JVM_MEMORY_PRESSURE: OOM during policy load"), ProcessStatus::Error, 15),
    (Some("FETCH_TIMEOUT: Snapshot download timed out after 30s"), ProcessStatus::Ready, 15),
    (None, ProcessStatus::Ready, 10),
    (Some("JVM_RELOAD_FAILED: Incompatible Filter Signature"), ProcessStatus::Starting, 5),
];

/// The sync error of [`FAILURES`] with `code`, if there is one.
fn known_failure(code: SyncErrorCode) -> Option<SyncError> {
    FAILURES.iter().filter_map(|f| f.0?.parse::<SyncError>().ok()).find(|e| e.code == code)
}

/// Fraction of failing nodes that recover (and as many that fail) per second.
const CHURN_PER_SECOND: f64 = 0.004;
/// Chance that a healthy node picks up a newer desired snapshot on a heartbeat.
const ROLLOUT_CHANCE: f64 = 0.35;

/// A simulated node told to apply an artifact whose bytes contain this text
/// fails to reload it: it keeps what it ran and reports `RELOAD_FAILURE`
/// until its cluster's desired snapshot changes again. Publish an artifact
/// carrying it (with a rollout plan) to watch a canary fail and roll back.
pub const RELOAD_FAILURE_MARKER: &str = "simulate: reload_failure";

/// How long the rollout cluster stays quiet (no publish, no active
/// rollout) before the simulation rolls out its next snapshot: 10 minutes.
pub const RELEASE_QUIET_MS: u64 = 10 * 60 * 1_000;

/// Every this many simulated rollouts, one carries [`RELOAD_FAILURE_MARKER`].
pub const RELEASE_FAILING_EVERY: u32 = 3;

/// The simulated rollouts' plan: `(waves, bake_ms, max_failure_pct,
/// auto_rollback)` — a 5 % canary, 30 s bakes, a 2 % failure budget, and
/// rollback on a halt.
pub const RELEASE_PLAN: ([u8; 4], u64, f64, bool) = ([5, 25, 50, 100], 30_000, 2.0, true);

/// Who publishes the simulated rollouts (an operator).
pub const RELEASE_ACTOR: &str = "release-bot";

#[derive(Clone, Debug)]
enum Failure {
    Sync(SyncError),
    /// The node applied bytes that do not hash to the authority's hash.
    CorruptArtifact,
}

#[derive(Clone, Debug)]
struct SimNode {
    handle: NodeHandle,
    /// A seed node: never picked for churn.
    pinned: bool,
    /// Forced by an operator since the last publish: never picked for churn
    /// until the cluster's next publish.
    held: bool,
    revision: u32,
    failure: Option<Failure>,
    /// A revision the node was told to apply and could not load (its
    /// artifact carries [`RELOAD_FAILURE_MARKER`]), until the cluster's
    /// desired snapshot changes.
    refused: Option<u32>,
    status: ProcessStatus,
    version: RuntimeVersion,
    load: f32,
    heap: f32,
    hot_swap_errors: u32,
}

/// One cluster's simulated nodes and the failing/healthy index sets of the
/// nodes the drift generator may pick (each a vector with positions, for
/// O(1) random pick and removal).
struct SimCluster {
    id: String,
    /// The seed nodes first (`nodes[..seeds]`), then the simulated ones.
    nodes: Vec<SimNode>,
    seeds: usize,
    failing: Vec<u32>,
    healthy: Vec<u32>,
    position: Vec<u32>,
    /// The desired revision as of the last step (a change is a publish).
    desired: u32,
    /// The failing-node count of the cluster's band.
    band_failing: usize,
    /// The failing-node count kept now: the band's, less the failures
    /// operators repaired since the last publish.
    target_failing: usize,
    churn_debt: f64,
    /// Whether each revision seen so far can be loaded (its artifact does
    /// not carry [`RELOAD_FAILURE_MARKER`]).
    loadable: HashMap<u32, bool>,
}

impl SimCluster {
    fn set_of(&mut self, failing: bool) -> &mut Vec<u32> {
        if failing { &mut self.failing } else { &mut self.healthy }
    }

    fn insert(&mut self, index: u32, failing: bool) {
        let set = self.set_of(failing);
        set.push(index);
        let at = set.len() as u32 - 1;
        self.position[index as usize] = at;
    }

    fn remove(&mut self, index: u32, failing: bool) {
        let at = self.position[index as usize] as usize;
        let set = self.set_of(failing);
        set.swap_remove(at);
        if let Some(&moved) = set.get(at) {
            self.position[moved as usize] = at as u32;
        }
    }

    /// Moves a node between the sets when its failure state changes.
    fn mark(&mut self, index: u32, was_failing: bool) {
        let node = &self.nodes[index as usize];
        let failing = node.failure.is_some();
        if node.churnable() && was_failing != failing {
            self.remove(index, was_failing);
            self.insert(index, failing);
        }
    }

    /// Node `index` was forced by an operator: it applies `revision`, leaves
    /// the drift generator's sets until the next publish, and a failure it
    /// had is not replaced.
    fn force(&mut self, index: u32, revision: u32) {
        let node = &self.nodes[index as usize];
        let was_failing = node.failure.is_some();
        if node.churnable() {
            self.remove(index, was_failing);
        }
        self.nodes[index as usize].held = true;
        if was_failing {
            self.target_failing = self.target_failing.saturating_sub(1);
        }
        self.recover(index, revision);
    }

    /// A new desired revision: held nodes return to the drift generator
    /// and the band is restored.
    fn published(&mut self, desired: u32) {
        self.desired = desired;
        self.target_failing = self.band_failing;
        for index in 0..self.nodes.len() as u32 {
            let node = &mut self.nodes[index as usize];
            node.refused = None;
            if node.held {
                node.held = false;
                if !node.pinned {
                    let failing = node.failure.is_some();
                    self.insert(index, failing);
                }
            }
        }
    }

    /// Node `index` picks up a random failure.
    fn fail(&mut self, rng: &mut fastrand::Rng, index: u32, desired: u32) {
        let total: u32 = FAILURES.iter().map(|f| f.2).sum();
        let mut roll = rng.u32(0..total);
        let mut pick = FAILURES[0];
        for f in FAILURES {
            if roll < f.2 {
                pick = f;
                break;
            }
            roll -= f.2;
        }
        let (error, status, _) = pick;
        let node = &mut self.nodes[index as usize];
        let was_failing = node.failure.is_some();
        node.failure = Some(match error.map(str::parse::<SyncError>) {
            Some(Ok(e)) => Failure::Sync(e),
            _ => Failure::CorruptArtifact,
        });
        node.status = status;
        node.hot_swap_errors += 1;
        // A corrupted artifact claims the desired snapshot; the rest stay behind it.
        node.revision = if error.is_none() { desired } else { node.revision.min(desired.saturating_sub(1)) };
        if matches!(&node.failure, Some(Failure::Sync(e)) if e.code == SyncErrorCode::JvmMemoryPressure) {
            node.heap = 92.0 + 7.0 * rng.f32();
        }
        self.mark(index, was_failing);
    }

    /// Node `index` applies `revision` and is healthy again.
    fn recover(&mut self, index: u32, revision: u32) {
        let node = &mut self.nodes[index as usize];
        let was_failing = node.failure.is_some();
        node.failure = None;
        node.refused = None;
        node.status = ProcessStatus::Ready;
        node.revision = revision;
        node.heap = node.heap.min(75.0);
        self.mark(index, was_failing);
    }

    /// Whether the nodes can load `revision`: its artifact does not carry
    /// [`RELOAD_FAILURE_MARKER`] (read once per revision).
    fn loads(&mut self, engine: &Engine, revision: u32) -> bool {
        *self.loadable.entry(revision).or_insert_with(|| {
            let artifact =
                engine.snapshot(&fleetgov::snapshot_id(&self.id, revision)).and_then(|s| engine.artifact(&s.hash));
            let marker = RELOAD_FAILURE_MARKER.as_bytes();
            artifact.map_or(true, |bytes| !bytes.windows(marker.len()).any(|w| w == marker))
        })
    }

    /// Node `index` was told to apply `revision` and could not load it: it
    /// keeps what it runs and reports the reload failure. Whether this is
    /// news (it had not refused `revision` yet).
    fn refuse(&mut self, index: u32, revision: u32) -> bool {
        let node = &mut self.nodes[index as usize];
        let news = node.refused != Some(revision);
        if news {
            node.refused = Some(revision);
            node.hot_swap_errors += 1;
        }
        news
    }

    /// Failing nodes: those the generator may pick, and failing seeds.
    fn failing_total(&self) -> usize {
        self.failing.len() + self.nodes[..self.seeds].iter().filter(|n| n.failure.is_some()).count()
    }
}

impl SimNode {
    /// A node that has reported before: it goes on reporting what it last
    /// did (a hash mismatch as a corrupted artifact).
    fn reported(handle: NodeHandle, pinned: bool, view: &NodeView) -> SimNode {
        let revision = view.applied_snapshot_id.as_deref().and_then(fleetgov::parse_snapshot_id).map_or(0, |(_, r)| r);
        let failure = view.last_sync_error.clone().map(|e| match e.code {
            SyncErrorCode::HashMismatch => Failure::CorruptArtifact,
            // A restored report keeps the error's code, not its text: the
            // node goes on with its own text for that code.
            code => Failure::Sync(known_failure(code).unwrap_or(e)),
        });
        SimNode {
            handle,
            pinned,
            held: false,
            revision,
            failure,
            refused: None,
            status: view.process_status.unwrap_or(ProcessStatus::Ready),
            version: view.runtime_version.unwrap_or(RuntimeVersion::DEFAULT_MINIMUM),
            load: (view.metrics.cpu / 100.0).clamp(0.0, 1.0),
            heap: view.metrics.heap,
            hot_swap_errors: view.metrics.hot_swap_errors,
        }
    }

    /// A node that has never reported: healthy, running `desired`, on one
    /// of `versions` (mostly the newest).
    fn fresh(
        handle: NodeHandle,
        pinned: bool,
        desired: u32,
        versions: &[RuntimeVersion; 3],
        rng: &mut fastrand::Rng,
    ) -> SimNode {
        let version = match rng.u32(0..100) {
            0 => versions[0],
            1..=20 => versions[1],
            _ => versions[2],
        };
        SimNode {
            handle,
            pinned,
            held: false,
            revision: desired,
            failure: None,
            refused: None,
            status: ProcessStatus::Ready,
            version,
            load: rng.f32(),
            heap: 40.0 + 30.0 * rng.f32(),
            hot_swap_errors: 0,
        }
    }

    /// Whether the drift generator may pick it: neither a seed nor held.
    fn churnable(&self) -> bool {
        !self.pinned && !self.held
    }
}

/// The simulated fleet's state; [`Fleet::step`] advances it by one tick.
pub struct Fleet {
    engine: Arc<Engine>,
    clusters: Vec<SimCluster>,
    rng: fastrand::Rng,
    ticks_per_interval: u64,
    tick_ms: u64,
    tick: u64,
    corrupt: ContentHash,
    release: Option<Release>,
}

/// The simulated rollouts of one cluster.
struct Release {
    /// Its index in [`Fleet::clusters`].
    cluster: usize,
    /// Since when it has had no publish and no active rollout.
    quiet_since: u64,
    /// The cluster's desired revision when last looked at (a change is a publish).
    desired: u32,
    /// Rollouts started so far.
    started: u32,
}

/// What one tick did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Heartbeats the engine applied.
    pub accepted: u64,
    /// The error code of each heartbeat it refused (a stale one, say, after
    /// an API client reported a later heartbeat for the same node).
    pub rejected: Vec<&'static str>,
}

impl StepReport {
    fn count(&mut self, outcome: Result<(), ErrorKind>) {
        match outcome {
            Ok(()) => self.accepted += 1,
            Err(kind) => self.rejected.push(kind.code()),
        }
    }
}

fn node_metrics(node: &SimNode, rng: &mut fastrand::Rng) -> NodeMetrics {
    let noise = |rng: &mut fastrand::Rng, span: f32| (rng.f32() - 0.5) * span;
    let clamp = |v: f32| v.clamp(0.0, 100.0);
    let tps = if node.status == ProcessStatus::Error { 0.0 } else { 200.0 + 1_800.0 * node.load + noise(rng, 100.0) };
    NodeMetrics {
        cpu: clamp(15.0 + 50.0 * node.load + noise(rng, 10.0)),
        memory: clamp(35.0 + 30.0 * node.load + noise(rng, 6.0)),
        tps: tps.max(0.0),
        heap: clamp(node.heap),
        hot_swap_errors: node.hot_swap_errors,
    }
}

impl Fleet {
    /// Fills every demo cluster of `engine` (see [`crate::demo`]) up to its
    /// share of `nodes` and sends each node's first heartbeat at `now_ms`.
    ///
    /// A node enrolled already keeps what it last reported: after a restart
    /// over a data directory the simulation picks up where it stopped
    /// (save which nodes operators had forced: their hold ends with the
    /// restart). The nodes still missing are enrolled together, with one
    /// write to the data directory; none is enrolled twice.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let now = 1_700_000_000_000;
    /// let engine = Arc::new(fleetgov::demo::engine(now).unwrap());
    /// let mut fleet = fleetgov_server::simulation::Fleet::new(engine.clone(), 3_000, 5_000, 250, now).unwrap();
    /// fleet.step(now + 250);
    /// let views: Vec<_> = ["eks-prod-us", "gke-stage-eu", "azure-dev-west"]
    ///     .iter().map(|c| engine.cluster(c, now + 250).unwrap()).map(|v| (v.cohesion, v.status.as_str())).collect();
    /// assert_eq!(views, [(100, "HEALTHY"), (75, "SYNCING"), (33, "DIVERGENT")]);
    /// ```
    pub fn new(
        engine: Arc<Engine>,
        nodes: usize,
        interval_ms: u64,
        tick_ms: u64,
        now_ms: u64,
    ) -> fleetgov::Result<Fleet> {
        let seeded: Vec<SeedCluster> =
            crate::demo::seed_clusters()?.into_iter().filter(|c| engine.cluster(c.id, now_ms).is_ok()).collect();
        let mut fleet = Fleet {
            clusters: Vec::with_capacity(seeded.len()),
            rng: fastrand::Rng::with_seed(0x5eed_f1ee7),
            ticks_per_interval: (interval_ms / tick_ms).max(1),
            tick_ms,
            tick: 0,
            corrupt: ContentHash::of(b"bytes damaged in transit"),
            release: None,
            engine,
        };
        let count = seeded.len().max(1);
        for (i, seed) in seeded.iter().enumerate() {
            let share = nodes / count + usize::from(i < nodes % count);
            let cluster = fleet.fill(seed, share, now_ms)?;
            fleet.clusters.push(cluster);
        }
        fleet.release = fleet
            .clusters
            .iter()
            .position(|c| c.band_failing == 0 && c.desired > 0 && !c.nodes.is_empty())
            .map(|c| Release { cluster: c, quiet_since: now_ms, desired: fleet.clusters[c].desired, started: 0 });
        for c in 0..fleet.clusters.len() {
            for i in 0..fleet.clusters[c].nodes.len() {
                // A refused first heartbeat leaves the node awaiting sync; nothing to undo.
                let _ = fleet.beat(c, i as u32, now_ms);
            }
        }
        Ok(fleet)
    }

    /// Enrols the nodes of `seed`'s cluster up to `share` (the seed nodes
    /// first, then `<prefix><n>` counting on from them) and decides who
    /// fails: the cluster keeps failing as many nodes as its seeds' cohesion
    /// implies.
    fn fill(&mut self, seed: &SeedCluster, share: usize, now_ms: u64) -> fleetgov::Result<SimCluster> {
        let engine = self.engine.clone();
        let cluster = seed.id;
        let desired = engine.desired(cluster)?.map_or(0, |s| s.revision);
        let prefix = match seed.nodes.first() {
            Some(n) => n.trim_end_matches(|c: char| c.is_ascii_digit()).to_owned(),
            None => format!("{cluster}-node-"),
        };
        let simulated: Vec<String> = (seed.nodes.len() + 1..=share).map(|n| format!("{prefix}{n}")).collect();
        let mut handles: Vec<NodeHandle> =
            seed.nodes.iter().map(|id| engine.node_handle(id)).collect::<fleetgov::Result<_>>()?;
        handles.extend(engine.enroll_many(simulated.iter().map(|id| (id.as_str(), cluster)), now_ms)?);
        let reported: HashMap<String, NodeView> = engine
            .cluster_nodes(cluster, now_ms, 0, usize::MAX)?
            .into_iter()
            .filter(|n| n.last_heartbeat_ms.is_some())
            .map(|n| (n.id.clone(), n))
            .collect();
        let versions: [RuntimeVersion; 3] = ["3.3.2".parse()?, "3.5.4".parse()?, "3.6.1".parse()?];
        let ids = seed.nodes.iter().chain(&simulated);
        let mut nodes: Vec<SimNode> = Vec::with_capacity(handles.len());
        for (n, (id, handle)) in ids.zip(handles).enumerate() {
            let pinned = n < seed.nodes.len();
            nodes.push(match reported.get(id) {
                Some(view) => SimNode::reported(handle, pinned, view),
                None => SimNode::fresh(handle, pinned, desired, &versions, &mut self.rng),
            });
        }
        let total = nodes.len();
        let target_failing = total - band_verified(seed.cohesion_bp, total);
        let mut sim = SimCluster {
            id: cluster.to_owned(),
            position: vec![0; total],
            failing: Vec::new(),
            healthy: Vec::new(),
            desired,
            band_failing: target_failing,
            target_failing,
            churn_debt: 0.0,
            loadable: HashMap::new(),
            seeds: seed.nodes.len(),
            nodes,
        };
        for i in 0..total {
            let n = &sim.nodes[i];
            if n.churnable() {
                let failing = n.failure.is_some();
                sim.insert(i as u32, failing);
            }
        }
        let mut to_fail = target_failing.saturating_sub(sim.failing_total());
        while to_fail > 0 && !sim.healthy.is_empty() {
            let pick = sim.healthy[self.rng.usize(0..sim.healthy.len())];
            sim.fail(&mut self.rng, pick, desired);
            to_fail -= 1;
        }
        Ok(sim)
    }

    /// Sends node `index` of cluster `c`'s heartbeat and acts on the directive.
    fn beat(&mut self, c: usize, index: u32, now_ms: u64) -> Result<(), ErrorKind> {
        let engine = self.engine.clone();
        let cluster = &self.clusters[c];
        let node = &cluster.nodes[index as usize];
        let snapshot = (node.revision > 0).then(|| fleetgov::snapshot_id(&cluster.id, node.revision));
        let hash = match (&node.failure, node.revision) {
            (_, 0) => None,
            (Some(Failure::CorruptArtifact), _) => Some(self.corrupt),
            _ => engine.snapshot(snapshot.as_deref().unwrap_or_default()).ok().map(|s| s.hash),
        };
        let sync_error = match (&node.failure, node.refused) {
            (Some(Failure::Sync(e)), _) => Some(e.clone()),
            (None, Some(_)) => known_failure(SyncErrorCode::ReloadFailure),
            _ => None,
        };
        let status =
            if node.failure.is_none() && node.refused.is_some() { ProcessStatus::Starting } else { node.status };
        let metrics = node_metrics(node, &mut self.rng);
        let hb = Heartbeat {
            at_ms: now_ms,
            applied_snapshot: snapshot.as_deref().filter(|_| hash.is_some()),
            applied_hash: hash.filter(|_| snapshot.is_some()),
            runtime_version: node.version,
            status,
            metrics,
            sync_error: sync_error.as_ref(),
        };
        let handle = node.handle;
        let directive = match engine.heartbeat(handle, &hb) {
            Ok(d) => d.map(|d| (d.kind, d.snapshot.revision)),
            Err(e) => return Err(e.kind()),
        };
        if let Some((kind, revision)) = directive {
            let cluster = &mut self.clusters[c];
            if !cluster.loads(&engine, revision) {
                // The reload fails: the node says so at once, and only once
                // for the same revision.
                return if cluster.refuse(index, revision) { self.beat(c, index, now_ms) } else { Ok(()) };
            }
            let healthy = cluster.nodes[index as usize].failure.is_none();
            if kind == DirectiveKind::ForceSync {
                cluster.force(index, revision);
                return self.beat(c, index, now_ms);
            }
            if healthy {
                cluster.recover(index, revision);
                return self.beat(c, index, now_ms);
            }
        }
        Ok(())
    }

    /// Advances the fleet by one tick at `now_ms`: churn, rebalancing towards
    /// each cluster's failing target, and this tick's share of heartbeats. A
    /// cluster with no failing target (all verified, or repaired by its
    /// operators) has no churn.
    pub fn step(&mut self, now_ms: u64) -> StepReport {
        let mut report = StepReport::default();
        let phase = self.tick % self.ticks_per_interval;
        self.tick += 1;
        for c in 0..self.clusters.len() {
            let engine = self.engine.clone();
            let desired = engine.desired(&self.clusters[c].id).ok().flatten().map_or(0, |s| s.revision);
            // Read after the desired snapshot: a publish with a plan in
            // between shows as a rollout, never as a plain publish.
            let rolling = self.rollout_active(c, now_ms);
            let mut changed = Vec::new();
            let cluster = &mut self.clusters[c];
            if desired != cluster.desired {
                cluster.published(desired);
            }
            // Where churn and pickup move healthy nodes: the desired
            // snapshot, unless a rollout decides (then directives move them,
            // and a recovered node stays where it was) or it cannot be loaded.
            let follow = (!rolling && cluster.loads(&engine, desired)).then_some(desired);
            if cluster.target_failing > 0 {
                cluster.churn_debt +=
                    (cluster.target_failing as f64 * CHURN_PER_SECOND).max(0.5) * self.tick_ms as f64 / 1_000.0;
            }
            let rebalance_cap = (cluster.target_failing / 50).max(1);
            let failing_now = cluster.failing_total();
            let mut swaps = cluster.churn_debt as usize;
            cluster.churn_debt -= swaps as f64;
            let (mut extra_fail, mut extra_recover) = (0, 0);
            if failing_now < cluster.target_failing {
                extra_fail = (cluster.target_failing - failing_now).min(rebalance_cap);
            } else {
                extra_recover = (failing_now - cluster.target_failing).min(rebalance_cap);
            }
            // Recover and fail alternately so the in-sync count never strays by more than one.
            while swaps > 0 || extra_fail > 0 || extra_recover > 0 {
                let (cluster, rng) = (&mut self.clusters[c], &mut self.rng);
                if swaps > 0 && (cluster.failing.is_empty() || cluster.healthy.is_empty()) {
                    // A swap needs a failing and a healthy node the generator may pick.
                    swaps = 0;
                    continue;
                }
                if (swaps > 0 || extra_recover > 0) && !cluster.failing.is_empty() {
                    let pick = cluster.failing[rng.usize(0..cluster.failing.len())];
                    let revision = follow.unwrap_or(cluster.nodes[pick as usize].revision);
                    cluster.recover(pick, revision);
                    changed.push(pick);
                }
                if (swaps > 0 || extra_fail > 0) && !cluster.healthy.is_empty() {
                    let pick = cluster.healthy[rng.usize(0..cluster.healthy.len())];
                    cluster.fail(rng, pick, desired);
                    changed.push(pick);
                }
                if swaps > 0 {
                    swaps -= 1;
                } else {
                    extra_fail = extra_fail.saturating_sub(1);
                    extra_recover = extra_recover.saturating_sub(1);
                }
                for index in changed.drain(..) {
                    report.count(self.beat(c, index, now_ms));
                }
            }
            let n = self.clusters[c].nodes.len() as u64;
            let mut index = phase;
            while index < n {
                let cluster = &mut self.clusters[c];
                let node = &mut cluster.nodes[index as usize];
                let picks_up = !rolling
                    && node.failure.is_none()
                    && node.revision < desired
                    && node.refused.is_none()
                    && self.rng.f64() < ROLLOUT_CHANCE;
                if picks_up && follow.is_some() {
                    node.revision = desired;
                } else if picks_up {
                    cluster.refuse(index as u32, desired);
                }
                let node = &mut cluster.nodes[index as usize];
                if node.failure.is_none() {
                    node.heap = (node.heap + (self.rng.f32() - 0.5) * 4.0).clamp(30.0, 85.0);
                }
                report.count(self.beat(c, index as u32, now_ms));
                index += self.ticks_per_interval;
            }
            self.release(c, desired, rolling, now_ms);
        }
        report
    }

    /// Whether cluster `c` has an active rollout (progressing, baking,
    /// paused or halted) at `now_ms`; if so its gates are evaluated first,
    /// so a bake ends on time whoever else advances rollouts.
    fn rollout_active(&self, c: usize, now_ms: u64) -> bool {
        let id = &self.clusters[c].id;
        let active = |e: &Engine| e.rollout(id, now_ms).ok().flatten().is_some_and(|r| r.state.is_active());
        if !active(&self.engine) {
            return false;
        }
        // A failed step leaves the rollout as it was; the next tick tries again.
        let _ = self.engine.advance_rollout(id, now_ms);
        active(&self.engine)
    }

    /// Starts the next simulated rollout of the release cluster when it
    /// has been quiet for [`RELEASE_QUIET_MS`] (see the module's docs).
    fn release(&mut self, c: usize, desired: u32, rolling: bool, now_ms: u64) {
        let Some(release) = self.release.as_mut().filter(|r| r.cluster == c) else { return };
        if rolling || desired != release.desired || desired == 0 {
            release.quiet_since = now_ms;
            release.desired = desired;
            return;
        }
        if now_ms.saturating_sub(release.quiet_since) < RELEASE_QUIET_MS {
            return;
        }
        release.started += 1;
        release.quiet_since = now_ms;
        let failing = release.started.is_multiple_of(RELEASE_FAILING_EVERY);
        let cluster = &self.clusters[c];
        let bytes = release_artifact(&cluster.id, release.started, failing);
        let (waves, bake_ms, max_failure_pct, auto_rollback) = RELEASE_PLAN;
        let by = By::new(RELEASE_ACTOR, Role::Operator, now_ms);
        // Refused (another publish got there first, say): the cluster is
        // not quiet, and the next release waits for the next quiet period.
        let _ = RolloutPlan::new(waves.to_vec(), bake_ms, max_failure_pct, auto_rollback)
            .and_then(|plan| self.engine.publish_with_rollout(&cluster.id, bytes.as_bytes(), &by, plan));
    }

    /// Nodes in the simulated fleet, the seed nodes included.
    pub fn nodes(&self) -> usize {
        self.clusters.iter().map(|c| c.nodes.len()).sum()
    }
}

/// The artifact of the simulated rollout number `n` of `cluster`, carrying
/// [`RELOAD_FAILURE_MARKER`] when it is to fail.
fn release_artifact(cluster: &str, n: u32, failing: bool) -> String {
    let marker = if failing { format!("# {RELOAD_FAILURE_MARKER}\n") } else { String::new() };
    format!(
        "# {cluster}\n# release {n} of the simulated release train\nroutes: [api]\nrate_limit: {}\n{marker}",
        800 + 10 * n
    )
}

/// How many of `total` nodes to keep verified so that the cluster's cohesion
/// in basis points is at least `bp`, the seeds': the fewest that do (3,333 of
/// 10,000 for the seeds' 1 of 3, 33.33 %, which floors to 33 % as the seeds do).
fn band_verified(bp: u16, total: usize) -> usize {
    (usize::from(bp) * total).div_ceil(10_000).min(total)
}

/// The simulation running on its own thread.
pub struct Simulation {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    nodes: usize,
}

impl Simulation {
    /// Builds the fleet and starts ticking every `config.tick_ms` on a
    /// background thread, counting heartbeats into `metrics`.
    pub fn start(
        engine: Arc<Engine>,
        config: &SimulationConfig,
        metrics: Arc<Metrics>,
    ) -> fleetgov::Result<Simulation> {
        let now = engine.clock().now_ms();
        let mut fleet = Fleet::new(engine.clone(), config.nodes, config.heartbeat_interval_ms, config.tick_ms, now)?;
        let nodes = fleet.nodes();
        metrics.accepted("simulation", nodes as u64);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let tick = Duration::from_millis(config.tick_ms);
        let thread = std::thread::Builder::new()
            .name("fleet-simulation".into())
            .spawn(move || {
                // Relaxed: the flag carries no data; the thread only needs to see it eventually.
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    let report = fleet.step(engine.clock().now_ms());
                    metrics.accepted("simulation", report.accepted);
                    report.rejected.iter().for_each(|code| metrics.rejected(code));
                }
            })
            .map_err(fleetgov::Error::from)?;
        Ok(Simulation { stop, thread: Some(thread), nodes })
    }

    /// Nodes simulated.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        // Relaxed: see the loop.
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::band_verified;
    use fleetgov::cohesion::{cohesion, cohesion_bp};

    #[test]
    fn the_band_keeps_the_seeds_floored_cohesion_at_any_size() {
        assert_eq!(band_verified(7_500, 10_000), 7_500);
        assert_eq!(band_verified(3_333, 10_000), 3_333);
        assert_eq!(band_verified(3_333, 1_000), 334);
        assert_eq!(band_verified(10_000, 9_999), 9_999);
        assert_eq!(band_verified(0, 10), 0);
        for total in [200, 1_000, 1_001, 2_000, 9_999, 10_000, 30_001] {
            for (bp, percent) in [(10_000, 100), (7_500, 75), (3_333, 33)] {
                let verified = band_verified(bp, total) as u64;
                assert_eq!(cohesion(verified, total as u64), percent, "{bp} of {total}");
                assert!(cohesion_bp(verified, total as u64) >= bp);
            }
        }
    }
}
