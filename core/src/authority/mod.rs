//! The authority: what each node *should* run. Workspaces and their rules,
//! clusters, published content-hashed snapshots and their artifacts,
//! policies, and their replay from the audit log.

pub(crate) mod cluster_spec;
pub(crate) mod event;
pub mod policy;
pub(crate) mod replay;
pub(crate) mod snapshot;
pub(crate) mod workspace;
