//! Overrides and the audit trail: force sync, the audit log, inclusion
//! proofs, signed checkpoints and attestations of what ran.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use fleetgov::audit::{AuditAction, AuditRecord, Checkpoint, DSSE_MEDIA_TYPE, InclusionProof, TreeHash};
use fleetgov::{ForceTarget, Override};
use fleetgov_dto::{AuditRecordJson, InclusionProofJson};
use serde::{Deserialize, Serialize};

use super::{blocking, page_limit, visible};
use crate::auth::{Principal, Scope};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What to force: exactly one of `node`, `cluster`, `workspace`, or `fleet: true`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetJson {
    node: Option<String>,
    cluster: Option<String>,
    workspace: Option<String>,
    #[serde(default)]
    fleet: bool,
}

/// The body of `POST /api/v1/force-sync`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForceSyncBody {
    target: TargetJson,
    reason: String,
}

impl TargetJson {
    fn target(&self) -> ApiResult<ForceTarget<'_>> {
        match (&self.node, &self.cluster, &self.workspace, self.fleet) {
            (Some(n), None, None, false) => Ok(ForceTarget::Node(n)),
            (None, Some(c), None, false) => Ok(ForceTarget::Cluster(c)),
            (None, None, Some(w), false) => Ok(ForceTarget::Workspace(w)),
            (None, None, None, true) => Ok(ForceTarget::Fleet),
            _ => Err(ApiError::invalid("target names exactly one of node, cluster, workspace, or fleet: true")),
        }
    }
}

/// Whether the token may see an audit record: every record for a token of
/// every workspace; records about its own workspaces' nodes, clusters and
/// workspaces otherwise.
fn may_see(state: &AppState, who: &Principal, record: &AuditRecord) -> bool {
    who.scope == Scope::All || state.engine.audit_record_workspace(record).is_some_and(|w| who.scope.allows(&w))
}

/// `POST /api/v1/force-sync` (operator for a node or a cluster, admin for a
/// workspace or the fleet): records the override in the audit log, then
/// forces the target; the node(s) get a `force_sync` directive on their next
/// heartbeat. 201 with the audit record; 400 `JUSTIFICATION_REQUIRED` for a
/// blank reason; 403 for a role that may not, or a fleet target without a
/// token of every workspace; 404 for a target that is unknown or outside the
/// token's workspaces (the same answer).
pub async fn force_sync(
    State(state): State<AppState>,
    who: Principal,
    Json(body): Json<ForceSyncBody>,
) -> ApiResult<(StatusCode, Json<AuditRecordJson>)> {
    let target = body.target.target()?;
    // A target outside the token's workspaces is refused like a missing one.
    match target {
        ForceTarget::Node(id) => drop(visible::node(&state, &who, id)?),
        ForceTarget::Cluster(id) => drop(visible::cluster(&state, &who, id)?),
        ForceTarget::Workspace(id) => drop(visible::workspace(&state, &who, id)?),
        ForceTarget::Fleet => who.require_every_workspace("a fleet-wide overwrite")?,
    }
    let at = state.now_ms();
    let record = blocking(move || {
        let by = Override::new(&who.actor, who.role, &body.reason, at);
        Ok(state.engine.force_sync(body.target.target()?, &by)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(AuditRecordJson::from(&*record))))
}

/// Filters and paging of the audit log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Records with a sequence number below this one (newest first); the end of the log when absent.
    before: Option<u64>,
    limit: Option<usize>,
    /// Comma-separated action names, e.g. `force_sync_node,force_sync_cluster,global_overwrite`.
    action: Option<String>,
    /// The exact target, e.g. `node:gw-1`, `cluster:eks-prod-us`, `workspace:acme-edge`, `fleet`.
    target: Option<String>,
    /// Records about this cluster: the cluster itself, its snapshots and its nodes.
    cluster: Option<String>,
    /// Records about this node.
    node: Option<String>,
    /// Records made by this actor.
    actor: Option<String>,
    /// Records stamped at or after this moment (unix ms).
    from: Option<u64>,
    /// Records stamped at or before this moment (unix ms).
    to: Option<u64>,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Records in the log; only for a token of every workspace (the log is
    /// shared by every workspace, so its size is not a scoped token's business).
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    records: Vec<AuditRecordJson>,
    /// Pass as `before` for the next (older) page; absent at the start of the log.
    next_before: Option<u64>,
}

/// `GET /api/v1/audit?before=&limit=&action=&target=&cluster=&node=&actor=&from=&to=`:
/// the audit log, newest first, limited to records the token may see and
/// matching every filter given; the log's size only for a token of every
/// workspace. A page scans at most 200,000 records: `nextBefore` says where
/// to go on when the scan stopped before `limit` matches.
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let query = fleetgov::audit::AuditQuery {
        before: q.before,
        limit: page_limit(q.limit, 50, fleetgov::audit::AUDIT_PAGE_MAX)?,
        actions: q
            .action
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(AuditAction::parse)
            .collect::<Result<_, _>>()?,
        target: q.target,
        cluster: q.cluster,
        node: q.node,
        actor: q.actor,
        from_ms: q.from,
        to_ms: q.to,
    };
    let size = state.engine.audit_len();
    let page = state.engine.audit_query_where(&query, |r| may_see(&state, &who, r))?;
    let size = (who.scope == Scope::All).then_some(size);
    Ok(Json(AuditPage {
        size,
        records: page.records.iter().map(|r| AuditRecordJson::from(&**r)).collect(),
        next_before: page.next_before,
    }))
}

/// A record, its inclusion proof and the signed checkpoint the proof is for.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofJson {
    record: AuditRecordJson,
    /// The record's log entry (its canonical encoding), base64: the leaf is
    /// `SHA-256(0x00 || entry)`.
    entry: String,
    proof: InclusionProofJson,
    /// The signed checkpoint (C2SP signed note) whose size and root the proof is against.
    checkpoint: String,
    /// The same proof as a C2SP `tlog-proof@v1` bundle.
    tlog_proof: String,
    /// The public key that checks the checkpoint's signature.
    verifier_key: String,
}

/// `GET /api/v1/audit/{seq}/proof`: proof that record `seq` is in the log,
/// against a freshly signed checkpoint. A third party holding only the
/// verifier key checks the checkpoint, then the proof against its root.
/// A token of some workspaces may ask for the records of its workspaces (a
/// proof carries the log's size and root, which is what makes it checkable);
/// a record outside them answers like a missing one.
pub async fn proof(State(state): State<AppState>, who: Principal, Path(seq): Path<u64>) -> ApiResult<Json<ProofJson>> {
    // Missing, or outside the token's workspaces: the same answer.
    let record = state
        .engine
        .audit_record(seq)
        .ok()
        .filter(|record| may_see(&state, &who, record))
        .ok_or_else(|| visible::not_found("audit record", &seq.to_string()))?;
    let bundle = state.engine.tlog_proof(seq)?;
    let verifier = state.engine.checkpoint_verifier()?;
    let head = Checkpoint::open(&bundle.checkpoint, &verifier)?;
    Ok(Json(ProofJson {
        entry: base64::engine::general_purpose::STANDARD.encode(record.encode()),
        record: AuditRecordJson::from(&*record),
        proof: InclusionProofJson::from(&InclusionProof {
            leaf_index: seq,
            tree_size: head.size,
            path: bundle.path.clone(),
        }),
        tlog_proof: bundle.to_string(),
        checkpoint: bundle.checkpoint,
        verifier_key: verifier.to_string(),
    }))
}

fn signed_head(state: &AppState) -> ApiResult<(String, Checkpoint)> {
    let note = state.engine.checkpoint()?;
    let head = Checkpoint::open(&note, &state.engine.checkpoint_verifier()?)?;
    Ok((note, head))
}

/// The current signed checkpoint.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointJson {
    /// The signed note.
    checkpoint: String,
    /// Its origin (the log's name).
    origin: String,
    /// Records covered.
    size: u64,
    /// Merkle root of those records.
    root: TreeHash,
    /// The public key that checks the signature.
    verifier_key: String,
}

/// `GET /api/v1/checkpoint`: the audit log's head, signed. The log is shared
/// by every workspace, so only a token of every workspace may read its head.
pub async fn checkpoint(State(state): State<AppState>, who: Principal) -> ApiResult<Json<CheckpointJson>> {
    who.require_every_workspace("the audit log's checkpoint")?;
    let (checkpoint, head) = signed_head(&state)?;
    Ok(Json(CheckpointJson {
        checkpoint,
        origin: head.origin,
        size: head.size,
        root: head.root,
        verifier_key: state.engine.checkpoint_verifier()?.to_string(),
    }))
}

/// `GET /api/v1/attestations?cluster=&at=` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationQuery {
    cluster: String,
    /// The moment (unix ms); now when absent.
    at: Option<u64>,
}

/// `GET /api/v1/attestations?cluster=&at=`: what every node of `cluster` ran
/// at `at` (from the engine's journal of applied-state transitions), as an
/// in-toto statement in a DSSE envelope signed with the checkpoint key
/// (`application/vnd.dsse+json`; docs/attestation.md).
pub async fn attestation(
    State(state): State<AppState>,
    who: Principal,
    Query(q): Query<AttestationQuery>,
) -> ApiResult<Response> {
    visible::cluster(&state, &who, &q.cluster)?;
    let at = q.at.unwrap_or_else(|| state.now_ms());
    let engine = state.engine.clone();
    let attestation = blocking(move || Ok(engine.attest(&q.cluster, at)?)).await?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(DSSE_MEDIA_TYPE))], attestation.envelope).into_response())
}
