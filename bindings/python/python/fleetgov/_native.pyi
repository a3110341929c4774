"""Type stubs of the native module; `fleetgov` re-exports everything public."""

from os import PathLike
from types import TracebackType
from typing import Any, Literal, Self, final


__version__: str
__all__ = [
    "BatchResult",
    "ClusterView",
    "Directive",
    "Engine",
    "NodeView",
    "NodesTable",
    "OUTCOME_SIZE",
    "RECORD_SIZE",
    "RECORD_VERSION",
    "SYNC_ERROR_CODES",
    "Snapshot",
    "__version__",
    "_boundary_self_test",
    "pack_version",
    "verify_audit_file",
]

RECORD_SIZE: int
RECORD_VERSION: int
OUTCOME_SIZE: int
SYNC_ERROR_CODES: dict[str, int]

_ClusterStatus = Literal["HEALTHY", "SYNCING", "DIVERGENT"]
_Health = Literal["connected", "stale", "dormant", "never"]
_ConfigStatus = Literal["IN_SYNC", "DIVERGENT"]
_Drift = Literal["aligned", "needs_reconcile", "upgrade_required", "awaiting_sync"]
_ProcessHealth = Literal["Healthy", "Degraded", "Offline"]
_ProcessStatus = Literal["ready", "starting", "error"]
_NodeStatus = Literal["Ready", "Starting", "Error", "Divergent"]
_EnvironmentName = Literal["PRODUCTION", "STAGING", "DEVELOPMENT"]

@final
class Snapshot:
    """A published snapshot: a versioned pointer to content-addressed configuration."""

    @property
    def id(self) -> str: ...
    @property
    def cluster(self) -> str: ...
    @property
    def revision(self) -> int: ...
    @property
    def hash(self) -> str:
        """blake3 of the configuration bytes, 64 lowercase hex characters."""
    @property
    def author(self) -> str: ...
    @property
    def published_at_ms(self) -> int: ...
    @property
    def size_bytes(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Directive:
    """The engine's answer to a heartbeat: pull `snapshot`, whose hash is `hash`."""

    @property
    def kind(self) -> Literal["reconcile", "force_sync"]: ...
    @property
    def snapshot(self) -> str: ...
    @property
    def revision(self) -> int: ...
    @property
    def hash(self) -> str: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class ClusterView:
    """A cluster's authority and execution at one moment."""

    @property
    def id(self) -> str: ...
    @property
    def workspace(self) -> str: ...
    @property
    def environment(self) -> _EnvironmentName: ...
    @property
    def owner_team(self) -> str: ...
    @property
    def auto_reconcile(self) -> bool: ...
    @property
    def status(self) -> _ClusterStatus: ...
    @property
    def cohesion(self) -> int:
        """round(100 * in_sync / total), half up; 100 for an empty cluster."""
    @property
    def in_sync(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def desired_snapshot(self) -> str | None: ...
    @property
    def desired_revision(self) -> int: ...
    @property
    def desired_hash(self) -> str | None: ...
    @property
    def root_causes(self) -> dict[str, int]:
        """Sync-error code -> node count, most first."""
    @property
    def root_cause_examples(self) -> dict[str, str | None]: ...
    @property
    def revisions(self) -> dict[int, int]:
        """Applied revision -> node count (0: none of this cluster's, or a bad hash)."""

@final
class NodeView:
    """One node's authority, execution and health at one moment."""

    @property
    def id(self) -> str: ...
    @property
    def cluster(self) -> str: ...
    @property
    def status(self) -> _NodeStatus: ...
    @property
    def health(self) -> _Health: ...
    @property
    def process_health(self) -> _ProcessHealth: ...
    @property
    def process_status(self) -> _ProcessStatus | None: ...
    @property
    def config_status(self) -> _ConfigStatus: ...
    @property
    def drift(self) -> _Drift: ...
    @property
    def desired_snapshot(self) -> str | None: ...
    @property
    def desired_hash(self) -> str | None: ...
    @property
    def applied_snapshot(self) -> str | None: ...
    @property
    def applied_hash(self) -> str | None: ...
    @property
    def last_heartbeat_ms(self) -> int | None: ...
    @property
    def last_sync_error(self) -> str | None:
        """`CODE: detail`, e.g. `RELOAD_FAILURE: Incompatible Filter Signature`."""
    @property
    def sync_error_code(self) -> str | None: ...
    @property
    def reconcile_reason(self) -> str | None: ...
    @property
    def runtime_version(self) -> str | None: ...
    @property
    def cpu(self) -> float: ...
    @property
    def memory(self) -> float: ...
    @property
    def tps(self) -> float: ...
    @property
    def heap(self) -> float: ...
    @property
    def heap_trend(self) -> float: ...
    @property
    def hot_swap_errors(self) -> int: ...

@final
class BatchResult:
    """What `Engine.ingest` did: counts and one 40-byte outcome per record."""

    @property
    def accepted(self) -> int: ...
    @property
    def directives(self) -> int: ...
    @property
    def refused(self) -> int: ...
    @property
    def outcomes(self) -> bytearray: ...
    def __len__(self) -> int: ...

@final
class NodesTable:
    """Node state of the whole fleet, exported through the Arrow PyCapsule interface."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...
    @property
    def num_rows(self) -> int: ...
    @property
    def column_names(self) -> list[str]: ...
    def __len__(self) -> int: ...

@final
class Engine:
    """The fleet-governance engine, safe to share between Python threads.

    Time arguments are unix milliseconds; when omitted, the system clock.
    """

    def __new__(cls, audit_path: str | PathLike[str] | None = None) -> Self: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        *_exc: type[BaseException] | BaseException | TracebackType | None,
    ) -> bool: ...
    def upsert_workspace(
        self,
        id: str,
        /,
        *,
        authority_mode: Literal["authoritative", "tighten_only", "dev_override"] | str = "authoritative",
        min_runtime_version: str = "3.4.0",
    ) -> None: ...
    def upsert_cluster(
        self,
        id: str,
        /,
        *,
        workspace: str,
        environment: Literal["production", "staging", "development"] | str,
        owner_team: str = "",
        auto_reconcile: bool = False,
    ) -> None: ...
    def publish(
        self, cluster: str, config: bytes | bytearray, /, *, actor: str, at_ms: int | None = None
    ) -> Snapshot: ...
    def enroll(self, node: str, /, *, cluster: str, at_ms: int | None = None) -> int:
        """Enrolls `node` in `cluster`; returns its handle for binary records."""
    def node_handle(self, node: str, /) -> int: ...
    def ingest(self, batch: object, /) -> BatchResult:
        """Applies a batch of 128-byte heartbeat records in one call: a NumPy
        array of `fleetgov.records.RECORD_DTYPE`, any C-contiguous buffer, or
        an Arrow array / stream of fixed_size_binary(128). The batch is read
        in place with the GIL released: do not write to it from another thread
        during the call. A malformed record fails the whole batch (InvalidInput)
        with nothing applied."""
    def nodes_table(self, *, now_ms: int | None = None) -> NodesTable: ...
    def heartbeat(
        self,
        node: str | int,
        /,
        *,
        runtime_version: str,
        at_ms: int | None = None,
        applied_snapshot: str | None = None,
        applied_hash: str | None = None,
        process_status: _ProcessStatus | str = "ready",
        cpu: float = 0.0,
        memory: float = 0.0,
        tps: float = 0.0,
        heap: float = 0.0,
        hot_swap_errors: int = 0,
        sync_error: str | None = None,
    ) -> Directive | None: ...
    def cluster(self, id: str, /, *, now_ms: int | None = None) -> ClusterView: ...
    def node(self, id: str, /, *, now_ms: int | None = None) -> NodeView: ...
    def cluster_nodes(
        self, cluster: str, /, *, now_ms: int | None = None, offset: int = 0, limit: int | None = None
    ) -> list[NodeView]: ...
    def cluster_ids(self) -> list[str]: ...
    def snapshot(self, id: str, /) -> Snapshot: ...
    def desired(self, cluster: str, /) -> Snapshot | None: ...
    def artifact(self, hash: str, /) -> bytes: ...
    def fleet(self, workspace: str, /, *, now_ms: int | None = None) -> dict[str, Any]: ...
    def force_sync(
        self,
        *,
        node: str | None = None,
        cluster: str | None = None,
        actor: str,
        role: Literal["viewer", "operator", "admin"] | str,
        reason: str,
        at_ms: int | None = None,
    ) -> dict[str, Any]:
        """Forces one node or one cluster to resync; returns the audit record."""
    def force_global(
        self,
        *,
        workspace: str | None = None,
        actor: str,
        role: Literal["viewer", "operator", "admin"] | str,
        reason: str,
        at_ms: int | None = None,
    ) -> dict[str, Any]:
        """Global overwrite of a workspace (or the whole fleet); admin only."""
    def audit(self) -> list[dict[str, Any]]: ...
    def verify_audit(self) -> str: ...
    def checkpoint(self) -> str: ...

def _boundary_self_test(message: str) -> None: ...
def pack_version(version: str, /) -> int: ...
def verify_audit_file(path: str | PathLike[str], /) -> str: ...
