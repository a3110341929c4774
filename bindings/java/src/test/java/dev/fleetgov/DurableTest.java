package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Durable engines on a data directory, history ranges and all-or-nothing bulk enrolment. */
class DurableTest {
    static final long T = FleetEngineTest.T;

    static FleetEngine open(Path dir, long nowMs) {
        return new FleetEngine(FleetEngine.Options.defaults().withManualClock(nowMs).withDataDir(dir)
                .withJournalInterval(Duration.ofMillis(10)));
    }

    static void beat(FleetEngine e, String node, long atMs, Snapshot s, String hash) {
        e.heartbeat(node, Heartbeat.at(atMs, "3.5.0").withApplied(s.id(), hash));
    }

    @Test
    void aRestartKeepsAuthorityEnrolmentsHistoryNodeStateAndTheKey(@TempDir Path dir) {
        Snapshot r1;
        Snapshot r2;
        long[] handles;
        String key;
        Attestation attested;
        ClusterView cluster;
        NodeView n3;
        List<AppliedChange> history;
        AuditHead head;
        try (FleetEngine e = open(dir, T)) {
            e.upsertWorkspace(WorkspaceSpec.of("ws"));
            e.upsertCluster(ClusterSpec.of("prod", "ws", Environment.PRODUCTION).withOwnerTeam("edge"));
            r1 = e.publish("prod", FleetEngineTest.V1, "alice", T);
            r2 = e.publish("prod", FleetEngineTest.V2, "alice", T + 10);
            List<Enrolment> nodes = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                nodes.add(new Enrolment("n" + i, "prod"));
            }
            handles = e.enrollMany(nodes, T);
            e.setClock(T + 1_000);
            for (int i = 0; i < 4; i++) {
                beat(e, "n" + i, T + 100, r1, r1.hash());
            }
            for (int i = 0; i < 3; i++) {
                beat(e, "n" + i, T + 200, r2, r2.hash());
            }
            beat(e, "n3", T + 300, r2, FleetGov.contentHash("forged".getBytes(StandardCharsets.UTF_8)));
            e.forceSync(ForceTarget.node("n3"), new OverrideRequest("bob", Role.OPERATOR, "re-provisioned", T + 400));
            key = e.checkpointVerifierKey();
            attested = e.attest("prod", T + 150);
            cluster = e.cluster("prod", T + 1_000);
            n3 = e.node("n3", T + 1_000);
            history = e.history("n0", e.historyStartMs(), e.clockMs());
            head = e.verifyAudit();
            assertEquals(T, e.historyStartMs());
            e.syncJournal();
        }

        try (FleetEngine again = open(dir, T + 2_000)) {
            assertEquals(key, again.checkpointVerifierKey(), "the signing key is kept");
            assertEquals(head, again.verifyAudit());
            assertEquals(r2, again.snapshot("prod@r2"));
            assertEquals(cluster, again.cluster("prod", T + 1_000), "cohesion and counts as before");
            assertEquals(n3, again.node("n3", T + 1_000), "the last report, restored without a heartbeat");
            assertEquals(T, again.historyStartMs());
            assertEquals(history, again.history("n0", T, T + 1_000));
            assertEquals(r1.id(), again.whatRan("n0", T + 150).snapshot());
            assertEquals(attested, again.attest("prod", T + 150), "the same moment, the same bytes");
            assertThrows(HistoryUnavailableException.class, () -> again.whatRan("n0", T - 1));
            // An enrolled node heartbeats on without enrolling again, in the same slot.
            beat(again, "n0", T + 1_500, r2, r2.hash());
            assertEquals(again.nodeHandle("n0"), again.enroll("n0", "prod", T));
            for (int i = 0; i < 4; i++) {
                assertEquals((int) handles[i], (int) again.nodeHandle("n" + i));
            }
            assertEquals(dir, FleetEngine.Options.defaults().withDataDir(dir).dataDir().orElseThrow());
        }
    }

    @Test
    void aDirectoryOpenInAnotherEngineIsAConflict(@TempDir Path dir) {
        try (FleetEngine first = open(dir, T)) {
            first.upsertWorkspace(WorkspaceSpec.of("ws"));
            FleetException e = FleetEngineTest.fails(FleetException.Code.CONFLICT, () -> open(dir, T).close());
            assertTrue(e.getMessage().contains("open in another engine"), e.getMessage());
        }
        try (FleetEngine second = open(dir, T)) {
            assertEquals(1, second.audit().size(), "the first engine's record, kept");
        }
    }

    @Test
    void optionsOfADataDirectory(@TempDir Path dir) throws IOException {
        FleetEngine.Options both = FleetEngine.Options.defaults().withAuditLog(dir.resolve("audit.log"), null)
                .withDataDir(dir.resolve("data"));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> new FleetEngine(both).close());
        assertThrows(IllegalArgumentException.class,
                () -> new FleetEngine(FleetEngine.Options.defaults().withJournalInterval(Duration.ofSeconds(1))));
        assertThrows(IllegalArgumentException.class,
                () -> new FleetEngine(FleetEngine.Options.defaults().withJournalSegmentLength(4)));
        assertThrows(IllegalArgumentException.class,
                () -> FleetEngine.Options.defaults().withJournalInterval(Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> FleetEngine.Options.defaults().withCheckpointInterval(Duration.ofNanos(10)));
        assertThrows(IllegalArgumentException.class,
                () -> FleetEngine.Options.defaults().withJournalSegmentLength(0));
        assertThrows(IllegalArgumentException.class, () -> FleetEngine.Options.defaults().withDataDir(null));
        Path stray = Files.createDirectories(dir.resolve("stray"));
        Files.writeString(stray.resolve("notes.txt"), "not an engine's");
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> new FleetEngine(FleetEngine.Options.defaults().withDataDir(stray)).close());
        try (FleetEngine memory = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T))) {
            memory.syncJournal(); // nothing to sync
            assertEquals(new JournalVerification(0, 0), memory.verifyJournal());
            assertFalse(memory.journalFailure().isPresent());
        }
    }

    @Test
    void historyIsKeptForTheRetentionAndCompactedBehindIt(@TempDir Path dir) {
        long hour = 3_600_000;
        FleetEngine.Options options = FleetEngine.Options.defaults().withManualClock(T).withDataDir(dir)
                .withJournalInterval(Duration.ofMillis(10)).withJournalSegmentLength(2)
                .withRetention(Duration.ofHours(1));
        long now = T + 100 * 60_000;
        long horizon = now - hour;
        Snapshot r2;
        List<AppliedChange> history;
        try (FleetEngine e = new FleetEngine(options)) {
            e.upsertWorkspace(WorkspaceSpec.of("ws"));
            e.upsertCluster(ClusterSpec.of("prod", "ws", Environment.PRODUCTION));
            Snapshot r1 = e.publish("prod", FleetEngineTest.V1, "alice", T);
            r2 = e.publish("prod", FleetEngineTest.V2, "alice", T);
            e.enroll("n", "prod", T);
            for (int i = 0; i < 10; i++) { // a change every 10 minutes
                long at = T + (i + 1) * 600_000L;
                e.setClock(at);
                Snapshot s = i % 2 == 0 ? r1 : r2;
                beat(e, "n", at, s, s.hash());
            }
            assertEquals(horizon, e.historyStartMs());
            history = e.history("n", horizon, now);
            HistoryUnavailableException gone =
                    assertThrows(HistoryUnavailableException.class, () -> e.whatRan("n", horizon - 1));
            assertTrue(gone.getMessage().contains("retention horizon (" + horizon + " ms"), gone.getMessage());
        } // the journal writer compacts behind the horizon on the way out
        try (FleetEngine again = new FleetEngine(options.withManualClock(now))) {
            assertTrue(again.audit().stream().anyMatch(r -> r.action() == AuditAction.COMPACT_JOURNAL));
            again.verifyJournal();
            assertEquals(history, again.history("n", horizon, now), "every answer within the horizon is kept");
            assertEquals(r2.id(), again.whatRan("n", horizon).snapshot());
            assertEquals(horizon, again.whatRan("n", horizon).sinceMs());
        }
        assertThrows(IllegalArgumentException.class,
                () -> FleetEngine.Options.defaults().withRetention(Duration.ZERO));
    }

    @Test
    void sealedJournalSegmentsAreChecked(@TempDir Path dir) throws IOException {
        FleetEngine.Options small = FleetEngine.Options.defaults().withManualClock(T + 1_000).withDataDir(dir)
                .withJournalInterval(Duration.ofMillis(10)).withCheckpointInterval(Duration.ofMinutes(5))
                .withJournalSegmentLength(4);
        try (FleetEngine e = new FleetEngine(small)) {
            e.upsertWorkspace(WorkspaceSpec.of("ws"));
            e.upsertCluster(ClusterSpec.of("prod", "ws", Environment.PRODUCTION));
            Snapshot r1 = e.publish("prod", FleetEngineTest.V1, "alice", T);
            Snapshot r2 = e.publish("prod", FleetEngineTest.V2, "alice", T);
            e.enroll("n", "prod", T);
            for (int i = 0; i < 10; i++) {
                Snapshot s = i % 2 == 0 ? r1 : r2;
                beat(e, "n", T + i, s, s.hash());
            }
            e.syncJournal();
            List<String> seals = e.audit().stream().filter(r -> r.action() == AuditAction.SEAL_JOURNAL)
                    .map(AuditRecord::target).toList();
            assertEquals(List.of("journal:0", "journal:4"), seals);
            assertEquals(new JournalVerification(2, 8), e.verifyJournal());
            assertFalse(e.journalFailure().isPresent());
            Path segment = dir.resolve("journal").resolve("0000000004.seg");
            byte[] bytes = Files.readAllBytes(segment);
            bytes[bytes.length - 5] ^= 1;
            Files.write(segment, bytes);
            FleetException tampered = FleetEngineTest.fails(FleetException.Code.AUDIT_TAMPERED, e::verifyJournal);
            assertTrue(tampered.getMessage().contains("0000000004.seg"), tampered.getMessage());
        }
        FleetEngineTest.fails(FleetException.Code.AUDIT_TAMPERED, () -> new FleetEngine(small).close());
    }

    @Test
    void historyOfANodeInRanges() {
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING)) {
            Snapshot r1 = e.publish("c", FleetEngineTest.V1, "alice", T);
            Snapshot r2 = e.publish("c", FleetEngineTest.V2, "alice", T);
            e.enroll("n", "c", T);
            e.setClock(T + 1_000);
            String forged = FleetGov.contentHash("forged".getBytes(StandardCharsets.UTF_8));
            beat(e, "n", T + 10, r1, r1.hash());
            beat(e, "n", T + 20, r1, r1.hash()); // steady state: no change
            beat(e, "n", T + 30, r2, r2.hash());
            beat(e, "n", T + 40, r2, forged);
            List<AppliedChange> all = List.of(
                    new AppliedChange(T + 10, r1.id(), r1.hash(), true),
                    new AppliedChange(T + 30, r2.id(), r2.hash(), true),
                    new AppliedChange(T + 40, r2.id(), forged, false));
            assertEquals(all, e.history("n", e.historyStartMs(), e.clockMs()));
            assertEquals(all.subList(1, 3), e.history("n", T + 30, T + 40), "both ends included");
            assertEquals(List.of(), e.history("n", T + 11, T + 29));
            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> e.history("n", T + 2, T + 1));
            assertThrows(FutureTimeException.class, () -> e.history("n", T, T + 1_001));
            assertThrows(HistoryUnavailableException.class, () -> e.history("n", T - 1, T));
            FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> e.history("nope", T, T));
            assertThrows(IllegalArgumentException.class, () -> e.history("n", -1, T));
        }
    }

    @Test
    void enrollManyIsAllOrNothing() {
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.PRODUCTION)) {
            e.upsertCluster(ClusterSpec.of("dev", "ws", Environment.DEVELOPMENT));
            long[] handles = e.enrollMany(List.of(new Enrolment("a", "c"), new Enrolment("b", "c"),
                    new Enrolment("d", "dev")), T);
            assertArrayEquals(new long[] {e.nodeHandle("a"), e.nodeHandle("b"), e.nodeHandle("d")}, handles);
            assertArrayEquals(new long[] {handles[0]}, e.enrollMany(List.of(new Enrolment("a", "c")), T));
            assertArrayEquals(new long[0], e.enrollMany(List.of(), T));

            FleetEngineTest.fails(FleetException.Code.NOT_FOUND,
                    () -> e.enrollMany(List.of(new Enrolment("x", "c"), new Enrolment("y", "nope")), T));
            FleetEngineTest.fails(FleetException.Code.CONFLICT,
                    () -> e.enrollMany(List.of(new Enrolment("x", "c"), new Enrolment("a", "dev")), T));
            FleetEngineTest.fails(FleetException.Code.CONFLICT,
                    () -> e.enrollMany(List.of(new Enrolment("x", "c"), new Enrolment("x", "dev")), T));
            FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> e.nodeHandle("x"));
            assertEquals(2, e.cluster("c", T).total());
            assertEquals(1, e.cluster("dev", T).total());

            FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> new Enrolment(" ", "c"));
            assertThrows(IllegalArgumentException.class, () -> new Enrolment("x", null));
            assertThrows(IllegalArgumentException.class, () -> e.enrollMany(null, T));
            List<Enrolment> withNull = new ArrayList<>();
            withNull.add(null);
            assertThrows(IllegalArgumentException.class, () -> e.enrollMany(withNull, T));
            assertThrows(IllegalArgumentException.class, () -> e.enrollMany(List.of(), -1));
        }
    }

    /** Many enrolments cross JNI as two arrays read element by element within bounded local references. */
    @Test
    void aLargeBulkEnrolment() {
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING)) {
            List<Enrolment> nodes = new ArrayList<>();
            for (int i = 0; i < 5_000; i++) {
                nodes.add(new Enrolment("n" + i, "c"));
            }
            long[] handles = e.enrollMany(nodes, T);
            assertEquals(5_000, handles.length);
            assertEquals(e.nodeHandle("n4999"), handles[4_999]);
        }
    }
}
