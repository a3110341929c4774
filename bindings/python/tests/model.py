"""A small pure-Python model of the fleet rules, written from the design notes
alone, that the engine must agree with (see test_model.py).

Rules modelled: in sync = applied id AND node-reported hash match the desired
snapshot; verified = in sync AND the last heartbeat at most 60 minutes old;
cohesion = floor(100 * verified / enrolled), basis points floor(10000 * ...)
(100 / 10000 when empty); HEALTHY = every node verified and no sync error,
else DIVERGENT below 50 % cohesion, else SYNCING; health by heartbeat age (5
and 60 minutes);
drift, first match wins: awaiting_sync, upgrade_required, needs_reconcile,
aligned; root causes by sync-error code (HASH_MISMATCH when a known snapshot's
hash differs); auto-reconcile directives; stale heartbeats change nothing;
overrides need a non-blank reason, operator for a node or cluster, admin for a
global overwrite, and are answered once with a force_sync directive.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

#: A fixed moment (unix ms) tests count from; far enough in the past that no
#: heartbeat trips the engine's future-heartbeat check.
T0 = 1_700_000_000_000
MINUTE = 60_000
STALE_AFTER_MS = 5 * 60 * 1000
DORMANT_AFTER_MS = 60 * 60 * 1000
KNOWN_CODES = {
    "RELOAD_FAILURE",
    "HASH_MISMATCH",
    "FETCH_TIMEOUT",
    "NATS_TIMEOUT",
    "MEMORY_PRESSURE",
    "JVM_MEMORY_PRESSURE",
    "INCOMPATIBLE_VERSION",
    "VALIDATION_FAILED",
    "JVM_RELOAD_FAILED",
}


def cohesion(verified: int, total: int) -> int:
    """floor(100 * verified / total): 100 only when every node is verified."""
    return 100 if total == 0 else 100 * verified // total


def cohesion_bp(verified: int, total: int) -> int:
    """floor(10000 * verified / total), in basis points."""
    return 10_000 if total == 0 else 10_000 * verified // total


def cluster_status(verified: int, total: int, errors: int) -> str:
    if verified >= total and errors == 0:
        return "HEALTHY"
    return "DIVERGENT" if cohesion(verified, total) < 50 else "SYNCING"


def is_fresh(last_ms: int | None, now_ms: int) -> bool:
    """Whether a heartbeat at `last_ms` still counts at `now_ms` (one after `now_ms` is age zero)."""
    return last_ms is not None and max(0, now_ms - last_ms) <= DORMANT_AFTER_MS


def health(last_ms: int | None, now_ms: int) -> str:
    if last_ms is None:
        return "never"
    age = max(0, now_ms - last_ms)
    if age < STALE_AFTER_MS:
        return "connected"
    return "stale" if age <= DORMANT_AFTER_MS else "dormant"


def drift(has_heartbeat: bool, below_minimum: bool, in_sync: bool) -> str:
    if not has_heartbeat:
        return "awaiting_sync"
    if below_minimum:
        return "upgrade_required"
    return "aligned" if in_sync else "needs_reconcile"


def version_key(text: str) -> tuple[int, int, int, int]:
    """Semver order of `major.minor.patch[-pre]`: a pre-release sorts first."""
    core, _, pre = text.partition("-")
    major, minor, patch = (int(p) for p in core.split("."))
    return (major, minor, patch, 0 if pre else 1)


@dataclass
class Snap:
    id: str
    revision: int
    hash: str


@dataclass
class Cluster:
    workspace: str
    auto_reconcile: bool
    snapshots: list[Snap] = field(default_factory=list)

    @property
    def desired(self) -> Snap | None:
        return self.snapshots[-1] if self.snapshots else None

    def snapshot(self, snapshot_id: str | None) -> Snap | None:
        return next((s for s in self.snapshots if s.id == snapshot_id), None)


@dataclass
class Node:
    cluster: str
    last_ms: int | None = None
    applied_id: str | None = None
    applied_hash: str | None = None
    version: str | None = None
    status: str | None = None
    error_code: str | None = None
    forced: bool = False


class Model:
    def __init__(self) -> None:
        self.min_version: dict[str, str] = {}
        self.clusters: dict[str, Cluster] = {}
        self.nodes: dict[str, Node] = {}

    # ---- authority ----------------------------------------------------------

    def upsert_workspace(self, ws: str, min_runtime_version: str) -> None:
        self.min_version[ws] = min_runtime_version

    def upsert_cluster(self, cid: str, ws: str, auto_reconcile: bool) -> None:
        existing = self.clusters.get(cid)
        if existing is None:
            self.clusters[cid] = Cluster(ws, auto_reconcile)
        else:
            existing.auto_reconcile = auto_reconcile

    def publish(self, cid: str, content_hash: str) -> Snap:
        c = self.clusters[cid]
        snap = Snap(f"{cid}@r{len(c.snapshots) + 1}", len(c.snapshots) + 1, content_hash)
        c.snapshots.append(snap)
        return snap

    def enroll(self, node: str, cid: str) -> None:
        self.nodes.setdefault(node, Node(cid))

    # ---- execution ----------------------------------------------------------

    def is_stale(self, node: str, at_ms: int) -> bool:
        last = self.nodes[node].last_ms
        return last is not None and at_ms < last

    def heartbeat(
        self,
        node: str,
        at_ms: int,
        applied_id: str | None,
        applied_hash: str | None,
        version: str,
        status: str,
        sync_error: str | None,
    ) -> tuple[str, str] | None:
        """Applies a heartbeat the engine accepts; returns the expected
        directive as (kind, snapshot id) or None."""
        n = self.nodes[node]
        c = self.clusters[n.cluster]
        if applied_id is not None and c.snapshot(applied_id) is None:
            applied_id = None  # another cluster's snapshot, or an unpublished one, is no snapshot of this one
        n.last_ms, n.applied_id, n.applied_hash = at_ms, applied_id, applied_hash
        n.version, n.status = version, status
        known = c.snapshot(applied_id)
        if sync_error is not None:
            code = sync_error.partition(":")[0].strip()
            n.error_code = code if code in KNOWN_CODES else "OTHER"
        elif known is not None and known.hash != applied_hash:
            n.error_code = "HASH_MISMATCH"
        else:
            n.error_code = None
        d = c.desired
        if d is not None and n.forced:
            n.forced = False
            return ("force_sync", d.id)
        if d is not None and c.auto_reconcile and not self.in_sync(node):
            return ("reconcile", d.id)
        return None

    # ---- governance ---------------------------------------------------------

    ROLE_RANK = {"viewer": 0, "operator": 1, "admin": 2}

    def force_error(self, scope: str, role: str, reason: str) -> str | None:
        """The error class name a force request raises, or None if allowed;
        `scope` is "node"/"cluster" (operator may) or "global" (admin only)."""
        if not reason.strip():
            return "JustificationRequired"
        needed = "admin" if scope == "global" else "operator"
        return "PermissionDenied" if self.ROLE_RANK[role] < self.ROLE_RANK[needed] else None

    def force(self, node: str | None = None, cluster: str | None = None, workspace: str | None = None) -> None:
        """Marks the targeted nodes: each answers its next heartbeat (once a
        snapshot is desired) with a force_sync directive."""
        for nid, n in self.nodes.items():
            ws = self.clusters[n.cluster].workspace
            if nid == node or n.cluster == cluster or ws == workspace:
                n.forced = True

    # ---- derived state ------------------------------------------------------

    def in_sync(self, node: str) -> bool:
        n = self.nodes[node]
        d = self.clusters[n.cluster].desired
        return d is not None and n.applied_id == d.id and n.applied_hash == d.hash

    def verified(self, node: str, now_ms: int) -> bool:
        return self.in_sync(node) and is_fresh(self.nodes[node].last_ms, now_ms)

    def members(self, cid: str) -> list[str]:
        return [nid for nid, n in self.nodes.items() if n.cluster == cid]

    def cluster_view(self, cid: str, now_ms: int) -> dict[str, object]:
        members = self.members(cid)
        verified = sum(self.verified(m, now_ms) for m in members)
        d = self.clusters[cid].desired
        causes = Counter(self.nodes[m].error_code for m in members if self.nodes[m].error_code)
        return {
            "status": cluster_status(verified, len(members), sum(causes.values())),
            "cohesion": cohesion(verified, len(members)),
            "cohesion_bp": cohesion_bp(verified, len(members)),
            "in_sync": verified,
            "total": len(members),
            "desired_snapshot": d.id if d else None,
            "desired_hash": d.hash if d else None,
            "root_causes": dict(causes),
            "revisions": dict(Counter(self.bucket(m) for m in members)),
        }

    def bucket(self, node: str) -> int:
        """The revision a node verifiably runs (id and hash), 0 for none."""
        n = self.nodes[node]
        known = self.clusters[n.cluster].snapshot(n.applied_id)
        return known.revision if known is not None and known.hash == n.applied_hash else 0

    def node_view(self, node: str, now_ms: int) -> dict[str, object]:
        n = self.nodes[node]
        ws = self.clusters[n.cluster].workspace
        sync = self.in_sync(node)
        below = n.version is not None and version_key(n.version) < version_key(self.min_version[ws])
        h = health(n.last_ms, now_ms)
        if h in ("dormant", "never") or n.status is None:
            process_health = "Offline"
        elif h == "connected" and n.status == "ready" and n.error_code is None:
            process_health = "Healthy"
        else:
            process_health = "Degraded"
        if n.status is None:
            node_status = "Starting"
        elif n.status == "error":
            node_status = "Error"
        elif not sync:
            node_status = "Divergent"
        else:
            node_status = n.status.capitalize()
        return {
            "health": h,
            "config_status": "IN_SYNC" if sync else "DIVERGENT",
            "drift": drift(n.last_ms is not None, below, sync),
            "applied_snapshot": n.applied_id,
            "sync_error_code": n.error_code,
            "process_health": process_health,
            "status": node_status,
            "last_heartbeat_ms": n.last_ms,
            "heartbeat_age_ms": None if n.last_ms is None else max(0, now_ms - n.last_ms),
            "verified": self.verified(node, now_ms),
        }
