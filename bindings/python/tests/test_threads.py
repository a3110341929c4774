"""Several Python threads heartbeating one engine at once."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from model import T0, cohesion

import fleetgov

THREADS = 8
NODES_PER_THREAD = 50
ROUNDS = 20


def test_concurrent_heartbeats_keep_counters_exact(fleet: fleetgov.Engine) -> None:
    s = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    nodes = [[f"gw-{t}-{i}" for i in range(NODES_PER_THREAD)] for t in range(THREADS)]
    for group in nodes:
        for n in group:
            fleet.enroll(n, cluster="eks-prod-us", at_ms=T0)
    start = threading.Barrier(THREADS)

    def beat(thread: int) -> int:
        start.wait()
        for r in range(ROUNDS):
            for i, n in enumerate(nodes[thread]):
                # Odd nodes end divergent (bad hash); even nodes end in sync.
                good = i % 2 == 0 or r < ROUNDS - 1
                fleet.heartbeat(
                    n,
                    at_ms=T0 + r,
                    applied_snapshot=s.id,
                    applied_hash=s.hash if good else "00" * 32,
                    runtime_version="3.5.0",
                    cpu=float(r),
                )
        return thread

    with ThreadPoolExecutor(THREADS) as pool:
        assert sorted(pool.map(beat, range(THREADS))) == list(range(THREADS))

    total = THREADS * NODES_PER_THREAD
    c = fleet.cluster("eks-prod-us", now_ms=T0 + ROUNDS)
    assert (c.total, c.in_sync) == (total, total // 2)
    assert c.cohesion == cohesion(total // 2, total) == 50
    assert c.root_causes == {"HASH_MISMATCH": total // 2}
    view = fleet.node("gw-3-7", now_ms=T0 + ROUNDS)
    assert (view.last_heartbeat_ms, view.cpu, view.config_status) == (T0 + ROUNDS - 1, ROUNDS - 1, "DIVERGENT")


def test_queries_and_writes_interleave_across_threads(fleet: fleetgov.Engine) -> None:
    s = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                c = fleet.cluster("eks-prod-us", now_ms=T0)
                assert c.cohesion in (0, 100)
                fleet.fleet("ws-1", now_ms=T0)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(2_000):
            fleet.heartbeat(
                "gw-1", at_ms=T0 + i, applied_snapshot=s.id, applied_hash=s.hash if i % 2 else "11" * 32, runtime_version="3.5.0"
            )
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert fleet.cluster("eks-prod-us", now_ms=T0).cohesion == 100


def test_close_waits_for_calls_in_flight_and_later_calls_raise() -> None:
    e = fleetgov.Engine()
    e.upsert_workspace("ws-1")
    e.upsert_cluster("c", workspace="ws-1", environment="dev")
    for i in range(200):
        e.enroll(f"gw-{i}", cluster="c", at_ms=T0)
    outcomes: list[str] = []

    def hammer(k: int) -> None:
        i = 0
        while True:
            try:
                e.heartbeat(f"gw-{k * 50 + i % 50}", at_ms=T0 + i, runtime_version="3.5.0")
            except fleetgov.EngineClosed:
                outcomes.append("closed")
                return
            i += 1

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    e.close()
    for t in threads:
        t.join()
    assert outcomes == ["closed"] * 4


def test_short_calls_on_an_in_memory_engine_keep_the_gil(fleet: fleetgov.Engine) -> None:
    """Issue 22 item 11: releasing and re-taking the GIL around a call of a
    microsecond made short calls slower with every thread added. The calls
    that cannot block (heartbeat on an in-memory engine, cluster, node,
    cluster_ids, snapshot, desired) keep it.

    With the switch interval raised far beyond the test's length, the
    interpreter never takes the GIL from this thread; another thread runs
    only when this one lets go of it, as a call detached from the GIL does.
    So the other thread's counter stands still across the calls if, and
    only if, none of them released the GIL."""
    s = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    for i in range(500):  # cluster_ids then takes long enough for another thread to get in
        fleet.upsert_cluster(f"c-{i}", workspace="ws-1", environment="dev")
    gw = fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    ran = [0]
    first = threading.Event()
    stop = threading.Event()

    def other() -> None:
        while not stop.is_set():
            ran[0] += 1
            first.set()
            time.sleep(0)  # lets go of the GIL at once

    interval = sys.getswitchinterval()
    sys.setswitchinterval(3600.0)
    thread = threading.Thread(target=other)
    try:
        thread.start()
        first.wait()  # waits without the GIL: the other thread has run
        before = ran[0]
        for i in range(2_000):
            fleet.heartbeat(gw, at_ms=T0 + i, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
            fleet.cluster("eks-prod-us", now_ms=T0 + i)
            fleet.node("gw-1", now_ms=T0 + i)
            fleet.snapshot(s.id)
            fleet.desired("eks-prod-us")
            fleet.cluster_ids()
        after = ran[0]
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert after == before, f"another thread ran {after - before} times during calls that keep the GIL"
