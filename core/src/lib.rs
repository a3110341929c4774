//! # fleetgov
//!
//! An embedded fleet-governance engine. For a fleet of gateway nodes it knows
//! what each node *should* run (the **authority**: published, content-hashed
//! configuration snapshots) and what each node *does* run (the **execution**:
//! what the node reports it applied, with the hash it computed itself), and
//! keeps drift, cohesion, health and root causes up to date incrementally.
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]
#![deny(unsafe_code)]

pub mod audit;
mod cluster;
pub mod cohesion;
pub mod drift;
mod error;
mod hash;
pub mod health;
mod id;
mod role;
mod sync_error;
mod version;
mod workspace;

pub use cluster::{ClusterSpec, Environment};
pub use cohesion::ClusterStatus;
pub use drift::{ConfigStatus, DriftStatus, NodeStatus};
pub use error::{Error, ErrorKind, Result};
pub use hash::ContentHash;
pub use health::{Health, ProcessHealth, ProcessStatus};
pub use id::{validate_id, MAX_ID_LEN};
pub use role::Role;
pub use sync_error::{SyncError, SyncErrorCode, MAX_DETAIL_LEN};
pub use version::RuntimeVersion;
pub use workspace::{AuthorityMode, WorkspaceSpec};
