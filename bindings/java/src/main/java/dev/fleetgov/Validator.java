package dev.fleetgov;

/**
 * The gateway's hook for {@link ConfigAgent#apply}: validate, compile and install a candidate
 * configuration whose hash the agent has already verified. Returning normally accepts it and
 * the agent makes it current; throwing refuses it, the previous configuration stays live, and
 * the failure becomes the node's sync error: {@link ConfigRejectedException} with its own code
 * and detail, any other exception as {@code RELOAD_FAILURE} with the exception's text. A
 * programming error is not a refusal: an {@link Error} ({@code OutOfMemoryError},
 * {@code StackOverflowError}, ...) or an {@link IllegalStateException} the binding threw because
 * the validator misused it (see below; a closed engine) reaches the caller of {@code apply} as it
 * is, not wrapped in a {@code RELOAD_FAILURE} exception. The agent still counts the attempt as a
 * failed reload.
 *
 * <p>The agent runs one validator at a time. A validator must not call {@code apply},
 * {@code rollback}, {@code recordSyncError} or {@code close} on its own agent (they throw
 * {@link IllegalStateException}); reading it ({@code current()}, ...) is fine.
 *
 * <pre>{@code
 * Validator filters = candidate -> {
 *     if (!new String(candidate.bytes(), UTF_8).startsWith("filters:")) {
 *         throw new ConfigRejectedException(SyncErrorCode.VALIDATION_FAILED, "no filters section");
 *     }
 *     gateway.install(candidate.bytes());
 * };
 * }</pre>
 */
@FunctionalInterface
public interface Validator {
    /** A validator that accepts every verified configuration. */
    Validator ACCEPT_ALL = candidate -> {};

    /**
     * Validates and installs {@code candidate}, or throws to refuse it.
     *
     * @param candidate the verified configuration
     * @throws Exception to refuse it
     */
    void validate(AppliedConfig candidate) throws Exception;
}
