//! The audit log for third-party verifiers: the log served as C2SP
//! `tlog-tiles` under `/log/`, and consistency proofs between two sizes.
//!
//! | path | body | cache |
//! |---|---|---|
//! | `GET /log/checkpoint` | the signed checkpoint (`text/plain; charset=utf-8`) | 5 s |
//! | `GET /log/tile/<L>/<N>[.p/<W>]` | hash tile (`application/octet-stream`) | full: a year, immutable; partial: 60 s |
//! | `GET /log/tile/entries/<N>[.p/<W>]` | entry bundle (`application/octet-stream`) | as tiles |
//!
//! Entry bundles hold every workspace's records, so tiles and the
//! checkpoint need a token of every workspace (`"*"`), as
//! `/api/v1/checkpoint` does. A token of some workspaces learns the log's
//! size and root only through the proof of one of its own records
//! (`/api/v1/audit/{seq}/proof`): what makes that proof checkable. The
//! caches are `private`: responses depend on the token.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fleetgov::audit::Tile;
use fleetgov_dto::ConsistencyProofJson;
use serde::Deserialize;

use crate::auth::{Principal, Scope};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The `/log/` routes (a C2SP protocol of its own, outside the `/api/v1` table).
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/log/checkpoint", get(checkpoint)).route("/log/tile/{*path}", get(tile))
}

/// `GET /log/checkpoint`: the audit log's current signed checkpoint.
async fn checkpoint(State(state): State<AppState>, who: Principal) -> ApiResult<Response> {
    who.require_every_workspace("the audit log's checkpoint")?;
    let note = state.engine.checkpoint()?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=5")),
        ],
        note,
    )
        .into_response())
}

/// `GET /log/tile/<L>/<N>[.p/<W>]` and `GET /log/tile/entries/<N>[.p/<W>]`
/// (a token of every workspace): 404 for a tile the log does not hold yet,
/// 400 for a path that is not a tile's.
async fn tile(State(state): State<AppState>, who: Principal, Path(path): Path<String>) -> ApiResult<Response> {
    if who.scope != Scope::All {
        return Err(ApiError::forbidden(
            "tiles hold every workspace's audit records: they need a token of every workspace (\"*\")",
        ));
    }
    let tile: Tile = format!("tile/{path}").parse()?;
    let engine = state.engine.clone();
    let bytes = tokio::task::spawn_blocking(move || engine.audit_tile(&tile))
        .await
        .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", e.to_string()))??;
    // A tile's bytes never change; a partial one is soon superseded by a wider one.
    let cache = if tile.is_full() { "private, max-age=31536000, immutable" } else { "private, max-age=60" };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/v1/audit/consistency?from=&to=` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older log size.
    from: u64,
    /// The newer log size, at most the log's size.
    to: u64,
}

/// `GET /api/v1/audit/consistency?from=N&to=M`: proof that the log of `N`
/// records is a prefix of the log of `M` records (RFC 6962), for two
/// checkpoints a verifier holds. Hashes only: any token. 400 when `N > M`
/// or `M` exceeds the log.
pub async fn consistency(
    State(state): State<AppState>,
    _who: Principal,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyProofJson>> {
    Ok(Json(ConsistencyProofJson::from(&state.engine.consistency_proof(q.from, q.to)?)))
}
