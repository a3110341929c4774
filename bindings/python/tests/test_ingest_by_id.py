"""`Engine.ingest` of tables whose rows name their nodes by id: an `id`
string column instead of `handle`, the record fields as columns of their own."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from model import MINUTE, T0
from test_bulk import NODES, assert_same_state, make_fleet, random_heartbeats, single_calls, to_records

import fleetgov
from fleetgov import records


def by_id_table(beats: list[dict[str, Any]]) -> pa.Table:
    """The heartbeats as a table by id, one column per record field."""
    applied = [b["applied_snapshot"] is not None for b in beats]
    errors = [(b["sync_error"] or "").partition(": ") for b in beats]
    return pa.table(
        {
            "id": [b["node"] for b in beats],
            "at_ms": pa.array([b["at_ms"] for b in beats], pa.uint64()),
            "runtime_version": [fleetgov.pack_version(b["runtime_version"]) for b in beats],
            "status": [records.PROCESS_STATUS[b["process_status"]] for b in beats],
            "flags": [records.FLAG_APPLIED if a else 0 for a in applied],
            "revision": [int(b["applied_snapshot"].rpartition("@r")[2]) if a else 0 for a, b in zip(applied, beats)],
            "hash": pa.array(
                [bytes.fromhex(b["applied_hash"]) if a else bytes(32) for a, b in zip(applied, beats)], pa.binary(32)
            ),
            "cpu": pa.array([b["cpu"] for b in beats], pa.float32()),
            "memory": [b["memory"] for b in beats],  # float64, narrowed
            "tps": [b["tps"] for b in beats],
            "heap": [b["heap"] for b in beats],
            "hot_swap_errors": [b["hot_swap_errors"] for b in beats],
            "error_code": [records.SYNC_ERROR_CODES[code] if code else 0 for code, _, _ in errors],
            "detail": [detail for _, _, detail in errors],
        }
    )


def outcomes(result: fleetgov.BatchResult) -> list[str]:
    return [records.OUTCOMES[o] for o in records.outcomes(result)["outcome"]]


def test_a_table_by_id_has_the_outcomes_of_records_by_handle() -> None:
    by_handle, by_id, single = make_fleet(), make_fleet(), make_fleet()
    rng = random.Random(21)
    for round_ in range(4):
        at = T0 + round_ * MINUTE
        beats = random_heartbeats(rng, single, at)
        single_calls(single, beats)
        expected = by_handle.ingest(to_records(by_handle, beats))
        result = by_id.ingest(by_id_table(beats))
        assert bytes(result.outcomes) == bytes(expected.outcomes)
        assert (result.accepted, result.directives, result.refused) == (
            expected.accepted,
            expected.directives,
            expected.refused,
        )
        assert_same_state(by_handle, by_id, at + MINUTE)
        assert_same_state(single, by_id, at + MINUTE)


def test_an_unknown_id_is_refused_at_its_row() -> None:
    e = make_fleet()
    table = pa.table({"id": ["gw-0", "gw-nowhere", "gw-2"], "at_ms": [T0] * 3, "runtime_version": [0x0305_0000] * 3})
    result = e.ingest(table)
    assert outcomes(result) == ["accepted", "unknown_node", "accepted"]
    assert (result.accepted, result.refused) == (2, 1)
    assert e.node("gw-2", now_ms=T0).last_heartbeat_ms == T0


@pytest.mark.parametrize(
    "table",
    [
        pytest.param(pa.table({"id": [1, 2], "at_ms": [T0, T0]}), id="integers"),
        pytest.param(pa.table({"id": pa.array([b"gw-0", b"gw-1"], pa.binary()), "at_ms": [T0, T0]}), id="binary"),
    ],
)
def test_an_id_column_of_the_wrong_type_is_refused_naming_it(table: pa.Table) -> None:
    e = make_fleet()
    with pytest.raises(fleetgov.FleetError, match="`id` column holds node ids as strings"):
        e.ingest(table)
    assert e.node("gw-0", now_ms=T0).health == "never"


@pytest.mark.parametrize(
    "columns, message",
    [
        pytest.param({"at_ms": [T0, -1]}, "record 1: column `at_ms` holds -1", id="negative time"),
        pytest.param({"status": [0, 7]}, "record 1: process status 7", id="bad status"),
        pytest.param({"cpu": [0.0, float("nan")]}, "record 1", id="nan metric"),
        pytest.param({"revision": [0, 1 << 32]}, "column `revision` holds 4294967296", id="revision past u32"),
        pytest.param({"at_ms": pa.array([T0, None], pa.uint64())}, "column `at_ms` has nulls", id="null"),
        pytest.param({"at_ms": ["soon", "later"]}, "column `at_ms` cannot hold Utf8", id="text time"),
        pytest.param({"hash": [bytes(32), bytes(31)]}, "record 1: column `hash` holds 31 bytes", id="short hash"),
        pytest.param({"handle": [1, 2]}, "by id or by handle, not both", id="handle"),
        pytest.param({"colour": [1, 2]}, "column `colour` is not a heartbeat record field", id="unknown column"),
        pytest.param({"id": ["gw-0", "gw 1"]}, "record 1", id="malformed id"),
        pytest.param({"id": ["gw-0", None]}, "`id` column has nulls", id="null id"),
    ],
)
def test_a_malformed_row_fails_the_whole_table(columns: dict[str, Any], message: str) -> None:
    e = make_fleet()
    table = {"id": ["gw-0", "gw-1"], "at_ms": [T0, T0], "runtime_version": [0x0305_0000] * 2} | columns
    with pytest.raises(fleetgov.InvalidInput, match=message):
        e.ingest(pa.table(table))
    assert all(e.node(f"gw-{i}", now_ms=T0).health == "never" for i in range(2))


def test_a_bad_id_in_a_later_chunk_fails_the_whole_table(one_record_chunks: None) -> None:
    e = make_fleet()
    ids = [f"gw-{i}" for i in range(10)] + ["not an id"]
    with pytest.raises(fleetgov.InvalidInput, match="record 10"):
        e.ingest(pa.table({"id": ids, "at_ms": [T0] * 11, "runtime_version": [0x0305_0000] * 11}))
    assert all(e.node(f"gw-{i}", now_ms=T0).health == "never" for i in range(10))


FORMS: dict[str, Callable[[pa.Table], list[Any]]] = {
    "slices": lambda t: [t.slice(0, 23), t.slice(23)],
    "sliced batches": lambda t: [pa.Table.from_batches([b.slice(5) for b in t.slice(0, 40).to_batches()]), t.slice(0, 5), t.slice(40)],
    "record batches": lambda t: [pa.Table.from_batches([t.slice(0, 17).to_batches()[0], t.slice(17).to_batches()[0]])],
    "record batch": lambda t: [t.to_batches()[0]],
    "large strings": lambda t: [t.set_column(0, "id", t.column("id").cast(pa.large_string()))],
    "string views": lambda t: [t.set_column(0, "id", t.column("id").cast(pa.string_view()))],
    "pandas": lambda t: [t.to_pandas()],
    "polars": lambda t: [pl.from_arrow(t)],
}  # fmt: skip


@pytest.mark.parametrize("form", list(FORMS))
def test_sliced_chunked_and_data_frame_tables_by_id(form: str, one_record_chunks: None) -> None:
    single, bulk = make_fleet(), make_fleet()
    beats = random_heartbeats(random.Random(22), single, T0)
    single_calls(single, beats)
    table = by_id_table(beats)
    parts = FORMS[form](table)
    if form == "pandas":
        assert isinstance(parts[0], pd.DataFrame)
    results = [bulk.ingest(part) for part in parts]
    assert sum(len(r) for r in results) == NODES
    assert_same_state(single, bulk, T0)


def test_an_empty_table_by_id_applies_nothing() -> None:
    e = make_fleet()
    result = e.ingest(pa.table({"id": pa.array([], pa.string()), "at_ms": pa.array([], pa.uint64())}))
    assert (len(result), result.accepted) == (0, 0)
    assert np.frombuffer(result.outcomes, dtype=records.OUTCOME_DTYPE).size == 0

