from __future__ import annotations

from collections.abc import Iterator

import pytest

import fleetgov


@pytest.fixture
def engine() -> Iterator[fleetgov.Engine]:
    with fleetgov.Engine() as e:
        yield e


@pytest.fixture
def fleet(engine: fleetgov.Engine) -> fleetgov.Engine:
    """The seeds' production cluster: one workspace, one cluster, no snapshot yet."""
    engine.upsert_workspace("ws-1", authority_mode="authoritative", min_runtime_version="3.4.0")
    engine.upsert_cluster(
        "eks-prod-us", workspace="ws-1", environment="production", owner_team="edge", auto_reconcile=False
    )
    return engine
