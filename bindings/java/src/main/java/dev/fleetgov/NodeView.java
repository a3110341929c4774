package dev.fleetgov;

import java.util.OptionalLong;
import org.jspecify.annotations.Nullable;

/**
 * A node: what it should run beside what it reports it runs, with health, drift and the
 * reason it is not in sync. Immutable.
 *
 * <p>{@code configStatus} and {@code drift} describe the node's last report, whatever its age;
 * {@code verified} says whether that report still counts at the query time: in sync and heard
 * from at most 60 minutes before it.
 *
 * <pre>{@code
 * NodeView n = engine.node("gw-1", now);
 * if (n.configStatus() == ConfigStatus.DIVERGENT) {
 *     System.out.println(n.id() + ": " + n.reconcileReason());
 * } else if (!n.verified()) {
 *     System.out.println(n.id() + ": silent for " + n.heartbeatAgeMs().orElse(-1) + " ms");
 * }
 * }</pre>
 *
 * @param id the node id
 * @param clusterId its cluster
 * @param status ready, starting, error or divergent
 * @param desiredSnapshotId what should run, or null when nothing is published
 * @param desiredHash the hash of what should run, or null
 * @param appliedSnapshotId what the node verifiably reports it applied, or null
 * @param appliedHash the hash the node computed over what it applied, or null
 * @param lastHeartbeatMs the last heartbeat (unix ms), empty if none
 * @param heartbeatAgeMs how long before the query time the last heartbeat was, empty if none
 * @param verified whether the last report counts at the query time: in sync and heard from
 *     within the last 60 minutes
 * @param lastSyncError the last sync error the node reported (or {@code HASH_MISMATCH} found by
 *     the engine), or null
 * @param reconcileReason why the node is not in sync, or null when it is
 * @param processStatus the process status last reported, or null before any heartbeat
 * @param metrics the metrics of the last heartbeat
 * @param heapTrend heap percent change since the heartbeat before
 * @param runtimeVersion the runtime version reported, or null
 * @param health heartbeat freshness at the query time
 * @param processHealth healthy, degraded or offline
 * @param configStatus in sync or divergent
 * @param drift aligned, needs reconcile, upgrade required or awaiting sync
 */
public record NodeView(
        String id,
        String clusterId,
        NodeStatus status,
        @Nullable String desiredSnapshotId,
        @Nullable String desiredHash,
        @Nullable String appliedSnapshotId,
        @Nullable String appliedHash,
        OptionalLong lastHeartbeatMs,
        OptionalLong heartbeatAgeMs,
        boolean verified,
        @Nullable SyncError lastSyncError,
        @Nullable String reconcileReason,
        @Nullable ProcessStatus processStatus,
        Metrics metrics,
        float heapTrend,
        @Nullable String runtimeVersion,
        Health health,
        ProcessHealth processHealth,
        ConfigStatus configStatus,
        DriftStatus drift) {}
