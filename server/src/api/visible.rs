//! What a token may see of the fleet, looked up by the id a request names.
//!
//! An object outside the token's workspaces answers exactly like a missing
//! one: 404 `NOT_FOUND` with the same message, built here for both cases, so
//! a token scoped to some workspaces cannot learn that an id exists in
//! another. A workspace named by a request is checked against the scope
//! before any state is read.

use std::sync::Arc;

use fleetgov::{ClusterView, ContentHash, ErrorKind, NodeView, Snapshot, WorkspaceSpec};

use crate::auth::{Principal, Scope};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The one answer for "`what` `id` is missing or outside your workspaces".
///
/// ```text
/// 404 {"error": {"code": "NOT_FOUND", "message": "cluster 'eks-prod-us' not found"}}
/// ```
pub(crate) fn not_found(what: &str, id: &str) -> ApiError {
    fleetgov::Error::not_found(format_args!("{what} '{id}'")).into()
}

/// An engine lookup's error, with a missing object answered as [`not_found`].
fn hide(e: fleetgov::Error, what: &str, id: &str) -> ApiError {
    if e.kind() == ErrorKind::NotFound { not_found(what, id) } else { e.into() }
}

/// The workspace `id`, if the token may see it.
pub(crate) fn workspace(state: &AppState, who: &Principal, id: &str) -> ApiResult<WorkspaceSpec> {
    if !who.scope.allows(id) {
        return Err(not_found("workspace", id));
    }
    state.engine.workspace(id).map_err(|e| hide(e, "workspace", id))
}

/// The cluster `id`, if it lies in a workspace the token may see.
pub(crate) fn cluster(state: &AppState, who: &Principal, id: &str) -> ApiResult<ClusterView> {
    match state.engine.cluster(id, state.now_ms()) {
        Ok(view) if who.scope.allows(&view.workspace) => Ok(view),
        Ok(_) => Err(not_found("cluster", id)),
        Err(e) => Err(hide(e, "cluster", id)),
    }
}

/// The node `id`, if its cluster lies in a workspace the token may see.
pub(crate) fn node(state: &AppState, who: &Principal, id: &str) -> ApiResult<NodeView> {
    let node = state.engine.node(id, state.now_ms()).map_err(|e| hide(e, "node", id))?;
    if !cluster_in_scope(state, who, &node.cluster_id)? {
        return Err(not_found("node", id));
    }
    Ok(node)
}

/// The snapshot `id` (`<cluster>@r<revision>`), if its cluster lies in a
/// workspace the token may see.
pub(crate) fn snapshot(state: &AppState, who: &Principal, id: &str) -> ApiResult<Snapshot> {
    match fleetgov::parse_snapshot_id(id) {
        Some((cluster_id, _)) if cluster_in_scope(state, who, cluster_id)? => {
            state.engine.snapshot(id).map_err(|e| hide(e, "snapshot", id))
        }
        _ => Err(not_found("snapshot", id)),
    }
}

/// Whether `cluster_id` exists and lies in a workspace the token may see.
fn cluster_in_scope(state: &AppState, who: &Principal, cluster_id: &str) -> ApiResult<bool> {
    match state.engine.cluster(cluster_id, state.now_ms()) {
        Ok(view) => Ok(who.scope.allows(&view.workspace)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The artifact `hash`, if a workspace the token may see has a snapshot of
/// it. A token of every workspace reads any stored artifact (each was stored
/// by a publish); a scoped token's clusters are searched, desired snapshot
/// first, then every revision.
pub(crate) fn artifact(state: &AppState, who: &Principal, hash: &ContentHash) -> ApiResult<Arc<[u8]>> {
    let label = hash.to_string();
    if who.scope != Scope::All && !scoped_snapshot_has(state, who, hash) {
        return Err(not_found("artifact", &label));
    }
    state.engine.artifact(hash).map_err(|e| hide(e, "artifact", &label))
}

fn scoped_snapshot_has(state: &AppState, who: &Principal, hash: &ContentHash) -> bool {
    let clusters = state.engine.clusters(state.now_ms());
    clusters.iter().filter(|c| who.scope.allows(&c.workspace)).any(|c| {
        c.desired_hash.as_ref() == Some(hash)
            || (1..)
                .map_while(|revision| state.engine.snapshot(&fleetgov::snapshot_id(&c.id, revision)).ok())
                .any(|s| s.hash == *hash)
    })
}
