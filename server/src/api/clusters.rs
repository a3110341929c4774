//! Clusters: their authority beside their execution.

use axum::Json;
use axum::extract::{Path, State};
use fleetgov::{ClusterSpec, Environment, ErrorKind, Role};
use fleetgov_dto::{ClusterJson, SnapshotJson};
use serde::{Deserialize, Serialize};

use super::{blocking, visible};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::state::AppState;

/// A cluster view with its desired snapshot in full.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDetail {
    #[serde(flatten)]
    view: ClusterJson,
    /// The desired snapshot (author, time, size), if one was published.
    desired: Option<SnapshotJson>,
}

/// `GET /api/v1/clusters`: every cluster the token may see.
pub async fn list(State(state): State<AppState>, who: Principal) -> Json<serde_json::Value> {
    let clusters: Vec<ClusterJson> = state
        .engine
        .clusters(state.now_ms())
        .iter()
        .filter(|c| who.scope.allows(&c.workspace))
        .map(Into::into)
        .collect();
    Json(serde_json::json!({ "clusters": clusters }))
}

/// `GET /api/v1/clusters/{id}`.
pub async fn get(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ClusterDetail>> {
    let view = visible::cluster(&state, &who, &id)?;
    Ok(Json(ClusterDetail {
        desired: state.engine.desired(&id)?.as_ref().map(SnapshotJson::from),
        view: (&view).into(),
    }))
}

/// The body of `PUT /api/v1/clusters/{id}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterBody {
    workspace: String,
    /// production, staging or development (any case).
    environment: String,
    #[serde(default)]
    owner_team: String,
    #[serde(default)]
    auto_reconcile: bool,
}

/// `PUT /api/v1/clusters/{id}` (admin): creates or updates a cluster.
pub async fn upsert(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(body): Json<ClusterBody>,
) -> ApiResult<Json<ClusterJson>> {
    who.require(Role::Admin)?;
    who.check_workspace(&body.workspace)?;
    if let Ok(existing) = state.engine.cluster(&id, state.now_ms())
        && !who.scope.allows(&existing.workspace)
    {
        // Cluster ids are global: the id is taken, but where is not this token's business.
        return Err(fleetgov::Error::new(ErrorKind::Conflict, format!("cluster id '{id}' is taken")).into());
    }
    let environment = Environment::parse(&body.environment)?;
    let spec = ClusterSpec::new(id.as_str(), body.workspace, environment)
        .owner_team(body.owner_team)
        .auto_reconcile(body.auto_reconcile);
    let at = state.now_ms();
    let engine = state.engine.clone();
    blocking(move || Ok(engine.upsert_cluster_by(spec, &who.by(at))?)).await?;
    Ok(Json((&state.engine.cluster(&id, state.now_ms())?).into()))
}
