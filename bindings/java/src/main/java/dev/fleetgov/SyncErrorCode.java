package dev.fleetgov;

/**
 * Why a node could not apply its desired configuration, for programs. {@link #OTHER} keeps
 * codes outside this taxonomy; their full text stays in {@link SyncError#detail()}.
 *
 * <pre>{@code
 * SyncError e = new SyncError(SyncErrorCode.RELOAD_FAILURE, "Incompatible Filter Signature");
 * }</pre>
 */
public enum SyncErrorCode {
    /** The gateway could not hot-swap the configuration. */
    RELOAD_FAILURE,
    /** The bytes a node applied do not hash to the authority's hash. */
    HASH_MISMATCH,
    /** Fetching the snapshot timed out. */
    FETCH_TIMEOUT,
    /** The NATS transport did not deliver the snapshot in time. */
    NATS_TIMEOUT,
    /** The process ran short of memory while loading the configuration. */
    MEMORY_PRESSURE,
    /** The JVM ran short of heap while loading the configuration. */
    JVM_MEMORY_PRESSURE,
    /** The runtime is too old for the configuration. */
    INCOMPATIBLE_VERSION,
    /** The configuration failed the gateway's validation. */
    VALIDATION_FAILED,
    /** The JVM gateway's reload failed. */
    JVM_RELOAD_FAILED,
    /** A code outside this taxonomy. */
    OTHER
}
