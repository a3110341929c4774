"""Throughput of the Python binding against the issue's targets (a script,
not a test): bulk ingest (NumPy records by handle, an Arrow table by id),
Arrow export of node state, single heartbeats, and single heartbeats from
1, 2 and 4 Python threads at once. Bulk figures are the best of several
runs, in wall time and in CPU time of the whole process (every thread), so
that a loaded machine still gives a figure per CPU second.

    python bench.py [--nodes 1000000] [--threads-only]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa

import fleetgov
from fleetgov import records

T0 = 1_700_000_000_000


def best_of(runs: int, f: object) -> float:
    assert callable(f)
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - start)
    return best


def best_wall_and_cpu(runs: int, f: Callable[[], object]) -> tuple[float, float]:
    """The least wall time and the least CPU time (all threads) of `runs` calls."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        f()
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall, cpu


def report_rate(what: str, n: int, wall: float, cpu: float, target: str) -> None:
    print(
        f"{what}: {wall * 1e3:.1f} ms = {n / wall / 1e6:.1f} M heartbeats/s wall; "
        f"{cpu * 1e3:.1f} ms CPU = {n / cpu / 1e6:.1f} M per CPU second ({target})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--threads-only", action="store_true", help="only the 1/2/4-thread heartbeat run")
    args = parser.parse_args()
    if args.threads_only:
        threads()
        return
    n = args.nodes

    e = fleetgov.Engine()
    e.upsert_workspace("ws-1")
    snaps = []
    for c in range(args.clusters):
        e.upsert_cluster(f"c{c}", workspace="ws-1", environment="production")
        snaps.append(e.publish(f"c{c}", f"config {c}".encode(), actor="bench", at_ms=T0))
    batch = records.empty(n)
    batch["runtime_version"] = fleetgov.pack_version("3.5.0")
    batch["flags"] = records.FLAG_APPLIED
    batch["revision"] = 1
    batch["handle"] = e.enroll_many(((f"gw-{i}", f"c{i % args.clusters}") for i in range(n)), at_ms=T0)
    hashes = np.stack([records.hash_bytes(snap.hash) for snap in snaps])
    batch["hash"] = hashes[np.arange(n) % args.clusters]

    def ingest() -> None:
        batch["at_ms"] += 1
        e.ingest(batch)

    wall, cpu = best_wall_and_cpu(5, ingest)
    report_rate(f"ingest {n:,} records by handle in one call", n, wall, cpu, "target >= 10 M/s")

    def ingest_read_only() -> None:
        batch.flags.writeable = True
        batch["at_ms"] += 1
        batch.flags.writeable = False  # read in place, not copied first
        e.ingest(batch)

    wall, cpu = best_wall_and_cpu(5, ingest_read_only)
    batch.flags.writeable = True
    report_rate(f"ingest {n:,} records by handle from a read-only array", n, wall, cpu, "target >= 10 M/s")

    # The same heartbeats as an Arrow table naming nodes by id.
    by_id = pa.table(
        {
            "id": pa.array([f"gw-{i}" for i in range(n)], pa.string()),
            "at_ms": batch["at_ms"],
            "runtime_version": batch["runtime_version"],
            "flags": batch["flags"],
            "revision": batch["revision"],
            "hash": pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), n, [None, pa.py_buffer(batch["hash"].tobytes())]),
        }
    )
    at = by_id.schema.get_field_index("at_ms")
    clock = [int(batch["at_ms"][0])]

    def ingest_by_id() -> None:
        clock[0] += 1
        e.ingest(by_id.set_column(at, "at_ms", pa.array(np.full(n, clock[0], dtype=np.uint64))))

    wall, cpu = best_wall_and_cpu(5, ingest_by_id)
    report_rate(f"ingest {n:,} rows of an Arrow table by id in one call", n, wall, cpu, "no target")

    wall, cpu = best_wall_and_cpu(5, lambda: pa.table(e.nodes_table(now_ms=T0 + 10)))
    print(f"export {n:,} nodes to pyarrow: {wall * 1e3:.1f} ms wall, {cpu * 1e3:.1f} ms CPU (target <= 100 ms)")

    s = snaps[0]
    calls = 200_000
    at = [T0 + 10 + i for i in range(calls)]

    def singles() -> None:
        hb = e.heartbeat
        for t in at:
            hb("gw-0", at_ms=t, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
        at[:] = [t + calls for t in at]

    secs = best_of(3, singles)
    print(f"single heartbeat call by id: {secs / calls * 1e9:.0f} ns (target <= 1000)")

    handle = e.node_handle("gw-0")

    def by_handle() -> None:
        hb = e.heartbeat
        for t in at:
            hb(handle, at_ms=t, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
        at[:] = [t + calls for t in at]

    secs = best_of(3, by_handle)
    print(f"single heartbeat call by handle: {secs / calls * 1e9:.0f} ns (target <= 1000)")
    threads()


def threads(calls: int = 200_000) -> None:
    """`calls` heartbeats by handle, split over 1, 2 and 4 threads (each on
    nodes of its own); the aggregate rate, best of 3."""
    e = fleetgov.Engine()
    e.upsert_workspace("ws-1")
    e.upsert_cluster("c", workspace="ws-1", environment="production")
    s = e.publish("c", b"config", actor="bench", at_ms=T0)
    for n in (1, 2, 4):
        handles = [e.enroll(f"t{n}-{k}", cluster="c", at_ms=T0) for k in range(n)]
        clock = [T0]

        def run() -> None:
            start = threading.Barrier(n)
            per = calls // n
            base = clock[0]

            def beat(handle: int) -> None:
                hb = e.heartbeat
                start.wait()
                for i in range(per):
                    hb(handle, at_ms=base + i, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")

            workers = [threading.Thread(target=beat, args=(h,)) for h in handles]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            clock[0] = base + per

        secs = best_of(3, run)
        print(f"heartbeat by handle, {n} thread(s): {calls / secs / 1e6:.2f} M/s")


if __name__ == "__main__":
    main()
