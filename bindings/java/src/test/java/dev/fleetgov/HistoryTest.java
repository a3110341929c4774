package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What ran when, and signed attestations of it. */
class HistoryTest {
    static final long T = FleetEngineTest.T;

    @Test
    void whatRanFleetAtAndAttestations() {
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING)) {
            // Heartbeats count at min(stamp, engine clock): stamps up to T + 1 minute count as stamped.
            e.setClock(T + FleetEngineTest.MINUTE);
            Snapshot v1 = e.publish("c", FleetEngineTest.V1, "alice", T);
            e.enroll("a", "c", T);
            e.enroll("b", "c", T);
            e.enroll("idle", "c", T);
            e.heartbeat("a", FleetEngineTest.synced(v1, T + 10));
            e.heartbeat("b", FleetEngineTest.synced(v1, T + 12));
            Snapshot v2 = e.publish("c", FleetEngineTest.V2, "alice", T + 20);
            e.heartbeat("a", FleetEngineTest.synced(v2, T + 30));
            e.heartbeat("a", FleetEngineTest.synced(v2, T + 40)); // steady state: no new transition
            String forged = FleetGov.contentHash("forged".getBytes(StandardCharsets.UTF_8));
            e.heartbeat("b", Heartbeat.at(T + 50, "3.5.0").withApplied(v2.id(), forged));

            assertNull(e.whatRan("a", T + 5));
            assertEquals(new AppliedAt("a", v1.id(), v1.hash(), T + 10), e.whatRan("a", T + 15));
            assertEquals(new AppliedAt("a", v2.id(), v2.hash(), T + 30), e.whatRan("a", T + 45));
            assertEquals(forged, e.whatRan("b", T + 50).hash(), "what the node computed, not what it claimed");
            assertNull(e.whatRan("idle", T + 50));

            assertEquals(List.of(new AppliedAt("a", v1.id(), v1.hash(), T + 10), new AppliedAt("b", v1.id(), v1.hash(), T + 12)),
                    e.fleetAt("c", T + 25));
            FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> e.whatRan("nope", T));
            FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> e.fleetAt("nope", T));
            FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> e.attest("nope", T));
            assertThrows(IllegalArgumentException.class, () -> e.whatRan("a", -1));

            Attestation a = e.attest("c", T + 25);
            assertEquals("c", a.cluster());
            assertEquals(T + 25, a.atMs());
            assertEquals(e.fleetAt("c", T + 25), a.nodes());
            String key = e.checkpointVerifierKey();
            FleetGov.verifyAttestation(a, key);

            // Any change to what it states is caught with the public key alone.
            List<AppliedAt> swapped = new ArrayList<>(a.nodes());
            swapped.set(1, new AppliedAt("b", v2.id(), v2.hash(), T + 12));
            tampered(new Attestation(a.cluster(), a.atMs(), swapped, a.envelope()), key);
            tampered(new Attestation(a.cluster(), a.atMs(), a.nodes().subList(0, 1), a.envelope()), key);
            tampered(new Attestation(a.cluster(), a.atMs() + 1, a.nodes(), a.envelope()), key);
            tampered(new Attestation("d", a.atMs(), a.nodes(), a.envelope()), key);
            // The envelope is the signed part: another moment's envelope does not fit these nodes.
            assertTrue(a.envelope().contains("\"payloadType\":\"application/vnd.in-toto+json\""), a.envelope());
            tampered(new Attestation(a.cluster(), a.atMs(), a.nodes(), e.attest("c", T + 35).envelope()), key);
            try (FleetEngine other = new FleetEngine()) {
                tampered(a, other.checkpointVerifierKey());
            }
        }
    }

    /**
     * An attestation of thousands of nodes crosses JNI node by node; the build's -Xcheck:jni
     * scan (pom.xml) fails if that leaks local references (once it warned every ~32 nodes).
     */
    @Test
    void aLargeAttestationVerifiesWithinBoundedLocalReferences() {
        int nodes = 3_000;
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING)) {
            Snapshot v1 = e.publish("c", FleetEngineTest.V1, "alice", T);
            for (int i = 0; i < nodes; i++) {
                e.heartbeat(e.enroll("n" + i, "c", T), FleetEngineTest.synced(v1, T + 1));
            }
            e.setClock(T + 2); // nothing is attested about a moment after the engine's clock
            Attestation a = e.attest("c", T + 2);
            assertEquals(nodes, a.nodes().size());
            String key = e.checkpointVerifierKey();
            FleetGov.verifyAttestation(a, key);

            List<AppliedAt> last = new ArrayList<>(a.nodes());
            String forged = FleetGov.contentHash("forged".getBytes(StandardCharsets.UTF_8));
            last.set(nodes - 1, new AppliedAt("n" + (nodes - 1), v1.id(), forged, T + 1));
            tampered(new Attestation(a.cluster(), a.atMs(), last, a.envelope()), key);
        }
    }

    static void tampered(Attestation a, String key) {
        FleetException e = assertThrows(FleetException.class, () -> FleetGov.verifyAttestation(a, key));
        assertEquals(FleetException.Code.AUDIT_TAMPERED, e.code(), e.getMessage());
    }
}
