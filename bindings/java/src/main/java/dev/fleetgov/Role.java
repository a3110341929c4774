package dev.fleetgov;

/**
 * The role an actor acts in: viewers force nothing, operators may force-sync a node or a
 * cluster, admins may also overwrite a whole workspace or fleet.
 *
 * <pre>{@code
 * engine.forceSync(ForceTarget.node("gw-7"), new OverrideRequest("bob", Role.OPERATOR, "Node re-provisioning", now));
 * }</pre>
 */
public enum Role {
    /** Read-only. */
    VIEWER,
    /** May force-sync nodes and clusters. */
    OPERATOR,
    /** May do everything, including a global overwrite. */
    ADMIN
}
