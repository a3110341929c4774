package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** heartbeatBatch against single heartbeat calls, and the batch path's own rules. */
class BatchTest {
    static final long T = FleetEngineTest.T;
    static final int NODES = 40;

    /** Two engines built the same way; node handles differ between engines, so keep each one's. */
    static final class Fleet implements AutoCloseable {
        final FleetEngine engine = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T + 1_000_000));
        final long[] handles = new long[NODES];
        final Snapshot v1;
        final Snapshot v2;

        Fleet() {
            engine.upsertWorkspace(WorkspaceSpec.of("ws"));
            engine.upsertCluster(ClusterSpec.of("c", "ws", Environment.STAGING).withAutoReconcile(true));
            v1 = engine.publish("c", FleetEngineTest.V1, "alice", T);
            v2 = engine.publish("c", FleetEngineTest.V2, "alice", T + 1);
            for (int i = 0; i < NODES; i++) {
                handles[i] = engine.enroll("gw-" + i, "c", T);
            }
        }

        @Override
        public void close() {
            engine.close();
        }
    }

    /** One heartbeat of the generated stream. */
    record Beat(int node, boolean unknown, long atMs, String version, ProcessStatus status, Metrics metrics,
            int revision, String hash, SyncError error) {}

    static List<Beat> stream(Fleet f, long seed, int count) {
        Random rnd = new Random(seed);
        long[] last = new long[NODES];
        String forged = FleetGov.contentHash("forged".getBytes(StandardCharsets.UTF_8));
        String[] versions = {"3.5.0", "3.3.1", "3.6.0-rc.1", "4.0.0"};
        SyncError[] errors = {null, null, null,
                new SyncError(SyncErrorCode.RELOAD_FAILURE, "Incompatible Filter Signature"),
                new SyncError(SyncErrorCode.NATS_TIMEOUT, "Failed to receive snapshot"),
                new SyncError(SyncErrorCode.OTHER, "")};
        List<Beat> beats = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int node = rnd.nextInt(NODES);
            long at;
            int roll = rnd.nextInt(20);
            if (roll == 0 && last[node] > 0) {
                at = last[node] - 1 - rnd.nextInt(5); // stale
            } else if (roll == 1) {
                at = T + 1_000_000 + 6 * 60_000; // from the future
            } else {
                at = last[node] = Math.max(last[node], T) + rnd.nextInt(3); // equal times are not stale
            }
            int applied = rnd.nextInt(4); // 0 nothing, 1 v1, 2 v2, 3 v2 with a forged hash
            int revision = applied == 0 ? 0 : applied == 1 ? 1 : 2;
            String hash = switch (applied) {
                case 0 -> null;
                case 1 -> f.v1.hash();
                case 2 -> f.v2.hash();
                default -> forged;
            };
            Metrics m = new Metrics(rnd.nextInt(101), rnd.nextInt(101), rnd.nextInt(5000), rnd.nextInt(101), rnd.nextInt(3));
            beats.add(new Beat(node, roll == 2, at, versions[rnd.nextInt(versions.length)],
                    ProcessStatus.values()[rnd.nextInt(3)], m, revision, hash, errors[rnd.nextInt(errors.length)]));
        }
        return beats;
    }

    /** The outcome a single call had, in the batch's terms, with the directive's revision. */
    static String single(Fleet f, Beat b) {
        Heartbeat hb = new Heartbeat(b.atMs(), b.hash() == null ? null : "c@r" + b.revision(), b.hash(), b.version(),
                b.status(), b.metrics(), b.error());
        long handle = b.unknown() ? f.handles[b.node()] + 1_000_000 : f.handles[b.node()];
        try {
            Directive d = f.engine.heartbeat(handle, hb);
            return d == null ? "ACCEPTED" : d.kind().name() + "@" + d.snapshot().revision() + ":" + d.snapshot().hash();
        } catch (FleetException e) {
            return switch (e.code()) {
                case STALE_HEARTBEAT -> "STALE";
                case FUTURE_HEARTBEAT -> "FUTURE";
                case NOT_FOUND -> "UNKNOWN_NODE";
                default -> throw e;
            };
        }
    }

    static String batched(HeartbeatBatch batch, int i) {
        BatchOutcome o = batch.outcome(i);
        return switch (o) {
            case RECONCILE, FORCE_SYNC -> o.name() + "@" + batch.directiveRevision(i) + ":" + batch.directiveHash(i);
            default -> {
                assertEquals(0, batch.directiveRevision(i));
                assertNull(batch.directiveHash(i));
                yield o.name();
            }
        };
    }

    @Test
    void batchEqualsSingleCallsOnTheSameStream() {
        try (Fleet single = new Fleet(); Fleet batched = new Fleet()) {
            List<Beat> beats = stream(single, 42, 2_000);
            List<String> expected = new ArrayList<>();
            for (Beat b : beats) {
                expected.add(single(single, b));
            }

            // The same stream in batches of 300 records.
            HeartbeatBatch batch = new HeartbeatBatch(300);
            List<String> actual = new ArrayList<>();
            long accepted = 0;
            long directives = 0;
            long refused = 0;
            for (int start = 0; start < beats.size(); start += batch.capacity()) {
                batch.clear();
                for (Beat b : beats.subList(start, Math.min(beats.size(), start + batch.capacity()))) {
                    long handle = b.unknown() ? batched.handles[b.node()] + 1_000_000 : batched.handles[b.node()];
                    batch.add(handle, b.atMs(), FleetGov.runtimeVersionBits(b.version()), b.status(), b.metrics(),
                            b.revision(), b.hash(), b.error());
                }
                BatchSummary s = batched.engine.heartbeatBatch(batch);
                assertEquals(batch.size(), s.accepted() + s.refused());
                accepted += s.accepted();
                directives += s.directives();
                refused += s.refused();
                for (int i = 0; i < batch.size(); i++) {
                    actual.add(batched(batch, i));
                }
            }
            assertEquals(expected, actual);
            assertEquals(expected.stream().filter(o -> o.equals("STALE") || o.equals("FUTURE") || o.equals("UNKNOWN_NODE")).count(), refused);
            assertEquals(expected.stream().filter(o -> o.contains("@")).count(), directives);
            assertEquals(beats.size() - refused, accepted);
            assertTrue(refused > 0 && directives > 0, "the stream exercises refusals and directives");

            long now = T + 2_000_000;
            assertEquals(single.engine.cluster("c", now), batched.engine.cluster("c", now));
            assertEquals(single.engine.clusterNodes("c", now, 0, NODES), batched.engine.clusterNodes("c", now, 0, NODES));
            assertEquals(single.engine.fleet("ws", now), batched.engine.fleet("ws", now));
        }
    }

    @Test
    void aMalformedRecordFailsTheWholeBatchAndChangesNothing() {
        try (Fleet f = new Fleet()) {
            int v = FleetGov.runtimeVersionBits("3.5.0");
            HeartbeatBatch batch = new HeartbeatBatch(8);
            for (int i = 0; i < 5; i++) {
                batch.add(f.handles[i], T + 10, v, ProcessStatus.READY, Metrics.ZERO, 2, f.v2.hash(), null);
            }
            batch.add(f.handles[5], T + 10, v, ProcessStatus.READY, new Metrics(Float.NaN, 0, 0, 0, 0), 0, null, null);
            batch.add(f.handles[6], T + 10, 0, ProcessStatus.READY, Metrics.ZERO, 0, null, null);
            FleetException e = assertThrows(FleetException.class, () -> f.engine.heartbeatBatch(batch));
            assertEquals(FleetException.Code.INVALID_INPUT, e.code());
            assertTrue(e.detail().contains("record 5"), e.detail());
            assertEquals(0, f.engine.cohesion("c"), "nothing of the batch was applied");
            assertEquals(Health.NEVER, f.engine.node("gw-0", T).health());
        }
    }

    @Test
    void rawBuffersAreCheckedBeforeTheyAreTouched() {
        try (Fleet f = new Fleet()) {
            HeartbeatBatch one = new HeartbeatBatch(1);
            one.add(f.handles[0], T + 10, FleetGov.runtimeVersionBits("3.5.0"), ProcessStatus.READY, Metrics.ZERO, 2,
                    f.v2.hash(), null);
            ByteBuffer records = ByteBuffer.allocateDirect(2 * HeartbeatBatch.RECORD_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer copy = one.records().duplicate();
            copy.limit(HeartbeatBatch.RECORD_SIZE);
            records.put(copy).flip();
            ByteBuffer outcomes = ByteBuffer.allocateDirect(HeartbeatBatch.OUTCOME_SIZE);

            assertThrows(IllegalArgumentException.class,
                    () -> f.engine.heartbeatBatch(ByteBuffer.allocate(HeartbeatBatch.RECORD_SIZE), outcomes));
            assertThrows(IllegalArgumentException.class,
                    () -> f.engine.heartbeatBatch(records, ByteBuffer.allocate(HeartbeatBatch.OUTCOME_SIZE)));
            assertThrows(IllegalArgumentException.class,
                    () -> f.engine.heartbeatBatch(records, outcomes.asReadOnlyBuffer()));
            assertThrows(IllegalArgumentException.class, () -> f.engine.heartbeatBatch(null, outcomes));
            ByteBuffer overlapping = records.duplicate().position(64);
            assertThrows(IllegalArgumentException.class, () -> f.engine.heartbeatBatch(records, overlapping));
            ByteBuffer ragged = records.duplicate().limit(HeartbeatBatch.RECORD_SIZE - 1);
            assertEquals(FleetException.Code.INVALID_INPUT,
                    assertThrows(FleetException.class, () -> f.engine.heartbeatBatch(ragged, outcomes)).code());
            ByteBuffer small = ByteBuffer.allocateDirect(HeartbeatBatch.OUTCOME_SIZE - 1);
            assertEquals(FleetException.Code.INVALID_INPUT,
                    assertThrows(FleetException.class, () -> f.engine.heartbeatBatch(records, small)).code());
            ByteBuffer wrongVersion = ByteBuffer.allocateDirect(HeartbeatBatch.RECORD_SIZE);
            wrongVersion.put(copy.rewind()).put(0, (byte) 2).flip();
            assertEquals(FleetException.Code.INVALID_INPUT,
                    assertThrows(FleetException.class, () -> f.engine.heartbeatBatch(wrongVersion, outcomes)).code());
            assertEquals(0, f.engine.cohesion("c"));

            BatchSummary s = f.engine.heartbeatBatch(records, outcomes);
            assertEquals(new BatchSummary(1, 0, 0), s);
            assertEquals(0, records.position(), "positions do not move");
            assertEquals(0, outcomes.get(0), "outcome ACCEPTED");
            assertEquals(2, f.engine.cohesion("c"), "1 of 40 nodes verified: 2.5, floored");
        }
    }

    @Test
    void largeBatchesSpreadOverWorkersAndStayExact() {
        int n = 20_000;
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.PRODUCTION)) {
            Snapshot s = e.publish("c", FleetEngineTest.V1, "alice", T);
            HeartbeatBatch batch = new HeartbeatBatch(n);
            int v = FleetGov.runtimeVersionBits("3.5.0");
            for (int i = 0; i < n; i++) {
                long h = e.enroll("gw-" + i, "c", T);
                batch.add(h, T, v, ProcessStatus.READY, Metrics.ZERO, i % 4 == 0 ? 0 : 1, i % 4 == 0 ? null : s.hash(), null);
            }
            assertEquals(new BatchSummary(n, 0, 0), e.heartbeatBatch(batch));
            ClusterView c = e.cluster("c", T);
            assertEquals(n * 3L / 4, c.inSync());
            assertEquals(75, c.cohesion());
            // The same batch again is steady state: same time is not stale, nothing changes.
            assertEquals(new BatchSummary(n, 0, 0), e.heartbeatBatch(batch));
            assertEquals(c, e.cluster("c", T));
        }
    }

    @Test
    void aHashGivenAsWordsWritesTheRecordItsHexDoes() {
        try (Fleet f = new Fleet()) {
            int v = FleetGov.runtimeVersionBits("3.5.0");
            long[] words = HeartbeatBatch.hashWords(f.v2.hash());
            HeartbeatBatch hex = new HeartbeatBatch(2);
            HeartbeatBatch parsed = new HeartbeatBatch(2);
            SyncError error = new SyncError(SyncErrorCode.FETCH_TIMEOUT, "slow");
            hex.add(f.handles[0], T + 5, v, ProcessStatus.READY, Metrics.ZERO, 2, f.v2.hash(), null);
            parsed.add(f.handles[0], T + 5, v, ProcessStatus.READY, Metrics.ZERO, 2, words[0], words[1], words[2],
                    words[3], null);
            hex.add(f.handles[1], T + 5, v, ProcessStatus.ERROR, Metrics.ZERO, 1, f.v1.hash(), error);
            long[] w1 = HeartbeatBatch.hashWords(f.v1.hash());
            parsed.add(f.handles[1], T + 5, v, ProcessStatus.ERROR, Metrics.ZERO, 1, w1[0], w1[1], w1[2], w1[3], error);
            assertEquals(hex.records().duplicate().clear(), parsed.records().duplicate().clear(), "byte for byte");

            f.engine.heartbeatBatch(parsed);
            assertEquals("ACCEPTED", batched(parsed, 0));
            assertEquals("RECONCILE@2:" + f.v2.hash(), batched(parsed, 1));
            assertEquals(ConfigStatus.IN_SYNC, f.engine.node("gw-0", T + 5).configStatus());
            assertThrows(IllegalArgumentException.class, () -> HeartbeatBatch.hashWords("abc"));
            assertThrows(IllegalArgumentException.class, () -> HeartbeatBatch.hashWords(null));
        }
    }

    @Test
    void outcomesDescribeOnlyTheBatchAsItWasIngested() {
        try (Fleet f = new Fleet()) {
            int v = FleetGov.runtimeVersionBits("3.5.0");
            HeartbeatBatch batch = new HeartbeatBatch(4);
            batch.add(f.handles[0], T + 5, v, ProcessStatus.READY, Metrics.ZERO, 1, f.v1.hash(), null);
            assertThrows(IllegalStateException.class, () -> batch.outcome(0), "nothing ingested yet");
            assertThrows(IllegalStateException.class, () -> batch.directiveRevision(0));
            assertThrows(IllegalStateException.class, () -> batch.directiveHash(0));

            f.engine.heartbeatBatch(batch);
            assertEquals("RECONCILE@2:" + f.v2.hash(), batched(batch, 0), "v1 applied, v2 desired");

            batch.add(f.handles[1], T + 5, v, ProcessStatus.READY, Metrics.ZERO, 2, f.v2.hash(), null);
            assertThrows(IllegalStateException.class, () -> batch.outcome(0), "an add drops the outcomes");
            assertThrows(IllegalStateException.class, () -> batch.outcome(1));

            batch.clear();
            batch.add(f.handles[1], T + 6, v, ProcessStatus.READY, Metrics.ZERO, 2, f.v2.hash(), null);
            assertThrows(IllegalStateException.class, () -> batch.outcome(0), "clear and add: the old RECONCILE is gone");
            try (ConfigAgent agent = new ConfigAgent("3.5.0")) {
                assertThrows(IllegalStateException.class, () -> agent.onOutcome(batch, 0, "c"), "through the agent too");
            }
            f.engine.heartbeatBatch(batch);
            assertEquals("ACCEPTED", batched(batch, 0));
        }
    }

    /**
     * A reused batch writes each record whole: after {@code clear}, a record without a sync error
     * carries no detail of the record (written in Java or natively) that held its index before,
     * and a hash given as hex is that hash whatever was parsed before, so its bytes are those of
     * the same record in a new batch.
     */
    @Test
    void aReusedBatchWritesTheSameBytesAsANewOne() {
        try (Fleet f = new Fleet(); ConfigAgent agent = new ConfigAgent("3.5.0")) {
            int v = FleetGov.runtimeVersionBits("3.5.0");
            HeartbeatBatch reused = new HeartbeatBatch(3);
            SyncError error = new SyncError(SyncErrorCode.RELOAD_FAILURE, "Incompatible Filter Signature");
            reused.add(f.handles[0], T + 5, v, ProcessStatus.ERROR, Metrics.ZERO, 1, f.v1.hash(), error);
            // The agent's refused download is its sync error, which it writes natively with its detail.
            assertThrows(FleetException.class, () -> agent.apply("c@r2", ConfigAgentTest.ONE, ConfigAgentTest.H2,
                    T + 1, null));
            agent.heartbeatInto(reused, f.handles[1], "c", T + 5, Metrics.ZERO, ProcessStatus.ERROR);
            reused.add(f.handles[2], T + 5, v, ProcessStatus.READY, Metrics.ZERO, 2, f.v2.hash(), null);
            f.engine.heartbeatBatch(reused);
            reused.clear();

            HeartbeatBatch fresh = new HeartbeatBatch(3);
            for (HeartbeatBatch b : List.of(reused, fresh)) {
                // Equal hashes in new strings, and a hash that is not hex in between.
                b.add(f.handles[0], T + 6, v, ProcessStatus.READY, Metrics.ZERO, 2, new String(f.v2.hash()), null);
                assertThrows(IllegalArgumentException.class, () -> b.add(f.handles[1], T + 6, v, ProcessStatus.READY,
                        Metrics.ZERO, 1, "z".repeat(64), null));
                b.add(f.handles[1], T + 6, v, ProcessStatus.READY, Metrics.ZERO, 1, new String(f.v1.hash()), null);
                b.add(f.handles[2], T + 6, v, ProcessStatus.READY, Metrics.ZERO, 2, new String(f.v2.hash()), null);
            }
            assertEquals(3, reused.size());
            assertEquals(List.of(recordBytes(fresh)), List.of(recordBytes(reused)));
            for (int i = 0; i < 3; i++) {
                long[] words = HeartbeatBatch.hashWords(i == 1 ? f.v1.hash() : f.v2.hash());
                for (int w = 0; w < 4; w++) {
                    assertEquals(words[w], reused.records().getLong(i * HeartbeatBatch.RECORD_SIZE + 24 + 8 * w));
                }
            }
            f.engine.heartbeatBatch(reused);
            assertEquals(List.of("ACCEPTED", "RECONCILE@2:" + f.v2.hash(), "ACCEPTED"),
                    List.of(batched(reused, 0), batched(reused, 1), batched(reused, 2)));
        }
    }

    /** The bytes of the records now in {@code batch}, as text (one hex string). */
    static String recordBytes(HeartbeatBatch batch) {
        byte[] bytes = new byte[batch.size() * HeartbeatBatch.RECORD_SIZE];
        batch.records().duplicate().get(0, bytes);
        return java.util.HexFormat.of().formatHex(bytes);
    }

    @Test
    void longDetailsAreCutOnACharacterBoundary() {
        try (Fleet f = new Fleet()) {
            HeartbeatBatch batch = new HeartbeatBatch(1);
            String detail = "é".repeat(30); // 60 UTF-8 bytes
            batch.add(f.handles[0], T + 5, FleetGov.runtimeVersionBits("3.5.0"), ProcessStatus.ERROR, Metrics.ZERO, 0,
                    null, new SyncError(SyncErrorCode.VALIDATION_FAILED, detail));
            f.engine.heartbeatBatch(batch);
            SyncError e = f.engine.node("gw-0", T + 5).lastSyncError();
            assertEquals(SyncErrorCode.VALIDATION_FAILED, e.code());
            assertEquals("é".repeat(23), e.detail(), "46 bytes: the 47th would split a character");
            assertThrows(IllegalStateException.class,
                    () -> batch.add(f.handles[1], T, 1, ProcessStatus.READY, Metrics.ZERO, 0, null, null));
            assertThrows(IllegalArgumentException.class, () -> new HeartbeatBatch(2)
                    .add(f.handles[1], T, 1, ProcessStatus.READY, Metrics.ZERO, 1, "abc", null));
            assertThrows(IndexOutOfBoundsException.class, () -> batch.outcome(1));
            assertEquals(FleetException.Code.INVALID_INPUT,
                    assertThrows(FleetException.class, () -> FleetGov.runtimeVersionBits("3.x")).code());
            assertTrue(FleetGov.runtimeVersionBits("3.4.0") < FleetGov.runtimeVersionBits("3.10.0"));
        }
    }
}
