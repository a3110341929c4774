package dev.fleetgov;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What {@link FleetEngine#auditQuery} asks for: filters, every one given must match, a cursor
 * and a page size. Immutable; each method returns a new query.
 *
 * <pre>{@code
 * AuditQuery q = AuditQuery.newest().cluster("eks-prod-us").actor("bob").fromMs(incidentStartMs).limit(20);
 * }</pre>
 *
 * @param actions any of these actions (every action when empty)
 * @param target the exact target, e.g. {@code node:gw-1}, {@code cluster:eks-prod-us}, {@code fleet}
 * @param cluster records about this cluster: the cluster, its snapshots and its nodes
 * @param node records about this node
 * @param actor records made by this actor
 * @param fromMs records stamped at or after this moment (unix ms)
 * @param toMs records stamped at or before this moment (unix ms)
 * @param before records with a sequence number below this one; the end of the log when empty
 * @param limit the most records of the page, 1 to 1000
 */
public record AuditQuery(
        List<AuditAction> actions,
        Optional<String> target,
        Optional<String> cluster,
        Optional<String> node,
        Optional<String> actor,
        OptionalLong fromMs,
        OptionalLong toMs,
        OptionalLong before,
        int limit) {

    /** The most records of one page. */
    public static final int MAX_LIMIT = 1000;

    /**
     * Checks every field.
     *
     * @param actions any of these actions
     * @param target the exact target
     * @param cluster the cluster
     * @param node the node
     * @param actor the actor
     * @param fromMs the earliest moment
     * @param toMs the latest moment
     * @param before the cursor
     * @param limit the page size, 1 to 1000
     * @throws IllegalArgumentException for a null field, a negative time or cursor, or a limit
     *     out of range
     */
    public AuditQuery {
        actions = List.copyOf(Args.present("actions", actions));
        Args.present("target", target);
        Args.present("cluster", cluster);
        Args.present("node", node);
        Args.present("actor", actor);
        for (OptionalLong t : List.of(Args.present("fromMs", fromMs), Args.present("toMs", toMs),
                Args.present("before", before))) {
            t.ifPresent(ms -> Args.time("fromMs, toMs and before", ms));
        }
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be from 1 to " + MAX_LIMIT + ", not " + limit);
        }
    }

    /**
     * The newest 50 records, unfiltered.
     *
     * @return the query
     */
    public static AuditQuery newest() {
        return new AuditQuery(List.of(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), 50);
    }

    /**
     * Only these actions.
     *
     * @param only the actions
     * @return the narrowed query
     */
    public AuditQuery actions(AuditAction... only) {
        return new AuditQuery(List.of(only), target, cluster, node, actor, fromMs, toMs, before, limit);
    }

    /**
     * Only this exact target.
     *
     * @param exact e.g. {@code node:gw-1}
     * @return the narrowed query
     */
    public AuditQuery target(String exact) {
        return new AuditQuery(actions, Optional.of(Args.text("target", exact)), cluster, node, actor, fromMs, toMs,
                before, limit);
    }

    /**
     * Only records about this cluster, its snapshots and its nodes.
     *
     * @param id the cluster id
     * @return the narrowed query
     */
    public AuditQuery cluster(String id) {
        return new AuditQuery(actions, target, Optional.of(Args.text("cluster", id)), node, actor, fromMs, toMs,
                before, limit);
    }

    /**
     * Only records about this node.
     *
     * @param id the node id
     * @return the narrowed query
     */
    public AuditQuery node(String id) {
        return new AuditQuery(actions, target, cluster, Optional.of(Args.text("node", id)), actor, fromMs, toMs,
                before, limit);
    }

    /**
     * Only records made by this actor.
     *
     * @param who the actor
     * @return the narrowed query
     */
    public AuditQuery actor(String who) {
        return new AuditQuery(actions, target, cluster, node, Optional.of(Args.text("actor", who)), fromMs, toMs,
                before, limit);
    }

    /**
     * Only records stamped at or after {@code ms}.
     *
     * @param ms unix ms
     * @return the narrowed query
     */
    public AuditQuery fromMs(long ms) {
        return new AuditQuery(actions, target, cluster, node, actor, OptionalLong.of(ms), toMs, before, limit);
    }

    /**
     * Only records stamped at or before {@code ms}.
     *
     * @param ms unix ms
     * @return the narrowed query
     */
    public AuditQuery toMs(long ms) {
        return new AuditQuery(actions, target, cluster, node, actor, fromMs, OptionalLong.of(ms), before, limit);
    }

    /**
     * Only records with a sequence number below {@code seq}: the page after one whose
     * {@link AuditQueryPage#nextBefore} it is.
     *
     * @param seq the cursor
     * @return the query of the next page
     */
    public AuditQuery before(long seq) {
        return new AuditQuery(actions, target, cluster, node, actor, fromMs, toMs, OptionalLong.of(seq), limit);
    }

    /**
     * At most {@code n} records.
     *
     * @param n 1 to 1000
     * @return the query
     */
    public AuditQuery limit(int n) {
        return new AuditQuery(actions, target, cluster, node, actor, fromMs, toMs, before, n);
    }
}
