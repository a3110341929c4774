package dev.fleetgov;

import java.util.Objects;

/**
 * An error reported by the fleetgov engine: a machine-readable {@link Code} and a message.
 *
 * <p>Unchecked, like the exceptions of the JDK's own collections. Overrides without a
 * justification throw {@link JustificationRequiredException}; actors whose role may not
 * perform an operation get {@link PermissionDeniedException}; a question about what ran after
 * the engine's clock gets {@link FutureTimeException}, one about a time before its history
 * began {@link HistoryUnavailableException}. A null where a value is required, a negative
 * time or count, or an option out of its range throws {@link IllegalArgumentException} before
 * the engine is called; what a string holds is the engine's to judge, the same for every
 * binding: an ill-formed id, version or hash, or text over its limit, is {@link Code#INVALID_INPUT}
 * (the limits are in the README's "Limits"). A call on a closed object throws
 * {@link IllegalStateException}.
 *
 * <pre>{@code
 * try {
 *     engine.cluster("no-such-cluster", now);
 * } catch (FleetException e) {
 *     assert e.code() == FleetException.Code.NOT_FOUND;
 * }
 * }</pre>
 */
public class FleetException extends RuntimeException {
    /** Serialization version. */
    private static final long serialVersionUID = 1L;

    /** What went wrong, for programs. Mirrors the engine's error kinds, plus two of the binding's own. */
    public enum Code {
        /** An argument is malformed: a bad id, hash, version, metric or binary record. */
        INVALID_INPUT,
        /** A workspace, cluster, node, snapshot or record does not exist. */
        NOT_FOUND,
        /** The operation contradicts existing state. */
        CONFLICT,
        /**
         * A heartbeat older than the node's last one; it was ignored. An expected outcome when
         * heartbeats are reordered: thrown as the preallocated {@link StaleHeartbeatException}.
         */
        STALE_HEARTBEAT,
        /** A heartbeat stamped too far in the future. */
        FUTURE_HEARTBEAT,
        /** An override was requested without a non-blank justification. */
        JUSTIFICATION_REQUIRED,
        /** The actor's role may not perform the operation. */
        PERMISSION_DENIED,
        /** The audit log or a proof does not verify. */
        AUDIT_TAMPERED,
        /** The durable audit log failed. */
        IO,
        /** A question about a time after the engine's clock ({@link FutureTimeException}). */
        FUTURE,
        /** A question about a time before the engine's retained history ({@link HistoryUnavailableException}). */
        HISTORY_UNAVAILABLE,
        /**
         * A configuration agent computed another hash over the configuration bytes than the one
         * expected (a corrupted or substituted download): nothing was installed, the previous
         * configuration stays live, and the node reports {@code HASH_MISMATCH}.
         */
        HASH_MISMATCH,
        /** A configuration agent's validator refused a verified configuration; the previous one stays live. */
        RELOAD_FAILURE,
        /** The native library panicked: a bug in fleetgov, reported instead of crashing the JVM. */
        PANIC,
        /** A failure inside the binding itself (a JNI call failed, or an engine error kind newer than this binding). */
        INTERNAL
    }

    /** What went wrong, for programs. */
    private final Code code;
    /** The message for people, without the code. */
    private final String detail;

    /**
     * An exception with a code and a message.
     *
     * @param code what went wrong
     * @param detail the message for people, without the code
     */
    public FleetException(Code code, String detail) {
        super(Objects.requireNonNull(code, "code") + ": " + detail);
        this.code = code;
        this.detail = detail;
    }

    /**
     * An exception without a stack trace, a cause or suppressed exceptions: immutable, so one
     * preallocated instance can be thrown for an expected outcome, as cheaply as a return.
     *
     * @param code what happened
     * @param detail the message for people, without the code
     * @param stackless distinguishes this constructor; always {@code true}
     */
    FleetException(Code code, String detail, boolean stackless) {
        super(Objects.requireNonNull(code, "code") + ": " + detail, null, !stackless, !stackless);
        this.code = code;
        this.detail = detail;
    }

    /**
     * What went wrong, for programs.
     *
     * @return the code
     */
    public Code code() {
        return code;
    }

    /**
     * The message for people, without the code in front.
     *
     * @return the message
     */
    public String detail() {
        return detail;
    }
}
