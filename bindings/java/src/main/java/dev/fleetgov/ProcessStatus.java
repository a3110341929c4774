package dev.fleetgov;

/**
 * What a node's process reports about itself in a heartbeat. The order is the engine's wire
 * order (0 ready, 1 starting, 2 error): do not reorder.
 *
 * <pre>{@code
 * Heartbeat hb = Heartbeat.at(now, "3.5.0").withStatus(ProcessStatus.STARTING);
 * }</pre>
 */
public enum ProcessStatus {
    /** Serving traffic. */
    READY,
    /** Starting up. */
    STARTING,
    /** In an error state. */
    ERROR
}
