"""Overrides with justification and role, and the verifiable audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from model import T0

import fleetgov

REASON = "Rollback due to failed deployment"


@pytest.fixture
def synced(fleet: fleetgov.Engine) -> fleetgov.Engine:
    s = fleet.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
    for n in ("gw-1", "gw-2"):
        fleet.enroll(n, cluster="eks-prod-us", at_ms=T0)
        fleet.heartbeat(n, at_ms=T0, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
    return fleet


def beat(e: fleetgov.Engine, node: str, at_ms: int) -> fleetgov.Directive | None:
    s = e.desired("eks-prod-us")
    assert s is not None
    return e.heartbeat(node, at_ms=at_ms, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")


def test_force_sync_of_a_node_is_audited_and_answered(synced: fleetgov.Engine) -> None:
    record = synced.force_sync(node="gw-1", actor="bob", role="operator", reason=REASON, at_ms=T0 + 1)
    assert (record["actor"], record["role"], record["action"], record["target"]) == ("bob", "operator", "force_sync_node", "node:gw-1")
    assert record["justification"] == REASON and record["timeMs"] == T0 + 1
    d = beat(synced, "gw-1", T0 + 2)
    assert d is not None and d.kind == "force_sync" and d.snapshot == "eks-prod-us@r1"
    assert beat(synced, "gw-1", T0 + 3) is None  # answered once
    assert beat(synced, "gw-2", T0 + 3) is None  # other nodes untouched
    assert synced.audit()[-1] == record


def test_force_sync_of_a_cluster_reaches_every_node(synced: fleetgov.Engine) -> None:
    synced.force_sync(cluster="eks-prod-us", actor="bob", role="admin", reason=REASON)
    kinds = [d.kind if (d := beat(synced, n, T0 + 5)) else None for n in ("gw-1", "gw-2")]
    assert kinds == ["force_sync", "force_sync"]


def test_no_justification_no_override(synced: fleetgov.Engine) -> None:
    before = len(synced.audit())
    for reason in ("", "   ", "\u3000\u00a0"):
        with pytest.raises(fleetgov.JustificationRequired) as info:
            synced.force_sync(node="gw-1", actor="bob", role="operator", reason=reason)
        assert isinstance(info.value, ValueError) and info.value.code == "JUSTIFICATION_REQUIRED"
    with pytest.raises(fleetgov.JustificationRequired):
        synced.force_global(workspace="ws-1", actor="root", role="admin", reason=" ")
    assert len(synced.audit()) == before
    assert beat(synced, "gw-1", T0 + 1) is None


def test_justification_that_is_not_valid_utf16_is_refused_not_replaced(synced: fleetgov.Engine) -> None:
    before = len(synced.audit())
    for reason in ("fix \ud800 and \x00 ok", "fix \ud800 ok", "fix \udc00 ok", "trailing \ud83d"):
        with pytest.raises(fleetgov.InvalidInput) as info:
            synced.force_sync(node="gw-1", actor="bob", role="operator", reason=reason)
        assert info.value.code == "INVALID_INPUT" and "lone surrogate" in str(info.value)
    with pytest.raises(fleetgov.InvalidInput):
        synced.force_sync(node="gw-1", actor="b\ud800b", role="operator", reason=REASON)
    assert len(synced.audit()) == before
    exact = "R\u00fcckrollen \U0001f680 nach \u5931\u8d25 \u200bok"
    record = synced.force_sync(node="gw-1", actor="Zo\u00eb", role="operator", reason=exact)
    assert record["justification"] == exact and record["actor"] == "Zo\u00eb"


def test_invisible_only_justification_is_refused(synced: fleetgov.Engine) -> None:
    before = len(synced.audit())
    for reason in ("\u200b", "\ufeff", "\u00a0", "\u3000", "\u200b\u2060\u00a0\u3000\ufeff"):
        with pytest.raises(fleetgov.JustificationRequired):
            synced.force_sync(node="gw-1", actor="bob", role="operator", reason=reason)
    for reason in ("\x00", "line1\nline2\x00", "tab\there", "c1\x85", "j" * 4097):
        with pytest.raises(fleetgov.InvalidInput) as info:
            synced.force_sync(node="gw-1", actor="bob", role="operator", reason=reason)
        assert info.value.code == "INVALID_INPUT"
    with pytest.raises(fleetgov.InvalidInput):
        synced.upsert_cluster("c9", workspace="ws-1", environment="staging", owner_team="t" * 100_000)
    assert len(synced.audit()) == before
    assert beat(synced, "gw-1", T0 + 1) is None


def test_roles_are_enforced(synced: fleetgov.Engine) -> None:
    with pytest.raises(fleetgov.PermissionDenied) as info:
        synced.force_sync(node="gw-1", actor="eve", role="viewer", reason=REASON)
    assert isinstance(info.value, PermissionError) and info.value.code == "PERMISSION_DENIED"
    with pytest.raises(PermissionError):
        synced.force_global(workspace="ws-1", actor="bob", role="operator", reason="Emergency disaster recovery")
    with pytest.raises(fleetgov.InvalidInput, match="role"):
        synced.force_sync(node="gw-1", actor="bob", role="overlord", reason=REASON)  # type: ignore[arg-type]
    with pytest.raises(fleetgov.InvalidInput, match="actor"):
        synced.force_sync(node="gw-1", actor=" ", role="admin", reason=REASON)
    assert beat(synced, "gw-1", T0 + 1) is None


def test_force_global_by_an_admin(synced: fleetgov.Engine) -> None:
    r = synced.force_global(workspace="ws-1", actor="root", role="admin", reason="Emergency disaster recovery")
    assert (r["action"], r["target"]) == ("global_overwrite", "workspace:ws-1")
    assert synced.force_global(actor="root", role="admin", reason="Emergency disaster recovery")["target"] == "fleet"
    d = beat(synced, "gw-2", T0 + 1)
    assert d is not None and d.kind == "force_sync"


def test_force_sync_argument_rules(synced: fleetgov.Engine) -> None:
    with pytest.raises(fleetgov.InvalidInput, match="exactly one"):
        synced.force_sync(actor="bob", role="operator", reason=REASON)
    with pytest.raises(fleetgov.InvalidInput, match="exactly one"):
        synced.force_sync(node="gw-1", cluster="eks-prod-us", actor="bob", role="operator", reason=REASON)
    with pytest.raises(fleetgov.NotFound):
        synced.force_sync(node="gw-404", actor="bob", role="operator", reason=REASON)
    with pytest.raises(fleetgov.NotFound):
        synced.force_global(workspace="ws-404", actor="root", role="admin", reason=REASON)


def test_audit_is_oldest_first_and_verifies(synced: fleetgov.Engine) -> None:
    synced.force_sync(node="gw-1", actor="bob", role="operator", reason=REASON)
    records = synced.audit()
    assert [r["seq"] for r in records] == list(range(len(records)))
    assert [r["action"] for r in records[:3]] == ["upsert_workspace", "upsert_cluster", "publish"]
    head = synced.verify_audit()
    assert len(head) == 64 and int(head, 16) >= 0
    assert "fleetgov" in synced.checkpoint()
    synced.force_sync(node="gw-2", actor="bob", role="operator", reason=REASON)
    assert synced.verify_audit() != head


def test_a_durable_log_reopens_verified_with_the_authority_restored(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    with fleetgov.Engine(audit_path=path) as e:
        e.upsert_workspace("ws-1")
        e.upsert_cluster("eks-prod-us", workspace="ws-1", environment="production", owner_team="edge")
        s = e.publish("eks-prod-us", b"v1", actor="alice", at_ms=T0)
        head = e.verify_audit()
        count = len(e.audit())
    assert fleetgov.verify_audit_file(path) == head
    assert fleetgov.verify_audit_file(str(path)) == head
    with fleetgov.Engine(audit_path=str(path)) as again:
        assert again.desired("eks-prod-us") == s
        assert again.cluster("eks-prod-us", now_ms=T0).owner_team == "edge"
        assert again.verify_audit() == head and len(again.audit()) == count


def test_a_tampered_log_names_the_first_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    with fleetgov.Engine(audit_path=path) as e:
        e.upsert_workspace("ws-1")
        e.upsert_workspace("ws-2")
        e.upsert_workspace("ws-3")
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x01  # inside the last record
    path.write_bytes(bytes(data))
    with pytest.raises(fleetgov.AuditTampered, match="audit record 2") as info:
        fleetgov.verify_audit_file(path)
    assert info.value.code == "AUDIT_TAMPERED" and not isinstance(info.value, (ValueError, OSError))
    with pytest.raises(fleetgov.AuditTampered):
        fleetgov.Engine(audit_path=path)


def test_audit_file_errors(tmp_path: Path) -> None:
    # A file or directory that is not there is an OSError, as open() raises.
    with pytest.raises(fleetgov.StorageError, match="missing.log: no such file") as missing:
        fleetgov.verify_audit_file(tmp_path / "missing.log")
    assert isinstance(missing.value, OSError) and not isinstance(missing.value, KeyError)
    with pytest.raises(fleetgov.StorageError, match="directory does not exist") as no_dir:
        fleetgov.Engine(audit_path=tmp_path / "no-such-dir" / "audit.log")
    assert isinstance(no_dir.value, OSError) and no_dir.value.code == "IO"
    with pytest.raises(fleetgov.StorageError) as info:
        fleetgov.Engine(audit_path=tmp_path)  # a directory
    assert isinstance(info.value, OSError) and info.value.code == "IO"


def test_unenroll_removes_a_node_audited_and_refuses_its_heartbeats(synced: fleetgov.Engine) -> None:
    with pytest.raises(fleetgov.PermissionDenied):
        synced.unenroll("gw-2", actor="vic", role="viewer", at_ms=T0 + 1)
    with pytest.raises(fleetgov.NotFound):
        synced.unenroll("ghost", actor="bob", role="operator", at_ms=T0 + 1)
    assert synced.cluster("eks-prod-us").total == 2
    record = synced.unenroll("gw-2", actor="bob", role="operator", at_ms=T0 + 1)
    assert (record["actor"], record["action"], record["target"]) == ("bob", "remove_node", "node:gw-2")
    assert synced.cluster("eks-prod-us").total == 1
    assert [n.id for n in synced.cluster_nodes("eks-prod-us")] == ["gw-1"]
    with pytest.raises(fleetgov.NotFound):
        beat(synced, "gw-2", T0 + 2)
    handle = synced.enroll("gw-2", cluster="eks-prod-us", at_ms=T0 + 3)
    assert handle == synced.node_handle("gw-2") and synced.cluster("eks-prod-us").total == 2


def test_audit_query_narrows_and_pages_like_the_http_one(synced: fleetgov.Engine) -> None:
    for i in range(3):
        synced.force_sync(node="gw-1", actor="bob", role="operator", reason=f"{REASON} {i}", at_ms=T0 + 10 + i)
    synced.force_sync(cluster="eks-prod-us", actor="ada", role="admin", reason=REASON, at_ms=T0 + 20)
    page = synced.audit_query(node="gw-1", limit=2)
    assert [r["justification"] for r in page["records"]] == [f"{REASON} 2", f"{REASON} 1"]
    assert page["nextBefore"] is not None
    older = synced.audit_query(node="gw-1", limit=2, before=page["nextBefore"])
    assert [r["justification"] for r in older["records"]] == [f"{REASON} 0"]
    both = synced.audit_query(cluster="eks-prod-us", action=["force_sync_node", "force_sync_cluster"])
    assert [r["actor"] for r in both["records"]] == ["ada", "bob", "bob", "bob"]
    assert [r["actor"] for r in synced.audit_query(actor="ada")["records"]] == ["ada"]
    timed = synced.audit_query(action="force_sync_node", from_ms=T0 + 11, to_ms=T0 + 11)["records"]
    assert [r["timeMs"] for r in timed] == [T0 + 11]
    with pytest.raises(fleetgov.InvalidInput):
        synced.audit_query(from_ms=T0 + 2, to_ms=T0 + 1)
    with pytest.raises(fleetgov.InvalidInput):
        synced.audit_query(action="no_such_action")  # type: ignore[arg-type]
    with pytest.raises(fleetgov.InvalidInput):
        synced.audit_query(limit=0)
    with pytest.raises(TypeError):
        synced.audit_query(action=3)  # type: ignore[arg-type]
