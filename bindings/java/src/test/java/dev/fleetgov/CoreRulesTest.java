package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Core rules every binding shows alike: unpublished revisions, node clocks running ahead, detail limits. */
class CoreRulesTest {
    static final long T = FleetEngineTest.T;
    static final long MINUTE = FleetEngineTest.MINUTE;
    static final String UNKNOWN = "ab".repeat(32);

    @Test
    void anUnpublishedRevisionOfTheOwnClusterShowsOnlyItsHash() {
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING)) {
            Snapshot v1 = e.publish("c", FleetEngineTest.V1, "alice", T);
            e.enroll("single", "c", T);
            long batched = e.enroll("batch", "c", T);
            e.heartbeat("single", Heartbeat.at(T, "3.5.0").withApplied("c@r999", UNKNOWN));
            HeartbeatBatch batch = new HeartbeatBatch(1);
            batch.add(batched, T, FleetGov.runtimeVersionBits("3.5.0"), ProcessStatus.READY, Metrics.ZERO, 999, UNKNOWN, null);
            assertEquals(1, e.heartbeatBatch(batch).accepted());
            for (String node : new String[] {"single", "batch"}) {
                NodeView n = e.node(node, T);
                assertNull(n.appliedSnapshotId(), node);
                assertEquals(UNKNOWN, n.appliedHash(), node);
                assertEquals(ConfigStatus.DIVERGENT, n.configStatus(), node);
                assertNull(n.lastSyncError(), node);
                assertEquals(new AppliedAt(node, null, UNKNOWN, T), e.whatRan(node, T), node);
            }
            e.heartbeat("single", FleetEngineTest.synced(v1, T));
            assertEquals(v1.id(), e.node("single", T).appliedSnapshotId(), "a published revision shows again");
        }
    }

    @Test
    void aNodeClockRunningAheadCannotLockItsNodeOut() {
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING)) {
            Snapshot v1 = e.publish("c", FleetEngineTest.V1, "alice", T);
            Snapshot v2 = e.publish("c", FleetEngineTest.V2, "alice", T);
            long single = e.enroll("single", "c", T);
            long batched = e.enroll("batch", "c", T);
            int version = FleetGov.runtimeVersionBits("3.5.0");
            long fast = T + 4 * MINUTE;
            e.heartbeat(single, FleetEngineTest.synced(v1, fast));
            HeartbeatBatch batch = new HeartbeatBatch(2);
            batch.add(batched, fast, version, ProcessStatus.READY, Metrics.ZERO, 1, v1.hash(), null);
            assertEquals(1, e.heartbeatBatch(batch).accepted());
            for (String node : new String[] {"single", "batch"}) {
                assertEquals(OptionalLong.of(T), e.node(node, T).lastHeartbeatMs(), "counted at the engine's clock");
            }
            // The node's clock is corrected; its heartbeats count again, in order.
            e.setClock(T + 1_000);
            e.heartbeat(single, FleetEngineTest.synced(v2, T + 1_000));
            FleetEngineTest.fails(FleetException.Code.STALE_HEARTBEAT,
                    () -> e.heartbeat(single, FleetEngineTest.synced(v1, T + 999)));
            batch.clear();
            batch.add(batched, T + 1_000, version, ProcessStatus.READY, Metrics.ZERO, 2, v2.hash(), null);
            batch.add(batched, T + 999, version, ProcessStatus.READY, Metrics.ZERO, 1, v1.hash(), null);
            e.heartbeatBatch(batch);
            assertEquals(BatchOutcome.ACCEPTED, batch.outcome(0));
            assertEquals(BatchOutcome.STALE, batch.outcome(1));
            for (String node : new String[] {"single", "batch"}) {
                NodeView n = e.node(node, T + 1_000);
                assertEquals(v2.id(), n.appliedSnapshotId(), node);
                assertEquals(OptionalLong.of(T + 1_000), n.lastHeartbeatMs(), node);
            }
            assertEquals(100, e.cohesion("c"));
        }
    }

    @Test
    void aSyncErrorDetailIsKeptAlikeOnBothPaths() {
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING)) {
            e.enroll("single", "c", T);
            long batched = e.enroll("batch", "c", T);
            SyncError error = new SyncError(SyncErrorCode.RELOAD_FAILURE, "é".repeat(30) + " and more");
            e.heartbeat("single", Heartbeat.at(T, "3.5.0").withSyncError(error));
            HeartbeatBatch batch = new HeartbeatBatch(1);
            batch.add(batched, T, FleetGov.runtimeVersionBits("3.5.0"), ProcessStatus.READY, Metrics.ZERO, 0, null, error);
            e.heartbeatBatch(batch);
            SyncError kept = new SyncError(SyncErrorCode.RELOAD_FAILURE, "é".repeat(23));
            assertEquals(kept, e.node("single", T).lastSyncError(), "46 bytes: the 47th would split a character");
            assertEquals(kept, e.node("batch", T).lastSyncError());
        }
    }
}
