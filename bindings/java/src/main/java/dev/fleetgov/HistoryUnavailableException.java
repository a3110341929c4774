package dev.fleetgov;

/**
 * A question about a time before the history the engine retains ({@link FleetEngine#whatRan},
 * {@link FleetEngine#fleetAt}, {@link FleetEngine#attest}); the history begins when the engine
 * is made. Never answered with an empty or partial fleet.
 *
 * <pre>{@code
 * try {
 *     engine.fleetAt("eks-prod-us", 0);
 * } catch (HistoryUnavailableException e) {
 *     // the engine began later than that
 * }
 * }</pre>
 */
public class HistoryUnavailableException extends FleetException {
    /** Serialization version. */
    private static final long serialVersionUID = 1L;

    /**
     * An exception with code {@link Code#HISTORY_UNAVAILABLE}.
     *
     * @param detail the message for people
     */
    public HistoryUnavailableException(String detail) {
        super(Code.HISTORY_UNAVAILABLE, detail);
    }
}
