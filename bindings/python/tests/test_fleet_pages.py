"""``Engine.fleet`` filters and pages like the HTTP API's
``?health=&drift=&cluster=&limit=&cursor=``, and has a columnar form."""

from __future__ import annotations

import pytest
from model import MINUTE, T0

import fleetgov


@pytest.fixture
def two_clusters(fleet: fleetgov.Engine) -> fleetgov.Engine:
    """Five nodes in eks-prod-us (gw-0 .. gw-4), three in c2 (c2-0 .. c2-2):
    the even nodes of each heartbeat in sync, gw-4 an hour ago."""
    fleet.upsert_cluster("c2", workspace="ws-1", environment="staging")
    s1 = fleet.publish("eks-prod-us", b"one", actor="alice", at_ms=T0)
    s2 = fleet.publish("c2", b"two", actor="alice", at_ms=T0)
    for cluster, prefix, n, s in (("eks-prod-us", "gw", 5, s1), ("c2", "c2", 3, s2)):
        for i in range(n):
            fleet.enroll(f"{prefix}-{i}", cluster=cluster, at_ms=T0)
            if i % 2 == 0:
                at = T0 - 61 * MINUTE if f"{prefix}-{i}" == "gw-4" else T0
                fleet.heartbeat(f"{prefix}-{i}", at_ms=at, applied_snapshot=s.id, applied_hash=s.hash, runtime_version="3.5.0")
    return fleet


def ids(page: fleetgov.types.FleetInventory) -> list[str]:
    return [r["id"] for r in page["runtimes"]]


def test_without_arguments_every_runtime_is_on_one_page(two_clusters: fleetgov.Engine) -> None:
    page = two_clusters.fleet("ws-1", now_ms=T0)
    assert ids(page) == ["gw-0", "gw-1", "gw-2", "gw-3", "gw-4", "c2-0", "c2-1", "c2-2"]
    assert page["nextCursor"] is None
    assert page["summary"]["total"] == 8


def test_filters_select_by_health_drift_and_cluster(two_clusters: fleetgov.Engine) -> None:
    e = two_clusters
    assert ids(e.fleet("ws-1", now_ms=T0, health="never")) == ["gw-1", "gw-3", "c2-1"]
    assert ids(e.fleet("ws-1", now_ms=T0, health="dormant")) == ["gw-4"]
    assert ids(e.fleet("ws-1", now_ms=T0, drift="aligned")) == ["gw-0", "gw-2", "gw-4", "c2-0", "c2-2"]
    assert ids(e.fleet("ws-1", now_ms=T0, cluster="c2", drift="awaiting_sync")) == ["c2-1"]
    page = e.fleet("ws-1", now_ms=T0, cluster="c2")
    assert ids(page) == ["c2-0", "c2-1", "c2-2"]
    assert page["summary"]["total"] == 8, "the summary covers the whole workspace"


def test_pages_follow_the_cursor_to_the_end(two_clusters: fleetgov.Engine) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = two_clusters.fleet("ws-1", now_ms=T0, limit=3, cursor=cursor)
        assert len(page["runtimes"]) <= 3
        seen += ids(page)
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == ids(two_clusters.fleet("ws-1", now_ms=T0))


def test_a_filtered_page_counts_only_what_matches(two_clusters: fleetgov.Engine) -> None:
    first = two_clusters.fleet("ws-1", now_ms=T0, drift="aligned", limit=2)
    assert ids(first) == ["gw-0", "gw-2"]
    rest = two_clusters.fleet("ws-1", now_ms=T0, drift="aligned", cursor=first["nextCursor"])
    assert ids(rest) == ["gw-4", "c2-0", "c2-2"]
    assert rest["nextCursor"] is None


def test_the_columnar_form_holds_the_same_values(two_clusters: fleetgov.Engine) -> None:
    rows = two_clusters.fleet("ws-1", now_ms=T0, cluster="c2")
    columns = two_clusters.fleet("ws-1", now_ms=T0, cluster="c2", columnar=True)
    assert set(columns["runtimes"]) == set(rows["runtimes"][0])
    for key, values in columns["runtimes"].items():
        assert values == [r[key] for r in rows["runtimes"]], key  # type: ignore[literal-required]
    assert columns["summary"] == rows["summary"] and columns["nextCursor"] is None


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"health": "online"}, fleetgov.InvalidInput),
        ({"drift": "drifting"}, fleetgov.InvalidInput),
        ({"limit": 0}, fleetgov.InvalidInput),
        ({"limit": -1}, fleetgov.InvalidInput),
        ({"cursor": "page-2"}, fleetgov.InvalidInput),
        ({"cluster": "nope"}, fleetgov.NotFound),
    ],
)
def test_bad_filters_are_refused(two_clusters: fleetgov.Engine, arguments: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        two_clusters.fleet("ws-1", now_ms=T0, **arguments)  # type: ignore[call-overload]
