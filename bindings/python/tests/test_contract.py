"""The public contract of issue 6, call by call."""

from __future__ import annotations

import pytest
from model import MINUTE, T0

import fleetgov
from fleetgov.types import Environment

BLAKE3_ABC = "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"


def ready(e: fleetgov.Engine, node: str, s: fleetgov.Snapshot, at_ms: int, **kw: object) -> object:
    return e.heartbeat(node, at_ms=at_ms, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0", **kw)  # type: ignore[arg-type]


def test_publish_returns_a_blake3_content_hashed_snapshot(fleet: fleetgov.Engine) -> None:
    s = fleet.publish("eks-prod-us", b"abc", actor="alice", at_ms=T0)
    assert (s.id, s.revision, s.cluster, s.author) == ("eks-prod-us@r1", 1, "eks-prod-us", "alice")
    assert s.hash == BLAKE3_ABC
    assert (s.published_at_ms, s.size_bytes) == (T0, 3)
    s2 = fleet.publish("eks-prod-us", bytearray(b"abc"), actor="bob", at_ms=T0 + 1)
    assert (s2.id, s2.revision, s2.hash) == ("eks-prod-us@r2", 2, BLAKE3_ABC)
    assert fleet.snapshot("eks-prod-us@r1") == s
    assert fleet.desired("eks-prod-us") == s2
    assert fleet.artifact(s.hash) == b"abc"
    assert hash(s) == hash(fleet.snapshot(s.id))
    assert "eks-prod-us@r1" in repr(s)


def test_the_issue_walkthrough(fleet: fleetgov.Engine) -> None:
    t = T0
    s = fleet.publish("eks-prod-us", b"...config bytes...", actor="alice", at_ms=t)
    assert len(s.hash) == 64 and s.hash == s.hash.lower()
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=t)
    d = fleet.heartbeat(
        "gw-1",
        at_ms=t,
        applied_snapshot=s.id,
        applied_hash=s.hash,
        runtime_version="3.5.0",
        process_status="ready",
        cpu=12.5,
        memory=40.0,
        tps=1200.0,
        heap=55.0,
        sync_error=None,
    )
    assert d is None
    c = fleet.cluster("eks-prod-us", now_ms=t)
    assert (c.status, c.cohesion, c.in_sync, c.total) == ("HEALTHY", 100, 1, 1)
    assert (c.desired_snapshot, c.desired_hash, c.desired_revision) == (s.id, s.hash, 1)
    assert (c.environment, c.owner_team, c.auto_reconcile, c.workspace) == ("PRODUCTION", "edge", False, "ws-1")
    assert c.root_causes == {} and c.revisions == {1: 1}
    n = fleet.node("gw-1", now_ms=t)
    assert (n.health, n.config_status, n.drift) == ("connected", "IN_SYNC", "aligned")
    assert (n.last_sync_error, n.applied_snapshot, n.applied_hash) == (None, s.id, s.hash)
    assert (n.cpu, n.memory, n.tps, n.heap) == (12.5, 40.0, 1200.0, 55.0)
    assert (n.status, n.process_health, n.process_status, n.runtime_version) == ("Ready", "Healthy", "ready", "3.5.0")
    r = fleet.fleet("ws-1", now_ms=t)
    assert set(r) == {"runtimes", "summary", "desiredState", "nextCursor"}
    assert r["nextCursor"] is None, "one page without a limit"


def test_the_seeds_three_clusters(engine: fleetgov.Engine) -> None:
    """HEALTHY 100 / SYNCING 75 / DIVERGENT 33, as in the seeds' demo data."""
    engine.upsert_workspace("ws-1")
    shapes: dict[str, tuple[Environment, int, int]] = {"eks-prod-us": ("production", 3, 3), "gke-stage-eu": ("staging", 4, 3), "azure-dev-west": ("dev", 3, 1)}
    for cid, (env, total, synced) in shapes.items():
        engine.upsert_cluster(cid, workspace="ws-1", environment=env)
        s = engine.publish(cid, cid.encode(), actor="alice", at_ms=T0)
        for i in range(total):
            engine.enroll(f"{cid}-{i}", cluster=cid, at_ms=T0)
            if i < synced:
                ready(engine, f"{cid}-{i}", s, T0)
            else:
                engine.heartbeat(
                    f"{cid}-{i}", at_ms=T0, runtime_version="3.5.0", sync_error="NATS_TIMEOUT: Failed to receive snapshot"
                )
    got = {cid: (engine.cluster(cid, now_ms=T0).status, engine.cluster(cid, now_ms=T0).cohesion) for cid in shapes}
    assert got == {"eks-prod-us": ("HEALTHY", 100), "gke-stage-eu": ("SYNCING", 75), "azure-dev-west": ("DIVERGENT", 33)}
    assert engine.cluster("azure-dev-west", now_ms=T0).root_causes == {"NATS_TIMEOUT": 2}
    assert engine.cluster_ids() == list(shapes)


def test_in_sync_needs_the_id_and_the_hash(fleet: fleetgov.Engine) -> None:
    s = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    wrong = "0f" * 32
    fleet.heartbeat("gw-1", at_ms=T0, applied_snapshot=s.id, applied_hash=wrong, runtime_version="3.5.0")
    n = fleet.node("gw-1", now_ms=T0)
    assert (n.config_status, n.drift, n.status, n.sync_error_code) == ("DIVERGENT", "needs_reconcile", "Divergent", "HASH_MISMATCH")
    assert n.last_sync_error is not None and n.last_sync_error.startswith("HASH_MISMATCH")
    c = fleet.cluster("eks-prod-us", now_ms=T0)
    assert (c.status, c.cohesion, c.root_causes, c.root_cause_examples) == (
        "DIVERGENT",
        0,
        {"HASH_MISMATCH": 1},
        {"HASH_MISMATCH": "gw-1"},
    )
    ready(fleet, "gw-1", s, T0 + 1)
    assert fleet.cluster("eks-prod-us", now_ms=T0).root_causes == {}
    # Same bytes published again: a new id, so the node is behind although its hash matches.
    fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0 + 2)
    assert fleet.node("gw-1", now_ms=T0 + 2).config_status == "DIVERGENT"


def test_health_bands_at_their_edges(fleet: fleetgov.Engine) -> None:
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    assert fleet.node("gw-1", now_ms=T0).health == "never"
    fleet.heartbeat("gw-1", at_ms=T0, runtime_version="3.5.0")
    edges = {0: "connected", 5 * MINUTE - 1: "connected", 5 * MINUTE: "stale", 60 * MINUTE: "stale", 60 * MINUTE + 1: "dormant"}
    assert {age: fleet.node("gw-1", now_ms=T0 + age).health for age in edges} == edges
    assert fleet.node("gw-1", now_ms=T0 + 61 * MINUTE).process_health == "Offline"


def test_drift_first_match_wins(fleet: fleetgov.Engine) -> None:
    s = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    fleet.enroll("gw-old", cluster="eks-prod-us", at_ms=T0)
    fleet.enroll("gw-new", cluster="eks-prod-us", at_ms=T0)
    fleet.enroll("gw-none", cluster="eks-prod-us", at_ms=T0)
    assert fleet.node("gw-old", now_ms=T0).drift == "awaiting_sync"
    fleet.heartbeat("gw-old", at_ms=T0, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.3.9")
    fleet.heartbeat("gw-new", at_ms=T0, runtime_version="3.4.0")
    assert fleet.node("gw-old", now_ms=T0).drift == "upgrade_required"  # even though in sync
    assert fleet.node("gw-new", now_ms=T0).drift == "needs_reconcile"
    fleet.upsert_workspace("ws-1", min_runtime_version="3.3.0")
    assert fleet.node("gw-old", now_ms=T0).drift == "aligned"
    summary = fleet.fleet("ws-1", now_ms=T0)["summary"]
    assert summary["total"] == 3 and summary["awaitingSync"] == 1 and summary["aligned"] == 1
    assert summary["needsReconcile"] == 1 and summary["never"] == 1 and summary["active"] == 2


def test_auto_reconcile_answers_with_a_directive(fleet: fleetgov.Engine) -> None:
    fleet.upsert_cluster("eks-prod-us", workspace="ws-1", environment="production", auto_reconcile=True)
    s1 = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    assert ready(fleet, "gw-1", s1, T0) is None
    s2 = fleet.publish("eks-prod-us", b"v2", actor="alice", at_ms=T0 + 1)
    d = ready(fleet, "gw-1", s1, T0 + 2)
    assert isinstance(d, fleetgov.Directive)
    assert (d.kind, d.snapshot, d.hash, d.revision) == ("reconcile", s2.id, s2.hash, 2)
    assert fleet.artifact(d.hash) == b"v2"
    assert ready(fleet, "gw-1", s2, T0 + 3) is None


def test_sync_errors_and_root_causes(fleet: fleetgov.Engine) -> None:
    s = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    errors = [
        "RELOAD_FAILURE: Incompatible Filter Signature",
        "RELOAD_FAILURE: Incompatible Filter Signature",
        "JVM_MEMORY_PRESSURE: OOM during policy load",
        "SOMETHING_NEW: brand new failure",
    ]
    for i, err in enumerate(errors):
        fleet.enroll(f"gw-{i}", cluster="eks-prod-us", at_ms=T0)
        fleet.heartbeat(f"gw-{i}", at_ms=T0, runtime_version="3.5.0", process_status="error", sync_error=err)
    c = fleet.cluster("eks-prod-us", now_ms=T0)
    assert c.root_causes == {"RELOAD_FAILURE": 2, "JVM_MEMORY_PRESSURE": 1, "OTHER": 1}
    assert list(c.root_causes)[0] == "RELOAD_FAILURE"  # most nodes first
    n = fleet.node("gw-0", now_ms=T0)
    assert (n.last_sync_error, n.status, n.process_health) == (errors[0], "Error", "Degraded")
    assert fleet.node("gw-3", now_ms=T0).sync_error_code == "OTHER"
    ready(fleet, "gw-0", s, T0 + 1)
    assert fleet.cluster("eks-prod-us", now_ms=T0).root_causes["RELOAD_FAILURE"] == 1
    with pytest.raises(fleetgov.InvalidInput):
        fleet.heartbeat("gw-1", at_ms=T0 + 1, runtime_version="3.5.0", sync_error="lower case: nope")


@pytest.mark.parametrize(
    "bad",
    [
        {"cpu": float("nan")},
        {"cpu": 100.5},
        {"memory": -1.0},
        {"heap": float("inf")},
        {"tps": -0.5},
        {"hot_swap_errors": -1},
        {"process_status": "sleepy"},
        {"runtime_version": "3.x"},
        {"applied_hash": "xyz", "applied_snapshot": "eks-prod-us@r1"},
        {"applied_snapshot": "eks-prod-us@r1"},
        {"at_ms": -5},
        {"sync_error": ""},
    ],
)
def test_bad_heartbeats_are_invalid_and_change_nothing(fleet: fleetgov.Engine, bad: dict[str, object]) -> None:
    s = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    ready(fleet, "gw-1", s, T0, cpu=5.0)
    before = fleet.node("gw-1", now_ms=T0 + 1)
    args: dict[str, object] = {"at_ms": T0 + 1, "runtime_version": "3.5.0", **bad}
    with pytest.raises(fleetgov.InvalidInput):
        fleet.heartbeat("gw-1", **args)  # type: ignore[arg-type]
    after = fleet.node("gw-1", now_ms=T0 + 1)
    assert (after.last_heartbeat_ms, after.cpu, after.config_status) == (before.last_heartbeat_ms, 5.0, "IN_SYNC")


def test_fleet_inventory_is_shaped_like_the_http_api(fleet: fleetgov.Engine) -> None:
    s = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    ready(fleet, "gw-1", s, T0)
    r = fleet.fleet("ws-1", now_ms=T0 + 10 * MINUTE)
    (rt,) = r["runtimes"]
    assert rt["id"] == "gw-1" and rt["cluster"] == "eks-prod-us" and rt["health"] == "stale"
    assert rt["drift"] == "aligned" and rt["version"] == "3.5.0" and rt["appliedSnapshot"] == s.id
    assert r["summary"]["stale"] == 1
    ds = r["desiredState"]
    assert ds["policyMode"] == "authoritative" and ds["minRuntimeVersion"] == "3.4.0"
    assert ds["clusters"] == [{"cluster": "eks-prod-us", "snapshot": s.id, "revision": 1, "hash": s.hash}]


def test_enroll_is_idempotent_and_cluster_nodes_pages(fleet: fleetgov.Engine) -> None:
    for i in range(5):
        fleet.enroll(f"gw-{i}", cluster="eks-prod-us", at_ms=T0)
    fleet.enroll("gw-0", cluster="eks-prod-us", at_ms=T0)
    assert fleet.cluster("eks-prod-us", now_ms=T0).total == 5
    page = fleet.cluster_nodes("eks-prod-us", now_ms=T0, offset=1, limit=2)
    assert [n.id for n in page] == ["gw-1", "gw-2"]
    assert len(fleet.cluster_nodes("eks-prod-us", now_ms=T0)) == 5


def test_workspace_and_cluster_upserts_update(fleet: fleetgov.Engine) -> None:
    fleet.upsert_cluster("eks-prod-us", workspace="ws-1", environment="staging", owner_team="core", auto_reconcile=True)
    c = fleet.cluster("eks-prod-us", now_ms=T0)
    assert (c.environment, c.owner_team, c.auto_reconcile) == ("STAGING", "core", True)
    assert (c.status, c.cohesion, c.desired_snapshot) == ("HEALTHY", 100, None)  # no nodes yet
    fleet.upsert_workspace("ws-1", authority_mode="tighten_only")
    assert fleet.fleet("ws-1", now_ms=T0)["desiredState"]["policyMode"] == "tighten_only"
    with pytest.raises(fleetgov.InvalidInput, match="dev_override"):
        fleet.upsert_workspace("ws-1", authority_mode="dev_override")


def test_time_defaults_to_the_clock(fleet: fleetgov.Engine) -> None:
    s = fleet.publish("eks-prod-us", b"v1", actor="alice")
    fleet.enroll("gw-1", cluster="eks-prod-us")
    fleet.heartbeat("gw-1", applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
    assert fleet.node("gw-1").health == "connected"
    assert s.published_at_ms > T0


def test_heartbeats_by_handle_equal_heartbeats_by_id(fleet: fleetgov.Engine) -> None:
    s = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    handle = fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    fleet.enroll("gw-2", cluster="eks-prod-us", at_ms=T0)
    assert isinstance(handle, int) and fleet.node_handle("gw-1") == handle
    assert fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0) == handle
    fleet.heartbeat(handle, at_ms=T0, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0", cpu=3.0)
    fleet.heartbeat("gw-2", at_ms=T0, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0", cpu=3.0)
    a, b = fleet.node("gw-1", now_ms=T0), fleet.node("gw-2", now_ms=T0)
    for k in ("config_status", "drift", "health", "applied_snapshot", "cpu", "last_heartbeat_ms"):
        assert getattr(a, k) == getattr(b, k)
    for bad in (handle + 10_000, 0, (1 << 64) - 1):
        with pytest.raises(fleetgov.NotFound):
            fleet.heartbeat(bad, at_ms=T0, runtime_version="3.5.0")
    for bad in (-1, 1 << 64):
        with pytest.raises(fleetgov.InvalidInput, match="handle"):
            fleet.heartbeat(bad, at_ms=T0, runtime_version="3.5.0")
    other = fleetgov.Engine()
    other.upsert_workspace("ws-1")
    other.upsert_cluster("eks-prod-us", workspace="ws-1", environment="production")
    other.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    with pytest.raises(fleetgov.NotFound):  # a handle is valid only for its engine
        other.heartbeat(handle, at_ms=T0, runtime_version="3.5.0")
    other.close()
