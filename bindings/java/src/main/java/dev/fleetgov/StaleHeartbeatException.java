package dev.fleetgov;

/**
 * A heartbeat older than the node's last one ({@link Code#STALE_HEARTBEAT}): it was ignored and
 * changed nothing. Under reordering (two paths from a node, a retry) this is an expected outcome,
 * not a failure, so it must cost no more than an accepted heartbeat: every stale heartbeat on the
 * single-call path ({@link FleetEngine#heartbeat(long, Heartbeat)}) throws the same preallocated
 * instance, {@link #INSTANCE}, which has no stack trace, no cause and no suppressed exceptions and
 * so cannot change. Its message is therefore the same for every node; the batch path
 * ({@link FleetEngine#heartbeatBatch(HeartbeatBatch)}) reports stale records one by one as
 * {@link BatchOutcome#STALE} outcomes instead.
 *
 * <pre>{@code
 * try {
 *     engine.heartbeat(node, hb);
 * } catch (StaleHeartbeatException stale) {
 *     // a newer heartbeat of this node already arrived: nothing to do
 * }
 * }</pre>
 */
public final class StaleHeartbeatException extends FleetException {
    /** Serialization version. */
    private static final long serialVersionUID = 1L;

    /** The one instance, thrown for every stale heartbeat. */
    public static final StaleHeartbeatException INSTANCE = new StaleHeartbeatException();

    private StaleHeartbeatException() {
        super(Code.STALE_HEARTBEAT, "the heartbeat is older than the node's last one and was ignored", true);
    }

    /**
     * A deserialized copy is the one instance.
     *
     * @return {@link #INSTANCE}
     */
    private Object readResolve() {
        return INSTANCE;
    }
}
