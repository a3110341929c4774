package dev.fleetgov;

/**
 * Aggregate counts over a workspace's runtimes: by health and by drift.
 *
 * <pre>{@code
 * FleetSummary s = engine.fleet("ws-1", now).summary();
 * assert s.active() + s.stale() + s.dormant() + s.never() == s.total();
 * }</pre>
 *
 * @param total enrolled runtimes
 * @param active connected (heartbeat under 5 minutes ago)
 * @param stale 5 to 60 minutes
 * @param dormant over 60 minutes
 * @param never never heard from
 * @param upgradeRequired drift upgrade required
 * @param needsReconcile drift needs reconcile
 * @param aligned drift aligned
 * @param awaitingSync drift awaiting sync
 */
public record FleetSummary(
        long total,
        long active,
        long stale,
        long dormant,
        long never,
        long upgradeRequired,
        long needsReconcile,
        long aligned,
        long awaitingSync) {}
