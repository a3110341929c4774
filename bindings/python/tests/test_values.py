"""Snapshot, Directive, ClusterView and NodeView are values: equal by their
fields, picklable, copyable, convertible to dicts, with a repr that shows
what matters. And an Engine is a context manager that refuses to re-enter."""

from __future__ import annotations

import copy
import inspect
import pickle
from typing import Any

import pytest
from model import T0

import fleetgov


@pytest.fixture
def seen(fleet: fleetgov.Engine) -> fleetgov.Engine:
    fleet.upsert_cluster("eks-prod-us", workspace="ws-1", environment="production", auto_reconcile=True)
    s1 = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    fleet.enroll("gw-2", cluster="eks-prod-us", at_ms=T0)
    fleet.heartbeat("gw-1", at_ms=T0, applied_snapshot=s1.id, applied_hash=s1.hash, runtime_version="3.5.0", cpu=1.5)
    fleet.heartbeat("gw-2", at_ms=T0, runtime_version="3.5.0", sync_error="RELOAD_FAILURE: bad filter")
    fleet.publish("eks-prod-us", b"v2", actor="alice", at_ms=T0 + 1)
    return fleet


def values(e: fleetgov.Engine) -> list[Any]:
    s = e.desired("eks-prod-us")
    assert s is not None
    d = e.heartbeat("gw-1", at_ms=T0 + 2, applied_snapshot="eks-prod-us@r1", applied_hash=e.snapshot("eks-prod-us@r1").hash, runtime_version="3.5.0")
    assert d is not None
    return [s, d, e.cluster("eks-prod-us", now_ms=T0 + 2), e.node("gw-1", now_ms=T0 + 2), e.node("gw-2", now_ms=T0 + 2)]


def test_the_same_state_read_twice_is_equal(seen: fleetgov.Engine) -> None:
    assert seen.node("gw-1", now_ms=T0) == seen.node("gw-1", now_ms=T0)
    assert seen.cluster("eks-prod-us", now_ms=T0) == seen.cluster("eks-prod-us", now_ms=T0)
    assert seen.node("gw-1", now_ms=T0) != seen.node("gw-2", now_ms=T0)
    assert seen.node("gw-1", now_ms=T0) != seen.node("gw-1", now_ms=T0 + 10 * 60 * 1000)  # stale by then
    assert seen.node("gw-1", now_ms=T0) != "gw-1"


def test_pickle_copy_and_deepcopy_keep_every_field(seen: fleetgov.Engine) -> None:
    for v in values(seen):
        for again in (pickle.loads(pickle.dumps(v)), copy.copy(v), copy.deepcopy(v)):
            assert type(again) is type(v)
            assert again == v and again.to_dict() == v.to_dict()
    assert pickle.loads(pickle.dumps(seen.node("gw-2", now_ms=T0))).last_sync_error == "RELOAD_FAILURE: bad filter"


def test_to_dict_has_every_attribute(seen: fleetgov.Engine) -> None:
    for v in values(seen):
        d = v.to_dict()
        attributes = {name for name in dir(type(v)) if inspect.isgetsetdescriptor(getattr(type(v), name))}
        assert set(d) == attributes, type(v).__name__
        assert all(d[k] == getattr(v, k) for k in d)
    c = seen.cluster("eks-prod-us", now_ms=T0 + 2).to_dict()
    assert c["root_causes"] == {"RELOAD_FAILURE": 1} and c["root_cause_examples"] == {"RELOAD_FAILURE": "gw-2"}


def test_constructors_check_enumerated_fields(seen: fleetgov.Engine) -> None:
    d = seen.node("gw-1", now_ms=T0).to_dict()
    assert fleetgov.NodeView(**d) == seen.node("gw-1", now_ms=T0)
    with pytest.raises(fleetgov.InvalidInput, match="health must be one of connected, stale, dormant, never"):
        fleetgov.NodeView(**{**d, "health": "great"})  # type: ignore[arg-type]
    with pytest.raises(fleetgov.InvalidInput, match="kind"):
        fleetgov.Directive("rollback", "c@r1", 1, "00" * 32)  # type: ignore[arg-type]
    with pytest.raises(fleetgov.InvalidInput, match="root cause"):
        fleetgov.ClusterView(**{**seen.cluster("eks-prod-us", now_ms=T0).to_dict(), "root_causes": {"BAD": 1}})  # type: ignore[arg-type]
    with pytest.raises(fleetgov.InvalidInput, match="cohesion_bp must be from 0 to 10000, got 10001"):
        fleetgov.ClusterView(**{**seen.cluster("eks-prod-us", now_ms=T0).to_dict(), "cohesion_bp": 10_001})  # type: ignore[arg-type]


def test_reprs_show_state(seen: fleetgov.Engine) -> None:
    n = repr(seen.node("gw-2", now_ms=T0))
    assert "gw-2" in n and "sync_error_code='RELOAD_FAILURE'" in n and "last_heartbeat_ms=1700000000000" in n
    assert "verified=False" in n
    c = repr(seen.cluster("eks-prod-us", now_ms=T0))
    assert "workspace='ws-1'" in c and "'RELOAD_FAILURE': 1" in c
    e = repr(seen)
    assert "clusters=1" in e and "nodes=2" in e and "audit_records=" in e and "in memory" in e


def test_with_on_a_closed_engine_raises() -> None:
    e = fleetgov.Engine()
    with e:
        pass
    with pytest.raises(fleetgov.EngineClosed):
        with e:
            pass  # pragma: no cover - never entered


def test_exit_never_swallows_an_exception() -> None:
    e = fleetgov.Engine()
    with pytest.raises(ZeroDivisionError):
        with e:
            _ = 1 / 0
    assert e.closed
    e.__exit__(None, None, None)  # idempotent, like close()
