package dev.fleetgov;

/**
 * Heartbeat freshness at a query time: under 5 minutes connected, 5 to 60 stale, over 60 dormant.
 *
 * <pre>{@code
 * Health h = engine.node("gw-1", now).health();
 * }</pre>
 */
public enum Health {
    /** Last heartbeat under 5 minutes ago. */
    CONNECTED,
    /** Last heartbeat 5 to 60 minutes ago. */
    STALE,
    /** Last heartbeat over 60 minutes ago. */
    DORMANT,
    /** No heartbeat received. */
    NEVER
}
