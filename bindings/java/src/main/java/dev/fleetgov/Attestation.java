package dev.fleetgov;

import java.util.List;

/**
 * A signed statement of what every node of a cluster ran at one moment: the nodes, a Merkle
 * root (RFC 9162, blake3) over their {@code (id, hash)}, and a note signed with the engine's
 * checkpoint key that binds cluster, moment, count and root. A third party checks it with
 * {@link FleetGov#verifyAttestation} and the engine's {@link FleetEngine#checkpointVerifierKey()}.
 *
 * <pre>{@code
 * Attestation a = engine.attest("eks-prod-us", incidentStartMs);
 * FleetGov.verifyAttestation(a, engine.checkpointVerifierKey()); // throws if tampered
 * }</pre>
 *
 * @param cluster the cluster
 * @param atMs the moment (unix ms)
 * @param nodes what each node ran then, by node id (nodes with nothing applied are left out)
 * @param root the Merkle root, base64
 * @param note the signed note
 */
public record Attestation(String cluster, long atMs, List<AppliedAt> nodes, String root, String note) {
    /**
     * Makes the list immutable.
     *
     * @param cluster the cluster
     * @param atMs the moment (unix ms)
     * @param nodes what each node ran then, by node id (nodes with nothing applied are left out)
     * @param root the Merkle root, base64
     * @param note the signed note
     */
    public Attestation {
        nodes = List.copyOf(nodes);
    }
}
