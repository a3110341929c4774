package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Audit proofs made by an engine and checked with the verifier key alone. */
class ProofTest {
    static final long T = FleetEngineTest.T;

    /** The RFC 6962 leaf hash, with nothing but the JDK. */
    static String leaf(byte[] entry) throws NoSuchAlgorithmException {
        MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
        sha256.update((byte) 0);
        return HexFormat.of().formatHex(sha256.digest(entry));
    }

    static String flip(String hex) {
        return Integer.toHexString(Character.digit(hex.charAt(0), 16) ^ 1) + hex.substring(1);
    }

    static FleetEngine logged(int records) {
        FleetEngine e = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T));
        grow(e, records);
        return e;
    }

    static void grow(FleetEngine e, int records) {
        long base = e.audit().size();
        for (int i = 0; i < records; i++) {
            e.upsertWorkspace(WorkspaceSpec.of("ws-" + (base + i)));
        }
    }

    static void tampered(Executable check) {
        FleetEngineTest.fails(FleetException.Code.AUDIT_TAMPERED, check);
    }

    @Test
    void everyRecordIsProvedIncludedInASignedHead() throws Exception {
        try (FleetEngine e = logged(7)) {
            AuditHead head = FleetGov.openCheckpoint(e.checkpoint(), e.checkpointVerifierKey());
            assertEquals(e.verifyAudit(), head);
            for (long seq = 0; seq < 7; seq++) {
                InclusionProof proof = e.inclusionProof(seq);
                assertEquals(seq, proof.leafIndex());
                assertEquals(7, proof.treeSize());
                proof.verify(leaf(e.auditEntry(seq)), head);
                assertEquals(proof, e.inclusionProof(seq, 7));
            }
            assertEquals(5, e.inclusionProof(2, 5).treeSize());
        }
    }

    @Test
    void aChangedInclusionProofOrWhatItIsCheckedAgainstFails() throws Exception {
        try (FleetEngine e = logged(7)) {
            AuditHead head = FleetGov.openCheckpoint(e.checkpoint(), e.checkpointVerifierKey());
            InclusionProof proof = e.inclusionProof(3);
            String leaf = leaf(e.auditEntry(3));
            for (int i = 0; i < proof.path().size(); i++) {
                List<String> path = new ArrayList<>(proof.path());
                path.set(i, flip(path.get(i)));
                tampered(() -> new InclusionProof(3, 7, path).verify(leaf, head));
            }
            tampered(() -> new InclusionProof(4, 7, proof.path()).verify(leaf, head));
            tampered(() -> new InclusionProof(3, 7, proof.path().subList(0, 2)).verify(leaf, head));
            tampered(() -> proof.verify(leaf(e.auditEntry(2)), head));
            tampered(() -> proof.verify(leaf, new AuditHead(7, flip(head.root()))));
            tampered(() -> proof.verify(leaf, new AuditHead(8, head.root()))); // the head's size binds the proof's
            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> proof.verify("zz", head));
            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                    () -> new InclusionProof(3, 7, List.of("abc")).verify(leaf, head));
            assertThrows(IllegalArgumentException.class, () -> proof.verify(leaf, null));
            assertThrows(IllegalArgumentException.class, () -> new InclusionProof(-1, 7, List.of()));
            assertThrows(IllegalArgumentException.class, () -> new InclusionProof(0, 7, Arrays.asList((String) null)));
        }
    }

    @Test
    void consistencyBetweenTwoSignedHeads() {
        try (FleetEngine e = logged(7)) {
            String key = e.checkpointVerifierKey();
            AuditHead older = FleetGov.openCheckpoint(e.checkpoint(), key);
            grow(e, 6);
            AuditHead newer = FleetGov.openCheckpoint(e.checkpoint(), key);
            ConsistencyProof proof = e.consistencyProof(older.size());
            assertEquals(new ConsistencyProof(7, 13, proof.path()), proof);
            assertEquals(proof, e.consistencyProof(7, 13));
            proof.verify(older, newer);
            tampered(() -> proof.verify(newer, older));
            for (int i = 0; i < proof.path().size(); i++) {
                List<String> path = new ArrayList<>(proof.path());
                path.set(i, flip(path.get(i)));
                tampered(() -> new ConsistencyProof(7, 13, path).verify(older, newer));
            }
            tampered(() -> proof.verify(older, new AuditHead(13, flip(newer.root()))));
            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> e.consistencyProof(14));
            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> e.consistencyProof(5, 3));
            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> e.inclusionProof(13));
            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> e.inclusionProof(0, 14));
            assertThrows(IllegalArgumentException.class, () -> e.consistencyProof(-1));
            assertThrows(IllegalArgumentException.class, () -> e.consistencyProof(0, -1));
            assertThrows(IllegalArgumentException.class, () -> e.inclusionProof(0, -1));
        }
    }

    @Test
    void tlogProofBundlesAreCheckedOfflineWithTheKeyAlone() {
        try (FleetEngine e = logged(7); FleetEngine other = new FleetEngine()) {
            String key = e.checkpointVerifierKey();
            String bundle = e.tlogProof(4);
            assertTrue(bundle.startsWith("c2sp.org/tlog-proof@v1\nindex 4\n"), bundle);
            byte[] entry = e.auditEntry(4);
            assertEquals(e.verifyAudit(), FleetGov.verifyInclusion(bundle, entry, key));
            tampered(() -> FleetGov.verifyInclusion(bundle, e.auditEntry(5), key));
            tampered(() -> FleetGov.verifyInclusion(bundle.replace("index 4", "index 5"), entry, key));
            tampered(() -> FleetGov.verifyInclusion(bundle, entry, other.checkpointVerifierKey()));
            String[] parts = bundle.split("\n\n", 2);
            String forged = parts[0] + "\n\n" + parts[1].replaceFirst("\n7\n", "\n8\n"); // the size it signs
            assertNotEquals(bundle, forged);
            tampered(() -> FleetGov.verifyInclusion(forged, entry, key));
            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> FleetGov.verifyInclusion("no bundle", entry, key));
            FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> e.tlogProof(7));
            FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> e.auditEntry(7));
            assertThrows(IllegalArgumentException.class, () -> FleetGov.verifyInclusion(bundle, null, key));
        }
    }

    @Test
    void checkpointsAndProofsSurviveARestart(@TempDir Path dir) throws Exception {
        String key;
        String before;
        try (FleetEngine e = DurableTest.open(dir, T)) {
            grow(e, 3);
            key = e.checkpointVerifierKey();
            before = e.checkpoint();
        }
        try (FleetEngine e = DurableTest.open(dir, T)) {
            grow(e, 2);
            AuditHead older = FleetGov.openCheckpoint(before, key);
            AuditHead newer = FleetGov.openCheckpoint(e.checkpoint(), key);
            e.consistencyProof(older.size(), newer.size()).verify(older, newer);
            e.inclusionProof(1, newer.size()).verify(leaf(e.auditEntry(1)), newer);
            FleetGov.verifyInclusion(e.tlogProof(1), e.auditEntry(1), key);
        }
    }
}
