"""The audit log as Arrow for incident tooling: time as a timestamp, the
event as JSON text, the configuration bytes of a publish apart."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pyarrow as pa
from model import T0

import fleetgov

REASON = "Rollback due to failed deployment"


def test_audit_table_has_timestamps_and_decoded_events(fleet: fleetgov.Engine) -> None:
    s = fleet.publish("eks-prod-us", b"rate_limit: 1000", actor="alice", at_ms=T0)
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    fleet.force_sync(node="gw-1", actor="bob", role="operator", reason=REASON, at_ms=T0 + 5)
    t = fleet.audit_table()
    table = pa.table(t)
    assert len(t) == table.num_rows == len(fleet.audit()) == 4 and "AuditTable" in repr(t)
    assert table.schema.field("time").type == pa.timestamp("ms", tz="UTC")
    rows = table.to_pylist()
    assert [r["seq"] for r in rows] == [0, 1, 2, 3]
    assert [r["action"] for r in rows] == ["upsert_workspace", "upsert_cluster", "publish", "force_sync_node"]
    publish, force = rows[2], rows[3]
    assert publish["time"] == dt.datetime.fromtimestamp(T0 / 1000, tz=dt.UTC)
    assert json.loads(publish["event"])["event"] == "publish" and publish["config"] == b"rate_limit: 1000"
    assert s.id in publish["event"]
    assert (force["actor"], force["role"], force["target"], force["justification"]) == ("bob", "operator", "node:gw-1", REASON)
    assert json.loads(force["event"]) == {"event": "force", "target": "node:gw-1"} and force["config"] is None
    # The same records as audit(), field by field.
    for row, record in zip(rows, fleet.audit(), strict=True):
        assert (row["seq"], row["actor"], row["target"], row["payload_hash"], row["prev_hash"]) == (
            record["seq"], record["actor"], record["target"], record["payloadHash"], record["prevHash"],
        )
        assert row["time"] == dt.datetime.fromtimestamp(record["timeMs"] / 1000, tz=dt.UTC)
    relation = duckdb.sql("select actor, count(*) from t where action like 'force%' group by actor")
    assert relation is not None
    overrides = relation.fetchall()
    assert overrides == [("bob", 1)]


def test_audit_payload_is_bytes(fleet: fleetgov.Engine) -> None:
    fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    record = fleet.audit()[-1]
    line, _, config = record["payload"].partition(b"\n")
    assert json.loads(line)["event"] == "publish" and config == b"v1"
