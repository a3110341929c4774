"""The limits of the README's "Limits": the engine's, reported as the Java
binding reports them (the same messages), every kind of space in an id the
same refusal, the capacity named in Python's terms."""

from __future__ import annotations

import pytest
from model import T0

import fleetgov


@pytest.mark.parametrize("node", ["", " ", "\u3000", "\u00a0", "\u2007", "\t", "gw 1", "n" * 129])
def test_every_ill_formed_id_is_invalid_input(fleet: fleetgov.Engine, node: str) -> None:
    with pytest.raises(fleetgov.InvalidInput, match="node id"):
        fleet.enroll(node, cluster="eks-prod-us", at_ms=T0)


def test_the_longest_id_and_the_whole_alphabet_are_accepted(fleet: fleetgov.Engine) -> None:
    fleet.enroll("n" * 128, cluster="eks-prod-us", at_ms=T0)
    fleet.enroll("gw-eu_1.a:b", cluster="eks-prod-us", at_ms=T0)


def test_unicode_spaces_are_refused_with_one_message(fleet: fleetgov.Engine) -> None:
    messages = set()
    for node in ("\u3000", "\u00a0", " "):
        with pytest.raises(fleetgov.InvalidInput) as info:
            fleet.enroll(node, cluster="eks-prod-us", at_ms=T0)
        messages.add(str(info.value))
    assert messages == {"node id is blank"}


@pytest.mark.parametrize("capacity", [0, 2**32, 2**40])
def test_a_capacity_out_of_range_is_invalid_input(capacity: int) -> None:
    with pytest.raises(fleetgov.InvalidInput, match=rf"capacity is {capacity} nodes; it must be between 1 and 4294967295"):
        fleetgov.Engine(capacity=capacity)


def test_a_full_engine_names_its_capacity_in_python_terms() -> None:
    with fleetgov.Engine(capacity=1, clock_ms=T0) as e:
        e.upsert_workspace("w")
        e.upsert_cluster("c", workspace="w", environment="development")
        e.enroll("n1", cluster="c", at_ms=T0)
        with pytest.raises(fleetgov.InvalidInput) as info:
            e.enroll("n2", cluster="c", at_ms=T0)
        assert str(info.value) == "the engine is full: capacity is 1 nodes (raise Engine(capacity=...))"


def test_actors_and_owner_teams_hold_up_to_256_bytes(fleet: fleetgov.Engine) -> None:
    fleet.publish("eks-prod-us", b"a", actor="a" * 256, at_ms=T0)
    for actor in ("a" * 257, "\u200b", "\u3000", "bob\n"):
        with pytest.raises(fleetgov.InvalidInput):
            fleet.publish("eks-prod-us", b"a", actor=actor, at_ms=T0)
    fleet.upsert_cluster("c2", workspace="ws-1", environment="staging", owner_team="t" * 256)
    with pytest.raises(fleetgov.InvalidInput):
        fleet.upsert_cluster("c3", workspace="ws-1", environment="staging", owner_team="t" * 257)


def test_a_configuration_over_16_mib_is_refused(fleet: fleetgov.Engine) -> None:
    with pytest.raises(fleetgov.InvalidInput, match="larger than 16777216 bytes"):
        fleet.publish("eks-prod-us", bytes(16 << 20), actor="alice", at_ms=T0)


def test_a_sync_error_detail_keeps_its_first_47_bytes(fleet: fleetgov.Engine) -> None:
    fleet.enroll("gw-1", cluster="eks-prod-us", at_ms=T0)
    fleet.heartbeat("gw-1", at_ms=T0, runtime_version="3.5.0", sync_error="FETCH_TIMEOUT: " + "\u00e9" * 40)
    assert fleet.node("gw-1", now_ms=T0).last_sync_error == "FETCH_TIMEOUT: " + "\u00e9" * 23
