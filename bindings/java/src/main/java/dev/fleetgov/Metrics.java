package dev.fleetgov;

/**
 * Runtime metrics a node reports in a heartbeat. Percentages are 0 to 100; the engine
 * rejects NaN, infinities and negative values with {@link FleetException.Code#INVALID_INPUT}.
 *
 * <pre>{@code
 * Heartbeat hb = Heartbeat.at(now, "3.5.0").withMetrics(new Metrics(12.5f, 40f, 1200f, 55f, 0));
 * }</pre>
 *
 * @param cpu CPU use, percent
 * @param memory memory use, percent
 * @param tps transactions per second
 * @param heap JVM heap use, percent
 * @param hotSwapErrors hot-swap errors since the runtime started
 */
public record Metrics(float cpu, float memory, float tps, float heap, int hotSwapErrors) {
    /** All zero. */
    public static final Metrics ZERO = new Metrics(0, 0, 0, 0, 0);
}
