//! The engine: authority and execution state of a whole fleet.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};

use crate::authority::event::AuthorityEvent;
use crate::authority::policy::PolicyRegistry;
use crate::execution::journal::{HashRef, Journal, Transition};
use crate::feed::{AuditChange, Change, Feed, NodeChange, Subscription};
use crate::governance::audit::{AuditAction, AuditEntry, AuditLog, AuditRecord, AuditStore, CheckpointSigner};
use crate::governance::overrides::By;
use crate::role::Role;

use crate::authority::cluster_spec::{ClusterSpec, Environment};
use crate::authority::snapshot::{Snapshot, parse_snapshot_id, snapshot_id};
use crate::authority::workspace::{AuthorityMode, WorkspaceSpec};
use crate::chunked::Chunked;
use crate::clock::Clock;
use crate::cluster_state::ClusterState;
use crate::error::{Error, ErrorKind, Result};
use crate::execution::heartbeat::{Directive, DirectiveKind, Heartbeat, MAX_FUTURE_SKEW_MS, Metrics};
use crate::execution::registry::{Capacity, Enrolled, Registry};
use crate::execution::slot::SlotWrite;
use crate::execution::sync_error::{SyncErrorCode, SyncErrorDetails, cut_detail};
use crate::execution::transition::{self, Answer};
use crate::hash::ContentHash;
use crate::health::ProcessStatus;
use crate::id::{validate_id, validate_snapshot_id};

/// The cluster table starts with 64 entries and doubles.
const CLUSTER_BASE_BITS: u32 = 6;

/// How to build an [`Engine`].
///
/// ```
/// use fleetgov::{Clock, Engine, EngineConfig};
/// let config = EngineConfig { clock: Clock::manual(0), capacity: 10_000, ..EngineConfig::default() };
/// let engine = Engine::with_config(config).unwrap();
/// # let _ = engine;
/// ```
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Where "now" comes from for the future-heartbeat check.
    pub clock: Clock,
    /// The most nodes the engine will hold, 1 to [`MAX_CAPACITY`](crate::MAX_CAPACITY)
    /// (memory is allocated as nodes enrol, in chunks of 65,536 slots).
    pub capacity: usize,
    /// The data directory (see the README's "Data directory"): the audit
    /// log, the signing key, enrolments, the execution journal and node-state
    /// checkpoints, restored when the engine is made. `None` keeps
    /// everything in memory (or the audit log alone in `audit_path`).
    pub data_dir: Option<std::path::PathBuf>,
    /// How often the journal writer makes new transitions durable (group
    /// commit): a crash loses at most the transitions of the last interval.
    /// Used with a data directory only; at least 1 ms.
    pub journal_interval: std::time::Duration,
    /// How often every node's last report is checkpointed (and when the
    /// engine is dropped). Used with a data directory only; at least 1 ms.
    pub checkpoint_interval: std::time::Duration,
    /// Transitions per journal segment: when one is full it is sealed (its
    /// hash committed to the audit log) and the next begins. Used with a
    /// data directory only; 0 counts as 1.
    pub journal_segment_len: u64,
    /// A durable audit log alone, without the rest of a data directory:
    /// opened (verified, torn tail cut) and replayed to restore the
    /// authority state if it exists, created otherwise. Superseded by
    /// `data_dir` (which holds the audit log as `audit.log`); give one or
    /// the other.
    pub audit_path: Option<std::path::PathBuf>,
    /// The ed25519 seed that signs checkpoints and attestations; `None`
    /// uses the data directory's key (made once), or without one generates
    /// a key for this engine's lifetime.
    pub signing_seed: Option<[u8; 32]>,
    /// The name of the log in signed checkpoints (the origin line).
    pub origin: String,
    /// How many events the change feed holds for a subscriber that falls
    /// behind (rounded up to a power of two); see [`crate::feed`].
    pub feed_capacity: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            clock: Clock::System,
            capacity: 1 << 24,
            data_dir: None,
            journal_interval: std::time::Duration::from_millis(200),
            checkpoint_interval: std::time::Duration::from_secs(60),
            journal_segment_len: 1 << 20,
            audit_path: None,
            signing_seed: None,
            origin: "fleetgov".to_owned(),
            feed_capacity: crate::feed::DEFAULT_FEED_CAPACITY,
        }
    }
}

/// The actor recorded for authority changes made through the embedding API
/// (workspace and cluster upserts), which name no actor of their own.
pub const EMBEDDER: &str = "embedder";

/// A handle to an enrolled node: resolves the node's id once, so heartbeats by
/// handle skip every lookup. A handle is valid only for the engine that issued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeHandle(u64);

impl NodeHandle {
    /// The raw value, for passing across FFI.
    pub fn to_raw(self) -> u64 {
        self.0
    }

    /// A handle from [`to_raw`](Self::to_raw); the engine checks it on use.
    pub fn from_raw(raw: u64) -> Self {
        NodeHandle(raw)
    }

    /// The node's dense slot number.
    pub fn slot(self) -> u32 {
        self.0 as u32
    }
}

/// A node resolved once per heartbeat: its slot number, slot and cluster.
#[derive(Clone, Copy)]
pub(crate) struct NodeRef<'e> {
    pub(crate) slot: u32,
    pub(crate) cell: &'e crate::execution::slot::Slot,
    pub(crate) cluster: &'e ClusterState,
}

/// What a heartbeat reports, with ids resolved: the form every ingest path
/// (struct, binary record) reduces to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Observation<'a> {
    pub(crate) at_ms: u64,
    /// The applied revision of the node's own cluster (0: none or foreign).
    pub(crate) revision: u32,
    pub(crate) hash: Option<&'a ContentHash>,
    pub(crate) version: u32,
    pub(crate) status: ProcessStatus,
    pub(crate) metrics: &'a Metrics,
    pub(crate) sync_error: Option<(SyncErrorCode, &'a str)>,
}

/// The fleet-governance engine. All methods take `&self` and are safe to call
/// from many threads at once.
///
/// ```
/// use fleetgov::*;
/// let e = Engine::new();
/// e.upsert_workspace(WorkspaceSpec::new("ws-1")).unwrap();
/// e.upsert_cluster(ClusterSpec::new("eks-prod-us", "ws-1", Environment::Production)).unwrap();
/// let s = e.publish("eks-prod-us", b"routes: []", "alice", 1_000).unwrap();
/// let gw = e.enroll("gw-1", "eks-prod-us", 1_000).unwrap();
/// let hb = Heartbeat::new(2_000, "3.5.0".parse().unwrap()).applied(&s.id, s.hash);
/// assert!(e.heartbeat(gw, &hb).unwrap().is_none());
/// let c = e.cluster("eks-prod-us", 2_000).unwrap();
/// assert_eq!((c.cohesion, c.status), (100, ClusterStatus::Healthy));
/// ```
pub struct Engine {
    tag: u32,
    pub(crate) clock: Clock,
    pub(crate) workspaces: RwLock<BTreeMap<String, WorkspaceSpec>>,
    cluster_ids: RwLock<hashbrown::HashMap<String, u32>>,
    clusters: Chunked<OnceLock<ClusterState>>,
    cluster_count: AtomicU32,
    pub(crate) nodes: Arc<Registry>,
    artifacts: DashMap<ContentHash, Arc<[u8]>>,
    /// Node-reported sync-error details, by slot (written only when they change).
    pub(crate) sync_errors: Arc<SyncErrorDetails>,
    fingerprint: hashbrown::DefaultHashBuilder,
    /// Serialises authority changes, so the audit order is the apply order;
    /// holds how many audit records have their authority events applied.
    pub(crate) authority: Mutex<u64>,
    pub(crate) audit: Arc<AuditLog>,
    pub(crate) policies: PolicyRegistry,
    /// Applied-state transitions of every node (written only on transitions).
    pub(crate) journal: Arc<Journal>,
    /// Signs checkpoints and attestations; made on first use when no seed was given.
    signer: OnceLock<CheckpointSigner>,
    signing_seed: Option<[u8; 32]>,
    origin: String,
    /// What changed, for subscribers (see [`crate::feed`]).
    pub(crate) feed: Arc<Feed>,
    /// Where the retained history begins: when the data directory was made,
    /// or without one the clock when the engine was made.
    pub(crate) history_from_ms: u64,
    /// The open data directory, if any.
    pub(crate) durable: Option<crate::data_dir::Durable>,
}

/// Engines made in this process so far.
static ENGINES: AtomicU32 = AtomicU32::new(0);

/// A tag for a new engine's handles: a per-process random base plus a
/// counter, so that handles differ between the engines of one process and,
/// but for a 2^-32 chance, between processes (a handle an agent got from one
/// ingest instance is refused by another, not taken for one of its nodes).
fn next_tag() -> u32 {
    static BASE: OnceLock<u32> = OnceLock::new();
    let base = BASE.get_or_init(|| {
        let mut bytes = [0u8; 4];
        // Without randomness the counter alone still keeps one process's engines apart.
        getrandom::fill(&mut bytes).map_or(0, |()| u32::from_le_bytes(bytes))
    });
    // Relaxed: tags only need to differ between engines.
    base.wrapping_add(ENGINES.fetch_add(1, Ordering::Relaxed))
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An in-memory engine on the system clock.
    pub fn new() -> Engine {
        let config = EngineConfig::default();
        // The default capacity (2^24) is in range.
        let capacity = crate::execution::registry::check_capacity(config.capacity).expect("default capacity");
        Engine::build(config, capacity, AuditLog::in_memory())
    }

    /// An engine built from `config`. With a `data_dir`, everything it holds
    /// is verified and restored (authority, enrolments, history, every
    /// node's last report); with an `audit_path` alone, the log is opened,
    /// verified and replayed. Refused: both at once, a directory of another
    /// format version or open in another engine, damaged files.
    pub fn with_config(config: EngineConfig) -> Result<Engine> {
        let capacity = Engine::check_config(&config)?;
        let dir = Engine::open_data_dir(&config)?;
        let audit = match (&dir, &config.audit_path) {
            (Some(dir), _) => AuditLog::open(dir.audit_path())?,
            (None, Some(path)) => AuditLog::open(path)?,
            (None, None) => AuditLog::in_memory(),
        };
        Engine::replayed(config, capacity, audit, dir)
    }

    fn open_data_dir(config: &EngineConfig) -> Result<Option<crate::data_dir::DataDir>> {
        match (&config.data_dir, &config.audit_path) {
            (Some(_), Some(_)) => Err(Error::invalid(
                "an engine has one audit log: a data directory holds it, so give a data directory or an audit path",
            )),
            (Some(path), None) => crate::data_dir::DataDir::open(path, config.clock.now_ms()).map(Some),
            (None, _) => Ok(None),
        }
    }

    /// An engine whose audit log lives in `store`, which other engines may
    /// share (a replicated stream): every record in it is verified and its
    /// authority change applied, and [`catch_up`](Self::catch_up) applies
    /// the ones other writers append later. `config.audit_path` must be
    /// `None` ([`InvalidInput`](ErrorKind::InvalidInput) otherwise).
    pub fn with_audit_store(config: EngineConfig, store: Box<dyn AuditStore>) -> Result<Engine> {
        if config.audit_path.is_some() {
            return Err(Error::invalid("an engine has one audit log: give an audit path or a store, not both"));
        }
        let capacity = Engine::check_config(&config)?;
        let dir = Engine::open_data_dir(&config)?;
        Engine::replayed(config, capacity, AuditLog::with_store(store)?, dir)
    }

    /// Builds the engine, applies the authority events already in `audit`,
    /// then restores the execution state of `dir`.
    fn replayed(
        mut config: EngineConfig,
        capacity: Capacity,
        audit: AuditLog,
        dir: Option<crate::data_dir::DataDir>,
    ) -> Result<Engine> {
        if let (Some(dir), None) = (&dir, config.signing_seed) {
            config.signing_seed = Some(dir.signing_seed()?);
        }
        let cadence = crate::data_dir::Cadence {
            interval: config.journal_interval,
            checkpoint_every: config.checkpoint_interval,
            segment_len: config.journal_segment_len.max(1),
        };
        let mut engine = Engine::build(config, capacity, audit);
        drop(engine.authority_lock()?);
        if let Some(dir) = dir {
            engine.history_from_ms = dir.created_ms;
            engine.durable = Some(engine.restore_execution(dir, cadence)?);
            // Whatever was answered before the restart was about a time
            // before now: seal it (see `AuditLog::seal`), so answers given
            // before a restart hold after it.
            engine.audit.seal(engine.clock.now_ms());
        }
        Ok(engine)
    }

    /// Checks `config` before anything is opened: capacity, origin.
    fn check_config(config: &EngineConfig) -> Result<Capacity> {
        let capacity = crate::execution::registry::check_capacity(config.capacity)?;
        // Checks the origin (a key name) now rather than at the first checkpoint.
        CheckpointSigner::from_seed(&config.origin, [0; 32])?;
        let millisecond = std::time::Duration::from_millis(1);
        if config.journal_interval < millisecond || config.checkpoint_interval < millisecond {
            return Err(Error::invalid(format!(
                "the journal interval ({:?}) and the checkpoint interval ({:?}) must be at least 1 ms",
                config.journal_interval, config.checkpoint_interval
            )));
        }
        Ok(capacity)
    }

    fn build(config: EngineConfig, capacity: Capacity, audit: AuditLog) -> Engine {
        Engine {
            tag: next_tag(),
            workspaces: RwLock::new(BTreeMap::new()),
            cluster_ids: RwLock::new(hashbrown::HashMap::new()),
            clusters: Chunked::doubling(CLUSTER_BASE_BITS),
            cluster_count: AtomicU32::new(0),
            nodes: Arc::new(Registry::new(capacity)),
            artifacts: DashMap::new(),
            sync_errors: Arc::new(SyncErrorDetails::default()),
            fingerprint: hashbrown::DefaultHashBuilder::default(),
            authority: Mutex::new(0),
            audit: Arc::new(audit),
            policies: PolicyRegistry::new(),
            journal: Arc::new(Journal::new()),
            signer: OnceLock::new(),
            signing_seed: config.signing_seed,
            origin: config.origin,
            feed: Arc::new(Feed::new(config.feed_capacity)),
            history_from_ms: config.clock.now_ms(),
            durable: None,
            clock: config.clock,
        }
    }

    /// The checkpoint signer, made from the configured seed or generated on first use.
    pub(crate) fn signer(&self) -> Result<&CheckpointSigner> {
        if let Some(signer) = self.signer.get() {
            return Ok(signer);
        }
        let signer = match self.signing_seed {
            Some(seed) => CheckpointSigner::from_seed(&self.origin, seed)?,
            None => CheckpointSigner::generate(&self.origin)?,
        };
        // A racing first use may have set another key; either way one key wins for good.
        let _ = self.signer.set(signer);
        self.signer.get().ok_or_else(|| Error::new(ErrorKind::Io, "checkpoint signer unavailable"))
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    // ---- authority: workspaces, clusters, snapshots -------------------------

    /// Creates or updates a workspace. A workspace in `dev_override` may hold
    /// development clusters only.
    /// The change is audited (actor [`EMBEDDER`], role admin, the clock's time);
    /// [`upsert_workspace_by`](Self::upsert_workspace_by) names who made it.
    pub fn upsert_workspace(&self, spec: WorkspaceSpec) -> Result<()> {
        self.record_workspace(spec, EMBEDDER, Role::Admin, self.clock.now_ms())
    }

    /// [`upsert_workspace`](Self::upsert_workspace), audited with `by`'s
    /// actor, role and time. Needs the admin role
    /// ([`PermissionDenied`](ErrorKind::PermissionDenied)) and an actor that
    /// is neither blank nor [reserved](crate::is_reserved_actor)
    /// ([`InvalidInput`](ErrorKind::InvalidInput)); nothing changes otherwise.
    pub fn upsert_workspace_by(&self, spec: WorkspaceSpec, by: &By<'_>) -> Result<()> {
        by.check(Role::Admin, "change a workspace")?;
        self.record_workspace(spec, by.actor, by.role, by.at_ms)
    }

    fn record_workspace(&self, spec: WorkspaceSpec, actor: &str, role: Role, at_ms: u64) -> Result<()> {
        let mut authority = self.authority_lock()?;
        loop {
            self.check_workspace(&spec)?;
            let entry =
                AuditEntry::new(at_ms, actor, role, AuditAction::UpsertWorkspace, format!("workspace:{}", spec.id));
            if authority.record(entry, AuthorityEvent::Workspace { spec: spec.clone() }, &[])? {
                return self.apply_workspace(spec);
            }
        }
    }

    fn check_workspace(&self, spec: &WorkspaceSpec) -> Result<()> {
        validate_id("workspace", &spec.id)?;
        let non_development = |c: &&ClusterState| c.spec.read().environment != Environment::Development;
        if spec.authority_mode == AuthorityMode::DevOverride
            && let Some(c) = self.clusters_of(&spec.id).find(non_development)
        {
            return Err(Error::invalid(format!(
                "dev_override applies to development clusters only; cluster '{}' of workspace '{}' is {}",
                c.id,
                spec.id,
                c.spec.read().environment.as_str()
            )));
        }
        Ok(())
    }

    pub(crate) fn apply_workspace(&self, spec: WorkspaceSpec) -> Result<()> {
        self.check_workspace(&spec)?;
        self.workspaces.write().insert(spec.id.clone(), spec);
        Ok(())
    }

    /// The workspace `id`.
    pub fn workspace(&self, id: &str) -> Result<WorkspaceSpec> {
        self.workspaces.read().get(id).cloned().ok_or_else(|| Error::not_found(format_args!("workspace '{id}'")))
    }

    /// Every workspace, by id.
    pub fn workspaces(&self) -> Vec<WorkspaceSpec> {
        self.workspaces.read().values().cloned().collect()
    }

    /// Creates or updates a cluster. Its workspace must exist and cannot
    /// change. The change is audited (actor [`EMBEDDER`], role admin, the
    /// clock's time); [`upsert_cluster_by`](Self::upsert_cluster_by) names who made it.
    pub fn upsert_cluster(&self, spec: ClusterSpec) -> Result<()> {
        self.record_cluster(spec, EMBEDDER, Role::Admin, self.clock.now_ms())
    }

    /// [`upsert_cluster`](Self::upsert_cluster), audited with `by`'s actor,
    /// role and time. Needs the admin role
    /// ([`PermissionDenied`](ErrorKind::PermissionDenied)) and an actor that
    /// is neither blank nor [reserved](crate::is_reserved_actor)
    /// ([`InvalidInput`](ErrorKind::InvalidInput)); nothing changes otherwise.
    pub fn upsert_cluster_by(&self, spec: ClusterSpec, by: &By<'_>) -> Result<()> {
        by.check(Role::Admin, "change a cluster")?;
        self.record_cluster(spec, by.actor, by.role, by.at_ms)
    }

    fn record_cluster(&self, spec: ClusterSpec, actor: &str, role: Role, at_ms: u64) -> Result<()> {
        let mut authority = self.authority_lock()?;
        loop {
            self.check_cluster(&spec)?;
            let entry = AuditEntry::new(at_ms, actor, role, AuditAction::UpsertCluster, format!("cluster:{}", spec.id));
            if authority.record(entry, AuthorityEvent::Cluster { spec: spec.clone() }, &[])? {
                return self.apply_cluster(spec);
            }
        }
    }

    fn check_cluster(&self, spec: &ClusterSpec) -> Result<()> {
        validate_id("cluster", &spec.id)?;
        validate_id("workspace", &spec.workspace)?;
        crate::text::validate_owner_team(&spec.owner_team)?;
        let workspaces = self.workspaces.read();
        let ws = workspaces
            .get(&spec.workspace)
            .ok_or_else(|| Error::not_found(format_args!("workspace '{}'", spec.workspace)))?;
        if ws.authority_mode == AuthorityMode::DevOverride && spec.environment != Environment::Development {
            return Err(Error::invalid(format!(
                "workspace '{}' is in dev_override, which applies to development clusters only",
                ws.id
            )));
        }
        if let Some(&index) = self.cluster_ids.read().get(&spec.id) {
            let cluster = self.cluster_at(index);
            if *cluster.workspace != *spec.workspace {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("cluster '{}' belongs to workspace '{}'", spec.id, cluster.workspace),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn apply_cluster(&self, spec: ClusterSpec) -> Result<()> {
        self.check_cluster(&spec)?;
        let mut ids = self.cluster_ids.write();
        if let Some(&index) = ids.get(&spec.id) {
            let cluster = self.cluster_at(index);
            cluster.update_spec(spec);
            self.announce_cluster(cluster);
            return Ok(());
        }
        // Relaxed: `cluster_ids`' write lock serialises cluster creation.
        let index = self.cluster_count.load(Ordering::Relaxed);
        let cell = self
            .clusters
            .get_or_alloc(index as usize)
            .ok_or_else(|| Error::invalid(format!("the engine holds at most {} clusters", self.clusters.capacity())))?;
        let _ = cell.set(ClusterState::new(spec.clone(), 0));
        // Relaxed: readers find clusters through `cluster_ids` (lock) or through
        // a slot whose cluster was set before the slot was published.
        self.cluster_count.store(index + 1, Ordering::Relaxed);
        ids.insert(spec.id, index);
        self.announce_cluster(self.cluster_at(index));
        Ok(())
    }

    pub(crate) fn cluster_index(&self, id: &str) -> Result<u32> {
        self.cluster_ids.read().get(id).copied().ok_or_else(|| Error::not_found(format_args!("cluster '{id}'")))
    }

    /// The cluster at a valid index (from `cluster_ids` or a slot).
    pub(crate) fn cluster_at(&self, index: u32) -> &ClusterState {
        // Invariant: indices come from `cluster_ids` or from slots, and both
        // are written only after the cluster's cell is set.
        self.clusters.get(index as usize).and_then(OnceLock::get).expect("cluster index from a published cluster")
    }

    pub(crate) fn cluster_state(&self, id: &str) -> Result<&ClusterState> {
        self.cluster_index(id).map(|i| self.cluster_at(i))
    }

    /// Every cluster index, in creation order.
    pub(crate) fn cluster_indices(&self) -> impl Iterator<Item = u32> + use<> {
        // Relaxed: see `apply_cluster`.
        0..self.cluster_count.load(Ordering::Relaxed)
    }

    /// Every cluster, in creation order.
    pub(crate) fn all_clusters(&self) -> impl Iterator<Item = &ClusterState> {
        self.cluster_indices().map(|i| self.cluster_at(i))
    }

    pub(crate) fn clusters_of<'a>(&'a self, workspace: &'a str) -> impl Iterator<Item = &'a ClusterState> + 'a {
        self.all_clusters().filter(move |c| *c.workspace == *workspace)
    }

    /// The cluster ids, in creation order.
    pub fn cluster_ids(&self) -> Vec<String> {
        self.all_clusters().map(|c| c.id.to_string()).collect()
    }

    /// Publishes `bytes` as the next snapshot of `cluster` and makes it the
    /// cluster's desired state (O(1), whatever the cluster's size). The
    /// artifact is stored by its hash; the publish is audited with the author
    /// as actor (role operator); the author follows the rules of an actor
    /// ([`validate_actor`](crate::validate_actor)) and may not be
    /// [reserved](crate::is_reserved_actor).
    pub fn publish(&self, cluster: &str, bytes: &[u8], author: &str, at_ms: u64) -> Result<Snapshot> {
        crate::governance::overrides::check_actor(author)?;
        self.record_publish(cluster, bytes, author, Role::Operator, at_ms)
    }

    /// [`publish`](Self::publish) by `by`: the snapshot's author is `by`'s
    /// actor, and the audit record carries `by`'s role (operator or admin;
    /// [`PermissionDenied`](ErrorKind::PermissionDenied) for a viewer).
    pub fn publish_by(&self, cluster: &str, bytes: &[u8], by: &By<'_>) -> Result<Snapshot> {
        by.check(Role::Operator, "publish")?;
        self.record_publish(cluster, bytes, by.actor, by.role, by.at_ms)
    }

    fn record_publish(&self, cluster: &str, bytes: &[u8], author: &str, role: Role, at_ms: u64) -> Result<Snapshot> {
        if bytes.is_empty() {
            return Err(Error::invalid("artifact is empty"));
        }
        let mut authority = self.authority_lock()?;
        loop {
            let state = self.cluster_state(cluster)?;
            let revision = state.latest() + 1;
            let snapshot = Snapshot {
                id: snapshot_id(cluster, revision),
                cluster: cluster.to_owned(),
                revision,
                hash: ContentHash::of(bytes),
                author: author.to_owned(),
                published_at_ms: at_ms.max(self.audit.not_before()),
                size_bytes: bytes.len() as u64,
            };
            let entry = AuditEntry::new(snapshot.published_at_ms, author, role, AuditAction::Publish, &snapshot.id);
            if authority.record(entry, AuthorityEvent::Publish { snapshot: snapshot.clone() }, bytes)? {
                return self.install_snapshot(state, snapshot, bytes).cloned();
            }
        }
    }

    /// Restores a published snapshot from the audit log.
    pub(crate) fn restore_snapshot(&self, snapshot: Snapshot, bytes: &[u8]) -> Result<()> {
        if ContentHash::of(bytes) != snapshot.hash {
            return Err(Error::new(
                ErrorKind::AuditTampered,
                format!("artifact of {} does not hash to its snapshot", snapshot.id),
            ));
        }
        let state = self.cluster_state(&snapshot.cluster)?;
        self.install_snapshot(state, snapshot, bytes).map(drop)
    }

    /// Installs a published or replayed snapshot; the cluster's new counters
    /// go into the change feed.
    fn install_snapshot<'a>(&self, state: &'a ClusterState, snapshot: Snapshot, bytes: &[u8]) -> Result<&'a Snapshot> {
        let hash = snapshot.hash;
        let installed = state.publish(snapshot)?;
        self.artifacts.entry(hash).or_insert_with(|| bytes.into());
        self.announce_cluster(state);
        Ok(installed)
    }

    /// The snapshot `id` (`<cluster>@r<revision>`).
    pub fn snapshot(&self, id: &str) -> Result<Snapshot> {
        parse_snapshot_id(id)
            .and_then(|(cluster, revision)| self.cluster_state(cluster).ok()?.snapshot(revision).cloned())
            .ok_or_else(|| Error::not_found(format_args!("snapshot '{id}'")))
    }

    /// The desired snapshot of `cluster`, if one was published.
    pub fn desired(&self, cluster: &str) -> Result<Option<Snapshot>> {
        let state = self.cluster_state(cluster)?;
        Ok(state.snapshot(state.desired()).cloned())
    }

    /// The artifact bytes whose blake3 hash is `hash` (what a runtime pulls).
    pub fn artifact(&self, hash: &ContentHash) -> Result<Arc<[u8]>> {
        self.artifacts.get(hash).map(|a| a.clone()).ok_or_else(|| Error::not_found(format_args!("artifact {hash}")))
    }

    // ---- execution: nodes and heartbeats -----------------------------------

    /// Enrolls node `node` in `cluster` at `at_ms` (shown as the node's
    /// `enrolled_at_ms`, kept to the second). Enrolling again in the same cluster returns the same
    /// handle and keeps the first enrolment time; in another cluster is a
    /// `Conflict`.
    pub fn enroll(&self, node: &str, cluster: &str, at_ms: u64) -> Result<NodeHandle> {
        let (handle, new) = self.enroll_in_memory(node, cluster, at_ms)?;
        if let (Some(durable), true) = (&self.durable, new) {
            durable.enrolled(&[(handle.slot(), node, cluster)], at_ms)?;
        }
        if new {
            self.announce_cluster(self.cluster_state(cluster)?);
        }
        Ok(handle)
    }

    /// Enrols every `(node, cluster)` of `nodes` at `at_ms`, as
    /// [`enroll`](Self::enroll) would one by one, and returns their handles
    /// in order; with a data directory the new enrolments share one fsync.
    /// Everything is checked first (ids, clusters, a node enrolled or listed
    /// in another cluster, capacity): on a refusal nothing is enrolled.
    ///
    /// ```
    /// # use fleetgov::*;
    /// # let e = Engine::new();
    /// # e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    /// # e.upsert_cluster(ClusterSpec::new("c", "ws", Environment::Staging)).unwrap();
    /// let handles = e.enroll_many([("gw-1", "c"), ("gw-2", "c")], 0).unwrap();
    /// assert_eq!(e.node_handle("gw-2").unwrap(), handles[1]);
    /// assert_eq!(e.enroll_many([("gw-3", "c"), ("gw-1", "nope")], 0).unwrap_err().kind(), ErrorKind::NotFound);
    /// assert!(e.node_handle("gw-3").is_err(), "nothing enrolled");
    /// ```
    pub fn enroll_many<'a>(
        &self,
        nodes: impl IntoIterator<Item = (&'a str, &'a str)>,
        at_ms: u64,
    ) -> Result<Vec<NodeHandle>> {
        let nodes: Vec<(&str, &str)> = nodes.into_iter().collect();
        let mut listed: hashbrown::HashMap<&str, &str> = hashbrown::HashMap::with_capacity(nodes.len());
        let mut fresh = 0usize;
        for &(node, cluster) in &nodes {
            validate_id("node", node)?;
            let index = self.cluster_index(cluster)?;
            let current = self.nodes.lookup(node).and_then(|s| self.nodes.slot(s)).map(|s| s.cluster());
            if let Some(other) = current.filter(|&c| c != index) {
                let other = &self.cluster_at(other).id;
                return Err(Error::new(ErrorKind::Conflict, format!("node '{node}' is enrolled in cluster '{other}'")));
            }
            match listed.insert(node, cluster) {
                Some(first) if first != cluster => {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!("node '{node}' is listed in clusters '{first}' and '{cluster}'"),
                    ));
                }
                None if current.is_none() => fresh += 1,
                _ => {}
            }
        }
        if self.nodes.len() as usize + fresh > self.nodes.capacity() as usize {
            return Err(Error::invalid(format!(
                "the engine is full: {fresh} new nodes do not fit its capacity of {} (raise EngineConfig::capacity)",
                self.nodes.capacity()
            )));
        }
        let mut handles = Vec::with_capacity(nodes.len());
        let mut new = Vec::with_capacity(fresh);
        for &(node, cluster) in &nodes {
            let (handle, is_new) = self.enroll_in_memory(node, cluster, at_ms)?;
            if is_new {
                new.push((handle.slot(), node, cluster));
            }
            handles.push(handle);
        }
        if let Some(durable) = &self.durable {
            durable.enrolled(&new, at_ms)?;
        }
        let mut announced = hashbrown::HashSet::new();
        for &(_, _, cluster) in &new {
            if announced.insert(cluster) {
                self.announce_cluster(self.cluster_state(cluster)?);
            }
        }
        Ok(handles)
    }

    /// Enrols in memory; `true` when the node is new.
    fn enroll_in_memory(&self, node: &str, cluster: &str, at_ms: u64) -> Result<(NodeHandle, bool)> {
        validate_id("node", node)?;
        let index = self.cluster_index(cluster)?;
        let state = self.cluster_at(index);
        let enrolled = self.nodes.enroll(node, at_ms, |slot, cell| {
            cell.init(index, state.force_epoch());
            state.add_member(slot);
        })?;
        match enrolled {
            Enrolled::New(slot) => Ok((self.handle(slot), true)),
            Enrolled::Existing(slot) => {
                let current = self.nodes.slot(slot).map(|s| s.cluster());
                if current == Some(index) {
                    Ok((self.handle(slot), false))
                } else {
                    let other = current.map_or("?", |c| &*self.cluster_at(c).id);
                    Err(Error::new(ErrorKind::Conflict, format!("node '{node}' is enrolled in cluster '{other}'")))
                }
            }
        }
    }

    fn handle(&self, slot: u32) -> NodeHandle {
        NodeHandle((self.tag as u64) << 32 | slot as u64)
    }

    /// The handle of an enrolled node.
    pub fn node_handle(&self, node: &str) -> Result<NodeHandle> {
        self.nodes.lookup(node).map(|s| self.handle(s)).ok_or_else(|| Error::not_found(format_args!("node '{node}'")))
    }

    /// Hints the cache to fetch the slot behind `handle` (no check, no read).
    #[inline]
    pub(crate) fn prefetch_slot(&self, handle: NodeHandle) {
        if let Some(slot) = self.nodes.slot_unchecked(handle.slot()) {
            crate::prefetch::prefetch(slot);
        }
    }

    pub(crate) fn slot_of(&self, handle: NodeHandle) -> Result<u32> {
        self.resolve(handle).map(|n| n.slot)
    }

    /// The node behind `handle`, with its slot and cluster looked up once.
    #[inline]
    pub(crate) fn resolve(&self, handle: NodeHandle) -> Result<NodeRef<'_>> {
        if (handle.0 >> 32) as u32 != self.tag {
            return Err(Error::not_found(format_args!("node handle {:#x}", handle.0)));
        }
        self.resolve_slot(handle.slot())
    }

    #[inline]
    fn resolve_slot(&self, slot: u32) -> Result<NodeRef<'_>> {
        let cell = self.nodes.slot(slot).ok_or_else(|| Error::not_found(format_args!("node slot {slot}")))?;
        Ok(NodeRef { slot, cell, cluster: self.cluster_at(cell.cluster()) })
    }

    /// Records a heartbeat of the node behind `handle` and answers with a
    /// directive, if any. One more than 5 minutes ahead of the engine's
    /// clock is refused (`FutureHeartbeat`); any other counts at
    /// `min(its stamp, the engine's clock now)`, and one that counts earlier
    /// than the node's last one is ignored (`StaleHeartbeat`), so a node
    /// whose clock runs ahead cannot lock itself out. A revision of the
    /// node's cluster that was never published counts as none; a sync-error
    /// detail is kept to [`MAX_DETAIL_LEN`](crate::MAX_DETAIL_LEN) bytes; an
    /// applied snapshot id must pass
    /// [`validate_snapshot_id`](crate::validate_snapshot_id). Steady-state
    /// heartbeats touch only the node's slot.
    #[inline]
    pub fn heartbeat(&self, handle: NodeHandle, hb: &Heartbeat<'_>) -> Result<Option<Directive<'_>>> {
        self.heartbeat_node(self.resolve(handle)?, hb, self.clock.now_ms())
    }

    /// [`heartbeat`](Self::heartbeat) by node id (one registry lookup more).
    pub fn heartbeat_by_id(&self, node: &str, hb: &Heartbeat<'_>) -> Result<Option<Directive<'_>>> {
        let slot = self.nodes.lookup(node).ok_or_else(|| Error::not_found(format_args!("node '{node}'")))?;
        self.heartbeat_node(self.resolve_slot(slot)?, hb, self.clock.now_ms())
    }

    fn heartbeat_node<'e>(
        &'e self,
        node: NodeRef<'e>,
        hb: &Heartbeat<'_>,
        now_ms: u64,
    ) -> Result<Option<Directive<'e>>> {
        hb.metrics.validate()?;
        let revision = match (hb.applied_snapshot, hb.applied_hash) {
            (None, None) => 0,
            // An id of the node's own cluster is well-formed by construction
            // (the cluster id was validated when it was created); any other
            // is checked before it is counted as none.
            (Some(id), Some(_)) => match parse_snapshot_id(id) {
                Some((c, r)) if c == &*node.cluster.id => r,
                _ => validate_snapshot_id("applied snapshot id", id).map(|()| 0)?,
            },
            _ => return Err(Error::invalid("applied_snapshot and applied_hash go together")),
        };
        let obs = Observation {
            at_ms: hb.at_ms,
            revision,
            hash: hb.applied_hash.as_ref(),
            version: hb.runtime_version.to_bits(),
            status: hb.status,
            metrics: &hb.metrics,
            sync_error: hb.sync_error.map(|e| (e.code, e.detail.as_str())),
        };
        self.observe(node, &obs, now_ms)
    }

    /// Applies one validated observation to its node's slot: the hot path.
    /// Every ingest path (single call, batch of records) ends here, so the
    /// rules below hold alike on all of them:
    ///
    /// - **Time**: a heartbeat stamped more than [`MAX_FUTURE_SKEW_MS`]
    ///   ahead of `now_ms` (the engine's clock at receipt) is refused; any
    ///   other counts at `min(stamp, now_ms)`, which orders it (staleness),
    ///   is stored as the node's last heartbeat and journals its
    ///   transitions. A node whose clock runs ahead therefore cannot lock
    ///   itself out: its correct heartbeats afterwards are not older than
    ///   the engine's own clock was. Nothing is ever recorded after the
    ///   engine's clock.
    /// - **Revision**: a revision of the node's own cluster that was never
    ///   published counts as none (as a snapshot of another cluster does):
    ///   the node shows no applied snapshot id, only its hash.
    /// - **Detail**: a sync-error detail is kept cut by
    ///   [`cut_detail`](crate::execution::sync_error::cut_detail).
    ///
    /// Decode and checks come first; under the slot lock only the
    /// [`transition::step`] is computed and stored (with the journal entry
    /// and the counter moves it implies); the audit record of a new
    /// reconciliation wave, the sync-error detail and the change-feed events
    /// are written after the lock is released.
    pub(crate) fn observe<'e>(
        &'e self,
        node: NodeRef<'e>,
        obs: &Observation<'_>,
        now_ms: u64,
    ) -> Result<Option<Directive<'e>>> {
        if obs.at_ms > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
            return Err(Error::new(
                ErrorKind::FutureHeartbeat,
                format!("heartbeat at {} ms is more than 5 minutes ahead of now ({now_ms} ms)", obs.at_ms),
            ));
        }
        let NodeRef { slot, cell, cluster } = node;
        let stamp = obs.at_ms;
        let known = cluster.snapshot(obs.revision);
        let obs = &Observation {
            at_ms: stamp.min(now_ms),
            revision: if known.is_some() { obs.revision } else { 0 },
            sync_error: obs.sync_error.map(|(code, detail)| (code, cut_detail(detail))),
            ..*obs
        };
        let hash_ok = matches!((known, obs.hash), (Some(s), Some(h)) if s.hash == *h);
        let report = transition::Report {
            revision: obs.revision,
            hash_ok,
            status: obs.status,
            code: match obs.sync_error {
                Some((code, _)) => Some(code),
                None if known.is_some() && !hash_ok => Some(SyncErrorCode::HashMismatch),
                None => None,
            },
        };
        let fingerprint = obs.sync_error.map_or(0, |e| self.fingerprint.hash_one(e) as u32 | 1);
        let stale = |last: u64, state: crate::execution::slot::NodeState| state.has_heartbeat() && obs.at_ms < last;
        if stale(cell.last_heartbeat_ms(), cell.state()) {
            return Err(stale_error(self.nodes.id(slot), stamp));
        }

        let guard = cell.lock();
        let old = guard.state();
        if stale(guard.last_heartbeat_ms(), old) {
            drop(guard);
            return Err(stale_error(self.nodes.id(slot), stamp));
        }
        let desired = cluster.desired();
        let wave = cluster.wave(desired);
        let authority = transition::Authority {
            desired,
            force_epoch: cluster.force_epoch(),
            auto_reconcile: cluster.auto_reconcile(),
            wave_open: cluster.wave_open(wave),
        };
        let step = transition::step(old, &report, &authority);
        // Journal what the node runs when it changes (never per heartbeat).
        let old_hash = if old.hash_ok() { HashRef::Verified } else { HashRef::from_bits(guard.odd_hash()) };
        let new_hash = match obs.hash {
            None => HashRef::None,
            Some(_) if hash_ok => HashRef::Verified,
            Some(h) if self.journal.odd_hash(old_hash) == Some(*h) => old_hash,
            Some(h) => match crate::execution::unmatched::take(guard.unmatched_budget(), obs.at_ms) {
                Some(word) => {
                    guard.set_unmatched_budget(word);
                    self.journal.push_odd(*h).unwrap_or(HashRef::Withheld)
                }
                None => HashRef::Withheld,
            },
        };
        let applied_changed = !old.has_heartbeat() || old.revision() != obs.revision || old_hash != new_hash;
        if applied_changed {
            // After any time already answered for (see `AuditLog::seal`).
            let at_ms = obs.at_ms.max(self.audit.not_before());
            let transition = Transition { at_ms, revision: obs.revision, hash: new_hash };
            if let Some(entry) = self.journal.push(slot, guard.last_transition(), transition) {
                guard.set_last_transition(entry);
            }
        }
        let old_fingerprint = guard.error_fp();
        guard.write(&SlotWrite {
            at_ms: obs.at_ms,
            metrics: obs.metrics,
            version: obs.version,
            error_fp: fingerprint,
            odd_hash: if matches!(new_hash, HashRef::Odd(_) | HashRef::Withheld) { new_hash.to_bits() } else { 0 },
        });
        let bucket_move = step.bucket_move(old);
        if let Some((from, to)) = bucket_move {
            cluster.move_bucket(from, to);
        }
        let fresh_move = step.fresh_move(old);
        if let Some((from, to)) = fresh_move {
            cluster.move_fresh(from, to);
        }
        let error_move = step.error_move(old);
        if let Some((from, to)) = error_move {
            cluster.move_error(slot, from, to);
        }
        guard.set_state(step.state);
        // The feed's order is the lock's order: reserve the numbers here.
        let counters_moved = bucket_move.is_some() || fresh_move.is_some() || error_move.is_some();
        let announced = (self.feed.is_listened() && (applied_changed || step.is_transition(old, desired)))
            .then(|| self.feed.reserve(if counters_moved { 2 } else { 1 }));
        drop(guard);

        // After the lock: what may block or allocate.
        if !old.is_fresh() {
            cluster.expiry.schedule(slot, obs.at_ms);
        }
        if fingerprint != old_fingerprint {
            self.sync_errors.record(slot, obs.at_ms, obs.sync_error);
        }
        if let Some(seq) = announced {
            self.announce_node(seq, slot, cluster, obs, step.state, desired);
            if counters_moved {
                self.feed.write(seq + 1, Change::Cluster(cluster.change(self.tally(cluster, now_ms))));
            }
        }
        let kind = match step.answer {
            Answer::Nothing => return Ok(None),
            Answer::ForceSync => DirectiveKind::ForceSync,
            Answer::Reconcile => DirectiveKind::Reconcile,
            // Audit before effect: no record, no directive.
            Answer::OpenWave => {
                let Some(to) = cluster.snapshot(desired) else { return Ok(None) };
                match cluster.open_wave_with(wave, || self.record_wave(cluster, &to.id, obs.at_ms)) {
                    Ok(()) => DirectiveKind::Reconcile,
                    Err(_) => return Ok(None),
                }
            }
        };
        Ok(cluster.snapshot(desired).map(|snapshot| Directive { kind, snapshot }))
    }

    /// Writes a node's transition into the change feed as event `seq`.
    fn announce_node(
        &self,
        seq: u64,
        slot: u32,
        cluster: &ClusterState,
        obs: &Observation<'_>,
        state: crate::execution::slot::NodeState,
        desired: u32,
    ) {
        let change = NodeChange {
            node: self.nodes.id(slot).to_owned(),
            cluster: Arc::clone(&cluster.id),
            at_ms: obs.at_ms,
            applied_revision: (obs.revision != 0).then_some(obs.revision),
            applied_hash: obs.hash.copied(),
            in_sync: transition::in_sync(state, desired),
            sync_error: state.error_code(),
        };
        self.feed.write(seq, Change::Node(change));
    }

    /// Writes an audit record into the change feed.
    pub(crate) fn announce(&self, record: &AuditRecord) {
        if self.feed.is_listened() {
            self.feed.push(Change::Audit(AuditChange {
                audit_seq: record.seq,
                at_ms: record.time_ms,
                actor: record.actor.clone(),
                action: record.action,
                target: record.target.clone(),
            }));
        }
    }

    /// Writes a cluster's figures at the clock's now into the change feed
    /// (after an authority change).
    pub(crate) fn announce_cluster(&self, cluster: &ClusterState) {
        if self.feed.is_listened() {
            self.feed.push(Change::Cluster(cluster.change(self.tally(cluster, self.clock.now_ms()))));
        }
    }

    /// Returns once every transition journalled so far is on disk in the
    /// data directory (the journal writer does this by itself every
    /// [`journal_interval`](EngineConfig::journal_interval); call this
    /// before a planned stop, or to acknowledge history durably). Without a
    /// data directory there is nothing to sync. An [`Io`](ErrorKind::Io)
    /// error says why the writer cannot write (it keeps retrying).
    pub fn sync_journal(&self) -> Result<()> {
        match &self.durable {
            Some(durable) => durable.sync(u64::from(self.journal.len())),
            None => Ok(()),
        }
    }

    /// Why the data directory's journal writer last failed to write, if it
    /// did (`None` also without a data directory); it retries every interval.
    pub fn journal_failure(&self) -> Option<String> {
        self.durable.as_ref().and_then(crate::data_dir::Durable::failure)
    }

    /// A subscription to the change feed from sequence number `from`
    /// (`None`: from the next event). Events are recorded only while a
    /// subscription is open; `from` must not be ahead of the feed
    /// ([`InvalidInput`](ErrorKind::InvalidInput)). See [`crate::feed`].
    pub fn subscribe(&self, from: Option<u64>) -> Result<Subscription> {
        Subscription::open(Arc::clone(&self.feed), from)
    }
}

fn stale_error(node: &str, at_ms: u64) -> Error {
    Error::new(
        ErrorKind::StaleHeartbeat,
        format!("heartbeat of node '{node}' at {at_ms} ms is older than its last one; ignored"),
    )
}
