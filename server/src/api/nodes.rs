//! Nodes: the paginated node matrix, one node, enrolment and removal.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use fleetgov::{ConfigStatus, DriftStatus, ErrorKind, Health, NodeView, ProcessHealth, Role, SyncErrorCode};
use fleetgov_dto::NodeJson;
use serde::{Deserialize, Serialize};

use super::node_sort::{SortKey, SortOrder, SortedPage};
use super::{blocking, page_limit, visible};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Filters and paging of the node matrix.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodesQuery {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
    config: Option<ConfigStatus>,
    health: Option<Health>,
    drift: Option<DriftStatus>,
    process_health: Option<ProcessHealth>,
    /// Whether the node's last report counts (in sync, at most 60 minutes old).
    verified: Option<bool>,
    /// A substring of the node id.
    q: Option<String>,
    /// The code of the node's last sync error (a root cause), e.g. `RELOAD_FAILURE`.
    error: Option<SyncErrorCode>,
    /// The column to sort by (enrolment order when absent); the node id breaks ties.
    sort: Option<SortKey>,
    /// `asc` (default) or `desc`.
    #[serde(default)]
    order: SortOrder,
}

impl NodesQuery {
    fn filtered(&self) -> bool {
        self.config.is_some()
            || self.health.is_some()
            || self.drift.is_some()
            || self.process_health.is_some()
            || self.verified.is_some()
            || self.q.as_deref().is_some_and(|q| !q.is_empty())
            || self.error.is_some()
    }

    fn matches(&self, n: &NodeView) -> bool {
        self.config.is_none_or(|c| c == n.config_status)
            && self.health.is_none_or(|h| h == n.health)
            && self.drift.is_none_or(|d| d == n.drift)
            && self.process_health.is_none_or(|p| p == n.process_health)
            && self.verified.is_none_or(|v| v == n.verified)
            && self.q.as_deref().is_none_or(|q| n.id.contains(q))
            && self.error.is_none_or(|code| n.last_sync_error.as_ref().is_some_and(|e| e.code == code))
    }
}

/// One page of the node matrix.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodesPage {
    cluster: String,
    /// Nodes enrolled in the cluster.
    total: u64,
    /// Nodes matching the filters (all of them when there are none).
    matched: u64,
    offset: usize,
    limit: usize,
    nodes: Vec<NodeJson>,
}

const SCAN_CHUNK: usize = 2048;

/// `GET /api/v1/clusters/{id}/nodes?offset=&limit=&config=&health=&drift=&processHealth=&verified=&q=&error=&sort=&order=`:
/// the node matrix in enrolment order, or sorted by a column; `offset` counts matching nodes.
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<NodesQuery>,
) -> ApiResult<Json<NodesPage>> {
    let view = visible::cluster(&state, &who, &id)?;
    let limit = page_limit(q.limit, 50, 1_000)?;
    let now = state.now_ms();
    if !q.filtered() && q.sort.is_none() {
        let nodes = state.engine.cluster_nodes(&id, now, q.offset, limit)?;
        return Ok(Json(NodesPage {
            cluster: id,
            total: view.total,
            matched: view.total,
            offset: q.offset,
            limit,
            nodes: nodes.iter().map(Into::into).collect(),
        }));
    }
    let (mut matched, mut nodes, mut scanned) = (0u64, Vec::new(), 0usize);
    let mut sorted = q.sort.map(|key| SortedPage::new(key, q.order, q.offset, limit));
    loop {
        let chunk = state.engine.cluster_nodes(&id, now, scanned, SCAN_CHUNK)?;
        scanned += chunk.len();
        let last = chunk.len() < SCAN_CHUNK;
        for node in chunk.into_iter().filter(|n| q.matches(n)) {
            match &mut sorted {
                Some(page) => page.push(node),
                None if matched >= q.offset as u64 && nodes.len() < limit => nodes.push((&node).into()),
                None => {}
            }
            matched += 1;
        }
        if last {
            break;
        }
    }
    if let Some(page) = sorted {
        nodes = page.finish().iter().map(Into::into).collect();
    }
    Ok(Json(NodesPage { cluster: id, total: view.total, matched, offset: q.offset, limit, nodes }))
}

/// `GET /api/v1/nodes/{id}`.
pub async fn get(State(state): State<AppState>, who: Principal, Path(id): Path<String>) -> ApiResult<Json<NodeJson>> {
    Ok(Json((&visible::node(&state, &who, &id)?).into()))
}

/// The body of `POST /api/v1/clusters/{id}/nodes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollBody {
    nodes: Vec<String>,
}

/// The answer to an enrolment: the node handles (in request order) that
/// binary heartbeat records name nodes by.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrolled {
    cluster: String,
    /// Nodes now enrolled in the cluster.
    total: u64,
    /// [`fleetgov::NodeHandle::to_raw`] of each node, in request order.
    handles: Vec<u64>,
}

/// The most nodes one enrolment request may name.
pub const MAX_ENROLL: usize = 100_000;

/// `POST /api/v1/clusters/{id}/nodes` (operator): enrols nodes. Every id is
/// checked first (well-formed, not enrolled in another cluster), so a request
/// with one bad id enrols nothing. Nodes enrolled already keep their
/// enrolment (asking again is how a binary client learns its handles after
/// a restart); the new ones are made durable together, with one write to
/// the data directory, before the answer.
pub async fn enroll(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(body): Json<EnrollBody>,
) -> ApiResult<(StatusCode, Json<Enrolled>)> {
    who.require(Role::Operator)?;
    visible::cluster(&state, &who, &id)?;
    if body.nodes.is_empty() || body.nodes.len() > MAX_ENROLL {
        return Err(ApiError::invalid(format!("nodes must list 1 to {MAX_ENROLL} ids")));
    }
    let now = state.now_ms();
    for node in &body.nodes {
        fleetgov::validate_id("node", node)?;
        if let Ok(existing) = state.engine.node(node, now)
            && existing.cluster_id != id
        {
            // Node ids are global: name the other cluster only to a token that may see it.
            let message = match visible::cluster(&state, &who, &existing.cluster_id) {
                Ok(_) => format!("node '{node}' is enrolled in cluster '{}'", existing.cluster_id),
                Err(_) => format!("node id '{node}' is taken"),
            };
            return Err(fleetgov::Error::new(ErrorKind::Conflict, message).into());
        }
    }
    blocking(move || {
        let nodes = body.nodes.iter().map(|node| (node.as_str(), id.as_str()));
        let handles = state.engine.enroll_many(nodes, now)?.into_iter().map(|h| h.to_raw()).collect();
        let total = state.engine.cluster(&id, now)?.total;
        Ok((StatusCode::CREATED, Json(Enrolled { cluster: id, total, handles })))
    })
    .await
}

/// `DELETE /api/v1/nodes/{id}` (operator): removes the node from its
/// cluster ([`fleetgov::Engine::unenroll`]): it leaves the cluster's counts,
/// its heartbeats answer 404 until it is enrolled again, and the removal is
/// audited (`remove_node`) with the token's actor before it takes effect and
/// is durable before the answer. 200 with the audit record; 403 for a
/// viewer; 404 for a node that is not enrolled or lies outside the token's
/// workspaces (the same answer).
pub async fn remove(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<fleetgov_dto::AuditRecordJson>> {
    who.require(Role::Operator)?;
    visible::node(&state, &who, &id)?;
    let at = state.now_ms();
    blocking(move || Ok(Json(fleetgov_dto::AuditRecordJson::from(&*state.engine.unenroll(&id, &who.by(at))?)))).await
}
