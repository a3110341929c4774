package dev.fleetgov;

/**
 * The actor's role may not perform the operation (a viewer forcing a sync, an operator
 * overwriting a whole fleet). Nothing was changed.
 *
 * <pre>{@code
 * try {
 *     engine.forceGlobal("ws-1", new OverrideRequest("bob", Role.OPERATOR, "disaster recovery", now));
 * } catch (PermissionDeniedException e) {
 *     // only admins may overwrite a fleet
 * }
 * }</pre>
 */
public class PermissionDeniedException extends FleetException {
    /** Serialization version. */
    private static final long serialVersionUID = 1L;

    /**
     * An exception with code {@link Code#PERMISSION_DENIED}.
     *
     * @param detail the message for people
     */
    public PermissionDeniedException(String detail) {
        super(Code.PERMISSION_DENIED, detail);
    }
}
