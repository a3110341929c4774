package dev.fleetgov;

/**
 * What an audit record records.
 *
 * <pre>{@code
 * long overrides = engine.audit().stream().filter(r -> r.action().isOverride()).count();
 * }</pre>
 */
public enum AuditAction {
    /** A snapshot was published. */
    PUBLISH,
    /** A workspace was created or changed. */
    UPSERT_WORKSPACE,
    /** A cluster was created or changed. */
    UPSERT_CLUSTER,
    /** One node was forced to resync (justified). */
    FORCE_SYNC_NODE,
    /** Every node of a cluster was forced to resync (justified). */
    FORCE_SYNC_CLUSTER,
    /** Every cluster of a workspace, or of the fleet, was forced to resync (justified, admin only). */
    GLOBAL_OVERWRITE,
    /** The engine told a divergent node of an auto-reconciling cluster to reconcile. */
    AUTO_RECONCILE,
    /** An org- or workspace-scoped policy was created or changed. */
    UPSERT_POLICY,
    /** An org- or workspace-scoped policy was removed. */
    REMOVE_POLICY,
    /** A segment of the execution journal was sealed: the record commits to its hash, count and time range. */
    SEAL_JOURNAL,
    /** A node was removed from its cluster (its enrolment ended). */
    REMOVE_NODE,
    /**
     * Sealed journal segments older than the retention were dropped: the record names how many
     * transitions, their time range and the hash of the file of bases that replaces them.
     */
    COMPACT_JOURNAL,
    /**
     * A rollout changed: a wave started, it halted, rolled back or completed, or an operator
     * paused, resumed, aborted or promoted it.
     */
    ROLLOUT;

    /**
     * Whether the action overrides the normal flow and so carries a justification.
     *
     * @return true for force syncs and global overwrites
     */
    public boolean isOverride() {
        return this == FORCE_SYNC_NODE || this == FORCE_SYNC_CLUSTER || this == GLOBAL_OVERWRITE;
    }
}
