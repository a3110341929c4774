"""Binary heartbeat records for bulk ingest, as NumPy structured arrays.

The layout is the engine's binary heartbeat record, version 1: 128 bytes,
little-endian, no alignment requirement. :data:`RECORD_DTYPE` maps it field
by field, so a NumPy array of it goes to :meth:`fleetgov.Engine.ingest`
without a copy; :data:`OUTCOME_DTYPE` reads the 40-byte outcome records the
engine writes back, one per heartbeat record.

>>> import numpy as np, fleetgov
>>> from fleetgov import records
>>> e = fleetgov.Engine()
>>> e.upsert_workspace("ws-1")
>>> e.upsert_cluster("c", workspace="ws-1", environment="dev")
>>> batch = records.empty(1)
>>> batch["handle"] = e.enroll("gw-1", cluster="c", at_ms=0)
>>> batch["at_ms"] = 1_000
>>> batch["runtime_version"] = fleetgov.pack_version("3.5.0")
>>> result = e.ingest(batch)
>>> (result.accepted, records.outcomes(result)["outcome"].tolist())
(1, [0])

Requires NumPy (``pip install numpy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from fleetgov._native import OUTCOME_SIZE, RECORD_SIZE, RECORD_VERSION, SYNC_ERROR_CODES

if TYPE_CHECKING:
    from fleetgov._native import BatchResult

__all__ = [
    "FLAG_APPLIED",
    "OUTCOMES",
    "OUTCOME_DTYPE",
    "PROCESS_STATUS",
    "RECORD_DTYPE",
    "SYNC_ERROR_CODES",
    "empty",
    "hash_bytes",
    "outcomes",
]

#: Flags bit 0: the record reports an applied snapshot (revision and hash).
FLAG_APPLIED = 1

#: Process status byte values.
PROCESS_STATUS = {"ready": 0, "starting": 1, "error": 2}

#: Outcome byte values, by index. "wrong_cluster" (a node of another cluster
#: than the batch is bound to) comes only from a cluster-bound batch (NATS).
OUTCOMES = ("accepted", "reconcile", "force_sync", "stale", "future", "unknown_node", "wrong_cluster")

RECORD_DTYPE: np.dtype[Any] = np.dtype(
    {
        "names": [
            "version", "status", "error_code", "flags", "revision", "handle", "at_ms", "hash",
            "runtime_version", "cpu", "memory", "tps", "heap", "hot_swap_errors", "detail_len", "detail",
        ],
        "formats": [
            "u1", "u1", "u1", "u1", "<u4", "<u8", "<u8", ("u1", (32,)),
            "<u4", "<f4", "<f4", "<f4", "<f4", "<u4", "u1", ("u1", (47,)),
        ],
        "offsets": [0, 1, 2, 3, 4, 8, 16, 24, 56, 60, 64, 68, 72, 76, 80, 81],
        "itemsize": RECORD_SIZE,
    }
)  # fmt: skip

OUTCOME_DTYPE: np.dtype[Any] = np.dtype(
    {
        "names": ["outcome", "revision", "hash"],
        "formats": ["u1", "<u4", ("u1", (32,))],
        "offsets": [0, 4, 8],
        "itemsize": OUTCOME_SIZE,
    }
)


def empty(n: int) -> np.ndarray[Any, np.dtype[Any]]:
    """`n` zeroed records with the format version set; fill in the rest."""
    batch = np.zeros(n, dtype=RECORD_DTYPE)
    batch["version"] = RECORD_VERSION
    return batch


def hash_bytes(hex_hash: str) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A 64-hex-character content hash as the 32 bytes of a record's `hash` field."""
    return np.frombuffer(bytes.fromhex(hex_hash), dtype=np.uint8)


def outcomes(result: BatchResult) -> np.ndarray[Any, np.dtype[Any]]:
    """The outcome records of a batch as a NumPy array of :data:`OUTCOME_DTYPE` (no copy)."""
    return np.frombuffer(result.outcomes, dtype=OUTCOME_DTYPE)
