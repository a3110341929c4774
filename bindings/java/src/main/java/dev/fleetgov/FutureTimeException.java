package dev.fleetgov;

/**
 * A question about a time after the engine's clock ({@link FleetEngine#whatRan},
 * {@link FleetEngine#fleetAt}, {@link FleetEngine#attest}): what runs then is not known yet, and
 * nothing is signed about the future.
 *
 * <pre>{@code
 * try {
 *     engine.attest("eks-prod-us", engine.clockMs() + 60_000);
 * } catch (FutureTimeException e) {
 *     // ask again about a moment that has passed
 * }
 * }</pre>
 */
public class FutureTimeException extends FleetException {
    /** Serialization version. */
    private static final long serialVersionUID = 1L;

    /**
     * An exception with code {@link Code#FUTURE}.
     *
     * @param detail the message for people
     */
    public FutureTimeException(String detail) {
        super(Code.FUTURE, detail);
    }
}
