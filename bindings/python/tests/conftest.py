from __future__ import annotations

from collections.abc import Iterator

import pytest

import fleetgov
from fleetgov import _native


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


@pytest.fixture
def one_record_chunks() -> Iterator[None]:
    """`Engine.ingest` applies one record per core call meanwhile."""
    before = _native._set_ingest_chunk(1)
    try:
        yield
    finally:
        _native._set_ingest_chunk(before)
