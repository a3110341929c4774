//! Engine values → immutable Java records (`Snapshot.java`, `Directive.java`,
//! `ClusterView.java`, `NodeView.java`, `FleetInventory.java`, ...).
//!
//! Enum values cross by name: the Java constant is the engine's name in upper
//! snake case, so `DriftStatus::NeedsReconcile` ("needs_reconcile") becomes
//! `DriftStatus.NEEDS_RECONCILE`.

use fleetgov::audit::{AuditRecord, ConsistencyProof, InclusionProof, TreeHash, TreeHead};
use fleetgov::{
    AppliedAt, AppliedChange, Attestation, ClusterView, ContentHash, DesiredCluster, Directive, FleetInventory,
    JournalVerification, Metrics, NodeView, RevisionCount, RootCause, Runtime, Snapshot, SyncError,
};
use jni::JNIEnv;
use jni::objects::JObject;

use crate::construct::{New, list};
use crate::error::Result;

const SNAPSHOT: &str = "dev/fleetgov/Snapshot";
const LIST: &str = "Ljava/util/List;";

fn hex(hash: Option<&ContentHash>) -> Option<String> {
    hash.map(ContentHash::to_string)
}

/// `new Snapshot(id, cluster, revision, hash, author, publishedAtMs, sizeBytes)`.
pub(crate) fn snapshot<'l>(env: &mut JNIEnv<'l>, s: &Snapshot) -> Result<JObject<'l>> {
    New::args()
        .str(env, &s.id)?
        .str(env, &s.cluster)?
        .int(revision(s.revision))
        .str(env, &s.hash.to_string())?
        .str(env, &s.author)?
        .long(s.published_at_ms)
        .long(s.size_bytes)
        .build(env, SNAPSHOT)
}

/// A snapshot, or null.
pub(crate) fn opt_snapshot<'l>(env: &mut JNIEnv<'l>, s: Option<&Snapshot>) -> Result<JObject<'l>> {
    s.map_or_else(|| Ok(JObject::null()), |s| snapshot(env, s))
}

/// `new Directive(kind, snapshot)`, or null for no directive.
pub(crate) fn directive<'l>(env: &mut JNIEnv<'l>, d: Option<Directive<'_>>) -> Result<JObject<'l>> {
    let Some(d) = d else { return Ok(JObject::null()) };
    let snapshot = snapshot(env, d.snapshot)?;
    New::args()
        .constant(env, "dev/fleetgov/DirectiveKind", d.kind.as_str())?
        .object(&format!("L{SNAPSHOT};"), snapshot)
        .build(env, "dev/fleetgov/Directive")
}

/// `new ClusterView(...)`.
pub(crate) fn cluster_view<'l>(env: &mut JNIEnv<'l>, c: &ClusterView) -> Result<JObject<'l>> {
    let revisions = list(env, c.revisions.iter(), revision_count)?;
    let root_causes = list(env, c.root_causes.iter(), root_cause)?;
    New::args()
        .str(env, &c.id)?
        .str(env, &c.workspace)?
        .constant(env, "dev/fleetgov/Environment", c.environment.as_str())?
        .str(env, &c.owner_team)?
        .boolean(c.auto_reconcile)
        .constant(env, "dev/fleetgov/ClusterStatus", c.status.as_str())?
        .int(i32::from(c.cohesion))
        .int(i32::from(c.cohesion_bp))
        .long(c.in_sync)
        .long(c.total)
        .opt_str(env, c.desired_snapshot.as_deref())?
        .int(revision(c.desired_revision))
        .opt_str(env, hex(c.desired_hash.as_ref()).as_deref())?
        .object(LIST, revisions)
        .object(LIST, root_causes)
        .build(env, "dev/fleetgov/ClusterView")
}

fn revision_count<'l>(env: &mut JNIEnv<'l>, r: &RevisionCount) -> Result<JObject<'l>> {
    New::args().int(revision(r.revision)).long(r.nodes).build(env, "dev/fleetgov/RevisionCount")
}

fn root_cause<'l>(env: &mut JNIEnv<'l>, r: &RootCause) -> Result<JObject<'l>> {
    New::args()
        .constant(env, SYNC_ERROR_CODE, r.code.as_str())?
        .long(r.nodes)
        .opt_str(env, r.example_node.as_deref())?
        .build(env, "dev/fleetgov/RootCause")
}

pub(crate) const SYNC_ERROR_CODE: &str = "dev/fleetgov/SyncErrorCode";

/// `new NodeView(...)`.
pub(crate) fn node_view<'l>(env: &mut JNIEnv<'l>, n: &NodeView) -> Result<JObject<'l>> {
    let sync_error = n.last_sync_error.as_ref().map_or_else(|| Ok(JObject::null()), |e| sync_error(env, e))?;
    let metrics = metrics(env, &n.metrics)?;
    New::args()
        .str(env, &n.id)?
        .str(env, &n.cluster_id)?
        .constant(env, "dev/fleetgov/NodeStatus", n.status.as_str())?
        .opt_str(env, n.desired_snapshot_id.as_deref())?
        .opt_str(env, hex(n.desired_hash.as_ref()).as_deref())?
        .opt_str(env, n.applied_snapshot_id.as_deref())?
        .opt_str(env, hex(n.applied_hash.as_ref()).as_deref())?
        .optional_long(env, n.last_heartbeat_ms)?
        .optional_long(env, n.heartbeat_age_ms)?
        .boolean(n.verified)
        .object("Ldev/fleetgov/SyncError;", sync_error)
        .opt_str(env, n.reconcile_reason.as_deref())?
        .opt_constant(env, "dev/fleetgov/ProcessStatus", n.process_status.map(|s| s.as_str()))?
        .object("Ldev/fleetgov/Metrics;", metrics)
        .float(n.heap_trend)
        .opt_str(env, n.runtime_version.map(|v| v.to_string()).as_deref())?
        .constant(env, "dev/fleetgov/Health", n.health.as_str())?
        .constant(env, "dev/fleetgov/ProcessHealth", n.process_health.as_str())?
        .constant(env, "dev/fleetgov/ConfigStatus", n.config_status.as_str())?
        .constant(env, "dev/fleetgov/DriftStatus", n.drift.as_str())?
        .build(env, "dev/fleetgov/NodeView")
}

/// A `List<NodeView>`.
pub(crate) fn node_views<'l>(env: &mut JNIEnv<'l>, nodes: &[NodeView]) -> Result<JObject<'l>> {
    list(env, nodes.iter(), node_view)
}

/// `new SyncError(code, detail)`.
pub(crate) fn sync_error<'l>(env: &mut JNIEnv<'l>, e: &SyncError) -> Result<JObject<'l>> {
    New::args()
        .constant(env, SYNC_ERROR_CODE, e.code.as_str())?
        .str(env, &e.detail)?
        .build(env, "dev/fleetgov/SyncError")
}

/// `new Metrics(cpu, memory, tps, heap, hotSwapErrors)`.
pub(crate) fn metrics<'l>(env: &mut JNIEnv<'l>, m: &Metrics) -> Result<JObject<'l>> {
    New::args()
        .float(m.cpu)
        .float(m.memory)
        .float(m.tps)
        .float(m.heap)
        .int(i32::try_from(m.hot_swap_errors).unwrap_or(i32::MAX))
        .build(env, "dev/fleetgov/Metrics")
}

/// `new FleetInventory(runtimes, summary, desiredState)`.
pub(crate) fn fleet_inventory<'l>(env: &mut JNIEnv<'l>, f: &FleetInventory) -> Result<JObject<'l>> {
    let runtimes = list(env, f.runtimes.iter(), runtime)?;
    let s = &f.summary;
    let summary = New::args()
        .long(s.total)
        .long(s.active)
        .long(s.stale)
        .long(s.dormant)
        .long(s.never)
        .long(s.upgrade_required)
        .long(s.needs_reconcile)
        .long(s.aligned)
        .long(s.awaiting_sync)
        .build(env, "dev/fleetgov/FleetSummary")?;
    let d = &f.desired_state;
    let clusters = list(env, d.clusters.iter(), desired_cluster)?;
    let desired = New::args()
        .constant(env, "dev/fleetgov/AuthorityMode", d.policy_mode.as_str())?
        .str(env, &d.min_runtime_version)?
        .object(LIST, clusters)
        .build(env, "dev/fleetgov/DesiredState")?;
    New::args()
        .object(LIST, runtimes)
        .object("Ldev/fleetgov/FleetSummary;", summary)
        .object("Ldev/fleetgov/DesiredState;", desired)
        .build(env, "dev/fleetgov/FleetInventory")
}

fn runtime<'l>(env: &mut JNIEnv<'l>, r: &Runtime) -> Result<JObject<'l>> {
    New::args()
        .str(env, &r.id)?
        .str(env, &r.cluster)?
        .constant(env, "dev/fleetgov/Health", r.health.as_str())?
        .opt_str(env, r.version.as_deref())?
        .constant(env, "dev/fleetgov/DriftStatus", r.drift.as_str())?
        .opt_str(env, r.applied_snapshot.as_deref())?
        .opt_str(env, hex(r.applied_hash.as_ref()).as_deref())?
        .optional_long(env, r.last_heartbeat)?
        .opt_str(env, r.last_sync_error.as_deref())?
        .build(env, "dev/fleetgov/FleetRuntime")
}

fn desired_cluster<'l>(env: &mut JNIEnv<'l>, c: &DesiredCluster) -> Result<JObject<'l>> {
    New::args()
        .str(env, &c.cluster)?
        .opt_str(env, c.snapshot.as_deref())?
        .int(revision(c.revision))
        .opt_str(env, hex(c.hash.as_ref()).as_deref())?
        .build(env, "dev/fleetgov/DesiredCluster")
}

/// Revisions are below 2^31 in any real fleet; beyond that Java sees `Integer.MAX_VALUE`.
pub(crate) fn revision(r: u32) -> i32 {
    i32::try_from(r).unwrap_or(i32::MAX)
}

/// `new RolloutView(...)` (its package-private constructor taking the waves
/// as an `int[]`), or null when the cluster never had a rollout.
pub(crate) fn rollout_view<'l>(env: &mut JNIEnv<'l>, r: &Option<fleetgov::RolloutView>) -> Result<JObject<'l>> {
    let Some(r) = r else { return Ok(JObject::null()) };
    let per_wave = list(env, r.per_wave.iter(), |env, w| {
        New::args()
            .int(i32::from(w.percent))
            .long(w.nodes)
            .long(w.on_target)
            .long(w.failures)
            .optional_long(env, w.started_ms)?
            .build(env, "dev/fleetgov/WaveView")
    })?;
    let waves: Vec<i32> = r.waves.iter().map(|&w| i32::from(w)).collect();
    New::args()
        .str(env, &r.cluster)?
        .constant(env, "dev/fleetgov/RolloutState", r.state.as_str())?
        .int(i32::try_from(r.wave).unwrap_or(i32::MAX))
        .ints(env, &waves)?
        .long(r.bake_ms)
        .double(r.max_failure_pct)
        .boolean(r.auto_rollback)
        .str(env, &r.target_snapshot)?
        .str(env, &r.previous_snapshot)?
        .long(r.nodes_started)
        .long(r.on_target)
        .long(r.failures)
        .long(r.failure_budget)
        .opt_str(env, r.reason.as_deref())?
        .long(r.since_ms)
        .optional_long(env, r.bake_ends_ms)?
        .object(LIST, per_wave)
        .build(env, "dev/fleetgov/RolloutView")
}

/// `new BatchSummary(accepted, directives, refused)`.
pub(crate) fn batch_summary<'l>(env: &mut JNIEnv<'l>, s: &fleetgov::BatchSummary) -> Result<JObject<'l>> {
    New::args().long(s.accepted).long(s.directives).long(s.refused).build(env, "dev/fleetgov/BatchSummary")
}

/// `new AuditRecord(...)`; the payload itself stays in the engine, its hash crosses.
pub(crate) fn audit_record<'l>(env: &mut JNIEnv<'l>, r: &AuditRecord) -> Result<JObject<'l>> {
    New::args()
        .long(r.seq)
        .long(r.time_ms)
        .str(env, &r.actor)?
        .constant(env, "dev/fleetgov/Role", r.role.as_str())?
        .constant(env, "dev/fleetgov/AuditAction", r.action.as_str())?
        .str(env, &r.target)?
        .str(env, &r.justification)?
        .str(env, &r.payload_hash.to_string())?
        .str(env, &r.prev_hash.to_string())?
        .build(env, "dev/fleetgov/AuditRecord")
}

/// `new AuditHead(size, root)`.
pub(crate) fn audit_head<'l>(env: &mut JNIEnv<'l>, head: &TreeHead) -> Result<JObject<'l>> {
    New::args().long(head.size).str(env, &head.root.to_string())?.build(env, "dev/fleetgov/AuditHead")
}

/// `new WorkspaceSpec(id, authorityMode, minRuntimeVersion)`.
pub(crate) fn workspace_spec<'l>(env: &mut JNIEnv<'l>, w: &fleetgov::WorkspaceSpec) -> Result<JObject<'l>> {
    New::args()
        .str(env, &w.id)?
        .constant(env, "dev/fleetgov/AuthorityMode", w.authority_mode.as_str())?
        .str(env, &w.min_runtime_version.to_string())?
        .build(env, "dev/fleetgov/WorkspaceSpec")
}

/// `new AppliedAt(node, snapshot, hash, sinceMs)`.
pub(crate) fn applied_at<'l>(env: &mut JNIEnv<'l>, a: &AppliedAt) -> Result<JObject<'l>> {
    New::args()
        .str(env, &a.node)?
        .opt_str(env, a.snapshot.as_deref())?
        .opt_str(env, hex(a.hash.as_ref()).as_deref())?
        .long(a.since_ms)
        .build(env, "dev/fleetgov/AppliedAt")
}

/// A `List<AppliedAt>`.
pub(crate) fn applied_ats<'l>(env: &mut JNIEnv<'l>, all: &[AppliedAt]) -> Result<JObject<'l>> {
    list(env, all.iter(), applied_at)
}

/// `new Attestation(cluster, atMs, nodes, envelope)`.
pub(crate) fn attestation<'l>(env: &mut JNIEnv<'l>, a: &Attestation) -> Result<JObject<'l>> {
    let nodes = applied_ats(env, &a.nodes)?;
    New::args()
        .str(env, &a.cluster)?
        .long(a.at_ms)
        .object(LIST, nodes)
        .str(env, &a.envelope)?
        .build(env, "dev/fleetgov/Attestation")
}

/// `new AppliedChange(atMs, snapshot, hash, verified)`.
fn applied_change<'l>(env: &mut JNIEnv<'l>, c: &AppliedChange) -> Result<JObject<'l>> {
    New::args()
        .long(c.at_ms)
        .opt_str(env, c.snapshot.as_deref())?
        .opt_str(env, hex(c.hash.as_ref()).as_deref())?
        .boolean(c.verified)
        .build(env, "dev/fleetgov/AppliedChange")
}

/// A `List<AppliedChange>`.
pub(crate) fn applied_changes<'l>(env: &mut JNIEnv<'l>, all: &[AppliedChange]) -> Result<JObject<'l>> {
    list(env, all.iter(), applied_change)
}

/// `new JournalVerification(sealedSegments, sealedTransitions)`.
pub(crate) fn journal_verification<'l>(env: &mut JNIEnv<'l>, v: &JournalVerification) -> Result<JObject<'l>> {
    New::args().long(v.sealed_segments).long(v.sealed_transitions).build(env, "dev/fleetgov/JournalVerification")
}

/// A `List<String>` of hex hashes.
fn hashes<'l>(env: &mut JNIEnv<'l>, path: &[TreeHash]) -> Result<JObject<'l>> {
    list(env, path.iter(), |env, h| Ok(env.new_string(h.to_string())?.into()))
}

/// `new InclusionProof(leafIndex, treeSize, path)`.
pub(crate) fn inclusion_proof<'l>(env: &mut JNIEnv<'l>, p: &InclusionProof) -> Result<JObject<'l>> {
    let path = hashes(env, &p.path)?;
    New::args().long(p.leaf_index).long(p.tree_size).object(LIST, path).build(env, "dev/fleetgov/InclusionProof")
}

/// `new ConsistencyProof(oldSize, newSize, path)`.
pub(crate) fn consistency_proof<'l>(env: &mut JNIEnv<'l>, p: &ConsistencyProof) -> Result<JObject<'l>> {
    let path = hashes(env, &p.path)?;
    New::args().long(p.old_size).long(p.new_size).object(LIST, path).build(env, "dev/fleetgov/ConsistencyProof")
}
