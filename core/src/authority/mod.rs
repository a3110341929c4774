//! The authority: what each node *should* run. Workspaces and their rules,
//! clusters, published content-hashed snapshots and their artifacts,
//! policies, and their replay from the audit log.

mod catalog;
pub(crate) mod cluster;
pub(crate) mod cluster_spec;
pub(crate) mod event;
pub mod policy;
pub(crate) mod replay;
pub mod rollout;
pub(crate) mod snapshot;
pub(crate) mod steering;
pub(crate) mod workspace;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, OnceLock};

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};

use crate::authority::policy::PolicyRegistry;
use crate::authority::workspace::WorkspaceSpec;
use crate::chunked::Chunked;
use crate::cluster_state::ClusterState;
use crate::hash::ContentHash;

/// The cluster table starts with 64 entries and doubles.
const CLUSTER_BASE_BITS: u32 = 6;

/// The authority state of the whole fleet. Its fields are private to this
/// part: the rest of the engine asks through the `impl Engine` blocks of
/// this folder (the catalogue, policies, replay).
pub(crate) struct Authority {
    workspaces: RwLock<BTreeMap<String, WorkspaceSpec>>,
    cluster_ids: RwLock<hashbrown::HashMap<String, u32>>,
    clusters: Chunked<OnceLock<ClusterState>>,
    cluster_count: AtomicU32,
    artifacts: DashMap<ContentHash, Arc<[u8]>>,
    policies: PolicyRegistry,
    /// Serialises authority changes, so the audit order is the apply order;
    /// holds how many audit records have their authority events applied.
    changes: Mutex<u64>,
}

impl Authority {
    pub(crate) fn new() -> Authority {
        Authority {
            workspaces: RwLock::new(BTreeMap::new()),
            cluster_ids: RwLock::new(hashbrown::HashMap::new()),
            clusters: Chunked::doubling(CLUSTER_BASE_BITS),
            cluster_count: AtomicU32::new(0),
            artifacts: DashMap::new(),
            policies: PolicyRegistry::new(),
            changes: Mutex::new(0),
        }
    }
}
