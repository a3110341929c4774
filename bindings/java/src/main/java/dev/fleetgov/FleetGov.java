package dev.fleetgov;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * Functions that need no engine: the content hash that authority and execution compare,
 * the checks a third party makes with a verifier key alone (signed checkpoints, audit proofs,
 * attestations), and the version of the native library.
 *
 * <pre>{@code
 * byte[] config = Files.readAllBytes(Path.of("gateway.yaml"));
 * String hash = FleetGov.contentHash(config); // 64 lowercase hex chars, blake3
 * }</pre>
 */
public final class FleetGov {
    static {
        NativeLibrary.load();
    }

    private FleetGov() {}

    /**
     * The content hash of configuration bytes: blake3, as 64 lowercase hex characters. It is
     * what a node reports as the hash it applied.
     *
     * @param bytes the configuration bytes
     * @return the hash in hex
     * @throws IllegalArgumentException if {@code bytes} is null
     */
    public static String contentHash(byte[] bytes) {
        return contentHash0(Args.present("bytes", bytes));
    }

    /**
     * The content hash of the remaining bytes of {@code buffer} (position to limit). A direct
     * buffer is hashed in place and must not be written while this runs; the buffer's
     * position is not changed.
     *
     * @param buffer the configuration bytes
     * @return the hash in hex
     * @throws IllegalArgumentException if {@code buffer} is null
     */
    public static String contentHash(ByteBuffer buffer) {
        Args.present("buffer", buffer);
        if (buffer.isDirect()) {
            return contentHashDirect0(buffer, buffer.position(), buffer.remaining());
        }
        byte[] copy = new byte[buffer.remaining()];
        buffer.duplicate().get(copy);
        return contentHash0(copy);
    }

    /**
     * The packed form of a runtime version, as the binary heartbeat record carries it (see
     * {@link HeartbeatBatch}); integer order is version order.
     *
     * @param version a semantic version such as {@code 3.5.0}
     * @return the packed bits
     * @throws FleetException {@code INVALID_INPUT} if it is not a semantic version in range
     */
    public static int runtimeVersionBits(String version) {
        return runtimeVersionBits0(Args.text("version", version));
    }

    /**
     * Checks a signed audit checkpoint (from {@link FleetEngine#checkpoint()}) with only the
     * log owner's public key (from {@link FleetEngine#checkpointVerifierKey()}): what a third
     * party does to hold the owner to a log head.
     *
     * @param note the signed checkpoint text
     * @param verifierKey the owner's verifier key
     * @return the head the owner signed
     * @throws FleetException {@code AUDIT_TAMPERED} if the signature does not verify or the
     *     origin is not the key's name; {@code INVALID_INPUT} for a malformed note or key
     */
    public static AuditHead openCheckpoint(String note, String verifierKey) {
        return openCheckpoint0(Args.present("note", note), Args.text("verifierKey", verifierKey));
    }

    /**
     * Checks a C2SP {@code tlog-proof@v1} bundle (from {@link FleetEngine#tlogProof}) offline,
     * with only the log owner's public key: the signature of the checkpoint it carries, then that
     * {@code entry} (from {@link FleetEngine#auditEntry}) is the leaf it names in the tree that
     * checkpoint signs.
     *
     * <pre>{@code
     * String bundle = engine.tlogProof(2);
     * AuditHead signed = FleetGov.verifyInclusion(bundle, engine.auditEntry(2), engine.checkpointVerifierKey());
     * }</pre>
     *
     * @param bundle the bundle text
     * @param entry the record's canonical entry bytes
     * @param verifierKey the owner's verifier key
     * @return the head the checkpoint signs
     * @throws FleetException {@code AUDIT_TAMPERED} if the signature or the path does not hold;
     *     {@code INVALID_INPUT} for a malformed bundle, checkpoint or key
     */
    public static AuditHead verifyInclusion(String bundle, byte[] entry, String verifierKey) {
        return verifyInclusion0(Args.present("bundle", bundle), Args.present("entry", entry),
                Args.text("verifierKey", verifierKey));
    }

    /** {@link InclusionProof#verify}, flat across JNI. */
    static void verifyInclusionProof(InclusionProof proof, String leafHash, AuditHead head) {
        verifyInclusionProof0(proof.leafIndex(), proof.treeSize(), proof.path().toArray(String[]::new), leafHash,
                head.size(), Args.present("head.root", head.root()));
    }

    /** {@link ConsistencyProof#verify}, flat across JNI. */
    static void verifyConsistencyProof(ConsistencyProof proof, AuditHead older, AuditHead newer) {
        verifyConsistencyProof0(proof.oldSize(), proof.newSize(), proof.path().toArray(String[]::new), older.size(),
                Args.present("older.root", older.root()), newer.size(), Args.present("newer.root", newer.root()));
    }

    /**
     * Checks an attestation (from {@link FleetEngine#attest}) with only the engine's public key:
     * the DSSE envelope's signature, and that its in-toto statement states the attestation's
     * cluster, moment, and exactly its nodes with their hashes.
     *
     * @param attestation the attestation
     * @param verifierKey the engine's verifier key
     * @throws FleetException {@code AUDIT_TAMPERED} if any of it does not hold
     */
    public static void verifyAttestation(Attestation attestation, String verifierKey) {
        Args.present("attestation", attestation);
        Args.text("verifierKey", verifierKey);
        List<AppliedAt> nodes = attestation.nodes();
        String[] ids = new String[nodes.size()];
        String[] hashes = new String[nodes.size()];
        for (int i = 0; i < ids.length; i++) {
            AppliedAt n = nodes.get(i);
            ids[i] = n.node();
            hashes[i] = n.hash();
        }
        verifyAttestation0(attestation.cluster(), attestation.atMs(), ids, hashes, attestation.envelope(),
                verifierKey);
    }

    /**
     * The version of the loaded native library.
     *
     * @return a semantic version such as {@code 0.1.0}
     */
    public static String nativeVersion() {
        NativeLibrary.load();
        return NativeLibrary.nativeVersion();
    }

    /** {@link #check} rule: an id ({@code fleetgov::validate_id}). */
    static final int RULE_ID = 0;
    /** {@link #check} rule: an actor or author ({@code fleetgov::validate_actor}). */
    static final int RULE_ACTOR = 1;
    /** {@link #check} rule: a cluster's owner team ({@code fleetgov::validate_owner_team}). */
    static final int RULE_OWNER_TEAM = 2;

    /**
     * Checks {@code value} by the engine's own rule, so a record refuses at construction what
     * the engine would refuse later, with the same {@code INVALID_INPUT} message.
     */
    static void check(int rule, String what, String value) {
        check0(rule, what, value);
    }

    /**
     * Checks a rollout plan by the engine's own rules ({@code RolloutPlan::new}), so
     * {@link RolloutPlan} refuses at construction what the engine would, with the same
     * {@code INVALID_INPUT} message.
     */
    static void checkPlan(int[] waves, long bakeMs, double maxFailurePct, boolean autoRollback) {
        checkPlan0(waves, bakeMs, maxFailurePct, autoRollback);
    }

    /**
     * Makes the native library panic, to prove that a panic arrives as
     * {@code FleetException(Code.PANIC)} and never crashes the JVM. Present only in native
     * libraries built with the {@code test-panic} feature (the default Maven build, for the
     * test suite); package-private.
     */
    static void panicForTest(String message) {
        panicForTest0(message);
    }

    private static native String contentHash0(byte[] bytes);

    private static native String contentHashDirect0(ByteBuffer buffer, int offset, int len);

    private static native int runtimeVersionBits0(String version);

    private static native AuditHead openCheckpoint0(String note, String verifierKey);

    private static native AuditHead verifyInclusion0(String bundle, byte[] entry, String verifierKey);

    private static native void verifyInclusionProof0(long leafIndex, long treeSize, String[] path, String leafHash,
            long headSize, String headRoot);

    private static native void verifyConsistencyProof0(long oldSize, long newSize, String[] path, long olderSize,
            String olderRoot, long newerSize, String newerRoot);

    private static native void verifyAttestation0(String cluster, long atMs, String[] nodes, String[] hashes,
            String envelope, String verifierKey);

    private static native void panicForTest0(String message);

    private static native void check0(int rule, String what, String value);

    private static native void checkPlan0(int[] waves, long bakeMs, double maxFailurePct, boolean autoRollback);
}
