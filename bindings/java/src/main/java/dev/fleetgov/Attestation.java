package dev.fleetgov;

import java.util.List;

/**
 * A signed statement of what every node of a cluster ran at one moment: the nodes, and a DSSE
 * envelope of an in-toto Statement v1 (one subject {@code <cluster>/<node>} with its blake3 hash
 * per node; the desired snapshot and the audit checkpoint of that moment in its predicate),
 * signed with the engine's checkpoint key. A third party checks it with
 * {@link FleetGov#verifyAttestation} and the engine's {@link FleetEngine#checkpointVerifierKey()},
 * or the envelope alone with any DSSE implementation (docs/attestation.md).
 *
 * <pre>{@code
 * Attestation a = engine.attest("eks-prod-us", incidentStartMs);
 * FleetGov.verifyAttestation(a, engine.checkpointVerifierKey()); // throws if tampered
 * }</pre>
 *
 * @param cluster the cluster
 * @param atMs the moment (unix ms)
 * @param nodes what each node ran then, by node id (nodes with nothing applied are left out)
 * @param envelope the DSSE envelope, JSON ({@code application/vnd.dsse+json})
 */
public record Attestation(String cluster, long atMs, List<AppliedAt> nodes, String envelope) {
    /**
     * Makes the list immutable.
     *
     * @param cluster the cluster
     * @param atMs the moment (unix ms)
     * @param nodes what each node ran then, by node id (nodes with nothing applied are left out)
     * @param envelope the DSSE envelope, JSON ({@code application/vnd.dsse+json})
     */
    public Attestation {
        nodes = List.copyOf(nodes);
    }
}
