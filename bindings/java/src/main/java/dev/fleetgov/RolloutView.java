package dev.fleetgov;

import java.util.List;
import java.util.OptionalLong;
import org.jspecify.annotations.Nullable;

/**
 * A cluster's rollout at one moment ({@link FleetEngine#rollout}). Nodes of started waves should
 * run {@code targetSnapshot}, the others keep {@code previousSnapshot} until their wave starts.
 * Immutable.
 *
 * <pre>{@code
 * RolloutView r = engine.rollout("eks-prod-us", now).orElseThrow();
 * System.out.println(r.state() + " wave " + (r.wave() + 1) + "/" + r.waves().size() + ": "
 *         + r.onTarget() + "/" + r.nodesStarted() + " on " + r.targetSnapshot()
 *         + ", " + r.failures() + " failed of " + r.failureBudget() + " allowed");
 * }</pre>
 *
 * @param cluster the cluster
 * @param state where it stands
 * @param wave the index of the newest started wave
 * @param waves the plan's waves: cumulative percentages of the cluster's nodes
 * @param bakeMs how long a converged wave holds before the next starts (ms)
 * @param maxFailurePct the failures allowed, in percent of the nodes of started waves
 * @param autoRollback whether a halt returns the cluster to the previous snapshot
 * @param targetSnapshot the snapshot the rollout moves nodes to
 * @param previousSnapshot the snapshot nodes of waves not started keep
 * @param nodesStarted nodes of started waves
 * @param onTarget of them, verified on the target
 * @param failures of them, failing: a sync error or a hash mismatch reported since their wave
 *     started
 * @param failureBudget the failures the plan allows among {@code nodesStarted}
 * @param reason why it halted (counts and failure codes), while halted or rolled back; else
 *     null
 * @param sinceMs when the current state began (unix ms)
 * @param bakeEndsMs when the current bake ends, while baking; else empty
 * @param perWave each wave's figures, in order
 */
public record RolloutView(
        String cluster,
        RolloutState state,
        int wave,
        List<Integer> waves,
        long bakeMs,
        double maxFailurePct,
        boolean autoRollback,
        String targetSnapshot,
        String previousSnapshot,
        long nodesStarted,
        long onTarget,
        long failures,
        long failureBudget,
        @Nullable String reason,
        long sinceMs,
        OptionalLong bakeEndsMs,
        List<WaveView> perWave) {
    /**
     * Copies the lists.
     *
     * @param cluster the cluster
     * @param state where it stands
     * @param wave the index of the newest started wave
     * @param waves the plan's waves
     * @param bakeMs the bake time (ms)
     * @param maxFailurePct the failures allowed, in percent
     * @param autoRollback whether a halt rolls back
     * @param targetSnapshot the target snapshot
     * @param previousSnapshot the previous snapshot
     * @param nodesStarted nodes of started waves
     * @param onTarget of them, verified on the target
     * @param failures of them, failing
     * @param failureBudget the failures allowed
     * @param reason why it halted, or null
     * @param sinceMs when the current state began
     * @param bakeEndsMs when the current bake ends, or empty
     * @param perWave each wave's figures
     */
    public RolloutView {
        waves = List.copyOf(waves);
        perWave = List.copyOf(perWave);
    }

    /** What the native side builds: the waves as an array. */
    RolloutView(String cluster, RolloutState state, int wave, int[] waves, long bakeMs, double maxFailurePct,
            boolean autoRollback, String targetSnapshot, String previousSnapshot, long nodesStarted, long onTarget,
            long failures, long failureBudget, @Nullable String reason, long sinceMs, OptionalLong bakeEndsMs,
            List<WaveView> perWave) {
        this(cluster, state, wave, java.util.Arrays.stream(waves).boxed().toList(), bakeMs, maxFailurePct,
                autoRollback, targetSnapshot, previousSnapshot, nodesStarted, onTarget, failures, failureBudget,
                reason, sinceMs, bakeEndsMs, perWave);
    }
}
