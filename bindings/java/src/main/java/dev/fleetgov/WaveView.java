package dev.fleetgov;

import java.util.OptionalLong;

/**
 * One wave of a rollout ({@link RolloutView#perWave()}): its nodes, how many of them verifiably
 * run the target, how many failed, and when it started.
 *
 * <pre>{@code
 * for (WaveView w : engine.rollout("eks-prod-us", now).orElseThrow().perWave()) {
 *     System.out.println(w.percent() + "%: " + w.onTarget() + "/" + w.nodes() + " on target");
 * }
 * }</pre>
 *
 * @param percent the wave's cumulative percentage of the cluster's nodes
 * @param nodes the wave's nodes
 * @param onTarget of them, verified on the target
 * @param failures of them, failing: a sync error or a hash mismatch reported since the wave
 *     started
 * @param startedMs when it started (unix ms), empty if it has not
 */
public record WaveView(int percent, long nodes, long onTarget, long failures, OptionalLong startedMs) {
    /**
     * Checks that {@code startedMs} is present (possibly empty).
     *
     * @param percent the wave's cumulative percentage
     * @param nodes the wave's nodes
     * @param onTarget of them, verified on the target
     * @param failures of them, failing
     * @param startedMs when it started, empty if it has not
     */
    public WaveView {
        Args.present("startedMs", startedMs);
    }
}
