//! Authority: publishing snapshots, reading them, and pulling artifacts.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use fleetgov::{ContentHash, Role};
use fleetgov_dto::SnapshotJson;
use serde::Deserialize;

use super::{blocking, visible};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The JSON body of a publish: the configuration as text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishJson {
    content: String,
}

/// The media type of a request, without parameters.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::CONTENT_TYPE)?.to_str().ok()?.split(';').next().map(str::trim)
}

/// `POST /api/v1/clusters/{id}/snapshots` (operator): publishes a new desired
/// snapshot. The body is the artifact itself (`application/octet-stream` or
/// any `text/*`), or `{"content": "..."}` as JSON. The author is the token's actor.
pub async fn publish(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<SnapshotJson>)> {
    who.require(Role::Operator)?;
    visible::cluster(&state, &who, &id)?;
    let content = match media_type(&headers) {
        Some("application/json") => {
            let json: PublishJson =
                serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("malformed JSON body: {e}")))?;
            Bytes::from(json.content)
        }
        Some(t) if t == "application/octet-stream" || t.starts_with("text/") => body,
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
    let snapshot = blocking(move || Ok(state.engine.publish_by(&id, &content, &who.by(at))?)).await?;
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
