package dev.fleetgov;

/**
 * What happened to one heartbeat record of a batch. The order is the wire value of the
 * outcome record's first byte: do not reorder.
 *
 * <pre>{@code
 * if (batch.outcome(i) == BatchOutcome.RECONCILE) {
 *     pull(batch.directiveRevision(i), batch.directiveHash(i));
 * }
 * }</pre>
 */
public enum BatchOutcome {
    /** Accepted; nothing to do. */
    ACCEPTED,
    /** Accepted; the node should reconcile to the directive's snapshot. */
    RECONCILE,
    /** Accepted; the node must force-sync to the directive's snapshot. */
    FORCE_SYNC,
    /** Older than the node's last heartbeat; ignored. */
    STALE,
    /** More than 5 minutes ahead of the engine's clock; refused. */
    FUTURE,
    /** The handle names no node of this engine. */
    UNKNOWN_NODE,
    /**
     * The node is enrolled in another cluster than the one the batch is bound to; refused, never
     * applied. Only a cluster-bound batch (a NATS subject's) has it.
     */
    WRONG_CLUSTER;

    private static final BatchOutcome[] BY_WIRE = values();

    /** The outcome for its wire byte; {@link IllegalArgumentException} for any other byte. */
    static BatchOutcome ofWire(int b) {
        if (b < 0 || b >= BY_WIRE.length) {
            throw new IllegalArgumentException("no batch outcome " + b);
        }
        return BY_WIRE[b];
    }
}
