package dev.fleetgov;

/**
 * Process health as the dashboard shows it.
 *
 * <pre>{@code
 * ProcessHealth p = engine.node("gw-1", now).processHealth();
 * }</pre>
 */
public enum ProcessHealth {
    /** Connected, ready, no sync error. */
    HEALTHY,
    /** Connected or stale with a problem: starting, erroring, or a sync error. */
    DEGRADED,
    /** Dormant or never heard from. */
    OFFLINE
}
