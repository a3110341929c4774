"""Every bad argument is a FleetError with a message that says what was
wrong: wrong Python types, integers out of range, text that is not Unicode,
metrics a 32-bit float cannot hold."""

from __future__ import annotations

from typing import Any

import pytest
from model import T0

import fleetgov


@pytest.fixture
def gw(fleet: fleetgov.Engine) -> fleetgov.Engine:
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    return fleet


@pytest.mark.parametrize("value", [2**64, 2**100, -(2**64), -1])
@pytest.mark.parametrize("name", ["at_ms", "now_ms"])
def test_times_out_of_range_are_invalid_input(gw: fleetgov.Engine, name: str, value: int) -> None:
    call: Any = {"at_ms": lambda v: gw.heartbeat("gw-1", at_ms=v, runtime_version="3.5.0"), "now_ms": lambda v: gw.node("gw-1", now_ms=v)}[name]
    with pytest.raises(fleetgov.InvalidInput, match=rf"{name} \(unix milliseconds\) must be from 0 to 2\*\*64-1, got int {value}") as info:
        call(value)
    assert type(info.value) is fleetgov.InvalidInput


@pytest.mark.parametrize("value", [1.5, "1000", b"1"])
def test_times_of_the_wrong_type_are_invalid_type(gw: fleetgov.Engine, value: object) -> None:
    with pytest.raises(fleetgov.InvalidType, match=r"at_ms \(unix milliseconds\) must be an int, got (float|str|bytes)") as info:
        gw.publish("eks-prod-us", b"v1", actor="alice", at_ms=value)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError) and isinstance(info.value, fleetgov.FleetError)
    assert info.value.code == "INVALID_INPUT"


def test_a_float_node_is_invalid_type_naming_both_forms(gw: fleetgov.Engine) -> None:
    with pytest.raises(fleetgov.InvalidType, match=r"expected a node id \(str\) or handle \(int\), got float 1.5"):
        gw.heartbeat(1.5, at_ms=T0, runtime_version="3.5.0")  # type: ignore[arg-type]
    with pytest.raises(fleetgov.InvalidInput, match="a node handle must be from 0 to 2\\*\\*64-1"):
        gw.heartbeat(2**64, at_ms=T0, runtime_version="3.5.0")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: e.cluster(7, now_ms=T0), "expected a str, got int 7"),
        (lambda e: e.upsert_workspace(None), "expected a str, got NoneType None"),
        (lambda e: e.upsert_cluster("c", workspace="ws-1", environment=3), "expected a str, got int 3"),
        (lambda e: e.upsert_cluster("c", workspace="ws-1", environment="dev", auto_reconcile=1), "expected a bool, got int 1"),
        (lambda e: e.heartbeat("gw-1", at_ms=T0, runtime_version="3.5.0", cpu="high"), "a metric must be a float, got str 'high'"),
        (lambda e: e.heartbeat("gw-1", at_ms=T0, runtime_version="3.5.0", hot_swap_errors=1.0), "an int must be an int, got float 1.0"),
        (lambda e: e.cluster_nodes("eks-prod-us", limit="ten"), "an int must be an int, got str 'ten'"),
        (lambda e: fleetgov.Engine(audit_path=42), r"expected a path \(str or os.PathLike\), got int 42"),  # type: ignore[arg-type]
        (lambda e: fleetgov.pack_version(3.5), "expected a str, got float 3.5"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_are_invalid_type(gw: fleetgov.Engine, call: Any, message: str) -> None:
    with pytest.raises(fleetgov.InvalidType, match=message) as info:
        call(gw)
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"hot_swap_errors": 2**32}, r"an int must be from 0 to 2\*\*32-1, got int 4294967296"),
        ({"hot_swap_errors": -1}, r"an int must be from 0 to 2\*\*32-1, got int -1"),
        ({"tps": 1e39}, r"a metric must be at most 3.4028235e38 \(a 32-bit float\), got 1e39"),
    ],
)
def test_numbers_out_of_range_are_invalid_input(gw: fleetgov.Engine, kw: dict[str, Any], message: str) -> None:
    with pytest.raises(fleetgov.InvalidInput, match=message):
        gw.heartbeat("gw-1", at_ms=T0, runtime_version="3.5.0", **kw)
    with pytest.raises(fleetgov.InvalidInput, match="an int must be from 0"):
        gw.cluster_nodes("eks-prod-us", offset=-1)


def test_text_that_is_not_unicode_is_refused_not_altered(gw: fleetgov.Engine) -> None:
    with pytest.raises(fleetgov.InvalidInput, match="not valid Unicode") as info:
        gw.force_sync(node="gw-1", actor="bob", role="operator", reason="fix \ud800 now")
    assert not isinstance(info.value, UnicodeError)
    assert [r["action"] for r in gw.audit()].count("force_sync_node") == 0


def test_the_argument_is_named_in_a_note(gw: fleetgov.Engine) -> None:
    with pytest.raises(fleetgov.InvalidType) as info:
        gw.heartbeat("gw-1", at_ms=T0, runtime_version=350)  # type: ignore[arg-type]
    assert any("runtime_version" in note for note in getattr(info.value, "__notes__", []))
