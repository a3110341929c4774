"""Type stubs of the native module; `fleetgov` re-exports everything public."""

from typing_extensions import Buffer
from os import PathLike
from types import TracebackType
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Protocol, Self, final, overload

from fleetgov.types import (
    AppliedAt,
    AppliedChange,
    Attestation,
    AuditAction,
    AuditHead,
    AuditPage,
    AuditRecord,
    AuthorityMode,
    ClusterStatus,
    ClusterViewDict,
    ConfigStatus,
    ConsistencyProofDict,
    DirectiveDict,
    DirectiveKind,
    Drift,
    Environment,
    EnvironmentName,
    FleetColumns,
    FleetEvent,
    FleetInventory,
    Health,
    InclusionProofDict,
    JournalVerification,
    NodeStatus,
    NodeViewDict,
    ProcessHealth,
    ProcessStatus,
    Role,
    RolloutPlan,
    RolloutState,
    RolloutViewDict,
    SnapshotDict,
    SyncErrorCode,
    WaveViewDict,
)

__version__: str
__all__ = [
    "AuditTable",
    "BatchResult",
    "ClusterView",
    "ConsistencyProof",
    "Directive",
    "Engine",
    "EventStream",
    "InclusionProof",
    "NodeView",
    "NodesTable",
    "OUTCOME_SIZE",
    "RECORD_SIZE",
    "RECORD_VERSION",
    "RolloutView",
    "SYNC_ERROR_CODES",
    "Snapshot",
    "__version__",
    "_boundary_self_test",
    "_set_ingest_chunk",
    "open_checkpoint",
    "pack_version",
    "verify_audit_file",
    "verify_inclusion",
    "WaveView",
]

RECORD_SIZE: int
RECORD_VERSION: int
OUTCOME_SIZE: int
SYNC_ERROR_CODES: dict[str, int]

class _ArrowArray(Protocol):
    """An Arrow array (pyarrow.Array, ...): the Arrow PyCapsule array interface."""

    def __arrow_c_array__(self, requested_schema: object | None = None, /) -> tuple[object, object]: ...

class _ArrowStream(Protocol):
    """An Arrow stream (pyarrow.Table, ChunkedArray, RecordBatchReader, ...)."""

    def __arrow_c_stream__(self, requested_schema: object | None = None, /) -> object: ...

class _NumPyArray(Protocol):
    """A NumPy array (typed apart from `Buffer`, which NumPy's stubs declare from Python 3.12 on)."""

    @property
    def __array_interface__(self) -> dict[str, Any]: ...

#: What `Engine.ingest` reads: a buffer of 128-byte records (a NumPy array of
#: `fleetgov.records.RECORD_DTYPE`, bytes, ...), Arrow data of fixed_size_binary(128),
#: or a table by id (an Arrow stream: pyarrow, pandas or polars).
_RecordBatch = Buffer | _NumPyArray | _ArrowArray | _ArrowStream

@final
class Snapshot:
    """A published snapshot: a versioned pointer to content-addressed configuration.

    A frozen value: equal and hashable by its fields, picklable; `copy` and
    `deepcopy` return it unchanged.
    """

    def __new__(
        cls,
        id: str,
        cluster: str,
        revision: int,
        hash: str,
        author: str,
        published_at_ms: int,
        size_bytes: int,
    ) -> Self: ...
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
    def to_dict(self) -> SnapshotDict: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[type[Self], tuple[str, str, int, str, str, int, int]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: object, /) -> Self: ...

@final
class Directive:
    """The engine's answer to a heartbeat: pull `snapshot`, whose hash is `hash`."""

    def __new__(cls, kind: DirectiveKind, snapshot: str, revision: int, hash: str) -> Self: ...
    @property
    def kind(self) -> DirectiveKind: ...
    @property
    def snapshot(self) -> str: ...
    @property
    def revision(self) -> int: ...
    @property
    def hash(self) -> str: ...
    def to_dict(self) -> DirectiveDict: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[type[Self], tuple[str, str, int, str]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: object, /) -> Self: ...

@final
class ClusterView:
    """A cluster's authority and execution at one moment (a frozen value)."""

    def __new__(
        cls,
        id: str,
        workspace: str,
        environment: EnvironmentName,
        owner_team: str,
        auto_reconcile: bool,
        status: ClusterStatus,
        cohesion: int,
        cohesion_bp: int,
        in_sync: int,
        total: int,
        desired_snapshot: str | None,
        desired_revision: int,
        desired_hash: str | None,
        root_causes: dict[str, int],
        root_cause_examples: dict[str, str | None],
        revisions: dict[int, int],
    ) -> Self: ...
    @property
    def id(self) -> str: ...
    @property
    def workspace(self) -> str: ...
    @property
    def environment(self) -> EnvironmentName: ...
    @property
    def owner_team(self) -> str: ...
    @property
    def auto_reconcile(self) -> bool: ...
    @property
    def status(self) -> ClusterStatus:
        """HEALTHY when every node is verified and no node's last heartbeat
        carries a sync error; else DIVERGENT below 50 % cohesion, else SYNCING."""
    @property
    def cohesion(self) -> int:
        """floor(100 * in_sync / total): 100 only when every node is verified
        (and for an empty cluster)."""
    @property
    def cohesion_bp(self) -> int:
        """Cohesion in basis points, floor(10000 * in_sync / total): 9950 is 99.50 %."""
    @property
    def in_sync(self) -> int:
        """Nodes verified: in sync with the desired snapshot (id and hash) and
        heard from at most 60 minutes before the view's time."""
    @property
    def total(self) -> int:
        """Nodes enrolled."""
    @property
    def desired_snapshot(self) -> str | None:
        """The cluster's desired snapshot; during a rollout, its target."""
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
    def to_dict(self) -> ClusterViewDict: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __reduce__(self) -> tuple[type[Self], tuple[object, ...]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: object, /) -> Self: ...

@final
class NodeView:
    """One node's authority, execution and health at one moment (a frozen value)."""

    def __new__(
        cls,
        id: str,
        cluster: str,
        status: NodeStatus,
        health: Health,
        process_health: ProcessHealth,
        process_status: ProcessStatus | None,
        config_status: ConfigStatus,
        drift: Drift,
        desired_snapshot: str | None,
        desired_hash: str | None,
        applied_snapshot: str | None,
        applied_hash: str | None,
        last_heartbeat_ms: int | None,
        heartbeat_age_ms: int | None,
        verified: bool,
        last_sync_error: str | None,
        sync_error_code: SyncErrorCode | None,
        reconcile_reason: str | None,
        runtime_version: str | None,
        cpu: float,
        memory: float,
        tps: float,
        heap: float,
        heap_trend: float,
        hot_swap_errors: int,
    ) -> Self: ...
    @property
    def id(self) -> str: ...
    @property
    def cluster(self) -> str: ...
    @property
    def status(self) -> NodeStatus: ...
    @property
    def health(self) -> Health: ...
    @property
    def process_health(self) -> ProcessHealth: ...
    @property
    def process_status(self) -> ProcessStatus | None: ...
    @property
    def config_status(self) -> ConfigStatus: ...
    @property
    def drift(self) -> Drift: ...
    @property
    def desired_snapshot(self) -> str | None:
        """The snapshot this node should run now: during a rollout, the target
        for nodes of started waves and the previous snapshot for the others."""
    @property
    def desired_hash(self) -> str | None: ...
    @property
    def applied_snapshot(self) -> str | None: ...
    @property
    def applied_hash(self) -> str | None: ...
    @property
    def last_heartbeat_ms(self) -> int | None: ...
    @property
    def heartbeat_age_ms(self) -> int | None:
        """How long before the view's time the last heartbeat was (``None``: never heard from)."""
    @property
    def verified(self) -> bool:
        """Whether the node's last report still counts: in sync (``config_status``
        ``IN_SYNC``) and heard from at most 60 minutes before the view's time."""
    @property
    def last_sync_error(self) -> str | None:
        """`CODE: detail`, e.g. `RELOAD_FAILURE: Incompatible Filter Signature`."""
    @property
    def sync_error_code(self) -> SyncErrorCode | None: ...
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
    def to_dict(self) -> NodeViewDict: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __reduce__(self) -> tuple[type[Self], tuple[object, ...]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: object, /) -> Self: ...

@final
class WaveView:
    """One wave of a rollout (a frozen value): its nodes, how many verifiably
    run the target, how many failed, and when it started."""

    def __new__(cls, percent: int, nodes: int, on_target: int, failures: int, started_ms: int | None) -> Self: ...
    @property
    def percent(self) -> int:
        """The wave's cumulative percentage of the cluster's nodes."""
    @property
    def nodes(self) -> int: ...
    @property
    def on_target(self) -> int:
        """Of its nodes, verified on the target."""
    @property
    def failures(self) -> int:
        """Of its nodes, those that reported a sync error or a hash mismatch since it started."""
    @property
    def started_ms(self) -> int | None:
        """When it started (unix ms); ``None`` if it has not."""
    def to_dict(self) -> WaveViewDict: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[type[Self], tuple[int, int, int, int, int | None]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: object, /) -> Self: ...

@final
class RolloutView:
    """A cluster's rollout at one moment (a frozen value). Nodes of started
    waves should run `target_snapshot`, the others keep `previous_snapshot`
    until their wave starts."""

    def __new__(
        cls,
        cluster: str,
        state: RolloutState,
        wave: int,
        waves: Sequence[int],
        bake_ms: int,
        max_failure_pct: float,
        auto_rollback: bool,
        target_snapshot: str,
        previous_snapshot: str,
        nodes_started: int,
        on_target: int,
        failures: int,
        failure_budget: int,
        reason: str | None,
        since_ms: int,
        bake_ends_ms: int | None,
        per_wave: Iterable[WaveView | WaveViewDict],
    ) -> Self: ...
    @property
    def cluster(self) -> str: ...
    @property
    def state(self) -> RolloutState: ...
    @property
    def wave(self) -> int:
        """The index of the newest started wave."""
    @property
    def waves(self) -> list[int]:
        """The plan's waves: cumulative percentages of the cluster's nodes."""
    @property
    def bake_ms(self) -> int: ...
    @property
    def max_failure_pct(self) -> float: ...
    @property
    def auto_rollback(self) -> bool: ...
    @property
    def target_snapshot(self) -> str: ...
    @property
    def previous_snapshot(self) -> str: ...
    @property
    def nodes_started(self) -> int:
        """Nodes of started waves."""
    @property
    def on_target(self) -> int:
        """Of them, verified on the target."""
    @property
    def failures(self) -> int:
        """Of them, those that reported a sync error or a hash mismatch since their wave started."""
    @property
    def failure_budget(self) -> int:
        """The failures the plan allows among `nodes_started`."""
    @property
    def reason(self) -> str | None:
        """Why it halted, naming the counts and failure codes (while halted or
        rolled back), e.g. ``3 of 100 nodes failed: RELOAD_FAILURE``."""
    @property
    def since_ms(self) -> int:
        """When the current state began (unix ms)."""
    @property
    def bake_ends_ms(self) -> int | None:
        """When the current bake ends, while baking."""
    @property
    def per_wave(self) -> list[WaveView]: ...
    def to_dict(self) -> RolloutViewDict:
        """The fields, `per_wave` as a list of dicts."""
    def __eq__(self, other: object, /) -> bool: ...
    def __reduce__(self) -> tuple[type[Self], tuple[object, ...]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: object, /) -> Self: ...

@final
class BatchResult:
    """What `Engine.ingest` did: counts and one 40-byte outcome per record applied."""

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
class AuditTable:
    """The audit log, one row per record, exported through the Arrow PyCapsule interface."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...
    @property
    def num_rows(self) -> int: ...
    @property
    def column_names(self) -> list[str]: ...
    def __len__(self) -> int: ...

@final
class EventStream:
    """An iterator over what changes in an engine, in order (``Engine.events()``).

    Waits for each event with the GIL released and notices Ctrl-C; ends when
    its timeout passes with no event, or after ``close()``.
    """

    def __iter__(self) -> Self: ...
    def __next__(self) -> FleetEvent: ...
    @property
    def position(self) -> int | None:
        """The sequence number of the next event (``None`` once closed)."""
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, exc_type: object, exc_value: object, traceback: object, /) -> None: ...

@final
class InclusionProof:
    """Proof that audit record ``leaf_index`` is in the audit tree of
    ``tree_size`` records (RFC 6962, SHA-256). A frozen value: equal by its
    fields, picklable; build one from a proof received elsewhere to check it.
    """

    def __new__(cls, leaf_index: int, tree_size: int, path: Iterable[str]) -> Self: ...
    @property
    def leaf_index(self) -> int:
        """The leaf's position: the record's sequence number."""
    @property
    def tree_size(self) -> int: ...
    @property
    def path(self) -> list[str]:
        """The audit path, leaf level first, 64 hex characters each."""
    def verify(self, leaf_hash: str, head: AuditHead, /) -> None:
        """Checks that ``leaf_hash`` (hex of ``SHA-256(0x00 || entry)``) is
        leaf ``leaf_index`` of the tree whose trusted head is ``head`` (from
        `open_checkpoint`; its size must be ``tree_size``). Raises
        `AuditTampered` if it is not."""
    def to_dict(self) -> InclusionProofDict: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __reduce__(self) -> tuple[type[Self], tuple[int, int, list[str]]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: object, /) -> Self: ...

@final
class ConsistencyProof:
    """Proof that the audit tree of ``old_size`` records is a prefix of the
    tree of ``new_size`` records: the log was only appended to. A frozen value."""

    def __new__(cls, old_size: int, new_size: int, path: Iterable[str]) -> Self: ...
    @property
    def old_size(self) -> int: ...
    @property
    def new_size(self) -> int: ...
    @property
    def path(self) -> list[str]:
        """The proof's node hashes, 64 hex characters each."""
    def verify(self, old: AuditHead, new: AuditHead, /) -> None:
        """Checks the proof between two trusted heads (from
        `open_checkpoint`; their sizes must be the proof's). Raises
        `AuditTampered` if the newer log does not extend the older."""
    def to_dict(self) -> ConsistencyProofDict: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __reduce__(self) -> tuple[type[Self], tuple[int, int, list[str]]]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: object, /) -> Self: ...

@final
class Engine:
    """The fleet-governance engine, safe to share between Python threads.

    Time arguments are unix milliseconds; when omitted, the engine's clock
    (the system clock, or with ``clock_ms`` a manual one).
    """

    def __new__(
        cls,
        audit_path: str | PathLike[str] | None = None,
        *,
        clock_ms: int | None = None,
        data_dir: str | PathLike[str] | None = None,
        journal_interval_ms: int | None = None,
        checkpoint_interval_ms: int | None = None,
        journal_segment_len: int | None = None,
        capacity: int | None = None,
        retention_ms: int | None = None,
    ) -> Self:
        """With ``clock_ms``, the engine runs on a manual clock reading
        ``clock_ms`` until ``set_clock`` moves it.

        With ``data_dir``, the engine is durable: the directory keeps the
        audit log, the signing key, enrolments, the journal of what ran and
        every node's last report, and an engine opened on it again restores
        them. The journal is made durable every ``journal_interval_ms``
        (default 200), node state checkpointed every ``checkpoint_interval_ms``
        (default 60000) and on close, and a journal segment sealed into the
        audit log every ``journal_segment_len`` transitions. A directory
        another engine has open raises `Conflict`. With ``audit_path`` alone,
        only the audit log is durable; giving both raises `InvalidInput`.

        The history begins when the data directory was made, or without one
        at the clock's reading when the engine is made, and is kept for
        ``retention_ms`` (default 30 days, at least 1, else `InvalidInput`):
        an earlier time raises `HistoryUnavailable` naming the horizon, and
        a durable engine's journal is compacted behind it (each node's last
        transition before the horizon is kept, so every answer within it is
        exact).

        ``capacity`` is the most nodes the engine holds: 1 to 4294967295
        (default 16777216), else `InvalidInput`; enrolling one node more
        raises `InvalidInput` naming ``Engine(capacity=...)``. The other
        limits (ids, actors, owner teams, justifications, sync-error details)
        are in the README's "Limits"."""
    @property
    def clock_ms(self) -> int:
        """The engine's clock now (unix ms)."""
    def set_clock(self, ms: int, /) -> None:
        """Moves the manual clock; `InvalidInput` on an engine on the system clock."""
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> Self:
        """Enters a `with` block; raises `EngineClosed` on a closed engine."""
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> None: ...
    def upsert_workspace(
        self,
        id: str,
        /,
        *,
        authority_mode: AuthorityMode = "authoritative",
        min_runtime_version: str = "3.4.0",
    ) -> None: ...
    def upsert_cluster(
        self,
        id: str,
        /,
        *,
        workspace: str,
        environment: Environment,
        owner_team: str = "",
        auto_reconcile: bool = False,
    ) -> None:
        """Creates or updates a cluster. `owner_team` is empty (no team) or
        1 to 256 UTF-8 bytes of visible text with no control character; it is
        stored exactly as given. Anything else, or a str holding a lone
        surrogate, raises `InvalidInput`."""
    def publish(
        self,
        cluster: str,
        config: bytes | bytearray,
        /,
        *,
        actor: str,
        at_ms: int | None = None,
        rollout: RolloutPlan | None = None,
    ) -> Snapshot:
        """Publishes `config` as the cluster's next snapshot, authored by
        `actor`: 1 to 256 UTF-8 bytes of visible text with no control
        character (C0, DEL, C1, NUL and line breaks included) and no lone
        surrogate, else `InvalidInput`.

        With `rollout`, the snapshot reaches the cluster in the plan's waves:
        the nodes of started waves should run it and are told to pull it,
        the others keep the snapshot published before until their wave
        starts (see `rollout`). A plan of the wrong shape raises
        `InvalidType` (a value of the wrong type) or `InvalidInput` (a
        missing or unknown key); one the engine refuses, or a cluster with
        nothing published yet to roll out from, `InvalidInput`."""
    def rollout(self, cluster: str, /, *, now_ms: int | None = None) -> RolloutView | None:
        """The rollout of `cluster` at `now_ms`, or ``None`` when it never had one."""
    def advance_rollouts(self, *, now_ms: int | None = None) -> int:
        """Evaluates every active rollout's gates at `now_ms` (a bake may
        have ended with no heartbeat to notice it) and returns how many steps
        were taken: waves started, halts, rollbacks, completions, each
        audited. Call it periodically."""
    def pause_rollout(
        self, cluster: str, /, *, actor: str, role: Role, reason: str, at_ms: int | None = None
    ) -> AuditRecord:
        """Pauses the rollout: no wave starts and the started waves' nodes get
        no directive until it is resumed. Returns the audit record.

        As `force_sync`: an operator or admin (a viewer raises
        `PermissionDenied`) with a `reason` holding visible text (else
        `JustificationRequired`). A rollout that is not progressing or
        baking raises `Conflict`; a cluster that never had one `NotFound`."""
    def resume_rollout(
        self, cluster: str, /, *, actor: str, role: Role, reason: str, at_ms: int | None = None
    ) -> AuditRecord:
        """Resumes a paused or halted rollout (a halted one halts again unless
        its failures fell within the budget); as `pause_rollout`."""
    def abort_rollout(
        self, cluster: str, /, *, actor: str, role: Role, reason: str, at_ms: int | None = None
    ) -> AuditRecord:
        """Aborts the rollout: every node should run the previous snapshot
        again, and those that applied the target are told to return; as
        `pause_rollout`."""
    def promote_rollout(
        self, cluster: str, /, *, actor: str, role: Role, reason: str, at_ms: int | None = None
    ) -> AuditRecord:
        """Starts every remaining wave now; as `pause_rollout`."""
    def enroll(self, node: str, /, *, cluster: str, at_ms: int | None = None) -> int:
        """Enrolls `node` in `cluster`; returns its handle for binary records.
        An id is 1 to 128 bytes of ASCII letters, digits, ``. _ - :``; any
        other, white space of every kind included, raises `InvalidInput`."""
    def enroll_many(self, nodes: Iterable[tuple[str, str]], /, *, at_ms: int | None = None) -> list[int]:
        """Enrolls every ``(node, cluster)`` pair and returns their handles in
        order. Every pair is checked first: on a refusal (`NotFound`,
        `Conflict`, `InvalidInput`) nothing is enrolled. With a data directory
        the new enrolments share one write to disk."""
    def node_handle(self, node: str, /) -> int: ...
    def ingest(self, batch: _RecordBatch, /) -> BatchResult:
        """Applies a batch of 128-byte heartbeat records in one call: a NumPy
        array of `fleetgov.records.RECORD_DTYPE`, any C-contiguous buffer, or
        an Arrow array / stream of fixed_size_binary(128). Or a table by id
        (Arrow, pandas, polars): an `id` string column naming each row's node
        and record fields as columns named like RECORD_DTYPE's (no `handle`;
        `detail` as text); an id of no enrolled node is refused at its row
        (`unknown_node`). The records are
        applied with the GIL released: a writable buffer is copied first (with
        the GIL held), a read-only one or Arrow data is read in place and must
        not change during the call. A writable batch of up to one chunk
        (1,048,576 records) is copied into a buffer the engine keeps for the
        next call (at most 128 MiB; `release_ingest_buffer()` or `close()`
        frees it), a longer one into fresh memory. A malformed record fails the whole batch (InvalidInput)
        with nothing applied. Ctrl-C between two chunks of a large batch raises
        `fleetgov.IngestInterrupted` carrying the result of the records applied."""
    def release_ingest_buffer(self) -> int:
        """Frees the buffer `ingest` keeps to copy writable batches into and
        returns the bytes it held (0 if none)."""
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
        process_status: ProcessStatus = "ready",
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
    @overload
    def fleet(
        self,
        workspace: str,
        /,
        *,
        now_ms: int | None = None,
        health: Health | None = None,
        drift: Drift | None = None,
        cluster: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        columnar: Literal[False] = False,
    ) -> FleetInventory:
        """The runtimes of ``workspace`` with that ``health``, ``drift`` and
        ``cluster``, in cluster then enrolment order: at most ``limit`` of them
        (all without it) from ``cursor`` (the ``nextCursor`` of the page
        before), as the HTTP API's ``?health=&drift=&cluster=&limit=&cursor=``.
        ``summary`` and ``desiredState`` cover the whole workspace. A health
        or drift outside its values, ``limit=0`` or a cursor ``fleet`` did not
        return raise `InvalidInput`; a cluster not in the workspace `NotFound`."""
    @overload
    def fleet(
        self,
        workspace: str,
        /,
        *,
        now_ms: int | None = None,
        health: Health | None = None,
        drift: Drift | None = None,
        cluster: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        columnar: Literal[True],
    ) -> FleetColumns:
        """As above, with ``runtimes`` as one list per key (``pl.DataFrame(page["runtimes"])``)."""
    def force_sync(
        self,
        *,
        node: str | None = None,
        cluster: str | None = None,
        actor: str,
        role: Role,
        reason: str,
        at_ms: int | None = None,
    ) -> AuditRecord:
        """Forces one node or one cluster to resync; returns the audit record.

        `actor` is 1 to 256 UTF-8 bytes of visible text; `reason`, the
        justification, at most 4096 UTF-8 bytes holding visible text. Neither
        may hold a control character (C0, DEL, C1, NUL and line breaks
        included) or a lone surrogate (`InvalidInput`, nothing recorded).
        *Visible* means at least one character that is not white space, not a
        control and not a format character: a reason of only U+200B, U+00A0,
        U+3000 or U+FEFF says nothing and raises `JustificationRequired`.
        Both are recorded exactly as given, never trimmed or replaced."""
    def force_global(
        self,
        *,
        workspace: str | None = None,
        actor: str,
        role: Role,
        reason: str,
        at_ms: int | None = None,
    ) -> AuditRecord:
        """Global overwrite of a workspace (or the whole fleet); admin only.
        `actor` and `reason` follow the rules of `force_sync`."""
    def unenroll(self, node: str, /, *, actor: str, role: Role, at_ms: int | None = None) -> AuditRecord:
        """Removes `node` from its cluster (operator or admin; audited as
        ``remove_node`` before it takes effect, durable before it returns).
        It leaves the cluster's counts; its heartbeats raise `NotFound` until
        it is enrolled again, with a new handle. A viewer raises
        `PermissionDenied`, a node not enrolled `NotFound`."""
    def audit_query(
        self,
        *,
        action: AuditAction | Sequence[AuditAction] | None = None,
        target: str | None = None,
        cluster: str | None = None,
        node: str | None = None,
        actor: str | None = None,
        from_ms: int | None = None,
        to_ms: int | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> AuditPage:
        """One page of the audit log, newest first, narrowed by every filter
        given (as ``GET /api/v1/audit``); ``cluster`` means the cluster, its
        snapshots and its nodes. Pass ``nextBefore`` as `before` for the next
        (older) page. `limit` is 1 to 1000 (default 50); `from_ms` after
        `to_ms` raises `InvalidInput`."""
    def audit(self) -> list[AuditRecord]: ...
    def events(self, from_seq: int | None = None, timeout_ms: int | None = None) -> EventStream:
        """An iterator over node transitions, cluster counters and audit
        records, each a dict with ``type`` and ``seq``; recorded only while a
        stream is open."""
    def what_ran(self, node: str, /, *, at_ms: int | None = None) -> AppliedAt | None:
        """What `node` ran at `at_ms` (``None``: it had reported nothing yet).
        A time after the engine's clock raises `FutureTime`; one before the
        engine's history began, `HistoryUnavailable`. Answering about a moment
        seals it: anything recorded later is stamped after it."""
    def fleet_at(self, cluster: str, /, *, at_ms: int | None = None) -> list[AppliedAt]:
        """What every node of `cluster` ran at `at_ms`, by node id; times are
        checked as by `what_ran`."""
    def attest(self, cluster: str, /, *, at_ms: int | None = None) -> Attestation:
        """A signed attestation of what `cluster` ran at `at_ms`, the same
        envelope byte for byte for the same moment; times are checked as by
        `what_ran` (nothing is signed about the future)."""
    def history(
        self, node: str, /, *, from_ms: int | None = None, to_ms: int | None = None
    ) -> list[AppliedChange]:
        """Every change of what `node` ran from ``from_ms`` (default: where
        the history begins) to ``to_ms`` (default: the engine's clock), both
        included, oldest first. Times are checked as by `what_ran`;
        ``from_ms`` after ``to_ms`` raises `InvalidInput`."""
    @property
    def history_start_ms(self) -> int:
        """Where the history begins (unix ms): when the data directory was
        made, or without one when the engine was made."""
    def sync_journal(self) -> None:
        """Returns once every transition journalled so far is on disk (the
        writer does this by itself every ``journal_interval_ms``); a no-op
        without a data directory. Raises `StorageError` if the writer cannot write."""
    @property
    def journal_failure(self) -> str | None:
        """Why the journal writer last failed to write (it retries), or ``None``."""
    def verify_journal(self) -> JournalVerification:
        """Checks every sealed journal segment against the audit record that
        sealed it; `AuditTampered` names the first that differs or is missing."""
    def checkpoint_verifier_key(self) -> str:
        """The public key text that checks this engine's checkpoints and attestations."""
    def audit_table(self) -> AuditTable:
        """The audit log as Arrow: seq, time (timestamp[ms, UTC]), actor, role,
        action, target, justification, event (JSON text), config (bytes of a
        publish), payload_hash, prev_hash."""
    def verify_audit(self) -> str: ...
    def checkpoint(self) -> str:
        """The audit log's current head as a signed checkpoint (a C2SP signed
        note), opened by anyone with `open_checkpoint` and the verifier key."""
    def inclusion_proof(self, seq: int, /, size: int | None = None) -> InclusionProof:
        """Proof that audit record `seq` is in the log of `size` records
        (default: the log now)."""
    def consistency_proof(self, old_size: int, /, new_size: int | None = None) -> ConsistencyProof:
        """Proof that the log of `old_size` records is a prefix of the log of
        `new_size` records (default: the log now)."""
    def tlog_proof(self, seq: int, /) -> str:
        """A C2SP ``tlog-proof@v1`` bundle for audit record `seq` (its
        inclusion path and a freshly signed checkpoint), checked offline with
        `verify_inclusion`."""
    def audit_entry(self, seq: int, /) -> bytes:
        """The canonical entry bytes of audit record `seq`, which its leaf
        hashes: ``SHA-256(0x00 || entry)``."""

def _boundary_self_test(message: str) -> None: ...
def _set_ingest_chunk(records: int, /) -> int: ...
def pack_version(version: str, /) -> int: ...
def verify_audit_file(path: str | PathLike[str], /) -> str: ...
def open_checkpoint(note: str, verifier_key: str, /) -> AuditHead:
    """Checks a signed checkpoint with the log owner's verifier key alone and
    returns the head it signs; a bad signature raises `AuditTampered`."""
def verify_inclusion(bundle: str, entry: bytes | bytearray, verifier_key: str, /) -> AuditHead:
    """Checks a ``tlog-proof@v1`` bundle offline: the checkpoint's signature,
    then that `entry` is the leaf it names. Returns the signed head; raises
    `AuditTampered` if either fails."""
