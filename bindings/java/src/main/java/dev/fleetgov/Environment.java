package dev.fleetgov;

/**
 * The environment a cluster serves. Development clusters alone may use {@link AuthorityMode#DEV_OVERRIDE}.
 *
 * <pre>{@code
 * ClusterSpec spec = ClusterSpec.of("eks-prod-us", "ws-1", Environment.PRODUCTION);
 * }</pre>
 */
public enum Environment {
    /** Serves production traffic. */
    PRODUCTION,
    /** Pre-production. */
    STAGING,
    /** Development; local configuration may win. */
    DEVELOPMENT
}
