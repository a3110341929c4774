package dev.fleetgov;

/**
 * Where a rollout stands ({@link RolloutView#state()}). While it is {@link #PROGRESSING},
 * {@link #BAKING}, {@link #PAUSED} or {@link #HALTED} the rollout decides what each node should
 * run; once {@link #ROLLED_BACK}, {@link #ABORTED} or {@link #COMPLETE} it is over.
 *
 * <pre>{@code
 * engine.rollout("eks-prod-us", now)
 *         .filter(r -> r.state() == RolloutState.HALTED)
 *         .ifPresent(r -> System.out.println("halted: " + r.reason()));
 * }</pre>
 */
public enum RolloutState {
    /** The newest started wave is converging. */
    PROGRESSING,
    /** The newest started wave converged and holds for the bake time. */
    BAKING,
    /** An operator paused it: no wave starts until it is resumed. */
    PAUSED,
    /** Failures exceeded the budget: no wave starts. */
    HALTED,
    /** Halted, then returned to the previous snapshot ({@link RolloutPlan#autoRollback()}). */
    ROLLED_BACK,
    /** An operator returned the cluster to the previous snapshot. */
    ABORTED,
    /** Every wave converged. */
    COMPLETE;

    /**
     * Whether the rollout still decides what nodes should run.
     *
     * @return true while progressing, baking, paused or halted
     */
    public boolean isActive() {
        return this == PROGRESSING || this == BAKING || this == PAUSED || this == HALTED;
    }
}
