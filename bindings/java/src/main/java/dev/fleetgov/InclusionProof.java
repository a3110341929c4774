package dev.fleetgov;

import java.util.List;

/**
 * Proof that audit record {@code leafIndex} is in the audit tree of {@code treeSize} records
 * (RFC 6962 over SHA-256), from {@link FleetEngine#inclusionProof}. A third party checks it with
 * {@link #verify} against a head it trusts: one a signed checkpoint commits to
 * ({@link FleetGov#openCheckpoint}).
 *
 * <pre>{@code
 * import java.security.MessageDigest;
 * import java.util.HexFormat;
 *
 * AuditHead head = FleetGov.openCheckpoint(engine.checkpoint(), engine.checkpointVerifierKey());
 * MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
 * sha256.update((byte) 0);                                        // RFC 6962 leaf prefix
 * String leaf = HexFormat.of().formatHex(sha256.digest(engine.auditEntry(2)));
 * engine.inclusionProof(2, head.size()).verify(leaf, head);        // throws if not included
 * }</pre>
 *
 * @param leafIndex the leaf's position: the record's sequence number
 * @param treeSize the size of the tree the proof is for
 * @param path the audit path, leaf level first, 64 hex characters each
 */
public record InclusionProof(long leafIndex, long treeSize, List<String> path) {
    /**
     * Makes the path immutable.
     *
     * @param leafIndex the leaf's position: the record's sequence number
     * @param treeSize the size of the tree the proof is for
     * @param path the audit path, leaf level first, 64 hex characters each
     * @throws IllegalArgumentException if a size is negative, or the path is null or holds a
     *     null hash
     */
    public InclusionProof {
        Args.time("leafIndex", leafIndex);
        Args.time("treeSize", treeSize);
        for (String hash : Args.present("path", path)) {
            Args.text("a hash of the path", hash);
        }
        path = List.copyOf(path);
    }

    /**
     * Checks that {@code leafHash} is leaf {@link #leafIndex()} of the audit tree whose trusted
     * head is {@code head}; the head's size must be {@link #treeSize()}, since an RFC 6962 path
     * does not bind the tree size by itself.
     *
     * @param leafHash the leaf's hash, {@code SHA-256(0x00 || entry)} in hex, where
     *     {@code entry} is the record's {@link FleetEngine#auditEntry}
     * @param head the trusted head
     * @throws FleetException {@code AUDIT_TAMPERED} if the proof does not hold;
     *     {@code INVALID_INPUT} for a malformed hash
     */
    public void verify(String leafHash, AuditHead head) {
        Args.text("leafHash", leafHash);
        Args.present("head", head);
        FleetGov.verifyInclusionProof(this, leafHash, head);
    }
}
