package dev.fleetgov;

/**
 * A cluster's status band, from its cohesion: 100 healthy, 50 to 99 syncing, below 50 divergent.
 *
 * <pre>{@code
 * boolean green = engine.cluster("eks-prod-us", now).status() == ClusterStatus.HEALTHY;
 * }</pre>
 */
public enum ClusterStatus {
    /** Every enrolled node runs the desired snapshot. */
    HEALTHY,
    /** Cohesion 50 to 99: some nodes are catching up. */
    SYNCING,
    /** Cohesion below 50: significant drift. */
    DIVERGENT
}
