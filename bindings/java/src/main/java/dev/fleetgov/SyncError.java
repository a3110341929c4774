package dev.fleetgov;

/**
 * Why a node could not apply its desired configuration: a code for programs and a detail
 * for people, shown as {@code CODE: detail}.
 *
 * <pre>{@code
 * Heartbeat hb = Heartbeat.at(now, "3.5.0")
 *         .withSyncError(new SyncError(SyncErrorCode.NATS_TIMEOUT, "Failed to receive snapshot"));
 * }</pre>
 *
 * @param code the machine code
 * @param detail the human detail (may be empty; the engine keeps it trimmed, cut to its first
 *     {@value HeartbeatBatch#MAX_DETAIL_BYTES} UTF-8 bytes at a character boundary, on the single and
 *     the batch path alike)
 */
public record SyncError(SyncErrorCode code, String detail) {
    /**
     * Checks that both components are present.
     *
     * @param code the machine code
     * @param detail the human detail (may be empty)
     */
    public SyncError {
        Args.present("code", code);
        Args.present("detail", detail);
    }

    /**
     * The {@code CODE: detail} text (just {@code CODE} for an empty detail): the form sync
     * errors travel in, parsed back by the engine.
     *
     * @return the text
     */
    @Override
    public String toString() {
        return detail.isEmpty() ? code.name() : code + ": " + detail;
    }
}
