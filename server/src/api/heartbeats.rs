//! `POST /api/v1/heartbeats`: nodes report what they applied; the answer
//! carries a directive per node.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE, Outcome, RECORD_SIZE};
use fleetgov::{
    ContentHash, Directive, DirectiveKind, Heartbeat, IdBuffer, Metrics, NodeHandle, ProcessStatus, Role,
    RuntimeVersion, SyncError, validate_id, validate_snapshot_id,
};
use fleetgov_dto::MetricsJson;
use serde::{Deserialize, Serialize};

use super::snapshots::media_type;
use super::visible;
use crate::auth::{Principal, Scope};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// One heartbeat as JSON.
///
/// ```
/// let hb: fleetgov_server::api::HeartbeatJson = serde_json::from_str(
///     r#"{"node": "gw-1", "runtimeVersion": "3.6.1", "syncError": "NATS_TIMEOUT: Failed to receive snapshot"}"#,
/// ).unwrap();
/// assert_eq!(hb.status, fleetgov::ProcessStatus::Ready);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeartbeatJson {
    /// The node id.
    pub node: String,
    /// When the node sent it (unix ms); the server's time when absent.
    #[serde(default)]
    pub at_ms: Option<u64>,
    /// The applied snapshot id (`<cluster>@r<revision>`).
    #[serde(default)]
    pub applied_snapshot: Option<String>,
    /// The hash the node computed over what it applied.
    #[serde(default)]
    pub applied_hash: Option<ContentHash>,
    /// The runtime version.
    pub runtime_version: RuntimeVersion,
    /// ready, starting or error.
    #[serde(default = "ready")]
    pub status: ProcessStatus,
    /// Runtime metrics.
    #[serde(default)]
    pub metrics: MetricsJson,
    /// `CODE: detail`, if the node could not apply its configuration.
    #[serde(default)]
    pub sync_error: Option<String>,
}

fn ready() -> ProcessStatus {
    ProcessStatus::Ready
}

/// The body: a batch of heartbeats (a batch of one is fine).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatBatch {
    heartbeats: Vec<HeartbeatJson>,
}

/// A directive as JSON: pull `snapshot` (whose artifact hashes to `hash`) from `artifact`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectiveJson {
    /// reconcile or force_sync.
    pub kind: DirectiveKind,
    /// The snapshot id to apply.
    pub snapshot: String,
    /// Its artifact hash.
    pub hash: ContentHash,
    /// Where to pull the artifact.
    pub artifact: String,
}

impl From<Directive<'_>> for DirectiveJson {
    fn from(d: Directive<'_>) -> Self {
        DirectiveJson {
            kind: d.kind,
            snapshot: d.snapshot.id.clone(),
            hash: d.snapshot.hash,
            artifact: format!("/api/v1/artifacts/{}", d.snapshot.hash),
        }
    }
}

/// The outcome of one heartbeat.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordResult {
    node: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    directive: Option<DirectiveJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<RecordError>,
}

#[derive(Debug, Serialize)]
struct RecordError {
    code: &'static str,
    message: String,
}

/// The response: how many were applied, how many rejected, and each outcome in order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    accepted: u64,
    rejected: u64,
    results: Vec<RecordResult>,
}

/// The most heartbeats one JSON request may carry.
pub const MAX_BATCH: usize = 100_000;

/// `POST /api/v1/heartbeats` (operator).
///
/// - `application/json`: `{"heartbeats": [...]}`. Each heartbeat is applied
///   or rejected on its own — a stale, future, unknown or malformed one gets
///   its error in `results` and the others still apply; a body that is not a
///   well-formed batch is refused whole (400) and nothing is applied.
/// - `application/octet-stream`: binary heartbeat records
///   ([`fleetgov::record`], 128 bytes each, node handles from enrolment). A
///   malformed record refuses the whole batch (400, naming the record);
///   otherwise the answer is one 40-byte outcome record per heartbeat, with
///   the counts in `X-Fleetgov-Accepted`, `-Directives` and `-Refused`.
///   Records name nodes by handle, so only a token of every workspace may
///   send them.
pub async fn post(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    who.require(Role::Operator)?;
    match media_type(&headers) {
        Some("application/json") => {
            let batch: HeartbeatBatch = serde_json::from_slice(&body)
                .map_err(|e| ApiError::invalid(format!("malformed heartbeat batch: {e}")))?;
            if batch.heartbeats.len() > MAX_BATCH {
                return Err(ApiError::invalid(format!("a batch holds at most {MAX_BATCH} heartbeats")));
            }
            let state2 = state.clone();
            let result = blocking(move || apply(&state2, &who, batch.heartbeats)).await??;
            state.metrics.accepted("json", result.accepted);
            Ok(Json(result).into_response())
        }
        Some("application/octet-stream") => {
            who.require_every_workspace("binary records name nodes by handle, so sending them")?;
            let state2 = state.clone();
            let (summary, outcomes) = blocking(move || {
                let mut outcomes = vec![0u8; body.len() / RECORD_SIZE * OUTCOME_SIZE];
                state2.engine.ingest_batch(&body, &mut outcomes).map(|s| (s, outcomes))
            })
            .await??;
            state.metrics.accepted("binary", summary.accepted);
            if summary.refused > 0 {
                state.metrics.refused_records(summary.refused);
            }
            let count = |n: u64| HeaderValue::from(n);
            Ok((
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")),
                    (HeaderName::from_static("x-fleetgov-accepted"), count(summary.accepted)),
                    (HeaderName::from_static("x-fleetgov-directives"), count(summary.directives)),
                    (HeaderName::from_static("x-fleetgov-refused"), count(summary.refused)),
                ],
                outcomes,
            )
                .into_response())
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("content type {} is not application/json or application/octet-stream", other.unwrap_or("(none)")),
        )),
    }
}

/// Runs engine work off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", e.to_string()))
}

/// Applies a JSON batch through the engine's batch by node id, in the
/// token's scope, with the answer a call per heartbeat would give: one
/// registry lookup per heartbeat serves the scope check, the applied
/// snapshot id and the ingest. A malformed heartbeat, which the single call
/// refuses before it reaches its node, is not batched; it and every
/// heartbeat the batch refuses (a node outside the token's scope is refused
/// as an unknown one) are asked of the single call, which changes nothing
/// for them and words their error.
fn apply(state: &AppState, who: &Principal, heartbeats: Vec<HeartbeatJson>) -> ApiResult<BatchResult> {
    let now = state.now_ms();
    let mut ids = IdBuffer::default();
    let mut applied = Vec::with_capacity(heartbeats.len());
    let mut records = Vec::with_capacity(heartbeats.len());
    // Heartbeat `i`'s record in the batch, if it has one.
    let batched: Vec<Option<usize>> = heartbeats
        .iter()
        .map(|hb| {
            let record = record(hb, now)?;
            ids.push(&hb.node).ok()?;
            applied.push(hb.applied_snapshot.as_deref());
            records.push(record);
            Some(records.len() - 1)
        })
        .collect();
    let (_, answers) =
        state.engine.ingest_by_id_scoped(ids.column(), &applied, &records, |workspace| who.scope.allows(workspace))?;
    let mut out = BatchResult { accepted: 0, rejected: 0, results: Vec::with_capacity(heartbeats.len()) };
    for (hb, at) in heartbeats.into_iter().zip(batched) {
        let outcome = match at.map(|k| &answers[k]) {
            Some(answer) => match (answer.outcome, answer.directive()) {
                (Outcome::Accepted, _) => Ok(None),
                (_, Some(directive)) => Ok(Some(DirectiveJson::from(directive))),
                _ => apply_one(state, who, &hb, now),
            },
            None => apply_one(state, who, &hb, now),
        };
        let (directive, error) = match outcome {
            Ok(d) => {
                out.accepted += 1;
                (d, None)
            }
            Err(e) => {
                out.rejected += 1;
                state.metrics.rejected(e.code());
                (None, Some(RecordError { code: e.code(), message: e.message().to_owned() }))
            }
        };
        out.results.push(RecordResult { node: hb.node, directive, error });
    }
    Ok(out)
}

/// `hb` as a record of a batch by node id (its applied snapshot named by
/// the id beside it), or `None` if the single call would refuse it as
/// malformed: its node id, sync error, metrics or applied snapshot.
fn record(hb: &HeartbeatJson, now: u64) -> Option<HeartbeatRecord> {
    validate_id("node", &hb.node).ok()?;
    let metrics: Metrics = hb.metrics.into();
    metrics.validate().ok()?;
    let mut record =
        HeartbeatRecord::new(NodeHandle::from_raw(0), hb.at_ms.unwrap_or(now), hb.runtime_version, hb.status, metrics);
    match (hb.applied_snapshot.as_deref(), hb.applied_hash) {
        (None, None) => {}
        (Some(id), Some(hash)) => {
            validate_snapshot_id("applied snapshot id", id).ok()?;
            record = record.with_applied(0, hash);
        }
        _ => return None,
    }
    if let Some(text) = &hb.sync_error {
        let error: SyncError = text.parse().ok()?;
        record = record.with_sync_error(error.code, &error.detail);
    }
    Some(record)
}

fn apply_one(
    state: &AppState,
    who: &Principal,
    hb: &HeartbeatJson,
    now: u64,
) -> Result<Option<DirectiveJson>, ApiError> {
    // A node outside the token's workspaces is refused like an unknown one.
    if who.scope != Scope::All
        && !state.engine.node_workspace(&hb.node).is_ok_and(|workspace| who.scope.allows(&workspace))
    {
        return Err(visible::not_found("node", &hb.node));
    }
    let sync_error: Option<SyncError> = hb.sync_error.as_deref().map(str::parse).transpose()?;
    let heartbeat = Heartbeat {
        at_ms: hb.at_ms.unwrap_or(now),
        applied_snapshot: hb.applied_snapshot.as_deref(),
        applied_hash: hb.applied_hash,
        runtime_version: hb.runtime_version,
        status: hb.status,
        metrics: hb.metrics.into(),
        sync_error: sync_error.as_ref(),
    };
    Ok(state.engine.heartbeat_by_id(&hb.node, &heartbeat)?.map(DirectiveJson::from))
}
