"""What mypy --strict says about code that uses fleetgov: misspelt enumerated
arguments, a str handed to ingest, and the shapes of dict results are caught
before the code runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api

USER_CODE = textwrap.dedent(
    """
    import fleetgov
    from typing import assert_type

    e = fleetgov.Engine()
    e.upsert_cluster("c", workspace="ws-1", environment="prodution")  # line 6
    e.force_sync(node="gw-1", actor="bob", role="operater", reason="x")  # line 7
    e.ingest("not records")  # line 8
    e.heartbeat("gw-1", runtime_version="3.5.0", process_status="sleepy")  # line 9
    e.upsert_workspace("ws-1", authority_mode="anarchy")  # line 10
    e.publish("c", b"x", actor="a", rollout={"waves": [100], "bake_ms": 0, "max_failure_pct": 0.0, "rollback": True})
    inventory = e.fleet("ws-1")
    assert_type(inventory["summary"]["total"], int)
    assert_type(e.audit()[0]["action"], fleetgov.types.AuditAction)
    assert_type(e.force_global(actor="root", role="admin", reason="y")["timeMs"], int)
    assert_type(fleetgov.FleetError("x").code, fleetgov.ErrorCode)
    assert_type(e.node("gw-1").to_dict()["drift"], fleetgov.types.Drift)
    assert_type(e.node("gw-1").heartbeat_age_ms, int | None)
    assert_type(e.cluster("c").cohesion_bp, int)
    assert_type(e.what_ran("gw-1", at_ms=0), fleetgov.types.AppliedAt | None)
    assert_type(e.attest("c")["nodes"][0]["since_ms"], int)
    assert_type(e.history("gw-1", from_ms=0)[0]["verified"], bool)
    assert_type(e.enroll_many([("gw-1", "c")], at_ms=0), list[int])
    assert_type(e.verify_journal()["sealed_segments"], int)
    assert_type(fleetgov.open_checkpoint(e.checkpoint(), "key")["root"], str)
    assert_type(e.inclusion_proof(0).to_dict()["path"], list[str])
    rollout = e.rollout("c")
    assert rollout is not None
    assert_type(rollout.state, fleetgov.types.RolloutState)
    assert_type(rollout.per_wave[0].started_ms, int | None)
    assert_type(rollout.to_dict()["per_wave"][0]["on_target"], int)
    assert_type(e.pause_rollout("c", actor="bob", role="operator", reason="z")["action"], fleetgov.types.AuditAction)


    def count() -> int:  # with __exit__ -> bool, mypy reports a missing return here
        with e:
            return len(e.cluster_ids())
    """
)


def test_mypy_strict_catches_misuse(tmp_path: Path) -> None:
    source = tmp_path / "user.py"
    source.write_text(USER_CODE)
    out, err, status = api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(source)])
    lines = {int(line.split(":")[1]) for line in out.splitlines() if line.startswith(str(source)) and ": error:" in line}
    assert lines == {6, 7, 8, 9, 10, 11}, out + err
    assert status == 1
