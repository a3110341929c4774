package dev.fleetgov;

/**
 * A node's status as in the article's model: its process status, or divergent when it does not run the desired snapshot.
 *
 * <pre>{@code
 * if (view.status() == NodeStatus.DIVERGENT) { System.out.println(view.reconcileReason()); }
 * }</pre>
 */
public enum NodeStatus {
    /** Serving traffic, in sync. */
    READY,
    /** Starting up. */
    STARTING,
    /** The process reports an error. */
    ERROR,
    /** Ready but not running the desired snapshot. */
    DIVERGENT
}
