"""Bulk paths: NumPy / Arrow record ingest against single calls, and the
Arrow export of node state against per-node views."""

from __future__ import annotations

import datetime as dt
import random
import threading
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from model import MINUTE, T0

import fleetgov
from fleetgov.types import Environment
from fleetgov import records

CLUSTERS: dict[str, Environment] = {"eks-prod-us": "production", "gke-stage-eu": "staging"}
NODES = 60
VIEW_FIELDS = (
    "cluster", "status", "health", "process_health", "process_status", "config_status", "drift",
    "desired_snapshot", "applied_snapshot", "applied_hash", "last_heartbeat_ms", "heartbeat_age_ms", "verified",
    "last_sync_error",
    "sync_error_code", "runtime_version", "cpu", "memory", "tps", "heap", "hot_swap_errors",
)  # fmt: skip
ERRORS = [None, ("RELOAD_FAILURE", "Incompatible Filter Signature"), ("NATS_TIMEOUT", "Failed to receive snapshot")]


def make_fleet(filler: int = 0) -> fleetgov.Engine:
    """The fleet's clusters and nodes, each node followed by `filler` other
    nodes that never send a heartbeat."""
    e = fleetgov.Engine()
    e.upsert_workspace("ws-1")
    for cid, env in CLUSTERS.items():
        e.upsert_cluster(cid, workspace="ws-1", environment=env, auto_reconcile=cid == "gke-stage-eu")
        e.publish(cid, f"{cid} v1".encode(), actor="alice", at_ms=T0)
        e.publish(cid, f"{cid} v2".encode(), actor="alice", at_ms=T0)
    for i in range(NODES):
        e.enroll(f"gw-{i}", cluster=list(CLUSTERS)[i % 2], at_ms=T0)
        if filler:
            e.enroll_many([(f"fill-{i}-{k}", list(CLUSTERS)[k % 2]) for k in range(filler)], at_ms=T0)
    return e


def random_heartbeats(rng: random.Random, e: fleetgov.Engine, at_ms: int) -> list[dict[str, Any]]:
    """One heartbeat per node, as keyword arguments of `Engine.heartbeat`."""
    beats = []
    for i in range(NODES):
        cid = list(CLUSTERS)[i % 2]
        rev = rng.choice([0, 1, 2, 2])
        snap = e.snapshot(f"{cid}@r{rev}") if rev else None
        bad_hash = rng.random() < 0.2
        err = rng.choice(ERRORS)
        beats.append(
            dict(
                node=f"gw-{i}",
                at_ms=at_ms - rng.choice([0, 0, 2 * MINUTE]),
                applied_snapshot=snap.id if snap else None,
                applied_hash=None if snap is None else ("7e" * 32 if bad_hash else snap.hash),
                runtime_version=rng.choice(["3.3.0", "3.5.0", "3.6.1"]),
                process_status=rng.choice(["ready", "starting", "error"]),
                cpu=float(rng.randint(0, 100)),
                memory=rng.uniform(0, 100),
                tps=rng.uniform(0, 5000),
                heap=rng.uniform(0, 100),
                hot_swap_errors=rng.randint(0, 3),
                sync_error=None if err is None else f"{err[0]}: {err[1]}",
            )
        )
    return beats


def to_records(e: fleetgov.Engine, beats: list[dict[str, Any]]) -> np.ndarray[Any, Any]:
    batch = records.empty(len(beats))
    for r, b in zip(batch, beats, strict=True):
        r["handle"] = e.node_handle(b["node"])
        r["at_ms"] = b["at_ms"]
        r["runtime_version"] = fleetgov.pack_version(b["runtime_version"])
        r["status"] = records.PROCESS_STATUS[b["process_status"]]
        for k in ("cpu", "memory", "tps", "heap", "hot_swap_errors"):
            r[k] = b[k]
        if b["applied_snapshot"] is not None:
            r["flags"] = records.FLAG_APPLIED
            r["revision"] = int(b["applied_snapshot"].rpartition("@r")[2])
            r["hash"] = records.hash_bytes(b["applied_hash"])
        if b["sync_error"] is not None:
            code, _, detail = b["sync_error"].partition(": ")
            r["error_code"] = records.SYNC_ERROR_CODES[code]
            r["detail_len"] = len(detail)
            r["detail"][: len(detail)] = np.frombuffer(detail.encode(), dtype=np.uint8)
    return batch


def single_calls(e: fleetgov.Engine, beats: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Applies heartbeats one call each; returns (outcome, directive revision) per beat."""
    out = []
    for b in beats:
        args = dict(b)
        node = args.pop("node")
        try:
            d = e.heartbeat(node, **args)
        except fleetgov.StaleHeartbeat:
            out.append(("stale", 0))
            continue
        out.append(("accepted", 0) if d is None else (d.kind, d.revision))
    return out


def assert_same_state(a: fleetgov.Engine, b: fleetgov.Engine, now_ms: int) -> None:
    for cid in CLUSTERS:
        ca, cb = a.cluster(cid, now_ms=now_ms), b.cluster(cid, now_ms=now_ms)
        for k in ("status", "cohesion", "cohesion_bp", "in_sync", "total", "root_causes", "revisions"):
            assert getattr(ca, k) == getattr(cb, k), (cid, k)
    for i in range(NODES):
        na, nb = a.node(f"gw-{i}", now_ms=now_ms), b.node(f"gw-{i}", now_ms=now_ms)
        for k in VIEW_FIELDS:
            assert getattr(na, k) == getattr(nb, k), (i, k)


def test_numpy_batches_equal_single_calls() -> None:
    single, bulk = make_fleet(), make_fleet()
    rng = random.Random(6)
    for round_ in range(5):
        at = T0 + round_ * MINUTE
        beats = random_heartbeats(rng, single, at)
        expected = single_calls(single, beats)
        result = bulk.ingest(to_records(bulk, beats))
        got = [(records.OUTCOMES[o["outcome"]], int(o["revision"])) for o in records.outcomes(result)]
        assert got == expected
        assert len(result) == NODES
        assert result.accepted == sum(1 for o, _ in expected if o != "stale")
        assert result.refused == sum(1 for o, _ in expected if o == "stale")
        assert result.directives == sum(1 for o, _ in expected if o == "reconcile")
        assert_same_state(single, bulk, at + MINUTE)


def test_outcome_records_carry_the_directive_hash() -> None:
    e = make_fleet()
    desired = e.desired("gke-stage-eu")
    assert desired is not None
    beat = dict(node="gw-1", at_ms=T0, runtime_version="3.5.0", applied_snapshot=None, applied_hash=None,
                process_status="ready", cpu=0.0, memory=0.0, tps=0.0, heap=0.0, hot_swap_errors=0, sync_error=None)  # fmt: skip
    out = records.outcomes(e.ingest(to_records(e, [beat])))[0]
    assert records.OUTCOMES[out["outcome"]] == "reconcile"
    assert (int(out["revision"]), bytes(out["hash"]).hex()) == (desired.revision, desired.hash)


def test_refusals_are_per_record() -> None:
    e = make_fleet()
    e.heartbeat("gw-0", at_ms=T0 + 10, runtime_version="3.5.0")
    batch = records.empty(3)
    batch["runtime_version"] = fleetgov.pack_version("3.5.0")
    batch["handle"] = [e.node_handle("gw-0"), e.node_handle("gw-2"), 0xDEAD_0000_0001]
    batch["at_ms"] = [T0 + 5, T0 + 5, T0 + 5]  # gw-0: stale
    result = e.ingest(batch)
    assert [records.OUTCOMES[o] for o in records.outcomes(result)["outcome"]] == ["stale", "accepted", "unknown_node"]
    assert (result.accepted, result.refused) == (1, 2)
    assert e.node("gw-0", now_ms=T0 + 10).last_heartbeat_ms == T0 + 10


def _read_only(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    array.flags.writeable = False
    return array


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda a: a.tobytes(), id="bytes"),
        pytest.param(lambda a: bytearray(a.tobytes()), id="bytearray"),
        pytest.param(lambda a: memoryview(bytearray(a.tobytes())), id="writable-memoryview"),
        pytest.param(lambda a: memoryview(a.tobytes()), id="read-only-memoryview"),
        pytest.param(lambda a: a.copy(), id="writable-numpy"),
        pytest.param(lambda a: _read_only(a.copy()), id="read-only-numpy"),
    ],
)
def test_ingest_of_writable_buffers_matches_read_only_ones(form: Any) -> None:
    """Issue 18, defect 13: a writable buffer was read in place with the GIL
    released. It is now copied first; whatever the form, the outcomes and the
    state are the same as from `bytes`, and the caller's buffer is untouched."""
    reference, e = make_fleet(), make_fleet()
    beats = random_heartbeats(random.Random(13), reference, T0 + MINUTE)
    expected = reference.ingest(to_records(reference, beats).tobytes())
    batch = form(to_records(e, beats))  # handles are per engine
    before = bytes(batch)
    result = e.ingest(batch)
    assert bytes(result.outcomes) == bytes(expected.outcomes)
    assert (result.accepted, result.directives, result.refused) == (
        expected.accepted,
        expected.directives,
        expected.refused,
    )
    assert result.accepted > 0 and result.directives > 0
    assert bytes(batch) == before
    assert_same_state(reference, e, T0 + 2 * MINUTE)


def rounds_of_records(e: fleetgov.Engine, rng: random.Random, first: int, rounds: int) -> np.ndarray[Any, Any]:
    """`rounds` rounds of one random heartbeat per node, round `k` a minute
    after round `k - 1`, the first at minute `first`."""
    parts = [to_records(e, random_heartbeats(rng, e, T0 + (first + k) * MINUTE)) for k in range(rounds)]
    return np.concatenate(parts) if parts else records.empty(0)


def test_writable_batches_of_changing_sizes_equal_read_only_ones() -> None:
    """A writable batch is copied into a buffer the engine keeps: calls of
    growing and shrinking sizes apply exactly their own records, as the
    read-only path does, and the buffer holds the largest batch so far."""
    writable, read_only = make_fleet(), make_fleet()
    rng_w, rng_r = random.Random(21), random.Random(21)
    minute = 1
    for rounds in (10, 1, 20, 0, 3, 20):
        batch = rounds_of_records(writable, rng_w, minute, rounds)
        expected = read_only.ingest(_read_only(rounds_of_records(read_only, rng_r, minute, rounds)))
        assert batch.flags.writeable
        result = writable.ingest(batch)
        assert len(result) == rounds * NODES
        assert bytes(result.outcomes) == bytes(expected.outcomes)
        assert (result.accepted, result.directives, result.refused) == (
            expected.accepted,
            expected.directives,
            expected.refused,
        )
        minute += rounds
        assert_same_state(read_only, writable, T0 + (minute + 1) * MINUTE)
    assert writable.release_ingest_buffer() == 20 * NODES * records.RECORD_DTYPE.itemsize
    assert writable.release_ingest_buffer() == 0
    assert read_only.release_ingest_buffer() == 0  # read in place, never copied
    writable.ingest(rounds_of_records(writable, rng_w, minute, 1))
    writable.close()
    assert writable.release_ingest_buffer() == 0  # closing freed it


def test_a_writable_batch_with_one_bad_record_deep_inside_changes_nothing() -> None:
    """After a larger batch filled the kept buffer, a writable batch whose
    record 150,001 is malformed is refused whole: the state is that of the
    first batch alone."""
    e, reference = make_fleet(), make_fleet()

    def batch(engine: fleetgov.Engine, n: int, at_ms: int) -> np.ndarray[Any, Any]:
        handles = np.array([engine.node_handle(f"gw-{i}") for i in range(NODES)], dtype=np.uint64)
        b = records.empty(n)
        b["handle"] = handles[np.arange(n) % NODES]
        b["at_ms"] = at_ms + np.arange(n) // NODES
        b["runtime_version"] = fleetgov.pack_version("3.5.0")
        return b

    first = 240_000
    assert e.ingest(batch(e, first, T0)).accepted == first
    assert reference.ingest(_read_only(batch(reference, first, T0))).accepted == first
    bad = batch(e, 200_000, T0 + MINUTE)
    bad[150_001]["version"] = 9
    with pytest.raises(fleetgov.InvalidInput, match="record 150001"):
        e.ingest(bad)
    assert_same_state(reference, e, T0 + 2 * MINUTE)
    assert e.node("gw-0", now_ms=T0 + 2 * MINUTE).last_heartbeat_ms == T0 + (first - 1) // NODES


def test_writable_batches_from_two_threads_at_once() -> None:
    """Two threads ingest writable batches into one engine at once (one of
    them copies into fresh memory while the other holds the kept buffer):
    every record is applied as the same batches applied in turn would be."""
    e, reference = make_fleet(), make_fleet()
    halves = [range(0, NODES, 2), range(1, NODES, 2)]

    def batches(engine: fleetgov.Engine, nodes: range) -> list[np.ndarray[Any, Any]]:
        out = []
        for k in range(40):
            b = records.empty(len(nodes) * 50)
            b["handle"] = np.repeat([engine.node_handle(f"gw-{i}") for i in nodes], 50)
            b["at_ms"] = T0 + k * 100 + np.tile(np.arange(50), len(nodes))
            b["runtime_version"] = fleetgov.pack_version("3.5.0")
            b["cpu"] = k
            out.append(b)
        return out

    results: list[list[int]] = [[], []]

    def run(k: int) -> None:
        results[k] = [e.ingest(b).accepted for b in batches(e, halves[k])]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for nodes in halves:
        for b in batches(reference, nodes):
            reference.ingest(_read_only(b))
    assert results == [[len(halves[0]) * 50] * 40, [len(halves[1]) * 50] * 40]
    assert_same_state(reference, e, T0 + MINUTE)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda b: b.__setitem__("version", 9),
        lambda b: b.__setitem__("status", 7),
        lambda b: b.__setitem__("cpu", np.nan),
        lambda b: b.__setitem__("runtime_version", 0),
        lambda b: b.__setitem__("error_code", 200),
        lambda b: b.__setitem__("detail_len", 48),
    ],
)
def test_a_malformed_record_fails_the_whole_batch(breakage: Any) -> None:
    e = make_fleet()
    batch = records.empty(4)
    batch["handle"] = [e.node_handle(f"gw-{i}") for i in range(4)]
    batch["at_ms"] = T0
    batch["runtime_version"] = fleetgov.pack_version("3.5.0")
    breakage(batch[2:3])
    with pytest.raises(fleetgov.InvalidInput, match="record 2"):
        e.ingest(batch)
    assert all(e.node(f"gw-{i}", now_ms=T0).health == "never" for i in range(4))


def test_any_buffer_of_whole_records_is_accepted_and_others_are_not() -> None:
    e = make_fleet()
    batch = records.empty(2)
    batch["handle"] = [e.node_handle("gw-0"), e.node_handle("gw-1")]
    batch["at_ms"] = T0
    batch["runtime_version"] = fleetgov.pack_version("3.5.0")
    assert e.ingest(batch.tobytes()).accepted == 2
    assert e.ingest(memoryview(bytearray(batch.tobytes()))).accepted == 2
    assert e.ingest(b"").accepted == 0 and len(e.ingest(records.empty(0))) == 0
    with pytest.raises(fleetgov.InvalidInput, match="128"):
        e.ingest(batch.tobytes()[:-1])
    with pytest.raises(fleetgov.InvalidInput, match="contiguous"):
        e.ingest(np.repeat(batch, 2)[::2])
    with pytest.raises(TypeError):
        e.ingest(12345)  # type: ignore[arg-type]


ARROW_FORMS = {
    "array": lambda a: [a],
    "sliced arrays": lambda a: [a.slice(0, 7), a.slice(7)],
    "chunked array": lambda a: [pa.chunked_array([a.slice(0, 20), a.slice(20)])],
    "table of batches": lambda a: [pa.Table.from_batches([pa.record_batch([a.slice(0, 10)], names=["r"]), pa.record_batch([a.slice(10)], names=["r"])])],
    "record batch": lambda a: [pa.record_batch([a], names=["r"])],
}  # fmt: skip


@pytest.mark.parametrize("form", list(ARROW_FORMS))
def test_arrow_arrays_and_streams_of_records(form: str) -> None:
    single, bulk = make_fleet(), make_fleet()
    beats = random_heartbeats(random.Random(7), single, T0)
    single_calls(single, beats)
    raw = to_records(bulk, beats).tobytes()
    array = pa.FixedSizeBinaryArray.from_buffers(pa.binary(128), NODES, [None, pa.py_buffer(raw)])
    results = [bulk.ingest(part) for part in ARROW_FORMS[form](array)]
    assert sum(len(r) for r in results) == NODES
    assert_same_state(single, bulk, T0)


def test_arrow_inputs_of_the_wrong_shape_are_invalid() -> None:
    e = make_fleet()
    with pytest.raises(fleetgov.InvalidInput, match="fixed_size_binary"):
        e.ingest(pa.array([1, 2, 3]))
    with pytest.raises(fleetgov.InvalidInput, match="one column"):
        e.ingest(pa.table({"a": [1], "b": [2]}))
    with pytest.raises(fleetgov.InvalidInput, match="nulls"):
        e.ingest(pa.array([b"\x00" * 128, None], type=pa.binary(128)))


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Every column of the node table but `applied_revision` is a `NodeView` attribute.
TABLE_FIELDS = (
    "id", "cluster", "status", "health", "process_health", "process_status", "config_status", "drift",
    "desired_snapshot", "desired_hash", "applied_snapshot", "applied_revision", "applied_hash",
    "last_heartbeat_ms", "sync_error_code", "runtime_version", "cpu", "memory", "tps", "heap", "hot_swap_errors",
)  # fmt: skip


def assert_table_matches_views(e: fleetgov.Engine, table: pa.Table, now_ms: int) -> None:
    assert tuple(table.column_names) == TABLE_FIELDS
    rows = table.to_pylist()
    assert len({r["id"] for r in rows}) == len(rows)  # one row per node
    for row in rows:
        n = e.node(row["id"], now_ms=now_ms)
        for k in TABLE_FIELDS:
            if k == "applied_revision":
                want = None if n.applied_snapshot is None else int(n.applied_snapshot.rpartition("@r")[2])
            else:
                want = getattr(n, k)
            got = row[k]
            if k == "last_heartbeat_ms" and got is not None:  # a UTC timestamp column
                assert got.tzinfo is not None
                got = (got - EPOCH) // dt.timedelta(milliseconds=1)
            assert got == (pytest.approx(want) if isinstance(want, float) else want), (n.id, k)


def test_nodes_table_matches_the_node_views() -> None:
    e = make_fleet()
    single_calls(e, random_heartbeats(random.Random(8), e, T0))
    t = e.nodes_table(now_ms=T0 + 7 * MINUTE)
    assert (len(t), t.num_rows) == (NODES, NODES) and "NodesTable" in repr(t)
    table = pa.table(t)
    assert table.column_names == t.column_names
    assert table.num_rows == NODES
    assert_table_matches_views(e, table, T0 + 7 * MINUTE)
    assert pa.table(t).equals(table)  # exportable again


def test_nodes_table_of_odd_reports_matches_the_node_views(engine: fleetgov.Engine) -> None:
    """Shared bytes, unknown revisions, foreign snapshots, zero hashes, no authority."""
    engine.upsert_workspace("ws-1")
    for cid in ("a", "b", "unpublished"):
        engine.upsert_cluster(cid, workspace="ws-1", environment="staging")
    a1 = engine.publish("a", b"same bytes", actor="alice", at_ms=T0)
    b1 = engine.publish("b", b"same bytes", actor="alice", at_ms=T0)
    a2 = engine.publish("a", b"a v2", actor="alice", at_ms=T0)
    assert a1.hash == b1.hash
    reports: dict[str, tuple[str | None, str | None]] = {
        "in-sync": (a2.id, a2.hash),
        "previous": (a1.id, a1.hash),
        "bad-hash": (a2.id, "7e" * 32),
        "zero-hash": (a2.id, "00" * 32),
        "unknown-revision": ("a@r99", "ab" * 32),
        "foreign": (b1.id, b1.hash),
        "nothing": (None, None),
    }
    for node, (snap, hash_) in reports.items():
        engine.enroll(node, cluster="a", at_ms=T0)
        engine.heartbeat(node, at_ms=T0, applied_snapshot=snap, applied_hash=hash_, runtime_version="3.5.0")
    engine.enroll("b-node", cluster="b", at_ms=T0)
    engine.heartbeat("b-node", at_ms=T0, applied_snapshot=b1.id, applied_hash=b1.hash, runtime_version="3.3.0")
    engine.enroll("silent", cluster="unpublished", at_ms=T0)
    table = pa.table(engine.nodes_table(now_ms=T0))
    assert table.num_rows == len(reports) + 2
    assert_table_matches_views(engine, table, T0)
    frame = table.to_pandas()  # categories must be distinct: "a" and "b" share a hash
    assert frame.loc[frame["id"] == "silent", "desired_snapshot"].isna().all()
    assert set(frame["desired_hash"].dropna()) == {a2.hash, b1.hash}


def test_nodes_table_rows_agree_with_their_desired_snapshot_while_publishing(engine: fleetgov.Engine) -> None:
    """Publishes racing exports: an export either fails with Conflict or
    shows every in-sync node running exactly its desired snapshot."""
    engine.upsert_workspace("ws-1")
    engine.upsert_cluster("c", workspace="ws-1", environment="staging")
    n = 2_000
    batch = records.empty(n)
    batch["handle"] = [engine.enroll(f"n{i}", cluster="c", at_ms=T0) for i in range(n)]
    batch["runtime_version"] = fleetgov.pack_version("3.5.0")
    batch["flags"] = records.FLAG_APPLIED
    done = threading.Event()

    def publish_and_follow() -> None:
        for revision in range(1, 120):
            s = engine.publish("c", f"v{revision}".encode(), actor="alice", at_ms=T0)
            batch["at_ms"] = T0 + revision
            batch["revision"] = s.revision
            batch["hash"] = records.hash_bytes(s.hash)
            engine.ingest(batch)  # every node follows: all in sync again
        done.set()

    publisher = threading.Thread(target=publish_and_follow)
    publisher.start()
    exports = 0
    while not done.is_set() or exports == 0:
        exports += 1
        try:
            frame = pa.table(engine.nodes_table(now_ms=T0)).to_pandas()
        except fleetgov.Conflict:
            continue
        in_sync = frame[frame["config_status"] == "IN_SYNC"]
        assert (in_sync["applied_snapshot"].astype(str) == in_sync["desired_snapshot"].astype(str)).all()
        assert (in_sync["applied_hash"].astype(str) == in_sync["desired_hash"].astype(str)).all()
    publisher.join()


def test_nodes_table_reads_into_polars_and_pandas() -> None:
    e = make_fleet()
    single_calls(e, random_heartbeats(random.Random(9), e, T0))
    t = e.nodes_table(now_ms=T0)
    df = pl.DataFrame(t)
    assert df.height == NODES
    by_drift = dict(df.group_by("drift").len().iter_rows())
    fleet = e.fleet("ws-1", now_ms=T0)["summary"]
    assert by_drift.get("aligned", 0) == fleet["aligned"]
    assert by_drift.get("needs_reconcile", 0) == fleet["needsReconcile"]
    pdf = pa.table(t).to_pandas()
    assert isinstance(pdf, pd.DataFrame) and len(pdf) == NODES
    assert isinstance(pdf["health"].dtype, pd.CategoricalDtype)
    assert (pdf.groupby("cluster", observed=True).size().to_dict()) == {c: NODES // 2 for c in CLUSTERS}


def test_nodes_table_reads_into_duckdb_and_polars_from_arrow() -> None:
    e = make_fleet()
    single_calls(e, random_heartbeats(random.Random(10), e, T0))
    nodes = e.nodes_table(now_ms=T0)
    relation = duckdb.sql("select config_status, count(*) from nodes group by config_status")
    assert relation is not None
    counts = dict(relation.fetchall())
    in_sync = sum(e.cluster(c, now_ms=T0).in_sync for c in CLUSTERS)
    assert counts.get("IN_SYNC", 0) == in_sync and sum(counts.values()) == NODES
    # polars.from_arrow reads a PyCapsule stream as one struct Series.
    series = pl.from_arrow(nodes)
    assert isinstance(series, pl.Series) and series.struct.unnest().equals(pl.DataFrame(nodes))
    frame = pl.from_arrow(pa.table(nodes))
    assert isinstance(frame, pl.DataFrame) and frame.equals(pl.DataFrame(nodes))


def test_nodes_table_of_an_empty_engine_has_the_schema(engine: fleetgov.Engine) -> None:
    t = engine.nodes_table(now_ms=T0)
    table = pa.table(t)
    assert table.num_rows == 0 and "drift" in table.column_names
    # Large string offsets: ids of up to 2^32 - 1 nodes do not fit i32 offsets.
    assert table.schema.field("id").type == pa.large_string()


def test_nodes_table_spans_batches(engine: fleetgov.Engine) -> None:
    engine.upsert_workspace("ws-1")
    engine.upsert_cluster("big", workspace="ws-1", environment="dev")
    engine.upsert_cluster("small", workspace="ws-1", environment="dev")
    n = 70_000
    for i in range(n):
        engine.enroll(f"n{i}", cluster="big" if i % 7 else "small", at_ms=T0)
    table = pa.table(engine.nodes_table(now_ms=T0))
    assert table.num_rows == n
    assert len(set(table.column("id").to_pylist())) == n
    assert table.column("health").to_pylist().count("never") == n


def test_a_fleet_exported_in_parallel_has_the_rows_of_a_small_fleet() -> None:
    """The same nodes in the same state, once alone and once spread over a
    fleet large enough to be exported a range of slots per task: their rows
    agree column by column."""
    filler = 700  # 42,060 slots: three ranges of the export, the fleet's nodes in each
    small, large = make_fleet(), make_fleet(filler)
    beats = random_heartbeats(random.Random(9), small, T0)
    single_calls(small, beats)
    single_calls(large, beats)
    now = T0 + 3 * MINUTE
    alone = pa.table(small.nodes_table(now_ms=now))
    spread = pa.table(large.nodes_table(now_ms=now))
    assert spread.num_rows == NODES * (filler + 1)
    mine = spread.filter(pc.starts_with(spread.column("id"), "gw-"))
    assert mine.to_pylist() == alone.to_pylist()
    assert_table_matches_views(small, alone, now)
