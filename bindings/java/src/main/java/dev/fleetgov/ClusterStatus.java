package dev.fleetgov;

/**
 * A cluster's status: healthy only when every enrolled node is verified and none reports a sync
 * error; otherwise divergent below 50 % cohesion, syncing from 50 %.
 *
 * <pre>{@code
 * boolean green = engine.cluster("eks-prod-us", now).status() == ClusterStatus.HEALTHY;
 * }</pre>
 */
public enum ClusterStatus {
    /** Every enrolled node is verified, and no node's last heartbeat carries a sync error. */
    HEALTHY,
    /** Not healthy, with cohesion 50 or more (500 of 1,000 nodes verified): some nodes are catching up or report an error. */
    SYNCING,
    /** Cohesion below 50 (499 of 1,000 nodes verified): significant drift. */
    DIVERGENT
}
