package dev.fleetgov;

import java.util.List;

/**
 * A cluster: its authority (desired snapshot and hash) beside its execution (how many nodes
 * verifiably run it). Immutable.
 *
 * <pre>{@code
 * ClusterView c = engine.cluster("eks-prod-us", now);
 * System.out.println(c.inSync() + " / " + c.total() + " NODES VERIFIED, " + c.cohesion() + "% " + c.status());
 * }</pre>
 *
 * @param id the cluster id
 * @param workspace its workspace
 * @param environment production, staging or development
 * @param ownerTeam the accountable team
 * @param autoReconcile whether divergent nodes are told to reconcile
 * @param status the band of {@code cohesion}
 * @param cohesion percent of enrolled nodes in sync, rounded half up
 * @param inSync nodes in sync
 * @param total nodes enrolled
 * @param desiredSnapshot the desired snapshot id, or null when nothing is published
 * @param desiredRevision the desired revision (0: nothing published)
 * @param desiredHash the desired artifact hash, or null
 * @param revisions nodes per verified applied revision (non-zero buckets only)
 * @param rootCauses sync-error codes reported by the cluster's nodes, most frequent first
 */
public record ClusterView(
        String id,
        String workspace,
        Environment environment,
        String ownerTeam,
        boolean autoReconcile,
        ClusterStatus status,
        int cohesion,
        long inSync,
        long total,
        String desiredSnapshot,
        int desiredRevision,
        String desiredHash,
        List<RevisionCount> revisions,
        List<RootCause> rootCauses) {
    /**
     * Makes the lists immutable.
     *
     * @param id the cluster id
     * @param workspace its workspace
     * @param environment production, staging or development
     * @param ownerTeam the accountable team
     * @param autoReconcile whether divergent nodes are told to reconcile
     * @param status the band of {@code cohesion}
     * @param cohesion percent of enrolled nodes in sync, rounded half up
     * @param inSync nodes in sync
     * @param total nodes enrolled
     * @param desiredSnapshot the desired snapshot id, or null when nothing is published
     * @param desiredRevision the desired revision (0: nothing published)
     * @param desiredHash the desired artifact hash, or null
     * @param revisions nodes per verified applied revision (non-zero buckets only)
     * @param rootCauses sync-error codes reported by the cluster's nodes, most frequent first
     */
    public ClusterView {
        revisions = List.copyOf(revisions);
        rootCauses = List.copyOf(rootCauses);
    }
}
