//! Authority: publishing snapshots, reading them, and pulling artifacts.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use fleetgov::{ContentHash, Role};
use fleetgov_dto::{RolloutPlanJson, SnapshotJson};
use serde::Deserialize;

use super::{blocking, visible};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The JSON body of a publish: the configuration as text, and optionally
/// the plan that rolls it out in waves.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishJson {
    content: String,
    #[serde(default)]
    rollout: Option<RolloutPlanJson>,
}

/// The media type of a request, without parameters.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::CONTENT_TYPE)?.to_str().ok()?.split(';').next().map(str::trim)
}

/// `POST /api/v1/clusters/{id}/snapshots` (operator): publishes a new desired
/// snapshot. The body is the artifact itself (`application/octet-stream` or
/// any `text/*`), or `{"content": "..."}` as JSON, which may carry a
/// `rollout` plan (`{"waves": [10, 100], "bakeMs", "maxFailurePct",
/// "autoRollback"}`): the snapshot then reaches the cluster wave by wave
/// (400 `INVALID_INPUT` for a plan the engine refuses, or a cluster with
/// nothing published to roll out from). The author is the token's actor.
pub async fn publish(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<SnapshotJson>)> {
    who.require(Role::Operator)?;
    visible::cluster(&state, &who, &id)?;
    let (content, plan) = match media_type(&headers) {
        Some("application/json") => {
            let json: PublishJson =
                serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("malformed JSON body: {e}")))?;
            (Bytes::from(json.content), json.rollout.map(RolloutPlanJson::plan).transpose()?)
        }
        Some(t) if t == "application/octet-stream" || t.starts_with("text/") => (body, None),
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                format!(
                    "content type {} is not application/json, application/octet-stream or text/*",
                    other.unwrap_or("(none)")
                ),
            ));
        }
    };
    let at = state.now_ms();
    let snapshot = blocking(move || {
        let by = who.by(at);
        Ok(match plan {
            Some(plan) => state.engine.publish_with_rollout(&id, &content, &by, plan)?,
            None => state.engine.publish_by(&id, &content, &by)?,
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(SnapshotJson::from(&snapshot))))
}

/// `GET /api/v1/snapshots/{id}` (`<cluster>@r<revision>`).
pub async fn get(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<SnapshotJson>> {
    Ok(Json(SnapshotJson::from(&visible::snapshot(&state, &who, &id)?)))
}

/// `GET /api/v1/artifacts/{hash}`: the bytes a runtime pulls; the client
/// checks them against the hash it asked for (sent back as `ETag`). Only a
/// token that sees a workspace with a snapshot of that hash may read them.
pub async fn artifact(
    State(state): State<AppState>,
    who: Principal,
    Path(hash): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let hash: ContentHash = hash.parse()?;
    let bytes = visible::artifact(&state, &who, &hash)?;
    let etag = HeaderValue::from_str(&format!("\"{hash}\"")).map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")), (header::ETAG, etag)],
        Bytes::copy_from_slice(&bytes),
    ))
}
