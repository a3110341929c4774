package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** heartbeatBatch by node id against the batch by handle, and the by-id batch's own rules. */
class BatchByIdTest {
    static final long T = FleetEngineTest.T;
    static final int V = FleetGov.runtimeVersionBits("3.5.0");

    /** Appends a ready node's heartbeat at {@code atMs}, reporting revision {@code revision} (0: none). */
    static void beat(HeartbeatBatchById batch, String node, long atMs, int revision, Snapshot... applied) {
        String hash = applied.length == 0 ? null : applied[0].hash();
        batch.add(node, atMs, V, ProcessStatus.READY, Metrics.ZERO, revision, hash, null);
    }

    @Test
    void byIdEqualsByHandleOnTheSameStream() {
        try (BatchTest.Fleet byHandle = new BatchTest.Fleet(); BatchTest.Fleet byId = new BatchTest.Fleet()) {
            List<BatchTest.Beat> beats = BatchTest.stream(byHandle, 7, 2_000);
            HeartbeatBatch handles = new HeartbeatBatch(300);
            HeartbeatBatchById ids = new HeartbeatBatchById(300);
            List<String> expected = new ArrayList<>();
            List<String> actual = new ArrayList<>();
            for (int start = 0; start < beats.size(); start += handles.capacity()) {
                handles.clear();
                ids.clear();
                for (BatchTest.Beat b : beats.subList(start, Math.min(beats.size(), start + handles.capacity()))) {
                    long handle = b.unknown() ? byHandle.handles[b.node()] + 1_000_000 : byHandle.handles[b.node()];
                    String id = b.unknown() ? "ghost-" + b.node() : "gw-" + b.node();
                    int v = FleetGov.runtimeVersionBits(b.version());
                    handles.add(handle, b.atMs(), v, b.status(), b.metrics(), b.revision(), b.hash(), b.error());
                    ids.add(id, b.atMs(), v, b.status(), b.metrics(), b.revision(), b.hash(), b.error());
                }
                assertEquals(byHandle.engine.heartbeatBatch(handles), byId.engine.heartbeatBatch(ids));
                for (int i = 0; i < handles.size(); i++) {
                    expected.add(BatchTest.batched(handles, i));
                    actual.add(BatchTest.batched(ids.records(), i));
                }
            }
            assertEquals(expected, actual);
            assertTrue(actual.contains("UNKNOWN_NODE") && actual.contains("STALE"), "the stream exercises refusals");
            long now = T + 2_000_000;
            assertEquals(byHandle.engine.cluster("c", now), byId.engine.cluster("c", now));
            assertEquals(byHandle.engine.clusterNodes("c", now, 0, BatchTest.NODES),
                    byId.engine.clusterNodes("c", now, 0, BatchTest.NODES));
        }
    }

    @Test
    void anUnknownIdIsRefusedAtItsRecordAndANodesRecordsKeepTheirOrder() {
        try (BatchTest.Fleet f = new BatchTest.Fleet()) {
            HeartbeatBatchById batch = new HeartbeatBatchById(8);
            beat(batch, "gw-1", T + 40, 2, f.v2);
            beat(batch, "gw-nowhere", T + 40, 2, f.v2);
            beat(batch, "gw-1", T + 50, 1, f.v1);
            beat(batch, "gw-1", T + 45, 2, f.v2); // older than the one before: stale
            long[] w = HeartbeatBatch.hashWords(f.v2.hash());
            batch.add("gw-1", T + 60, V, ProcessStatus.READY, Metrics.ZERO, 2, w[0], w[1], w[2], w[3], null);
            BatchSummary s = f.engine.heartbeatBatch(batch);
            assertEquals(List.of("ACCEPTED", "UNKNOWN_NODE", "RECONCILE@2:" + f.v2.hash(), "STALE", "ACCEPTED"),
                    List.of(0, 1, 2, 3, 4).stream().map(i -> BatchTest.batched(batch.records(), i)).toList());
            assertEquals(new BatchSummary(3, 1, 2), s);
            NodeView n = f.engine.node("gw-1", T + 1_000_000);
            assertEquals("c@r2", n.appliedSnapshotId());
            assertEquals(T + 60, n.lastHeartbeatMs().getAsLong());
            assertEquals(Health.NEVER, f.engine.node("gw-2", T).health());
        }
    }

    @Test
    void aMalformedIdFailsTheWholeBatchAndChangesNothing() {
        try (BatchTest.Fleet f = new BatchTest.Fleet()) {
            HeartbeatBatchById batch = new HeartbeatBatchById(4);
            beat(batch, "gw-0", T + 10, 2, f.v2);
            beat(batch, "gw 1", T + 10, 2, f.v2);
            FleetException e = assertThrows(FleetException.class, () -> f.engine.heartbeatBatch(batch));
            assertEquals(FleetException.Code.INVALID_INPUT, e.code());
            assertTrue(e.detail().contains("record 1"), e.detail());
            assertEquals(Health.NEVER, f.engine.node("gw-0", T).health(), "nothing of the batch was applied");
            assertThrows(IllegalStateException.class, () -> batch.outcome(0), "no outcomes of a refused batch");
        }
    }

    @Test
    void idsAreKeptAsAddedAndAFailedAddAppendsNothing() {
        try (BatchTest.Fleet f = new BatchTest.Fleet()) {
            int v = V;
            HeartbeatBatchById batch = new HeartbeatBatchById(2);
            String longId = "gw-" + "x".repeat(60); // past the id buffer's first size
            beat(batch, "gw-ü", T + 10, 0);
            assertThrows(IllegalArgumentException.class,
                    () -> batch.add("gw-2", T + 10, v, ProcessStatus.READY, Metrics.ZERO, 2, "not hex", null));
            assertThrows(IllegalArgumentException.class,
                    () -> batch.add(null, T + 10, v, ProcessStatus.READY, Metrics.ZERO, 0, null, null));
            beat(batch, longId, T + 10, 0);
            assertThrows(IllegalStateException.class,
                    () -> batch.add("gw-3", T + 10, v, ProcessStatus.READY, Metrics.ZERO, 0, null, null));
            assertEquals(2, batch.size());
            assertEquals(List.of("gw-ü", longId), List.of(batch.id(0), batch.id(1)));
            assertThrows(IndexOutOfBoundsException.class, () -> batch.id(2));
            // Node ids are ASCII: the engine refuses the batch, naming the record.
            FleetException e = assertThrows(FleetException.class, () -> f.engine.heartbeatBatch(batch));
            assertTrue(e.detail().contains("record 0"), e.detail());
            batch.clear();
            beat(batch, "gw-3", T + 10, 0);
            beat(batch, longId, T + 10, 0);
            assertEquals(List.of("gw-3", longId), List.of(batch.id(0), batch.id(1)));
            // gw-3 applied nothing; its cluster auto-reconciles: a directive.
            assertEquals(new BatchSummary(1, 1, 1), f.engine.heartbeatBatch(batch));
            assertEquals(List.of(BatchOutcome.RECONCILE, BatchOutcome.UNKNOWN_NODE),
                    List.of(batch.outcome(0), batch.outcome(1)));
        }
    }
}
