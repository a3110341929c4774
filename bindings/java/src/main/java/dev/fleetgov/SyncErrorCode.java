package dev.fleetgov;

/**
 * Why a node could not apply its desired configuration, for programs. {@link #OTHER} keeps
 * codes outside this taxonomy; their full text stays in {@link SyncError#detail()}. Each code
 * has a fixed byte in the binary heartbeat record (1 to 9, 255 for {@code OTHER}).
 *
 * <pre>{@code
 * SyncError e = new SyncError(SyncErrorCode.RELOAD_FAILURE, "Incompatible Filter Signature");
 * }</pre>
 */
public enum SyncErrorCode {
    /** The gateway could not hot-swap the configuration. */
    RELOAD_FAILURE(1),
    /** The bytes a node applied do not hash to the authority's hash. */
    HASH_MISMATCH(2),
    /** Fetching the snapshot timed out. */
    FETCH_TIMEOUT(3),
    /** The NATS transport did not deliver the snapshot in time. */
    NATS_TIMEOUT(4),
    /** The process ran short of memory while loading the configuration. */
    MEMORY_PRESSURE(5),
    /** The JVM ran short of heap while loading the configuration. */
    JVM_MEMORY_PRESSURE(6),
    /** The runtime is too old for the configuration. */
    INCOMPATIBLE_VERSION(7),
    /** The configuration failed the gateway's validation. */
    VALIDATION_FAILED(8),
    /** The JVM gateway's reload failed. */
    JVM_RELOAD_FAILED(9),
    /** A code outside this taxonomy. */
    OTHER(255);

    private final int wire;

    SyncErrorCode(int wire) {
        this.wire = wire;
    }

    /** The code's byte in the binary heartbeat record. */
    int wire() {
        return wire;
    }
}
