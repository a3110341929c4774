package dev.fleetgov;

/**
 * A node and the cluster to enrol it in, for {@link FleetEngine#enrollMany}.
 *
 * <pre>{@code
 * long[] handles = engine.enrollMany(List.of(new Enrolment("gw-1", "eks-prod-us"),
 *         new Enrolment("gw-2", "eks-prod-us")), now);
 * }</pre>
 *
 * @param node the node id
 * @param cluster the cluster id
 */
public record Enrolment(String node, String cluster) {
    /**
     * Checks both ids are present.
     *
     * @param node the node id
     * @param cluster the cluster id
     * @throws IllegalArgumentException if either is null or blank
     */
    public Enrolment {
        Args.text("node", node);
        Args.text("cluster", cluster);
    }
}
