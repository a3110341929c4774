"""The exceptions fleetgov raises.

Every one derives from :class:`FleetError`, and each also derives from the
built-in exception a Python user would catch for the same trouble, so
``except KeyError`` and ``except fleetgov.NotFound`` both work.

``code`` names the engine's error kind (``"NOT_FOUND"``, ``"INVALID_INPUT"``,
...), the same code the HTTP API and the Java binding use.

>>> import fleetgov
>>> try:
...     fleetgov.Engine().cluster("nope", now_ms=0)
... except KeyError as e:
...     (type(e).__name__, e.code)
('NotFound', 'NOT_FOUND')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from fleetgov._native import BatchResult

__all__ = [
    "AuditTampered",
    "Conflict",
    "EngineClosed",
    "ErrorCode",
    "FleetError",
    "FutureHeartbeat",
    "FutureTime",
    "HistoryUnavailable",
    "IngestInterrupted",
    "InternalError",
    "InvalidInput",
    "InvalidType",
    "JustificationRequired",
    "NotFound",
    "PermissionDenied",
    "ReloadFailure",
    "StaleHeartbeat",
    "StorageError",
]


#: Every value of :attr:`FleetError.code`.
ErrorCode = Literal[
    "FLEET_ERROR",
    "INVALID_INPUT",
    "NOT_FOUND",
    "CONFLICT",
    "STALE_HEARTBEAT",
    "FUTURE_HEARTBEAT",
    "JUSTIFICATION_REQUIRED",
    "PERMISSION_DENIED",
    "AUDIT_TAMPERED",
    "IO",
    "FUTURE",
    "HISTORY_UNAVAILABLE",
    "RELOAD_FAILURE",
    "ENGINE_CLOSED",
    "INTERNAL",
]


class FleetError(Exception):
    """Base class of every error fleetgov raises."""

    #: The engine's error kind, e.g. ``"NOT_FOUND"``.
    code: ErrorCode = "FLEET_ERROR"

    def __str__(self) -> str:
        # KeyError would quote the message; every fleetgov error reads the same.
        return str(self.args[0]) if self.args else ""


class InvalidInput(FleetError, ValueError):
    """An argument is malformed: blank id, bad hash, bad version, NaN metric, bad record."""

    code = "INVALID_INPUT"


class InvalidType(InvalidInput, TypeError):
    """An argument of the wrong Python type, e.g. a float where a node id (str) goes.

    It is an :class:`InvalidInput` (code ``INVALID_INPUT``) and a ``TypeError``;
    the traceback's note names the argument.
    """


class NotFound(FleetError, KeyError):
    """A workspace, cluster, node, snapshot or record does not exist."""

    code = "NOT_FOUND"


class Conflict(FleetError, ValueError):
    """The call contradicts existing state, e.g. a node enrolled in another cluster."""

    code = "CONFLICT"


class StaleHeartbeat(FleetError):
    """A heartbeat older than the node's last one; it was ignored and changed nothing."""

    code = "STALE_HEARTBEAT"


class FutureHeartbeat(FleetError, ValueError):
    """A heartbeat stamped too far in the future; it was rejected."""

    code = "FUTURE_HEARTBEAT"


class JustificationRequired(FleetError, ValueError):
    """An override was requested without a non-blank reason."""

    code = "JUSTIFICATION_REQUIRED"


class PermissionDenied(FleetError, PermissionError):
    """The actor's role may not perform the operation."""

    code = "PERMISSION_DENIED"


class AuditTampered(FleetError):
    """The audit log or a proof does not verify; the message names the first bad record."""

    code = "AUDIT_TAMPERED"


class FutureTime(FleetError, ValueError):
    """A question about a time after the engine's clock: what runs then is not known yet.

    Raised by :meth:`fleetgov.Engine.what_ran`, :meth:`~fleetgov.Engine.fleet_at`
    and :meth:`~fleetgov.Engine.attest`; nothing is signed about the future.
    """

    code = "FUTURE"


class HistoryUnavailable(FleetError, LookupError):
    """A question about a time before the history the engine retains (it begins
    when the engine was made); never answered with an empty or partial fleet.

    Raised by :meth:`fleetgov.Engine.what_ran`, :meth:`~fleetgov.Engine.fleet_at`
    and :meth:`~fleetgov.Engine.attest`.
    """

    code = "HISTORY_UNAVAILABLE"


class ReloadFailure(FleetError):
    """A node's reload hook rejected a configuration; the node keeps running its previous one.

    The message is the sync error the node reports, e.g.
    ``RELOAD_FAILURE: Incompatible Filter Signature``.
    """

    code = "RELOAD_FAILURE"


class StorageError(FleetError, OSError):
    """The durable audit log failed; the engine accepts no further audited changes."""

    code = "IO"


class EngineClosed(FleetError, ValueError):
    """A call on an engine after :meth:`fleetgov.Engine.close`."""

    code = "ENGINE_CLOSED"


class InternalError(FleetError, RuntimeError):
    """A bug in fleetgov (a Rust panic, caught at the boundary). Please report it."""

    code = "INTERNAL"


class IngestInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) during :meth:`fleetgov.Engine.ingest` of a large batch.

    The batch is applied in chunks and the signal is noticed between two of
    them: :attr:`result` is the :class:`fleetgov.BatchResult` of the records
    applied before it, the first ``len(result)`` of the batch; the rest were
    not applied. Being a ``KeyboardInterrupt``, it is not caught by
    ``except Exception`` and ends a script as Ctrl-C does.
    """

    def __init__(self, message: str, result: BatchResult) -> None:
        super().__init__(message)
        self.result = result

    def __reduce__(self) -> tuple[type[IngestInterrupted], tuple[str, BatchResult]]:
        return (type(self), (str(self), self.result))
