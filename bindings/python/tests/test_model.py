"""Random operation sequences against the pure-Python model in model.py."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from model import DORMANT_AFTER_MS, MINUTE, STALE_AFTER_MS, T0, Model

import fleetgov
from fleetgov.types import AuditRecord

NODES = [f"gw-{i}" for i in range(6)]
CLUSTERS = ["eks-prod-us", "gke-stage-eu", "azure-dev-west"]
WORKSPACES = {"ws-a": "3.4.0", "ws-b": "3.5.0"}
VERSIONS = ["3.3.9", "3.4.0", "3.4.0-beta", "3.5.0", "4.0.0-rc.1"]
CONTENTS = [b"routes: []", b"rate_limit: 800", b"rate_limit: 1000"]
SYNC_ERRORS = [
    None,
    "RELOAD_FAILURE: Incompatible Filter Signature",
    "NATS_TIMEOUT: Failed to receive snapshot",
    "JVM_MEMORY_PRESSURE",
    "BRAND_NEW_CODE: something else",
]
NODE_FIELDS = ("health", "config_status", "drift", "applied_snapshot", "sync_error_code", "process_health", "status")


class FleetMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = fleetgov.Engine()
        self.model = Model()
        self.t = T0
        self.snaps: dict[str, list[fleetgov.Snapshot]] = {}

    def teardown(self) -> None:
        self.engine.close()

    @initialize(auto=st.booleans(), members=st.lists(st.sampled_from(CLUSTERS[:2]), min_size=4, max_size=5))
    def a_small_fleet(self, auto: bool, members: list[str]) -> None:
        """Two workspaces, two clusters with a snapshot each, a few enrolled nodes."""
        for ws, minimum in WORKSPACES.items():
            self.engine.upsert_workspace(ws, min_runtime_version=minimum)
            self.model.upsert_workspace(ws, minimum)
        for cid, ws in zip(CLUSTERS[:2], sorted(WORKSPACES), strict=True):
            self.upsert_cluster(cid, ws, auto)
            s = self.engine.publish(cid, CONTENTS[0], actor="alice", at_ms=self.t)
            self.model.publish(cid, s.hash)
            self.snaps[cid].append(s)
        for node, cid in zip(NODES, members, strict=False):
            self.engine.enroll(node, cluster=cid, at_ms=self.t)
            self.model.enroll(node, cid)

    @rule(ws=st.sampled_from(sorted(WORKSPACES)), minimum=st.sampled_from(["3.0.0", "3.4.0", "3.5.0"]))
    def set_minimum_version(self, ws: str, minimum: str) -> None:
        self.engine.upsert_workspace(ws, min_runtime_version=minimum)
        self.model.upsert_workspace(ws, minimum)

    @rule(cid=st.sampled_from(CLUSTERS), ws=st.sampled_from(sorted(WORKSPACES)), auto=st.booleans())
    def upsert_cluster(self, cid: str, ws: str, auto: bool) -> None:
        existing = self.model.clusters.get(cid)
        if existing is not None and existing.workspace != ws:
            with pytest.raises(fleetgov.Conflict):
                self.engine.upsert_cluster(cid, workspace=ws, environment="staging", auto_reconcile=auto)
            return
        self.engine.upsert_cluster(cid, workspace=ws, environment="staging", auto_reconcile=auto)
        self.model.upsert_cluster(cid, ws, auto)
        self.snaps.setdefault(cid, [])

    @precondition(lambda self: self.model.clusters)
    @rule(data=st.data(), content=st.sampled_from(CONTENTS))
    def publish(self, data: st.DataObject, content: bytes) -> None:
        cid = data.draw(st.sampled_from(sorted(self.model.clusters)))
        s = self.engine.publish(cid, content, actor="alice", at_ms=self.t)
        expected = self.model.publish(cid, s.hash)
        assert (s.id, s.revision) == (expected.id, expected.revision)
        assert s.hash == next((x.hash for x in self.snaps[cid] if self.engine.artifact(x.hash) == content), s.hash)
        self.snaps[cid].append(s)

    @precondition(lambda self: self.model.clusters)
    @rule(data=st.data(), node=st.sampled_from(NODES))
    def enroll(self, data: st.DataObject, node: str) -> None:
        cid = data.draw(st.sampled_from(sorted(self.model.clusters)))
        known = self.model.nodes.get(node)
        if known is not None and known.cluster != cid:
            with pytest.raises(fleetgov.Conflict):
                self.engine.enroll(node, cluster=cid, at_ms=self.t)
            return
        self.engine.enroll(node, cluster=cid, at_ms=self.t)
        self.model.enroll(node, cid)

    @rule(step=st.sampled_from([1, MINUTE, STALE_AFTER_MS, DORMANT_AFTER_MS]))
    def time_passes(self, step: int) -> None:
        self.t += step

    @rule(
        node=st.sampled_from(NODES[:5]),
        lag=st.sampled_from([0, 0, 0, 1, MINUTE]),
        applied=st.sampled_from(["none", "desired", "desired", "older", "bad_hash", "foreign", "unpublished"]),
        version=st.sampled_from(VERSIONS),
        status=st.sampled_from(["ready", "ready", "starting", "error"]),
        sync_error=st.sampled_from(SYNC_ERRORS),
    )
    def heartbeat(self, node: str, lag: int, applied: str, version: str, status: str, sync_error: str | None) -> None:
        at = self.t - lag
        if node not in self.model.nodes:
            with pytest.raises(fleetgov.NotFound):
                self.engine.heartbeat(node, at_ms=at, runtime_version=version)
            return
        own = self.snaps[self.model.nodes[node].cluster]
        others = [s for cid, ss in self.snaps.items() if cid != self.model.nodes[node].cluster for s in ss]
        pick: dict[str, fleetgov.Snapshot | None] = {
            "none": None,
            "desired": own[-1] if own else None,
            "older": own[0] if own else None,
            "bad_hash": own[-1] if own else None,
            "foreign": others[0] if others else None,
            "unpublished": None,
        }
        s = pick[applied]
        snap_id = s.id if s else None
        snap_hash = None if s is None else ("5a" * 32 if applied == "bad_hash" else s.hash)
        if applied == "unpublished":  # a revision of the node's own cluster never published
            snap_id, snap_hash = f"{self.model.nodes[node].cluster}@r999", "ab" * 32
        kwargs: dict[str, Any] = dict(
            at_ms=at,
            applied_snapshot=snap_id,
            applied_hash=snap_hash,
            runtime_version=version,
            process_status=status,
            sync_error=sync_error,
        )
        if self.model.is_stale(node, at):
            with pytest.raises(fleetgov.StaleHeartbeat):
                self.engine.heartbeat(node, **kwargs)
            return
        d = self.engine.heartbeat(node, **kwargs)
        expected = self.model.heartbeat(node, at, snap_id, snap_hash, version, status, sync_error)
        assert (None if d is None else (d.kind, d.snapshot)) == expected

    @precondition(lambda self: self.model.nodes)
    @rule(
        data=st.data(),
        scope=st.sampled_from(["node", "cluster", "global"]),
        role=st.sampled_from(["viewer", "operator", "operator", "admin"]),
        reason=st.sampled_from(["Rollback due to failed deployment", "Emergency disaster recovery", "  "]),
    )
    def force(self, data: st.DataObject, scope: str, role: str, reason: str) -> None:
        node = data.draw(st.sampled_from(sorted(self.model.nodes)))
        cid = self.model.nodes[node].cluster
        ws = self.model.clusters[cid].workspace
        call: dict[str, Any] = dict(actor="bob", role=role, reason=reason, at_ms=self.t)
        expected_error = self.model.force_error(scope, role, reason)
        if expected_error is not None:
            with pytest.raises(getattr(fleetgov, expected_error)):
                self.request_force(scope, node, cid, ws, call)
            return
        record = self.request_force(scope, node, cid, ws, call)
        label = {"node": f"node:{node}", "cluster": f"cluster:{cid}", "global": f"workspace:{ws}"}[scope]
        assert (record["target"], record["justification"], record["role"]) == (label, reason, role)
        assert self.engine.audit()[-1] == record
        target = {"node": dict(node=node), "cluster": dict(cluster=cid), "global": dict(workspace=ws)}[scope]
        self.model.force(**target)

    def request_force(self, scope: str, node: str, cid: str, ws: str, call: dict[str, Any]) -> AuditRecord:
        if scope == "node":
            return self.engine.force_sync(node=node, **call)
        if scope == "cluster":
            return self.engine.force_sync(cluster=cid, **call)
        return self.engine.force_global(workspace=ws, **call)

    @precondition(lambda self: self.model.nodes)
    @rule(data=st.data(), bad=st.sampled_from([{"cpu": 101.0}, {"heap": float("nan")}, {"applied_hash": "zz"}]))
    def rejected_heartbeat_changes_nothing(self, data: st.DataObject, bad: dict[str, Any]) -> None:
        node = data.draw(st.sampled_from(sorted(self.model.nodes)))
        with pytest.raises(fleetgov.InvalidInput):
            self.engine.heartbeat(node, at_ms=self.t, runtime_version="3.5.0", **bad)

    @precondition(lambda self: self.model.nodes)
    @rule(data=st.data(), edge=st.sampled_from([0, STALE_AFTER_MS - 1, STALE_AFTER_MS, DORMANT_AFTER_MS, DORMANT_AFTER_MS + 1]))
    def node_health_at_the_band_edges(self, data: st.DataObject, edge: int) -> None:
        """The node's health and verdict, and its cluster's figures, at the
        edges of the 5- and 60-minute bands of its last heartbeat (earlier
        than the latest query too)."""
        node = data.draw(st.sampled_from(sorted(self.model.nodes)))
        now = (self.model.nodes[node].last_ms or self.t) + edge
        self.check_node(node, now)
        self.check_cluster(self.model.nodes[node].cluster, now)

    @invariant()
    def views_agree_with_the_model(self) -> None:
        for cid in self.model.clusters:
            self.check_cluster(cid, self.t)
        for node in self.model.nodes:
            self.check_node(node, self.t)

    def check_cluster(self, cid: str, now: int) -> None:
        c = self.engine.cluster(cid, now_ms=now)
        expected = self.model.cluster_view(cid, now)
        got = {k: getattr(c, k) for k in expected}
        assert got == expected, cid

    def check_node(self, node: str, now: int) -> None:
        n = self.engine.node(node, now_ms=now)
        expected = self.model.node_view(node, now)
        got = {k: getattr(n, k) for k in expected}
        assert got == expected, node
        assert n.cluster == self.model.nodes[node].cluster


FleetMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFleetRules = FleetMachine.TestCase
