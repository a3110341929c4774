package dev.fleetgov;

/**
 * A cluster as its owner declares it: a group of nodes with one desired snapshot.
 *
 * <pre>{@code
 * engine.upsertCluster(ClusterSpec.of("eks-prod-us", "ws-1", Environment.PRODUCTION)
 *         .withOwnerTeam("edge")
 *         .withAutoReconcile(true));
 * }</pre>
 *
 * @param id the cluster id
 * @param workspace the workspace it belongs to
 * @param environment production, staging or development
 * @param ownerTeam the accountable team: empty, or 1 to 256 UTF-8 bytes of visible text with no
 *     control character or lone surrogate ({@code INVALID_INPUT} otherwise), stored unaltered
 * @param autoReconcile whether divergent nodes are told to reconcile in answer to their heartbeats
 */
public record ClusterSpec(String id, String workspace, Environment environment, String ownerTeam, boolean autoReconcile) {
    /**
     * Checks that every component is present.
     *
     * @param id the cluster id
     * @param workspace the workspace it belongs to
     * @param environment production, staging or development
     * @param ownerTeam the accountable team: empty, or 1 to 256 UTF-8 bytes of visible text with
     *     no control character or lone surrogate
     * @param autoReconcile whether divergent nodes are told to reconcile in answer to their heartbeats
     */
    public ClusterSpec {
        Args.id("cluster", id);
        Args.id("workspace", workspace);
        Args.present("environment", environment);
        Args.ownerTeam("ownerTeam", ownerTeam);
    }

    /**
     * A cluster with no owner team and auto-reconcile off.
     *
     * @param id the cluster id
     * @param workspace the workspace it belongs to
     * @param environment its environment
     * @return the spec
     */
    public static ClusterSpec of(String id, String workspace, Environment environment) {
        return new ClusterSpec(id, workspace, environment, "", false);
    }

    /**
     * This spec with another owner team.
     *
     * @param team the team
     * @return a new spec
     */
    public ClusterSpec withOwnerTeam(String team) {
        return new ClusterSpec(id, workspace, environment, team, autoReconcile);
    }

    /**
     * This spec with auto-reconcile switched on or off.
     *
     * @param on whether divergent nodes are told to reconcile
     * @return a new spec
     */
    public ClusterSpec withAutoReconcile(boolean on) {
        return new ClusterSpec(id, workspace, environment, ownerTeam, on);
    }
}
