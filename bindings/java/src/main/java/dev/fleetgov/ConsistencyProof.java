package dev.fleetgov;

import java.util.List;

/**
 * Proof that the audit tree of {@code oldSize} records is a prefix of the tree of
 * {@code newSize} records: the log was only appended to, never rewritten. From
 * {@link FleetEngine#consistencyProof}; checked with {@link #verify} against two heads the
 * checker trusts.
 *
 * <pre>{@code
 * String key = engine.checkpointVerifierKey();
 * AuditHead older = FleetGov.openCheckpoint(engine.checkpoint(), key);
 * engine.upsertWorkspace(WorkspaceSpec.of("ws-2"));                // the log grows
 * AuditHead newer = FleetGov.openCheckpoint(engine.checkpoint(), key);
 * engine.consistencyProof(older.size(), newer.size()).verify(older, newer);
 * }</pre>
 *
 * @param oldSize the size of the older tree
 * @param newSize the size of the newer tree
 * @param path the proof's node hashes, 64 hex characters each
 */
public record ConsistencyProof(long oldSize, long newSize, List<String> path) {
    /**
     * Makes the path immutable.
     *
     * @param oldSize the size of the older tree
     * @param newSize the size of the newer tree
     * @param path the proof's node hashes, 64 hex characters each
     * @throws IllegalArgumentException if a size is negative, or the path is null or holds a
     *     null hash
     */
    public ConsistencyProof {
        Args.time("oldSize", oldSize);
        Args.time("newSize", newSize);
        for (String hash : Args.present("path", path)) {
            Args.text("a hash of the path", hash);
        }
        path = List.copyOf(path);
    }

    /**
     * Checks that the tree with trusted head {@code older} is a prefix of the one with trusted
     * head {@code newer}; their sizes must be the proof's.
     *
     * @param older the trusted head of the older log
     * @param newer the trusted head of the newer log
     * @throws FleetException {@code AUDIT_TAMPERED} if the proof does not hold;
     *     {@code INVALID_INPUT} for a malformed hash
     */
    public void verify(AuditHead older, AuditHead newer) {
        Args.present("older", older);
        Args.present("newer", newer);
        FleetGov.verifyConsistencyProof(this, older, newer);
    }
}
