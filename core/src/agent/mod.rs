//! The execution side: a node agent that hot-swaps only verified
//! configuration and reports exactly what it applied.
//!
//! A gateway embeds one [`Agent`]. It pulls a snapshot's bytes, hands them to
//! [`Agent::apply`] with the hash the authority published, and the agent:
//!
//! 1. computes `blake3(bytes)` itself and refuses anything else
//!    (`HASH_MISMATCH`, nothing swapped), then refuses an empty configuration
//!    (`VALIDATION_FAILED`);
//! 2. asks the gateway's [`Reloader`] to compile and install the candidate; a
//!    refusal is recorded with its code and detail and the previous
//!    configuration stays live: the last known good. A hook that panics has a
//!    bug, not a configuration to report: nothing is recorded and the panic
//!    continues to the caller;
//! 3. publishes the candidate as the current configuration, which request
//!    threads read lock-free ([`Agent::current`], [`Agent::with_current`]).
//!
//! Its heartbeats ([`Agent::heartbeat`]) carry the snapshot it applied and the
//! hash *it* computed, never the one it was told to expect, so the engine
//! compares execution against authority with proof. [`Agent::on_directive`]
//! turns the engine's answer into what to pull.
//!
//! # Concurrency
//!
//! Everything a reader may see is one immutable state value (current config,
//! last known good, last sync error, counters) published through an
//! `ArcSwap`: a reader sees one whole state, never a mix of two. Applies,
//! rollbacks and error records are serialised by one mutex; only its holder
//! builds and publishes the next state, and it publishes a configuration only
//! after the hook accepted it. Readers never take that mutex, so a slow reload
//! never blocks a request or a heartbeat.
//!
//! The protocol is model-checked with loom (the primitives are swapped for
//! loom's in `sync.rs`): racing applies, a rejected apply racing readers, and a
//! rollback racing an apply, with every interleaving explored:
//!
//! ```text
//! RUSTFLAGS="--cfg fleetgov_loom" CARGO_TARGET_DIR=target/loom cargo test --release --test agent_loom
//! ```

mod applied;
mod directive;
mod reload;
mod report;
mod state;

use std::fmt;
use std::sync::Arc;

pub use applied::AppliedConfig;
pub use directive::PullRequest;
pub use reload::Reloader;
pub use report::OwnedHeartbeat;

use self::state::AgentState;
use crate::error::{Error, ErrorKind, Result};
use crate::execution::sync_error::{SyncError, SyncErrorCode};
use crate::hash::ContentHash;
use crate::sync::{AtomicU32, Mutex, MutexGuard, Published};
use crate::version::RuntimeVersion;

/// A gateway node's agent: holds the applied configuration, verifies and
/// installs new ones, and reports what it runs. `Send + Sync`; share it as
/// `Arc<Agent>` between request threads, the puller and the heartbeat loop.
///
/// ```
/// use fleetgov::{ContentHash, ErrorKind, SyncErrorCode, agent::Agent};
///
/// let agent = Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
/// let v1 = b"rate_limit: 1000".to_vec();
/// agent.apply("eks-prod-us@r1", v1.clone(), ContentHash::of(&v1), 1_000)?;
///
/// // A corrupted download never goes live.
/// let err = agent.apply("eks-prod-us@r2", b"rate_limit: 8".to_vec(), ContentHash::of(b"rate_limit: 800"), 2_000);
/// assert_eq!(err.unwrap_err().kind(), ErrorKind::InvalidInput);
/// assert_eq!(agent.last_sync_error().unwrap().code, SyncErrorCode::HashMismatch);
/// assert_eq!(agent.with_current(|c| c.map(|c| c.snapshot_id().to_owned())).as_deref(), Some("eks-prod-us@r1"));
/// # Ok::<(), fleetgov::Error>(())
/// ```
pub struct Agent {
    runtime_version: RuntimeVersion,
    reloader: Box<dyn Reloader>,
    /// What readers see. Stored only by the holder of `writer`.
    published: Published<AgentState>,
    /// Serialises every change; holds the state its holder last published.
    writer: Mutex<Arc<AgentState>>,
    /// The heap figure of the last heartbeat built, as `f32` bits ([`NO_HEAP`]: none yet).
    last_heap: AtomicU32,
}

/// Which change [`Agent::install`] makes.
#[derive(Clone, Copy)]
enum Step {
    Apply,
    Rollback,
}

/// `last_heap` before the first heartbeat: a NaN, never a validated heap figure.
const NO_HEAP: u32 = u32::MAX;

impl Agent {
    /// An agent for a runtime of `runtime_version` that installs configurations
    /// with `reloader`. It starts with no configuration applied.
    ///
    /// ```
    /// let agent = fleetgov::agent::Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// assert!(agent.current().is_none());
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn new(runtime_version: RuntimeVersion, reloader: impl Reloader + 'static) -> Self {
        let state = Arc::new(AgentState::default());
        Agent {
            runtime_version,
            reloader: Box::new(reloader),
            published: Published::new(Arc::clone(&state)),
            writer: Mutex::new(state),
            last_heap: AtomicU32::new(NO_HEAP),
        }
    }

    /// The runtime version the agent reports.
    ///
    /// ```
    /// let agent = fleetgov::agent::Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// assert_eq!(agent.runtime_version().to_string(), "3.5.0");
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn runtime_version(&self) -> RuntimeVersion {
        self.runtime_version
    }

    /// Verifies and installs `bytes` as snapshot `snapshot_id`: computes
    /// `blake3(bytes)` and compares it with `expected` before anything else,
    /// then refuses an empty configuration, then runs the [`Reloader`], and
    /// only if it accepts makes the configuration current. Returns it.
    ///
    /// Errors, each recorded as the node's last sync error while the previous
    /// configuration stays live:
    /// - `HASH_MISMATCH` ([`ErrorKind::InvalidInput`]): the bytes do not hash
    ///   to `expected`; the detail names both hashes;
    /// - `VALIDATION_FAILED` ([`ErrorKind::InvalidInput`]): the configuration is empty;
    /// - the hook's code and detail ([`ErrorKind::ReloadFailure`]); these count
    ///   as hot-swap errors.
    ///
    /// A hook that panics records nothing: the previous configuration stays
    /// live and the panic continues to the caller (see [`Reloader`]).
    ///
    /// A malformed `snapshot_id` is [`ErrorKind::InvalidInput`] and records
    /// nothing. Concurrent calls are serialised; readers are never blocked.
    ///
    /// ```
    /// use fleetgov::{ContentHash, SyncError, SyncErrorCode, agent::{Agent, AppliedConfig}};
    /// let agent = Agent::new("3.5.0".parse()?, |c: &AppliedConfig| match c.bytes() {
    ///     b"legacy" => Err(SyncError::new(SyncErrorCode::ReloadFailure, "Incompatible Filter Signature")),
    ///     _ => Ok(()),
    /// });
    /// agent.apply("c@r1", b"modern".to_vec(), ContentHash::of(b"modern"), 1)?;
    /// assert!(agent.apply("c@r2", b"legacy".to_vec(), ContentHash::of(b"legacy"), 2).is_err());
    /// assert_eq!(agent.current().unwrap().snapshot_id(), "c@r1"); // last known good stays live
    /// assert_eq!(agent.last_sync_error().unwrap().to_string(), "RELOAD_FAILURE: Incompatible Filter Signature");
    /// assert_eq!(agent.hot_swap_errors(), 1);
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn apply(
        &self,
        snapshot_id: &str,
        bytes: impl Into<Arc<[u8]>>,
        expected: ContentHash,
        at_ms: u64,
    ) -> Result<Arc<AppliedConfig>> {
        crate::id::validate_snapshot_id("snapshot id", snapshot_id)?;
        let bytes = bytes.into();
        // Hashing is the slow part and needs no lock.
        let computed = ContentHash::of(&bytes);
        let mut writer = self.writer.lock();
        let not_applied = || format!("snapshot {snapshot_id} not applied");
        if computed != expected {
            let detail = format!("expected {expected}, computed {computed} over {} bytes", bytes.len());
            let error = SyncError::new(SyncErrorCode::HashMismatch, detail);
            return Err(self.fail(&mut writer, error, false, not_applied()));
        }
        if bytes.is_empty() {
            let error = SyncError::new(SyncErrorCode::ValidationFailed, "configuration is empty");
            return Err(self.fail(&mut writer, error, false, not_applied()));
        }
        let candidate = Arc::new(AppliedConfig::verified(snapshot_id, computed, bytes, at_ms));
        self.install(&mut writer, candidate, Step::Apply)
    }

    /// Rolls back to the last known good configuration (the one before the
    /// current), through the [`Reloader`] like any apply, stamped `at_ms`.
    /// Afterwards there is no rollback target until the next apply. The last
    /// sync error is kept.
    ///
    /// [`ErrorKind::NotFound`] if there is nothing to roll back to; a hook
    /// failure is recorded as in [`apply`](Self::apply) and the current
    /// configuration stays live.
    ///
    /// ```
    /// use fleetgov::{ContentHash, ErrorKind, agent::Agent};
    /// let agent = Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// assert_eq!(agent.rollback(0).unwrap_err().kind(), ErrorKind::NotFound);
    /// agent.apply("c@r1", b"one".to_vec(), ContentHash::of(b"one"), 1)?;
    /// agent.apply("c@r2", b"two".to_vec(), ContentHash::of(b"two"), 2)?;
    /// let back = agent.rollback(3)?;
    /// assert_eq!((back.snapshot_id(), back.applied_at_ms()), ("c@r1", 3));
    /// assert!(agent.last_known_good().is_none());
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn rollback(&self, at_ms: u64) -> Result<Arc<AppliedConfig>> {
        let mut writer = self.writer.lock();
        let Some(good) = writer.last_good.as_ref() else {
            return Err(Error::not_found("a last known good configuration to roll back to"));
        };
        let candidate = Arc::new(good.reapplied(at_ms));
        self.install(&mut writer, candidate, Step::Rollback)
    }

    /// Records a sync error the agent did not see itself, e.g. the caller's
    /// pull timed out (`NATS_TIMEOUT`, `FETCH_TIMEOUT`). The next heartbeats
    /// carry it until a successful apply clears it.
    ///
    /// ```
    /// use fleetgov::{SyncErrorCode, agent::Agent};
    /// let agent = Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// agent.record_sync_error("NATS_TIMEOUT: Failed to receive snapshot".parse()?);
    /// assert_eq!(agent.last_sync_error().unwrap().code, SyncErrorCode::NatsTimeout);
    /// assert_eq!(agent.hot_swap_errors(), 0); // not a reload
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn record_sync_error(&self, error: SyncError) {
        let mut writer = self.writer.lock();
        let next = writer.failed(error, false);
        self.publish(&mut writer, next);
    }

    /// The configuration live now, owned (one reference-count increment).
    /// For a per-request read prefer [`with_current`](Self::with_current).
    ///
    /// ```
    /// let agent = fleetgov::agent::Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// assert!(agent.current().is_none());
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn current(&self) -> Option<Arc<AppliedConfig>> {
        self.published.read(|s| s.current.clone())
    }

    /// Runs `f` on the configuration live now, lock-free and without touching
    /// any reference count: the per-request read. Keep `f` short; a swap that
    /// happens meanwhile keeps the old configuration alive until `f` returns.
    ///
    /// ```
    /// use fleetgov::{ContentHash, agent::Agent};
    /// let agent = Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// agent.apply("c@r1", b"limit: 5".to_vec(), ContentHash::of(b"limit: 5"), 1)?;
    /// assert_eq!(agent.with_current(|c| c.map_or(0, |c| c.bytes().len())), 8);
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn with_current<R>(&self, f: impl FnOnce(Option<&AppliedConfig>) -> R) -> R {
        self.published.read(|s| f(s.current.as_deref()))
    }

    /// The rollback target: the configuration live before the current one.
    ///
    /// ```
    /// let agent = fleetgov::agent::Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// assert!(agent.last_known_good().is_none());
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn last_known_good(&self) -> Option<Arc<AppliedConfig>> {
        self.published.read(|s| s.last_good.clone())
    }

    /// Why the last attempt to apply failed, until a successful apply.
    ///
    /// ```
    /// let agent = fleetgov::agent::Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// assert!(agent.last_sync_error().is_none());
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn last_sync_error(&self) -> Option<SyncError> {
        self.published.read(|s| s.last_error.clone())
    }

    /// Reloads the hook refused since the agent started (a panicking hook is not counted).
    ///
    /// ```
    /// let agent = fleetgov::agent::Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// assert_eq!(agent.hot_swap_errors(), 0);
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn hot_swap_errors(&self) -> u32 {
        self.published.read(|s| s.hot_swap_errors)
    }

    /// Runs the hook on `candidate`; publishes the state after `step` if it
    /// accepts, records the failure if not.
    fn install(
        &self,
        writer: &mut MutexGuard<'_, Arc<AgentState>>,
        candidate: Arc<AppliedConfig>,
        step: Step,
    ) -> Result<Arc<AppliedConfig>> {
        // A panicking hook unwinds from here before anything is published.
        match self.reloader.reload(&candidate) {
            Ok(()) => {
                let state = match step {
                    Step::Apply => writer.applied(Arc::clone(&candidate)),
                    Step::Rollback => writer.rolled_back(Arc::clone(&candidate)),
                };
                self.publish(writer, state);
                Ok(candidate)
            }
            Err(error) => {
                let context = match step {
                    Step::Apply => format!("snapshot {} not applied", candidate.snapshot_id()),
                    Step::Rollback => format!("rollback to snapshot {} failed", candidate.snapshot_id()),
                };
                Err(self.fail(writer, error, true, context))
            }
        }
    }

    /// Records `error` (a failed reload if `reload`) and returns it as an
    /// [`Error`] whose message is `context: CODE: detail`.
    fn fail(
        &self,
        writer: &mut MutexGuard<'_, Arc<AgentState>>,
        error: SyncError,
        reload: bool,
        context: String,
    ) -> Error {
        let kind = if reload { ErrorKind::ReloadFailure } else { ErrorKind::InvalidInput };
        let err = Error::new(kind, format!("{context}: {error}"));
        let state = writer.failed(error, reload);
        self.publish(writer, state);
        err
    }

    /// Publishes `state` to readers; the caller holds the writer lock.
    fn publish(&self, writer: &mut MutexGuard<'_, Arc<AgentState>>, state: AgentState) {
        let state = Arc::new(state);
        self.published.store(Arc::clone(&state));
        **writer = state;
    }
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.published.read(|s| {
            f.debug_struct("Agent")
                .field("runtime_version", &self.runtime_version)
                .field("current", &s.current)
                .field("last_good", &s.last_good)
                .field("last_error", &s.last_error)
                .field("hot_swap_errors", &s.hot_swap_errors)
                .finish_non_exhaustive()
        })
    }
}
