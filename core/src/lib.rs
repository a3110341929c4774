//! # fleetgov
//!
//! An embedded fleet-governance engine. For a fleet of gateway nodes it knows
//! what each node *should* run (the **authority**: published, content-hashed
//! configuration snapshots) and what each node *does* run (the **execution**:
//! what the node reports it applied, with the hash it computed itself), and
//! keeps drift, cohesion, health and root causes up to date incrementally.
//!
//! ```
//! use fleetgov::*;
//!
//! let engine = Engine::new();
//! engine.upsert_workspace(WorkspaceSpec::new("ws-1"))?;
//! engine.upsert_cluster(ClusterSpec::new("eks-prod-us", "ws-1", Environment::Production).auto_reconcile(true))?;
//! let t = 1_700_000_000_000;
//! let v1 = engine.publish("eks-prod-us", b"rate_limit: 1000", "alice", t)?;
//! let gw = engine.enroll("gw-1", "eks-prod-us", t)?;
//! let hb = Heartbeat::new(t, "3.5.0".parse()?).applied(&v1.id, v1.hash);
//! assert!(engine.heartbeat(gw, &hb)?.is_none()); // in sync: nothing to do
//!
//! let v2 = engine.publish("eks-prod-us", b"rate_limit: 800", "alice", t + 1)?;
//! assert_eq!(engine.cohesion("eks-prod-us")?, 0); // O(1): nobody runs v2 yet
//! let d = engine.heartbeat(gw, &Heartbeat { at_ms: t + 2, ..hb })?.expect("reconcile");
//! assert_eq!((d.kind, d.snapshot.id.as_str()), (DirectiveKind::Reconcile, v2.id.as_str()));
//! # Ok::<(), fleetgov::Error>(())
//! ```
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]
#![deny(unsafe_code)]

pub mod agent;
mod authority;
mod chunked;
mod clock;
mod cluster_state;
pub mod cohesion;
mod data_dir;
pub use authority::{policy, rollout};
pub use data_dir::JournalVerification;
pub use execution::heartbeat_record as record;
pub use execution::{Imported, JournalExport, Replaced, Retention};
pub use execution::{freshness, table, unmatched};
pub use governance::{attestation, audit};
pub mod demo;
pub mod distribution;
pub mod drift;
mod engine;
mod error;
mod execution;
pub mod feed;
mod governance;
mod hash;
pub mod health;
mod huge_pages;
mod id;
mod inventory;
mod prefetch;
mod role;
mod sync;
mod text;
mod version;
mod view;
mod wake;

pub use authority::cluster_spec::{ClusterSpec, Environment};
pub use authority::policy::{Policy, PolicyRegistry, PolicyScope, RuleSet, RuleValue};
pub use authority::snapshot::{Snapshot, parse_snapshot_id, snapshot_id};
pub use authority::workspace::{AuthorityMode, WorkspaceSpec};
pub use clock::Clock;
pub use cohesion::ClusterStatus;
pub use distribution::FleetConfig;
pub use drift::{ConfigStatus, DriftStatus, NodeStatus};
pub use engine::{DEFAULT_RETENTION, EMBEDDER, Engine, EngineConfig, NodeHandle};
pub use error::{Error, ErrorKind, Result};
pub use execution::Received;
pub use execution::batch::BatchSummary;
pub use execution::batch_by_id::{HeartbeatAnswer, IdBuffer, IdColumn};
pub use execution::heartbeat::{Directive, DirectiveKind, Heartbeat, MAX_FUTURE_SKEW_MS, Metrics};
pub use execution::history::{AppliedAt, AppliedChange};
pub use execution::node_registry::MAX_CAPACITY;
pub use execution::sync_error::{MAX_DETAIL_LEN, SyncError, SyncErrorCode, cut_detail};
pub use feed::{AuditChange, Change, ChangeEvent, ClusterChange, FeedItem, NodeChange, Subscription};
pub use governance::attestation::{Attestation, AttestedFleet, DesiredSnapshot, verify_attestation};
pub use governance::overrides::{By, ForceTarget, Override, SYSTEM_ACTOR, is_reserved_actor};
pub use governance::rollouts::{RolloutView, WaveView};
pub use hash::ContentHash;
pub use health::{Health, ProcessHealth, ProcessStatus};
pub use id::{MAX_ID_LEN, MAX_SNAPSHOT_ID_LEN, validate_id, validate_snapshot_id};
pub use inventory::{DesiredCluster, DesiredState, FleetInventory, FleetPage, FleetQuery, FleetSummary, Runtime};
pub use role::Role;
pub use text::{
    MAX_ACTOR_LEN, MAX_JUSTIFICATION_LEN, MAX_OWNER_TEAM_LEN, validate_actor, validate_justification,
    validate_owner_team,
};
pub use version::RuntimeVersion;
pub use view::{ClusterView, NodeView, RevisionCount, RootCause};

/// The README's Rust example, compiled and run as a doctest.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
