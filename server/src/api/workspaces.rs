//! Workspaces and the seeds' fleet inventory.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use fleetgov::{AuthorityMode, DriftStatus, ErrorKind, Health, Role, WorkspaceSpec};
use fleetgov_dto::{ClusterJson, DesiredStateJson, FleetConfigJson, FleetSummaryJson, PolicyJson, RuntimeJson};
use serde::{Deserialize, Serialize};

use super::{blocking, page_limit, visible};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A workspace with its clusters and fleet summary (what the Observe page shows).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceItem {
    id: String,
    authority_mode: AuthorityMode,
    min_runtime_version: String,
    summary: FleetSummaryJson,
    clusters: Vec<ClusterJson>,
}

fn item(state: &AppState, id: &str, now: u64) -> ApiResult<WorkspaceItem> {
    let ws = state.engine.workspace(id)?;
    let clusters = state.engine.desired_state(id)?.clusters;
    Ok(WorkspaceItem {
        authority_mode: ws.authority_mode,
        min_runtime_version: ws.min_runtime_version.to_string(),
        summary: state.engine.fleet_summary(id, now)?.into(),
        clusters: clusters
            .iter()
            .filter_map(|c| state.engine.cluster(&c.cluster, now).ok())
            .map(|c| (&c).into())
            .collect(),
        id: ws.id,
    })
}

/// `GET /api/v1/workspaces`: the workspaces the token may see.
pub async fn list(State(state): State<AppState>, who: Principal) -> ApiResult<Json<serde_json::Value>> {
    let now = state.now_ms();
    let items: Vec<WorkspaceItem> = state
        .engine
        .workspaces()
        .iter()
        .filter(|w| who.scope.allows(&w.id))
        .filter_map(|w| item(&state, &w.id, now).ok())
        .collect();
    Ok(Json(serde_json::json!({ "workspaces": items })))
}

/// `GET /api/v1/workspaces/{id}`.
pub async fn get(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WorkspaceItem>> {
    visible::workspace(&state, &who, &id)?;
    Ok(Json(item(&state, &id, state.now_ms())?))
}

/// The body of `PUT /api/v1/workspaces/{id}`: what to set, one field at
/// least; an absent field keeps its value (a new workspace: `authoritative`,
/// `3.4.0`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkspaceBody {
    /// `authoritative`, `tighten_only` or `dev_override`, in any case, with
    /// `-` or a space for `_` (the seeds' "Tighten-only", "Dev Override").
    authority_mode: Option<String>,
    /// Runtimes below this version are `upgrade_required`.
    min_runtime_version: Option<String>,
}

/// `PUT /api/v1/workspaces/{id}` (admin): creates a workspace or changes its
/// authority mode or minimum runtime version; audited with the token's
/// actor and role. Creating one needs a token of every workspace; changing
/// one, a token that may see it. 201 with the workspace when it was
/// created, 200 when changed; 400 for a bad mode or version, or
/// `dev_override` over a workspace with a cluster that is not development.
pub async fn put(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(body): Json<WorkspaceBody>,
) -> ApiResult<(StatusCode, Json<WorkspaceItem>)> {
    who.require(Role::Admin)?;
    if body.authority_mode.is_none() && body.min_runtime_version.is_none() {
        return Err(ApiError::invalid("name authorityMode, minRuntimeVersion or both"));
    }
    let (base, status) = match state.engine.workspace(&id) {
        Ok(existing) => {
            visible::workspace(&state, &who, &id)?;
            (existing, StatusCode::OK)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            who.require_every_workspace("creating a workspace")?;
            fleetgov::validate_id("workspace", &id)?;
            (WorkspaceSpec::new(id.as_str()), StatusCode::CREATED)
        }
        Err(e) => return Err(e.into()),
    };
    let spec = crate::authority::changed(base, body.authority_mode.as_deref(), body.min_runtime_version.as_deref())?;
    let at = state.now_ms();
    let engine = state.engine.clone();
    blocking(move || Ok(engine.upsert_workspace_by(spec, &who.by(at))?)).await?;
    Ok((status, Json(item(&state, &id, state.now_ms())?)))
}

/// Filters and paging of the fleet inventory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetQuery {
    health: Option<Health>,
    drift: Option<DriftStatus>,
    cluster: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// The inventory page.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetPage {
    runtimes: Vec<RuntimeJson>,
    summary: FleetSummaryJson,
    desired_state: DesiredStateJson,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// `GET /api/v1/workspaces/{id}/fleet?health=&drift=&cluster=&limit=&cursor=`:
/// the runtimes matching the filters, in cluster then enrolment order, one
/// page at a time; the summary and desired state cover the whole workspace.
pub async fn fleet(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<FleetQuery>,
) -> ApiResult<Json<FleetPage>> {
    visible::workspace(&state, &who, &id)?;
    let query = fleetgov::FleetQuery {
        health: q.health,
        drift: q.drift,
        cluster: q.cluster.as_deref(),
        limit: Some(page_limit(q.limit, 500, 5_000)?),
        cursor: q.cursor.as_deref(),
    };
    let page = state.engine.fleet_page(&id, state.now_ms(), &query)?;
    let runtimes = page.runtimes.into_iter().map(Into::into).collect();
    let (summary, desired_state, next_cursor) = (page.summary.into(), page.desired_state, page.next_cursor);
    Ok(Json(FleetPage { runtimes, summary, desired_state: desired_state.into(), next_cursor }))
}

/// `GET /api/v1/workspaces/{id}/fleet/config`: what a runtime pulls — the
/// distribution mode (`always_pull`), the fetch paths, the authority mode,
/// the active org- and workspace-scoped policies and the rules they add up
/// to, and per cluster the desired snapshot to pull and verify.
pub async fn fleet_config(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<FleetConfigJson>> {
    visible::workspace(&state, &who, &id)?;
    Ok(Json(FleetConfigJson::from(&state.engine.fleet_config(&id)?)))
}

/// `GET /api/v1/workspaces/{id}/fleet/policies`: the active policies alone.
pub async fn fleet_policies(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    visible::workspace(&state, &who, &id)?;
    Ok(Json(
        serde_json::json!({ "workspaceId": id, "activePolicies": state.engine.active_policies(&id)?.iter().map(PolicyJson::from).collect::<Vec<_>>() }),
    ))
}
