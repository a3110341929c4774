package dev.fleetgov;

/**
 * The {@link IllegalStateException} the binding throws when it is used wrongly: a call on a
 * closed object, a validator re-entering or closing its own agent, a full batch. Package-private
 * so that callers keep catching {@code IllegalStateException}; the binding tells it apart from
 * an {@code IllegalStateException} of the caller's own code (see {@link ConfigAgent#apply}).
 */
final class MisuseException extends IllegalStateException {
    /** Serialization version. */
    private static final long serialVersionUID = 1L;

    /**
     * A misuse described by {@code message}.
     *
     * @param message what was done wrong
     */
    MisuseException(String message) {
        super(message);
    }
}
