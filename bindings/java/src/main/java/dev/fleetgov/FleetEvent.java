package dev.fleetgov;

import java.util.OptionalInt;
import org.jspecify.annotations.Nullable;

/**
 * One item of an engine's change feed, read from an {@link EventStream}: a node's transition,
 * a cluster's new counters, an audit record, or the news that the reader fell behind.
 *
 * <p>Changes carry a sequence number, consecutive from 0 for the engine's life (numbers are
 * handed out only while a stream is open). Steady-state heartbeats emit nothing: a node event
 * means the node's first report, another applied revision or hash verdict, another sync-error
 * code, or a move between in sync and divergent; a cluster event follows every node event that
 * moved the cluster's counters, every authority change of the cluster, and a read of the cluster
 * that found nodes no longer verified.
 *
 * <pre>{@code
 * import java.time.Duration;
 *
 * try (EventStream events = engine.events()) {
 *     FleetEvent e = events.poll(Duration.ofSeconds(1));
 *     if (e instanceof FleetEvent.NodeEvent n && !n.inSync()) {
 *         System.out.println(n.node() + " diverged: " + n.syncError());
 *     } else if (e instanceof FleetEvent.Lagged l) {
 *         System.out.println("missed " + l.missed() + " events; re-reading the views");
 *     }
 * }
 * }</pre>
 */
public sealed interface FleetEvent {
    /**
     * A node's transition, as of the heartbeat that caused it.
     *
     * <pre>{@code
     * FleetEvent.NodeEvent n = (FleetEvent.NodeEvent) engine.events(0).poll(java.time.Duration.ZERO);
     * int revision = n.appliedRevision().orElse(0);
     * }</pre>
     *
     * @param seq the event's sequence number
     * @param node the node id
     * @param cluster its cluster
     * @param atMs the heartbeat's time (unix ms)
     * @param appliedRevision the revision of its cluster it reports it applied; empty for none,
     *     or a snapshot the engine does not know
     * @param appliedHash the hash it computed over what it applied (hex), or null
     * @param inSync whether it runs the desired snapshot and verified its hash
     * @param syncError the code of the sync error it reports, or null
     */
    record NodeEvent(
            long seq,
            String node,
            String cluster,
            long atMs,
            OptionalInt appliedRevision,
            @Nullable String appliedHash,
            boolean inSync,
            @Nullable SyncErrorCode syncError) implements FleetEvent {}

    /**
     * A cluster's counters after a change, or after a read of the cluster found nodes that
     * stopped counting as verified (60 minutes without a heartbeat).
     *
     * <pre>{@code
     * if (event instanceof FleetEvent.ClusterEvent c && c.status() == ClusterStatus.DIVERGENT) {
     *     System.out.println(c.cluster() + ": " + c.inSync() + "/" + c.enrolled() + " in sync");
     * }
     * }</pre>
     *
     * @param seq the event's sequence number
     * @param cluster the cluster id
     * @param workspace its workspace
     * @param desiredRevision the desired revision (0: nothing published)
     * @param enrolled enrolled nodes
     * @param inSync nodes verified (in sync with the desired revision, heard from within 60
     *     minutes) when the event was written
     * @param cohesion percent of enrolled nodes verified, floored
     * @param cohesionBasisPoints the same in basis points, floored (9950 is 99.50 %)
     * @param status the cluster's status
     */
    record ClusterEvent(
            long seq,
            String cluster,
            String workspace,
            int desiredRevision,
            long enrolled,
            long inSync,
            int cohesion,
            int cohesionBasisPoints,
            ClusterStatus status) implements FleetEvent {}

    /**
     * A record added to the audit log: an authority change, an override or a reconciliation
     * wave. The whole record is {@link FleetEngine#auditRecord(long) auditRecord(auditSeq)}.
     *
     * <pre>{@code
     * if (event instanceof FleetEvent.AuditEvent a && a.action().isOverride()) {
     *     AuditRecord r = engine.auditRecord(a.auditSeq());
     *     System.out.println(r.actor() + " forced " + r.target() + ": " + r.justification());
     * }
     * }</pre>
     *
     * @param seq the event's sequence number
     * @param auditSeq the record's sequence number in the audit log
     * @param atMs when (unix ms)
     * @param actor who
     * @param action what
     * @param target on what ({@code cluster:<id>}, {@code node:<id>}, a snapshot id, ...)
     */
    record AuditEvent(long seq, long auditSeq, long atMs, String actor, AuditAction action, String target)
            implements FleetEvent {}

    /**
     * The reader fell behind by more than the feed holds ({@link FleetEngine.Options#withFeedCapacity}):
     * {@code missed} events are gone for it. The stream goes on with the oldest event still
     * held; re-read the views ({@link FleetEngine#cluster}, {@link FleetEngine#node}) to catch up.
     *
     * <pre>{@code
     * if (event instanceof FleetEvent.Lagged l) {
     *     System.out.println("missed " + l.missed());
     * }
     * }</pre>
     *
     * @param missed how many events this reader will never see
     */
    record Lagged(long missed) implements FleetEvent {}
}
