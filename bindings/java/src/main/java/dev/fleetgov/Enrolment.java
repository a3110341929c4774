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
     * @throws IllegalArgumentException if either is null
     * @throws FleetException {@code INVALID_INPUT} for an id the engine refuses (1 to 128 bytes of
     *     ASCII letters, digits, {@code . _ - :})
     */
    public Enrolment {
        Args.id("node", node);
        Args.id("cluster", cluster);
    }
}
