package dev.fleetgov;

/**
 * Whether a node verifiably runs the desired snapshot (id and node-computed hash both match).
 *
 * <pre>{@code
 * boolean verified = view.configStatus() == ConfigStatus.IN_SYNC;
 * }</pre>
 */
public enum ConfigStatus {
    /** Applied id and hash match the authority. */
    IN_SYNC,
    /** Anything else. */
    DIVERGENT
}
