package dev.fleetgov;

/**
 * How many nodes of a cluster verifiably run one revision; revision 0 counts nodes that run
 * nothing verified (no heartbeat, no snapshot reported, or a hash that did not match).
 *
 * <pre>{@code
 * for (RevisionCount r : engine.cluster("eks-prod-us", now).revisions()) {
 *     System.out.println("r" + r.revision() + ": " + r.nodes());
 * }
 * }</pre>
 *
 * @param revision the revision (0: unverified)
 * @param nodes nodes verified to run it
 */
public record RevisionCount(int revision, long nodes) {}
