package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class FleetEngineTest {
    static final long T = 1_700_000_000_000L;
    static final long MINUTE = 60_000L;
    static final byte[] V1 = "routes: []\nrate_limit: 1000\n".getBytes(StandardCharsets.UTF_8);
    static final byte[] V2 = "routes: [api]\nrate_limit: 800\n".getBytes(StandardCharsets.UTF_8);

    FleetEngine engine;

    @BeforeEach
    void setUp() {
        engine = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T));
        engine.upsertWorkspace(WorkspaceSpec.of("ws-1"));
        engine.upsertCluster(ClusterSpec.of("eks-prod-us", "ws-1", Environment.PRODUCTION).withOwnerTeam("edge"));
    }

    @AfterEach
    void tearDown() {
        engine.close();
    }

    static FleetException fails(FleetException.Code code, Executable call) {
        FleetException e = assertThrows(FleetException.class, call);
        assertEquals(code, e.code(), e.getMessage());
        assertTrue(e.getMessage().startsWith(code.name() + ": "), e.getMessage());
        return e;
    }

    /** An engine on a manual clock at {@link #T} with workspace "ws" and its cluster "c". */
    static FleetEngine engineWithCluster(Environment environment) {
        FleetEngine e = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T));
        e.upsertWorkspace(WorkspaceSpec.of("ws"));
        e.upsertCluster(ClusterSpec.of("c", "ws", environment));
        return e;
    }

    static Heartbeat synced(Snapshot s, long at) {
        return Heartbeat.at(at, "3.5.0").withApplied(s.id(), s.hash());
    }

    // ---- authority ---------------------------------------------------------------------

    @Test
    void workspacesAndClustersAreValidated() {
        fails(FleetException.Code.NOT_FOUND,
                () -> engine.upsertCluster(ClusterSpec.of("c2", "no-such-ws", Environment.STAGING)));
        fails(FleetException.Code.INVALID_INPUT, () -> engine.upsertWorkspace(WorkspaceSpec.of("bad id")));
        fails(FleetException.Code.INVALID_INPUT,
                () -> engine.upsertWorkspace(WorkspaceSpec.of("ws-2").withMinRuntimeVersion("three")));
        engine.upsertWorkspace(WorkspaceSpec.of("ws-2"));
        fails(FleetException.Code.CONFLICT,
                () -> engine.upsertCluster(ClusterSpec.of("eks-prod-us", "ws-2", Environment.PRODUCTION)));
        assertThrows(IllegalArgumentException.class, () -> engine.upsertWorkspace(null));
        assertThrows(IllegalArgumentException.class, () -> engine.upsertCluster(null));
        fails(FleetException.Code.INVALID_INPUT, () -> WorkspaceSpec.of("  "));
        assertThrows(IllegalArgumentException.class, () -> ClusterSpec.of("c", null, Environment.STAGING));
        assertThrows(IllegalArgumentException.class, () -> ClusterSpec.of("c", "ws-1", null));
    }

    @Test
    void publishHashesVersionsAndStoresTheArtifact() {
        assertNull(engine.desired("eks-prod-us"));
        Snapshot s1 = engine.publish("eks-prod-us", V1, "alice", T);
        assertEquals("eks-prod-us@r1", s1.id());
        assertEquals("eks-prod-us", s1.cluster());
        assertEquals(1, s1.revision());
        assertEquals(FleetGov.contentHash(V1), s1.hash());
        assertEquals("alice", s1.author());
        assertEquals(T, s1.publishedAtMs());
        assertEquals(V1.length, s1.sizeBytes());

        ByteBuffer direct = ByteBuffer.allocateDirect(V2.length + 3).put(new byte[] {9, 9, 9}).put(V2);
        direct.position(3);
        Snapshot s2 = engine.publish("eks-prod-us", direct, "bob", T + 1);
        assertEquals(3, direct.position(), "publish must not move the buffer");
        assertEquals(2, s2.revision());
        assertEquals(FleetGov.contentHash(V2), s2.hash());
        Snapshot s3 = engine.publish("eks-prod-us", ByteBuffer.wrap(V1), "carol", T + 2);
        assertEquals(s1.hash(), s3.hash());

        assertEquals(s3, engine.desired("eks-prod-us"));
        assertEquals(s2, engine.snapshot("eks-prod-us@r2"));
        assertArrayEquals(V2, engine.artifact(s2.hash()));

        fails(FleetException.Code.NOT_FOUND, () -> engine.publish("nope", V1, "alice", T));
        fails(FleetException.Code.INVALID_INPUT, () -> engine.publish("eks-prod-us", new byte[0], "alice", T));
        fails(FleetException.Code.NOT_FOUND, () -> engine.snapshot("eks-prod-us@r9"));
        fails(FleetException.Code.NOT_FOUND, () -> engine.desired("nope"));
        fails(FleetException.Code.NOT_FOUND, () -> engine.artifact(FleetGov.contentHash(new byte[] {1})));
        fails(FleetException.Code.INVALID_INPUT, () -> engine.artifact("not-hex"));
        assertThrows(IllegalArgumentException.class, () -> engine.publish("eks-prod-us", (byte[]) null, "a", T));
        fails(FleetException.Code.INVALID_INPUT, () -> engine.publish("eks-prod-us", V1, " ", T));
        assertThrows(IllegalArgumentException.class, () -> engine.publish("eks-prod-us", V1, "a", -1));
        assertThrows(IllegalArgumentException.class, () -> engine.publish(null, V1, "a", T));
    }

    // ---- execution ---------------------------------------------------------------------

    @Test
    void enrolmentIsIdempotentAndExclusive() {
        long gw = engine.enroll("gw-1", "eks-prod-us", T);
        assertEquals(gw, engine.enroll("gw-1", "eks-prod-us", T));
        assertEquals(gw, engine.nodeHandle("gw-1"));
        engine.upsertCluster(ClusterSpec.of("gke-stage-eu", "ws-1", Environment.STAGING));
        fails(FleetException.Code.CONFLICT, () -> engine.enroll("gw-1", "gke-stage-eu", T));
        fails(FleetException.Code.NOT_FOUND, () -> engine.enroll("gw-2", "nope", T));
        fails(FleetException.Code.NOT_FOUND, () -> engine.nodeHandle("gw-9"));
        fails(FleetException.Code.INVALID_INPUT, () -> engine.enroll("gw 2", "eks-prod-us", T));
        fails(FleetException.Code.INVALID_INPUT, () -> engine.enroll("", "eks-prod-us", T));
    }

    @Test
    void inSyncHeartbeatsMakeAHealthyClusterAndANewRevisionDrops() {
        Snapshot s1 = engine.publish("eks-prod-us", V1, "alice", T);
        long a = engine.enroll("gw-1", "eks-prod-us", T);
        engine.enroll("gw-2", "eks-prod-us", T);
        assertEquals(0, engine.cohesion("eks-prod-us"));

        assertNull(engine.heartbeat(a, synced(s1, T + 1)));
        assertEquals(50, engine.cohesion("eks-prod-us"));
        assertNull(engine.heartbeat("gw-2", synced(s1, T + 1)));
        ClusterView c = engine.cluster("eks-prod-us", T + 2);
        assertEquals(100, c.cohesion());
        assertEquals(10_000, c.cohesionBasisPoints());
        assertEquals(ClusterStatus.HEALTHY, c.status());
        assertEquals(2, c.inSync());
        assertEquals(2, c.total());
        assertEquals(List.of(new RevisionCount(1, 2)), c.revisions());
        assertEquals("ws-1", c.workspace());
        assertEquals(Environment.PRODUCTION, c.environment());
        assertEquals("edge", c.ownerTeam());
        assertFalse(c.autoReconcile());
        assertEquals(s1.id(), c.desiredSnapshot());
        assertEquals(1, c.desiredRevision());
        assertEquals(s1.hash(), c.desiredHash());
        assertEquals(List.of(), c.rootCauses());
        assertThrows(UnsupportedOperationException.class, () -> c.revisions().clear());

        engine.publish("eks-prod-us", V2, "alice", T + 3);
        ClusterView after = engine.cluster("eks-prod-us", T + 3);
        assertEquals(0, after.cohesion());
        assertEquals(ClusterStatus.DIVERGENT, after.status());
        // Auto-reconcile is off: a behind node gets no directive.
        assertNull(engine.heartbeat(a, synced(s1, T + 4)));
    }

    @Test
    void autoReconcileAnswersABehindNodeWithADirective() {
        engine.upsertCluster(ClusterSpec.of("eks-prod-us", "ws-1", Environment.PRODUCTION).withAutoReconcile(true));
        Snapshot s1 = engine.publish("eks-prod-us", V1, "alice", T);
        long gw = engine.enroll("gw-1", "eks-prod-us", T);
        assertNull(engine.heartbeat(gw, synced(s1, T + 1)));
        Snapshot s2 = engine.publish("eks-prod-us", V2, "alice", T + 2);
        Directive d = engine.heartbeat(gw, synced(s1, T + 3));
        assertEquals(new Directive(DirectiveKind.RECONCILE, s2), d);
        assertNull(engine.heartbeat(gw, synced(s2, T + 4)));
        assertEquals(100, engine.cohesion("eks-prod-us"));
    }

    @Test
    void sameIdWithAnotherHashIsAHashMismatch() {
        Snapshot s1 = engine.publish("eks-prod-us", V1, "alice", T);
        engine.enroll("gw-1", "eks-prod-us", T);
        String forged = FleetGov.contentHash("tampered".getBytes(StandardCharsets.UTF_8));
        engine.heartbeat("gw-1", Heartbeat.at(T + 1, "3.5.0").withApplied(s1.id(), forged));

        NodeView n = engine.node("gw-1", T + 1);
        assertEquals(ConfigStatus.DIVERGENT, n.configStatus());
        assertEquals(NodeStatus.DIVERGENT, n.status());
        assertEquals(DriftStatus.NEEDS_RECONCILE, n.drift());
        assertEquals(SyncErrorCode.HASH_MISMATCH, n.lastSyncError().code());
        assertEquals(forged, n.appliedHash());
        assertNotEquals(null, n.reconcileReason());

        ClusterView c = engine.cluster("eks-prod-us", T + 1);
        assertEquals(0, c.cohesion());
        assertEquals(List.of(new RootCause(SyncErrorCode.HASH_MISMATCH, 1, "gw-1")), c.rootCauses());
    }

    @Test
    void nodeViewCarriesEveryReportedField() {
        Snapshot s1 = engine.publish("eks-prod-us", V1, "alice", T);
        engine.enroll("gw-1", "eks-prod-us", T);

        NodeView before = engine.node("gw-1", T);
        assertEquals(Health.NEVER, before.health());
        assertEquals(DriftStatus.AWAITING_SYNC, before.drift());
        assertEquals(ProcessHealth.OFFLINE, before.processHealth());
        assertEquals(OptionalLong.empty(), before.lastHeartbeatMs());
        assertEquals(OptionalLong.empty(), before.heartbeatAgeMs());
        assertFalse(before.verified());
        assertNull(before.processStatus());
        assertNull(before.runtimeVersion());
        assertNull(before.appliedSnapshotId());

        Metrics m = new Metrics(12.5f, 40f, 1200f, 55f, 3);
        engine.heartbeat("gw-1", synced(s1, T).withMetrics(m).withStatus(ProcessStatus.READY));
        NodeView n = engine.node("gw-1", T + MINUTE);
        assertEquals("gw-1", n.id());
        assertEquals("eks-prod-us", n.clusterId());
        assertEquals(NodeStatus.READY, n.status());
        assertEquals(s1.id(), n.desiredSnapshotId());
        assertEquals(s1.hash(), n.desiredHash());
        assertEquals(s1.id(), n.appliedSnapshotId());
        assertEquals(s1.hash(), n.appliedHash());
        assertEquals(OptionalLong.of(T), n.lastHeartbeatMs());
        assertEquals(OptionalLong.of(MINUTE), n.heartbeatAgeMs());
        assertTrue(n.verified());
        assertNull(n.lastSyncError());
        assertNull(n.reconcileReason());
        assertEquals(ProcessStatus.READY, n.processStatus());
        assertEquals(m, n.metrics());
        assertEquals(55f, n.heapTrend());
        assertEquals("3.5.0", n.runtimeVersion());
        assertEquals(Health.CONNECTED, n.health());
        assertEquals(ProcessHealth.HEALTHY, n.processHealth());
        assertEquals(ConfigStatus.IN_SYNC, n.configStatus());
        assertEquals(DriftStatus.ALIGNED, n.drift());

        assertEquals(Health.STALE, engine.node("gw-1", T + 6 * MINUTE).health());
        assertEquals(Health.DORMANT, engine.node("gw-1", T + 61 * MINUTE).health());
        assertEquals(ProcessHealth.OFFLINE, engine.node("gw-1", T + 61 * MINUTE).processHealth());

        engine.heartbeat("gw-1", synced(s1, T + 1).withStatus(ProcessStatus.STARTING));
        assertEquals(NodeStatus.STARTING, engine.node("gw-1", T + 1).status());
        engine.heartbeat("gw-1", synced(s1, T + 2).withStatus(ProcessStatus.ERROR));
        assertEquals(NodeStatus.ERROR, engine.node("gw-1", T + 2).status());
        assertEquals(ProcessHealth.DEGRADED, engine.node("gw-1", T + 2).processHealth());

        engine.heartbeat("gw-1", Heartbeat.at(T + 3, "3.3.9"));
        assertEquals(DriftStatus.UPGRADE_REQUIRED, engine.node("gw-1", T + 3).drift());
        fails(FleetException.Code.NOT_FOUND, () -> engine.node("gw-9", T));
    }

    @Test
    void everySyncErrorCodeCrossesBothWays() {
        engine.publish("eks-prod-us", V1, "alice", T);
        engine.enroll("gw-1", "eks-prod-us", T);
        long at = T;
        for (SyncErrorCode code : SyncErrorCode.values()) {
            SyncError error = new SyncError(code, "detail of " + code);
            engine.heartbeat("gw-1", Heartbeat.at(++at, "3.5.0").withSyncError(error));
            assertEquals(error, engine.node("gw-1", at).lastSyncError());
            assertEquals(List.of(new RootCause(code, 1, "gw-1")), engine.cluster("eks-prod-us", at).rootCauses());
        }
        engine.heartbeat("gw-1", Heartbeat.at(++at, "3.5.0"));
        assertNull(engine.node("gw-1", at).lastSyncError(), "a heartbeat without an error clears it");
        assertEquals("NATS_TIMEOUT: Failed to receive snapshot",
                new SyncError(SyncErrorCode.NATS_TIMEOUT, "Failed to receive snapshot").toString());
    }

    @Test
    void aSyncErrorCrossesAsItsTextAndTheEngineParsesIt() {
        engine.publish("eks-prod-us", V1, "alice", T);
        long gw = engine.enroll("gw-1", "eks-prod-us", T);
        long at = T;
        // Each error is sent as SyncError.toString() and read back from the engine's view.
        List<SyncError> kept = List.of(
                new SyncError(SyncErrorCode.RELOAD_FAILURE, ""),
                new SyncError(SyncErrorCode.RELOAD_FAILURE, "filter: rate_limit: bad value"),
                new SyncError(SyncErrorCode.OTHER, "DISK_FULL: /var/lib"),
                new SyncError(SyncErrorCode.OTHER, ""));
        for (SyncError error : kept) {
            engine.heartbeat(gw, Heartbeat.at(++at, "3.5.0").withSyncError(error));
            assertEquals(error, engine.node("gw-1", at).lastSyncError());
        }
        // The engine's parser trims the detail; the engine keeps its first 47 bytes, as on the batch path.
        engine.heartbeat(gw, Heartbeat.at(++at, "3.5.0").withSyncError(new SyncError(SyncErrorCode.FETCH_TIMEOUT, "  slow  ")));
        assertEquals(new SyncError(SyncErrorCode.FETCH_TIMEOUT, "slow"), engine.node("gw-1", at).lastSyncError());
        engine.heartbeat(gw, Heartbeat.at(++at, "3.5.0")
                .withSyncError(new SyncError(SyncErrorCode.FETCH_TIMEOUT, "x".repeat(600))));
        assertEquals("x".repeat(47), engine.node("gw-1", at).lastSyncError().detail());
    }

    @Test
    void aStaleHeartbeatThrowsOnePreallocatedExceptionWithoutAStackTrace() {
        Snapshot s1 = engine.publish("eks-prod-us", V1, "alice", T);
        long gw = engine.enroll("gw-1", "eks-prod-us", T);
        engine.heartbeat(gw, synced(s1, T - 10));
        Heartbeat older = synced(s1, T - 15);
        StaleHeartbeatException byHandle = assertThrows(StaleHeartbeatException.class, () -> engine.heartbeat(gw, older));
        StaleHeartbeatException byId = assertThrows(StaleHeartbeatException.class,
                () -> engine.heartbeat("gw-1", older));
        assertSame(StaleHeartbeatException.INSTANCE, byHandle);
        assertSame(byHandle, byId);
        assertEquals(FleetException.Code.STALE_HEARTBEAT, byHandle.code());
        assertEquals(0, byHandle.getStackTrace().length, "no stack trace is filled in");
        // Nobody can change the shared instance.
        byHandle.addSuppressed(new RuntimeException("ignored"));
        assertEquals(0, byHandle.getSuppressed().length);
        assertThrows(IllegalStateException.class, () -> byHandle.initCause(new RuntimeException("refused")));
        byHandle.setStackTrace(new StackTraceElement[] {new StackTraceElement("C", "m", "F", 1)});
        assertEquals(0, byHandle.getStackTrace().length);
        assertEquals(T - 10, engine.node("gw-1", T).lastHeartbeatMs().getAsLong(), "nothing changed");
    }

    @Test
    void aRepeatedHashAndVersionCountAsTheirTextDoes() {
        Snapshot s1 = engine.publish("eks-prod-us", V1, "alice", T);
        long gw = engine.enroll("gw-1", "eks-prod-us", T);
        String other = "0123456789abcdef".repeat(4);
        // The same hash as a new String, in upper case, another hash, and the first again.
        assertNull(engine.heartbeat(gw, synced(s1, T + 1)));
        assertEquals(100, engine.cohesion("eks-prod-us"));
        assertNull(engine.heartbeat(gw, Heartbeat.at(T + 2, "3.5.0").withApplied(s1.id(), s1.hash().toUpperCase())));
        assertEquals(100, engine.cohesion("eks-prod-us"));
        assertNull(engine.heartbeat(gw, Heartbeat.at(T + 3, "3.5.0").withApplied(s1.id(), other)));
        assertEquals(0, engine.cohesion("eks-prod-us"));
        NodeView n = engine.node("gw-1", T + 3);
        assertEquals(other, n.appliedHash());
        assertEquals("3.5.0", n.runtimeVersion());
        assertNull(engine.heartbeat(gw, Heartbeat.at(T + 4, "v3.6.1-beta").withApplied(s1.id(), s1.hash())));
        assertEquals(100, engine.cohesion("eks-prod-us"));
        n = engine.node("gw-1", T + 4);
        assertEquals(s1.hash(), n.appliedHash());
        assertEquals("3.6.1-pre", n.runtimeVersion());

        // A long version crosses as text and meets the native side's limits, parsed or not.
        String longVersion = "3.7.0-" + "a".repeat(40);
        assertNull(engine.heartbeat(gw, Heartbeat.at(T + 5, longVersion)));
        assertEquals("3.7.0-pre", engine.node("gw-1", T + 5).runtimeVersion());
        String tooLong = "3.7.0-" + "a".repeat(300);
        fails(FleetException.Code.INVALID_INPUT, () -> engine.heartbeat(gw, Heartbeat.at(T + 6, tooLong)));
        // A bad hash after good ones is still refused, and changes nothing.
        NodeView before = engine.node("gw-1", T + 6);
        fails(FleetException.Code.INVALID_INPUT,
                () -> engine.heartbeat(gw, Heartbeat.at(T + 6, "3.5.0").withApplied(s1.id(), "g".repeat(64))));
        assertEquals(before, engine.node("gw-1", T + 6));
    }

    @Test
    void badHeartbeatsThrowAndChangeNothing() {
        Snapshot s1 = engine.publish("eks-prod-us", V1, "alice", T);
        long gw = engine.enroll("gw-1", "eks-prod-us", T);
        // Stamped behind the engine's clock, so the stamps order them.
        engine.heartbeat(gw, synced(s1, T - 10));

        fails(FleetException.Code.STALE_HEARTBEAT, () -> engine.heartbeat(gw, Heartbeat.at(T - 15, "3.5.0")));
        fails(FleetException.Code.FUTURE_HEARTBEAT, () -> engine.heartbeat(gw, synced(s1, T + 6 * MINUTE)));
        engine.setClock(T + 10 * MINUTE);
        assertEquals(T + 10 * MINUTE, engine.clockMs());
        assertNull(engine.heartbeat(gw, synced(s1, T + 6 * MINUTE)), "allowed once the clock moved");

        long at = T + 7 * MINUTE;
        fails(FleetException.Code.INVALID_INPUT,
                () -> engine.heartbeat(gw, Heartbeat.at(at, "3.5.0").withMetrics(new Metrics(Float.NaN, 0, 0, 0, 0))));
        fails(FleetException.Code.INVALID_INPUT,
                () -> engine.heartbeat(gw, Heartbeat.at(at, "3.5.0").withMetrics(new Metrics(0, 101, 0, 0, 0))));
        fails(FleetException.Code.INVALID_INPUT, () -> engine.heartbeat(gw, Heartbeat.at(at, "not-a-version")));
        fails(FleetException.Code.INVALID_INPUT,
                () -> engine.heartbeat(gw, Heartbeat.at(at, "3.5.0").withApplied(s1.id(), "zz")));
        fails(FleetException.Code.INVALID_INPUT,
                () -> engine.heartbeat(gw, Heartbeat.at(at, "3.5.0").withApplied(s1.id(), null)));
        fails(FleetException.Code.INVALID_INPUT,
                () -> engine.heartbeat(gw, Heartbeat.at(at, "3.5.0").withApplied("eks-prod-us@r1-é", s1.hash())));
        fails(FleetException.Code.INVALID_INPUT,
                () -> engine.heartbeat(gw, Heartbeat.at(at, "3.5.0").withApplied("x".repeat(300), s1.hash())));
        fails(FleetException.Code.NOT_FOUND, () -> engine.heartbeat(gw + 1, Heartbeat.at(at, "3.5.0")));
        fails(FleetException.Code.NOT_FOUND, () -> engine.heartbeat("gw-9", Heartbeat.at(at, "3.5.0")));
        assertThrows(IllegalArgumentException.class,
                () -> engine.heartbeat(gw, Heartbeat.at(at, "3.5.0").withMetrics(new Metrics(0, 0, 0, 0, -1))));
        assertThrows(IllegalArgumentException.class, () -> engine.heartbeat(gw, null));
        fails(FleetException.Code.NOT_FOUND, () -> engine.heartbeat(" ", Heartbeat.at(at, "3.5.0")));
        assertThrows(IllegalArgumentException.class, () -> Heartbeat.at(-1, "3.5.0"));
        fails(FleetException.Code.INVALID_INPUT, () -> engine.heartbeat(gw, Heartbeat.at(at, " ")));

        NodeView n = engine.node("gw-1", at);
        assertEquals(OptionalLong.of(T + 6 * MINUTE), n.lastHeartbeatMs(), "no failed heartbeat left a trace");
        assertEquals(ConfigStatus.IN_SYNC, n.configStatus());
        assertEquals(100, engine.cohesion("eks-prod-us"));
    }

    // ---- queries -----------------------------------------------------------------------

    @Test
    void clusterNodesPages() {
        Snapshot s1 = engine.publish("eks-prod-us", V1, "alice", T);
        for (int i = 0; i < 5; i++) {
            engine.enroll("gw-" + i, "eks-prod-us", T);
        }
        engine.heartbeat("gw-3", synced(s1, T));
        List<NodeView> page = engine.clusterNodes("eks-prod-us", T, 2, 2);
        assertEquals(List.of("gw-2", "gw-3"), page.stream().map(NodeView::id).toList());
        assertEquals(ConfigStatus.IN_SYNC, page.get(1).configStatus());
        assertEquals(5, engine.clusterNodes("eks-prod-us", T, 0, 100).size());
        assertEquals(0, engine.clusterNodes("eks-prod-us", T, 9, 100).size());
        fails(FleetException.Code.NOT_FOUND, () -> engine.clusterNodes("nope", T, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> engine.clusterNodes("eks-prod-us", T, -1, 1));
    }

    @Test
    void fleetInventoryAsRecordsAndAsJson() {
        engine.upsertWorkspace(WorkspaceSpec.of("ws-1").withAuthorityMode(AuthorityMode.TIGHTEN_ONLY).withMinRuntimeVersion("3.5.0"));
        Snapshot s1 = engine.publish("eks-prod-us", V1, "alice", T);
        engine.upsertCluster(ClusterSpec.of("gke-stage-eu", "ws-1", Environment.STAGING));
        engine.enroll("gw-1", "eks-prod-us", T);
        engine.enroll("gw-2", "eks-prod-us", T);
        engine.enroll("gw-3", "gke-stage-eu", T);
        engine.heartbeat("gw-1", synced(s1, T));
        engine.heartbeat("gw-2", Heartbeat.at(T, "3.4.9")
                .withSyncError(new SyncError(SyncErrorCode.RELOAD_FAILURE, "Incompatible Filter Signature")));

        FleetInventory f = engine.fleet("ws-1", T + 10 * MINUTE);
        assertEquals(new FleetSummary(3, 0, 2, 0, 1, 1, 0, 1, 1), f.summary());
        assertEquals(List.of("gw-1", "gw-2", "gw-3"), f.runtimes().stream().map(FleetRuntime::id).sorted().toList());
        FleetRuntime r1 = f.runtimes().stream().filter(r -> r.id().equals("gw-1")).findFirst().orElseThrow();
        assertEquals(new FleetRuntime("gw-1", "eks-prod-us", Health.STALE, "3.5.0", DriftStatus.ALIGNED, s1.id(),
                s1.hash(), OptionalLong.of(T), null), r1);
        FleetRuntime r2 = f.runtimes().stream().filter(r -> r.id().equals("gw-2")).findFirst().orElseThrow();
        assertEquals("RELOAD_FAILURE: Incompatible Filter Signature", r2.lastSyncError());
        assertEquals(DriftStatus.UPGRADE_REQUIRED, r2.drift());
        assertEquals(AuthorityMode.TIGHTEN_ONLY, f.desiredState().policyMode());
        assertEquals("3.5.0", f.desiredState().minRuntimeVersion());
        assertEquals(List.of(new DesiredCluster("eks-prod-us", s1.id(), 1, s1.hash()),
                new DesiredCluster("gke-stage-eu", null, 0, null)), f.desiredState().clusters());

        String json = engine.fleetJson("ws-1", T + 10 * MINUTE);
        assertTrue(json.startsWith("{") && json.endsWith("}"), json);
        for (String key : List.of("\"runtimes\"", "\"summary\"", "\"desiredState\"", "\"policyMode\"",
                "\"upgradeRequired\":1", "\"gw-3\"", s1.hash())) {
            assertTrue(json.contains(key), key + " missing from " + json);
        }
        fails(FleetException.Code.NOT_FOUND, () -> engine.fleet("nope", T));
        fails(FleetException.Code.NOT_FOUND, () -> engine.fleetJson("nope", T));
    }

    @Test
    void workspaceClusterIdsAndPullConfig() {
        engine.upsertWorkspace(WorkspaceSpec.of("ws-1").withAuthorityMode(AuthorityMode.TIGHTEN_ONLY).withMinRuntimeVersion("3.5.1"));
        assertEquals(new WorkspaceSpec("ws-1", AuthorityMode.TIGHTEN_ONLY, "3.5.1"), engine.workspace("ws-1"));
        fails(FleetException.Code.NOT_FOUND, () -> engine.workspace("nope"));
        engine.upsertCluster(ClusterSpec.of("azure-dev-west", "ws-1", Environment.DEVELOPMENT));
        assertEquals(List.of("eks-prod-us", "azure-dev-west"), engine.clusterIds());

        Snapshot s1 = engine.publish("eks-prod-us", V1, "alice", T);
        String json = engine.fleetConfigJson("ws-1");
        for (String part : List.of("\"distribution_mode\":\"always_pull\"", "/api/v1/workspaces/ws-1/fleet/config",
                "\"tighten_only\"", s1.id(), s1.hash(), "azure-dev-west")) {
            assertTrue(json.contains(part), part + " missing from " + json);
        }
        fails(FleetException.Code.NOT_FOUND, () -> engine.fleetConfigJson("nope"));
    }

    // ---- construction and clock --------------------------------------------------------

    @Test
    void optionsAndClock() {
        assertThrows(IllegalArgumentException.class, () -> FleetEngine.Options.defaults().withCapacity(0));
        assertThrows(IllegalArgumentException.class, () -> FleetEngine.Options.defaults().withManualClock(-1));
        for (long outOfRange : new long[] {-1, FleetEngine.Options.MAX_CAPACITY + 1, 1L << 40, Long.MAX_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> FleetEngine.Options.defaults().withCapacity(outOfRange));
            assertEquals("capacity is " + outOfRange + " nodes; it must be between 1 and 4294967295", e.getMessage());
        }
        FleetEngine.Options.defaults().withCapacity(FleetEngine.Options.MAX_CAPACITY);
        try (FleetEngine system = new FleetEngine()) {
            assertThrows(IllegalStateException.class, () -> system.setClock(T));
            assertTrue(Math.abs(system.clockMs() - System.currentTimeMillis()) < 3_600_000L);
        }
        try (FleetEngine tiny = new FleetEngine(FleetEngine.Options.defaults().withCapacity(1).withManualClock(T))) {
            assertEquals(T, tiny.clockMs());
            tiny.upsertWorkspace(WorkspaceSpec.of("w"));
            tiny.upsertCluster(ClusterSpec.of("c", "w", Environment.DEVELOPMENT));
            tiny.enroll("n1", "c", T);
            FleetException full = fails(FleetException.Code.INVALID_INPUT, () -> tiny.enroll("n2", "c", T));
            assertEquals("the engine is full: capacity is 1 nodes (raise FleetEngine.Options.withCapacity)",
                    full.detail(), "named in the Java API's terms");
        }
    }
}
