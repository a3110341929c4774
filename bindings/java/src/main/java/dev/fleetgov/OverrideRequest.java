package dev.fleetgov;

/**
 * An override request: who asks for it, in which role, why, and when. A blank justification is not
 * refused here but by the engine, as {@link JustificationRequiredException}, so the caller
 * learns why nothing happened.
 *
 * <pre>{@code
 * OverrideRequest by = new OverrideRequest("bob", Role.OPERATOR, "Rollback due to failed deployment", now);
 * engine.forceSync(ForceTarget.cluster("gke-stage-eu"), by);
 * }</pre>
 *
 * @param actor the person or service acting
 * @param role the role they act in
 * @param justification why (null counts as blank)
 * @param atMs when (unix ms)
 */
public record OverrideRequest(String actor, Role role, String justification, long atMs) {
    /**
     * Checks actor, role and time; a null justification becomes the empty string.
     *
     * @param actor the person or service acting
     * @param role the role they act in
     * @param justification why (null counts as blank)
     * @param atMs when (unix ms)
     */
    public OverrideRequest {
        Args.text("actor", actor);
        Args.present("role", role);
        justification = justification == null ? "" : justification;
        Args.time("atMs", atMs);
    }
}
