//! Controlled rollouts: a cluster's rollout, and the operator's actions on
//! it (pause, resume, abort, promote), each justified and audited.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fleetgov::Override;
use fleetgov_dto::RolloutJson;
use serde::Deserialize;

use super::{blocking, visible};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The body of an action on a rollout: the justification recorded with it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutActionBody {
    reason: String,
}

/// What an operator may do to a rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Pause,
    Resume,
    Abort,
    Promote,
}

/// The rollout of `cluster` as of now; 404 when it never had one.
fn current(state: &AppState, cluster: &str) -> ApiResult<RolloutJson> {
    match state.engine.rollout(cluster, state.now_ms())? {
        Some(view) => Ok(RolloutJson::from(&view)),
        None => Err(visible::not_found("rollout of cluster", cluster)),
    }
}

/// `GET /api/v1/clusters/{id}/rollout`: the cluster's rollout (its state,
/// waves, nodes on the target, failures against the budget); 404 when the
/// cluster never had one, or is unknown or outside the token's workspaces.
pub async fn get(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<RolloutJson>> {
    visible::cluster(&state, &who, &id)?;
    Ok(Json(current(&state, &id)?))
}

/// Applies `action` to the rollout of `id` by the token's actor and role
/// with the body's justification, and answers the rollout after it.
async fn act(
    state: AppState,
    who: Principal,
    id: String,
    body: RolloutActionBody,
    action: Action,
) -> ApiResult<Json<RolloutJson>> {
    // A cluster outside the token's workspaces is refused like a missing one.
    visible::cluster(&state, &who, &id)?;
    let at = state.now_ms();
    let engine = state.engine.clone();
    let cluster = id.clone();
    blocking(move || {
        let by = Override::new(&who.actor, who.role, &body.reason, at);
        let record = match action {
            Action::Pause => engine.pause_rollout(&cluster, &by),
            Action::Resume => engine.resume_rollout(&cluster, &by),
            Action::Abort => engine.abort_rollout(&cluster, &by),
            Action::Promote => engine.promote_rollout(&cluster, &by),
        };
        Ok(record.map(drop)?)
    })
    .await?;
    Ok(Json(current(&state, &id)?))
}

/// `POST /api/v1/clusters/{id}/rollout/{action}` (operator), `action`
/// one of
///
/// - `pause`: no wave starts and the started waves' nodes get no directive
///   until it is resumed;
/// - `resume`: a paused or halted rollout goes on (a halted one halts again
///   unless its failures fell within the budget);
/// - `abort`: every node should run the previous snapshot again;
/// - `promote`: every remaining wave starts now;
///
/// with `{"reason": ...}`, recorded in the audit log with the token's actor
/// and role. 200 with the rollout after the action; 400
/// `JUSTIFICATION_REQUIRED` for a blank reason, 403 for a viewer, 404 for
/// another action or when the cluster never had a rollout, 409 `CONFLICT`
/// when the rollout's state does not allow the action.
pub async fn action(
    State(state): State<AppState>,
    who: Principal,
    Path((id, action)): Path<(String, String)>,
    Json(body): Json<RolloutActionBody>,
) -> ApiResult<Json<RolloutJson>> {
    let action = match action.as_str() {
        "pause" => Action::Pause,
        "resume" => Action::Resume,
        "abort" => Action::Abort,
        "promote" => Action::Promote,
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("no rollout action '{other}': pause, resume, abort or promote"),
            ));
        }
    };
    act(state, who, id, body, action).await
}
