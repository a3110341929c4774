"""Every exception class: its place in the hierarchy, its code, and a real way
the engine raises it (JustificationRequired, PermissionDenied, AuditTampered
and StorageError are raised for real in test_governance.py, FutureTime and
HistoryUnavailable by every history call in test_verdicts.py)."""

from __future__ import annotations

import pickle
import time
import typing

import pytest
from model import T0

import fleetgov
from fleetgov import exceptions

BUILTIN_BASE = {
    fleetgov.InvalidInput: ValueError,
    fleetgov.InvalidType: TypeError,
    fleetgov.NotFound: KeyError,
    fleetgov.Conflict: ValueError,
    fleetgov.FutureHeartbeat: ValueError,
    fleetgov.FutureTime: ValueError,
    fleetgov.HistoryUnavailable: LookupError,
    fleetgov.JustificationRequired: ValueError,
    fleetgov.PermissionDenied: PermissionError,
    fleetgov.StorageError: OSError,
    fleetgov.EngineClosed: ValueError,
    fleetgov.InternalError: RuntimeError,
    fleetgov.StaleHeartbeat: None,
    fleetgov.AuditTampered: None,
    fleetgov.ReloadFailure: None,  # raised by the node agent, which Python does not embed
}


def test_every_exported_exception_is_listed_here() -> None:
    exported = {getattr(exceptions, name) for name in exceptions.__all__}
    errors = {e for e in exported if isinstance(e, type) and issubclass(e, fleetgov.FleetError)}
    assert errors - {fleetgov.FleetError} == set(BUILTIN_BASE)
    # The one exception outside FleetError is Ctrl-C during an ingest, a KeyboardInterrupt.
    others = {e for e in exported if isinstance(e, type)} - errors
    assert others == {fleetgov.IngestInterrupted}
    assert issubclass(fleetgov.IngestInterrupted, KeyboardInterrupt)
    assert not issubclass(fleetgov.IngestInterrupted, Exception)


def test_every_code_is_a_value_of_error_code() -> None:
    assert set(typing.get_args(fleetgov.ErrorCode)) == {cls.code for cls in BUILTIN_BASE} | {fleetgov.FleetError.code}


@pytest.mark.parametrize("cls", list(BUILTIN_BASE), ids=lambda c: c.__name__)
def test_hierarchy_and_codes(cls: type[fleetgov.FleetError]) -> None:
    assert issubclass(cls, fleetgov.FleetError)
    assert issubclass(cls, Exception)
    builtin = BUILTIN_BASE[cls]
    if builtin is not None:
        assert issubclass(cls, builtin)
    else:
        assert cls.__bases__ == (fleetgov.FleetError,)
    assert cls.code.isupper() and cls.code != fleetgov.FleetError.code
    assert getattr(fleetgov, cls.__name__) is cls
    if cls is fleetgov.InvalidType:  # a wrong Python type is invalid input too
        assert fleetgov.InvalidType.__bases__ == (fleetgov.InvalidInput, TypeError)
        assert fleetgov.InvalidType.code == "INVALID_INPUT"


def test_the_issue_contract_bases_exactly() -> None:
    assert fleetgov.InvalidInput.__bases__ == (fleetgov.FleetError, ValueError)
    assert fleetgov.NotFound.__bases__ == (fleetgov.FleetError, KeyError)
    assert fleetgov.JustificationRequired.__bases__ == (fleetgov.FleetError, ValueError)
    assert fleetgov.PermissionDenied.__bases__ == (fleetgov.FleetError, PermissionError)
    assert fleetgov.AuditTampered.__bases__ == (fleetgov.FleetError,)


def test_codes_are_distinct() -> None:
    codes = [cls.code for cls in BUILTIN_BASE if cls is not fleetgov.InvalidType]
    assert len(set(codes)) == len(codes)


def test_not_found_reads_like_the_others(fleet: fleetgov.Engine) -> None:
    with pytest.raises(KeyError) as info:
        fleet.cluster("nope", now_ms=T0)
    e = info.value
    assert isinstance(e, fleetgov.NotFound) and e.code == "NOT_FOUND"
    assert str(e) == "cluster 'nope' not found"  # no KeyError quoting


def test_exceptions_pickle_with_their_code(fleet: fleetgov.Engine) -> None:
    with pytest.raises(fleetgov.NotFound) as info:
        fleet.node("gw-x", now_ms=T0)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is fleetgov.NotFound
    assert (copy.code, str(copy)) == ("NOT_FOUND", str(info.value))


# ---- one real trigger per class ------------------------------------------


def test_invalid_input(fleet: fleetgov.Engine) -> None:
    for bad in ["", " ", "has space", "x" * 129, "naïve"]:
        with pytest.raises(fleetgov.InvalidInput):
            fleet.upsert_workspace(bad)
    with pytest.raises(ValueError, match="environment"):
        fleet.upsert_cluster("c", workspace="ws-1", environment="moon")  # type: ignore[arg-type]
    with pytest.raises(fleetgov.InvalidInput, match="authority mode"):
        fleet.upsert_workspace("ws-2", authority_mode="anarchy")  # type: ignore[arg-type]
    with pytest.raises(fleetgov.InvalidInput, match="semver"):
        fleet.upsert_workspace("ws-2", min_runtime_version="three")
    with pytest.raises(fleetgov.InvalidInput):
        fleet.publish("eks-prod-us", b"", actor="alice", at_ms=T0)
    with pytest.raises(fleetgov.InvalidInput):
        fleet.publish("eks-prod-us", b"x", actor="  ", at_ms=T0)
    with pytest.raises(fleetgov.InvalidInput, match="at_ms"):
        fleet.publish("eks-prod-us", b"x", actor="alice", at_ms=-1)


def test_not_found(fleet: fleetgov.Engine) -> None:
    with pytest.raises(fleetgov.NotFound):
        fleet.upsert_cluster("c", workspace="ws-missing", environment="staging")
    with pytest.raises(fleetgov.NotFound):
        fleet.enroll("gw-1", cluster="missing", at_ms=T0)
    with pytest.raises(fleetgov.NotFound):
        fleet.heartbeat("gw-missing", at_ms=T0, runtime_version="3.5.0")
    with pytest.raises(fleetgov.NotFound):
        fleet.fleet("ws-missing", now_ms=T0)
    with pytest.raises(fleetgov.NotFound):
        fleet.snapshot("eks-prod-us@r7")
    with pytest.raises(fleetgov.NotFound):
        fleet.artifact("ab" * 32)


def test_conflict(fleet: fleetgov.Engine) -> None:
    fleet.upsert_workspace("ws-2")
    fleet.upsert_cluster("gke-stage-eu", workspace="ws-2", environment="staging")
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    with pytest.raises(fleetgov.Conflict, match="eks-prod-us"):
        fleet.enroll("gw-1", cluster="gke-stage-eu", at_ms=T0)
    with pytest.raises(fleetgov.Conflict):
        fleet.upsert_cluster("gke-stage-eu", workspace="ws-1", environment="staging")


def test_stale_heartbeat_changes_nothing(fleet: fleetgov.Engine) -> None:
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    fleet.heartbeat("gw-1", at_ms=T0 + 10, runtime_version="3.5.0", cpu=10.0)
    with pytest.raises(fleetgov.StaleHeartbeat):
        fleet.heartbeat("gw-1", at_ms=T0 + 9, runtime_version="3.5.0", cpu=90.0)
    n = fleet.node("gw-1", now_ms=T0 + 10)
    assert (n.last_heartbeat_ms, n.cpu) == (T0 + 10, 10.0)


def test_future_heartbeat(fleet: fleetgov.Engine) -> None:
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    ahead = int(time.time() * 1000) + 60 * 60 * 1000
    with pytest.raises(fleetgov.FutureHeartbeat):
        fleet.heartbeat("gw-1", at_ms=ahead, runtime_version="3.5.0")
    assert fleet.node("gw-1", now_ms=T0).health == "never"


def test_future_time_and_history_unavailable(fleet: fleetgov.Engine) -> None:
    now = int(time.time() * 1000)
    with pytest.raises(fleetgov.FutureTime, match="after the engine's clock"):
        fleet.attest("eks-prod-us", at_ms=now + 60 * 60 * 1000)
    with pytest.raises(fleetgov.HistoryUnavailable, match="before the start of the retained history"):
        fleet.fleet_at("eks-prod-us", at_ms=T0)  # the engine began at the system clock's now


def test_engine_closed() -> None:
    e = fleetgov.Engine()
    e.upsert_workspace("ws-1")
    assert not e.closed
    e.close()
    e.close()  # idempotent
    assert e.closed and "closed" in repr(e)
    for call in (lambda: e.upsert_workspace("ws-2"), lambda: e.fleet("ws-1"), e.cluster_ids):
        with pytest.raises(fleetgov.EngineClosed):
            call()


def test_engine_closes_on_leaving_a_with_block() -> None:
    with fleetgov.Engine() as e:
        e.upsert_workspace("ws-1")
    assert e.closed


def test_wrong_python_types_are_type_errors(fleet: fleetgov.Engine) -> None:
    with pytest.raises(fleetgov.InvalidType, match="expected bytes or bytearray, got str 'not bytes'"):
        fleet.publish("eks-prod-us", "not bytes", actor="alice")  # type: ignore[arg-type]
    # A call that does not match the signature stays Python's own TypeError.
    with pytest.raises(TypeError):
        fleet.heartbeat("gw-1")  # type: ignore[call-arg]


def test_a_rust_panic_is_an_internal_error_and_the_engine_lives_on(fleet: fleetgov.Engine) -> None:
    from fleetgov import _native

    with pytest.raises(fleetgov.InternalError, match="boom at the boundary") as info:
        _native._boundary_self_test("boom at the boundary")
    assert isinstance(info.value, RuntimeError) and info.value.code == "INTERNAL"
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    assert fleet.cluster("eks-prod-us", now_ms=T0).total == 1
