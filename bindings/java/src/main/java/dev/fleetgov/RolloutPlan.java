package dev.fleetgov;

import java.util.List;

/**
 * How a published snapshot reaches its cluster: in {@code waves} (strictly increasing whole
 * percentages of the cluster's nodes, the last 100), each converged wave holding for
 * {@code bakeMs} before the next starts; when failures among the nodes of started waves exceed
 * {@code maxFailurePct} percent, the rollout halts, and with {@code autoRollback} the cluster
 * returns to the snapshot published before. Checked when made, by the engine's own rules.
 *
 * <pre>{@code
 * RolloutPlan canary = new RolloutPlan(List.of(10, 100), 60_000, 20.0, true);
 * Snapshot v2 = engine.publish("eks-prod-us", "rate_limit: 800".getBytes(), "alice", now, canary);
 * }</pre>
 *
 * @param waves cumulative percentages of the cluster's nodes, strictly increasing from 1, the
 *     last 100 (at most 100 waves)
 * @param bakeMs how long a converged wave holds before the next starts (ms)
 * @param maxFailurePct the failures allowed among the nodes of started waves, from 0 to 100
 *     percent
 * @param autoRollback whether a halt returns the cluster to the previous snapshot
 */
public record RolloutPlan(List<Integer> waves, long bakeMs, double maxFailurePct, boolean autoRollback) {
    /**
     * Checks the plan; the waves are copied.
     *
     * @param waves cumulative percentages, strictly increasing from 1, the last 100
     * @param bakeMs how long a converged wave holds (ms)
     * @param maxFailurePct the failures allowed, from 0 to 100 percent
     * @param autoRollback whether a halt returns the cluster to the previous snapshot
     * @throws IllegalArgumentException if {@code waves} is null or holds a null, or
     *     {@code bakeMs} is negative
     * @throws FleetException {@code INVALID_INPUT} for a plan the engine refuses: no wave, more
     *     than 100, waves not strictly increasing whole percentages from 1, a last wave other
     *     than 100, or a failure percentage outside 0 to 100 (NaN included)
     */
    public RolloutPlan {
        Args.present("waves", waves);
        for (Integer wave : waves) {
            Args.present("a wave", wave);
        }
        waves = List.copyOf(waves);
        Args.time("bakeMs", bakeMs);
        FleetGov.checkPlan(percents(waves), bakeMs, maxFailurePct, autoRollback);
    }

    /** The waves as the native side takes them. */
    int[] percents() {
        return percents(waves);
    }

    private static int[] percents(List<Integer> waves) {
        return waves.stream().mapToInt(Integer::intValue).toArray();
    }
}
