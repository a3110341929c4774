"""Core rules every binding shows alike: unpublished revisions, node clocks
running ahead, and the one sync-error detail limit."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from model import T0

import fleetgov
from fleetgov import records


def one_cluster(e: fleetgov.Engine) -> fleetgov.Snapshot:
    e.upsert_workspace("ws-1")
    e.upsert_cluster("c1", workspace="ws-1", environment="staging")
    return e.publish("c1", b"v1", actor="alice", at_ms=T0)


def batch_of_one(e: fleetgov.Engine, node: str, at_ms: int) -> np.ndarray[Any, np.dtype[Any]]:
    batch = records.empty(1)
    batch["handle"] = e.node_handle(node)
    batch["at_ms"] = at_ms
    batch["runtime_version"] = fleetgov.pack_version("3.5.0")
    return batch


def test_an_unpublished_revision_of_the_own_cluster_shows_only_its_hash(engine: fleetgov.Engine) -> None:
    s = one_cluster(engine)
    unknown = "ab" * 32
    engine.enroll("single", cluster="c1", at_ms=T0)
    engine.enroll("batch", cluster="c1", at_ms=T0)
    engine.heartbeat("single", at_ms=T0, applied_snapshot="c1@r999", applied_hash=unknown, runtime_version="3.5.0")
    batch = batch_of_one(engine, "batch", T0)
    batch["flags"] = records.FLAG_APPLIED
    batch["revision"] = 999
    batch["hash"] = records.hash_bytes(unknown)
    assert engine.ingest(batch).accepted == 1
    for node in ("single", "batch"):
        n = engine.node(node, now_ms=T0)
        assert (n.applied_snapshot, n.applied_hash, n.config_status) == (None, unknown, "DIVERGENT"), node
        assert n.last_sync_error is None, node
    # A published revision is shown again.
    engine.heartbeat("single", at_ms=T0 + 1, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
    assert engine.node("single", now_ms=T0 + 1).applied_snapshot == s.id


def test_a_node_clock_running_ahead_cannot_lock_its_node_out(engine: fleetgov.Engine) -> None:
    s = one_cluster(engine)
    engine.enroll("fast", cluster="c1", at_ms=T0)
    engine.enroll("fast-batch", cluster="c1", at_ms=T0)
    ahead = 4 * 60_000
    before = int(time.time() * 1000)
    engine.heartbeat("fast", at_ms=before + ahead, runtime_version="3.5.0")
    assert engine.ingest(batch_of_one(engine, "fast-batch", before + ahead)).accepted == 1
    after = int(time.time() * 1000)
    for node in ("fast", "fast-batch"):
        last = engine.node(node, now_ms=after).last_heartbeat_ms
        assert last is not None and before <= last <= after, (node, last)
    # The clock is corrected: the next heartbeat, stamped now, is applied.
    now = int(time.time() * 1000)
    engine.heartbeat("fast", at_ms=now, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
    batch = batch_of_one(engine, "fast-batch", now)
    batch["flags"] = records.FLAG_APPLIED
    batch["revision"] = s.revision
    batch["hash"] = records.hash_bytes(s.hash)
    result = engine.ingest(batch)
    assert (result.accepted, result.refused) == (1, 0)
    for node in ("fast", "fast-batch"):
        n = engine.node(node, now_ms=now)
        assert (n.applied_snapshot, n.last_heartbeat_ms) == (s.id, now), node


def test_a_sync_error_detail_is_kept_alike_on_both_paths(engine: fleetgov.Engine) -> None:
    s = one_cluster(engine)
    detail = "é" * 30 + " and more"  # 69 bytes: 46 fit (the 47th would split a character)
    engine.enroll("single", cluster="c1", at_ms=T0)
    engine.enroll("batch", cluster="c1", at_ms=T0)
    engine.heartbeat(
        "single", at_ms=T0, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0",
        sync_error=f"RELOAD_FAILURE: {detail}",
    )  # fmt: skip
    batch = batch_of_one(engine, "batch", T0)
    cut = detail.encode()[:46]
    batch["error_code"] = records.SYNC_ERROR_CODES["RELOAD_FAILURE"]
    batch["detail_len"] = len(cut)
    batch["detail"][0, : len(cut)] = list(cut)
    engine.ingest(batch)
    kept = [engine.node(n, now_ms=T0).last_sync_error for n in ("single", "batch")]
    assert kept == ["RELOAD_FAILURE: " + "é" * 23] * 2
