"""The types of fleetgov's arguments and dict results, for type checkers.

The ``Literal`` aliases list every value an argument accepts (the engine
also accepts them in any letter case); the ``TypedDict`` classes describe
the dicts :meth:`fleetgov.Engine.fleet`, :meth:`fleetgov.Engine.audit`,
:meth:`fleetgov.Engine.force_sync`, the history calls
(:meth:`fleetgov.Engine.what_ran`, :meth:`fleetgov.Engine.fleet_at`,
:meth:`fleetgov.Engine.history`, :meth:`fleetgov.Engine.attest`),
:meth:`fleetgov.Engine.verify_journal`, the plan :meth:`fleetgov.Engine.publish`
takes (:class:`RolloutPlan`), the proof checks
(:func:`fleetgov.open_checkpoint`, :func:`fleetgov.verify_inclusion`) and the
``to_dict()`` methods return.

>>> import fleetgov
>>> from fleetgov.types import FleetInventory
>>> e = fleetgov.Engine()
>>> e.upsert_workspace("ws-1")
>>> inventory: FleetInventory = e.fleet("ws-1", now_ms=0)
>>> inventory["summary"]["total"]
0
"""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = [
    "AppliedAt",
    "AppliedChange",
    "Attestation",
    "AttestedCheckpoint",
    "AuditAction",
    "AuditEvent",
    "AuditHead",
    "AuditPage",
    "AuditRecord",
    "AuthorityMode",
    "ClusterEvent",
    "ClusterStatus",
    "ClusterViewDict",
    "ConfigStatus",
    "ConsistencyProofDict",
    "DesiredCluster",
    "DesiredSnapshot",
    "DesiredState",
    "DirectiveDict",
    "DirectiveKind",
    "Drift",
    "Environment",
    "EnvironmentName",
    "FleetColumns",
    "FleetEvent",
    "FleetInventory",
    "FleetSummary",
    "Health",
    "InclusionProofDict",
    "JournalVerification",
    "LaggedEvent",
    "NodeEvent",
    "NodeStatus",
    "NodeViewDict",
    "ProcessHealth",
    "ProcessStatus",
    "Role",
    "RolloutPlan",
    "RolloutState",
    "RolloutViewDict",
    "Runtime",
    "RuntimeColumns",
    "SnapshotDict",
    "SyncErrorCode",
    "UnknownEvent",
    "WaveViewDict",
]

# ---- argument values --------------------------------------------------------

#: A cluster's environment, as ``upsert_cluster(environment=...)`` takes it.
Environment = Literal["production", "staging", "development", "prod", "stage", "dev"]
#: A workspace's authority mode.
AuthorityMode = Literal["authoritative", "tighten_only", "dev_override"]
#: The role an override is made in.
Role = Literal["viewer", "operator", "admin"]
#: What a node's process reports.
ProcessStatus = Literal["ready", "starting", "error"]

# ---- result values ----------------------------------------------------------

#: A cluster's environment, as views report it.
EnvironmentName = Literal["PRODUCTION", "STAGING", "DEVELOPMENT"]
ClusterStatus = Literal["HEALTHY", "SYNCING", "DIVERGENT"]
Health = Literal["connected", "stale", "dormant", "never"]
ConfigStatus = Literal["IN_SYNC", "DIVERGENT"]
Drift = Literal["aligned", "needs_reconcile", "upgrade_required", "awaiting_sync"]
ProcessHealth = Literal["Healthy", "Degraded", "Offline"]
NodeStatus = Literal["Ready", "Starting", "Error", "Divergent"]
DirectiveKind = Literal["reconcile", "force_sync"]
SyncErrorCode = Literal[
    "RELOAD_FAILURE",
    "HASH_MISMATCH",
    "FETCH_TIMEOUT",
    "NATS_TIMEOUT",
    "MEMORY_PRESSURE",
    "JVM_MEMORY_PRESSURE",
    "INCOMPATIBLE_VERSION",
    "VALIDATION_FAILED",
    "JVM_RELOAD_FAILED",
    "OTHER",
]
AuditAction = Literal[
    "publish",
    "upsert_workspace",
    "upsert_cluster",
    "force_sync_node",
    "force_sync_cluster",
    "global_overwrite",
    "auto_reconcile",
    "upsert_policy",
    "remove_policy",
    "seal_journal",
    "remove_node",
    "compact_journal",
    "rollout",
]
#: Where a rollout stands (``RolloutView.state``): the first four are active
#: (the rollout decides what each node should run), the last three final.
RolloutState = Literal["progressing", "baking", "paused", "halted", "rolled_back", "aborted", "complete"]


class RolloutPlan(TypedDict):
    """The ``rollout=`` of :meth:`fleetgov.Engine.publish`: every key is required.

    ``waves`` are cumulative percentages of the cluster's nodes, strictly
    increasing from 1, the last 100; a converged wave holds for ``bake_ms``
    before the next starts; when failures among the nodes of started waves
    exceed ``max_failure_pct`` percent the rollout halts, and with
    ``auto_rollback`` the cluster returns to the snapshot published before.
    """

    waves: list[int]
    bake_ms: int
    max_failure_pct: float
    auto_rollback: bool


class AuditRecord(TypedDict):
    """One audit record (``Engine.audit()``, ``force_sync``, ``force_global``)."""

    seq: int
    timeMs: int
    actor: str
    role: Role
    action: AuditAction
    target: str
    justification: str
    #: The event as one line of JSON, then (for a publish) a newline and the configuration bytes.
    payload: bytes
    payloadHash: str
    prevHash: str


class AuditPage(TypedDict):
    """One page of ``Engine.audit_query()``, newest first."""

    records: list[AuditRecord]
    #: Pass as ``before`` for the next (older) page; ``None`` at the start of the log.
    nextBefore: int | None


class Runtime(TypedDict):
    """One enrolled node in :class:`FleetInventory`."""

    id: str
    cluster: str
    health: Health
    version: str | None
    drift: Drift
    appliedSnapshot: str | None
    appliedHash: str | None
    lastHeartbeat: int | None
    lastSyncError: str | None


class FleetSummary(TypedDict):
    """Counts over a workspace's nodes."""

    total: int
    active: int
    stale: int
    dormant: int
    never: int
    upgradeRequired: int
    needsReconcile: int
    aligned: int
    awaitingSync: int


class DesiredCluster(TypedDict):
    """One cluster's desired snapshot (``None`` / 0 before the first publish)."""

    cluster: str
    snapshot: str | None
    revision: int
    hash: str | None


class DesiredState(TypedDict):
    """What a workspace's nodes should run."""

    policyMode: AuthorityMode
    minRuntimeVersion: str
    clusters: list[DesiredCluster]


class FleetInventory(TypedDict):
    """``Engine.fleet(workspace)``: one page of runtimes (all of them without
    ``limit``), and the summary and desired state of the whole workspace."""

    runtimes: list[Runtime]
    summary: FleetSummary
    desiredState: DesiredState
    #: Pass as ``cursor`` for the next page; ``None`` on the last page.
    nextCursor: str | None


class RuntimeColumns(TypedDict):
    """The runtimes of ``Engine.fleet(..., columnar=True)``: one list per key
    of :class:`Runtime`, all of the same length (``polars.DataFrame(columns)``)."""

    id: list[str]
    cluster: list[str]
    health: list[Health]
    version: list[str | None]
    drift: list[Drift]
    appliedSnapshot: list[str | None]
    appliedHash: list[str | None]
    lastHeartbeat: list[int | None]
    lastSyncError: list[str | None]


class FleetColumns(TypedDict):
    """``Engine.fleet(workspace, columnar=True)``: :class:`FleetInventory`
    with the runtimes as columns."""

    runtimes: RuntimeColumns
    summary: FleetSummary
    desiredState: DesiredState
    nextCursor: str | None


class SnapshotDict(TypedDict):
    """``Snapshot.to_dict()``."""

    id: str
    cluster: str
    revision: int
    hash: str
    author: str
    published_at_ms: int
    size_bytes: int


class DirectiveDict(TypedDict):
    """``Directive.to_dict()``."""

    kind: DirectiveKind
    snapshot: str
    revision: int
    hash: str


class ClusterViewDict(TypedDict):
    """``ClusterView.to_dict()``."""

    id: str
    workspace: str
    environment: EnvironmentName
    owner_team: str
    auto_reconcile: bool
    status: ClusterStatus
    cohesion: int
    cohesion_bp: int
    in_sync: int
    total: int
    desired_snapshot: str | None
    desired_revision: int
    desired_hash: str | None
    root_causes: dict[str, int]
    root_cause_examples: dict[str, str | None]
    revisions: dict[int, int]


class NodeViewDict(TypedDict):
    """``NodeView.to_dict()``."""

    id: str
    cluster: str
    status: NodeStatus
    health: Health
    process_health: ProcessHealth
    process_status: ProcessStatus | None
    config_status: ConfigStatus
    drift: Drift
    desired_snapshot: str | None
    desired_hash: str | None
    applied_snapshot: str | None
    applied_hash: str | None
    last_heartbeat_ms: int | None
    heartbeat_age_ms: int | None
    verified: bool
    last_sync_error: str | None
    sync_error_code: SyncErrorCode | None
    reconcile_reason: str | None
    runtime_version: str | None
    cpu: float
    memory: float
    tps: float
    heap: float
    heap_trend: float
    hot_swap_errors: int


class WaveViewDict(TypedDict):
    """``WaveView.to_dict()``, and each wave of ``RolloutView.to_dict()``."""

    percent: int
    nodes: int
    on_target: int
    failures: int
    started_ms: int | None


class RolloutViewDict(TypedDict):
    """``RolloutView.to_dict()``."""

    cluster: str
    state: RolloutState
    wave: int
    waves: list[int]
    bake_ms: int
    max_failure_pct: float
    auto_rollback: bool
    target_snapshot: str
    previous_snapshot: str
    nodes_started: int
    on_target: int
    failures: int
    failure_budget: int
    reason: str | None
    since_ms: int
    bake_ends_ms: int | None
    per_wave: list[WaveViewDict]


# ---- history (``Engine.what_ran``, ``fleet_at``, ``attest``) -----------------


class AppliedAt(TypedDict):
    """What a node ran at a moment, from the engine's journal of applied-state transitions."""

    node: str
    #: The snapshot it reported (``None``: none, or not a published snapshot of its cluster).
    snapshot: str | None
    #: The hash it computed over what it applied, 64 hex characters (``None``: nothing applied).
    hash: str | None
    #: Since when (unix ms): the heartbeat that reported the change.
    since_ms: int


class AppliedChange(TypedDict):
    """One change of what a node ran (``Engine.history``)."""

    #: When (unix ms): the time the heartbeat that reported it counted at.
    at_ms: int
    #: The snapshot it reported from then on (``None``: none, or not a published snapshot of its cluster).
    snapshot: str | None
    #: The hash it computed, 64 hex characters (``None``: nothing applied).
    hash: str | None
    #: Whether that hash is its snapshot's own.
    verified: bool


class JournalVerification(TypedDict):
    """What ``Engine.verify_journal`` checked: every sealed journal segment
    against the audit record that sealed it."""

    #: Sealed segments whose files match their audit records.
    sealed_segments: int
    #: The transitions in them.
    sealed_transitions: int


class DesiredSnapshot(TypedDict):
    """The snapshot a cluster should have run at the attested moment."""

    snapshot: str
    hash: str


class AttestedCheckpoint(TypedDict):
    """The audit log as it stood at the attested moment."""

    #: Records stamped at or before the moment.
    size: int
    #: The Merkle root over them, 64 hex characters.
    root: str


class Attestation(TypedDict):
    """A signed statement of what every node of a cluster ran at one moment."""

    cluster: str
    at_ms: int
    #: What each node ran then, by node id (nodes with nothing applied are left out).
    nodes: list[AppliedAt]
    #: ``None``: nothing was published yet.
    desired: DesiredSnapshot | None
    checkpoint: AttestedCheckpoint
    #: The DSSE envelope (JSON text) of the in-toto statement: what a third party checks.
    envelope: str


# ---- audit proofs -----------------------------------------------------------


class AuditHead(TypedDict):
    """A head of the audit tree: what a signed checkpoint commits to
    (``fleetgov.open_checkpoint``), and what proofs are checked against."""

    #: The number of records.
    size: int
    #: The RFC 6962 (SHA-256) Merkle root over them, 64 hex characters.
    root: str


class InclusionProofDict(TypedDict):
    """``InclusionProof.to_dict()``."""

    leaf_index: int
    tree_size: int
    #: The audit path, leaf level first, 64 hex characters each.
    path: list[str]


class ConsistencyProofDict(TypedDict):
    """``ConsistencyProof.to_dict()``."""

    old_size: int
    new_size: int
    #: The proof's node hashes, 64 hex characters each.
    path: list[str]


# ---- change events (``Engine.events()``) -------------------------------------


class NodeEvent(TypedDict):
    """A node's transition: its first report, another applied revision or
    hash verdict, another sync-error code, or in sync <-> divergent."""

    type: Literal["node"]
    seq: int
    node: str
    cluster: str
    at_ms: int
    #: ``None``: none, or a snapshot the engine does not know.
    applied_revision: int | None
    applied_hash: str | None
    in_sync: bool
    sync_error: SyncErrorCode | None


class ClusterEvent(TypedDict):
    """A cluster's counters after a change, or after a read of the cluster
    found nodes that stopped counting as verified (60 minutes without a
    heartbeat)."""

    type: Literal["cluster"]
    seq: int
    cluster: str
    workspace: str
    desired_revision: int
    enrolled: int
    #: Nodes verified when the event was written.
    in_sync: int
    #: Percent of enrolled nodes verified, floored.
    cohesion: int
    #: Basis points of enrolled nodes verified, floored (9950: 99.50 %).
    cohesion_bp: int
    status: ClusterStatus


class AuditEvent(TypedDict):
    """A record added to the audit log."""

    type: Literal["audit"]
    seq: int
    audit_seq: int
    at_ms: int
    actor: str
    action: AuditAction
    target: str


class LaggedEvent(TypedDict):
    """The stream fell behind by more than the engine holds: ``missed``
    events were dropped for it (reload the views)."""

    type: Literal["lagged"]
    missed: int


class UnknownEvent(TypedDict):
    """A kind of change this version of the package does not describe yet."""

    type: Literal["unknown"]
    seq: int


#: What ``EventStream`` yields.
FleetEvent = NodeEvent | ClusterEvent | AuditEvent | LaggedEvent | UnknownEvent
