"""Truthful verdicts, each rule at its boundary: a node is verified only while
its last report is in sync and at most 60 minutes old; cohesion floors, so 100
means every node; HEALTHY needs every node verified and no sync error; history
refuses the future and the time before it began."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from model import T0

import fleetgov

HOUR = 60 * 60 * 1000


@pytest.fixture
def engine() -> Iterator[fleetgov.Engine]:
    """An engine on a manual clock reading T0: its history begins at T0."""
    with fleetgov.Engine(clock_ms=T0) as e:
        e.upsert_workspace("ws-1")
        e.upsert_cluster("prod", workspace="ws-1", environment="production")
        yield e


def figures(e: fleetgov.Engine, now_ms: int | None = None) -> tuple[int, int, int, int, str]:
    c = e.cluster("prod", now_ms=now_ms)
    return (c.in_sync, c.total, c.cohesion, c.cohesion_bp, c.status)


def verified_nodes(e: fleetgov.Engine, prefix: str, n: int, s: fleetgov.Snapshot, at_ms: int) -> None:
    for i in range(n):
        e.enroll(f"{prefix}{i}", cluster="prod", at_ms=T0)
        e.heartbeat(f"{prefix}{i}", at_ms=at_ms, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")


def test_a_report_counts_for_exactly_sixty_minutes(engine: fleetgov.Engine) -> None:
    s = engine.publish("prod", b"a", actor="alice", at_ms=T0)
    verified_nodes(engine, "n", 3, s, T0)
    assert figures(engine, T0 + HOUR) == (3, 3, 100, 10_000, "HEALTHY"), "exactly 60 minutes"
    n = engine.node("n0", now_ms=T0 + HOUR)
    assert (n.verified, n.heartbeat_age_ms, n.health, n.config_status) == (True, HOUR, "stale", "IN_SYNC")

    engine.set_clock(T0 + HOUR + 1)
    assert engine.clock_ms == T0 + HOUR + 1
    assert figures(engine) == (0, 3, 0, 0, "DIVERGENT"), "one millisecond more, at the engine's clock"
    assert figures(engine, T0 + HOUR + 1) == (0, 3, 0, 0, "DIVERGENT")
    n = engine.node("n0")
    assert (n.verified, n.heartbeat_age_ms, n.health, n.config_status) == (False, HOUR + 1, "dormant", "IN_SYNC")
    assert n.drift == "aligned", "drift describes the last report, whatever its age"
    # Asked about an earlier moment again, the answer is the rule at that moment.
    assert figures(engine, T0 + HOUR)[0] == 3
    assert [v.verified for v in engine.cluster_nodes("prod", now_ms=T0 + HOUR)] == [True] * 3


def test_499_of_1000_is_49_divergent_and_500_is_50_syncing(engine: fleetgov.Engine) -> None:
    s = engine.publish("prod", b"a", actor="alice", at_ms=T0)
    verified_nodes(engine, "v", 499, s, T0)
    for i in range(501):
        engine.enroll(f"u{i}", cluster="prod", at_ms=T0)
    assert figures(engine, T0) == (499, 1_000, 49, 4_990, "DIVERGENT")
    engine.heartbeat("u0", at_ms=T0, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
    assert figures(engine, T0) == (500, 1_000, 50, 5_000, "SYNCING")


def test_199_of_200_is_99_not_100(engine: fleetgov.Engine) -> None:
    s = engine.publish("prod", b"a", actor="alice", at_ms=T0)
    verified_nodes(engine, "v", 199, s, T0)
    engine.enroll("late", cluster="prod", at_ms=T0)
    assert figures(engine, T0) == (199, 200, 99, 9_950, "SYNCING")
    assert "cohesion=99, cohesion_bp=9950" in repr(engine.cluster("prod", now_ms=T0))


def test_an_in_sync_node_reporting_a_sync_error_keeps_the_cluster_from_healthy(engine: fleetgov.Engine) -> None:
    s = engine.publish("prod", b"a", actor="alice", at_ms=T0)
    verified_nodes(engine, "n", 3, s, T0)
    engine.heartbeat(
        "n0",
        at_ms=T0 + 1,
        applied_snapshot=s.id,
        applied_hash=s.hash,
        runtime_version="3.5.0",
        sync_error="RELOAD_FAILURE: filter chain rejected",
    )
    n = engine.node("n0", now_ms=T0 + 1)
    assert (n.verified, n.config_status, n.sync_error_code) == (True, "IN_SYNC", "RELOAD_FAILURE")
    assert figures(engine, T0 + 1) == (3, 3, 100, 10_000, "SYNCING")
    engine.heartbeat("n0", at_ms=T0 + 2, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
    assert figures(engine, T0 + 2) == (3, 3, 100, 10_000, "HEALTHY")


def test_a_never_heard_node_is_not_verified(engine: fleetgov.Engine) -> None:
    s = engine.publish("prod", b"a", actor="alice", at_ms=T0)
    verified_nodes(engine, "n", 2, s, T0)
    engine.enroll("silent", cluster="prod", at_ms=T0)
    assert figures(engine, T0) == (2, 3, 66, 6_666, "SYNCING")
    silent = engine.node("silent", now_ms=T0)
    assert (silent.verified, silent.heartbeat_age_ms, silent.health) == (False, None, "never")
    assert silent.to_dict()["heartbeat_age_ms"] is None


def test_a_node_that_comes_back_counts_again(engine: fleetgov.Engine) -> None:
    s = engine.publish("prod", b"a", actor="alice", at_ms=T0)
    verified_nodes(engine, "n", 2, s, T0)
    engine.set_clock(T0 + 2 * HOUR)
    assert figures(engine) == (0, 2, 0, 0, "DIVERGENT")
    assert engine.node("n0").health == "dormant"
    engine.heartbeat("n0", at_ms=T0 + 2 * HOUR, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
    assert figures(engine) == (1, 2, 50, 5_000, "SYNCING")
    n = engine.node("n0")
    assert (n.verified, n.heartbeat_age_ms, n.health) == (True, 0, "connected")
    # A late heartbeat already over an hour old is in sync but does not count.
    engine.heartbeat("n1", at_ms=T0 + HOUR - 1, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
    late = engine.node("n1")
    assert (late.verified, late.config_status, late.heartbeat_age_ms) == (False, "IN_SYNC", HOUR + 1)
    assert figures(engine) == (1, 2, 50, 5_000, "SYNCING")


def test_the_feed_reports_nodes_that_stop_counting(engine: fleetgov.Engine) -> None:
    s = engine.publish("prod", b"a", actor="alice", at_ms=T0)
    engine.enroll("n0", cluster="prod", at_ms=T0)
    with engine.events(timeout_ms=0) as stream:
        engine.heartbeat("n0", at_ms=T0, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
        engine.set_clock(T0 + HOUR + 1)
        engine.cluster("prod")  # the read that finds the report expired
        clusters = []
        for ev in stream:
            if ev["type"] == "cluster":
                clusters.append((ev["in_sync"], ev["cohesion"], ev["cohesion_bp"], ev["status"]))
    assert clusters == [
        (1, 100, 10_000, "HEALTHY"),
        (0, 0, 0, "DIVERGENT"),
    ]


# ---- history: no answer about the future or before the history began --------


def test_history_refuses_the_future(engine: fleetgov.Engine) -> None:
    engine.enroll("n0", cluster="prod", at_ms=T0)
    engine.set_clock(T0 + 1_000)
    for ask in (
        lambda t: engine.what_ran("n0", at_ms=t),
        lambda t: engine.fleet_at("prod", at_ms=t),
        lambda t: engine.attest("prod", at_ms=t),
    ):
        for t in (T0 + 1_001, 2**64 - 1):
            with pytest.raises(fleetgov.FutureTime) as info:
                ask(t)
            assert isinstance(info.value, ValueError) and info.value.code == "FUTURE"
        ask(T0 + 1_000)  # the clock's own moment is the past's last one


def test_history_refuses_the_time_before_it_began(engine: fleetgov.Engine) -> None:
    engine.enroll("n0", cluster="prod", at_ms=T0)
    for ask in (
        lambda t: engine.what_ran("n0", at_ms=t),
        lambda t: engine.fleet_at("prod", at_ms=t),
        lambda t: engine.attest("prod", at_ms=t),
    ):
        for t in (0, T0 - 1):
            with pytest.raises(fleetgov.HistoryUnavailable) as info:
                ask(t)
            assert isinstance(info.value, LookupError) and info.value.code == "HISTORY_UNAVAILABLE"
    assert engine.what_ran("n0", at_ms=T0) is None, "the moment the engine began is answered"


def test_what_ran_and_an_answered_moment_that_never_changes(engine: fleetgov.Engine) -> None:
    r1 = engine.publish("prod", b"a", actor="alice", at_ms=T0)
    engine.enroll("a", cluster="prod", at_ms=T0)
    engine.enroll("b", cluster="prod", at_ms=T0)
    engine.set_clock(T0 + 1_000)  # heartbeats count at their stamps (not after the clock)
    engine.heartbeat("a", at_ms=T0 + 10, applied_snapshot=r1.id, applied_hash=r1.hash, runtime_version="3.5.0")
    assert engine.what_ran("a", at_ms=T0 + 100) == {"node": "a", "snapshot": r1.id, "hash": r1.hash, "since_ms": T0 + 10}
    before = engine.attest("prod", at_ms=T0 + 100)
    assert (before["cluster"], before["at_ms"], before["desired"]) == ("prod", T0 + 100, {"snapshot": r1.id, "hash": r1.hash})
    assert [n["node"] for n in before["nodes"]] == ["a"] and before["envelope"].startswith("{")
    assert before["checkpoint"]["size"] >= 1 and len(before["checkpoint"]["root"]) == 64
    assert engine.checkpoint_verifier_key().startswith("fleetgov+")

    # Arrives late, stamped before the answered moment: recorded after it.
    engine.heartbeat("b", at_ms=T0 + 50, applied_snapshot=r1.id, applied_hash=r1.hash, runtime_version="3.5.0")
    assert engine.attest("prod", at_ms=T0 + 100) == before, "byte for byte"
    assert engine.fleet_at("prod", at_ms=T0 + 100) == before["nodes"]
    ran = engine.what_ran("b", at_ms=T0 + 1_000)
    assert ran is not None and ran["since_ms"] == T0 + 101
    assert [n["node"] for n in engine.fleet_at("prod", at_ms=T0 + 1_000)] == ["a", "b"]


def test_set_clock_needs_a_manual_clock() -> None:
    with fleetgov.Engine() as e:
        with pytest.raises(fleetgov.InvalidInput, match="clock_ms"):
            e.set_clock(T0)
        assert e.clock_ms > T0
    with pytest.raises(fleetgov.InvalidInput, match="clock_ms"):
        fleetgov.Engine(clock_ms=-1)
