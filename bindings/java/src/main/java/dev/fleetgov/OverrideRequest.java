package dev.fleetgov;

import org.jspecify.annotations.Nullable;

/**
 * An override request: who asks for it, in which role, why, and when. A justification without
 * visible text is not refused here but by the engine, as {@link JustificationRequiredException},
 * so the caller learns why nothing happened; the engine also refuses, as {@code INVALID_INPUT},
 * a justification longer than 4096 UTF-8 bytes or holding a control character or a lone
 * surrogate, and an actor longer than 256 bytes or holding either (see
 * {@link FleetEngine#forceSync}). Nothing is trimmed or replaced.
 *
 * <pre>{@code
 * OverrideRequest by = new OverrideRequest("bob", Role.OPERATOR, "Rollback due to failed deployment", now);
 * engine.forceSync(ForceTarget.cluster("gke-stage-eu"), by);
 * }</pre>
 *
 * @param actor the person or service acting (1 to 256 UTF-8 bytes of visible text)
 * @param role the role they act in
 * @param justification why, at most 4096 UTF-8 bytes (null counts as blank)
 * @param atMs when (unix ms)
 */
public record OverrideRequest(String actor, Role role, @Nullable String justification, long atMs) {
    /**
     * Checks actor, role and time; a null justification becomes the empty string.
     *
     * @param actor the person or service acting
     * @param role the role they act in
     * @param justification why (null counts as blank)
     * @param atMs when (unix ms)
     */
    public OverrideRequest {
        Args.actor("actor", actor);
        Args.present("role", role);
        justification = justification == null ? "" : justification;
        Args.time("atMs", atMs);
    }
}
