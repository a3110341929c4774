package dev.fleetgov;

import java.util.Objects;

/**
 * Thrown by a {@link Validator} to refuse a configuration with a specific sync-error code,
 * which the node then reports in its heartbeats.
 *
 * <pre>{@code
 * throw new ConfigRejectedException(SyncErrorCode.RELOAD_FAILURE, "Incompatible Filter Signature");
 * }</pre>
 */
public class ConfigRejectedException extends Exception {
    /** Serialization version. */
    private static final long serialVersionUID = 1L;

    /** Why, for programs. */
    private final SyncErrorCode code;
    /** Why, for people. */
    private final String detail;

    /**
     * A refusal with a code and a detail.
     *
     * @param code why, for programs
     * @param detail why, for people
     */
    public ConfigRejectedException(SyncErrorCode code, String detail) {
        super(Objects.requireNonNull(code, "code") + ": " + detail);
        this.code = code;
        this.detail = Objects.requireNonNull(detail, "detail");
    }

    /**
     * The sync-error code the node will report.
     *
     * @return the code
     */
    public SyncErrorCode code() {
        return code;
    }

    /**
     * The detail the node will report.
     *
     * @return the detail
     */
    public String detail() {
        return detail;
    }

    /**
     * The sync error the node will report: {@code new SyncError(code(), detail())}.
     *
     * @return the sync error
     */
    public SyncError syncError() {
        return new SyncError(code, detail);
    }
}
