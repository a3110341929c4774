"""Engine.events(): the engine's change feed as an iterator: every
transition once and in order, resumable by position, bounded by a timeout,
closable, and interruptible with Ctrl-C while it waits."""

from __future__ import annotations

import signal
import threading

import pytest
from model import MINUTE, T0

import fleetgov
from fleetgov.types import FleetEvent


def fleet() -> tuple[fleetgov.Engine, fleetgov.Snapshot]:
    # A manual clock a minute after T0: the heartbeats below are fresh, so
    # nodes count as verified and no expiry adds cluster events.
    e = fleetgov.Engine(clock_ms=T0 + MINUTE)
    e.upsert_workspace("ws-1")
    e.upsert_cluster("c", workspace="ws-1", environment="staging")
    s = e.publish("c", b"routes: []", actor="alice", at_ms=T0)
    e.enroll("gw-1", cluster="c", at_ms=T0)
    return e, s


def drain(stream: fleetgov.EventStream) -> list[FleetEvent]:
    return list(stream)


def test_transitions_appear_once_in_order_and_steady_state_emits_nothing() -> None:
    e, s = fleet()
    with e.events(timeout_ms=0) as stream:
        e.heartbeat("gw-1", at_ms=T0 + 1, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
        e.heartbeat("gw-1", at_ms=T0 + 2, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
        e.heartbeat("gw-1", at_ms=T0 + 3, runtime_version="3.5.0", sync_error="RELOAD_FAILURE: bad filter")
        events = drain(stream)
    kinds = [(ev["type"], ev.get("in_sync")) for ev in events]
    assert kinds == [("node", True), ("cluster", 1), ("node", False), ("cluster", 0)]
    seqs = [ev["seq"] for ev in events if ev["type"] != "lagged" and ev["type"] != "unknown"]
    assert seqs == list(range(seqs[0], seqs[0] + 4))
    node = events[2]
    assert node["type"] == "node"
    assert (node["node"], node["sync_error"], node["applied_revision"]) == ("gw-1", "RELOAD_FAILURE", None)
    cluster = events[3]
    assert cluster["type"] == "cluster"
    assert (cluster["cohesion"], cluster["cohesion_bp"], cluster["status"], cluster["enrolled"]) == (0, 0, "DIVERGENT", 1)
    verified = events[1]
    assert verified["type"] == "cluster"
    assert (verified["in_sync"], verified["cohesion"], verified["cohesion_bp"], verified["status"]) == (1, 100, 10_000, "HEALTHY")


def test_a_stream_resumes_from_a_position_and_sees_audit_records() -> None:
    e, s = fleet()
    first = e.events(timeout_ms=0)
    e.force_sync(node="gw-1", actor="bob", role="operator", reason="Node re-provisioning", at_ms=T0)
    start = first.position
    (audit,) = drain(first)
    position = first.position
    assert start is not None and position == start + 1
    assert audit["type"] == "audit"
    assert (audit["action"], audit["target"], audit["actor"]) == ("force_sync_node", "node:gw-1", "bob")
    again = e.events(start, timeout_ms=0)
    assert [ev["type"] for ev in drain(again)] == ["audit"]
    with pytest.raises(fleetgov.InvalidInput):
        e.events(position + 10)
    with pytest.raises(fleetgov.InvalidInput):
        e.events(-1)


def test_a_closed_stream_ends_and_a_closed_engine_ends_its_streams_quietly() -> None:
    e, s = fleet()
    stream = e.events(timeout_ms=0)
    stream.close()
    stream.close()
    assert stream.position is None
    assert drain(stream) == []
    live = e.events(timeout_ms=0)
    e.close()
    assert drain(live) == []
    with pytest.raises(fleetgov.EngineClosed):
        e.events()


def test_ctrl_c_interrupts_a_waiting_stream() -> None:
    e, _ = fleet()
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main
    stream = e.events()  # no timeout: waits until something happens
    started = threading.Event()

    def interrupt() -> None:
        started.wait()
        signal.pthread_kill(main, signal.SIGINT)

    sender = threading.Thread(target=interrupt)
    sender.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            started.set()
            next(stream)
    finally:
        sender.join()
    stream.close()
