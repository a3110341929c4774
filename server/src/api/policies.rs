//! Org- and workspace-scoped policies: created, replaced and removed by
//! admins, each change audited with the token's actor. What a workspace's
//! runtimes pull is `GET /api/v1/workspaces/{id}/fleet/config`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use fleetgov::Role;
use fleetgov::policy::PolicyScope;
use fleetgov_dto::PolicyJson;
use serde::Deserialize;

use super::{blocking, visible};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::state::AppState;

/// Whether the token may change policies of `scope`: an org-wide policy
/// applies to every workspace, so it needs a token of every workspace; a
/// workspace's, a token that may see the workspace (404 otherwise).
fn check_scope(state: &AppState, who: &Principal, scope: &PolicyScope) -> ApiResult<()> {
    who.require(Role::Admin)?;
    match scope {
        PolicyScope::Org => who.require_every_workspace("changing an org-wide policy"),
        PolicyScope::Workspace { workspace_id } => visible::workspace(state, who, workspace_id).map(drop),
    }
}

/// `PUT /api/v1/policies/{id}` (admin): creates or replaces the policy `id`
/// of the body's scope (`"scope": "org"`, or `"scope": "workspace",
/// "workspaceId": "W"`) with the body's `rules`, as
/// `GET /api/v1/workspaces/{id}/fleet/policies` shows them. 201 with the
/// policy when created, 200 when replaced; 400 for a malformed body, an id
/// in the body other than the path's, or a rule set the engine refuses.
pub async fn put(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(body): Json<PolicyJson>,
) -> ApiResult<(StatusCode, Json<PolicyJson>)> {
    let policy = body.policy(&id)?;
    check_scope(&state, &who, policy.scope())?;
    let existed = state.engine.policy(policy.scope(), policy.id()).is_ok();
    let at = state.now_ms();
    let engine = state.engine.clone();
    let stored = policy.clone();
    blocking(move || Ok(engine.upsert_policy_by(stored, &who.by(at))?)).await?;
    Ok((if existed { StatusCode::OK } else { StatusCode::CREATED }, Json(PolicyJson::from(&policy))))
}

/// `DELETE /api/v1/policies/{id}?workspace=` query: the policy's scope.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveQuery {
    /// The workspace of a workspace-scoped policy; the org-wide policy when absent.
    workspace: Option<String>,
}

/// `DELETE /api/v1/policies/{id}?workspace=` (admin): removes the policy
/// `id` of the workspace, or the org-wide one; 200 with the removed policy,
/// 404 when there is none.
pub async fn remove(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> ApiResult<Json<PolicyJson>> {
    let scope = q.workspace.map_or(PolicyScope::Org, PolicyScope::workspace);
    check_scope(&state, &who, &scope)?;
    let at = state.now_ms();
    let engine = state.engine.clone();
    blocking(move || Ok(Json(PolicyJson::from(&engine.remove_policy_by(&scope, &id, &who.by(at))?)))).await
}
