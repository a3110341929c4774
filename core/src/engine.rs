//! The engine: one value that composes the three parts of a fleet's state
//! — the authority ([`crate::authority`]: what each node should run), the
//! execution ([`crate::execution`]: what each node does run) and governance
//! ([`crate::governance`]: overrides, the audit log, the signer) — beside
//! the clock, the change feed and the data directory. Each part keeps its
//! fields private; `Engine`'s methods are written in the part whose state
//! they change and reach the others through their methods.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use crate::authority::Authority;
use crate::execution::Execution;
use crate::feed::{AuditChange, Change, Feed, Subscription};
use crate::governance::Governance;
use crate::governance::audit::{AuditLog, AuditRecord, AuditStore, CheckpointSigner};

use crate::clock::Clock;
use crate::cluster_state::ClusterState;
use crate::error::{Error, Result};
use crate::execution::node_registry::Capacity;

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
    /// How long the execution history is kept (30 days by default): what
    /// ran before the engine's clock less this is refused
    /// ([`HistoryUnavailable`](crate::ErrorKind::HistoryUnavailable)), and
    /// compaction ([`Engine::compact`]) drops the transitions behind it,
    /// keeping each node's last one. At least 1 ms.
    pub retention: std::time::Duration,
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
            retention: DEFAULT_RETENTION,
            audit_path: None,
            signing_seed: None,
            origin: "fleetgov".to_owned(),
            feed_capacity: crate::feed::DEFAULT_FEED_CAPACITY,
        }
    }
}

/// [`EngineConfig::retention`] in ms (a retention beyond `u64` ms is forever).
fn engine_retention_ms(config: &EngineConfig) -> u64 {
    u64::try_from(config.retention.as_millis()).unwrap_or(u64::MAX)
}

/// The default [`EngineConfig::retention`]: 30 days.
pub const DEFAULT_RETENTION: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

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
    pub(crate) clock: Clock,
    /// What each node should run (see [`crate::authority`]).
    pub(crate) authority: Authority,
    /// What each node does run (see [`crate::execution`]).
    pub(crate) execution: Execution,
    /// Overrides, the audit log and the signer (see [`crate::governance`]).
    pub(crate) governance: Governance,
    /// What changed, for subscribers (see [`crate::feed`]).
    pub(crate) feed: Arc<Feed>,
    /// Where the retained history begins: when the data directory was made,
    /// or without one the clock when the engine was made.
    pub(crate) history_from_ms: u64,
    /// [`EngineConfig::retention`] in ms.
    pub(crate) retention_ms: u64,
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
        let capacity = crate::execution::node_registry::check_capacity(config.capacity).expect("default capacity");
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
        Engine::replayed(config, capacity, audit, dir, false)
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
    /// `None` ([`InvalidInput`](crate::ErrorKind::InvalidInput) otherwise).
    pub fn with_audit_store(config: EngineConfig, store: Box<dyn AuditStore>) -> Result<Engine> {
        if config.audit_path.is_some() {
            return Err(Error::invalid("an engine has one audit log: give an audit path or a store, not both"));
        }
        let capacity = Engine::check_config(&config)?;
        let dir = Engine::open_data_dir(&config)?;
        Engine::replayed(config, capacity, AuditLog::with_store(store)?, dir, true)
    }

    /// Builds the engine, applies the authority events already in `audit`,
    /// then restores the execution state of `dir`. `shared_audit`: other
    /// engines may write to `audit` (a store given to
    /// [`with_audit_store`](Self::with_audit_store)).
    fn replayed(
        mut config: EngineConfig,
        capacity: Capacity,
        audit: AuditLog,
        dir: Option<crate::data_dir::DataDir>,
        shared_audit: bool,
    ) -> Result<Engine> {
        if let (Some(dir), None) = (&dir, config.signing_seed) {
            config.signing_seed = Some(dir.signing_seed()?);
        }
        let cadence = crate::data_dir::Cadence {
            interval: config.journal_interval,
            checkpoint_every: config.checkpoint_interval,
            segment_len: config.journal_segment_len.max(1),
            retention_ms: engine_retention_ms(&config),
        };
        let mut engine = Engine::build(config, capacity, audit);
        drop(engine.authority_lock()?);
        if let Some(dir) = dir {
            engine.history_from_ms = dir.created_ms;
            engine.durable = Some(engine.restore_execution(dir, cadence, shared_audit)?);
            // Whatever was answered before the restart was about a time
            // before now: seal it (see `AuditLog::seal`), so answers given
            // before a restart hold after it.
            engine.governance.audit().seal(engine.clock.now_ms());
        }
        Ok(engine)
    }

    /// Checks `config` before anything is opened: capacity, origin.
    fn check_config(config: &EngineConfig) -> Result<Capacity> {
        let capacity = crate::execution::node_registry::check_capacity(config.capacity)?;
        // Checks the origin (a key name) now rather than at the first checkpoint.
        CheckpointSigner::from_seed(&config.origin, [0; 32])?;
        let millisecond = std::time::Duration::from_millis(1);
        if config.retention < millisecond {
            return Err(Error::invalid(format!("the retention ({:?}) must be at least 1 ms", config.retention)));
        }
        if config.journal_interval < millisecond || config.checkpoint_interval < millisecond {
            return Err(Error::invalid(format!(
                "the journal interval ({:?}) and the checkpoint interval ({:?}) must be at least 1 ms",
                config.journal_interval, config.checkpoint_interval
            )));
        }
        Ok(capacity)
    }

    fn build(config: EngineConfig, capacity: Capacity, audit: AuditLog) -> Engine {
        let retention_ms = engine_retention_ms(&config);
        Engine {
            authority: Authority::new(),
            execution: Execution::new(capacity, next_tag()),
            governance: Governance::new(audit, config.signing_seed, config.origin),
            feed: Arc::new(Feed::new(config.feed_capacity)),
            history_from_ms: config.clock.now_ms(),
            retention_ms,
            durable: None,
            clock: config.clock,
        }
    }

    /// The checkpoint signer, made from the configured seed or generated on first use.
    pub(crate) fn signer(&self) -> Result<&CheckpointSigner> {
        self.governance.signer()
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
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
    /// data directory there is nothing to sync. An [`Io`](crate::ErrorKind::Io)
    /// error says why the writer cannot write (it keeps retrying).
    pub fn sync_journal(&self) -> Result<()> {
        match &self.durable {
            Some(durable) => durable.sync(u64::from(self.execution.journal_len())),
            None => Ok(()),
        }
    }

    /// Writes every node's last report (revision, hash, status, error,
    /// heartbeat time, metrics) to the data directory's checkpoint now, with
    /// every transition journalled before it, and returns once it is on
    /// disk. The writer does this by itself every
    /// [`checkpoint_interval`](EngineConfig::checkpoint_interval) and when
    /// the engine is dropped; call it before a planned stop or a backup, so
    /// that a crash after it loses no heartbeat time or metric reported
    /// before it. Without a data directory there is nothing to write.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("fleetgov-doc-ckpt-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// use fleetgov::{Engine, EngineConfig};
    /// let engine = Engine::with_config(EngineConfig { data_dir: Some(dir.clone()), ..EngineConfig::default() })?;
    /// assert_eq!(engine.data_dir(), Some(dir.as_path()));
    /// engine.checkpoint_nodes()?;
    /// assert!(dir.join("nodes.ckpt").exists());
    /// # drop(engine);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn checkpoint_nodes(&self) -> Result<()> {
        match &self.durable {
            Some(durable) => durable.checkpoint(),
            None => Ok(()),
        }
    }

    /// The data directory this engine keeps its state in, if it was given one.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.durable.as_ref().map(crate::data_dir::Durable::path)
    }

    /// Why the data directory's journal writer last failed to write, if it
    /// did (`None` also without a data directory); it retries every interval.
    pub fn journal_failure(&self) -> Option<String> {
        self.durable.as_ref().and_then(crate::data_dir::Durable::failure)
    }

    /// A subscription to the change feed from sequence number `from`
    /// (`None`: from the next event). Events are recorded only while a
    /// subscription is open; `from` must not be ahead of the feed
    /// ([`InvalidInput`](crate::ErrorKind::InvalidInput)). See [`crate::feed`].
    pub fn subscribe(&self, from: Option<u64>) -> Result<Subscription> {
        Subscription::open(Arc::clone(&self.feed), from)
    }
}
