package dev.fleetgov;

/**
 * Counts of one batch's outcomes; the outcome of each record is in the outcome buffer.
 *
 * <pre>{@code
 * BatchSummary s = engine.heartbeatBatch(batch);
 * assert s.accepted() + s.refused() == batch.size();
 * }</pre>
 *
 * @param accepted records accepted, with or without a directive
 * @param directives accepted records answered with a directive
 * @param refused records refused by a state rule (stale, from the future, unknown node)
 */
public record BatchSummary(long accepted, long directives, long refused) {}
