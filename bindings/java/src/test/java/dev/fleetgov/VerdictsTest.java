package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Truthful verdicts, each rule at its boundary: a node is verified only while its last report is
 * in sync and at most 60 minutes old; cohesion floors, so 100 means every node; HEALTHY needs
 * every node verified and no sync error; history refuses the future and the time before it began.
 */
class VerdictsTest {
    static final long T = FleetEngineTest.T;
    static final long HOUR = 60 * FleetEngineTest.MINUTE;

    /** On a manual clock reading {@link #T}: its history begins at T. */
    FleetEngine e;
    Snapshot s;

    @BeforeEach
    void setUp() {
        e = FleetEngineTest.engineWithCluster(Environment.PRODUCTION);
        s = e.publish("c", FleetEngineTest.V1, "alice", T);
    }

    @AfterEach
    void tearDown() {
        e.close();
    }

    /** The cluster's figures at {@code nowMs}. */
    record Figures(long inSync, long total, int cohesion, int basisPoints, ClusterStatus status) {}

    Figures figures(long nowMs) {
        ClusterView c = e.cluster("c", nowMs);
        return new Figures(c.inSync(), c.total(), c.cohesion(), c.cohesionBasisPoints(), c.status());
    }

    /** Enrols {@code n} nodes named {@code prefix + i}, each reporting {@link #s} at {@code at}. */
    void verifiedNodes(String prefix, int n, long at) {
        for (int i = 0; i < n; i++) {
            e.heartbeat(e.enroll(prefix + i, "c", T), FleetEngineTest.synced(s, at));
        }
    }

    @Test
    void aReportCountsForExactlySixtyMinutes() {
        verifiedNodes("n", 3, T);
        assertEquals(new Figures(3, 3, 100, 10_000, ClusterStatus.HEALTHY), figures(T + HOUR), "exactly 60 minutes");
        NodeView n = e.node("n0", T + HOUR);
        assertTrue(n.verified());
        assertEquals(OptionalLong.of(HOUR), n.heartbeatAgeMs());
        assertEquals(Health.STALE, n.health());

        e.setClock(T + HOUR + 1);
        assertEquals(new Figures(0, 3, 0, 0, ClusterStatus.DIVERGENT), figures(T + HOUR + 1), "one millisecond more");
        assertEquals(0, e.cohesion("c"), "at the engine's clock");
        n = e.node("n0", T + HOUR + 1);
        assertFalse(n.verified());
        assertEquals(OptionalLong.of(HOUR + 1), n.heartbeatAgeMs());
        assertEquals(ConfigStatus.IN_SYNC, n.configStatus(), "the last report itself was in sync");
        assertEquals(Health.DORMANT, n.health());
        // Asked about an earlier moment again, the answer is the rule at that moment.
        assertEquals(3, figures(T + HOUR).inSync());
        assertTrue(e.clusterNodes("c", T + HOUR, 0, 10).stream().allMatch(NodeView::verified));
    }

    @Test
    void fourHundredNinetyNineOfAThousandIsDivergentAndFiveHundredSyncing() {
        verifiedNodes("v", 499, T);
        for (int i = 0; i < 501; i++) {
            e.enroll("u" + i, "c", T);
        }
        assertEquals(new Figures(499, 1_000, 49, 4_990, ClusterStatus.DIVERGENT), figures(T));
        e.heartbeat("u0", FleetEngineTest.synced(s, T));
        assertEquals(new Figures(500, 1_000, 50, 5_000, ClusterStatus.SYNCING), figures(T));
    }

    @Test
    void oneHundredNinetyNineOfTwoHundredIsNinetyNineNotOneHundred() {
        verifiedNodes("v", 199, T);
        e.enroll("late", "c", T);
        assertEquals(new Figures(199, 200, 99, 9_950, ClusterStatus.SYNCING), figures(T));
        assertEquals(99, e.cohesion("c"));
    }

    @Test
    void anInSyncNodeReportingASyncErrorKeepsTheClusterFromHealthy() {
        verifiedNodes("n", 3, T);
        SyncError failure = new SyncError(SyncErrorCode.RELOAD_FAILURE, "filter chain rejected");
        e.heartbeat("n0", FleetEngineTest.synced(s, T).withSyncError(failure));
        NodeView n = e.node("n0", T);
        assertTrue(n.verified());
        assertEquals(ConfigStatus.IN_SYNC, n.configStatus());
        assertEquals(failure, n.lastSyncError());
        assertEquals(new Figures(3, 3, 100, 10_000, ClusterStatus.SYNCING), figures(T));
        e.heartbeat("n0", FleetEngineTest.synced(s, T));
        assertEquals(ClusterStatus.HEALTHY, figures(T).status());
    }

    @Test
    void aNeverHeardNodeIsNotVerified() {
        verifiedNodes("n", 2, T);
        e.enroll("silent", "c", T);
        assertEquals(new Figures(2, 3, 66, 6_666, ClusterStatus.SYNCING), figures(T));
        NodeView silent = e.node("silent", T);
        assertFalse(silent.verified());
        assertEquals(OptionalLong.empty(), silent.heartbeatAgeMs());
        assertEquals(Health.NEVER, silent.health());
    }

    @Test
    void aNodeThatComesBackCountsAgain() {
        verifiedNodes("n", 2, T);
        e.setClock(T + 2 * HOUR);
        assertEquals(new Figures(0, 2, 0, 0, ClusterStatus.DIVERGENT), figures(T + 2 * HOUR));
        e.heartbeat("n0", FleetEngineTest.synced(s, T + 2 * HOUR));
        assertEquals(new Figures(1, 2, 50, 5_000, ClusterStatus.SYNCING), figures(T + 2 * HOUR));
        NodeView back = e.node("n0", T + 2 * HOUR);
        assertTrue(back.verified());
        assertEquals(OptionalLong.of(0), back.heartbeatAgeMs());
        // A late heartbeat already over an hour old is in sync but does not count.
        e.heartbeat("n1", FleetEngineTest.synced(s, T + HOUR - 1));
        assertFalse(e.node("n1", T + 2 * HOUR).verified());
        assertEquals(1, figures(T + 2 * HOUR).inSync());
    }

    @Test
    void theFeedReportsNodesThatStopCounting() {
        e.enroll("n0", "c", T);
        try (EventStream events = e.events()) {
            e.heartbeat("n0", FleetEngineTest.synced(s, T));
            e.setClock(T + HOUR + 1);
            e.cluster("c", T + HOUR + 1); // the read that finds the report expired
            List<FleetEvent.ClusterEvent> clusters = new ArrayList<>();
            for (FleetEvent ev; (ev = events.poll(Duration.ZERO)) != null; ) {
                if (ev instanceof FleetEvent.ClusterEvent c) {
                    clusters.add(c);
                }
            }
            assertEquals(2, clusters.size(), clusters.toString());
            FleetEvent.ClusterEvent verified = clusters.get(0);
            assertEquals(List.of(1L, 100, 10_000, ClusterStatus.HEALTHY),
                    List.of(verified.inSync(), verified.cohesion(), verified.cohesionBasisPoints(), verified.status()));
            FleetEvent.ClusterEvent expired = clusters.get(1);
            assertEquals(List.of(0L, 0, 0, ClusterStatus.DIVERGENT),
                    List.of(expired.inSync(), expired.cohesion(), expired.cohesionBasisPoints(), expired.status()));
        }
    }

    // ---- history: no answer about the future or before the history began --------------

    @Test
    void historyRefusesTheFuture() {
        e.enroll("n0", "c", T);
        e.setClock(T + 1_000);
        for (long t : new long[] {T + 1_001, Long.MAX_VALUE}) {
            future(() -> e.whatRan("n0", t));
            future(() -> e.fleetAt("c", t));
            future(() -> e.attest("c", t));
        }
        assertNull(e.whatRan("n0", T + 1_000), "the clock's own moment is the last one of the past");
        assertEquals("c", e.attest("c", T + 1_000).cluster());
    }

    @Test
    void historyRefusesTheTimeBeforeItBegan() {
        e.enroll("n0", "c", T);
        for (long t : new long[] {0, T - 1}) {
            unavailable(() -> e.whatRan("n0", t));
            unavailable(() -> e.fleetAt("c", t));
            unavailable(() -> e.attest("c", t));
        }
        assertNull(e.whatRan("n0", T), "the moment the engine began is answered");
    }

    @Test
    void anAnsweredMomentNeverChanges() {
        e.enroll("a", "c", T);
        e.enroll("b", "c", T);
        e.setClock(T + 1_000); // heartbeats count at their stamps (not after the clock)
        e.heartbeat("a", FleetEngineTest.synced(s, T + 10));
        Attestation before = e.attest("c", T + 100);
        assertEquals(List.of(new AppliedAt("a", s.id(), s.hash(), T + 10)), before.nodes());

        e.heartbeat("b", FleetEngineTest.synced(s, T + 50)); // arrives late, stamped before the answered moment
        Attestation again = e.attest("c", T + 100);
        assertEquals(before.envelope(), again.envelope(), "byte for byte");
        assertEquals(before, again);
        assertEquals(T + 101, e.whatRan("b", T + 1_000).sinceMs(), "recorded after the answered moment");
        assertEquals(2, e.fleetAt("c", T + 1_000).size(), "later moments see it");
    }

    static void future(Executable call) {
        FutureTimeException x = assertThrows(FutureTimeException.class, call);
        assertEquals(FleetException.Code.FUTURE, x.code());
        assertTrue(x.getMessage().startsWith("FUTURE: "), x.getMessage());
    }

    static void unavailable(Executable call) {
        HistoryUnavailableException x = assertThrows(HistoryUnavailableException.class, call);
        assertEquals(FleetException.Code.HISTORY_UNAVAILABLE, x.code());
        assertInstanceOf(FleetException.class, x);
    }
}
