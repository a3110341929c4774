package dev.fleetgov;

import java.util.List;
import java.util.OptionalLong;

/**
 * One page of {@link FleetEngine#auditQuery}: the matching records, newest first, and where
 * the next (older) page begins.
 *
 * <pre>{@code
 * AuditQuery q = AuditQuery.newest().node("gw-1").limit(50);
 * for (AuditQueryPage page = engine.auditQuery(q); ; page = engine.auditQuery(q.before(page.nextBefore().getAsLong()))) {
 *     page.records().forEach(System.out::println);
 *     if (page.nextBefore().isEmpty()) break;
 * }
 * }</pre>
 *
 * @param records the matching records, newest first
 * @param nextBefore pass to {@link AuditQuery#before} for the next page; empty at the start of
 *     the log. A page scans at most 200,000 records, so it may hold fewer than its limit and
 *     still go on.
 */
public record AuditQueryPage(List<AuditRecord> records, OptionalLong nextBefore) {
    /**
     * An unmodifiable copy of the records.
     *
     * @param records the matching records, newest first
     * @param nextBefore where the next page begins
     */
    public AuditQueryPage {
        records = List.copyOf(records);
        Args.present("nextBefore", nextBefore);
    }
}
