package dev.fleetgov;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A cluster: its authority (desired snapshot and hash) beside its execution (how many nodes
 * verifiably run it). Immutable.
 *
 * <p>A node is verified at the query time when its last report is in sync (the desired snapshot
 * id and the authority's hash) and its last heartbeat is at most 60 minutes old (exactly 60
 * minutes still counts). Cohesion floors, so it is 100 only when every node is verified: 199 of
 * 200 is 99 (9950 basis points). The status is {@code HEALTHY} when every node is verified and no
 * node's last heartbeat carries a sync error; otherwise {@code DIVERGENT} below 50 % cohesion,
 * otherwise {@code SYNCING}.
 *
 * <pre>{@code
 * ClusterView c = engine.cluster("eks-prod-us", now);
 * System.out.printf("%d / %d NODES VERIFIED, %.2f %% %s%n",
 *         c.inSync(), c.total(), c.cohesionBasisPoints() / 100.0, c.status());
 * }</pre>
 *
 * @param id the cluster id
 * @param workspace its workspace
 * @param environment production, staging or development
 * @param ownerTeam the accountable team
 * @param autoReconcile whether divergent nodes are told to reconcile
 * @param status HEALTHY (every node verified, no sync error), SYNCING or DIVERGENT (cohesion
 *     below 50)
 * @param cohesion percent of enrolled nodes verified, floored (100 for an empty cluster)
 * @param cohesionBasisPoints the same in basis points, floored: 0 to 10000 (9950 is 99.50 %)
 * @param inSync nodes verified: in sync and heard from within the last 60 minutes
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
        int cohesionBasisPoints,
        long inSync,
        long total,
        @Nullable String desiredSnapshot,
        int desiredRevision,
        @Nullable String desiredHash,
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
     * @param status HEALTHY (every node verified, no sync error), SYNCING or DIVERGENT (cohesion
     *     below 50)
     * @param cohesion percent of enrolled nodes verified, floored (100 for an empty cluster)
     * @param cohesionBasisPoints the same in basis points, floored: 0 to 10000 (9950 is 99.50 %)
     * @param inSync nodes verified: in sync and heard from within the last 60 minutes
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
