"""fleetgov: is every gateway node running the configuration the authority intends?

A typed Python face of the fleetgov engine. The engine tracks, for a fleet of
gateway nodes, what each node *should* run (the authority: published,
blake3-hashed configuration snapshots) and what it *does* run (the execution:
what the node reports it applied, with the hash it computed itself), and keeps
drift, cohesion, health and root causes up to date.

>>> import fleetgov
>>> e = fleetgov.Engine()
>>> e.upsert_workspace("ws-1")
>>> e.upsert_cluster("eks-prod-us", workspace="ws-1", environment="production")
>>> s = e.publish("eks-prod-us", b"routes: []", actor="alice", at_ms=1_000)
>>> handle = e.enroll("gw-1", cluster="eks-prod-us", at_ms=1_000)
>>> e.heartbeat("gw-1", at_ms=2_000, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
>>> e.cluster("eks-prod-us", now_ms=2_000).cohesion
100

Every call into the engine runs with the GIL released; every error is a
:class:`FleetError` that also derives from the matching built-in exception.
"""

from __future__ import annotations

from fleetgov import types
from fleetgov._native import (
    AuditTable,
    BatchResult,
    ClusterView,
    ConsistencyProof,
    Directive,
    Engine,
    EventStream,
    InclusionProof,
    NodesTable,
    NodeView,
    RolloutView,
    Snapshot,
    WaveView,
    __version__,
    open_checkpoint,
    pack_version,
    verify_audit_file,
    verify_inclusion,
)
from fleetgov.exceptions import (
    AuditTampered,
    Conflict,
    EngineClosed,
    ErrorCode,
    FleetError,
    FutureHeartbeat,
    FutureTime,
    HistoryUnavailable,
    IngestInterrupted,
    InternalError,
    InvalidInput,
    InvalidType,
    JustificationRequired,
    NotFound,
    PermissionDenied,
    ReloadFailure,
    StaleHeartbeat,
    StorageError,
)

__all__ = [
    "AuditTable",
    "AuditTampered",
    "BatchResult",
    "ClusterView",
    "Conflict",
    "ConsistencyProof",
    "Directive",
    "Engine",
    "EngineClosed",
    "ErrorCode",
    "EventStream",
    "FleetError",
    "FutureHeartbeat",
    "FutureTime",
    "HistoryUnavailable",
    "InclusionProof",
    "IngestInterrupted",
    "InternalError",
    "InvalidInput",
    "InvalidType",
    "JustificationRequired",
    "NodeView",
    "NodesTable",
    "NotFound",
    "PermissionDenied",
    "ReloadFailure",
    "RolloutView",
    "Snapshot",
    "StaleHeartbeat",
    "StorageError",
    "__version__",
    "open_checkpoint",
    "pack_version",
    "types",
    "verify_audit_file",
    "verify_inclusion",
    "WaveView",
]
