//! A node's history: what it ran, and since when, from the engine's
//! journal of applied-state transitions (kept in the data directory, so it
//! answers about times before a restart).
//!
//! Times are unix ms. A time after the server's clock is `400 FUTURE`;
//! one before the history the server keeps (it begins when its data
//! directory was made, or, ephemeral, when it started) is
//! `410 HISTORY_UNAVAILABLE`. A node outside the token's workspaces answers
//! 404 like a missing one.

use axum::Json;
use axum::extract::{Path, Query, State};
use fleetgov::{ContentHash, ErrorKind};
use fleetgov_dto::AppliedChangeJson;
use serde::{Deserialize, Serialize};

use super::{blocking, visible};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::state::AppState;

/// `GET /api/v1/nodes/{id}/history?from=&to=` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// The first moment (unix ms); where the server's history begins when absent.
    from: Option<u64>,
    /// The last moment (unix ms); now when absent.
    to: Option<u64>,
}

/// A node's changes of what it ran within a time range.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryJson {
    node: String,
    from_ms: u64,
    to_ms: u64,
    /// Oldest first.
    changes: Vec<AppliedChangeJson>,
}

/// `GET /api/v1/nodes/{id}/history?from=&to=`: every change of what the
/// node ran from `from` to `to` (both included), oldest first: when, the
/// snapshot, the hash the node computed and whether it is that snapshot's.
/// `from` after `to` is 400 `INVALID_INPUT`.
pub async fn history(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<HistoryJson>> {
    visible::node(&state, &who, &id)?;
    let from = q.from.unwrap_or_else(|| state.engine.history_start_ms());
    let to = q.to.unwrap_or_else(|| state.now_ms());
    let engine = state.engine.clone();
    blocking(move || {
        let changes = engine.history(&id, from, to)?.into_iter().map(Into::into).collect();
        Ok(Json(HistoryJson { node: id, from_ms: from, to_ms: to, changes }))
    })
    .await
}

/// `GET /api/v1/nodes/{id}/what-ran?at=` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatRanQuery {
    /// The moment (unix ms); now when absent.
    at: Option<u64>,
}

/// What a node ran at a moment.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatRanJson {
    node: String,
    at_ms: u64,
    /// The snapshot it reported; absent when none, or not a published
    /// snapshot of its cluster.
    snapshot: Option<String>,
    /// The hash it computed over what it applied; absent when it applied nothing.
    hash: Option<ContentHash>,
    /// Since when (the time the report of that change counted at).
    since_ms: u64,
}

/// `GET /api/v1/nodes/{id}/what-ran?at=`: what the node ran at `at`. 404
/// `NOT_FOUND` saying so when the node had reported nothing yet then.
pub async fn what_ran(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<WhatRanQuery>,
) -> ApiResult<Json<WhatRanJson>> {
    visible::node(&state, &who, &id)?;
    let at = q.at.unwrap_or_else(|| state.now_ms());
    let engine = state.engine.clone();
    blocking(move || match engine.what_ran(&id, at)? {
        Some(ran) => Ok(Json(WhatRanJson {
            node: ran.node,
            at_ms: at,
            snapshot: ran.snapshot,
            hash: ran.hash,
            since_ms: ran.since_ms,
        })),
        None => {
            let message = format!("node '{id}' had reported nothing yet at {at} ms");
            Err(fleetgov::Error::new(ErrorKind::NotFound, message).into())
        }
    })
    .await
}
