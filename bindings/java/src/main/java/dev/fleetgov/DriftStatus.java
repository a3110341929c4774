package dev.fleetgov;

/**
 * A runtime's drift status; the first matching rule wins.
 *
 * <pre>{@code
 * long behind = engine.fleet("ws-1", now).runtimes().stream().filter(r -> r.drift() == DriftStatus.NEEDS_RECONCILE).count();
 * }</pre>
 */
public enum DriftStatus {
    /** Runs the desired snapshot on a supported version. */
    ALIGNED,
    /** Does not run the desired snapshot; should pull it. */
    NEEDS_RECONCILE,
    /** Runtime version below the workspace minimum. */
    UPGRADE_REQUIRED,
    /** Enrolled, no heartbeat yet. */
    AWAITING_SYNC
}
