package dev.fleetgov;

/**
 * An override (force sync, global overwrite) was requested without a non-blank
 * justification. Nothing was changed and nothing was audited.
 *
 * <pre>{@code
 * try {
 *     engine.forceSync(ForceTarget.node("gw-1"), new OverrideRequest("alice", Role.OPERATOR, "  ", now));
 * } catch (JustificationRequiredException e) {
 *     // ask the operator why
 * }
 * }</pre>
 */
public class JustificationRequiredException extends FleetException {
    /** Serialization version. */
    private static final long serialVersionUID = 1L;

    /**
     * An exception with code {@link Code#JUSTIFICATION_REQUIRED}.
     *
     * @param detail the message for people
     */
    public JustificationRequiredException(String detail) {
        super(Code.JUSTIFICATION_REQUIRED, detail);
    }
}
