"""Durable engines: a data directory keeps authority, enrolments, history,
node state and the signing key across a restart; history ranges; bulk
enrolment that is all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from model import T0

import fleetgov


def open_dir(path: Path, now_ms: int, journal_segment_len: int | None = None) -> fleetgov.Engine:
    return fleetgov.Engine(
        data_dir=path, clock_ms=now_ms, journal_interval_ms=10, journal_segment_len=journal_segment_len
    )


def beat(e: fleetgov.Engine, node: str, at_ms: int, s: fleetgov.Snapshot, hash: str | None = None) -> None:
    e.heartbeat(node, at_ms=at_ms, applied_snapshot=s.id, applied_hash=hash or s.hash, runtime_version="3.5.0")


@pytest.fixture
def prod() -> Iterator[fleetgov.Engine]:
    """An in-memory engine whose history begins at T0, with cluster `prod`."""
    with fleetgov.Engine(clock_ms=T0) as e:
        e.upsert_workspace("ws")
        e.upsert_cluster("prod", workspace="ws", environment="production")
        yield e


def test_a_restart_keeps_authority_enrolments_history_node_state_and_the_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    e = open_dir(data, T0)
    e.upsert_workspace("ws")
    e.upsert_cluster("prod", workspace="ws", environment="production", owner_team="edge")
    r1 = e.publish("prod", b"one", actor="alice", at_ms=T0)
    r2 = e.publish("prod", b"two", actor="alice", at_ms=T0 + 10)
    handles = e.enroll_many([(f"n{i}", "prod") for i in range(4)], at_ms=T0)
    e.set_clock(T0 + 1_000)
    for i in range(4):
        beat(e, f"n{i}", T0 + 100, r1)
    for i in range(3):
        beat(e, f"n{i}", T0 + 200, r2)
    beat(e, "n3", T0 + 300, r2, hash="ab" * 32)  # not what was published
    e.force_sync(node="n3", actor="bob", role="operator", reason="re-provisioned", at_ms=T0 + 400)
    key = e.checkpoint_verifier_key()
    attested = e.attest("prod", at_ms=T0 + 150)
    cluster, n3 = e.cluster("prod", now_ms=T0 + 1_000), e.node("n3", now_ms=T0 + 1_000)
    records, head, history = len(e.audit()), e.verify_audit(), e.history("n0")
    assert "data_dir=" in repr(e) and e.history_start_ms == T0
    e.sync_journal()
    e.close()

    with open_dir(data, T0 + 2_000) as again:
        assert again.checkpoint_verifier_key() == key, "the signing key is kept"
        assert len(again.audit()) == records and again.verify_audit() == head
        assert again.snapshot("prod@r2") == r2
        assert again.cluster("prod", now_ms=T0 + 1_000) == cluster, "cohesion and counts as before"
        assert again.node("n3", now_ms=T0 + 1_000) == n3, "the last report, restored without a heartbeat"
        assert again.history_start_ms == T0
        assert again.history("n0", to_ms=T0 + 1_000) == history
        ran = again.what_ran("n0", at_ms=T0 + 150)
        assert ran is not None and ran["snapshot"] == r1.id
        assert again.attest("prod", at_ms=T0 + 150) == attested, "the same moment, the same bytes"
        with pytest.raises(fleetgov.HistoryUnavailable):
            again.what_ran("n0", at_ms=T0 - 1)
        # An enrolled node heartbeats on without enrolling again, in the same slot.
        beat(again, "n0", T0 + 1_500, r2)
        assert again.enroll("n0", cluster="prod", at_ms=T0) == again.node_handle("n0")
        assert [again.node_handle(f"n{i}") & 0xFFFF_FFFF for i in range(4)] == [h & 0xFFFF_FFFF for h in handles]


def test_dropping_the_engine_releases_the_directory(tmp_path: Path) -> None:
    e = open_dir(tmp_path, T0)
    e.upsert_workspace("ws")
    e.upsert_cluster("c", workspace="ws", environment="staging")
    e.enroll("gw-1", cluster="c", at_ms=T0)
    del e  # no close(): the last reference going frees the engine and its lock
    with open_dir(tmp_path, T0) as again:
        assert again.cluster("c", now_ms=T0).total == 1


def test_a_directory_open_in_another_engine_is_a_conflict(tmp_path: Path) -> None:
    with open_dir(tmp_path, T0) as first:
        first.upsert_workspace("ws")
        with pytest.raises(fleetgov.Conflict, match="open in another engine") as info:
            fleetgov.Engine(data_dir=tmp_path)
        assert isinstance(info.value, ValueError) and info.value.code == "CONFLICT"
    with fleetgov.Engine(data_dir=str(tmp_path)) as second:
        assert len(second.audit()) == 1, "the first engine's record, kept"


def test_engine_arguments_of_a_data_directory(tmp_path: Path) -> None:
    with pytest.raises(fleetgov.InvalidInput, match="one audit log") as info:
        fleetgov.Engine(audit_path=tmp_path / "audit.log", data_dir=tmp_path / "data")
    assert info.value.code == "INVALID_INPUT"
    with pytest.raises(fleetgov.InvalidInput, match="need a data_dir"):
        fleetgov.Engine(journal_interval_ms=100)
    with pytest.raises(fleetgov.InvalidInput, match="at least 1 ms"):
        fleetgov.Engine(data_dir=tmp_path, journal_interval_ms=0)
    with pytest.raises(fleetgov.InvalidType):
        fleetgov.Engine(data_dir=3)  # type: ignore[arg-type]
    with pytest.raises(fleetgov.InvalidInput, match="FORMAT"):
        (tmp_path / "stray").mkdir()
        (tmp_path / "stray" / "notes.txt").write_text("not an engine's")
        fleetgov.Engine(data_dir=tmp_path / "stray")
    with fleetgov.Engine(clock_ms=T0) as memory:
        memory.sync_journal()  # nothing to sync
        assert memory.verify_journal() == {"sealed_segments": 0, "sealed_transitions": 0}
        assert memory.journal_failure is None and "in memory" in repr(memory)


def test_sealed_journal_segments_are_checked(tmp_path: Path) -> None:
    e = open_dir(tmp_path, T0 + 1_000, journal_segment_len=4)
    e.upsert_workspace("ws")
    e.upsert_cluster("prod", workspace="ws", environment="production")
    r1, r2 = e.publish("prod", b"1", actor="alice", at_ms=T0), e.publish("prod", b"2", actor="alice", at_ms=T0)
    e.enroll("n", cluster="prod", at_ms=T0)
    for i in range(10):
        beat(e, "n", T0 + i, r1 if i % 2 == 0 else r2)
    e.sync_journal()
    seals = [r["target"] for r in e.audit() if r["action"] == "seal_journal"]
    assert seals == ["journal:0", "journal:4"]
    assert e.verify_journal() == {"sealed_segments": 2, "sealed_transitions": 8}
    assert e.journal_failure is None
    segment = tmp_path / "journal" / "0000000004.seg"
    data = bytearray(segment.read_bytes())
    data[-5] ^= 1
    segment.write_bytes(bytes(data))
    with pytest.raises(fleetgov.AuditTampered, match="0000000004.seg"):
        e.verify_journal()
    e.close()
    with pytest.raises(fleetgov.AuditTampered, match="0000000004.seg"):
        open_dir(tmp_path, T0 + 1_000, journal_segment_len=4)


def test_history_is_kept_for_the_retention_and_compacted_behind_it(tmp_path: Path) -> None:
    hour, data = 3_600_000, tmp_path / "data"
    e = fleetgov.Engine(data_dir=data, clock_ms=T0, journal_interval_ms=10, journal_segment_len=2, retention_ms=hour)
    e.upsert_workspace("ws")
    e.upsert_cluster("prod", workspace="ws", environment="production")
    r1 = e.publish("prod", b"one", actor="alice", at_ms=T0)
    r2 = e.publish("prod", b"two", actor="alice", at_ms=T0)
    e.enroll("n", cluster="prod", at_ms=T0)
    for i in range(10):  # a change every 10 minutes
        at = T0 + (i + 1) * 600_000
        e.set_clock(at)
        beat(e, "n", at, r1 if i % 2 == 0 else r2)
    now = e.clock_ms
    horizon = now - hour
    history = e.history("n", from_ms=horizon)
    assert e.history_start_ms == horizon
    with pytest.raises(fleetgov.HistoryUnavailable, match=f"retention horizon \\({horizon} ms"):
        e.what_ran("n", at_ms=horizon - 1)
    e.close()  # the journal writer compacts behind the horizon on the way out

    with fleetgov.Engine(data_dir=data, clock_ms=now, retention_ms=hour) as again:
        assert any(r["action"] == "compact_journal" for r in again.audit())
        again.verify_journal()
        assert again.history("n", from_ms=horizon) == history, "every answer within the horizon is kept"
        ran = again.what_ran("n", at_ms=horizon)
        assert ran is not None and (ran["snapshot"], ran["since_ms"]) == (r2.id, horizon)
        with pytest.raises(fleetgov.HistoryUnavailable):
            again.fleet_at("prod", at_ms=horizon - 1)
    with pytest.raises(fleetgov.InvalidInput, match="retention"):
        fleetgov.Engine(retention_ms=0)


def test_history_of_a_node_in_ranges(prod: fleetgov.Engine) -> None:
    r1 = prod.publish("prod", b"1", actor="alice", at_ms=T0)
    r2 = prod.publish("prod", b"2", actor="alice", at_ms=T0)
    prod.enroll("n", cluster="prod", at_ms=T0)
    prod.set_clock(T0 + 1_000)
    beat(prod, "n", T0 + 10, r1)
    beat(prod, "n", T0 + 20, r1)  # steady state: no change
    beat(prod, "n", T0 + 30, r2)
    beat(prod, "n", T0 + 40, r2, hash="cd" * 32)
    everything = prod.history("n")
    assert everything == [
        {"at_ms": T0 + 10, "snapshot": r1.id, "hash": r1.hash, "verified": True},
        {"at_ms": T0 + 30, "snapshot": r2.id, "hash": r2.hash, "verified": True},
        {"at_ms": T0 + 40, "snapshot": r2.id, "hash": "cd" * 32, "verified": False},
    ]
    assert prod.history("n", from_ms=prod.history_start_ms, to_ms=prod.clock_ms) == everything
    assert prod.history("n", from_ms=T0 + 30, to_ms=T0 + 40) == everything[1:], "both ends included"
    assert prod.history("n", from_ms=T0 + 11, to_ms=T0 + 29) == []
    assert prod.history("n", to_ms=T0 + 10) == everything[:1]
    with pytest.raises(fleetgov.InvalidInput, match="start is after the end"):
        prod.history("n", from_ms=T0 + 2, to_ms=T0 + 1)
    with pytest.raises(fleetgov.FutureTime):
        prod.history("n", to_ms=T0 + 1_001)
    with pytest.raises(fleetgov.HistoryUnavailable):
        prod.history("n", from_ms=T0 - 1)
    with pytest.raises(fleetgov.NotFound):
        prod.history("nope")
    with pytest.raises(fleetgov.InvalidType):
        prod.history("n", from_ms="yesterday")  # type: ignore[arg-type]


def test_enroll_many_is_all_or_nothing(prod: fleetgov.Engine) -> None:
    prod.upsert_cluster("dev", workspace="ws", environment="development")
    handles = prod.enroll_many([("a", "prod"), ("b", "prod"), ("c", "dev")], at_ms=T0)
    assert handles == [prod.node_handle(n) for n in ("a", "b", "c")]
    assert prod.enroll_many((p for p in [("a", "prod"), ("d", "dev")])) == [handles[0], prod.node_handle("d")]
    assert prod.enroll_many([]) == []

    refused: list[tuple[type[fleetgov.FleetError], list[tuple[str, str]]]] = [
        (fleetgov.NotFound, [("x", "prod"), ("y", "nope")]),
        (fleetgov.Conflict, [("x", "prod"), ("a", "dev")]),  # a is enrolled in prod
        (fleetgov.Conflict, [("x", "prod"), ("x", "dev")]),  # listed in two clusters
        (fleetgov.InvalidInput, [("x", "prod"), ("", "prod")]),
    ]
    for error, pairs in refused:
        with pytest.raises(error):
            prod.enroll_many(pairs, at_ms=T0)
        with pytest.raises(fleetgov.NotFound):
            prod.node_handle("x")
    assert prod.cluster("prod", now_ms=T0).total == 2 and prod.cluster("dev", now_ms=T0).total == 2

    for bad in (["x", "prod"], [("x",)], [("x", "prod", "more")], [("x", 1)], 7):
        with pytest.raises(fleetgov.InvalidType):
            prod.enroll_many(bad)  # type: ignore[arg-type]
    with pytest.raises(fleetgov.InvalidType, match=r"nodes\[1\]"):
        prod.enroll_many([("x", "prod"), ["y", "prod"]])  # type: ignore[list-item]
