package dev.fleetgov;

import java.util.OptionalLong;
import org.jspecify.annotations.Nullable;

/**
 * One enrolled runtime in a {@link FleetInventory}.
 *
 * <pre>{@code
 * for (FleetRuntime r : engine.fleet("ws-1", now).runtimes()) {
 *     System.out.println(r.id() + " " + r.health() + " " + r.drift());
 * }
 * }</pre>
 *
 * @param id the node id
 * @param cluster its cluster
 * @param health connected, stale, dormant or never
 * @param version the runtime version reported, or null
 * @param drift aligned, needs reconcile, upgrade required or awaiting sync
 * @param appliedSnapshot the applied snapshot id, or null
 * @param appliedHash the node-computed hash, or null
 * @param lastHeartbeat the last heartbeat (unix ms), empty if none
 * @param lastSyncError {@code CODE: detail}, or null
 */
public record FleetRuntime(
        String id,
        String cluster,
        Health health,
        @Nullable String version,
        DriftStatus drift,
        @Nullable String appliedSnapshot,
        @Nullable String appliedHash,
        OptionalLong lastHeartbeat,
        @Nullable String lastSyncError) {}
