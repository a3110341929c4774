"""Controlled rollouts: a publish with a plan reaches its cluster wave by
wave, a failing canary halts and rolls back, operators pause, resume, abort
and promote with a justification and a role, and bad plans are refused with
nothing published."""

from __future__ import annotations

import copy
import json
import math
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from model import T0

import fleetgov
from fleetgov.types import RolloutPlan

CLUSTER = "eks-prod-us"
NODES = [f"gw-{i}" for i in range(40)]


@pytest.fixture
def clocked() -> Iterator[fleetgov.Engine]:
    """The production cluster, no snapshot yet, on an engine whose clock the
    test moves: a rollout's gates count the nodes heard from within the hour
    before the engine's clock."""
    with fleetgov.Engine(clock_ms=T0) as e:
        e.upsert_workspace("ws-1")
        e.upsert_cluster(CLUSTER, workspace="ws-1", environment="production")
        yield e


@pytest.fixture
def running(clocked: fleetgov.Engine) -> fleetgov.Engine:
    """The production cluster on r1, every node verified on it."""
    s = clocked.publish(CLUSTER, b"v1", actor="alice", at_ms=T0)
    for n in NODES:
        clocked.enroll(n, cluster=CLUSTER, at_ms=T0)
        beat(clocked, n, T0, s)
    return clocked


def beat(
    e: fleetgov.Engine, node: str, at_ms: int, runs: fleetgov.Snapshot, sync_error: str | None = None
) -> fleetgov.Directive | None:
    """A heartbeat of `node` running `runs` at `at_ms`, the engine's clock moved there."""
    e.set_clock(at_ms)
    return e.heartbeat(
        node, at_ms=at_ms, applied_snapshot=runs.id, applied_hash=runs.hash, runtime_version="3.5.0", sync_error=sync_error
    )


def started(e: fleetgov.Engine, target: fleetgov.Snapshot, at_ms: int) -> list[str]:
    """The nodes that should run `target` at `at_ms`: those of started waves."""
    return [n for n in NODES if e.node(n, now_ms=at_ms).desired_snapshot == target.id]


def rollout(e: fleetgov.Engine, at_ms: int) -> fleetgov.RolloutView:
    r = e.rollout(CLUSTER, now_ms=at_ms)
    assert r is not None
    return r


def rollout_changes(e: fleetgov.Engine) -> list[tuple[str, str]]:
    """(actor, change) of every `rollout` audit record, oldest first."""
    out: list[tuple[str, str]] = []
    for record in e.audit():
        if record["action"] == "rollout":
            event = json.loads(record["payload"].split(b"\n")[0])
            out.append((record["actor"], event["change"]["change"]))
    return out


def test_a_rollout_goes_wave_by_wave_to_completion(running: fleetgov.Engine) -> None:
    e = running
    v1 = e.snapshot(f"{CLUSTER}@r1")
    assert e.rollout(CLUSTER, now_ms=T0) is None, "never had one"
    plan: RolloutPlan = {"waves": [25, 100], "bake_ms": 60_000, "max_failure_pct": 0.0, "auto_rollback": True}
    e.set_clock(T0 + 1)
    v2 = e.publish(CLUSTER, b"v2", actor="alice", at_ms=T0 + 1, rollout=plan)
    canary = started(e, v2, T0 + 1)
    assert 0 < len(canary) < len(NODES)

    r = rollout(e, T0 + 1)
    assert (r.state, r.wave, r.waves, r.bake_ms, r.max_failure_pct, r.auto_rollback) == (
        "progressing", 0, [25, 100], 60_000, 0.0, True
    )
    assert (r.target_snapshot, r.previous_snapshot) == (v2.id, v1.id)
    assert (r.nodes_started, r.on_target, r.failures, r.failure_budget, r.reason) == (len(canary), 0, 0, 0, None)
    assert [(w.percent, w.started_ms) for w in r.per_wave] == [(25, T0 + 1), (100, None)]
    assert sum(w.nodes for w in r.per_wave) == len(NODES)
    # The cluster's desired snapshot is the target; the other nodes keep r1 and stay verified.
    c = e.cluster(CLUSTER, now_ms=T0 + 1)
    assert (c.desired_snapshot, c.in_sync, c.status) == (v2.id, len(NODES) - len(canary), "SYNCING")
    rest = [n for n in NODES if n not in canary]
    assert {(e.node(n, now_ms=T0 + 1).desired_snapshot, e.node(n, now_ms=T0 + 1).verified) for n in rest} == {
        (v1.id, True)
    }

    # Only the canary is told to pull the target.
    for n in NODES:
        d = beat(e, n, T0 + 2, v1)
        if n in canary:
            assert d is not None and (d.kind, d.snapshot) == ("reconcile", v2.id)
        else:
            assert d is None, n
    for n in canary:
        assert beat(e, n, T0 + 3, v2) is None
    r = rollout(e, T0 + 3)
    assert (r.state, r.on_target, r.bake_ends_ms) == ("baking", len(canary), T0 + 3 + 60_000)
    e.set_clock(T0 + 3 + 59_999)
    assert e.advance_rollouts(now_ms=T0 + 3 + 59_999) == 0, "the bake holds"
    e.set_clock(T0 + 3 + 60_000)
    assert e.advance_rollouts() == 1, "at the engine's clock"
    r = rollout(e, T0 + 3 + 60_000)
    assert (r.state, r.wave, r.nodes_started) == ("progressing", 1, len(NODES))

    t = T0 + 3 + 60_001
    for n in rest:
        d = beat(e, n, t, v1)
        assert d is not None and d.snapshot == v2.id
        assert beat(e, n, t + 1, v2) is None
    r = rollout(e, t + 1)
    assert (r.state, r.on_target) == ("complete", len(NODES))
    c = e.cluster(CLUSTER, now_ms=t + 1)
    assert (c.status, c.cohesion) == ("HEALTHY", 100)
    assert rollout_changes(e) == [("fleetgov", "wave_started"), ("fleetgov", "complete")]
    publish = [a for a in e.audit() if a["action"] == "publish"][-1]
    assert json.loads(publish["payload"].split(b"\n")[0])["rollout"] == plan


def test_a_rollout_view_is_a_value(running: fleetgov.Engine) -> None:
    plan: RolloutPlan = {"waves": [10, 50, 100], "bake_ms": 1_000, "max_failure_pct": 12.5, "auto_rollback": False}
    running.publish(CLUSTER, b"v2", actor="alice", at_ms=T0 + 1, rollout=plan)
    r = rollout(running, T0 + 1)
    assert pickle.loads(pickle.dumps(r)) == r
    assert copy.deepcopy(r) is r
    d = r.to_dict()
    assert d["per_wave"][0] == r.per_wave[0].to_dict() and d["state"] == "progressing"
    assert fleetgov.RolloutView(**d) == r
    fields: dict[str, Any] = dict(d)
    assert fleetgov.RolloutView(**{**fields, "per_wave": r.per_wave}) == r
    assert fleetgov.RolloutView(**{**fields, "failures": 1}) != r
    assert json.loads(json.dumps(d)) == d, "to_dict() is plain data"
    wave = r.per_wave[1]
    assert pickle.loads(pickle.dumps(wave)) == wave and hash(fleetgov.WaveView(**wave.to_dict())) == hash(wave)
    assert repr(r).startswith("RolloutView(cluster='eks-prod-us', state='progressing', wave=0, waves=[10, 50, 100]")
    with pytest.raises(fleetgov.InvalidInput, match="state must be one of progressing, baking"):
        fleetgov.RolloutView(**{**fields, "state": "exploded"})
    with pytest.raises(fleetgov.InvalidInput, match="percent must be from 1 to 100"):
        fleetgov.WaveView(0, 1, 0, 0, None)


def test_a_failing_canary_halts_and_rolls_back(running: fleetgov.Engine) -> None:
    e = running
    v1 = e.snapshot(f"{CLUSTER}@r1")
    plan: RolloutPlan = {"waves": [25, 100], "bake_ms": 0, "max_failure_pct": 10.0, "auto_rollback": True}
    e.set_clock(T0 + 1)
    v2 = e.publish(CLUSTER, b"v2", actor="alice", at_ms=T0 + 1, rollout=plan)
    canary = started(e, v2, T0 + 1)
    budget = math.floor(len(canary) * 10.0 / 100)
    assert rollout(e, T0 + 1).failure_budget == budget
    for i, n in enumerate(canary):
        assert rollout(e, T0 + 2).state == ("progressing" if i <= budget else "rolled_back")
        beat(e, n, T0 + 2, v1, sync_error="RELOAD_FAILURE: listener port in use")
    r = rollout(e, T0 + 2)
    assert r.state == "rolled_back"
    assert r.reason is not None and r.reason.startswith(f"{budget + 1} of {len(canary)} nodes failed: RELOAD_FAILURE")
    desired = e.desired(CLUSTER)
    assert desired is not None and desired.id == v1.id, "the cluster returned to the previous snapshot"
    assert {e.node(n, now_ms=T0 + 2).desired_snapshot for n in NODES} == {v1.id}
    assert rollout_changes(e) == [("fleetgov", "halted"), ("fleetgov", "rolled_back")]
    halted = next(a for a in e.audit() if a["action"] == "rollout")
    assert halted["target"] == f"cluster:{CLUSTER}" and r.reason in halted["justification"]
    # Nodes outside the canary were never told anything.
    for n in NODES:
        if n not in canary:
            assert beat(e, n, T0 + 3, v1) is None
    with pytest.raises(fleetgov.Conflict):
        e.resume_rollout(CLUSTER, actor="bob", role="operator", reason="retry", at_ms=T0 + 4)


def test_operator_actions_need_a_justification_and_a_role(clocked: fleetgov.Engine) -> None:
    e = clocked
    plan: RolloutPlan = {"waves": [1, 10, 100], "bake_ms": 3_600_000, "max_failure_pct": 0.0, "auto_rollback": False}
    with pytest.raises(fleetgov.InvalidInput, match="no snapshot published yet"):
        e.publish(CLUSTER, b"v1", actor="alice", at_ms=T0, rollout=plan)
    assert e.desired(CLUSTER) is None, "nothing published"
    v1 = e.publish(CLUSTER, b"v1", actor="alice", at_ms=T0)
    for n in NODES:
        e.enroll(n, cluster=CLUSTER, at_ms=T0)
        beat(e, n, T0, v1)
    with pytest.raises(fleetgov.NotFound):
        e.pause_rollout(CLUSTER, actor="bob", role="operator", reason="why not")
    e.set_clock(T0 + 7)
    v2 = e.publish(CLUSTER, b"v2", actor="alice", at_ms=T0 + 1, rollout=plan)
    actions = [e.pause_rollout, e.resume_rollout, e.abort_rollout, e.promote_rollout]
    before = len(e.audit())
    for action in actions:
        for reason in ("", "  ", "\u200b"):
            with pytest.raises(fleetgov.JustificationRequired):
                action(CLUSTER, actor="bob", role="operator", reason=reason, at_ms=T0 + 2)
        with pytest.raises(fleetgov.PermissionDenied):
            action(CLUSTER, actor="vic", role="viewer", reason="looks wrong", at_ms=T0 + 2)
        with pytest.raises(fleetgov.InvalidInput):
            action(CLUSTER, actor="fleetgov", role="admin", reason="impersonation", at_ms=T0 + 2)
        with pytest.raises(fleetgov.InvalidInput):
            action(CLUSTER, actor="bob", role="overlord", reason="no such role", at_ms=T0 + 2)  # type: ignore[arg-type]
    assert len(e.audit()) == before, "nothing recorded"

    record = e.pause_rollout(CLUSTER, actor="bob", role="operator", reason="latency alarm on the canary", at_ms=T0 + 3)
    assert (record["actor"], record["role"], record["action"], record["target"], record["justification"]) == (
        "bob", "operator", "rollout", f"cluster:{CLUSTER}", "latency alarm on the canary"
    )
    assert e.audit()[-1] == record
    assert rollout(e, T0 + 3).state == "paused"
    with pytest.raises(fleetgov.Conflict):
        e.pause_rollout(CLUSTER, actor="bob", role="operator", reason="again", at_ms=T0 + 4)
    e.resume_rollout(CLUSTER, actor="bob", role="operator", reason="a false alarm", at_ms=T0 + 5)
    e.promote_rollout(CLUSTER, actor="ada", role="admin", reason="hotfix must go out now", at_ms=T0 + 6)
    r = rollout(e, T0 + 6)
    assert (r.state, r.wave, r.nodes_started) == ("progressing", 2, len(NODES))
    assert started(e, v2, T0 + 6) == NODES
    e.abort_rollout(CLUSTER, actor="bob", role="operator", reason="bad build, reverting", at_ms=T0 + 7)
    assert rollout(e, T0 + 7).state == "aborted"
    desired = e.desired(CLUSTER)
    assert desired is not None and desired.id == v1.id
    assert [c for _, c in rollout_changes(e)] == ["paused", "resumed", "promoted", "aborted"]


BAD_PLANS: list[tuple[Any, type[fleetgov.FleetError], str]] = [
    ([10, 100], fleetgov.InvalidType, "rollout must be a dict"),
    ({"waves": [100], "bake_ms": 0, "max_failure_pct": 0.0}, fleetgov.InvalidInput, "needs auto_rollback"),
    (
        {"waves": [100], "bake_ms": 0, "max_failure_pct": 0.0, "auto_rollback": True, "speed": 2},
        fleetgov.InvalidInput,
        "not str 'speed'",
    ),
    ({"waves": [50, 10, 100], "bake_ms": 0, "max_failure_pct": 0.0, "auto_rollback": True}, fleetgov.InvalidInput,
     "not strictly increasing"),
    ({"waves": [0, 100], "bake_ms": 0, "max_failure_pct": 0.0, "auto_rollback": True}, fleetgov.InvalidInput,
     "not strictly increasing"),
    ({"waves": [10, 50], "bake_ms": 0, "max_failure_pct": 0.0, "auto_rollback": True}, fleetgov.InvalidInput,
     "do not end at 100"),
    ({"waves": [], "bake_ms": 0, "max_failure_pct": 0.0, "auto_rollback": True}, fleetgov.InvalidInput, "1 to 100 waves"),
    ({"waves": [10, 300], "bake_ms": 0, "max_failure_pct": 0.0, "auto_rollback": True}, fleetgov.InvalidInput,
     "from 1 to 100, got 300"),
    ({"waves": "10,100", "bake_ms": 0, "max_failure_pct": 0.0, "auto_rollback": True}, fleetgov.InvalidType,
     "waves must be a list"),
    ({"waves": ["10", 100], "bake_ms": 0, "max_failure_pct": 0.0, "auto_rollback": True}, fleetgov.InvalidType,
     "must be an int"),
    ({"waves": [100], "bake_ms": -1, "max_failure_pct": 0.0, "auto_rollback": True}, fleetgov.InvalidInput, "bake_ms"),
    ({"waves": [100], "bake_ms": 0, "max_failure_pct": 100.5, "auto_rollback": True}, fleetgov.InvalidInput,
     "is not from 0 to 100"),
    ({"waves": [100], "bake_ms": 0, "max_failure_pct": math.nan, "auto_rollback": True}, fleetgov.InvalidInput,
     "is not from 0 to 100"),
    ({"waves": [100], "bake_ms": 0, "max_failure_pct": "5", "auto_rollback": True}, fleetgov.InvalidType,
     "max_failure_pct must be a float"),
    ({"waves": [100], "bake_ms": 0, "max_failure_pct": True, "auto_rollback": True}, fleetgov.InvalidType,
     "max_failure_pct must be a float"),
    ({"waves": [100], "bake_ms": 0, "max_failure_pct": 0.0, "auto_rollback": 1}, fleetgov.InvalidType, "expected a bool"),
]


@pytest.mark.parametrize(("plan", "error", "message"), BAD_PLANS)
def test_bad_plans_are_refused_and_publish_nothing(
    running: fleetgov.Engine, plan: Any, error: type[fleetgov.FleetError], message: str
) -> None:
    before = len(running.audit())
    with pytest.raises(error, match=message) as info:
        running.publish(CLUSTER, b"v2", actor="alice", at_ms=T0 + 1, rollout=plan)
    assert isinstance(info.value, fleetgov.InvalidInput) and info.value.code == "INVALID_INPUT"
    assert len(running.audit()) == before
    desired = running.desired(CLUSTER)
    assert desired is not None and desired.id == f"{CLUSTER}@r1"
    assert running.rollout(CLUSTER, now_ms=T0 + 1) is None


def test_a_publish_without_a_plan_is_as_before(running: fleetgov.Engine) -> None:
    v2 = running.publish(CLUSTER, b"v2", actor="alice", at_ms=T0 + 1, rollout=None)
    assert running.rollout(CLUSTER, now_ms=T0 + 1) is None
    assert started(running, v2, T0 + 1) == NODES, "every node should run it at once"
    assert running.advance_rollouts(now_ms=T0 + 2) == 0


def test_a_reopened_engine_continues_the_same_rollout(tmp_path: Path) -> None:
    plan: RolloutPlan = {"waves": [25, 100], "bake_ms": 60_000, "max_failure_pct": 0.0, "auto_rollback": True}
    with fleetgov.Engine(data_dir=tmp_path, clock_ms=T0) as e:
        e.upsert_workspace("ws-1")
        e.upsert_cluster(CLUSTER, workspace="ws-1", environment="production")
        v1 = e.publish(CLUSTER, b"v1", actor="alice", at_ms=T0)
        for n in NODES:
            e.enroll(n, cluster=CLUSTER, at_ms=T0)
            beat(e, n, T0, v1)
        e.set_clock(T0 + 1)
        v2 = e.publish(CLUSTER, b"v2", actor="alice", at_ms=T0 + 1, rollout=plan)
        canary = started(e, v2, T0 + 1)
        e.pause_rollout(CLUSTER, actor="bob", role="operator", reason="hold until the morning", at_ms=T0 + 1)
        before = rollout(e, T0 + 1)
    with fleetgov.Engine(data_dir=tmp_path, clock_ms=T0 + 2) as e:
        r = rollout(e, T0 + 2)
        assert (r.state, r.wave, r.waves, r.target_snapshot, r.previous_snapshot) == (
            "paused", 0, [25, 100], v2.id, v1.id
        )
        assert (r.nodes_started, r.per_wave) == (before.nodes_started, before.per_wave)
        assert started(e, v2, T0 + 2) == canary, "the same nodes in the same waves"
        assert beat(e, canary[0], T0 + 3, v1) is None, "paused: nobody is told anything"
        e.resume_rollout(CLUSTER, actor="bob", role="operator", reason="morning", at_ms=T0 + 4)
        d = beat(e, canary[0], T0 + 5, v1)
        assert d is not None and d.snapshot == v2.id
        assert [c for _, c in rollout_changes(e)] == ["paused", "resumed"]
