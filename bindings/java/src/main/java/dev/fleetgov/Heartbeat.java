package dev.fleetgov;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * A node's report: when, what it applied (the snapshot id and the hash it computed itself
 * over the bytes), its runtime version, process status, metrics and last sync error.
 *
 * <pre>{@code
 * Heartbeat hb = Heartbeat.at(now, "3.5.0")
 *         .withApplied(snapshot.id(), FleetGov.contentHash(appliedBytes))
 *         .withMetrics(new Metrics(12.5f, 40f, 1200f, 55f, 0));
 * Directive d = engine.heartbeat(node, hb); // null: nothing to do
 * }</pre>
 *
 * @param atMs when the node sent it (unix ms)
 * @param appliedSnapshot the snapshot id the node applied, or null
 * @param appliedHash the node-computed hash of what it applied (64 hex), or null
 * @param runtimeVersion the runtime's semantic version
 * @param status the process status
 * @param metrics runtime metrics
 * @param syncError why the node could not apply its configuration, or null (which clears an
 *     earlier error)
 */
public record Heartbeat(
        long atMs,
        @Nullable String appliedSnapshot,
        @Nullable String appliedHash,
        String runtimeVersion,
        ProcessStatus status,
        Metrics metrics,
        @Nullable SyncError syncError) {
    /**
     * Checks times and required components; what the strings hold is checked by the engine.
     *
     * @param atMs when the node sent it (unix ms)
     * @param appliedSnapshot the snapshot id the node applied, or null
     * @param appliedHash the node-computed hash of what it applied (64 hex), or null
     * @param runtimeVersion the runtime's semantic version
     * @param status the process status
     * @param metrics runtime metrics
     * @param syncError why the node could not apply its configuration, or null (which clears an earlier error)
     */
    public Heartbeat {
        Args.time("atMs", atMs);
        Args.text("runtimeVersion", runtimeVersion);
        Args.present("status", status);
        Args.present("metrics", metrics);
    }

    /**
     * A heartbeat of a ready node that has applied nothing yet, with zero metrics.
     *
     * @param atMs when the node sent it (unix ms)
     * @param runtimeVersion the runtime's semantic version
     * @return the heartbeat
     */
    public static Heartbeat at(long atMs, String runtimeVersion) {
        return new Heartbeat(atMs, null, null, runtimeVersion, ProcessStatus.READY, Metrics.ZERO, null);
    }

    /**
     * {@link #at(long, String)} at an {@link Instant}.
     *
     * @param at when the node sent it
     * @param runtimeVersion the runtime's semantic version
     * @return a heartbeat
     * @throws IllegalArgumentException if {@code at} is null or before 1970
     */
    public static Heartbeat at(Instant at, String runtimeVersion) {
        return at(Args.millis("at", at), runtimeVersion);
    }

    /**
     * This heartbeat sent at another time.
     *
     * @param ms unix ms
     * @return a new heartbeat
     */
    public Heartbeat withAtMs(long ms) {
        return new Heartbeat(ms, appliedSnapshot, appliedHash, runtimeVersion, status, metrics, syncError);
    }

    /**
     * This heartbeat reporting an applied snapshot and the hash the node computed.
     *
     * @param snapshotId the snapshot id
     * @param hash the node-computed hash, 64 hex characters
     * @return a new heartbeat
     */
    public Heartbeat withApplied(String snapshotId, String hash) {
        return new Heartbeat(atMs, snapshotId, hash, runtimeVersion, status, metrics, syncError);
    }

    /**
     * This heartbeat with another process status.
     *
     * @param s the status
     * @return a new heartbeat
     */
    public Heartbeat withStatus(ProcessStatus s) {
        return new Heartbeat(atMs, appliedSnapshot, appliedHash, runtimeVersion, s, metrics, syncError);
    }

    /**
     * This heartbeat with other metrics.
     *
     * @param m the metrics
     * @return a new heartbeat
     */
    public Heartbeat withMetrics(Metrics m) {
        return new Heartbeat(atMs, appliedSnapshot, appliedHash, runtimeVersion, status, m, syncError);
    }

    /**
     * This heartbeat with a sync error, or none.
     *
     * @param e the error, or null
     * @return a new heartbeat
     */
    public Heartbeat withSyncError(@Nullable SyncError e) {
        return new Heartbeat(atMs, appliedSnapshot, appliedHash, runtimeVersion, status, metrics, e);
    }
}
