package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class ConfigAgentTest {
    static final long T = FleetEngineTest.T;
    static final byte[] ONE = "routes: [a]\n".getBytes(StandardCharsets.UTF_8);
    static final byte[] TWO = "routes: [a, b]\n".getBytes(StandardCharsets.UTF_8);
    static final String H1 = FleetGov.contentHash(ONE);
    static final String H2 = FleetGov.contentHash(TWO);

    ConfigAgent agent;

    @BeforeEach
    void setUp() {
        agent = new ConfigAgent("3.5.0");
    }

    @AfterEach
    void tearDown() {
        agent.close();
    }

    static FleetException reloadFailed(Executable call) {
        FleetException e = assertThrows(FleetException.class, call);
        assertEquals(FleetException.Code.RELOAD_FAILURE, e.code(), e.getMessage());
        return e;
    }

    @Test
    void applyVerifiesThenValidatesThenSwaps() {
        assertNull(agent.current());
        assertEquals("3.5.0", agent.runtimeVersion());
        List<AppliedConfig> seen = new ArrayList<>();
        AppliedConfig one = agent.apply("c@r1", ONE, H1, T, seen::add);
        assertEquals("c@r1", one.snapshotId());
        assertEquals(1, one.revision());
        assertEquals(H1, one.hash());
        assertArrayEquals(ONE, one.bytes());
        assertEquals(ONE.length, one.size());
        assertEquals(T, one.appliedAtMs());
        assertEquals(List.of(one), seen, "the validator saw exactly the candidate that went live");
        assertEquals(one, agent.current());
        assertNull(agent.lastKnownGood());

        AppliedConfig two = agent.apply("c@r2", TWO, H2, T + 1, null);
        assertEquals(two, agent.current());
        assertEquals(one, agent.lastKnownGood());
        assertEquals(0, agent.apply("local-override", ONE, H1, T + 2, Validator.ACCEPT_ALL).revision());
        byte[] copy = agent.current().bytes();
        copy[0] = 'X';
        assertArrayEquals(ONE, agent.current().bytes(), "bytes() is a copy");
    }

    @Test
    void aCorruptedDownloadNeverReachesTheValidator() {
        agent.apply("c@r1", ONE, H1, T, null);
        AtomicInteger calls = new AtomicInteger();
        FleetException e = assertThrows(FleetException.class,
                () -> agent.apply("c@r2", "routes: [a, c]\n".getBytes(StandardCharsets.UTF_8), H2, T + 1,
                        c -> calls.incrementAndGet()));
        assertEquals(FleetException.Code.HASH_MISMATCH, e.code(), "a code of its own, not INVALID_INPUT");
        assertTrue(e.detail().contains("HASH_MISMATCH: expected " + H2), e.detail());
        ByteBuffer direct = ByteBuffer.allocateDirect(ONE.length).put(ONE).flip();
        FleetEngineTest.fails(FleetException.Code.HASH_MISMATCH, () -> agent.apply("c@r2", direct, H2, T + 1, null));
        assertEquals(0, calls.get());
        assertEquals(SyncErrorCode.HASH_MISMATCH, agent.lastSyncError().code());
        assertEquals("c@r1", agent.current().snapshotId(), "the last known good stays live");
        assertEquals(0, agent.hotSwapErrors(), "a refused download is not a reload");

        FleetException empty = assertThrows(FleetException.class,
                () -> agent.apply("c@r3", new byte[0], FleetGov.contentHash(new byte[0]), T + 2, null));
        assertEquals(FleetException.Code.INVALID_INPUT, empty.code());
        assertEquals(SyncErrorCode.VALIDATION_FAILED, agent.lastSyncError().code());

        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> agent.apply("c@r4", ONE, "nothex", T, null));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> agent.apply("bad id", ONE, H1, T, null));
        assertThrows(IllegalArgumentException.class, () -> agent.apply("c@r4", (byte[]) null, H1, T, null));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> agent.apply(" ", ONE, H1, T, null));
        assertThrows(IllegalArgumentException.class, () -> agent.apply("c@r4", ONE, H1, -1, null));
    }

    @Test
    void aFailingJavaValidatorKeepsTheLastKnownGoodAndIsTheCause() {
        AppliedConfig one = agent.apply("c@r1", ONE, H1, T, null);
        IllegalStateException boom = new IllegalStateException("filter chain did not compile");
        FleetException e = reloadFailed(() -> agent.apply("c@r2", TWO, H2, T + 1, c -> {
            throw boom;
        }));
        assertSame(boom, e.getCause(), "the validator's exception is the cause");
        assertTrue(e.detail().contains("filter chain did not compile"), e.detail());
        assertEquals(one, agent.current());
        assertEquals(SyncErrorCode.RELOAD_FAILURE, agent.lastSyncError().code());
        assertTrue(agent.lastSyncError().detail().contains("IllegalStateException: filter chain did not compile"),
                agent.lastSyncError().detail());
        assertEquals(1, agent.hotSwapErrors());

        ConfigRejectedException rejected =
                new ConfigRejectedException(SyncErrorCode.JVM_MEMORY_PRESSURE, "OOM during policy load");
        FleetException e2 = reloadFailed(() -> agent.apply("c@r2", TWO, H2, T + 2, c -> {
            throw rejected;
        }));
        assertSame(rejected, e2.getCause());
        assertEquals(new SyncError(SyncErrorCode.JVM_MEMORY_PRESSURE, "OOM during policy load"), agent.lastSyncError());
        assertEquals(2, agent.hotSwapErrors());
        assertEquals(one, agent.current());

        // A heartbeat reports the live snapshot and the refusal.
        Heartbeat hb = agent.heartbeat(T + 3, new Metrics(10, 20, 30, 40, 99), ProcessStatus.READY);
        assertEquals("c@r1", hb.appliedSnapshot());
        assertEquals(H1, hb.appliedHash());
        assertEquals(2, hb.metrics().hotSwapErrors(), "the agent's count replaces the caller's");
        assertEquals(agent.lastSyncError(), hb.syncError());

        // A successful apply clears the error.
        agent.apply("c@r2", TWO, H2, T + 4, null);
        assertNull(agent.lastSyncError());
    }

    @Test
    void aValidatorExceptionThatCannotEvenDescribeItselfIsStillARefusal() {
        RuntimeException mute = new RuntimeException() {
            private static final long serialVersionUID = 1L;

            @Override
            public String toString() {
                throw new IllegalStateException("toString refuses too");
            }
        };
        FleetException e = reloadFailed(() -> agent.apply("c@r1", ONE, H1, T, c -> {
            throw mute;
        }));
        assertSame(mute, e.getCause());
        assertNull(agent.current());
        assertEquals(SyncErrorCode.RELOAD_FAILURE, agent.lastSyncError().code());
        assertTrue(agent.lastSyncError().detail().contains("calling the validator failed"), agent.lastSyncError().detail());
        assertEquals(H1, agent.apply("c@r1", ONE, H1, T, null).hash(), "the agent works on afterwards");
    }

    @Test
    void aValidatorMayReadButNotReenterItsAgent() {
        agent.apply("c@r1", ONE, H1, T, null);
        AtomicReference<AppliedConfig> readInside = new AtomicReference<>();
        agent.apply("c@r2", TWO, H2, T + 1, c -> readInside.set(agent.current()));
        assertEquals("c@r1", readInside.get().snapshotId(), "inside the validator the old config is still live");

        // Misuse is the caller's programming error, not a configuration the validator refused.
        assertThrows(IllegalStateException.class, () -> agent.apply("c@r3", ONE, H1, T + 2,
                c -> agent.apply("c@r9", TWO, H2, T + 2, null)));
        assertThrows(IllegalStateException.class, () -> agent.apply("c@r3", ONE, H1, T + 3, c -> agent.close()));
        assertThrows(IllegalStateException.class, () -> agent.apply("c@r3", ONE, H1, T + 3,
                c -> agent.recordSyncError(new SyncError(SyncErrorCode.OTHER, "x"))));
        assertEquals("c@r2", agent.current().snapshotId());

        // Another agent may be applied to from inside a validator.
        try (ConfigAgent other = new ConfigAgent("3.6.0")) {
            agent.apply("c@r3", ONE, H1, T + 4, c -> other.apply("d@r1", TWO, H2, T + 4, inner -> {
                if (inner.size() != TWO.length) {
                    throw new IllegalStateException("wrong candidate");
                }
            }));
            assertEquals("d@r1", other.current().snapshotId());
            FleetException nested = reloadFailed(() -> agent.apply("c@r4", TWO, H2, T + 5,
                    c -> other.apply("d@r2", ONE, H1, T + 5, inner -> {
                        throw new ConfigRejectedException(SyncErrorCode.VALIDATION_FAILED, "inner says no");
                    })));
            FleetException inner = assertInstanceOf(FleetException.class, nested.getCause());
            assertInstanceOf(ConfigRejectedException.class, inner.getCause());
            assertEquals(SyncErrorCode.VALIDATION_FAILED, other.lastSyncError().code());
            assertEquals(SyncErrorCode.RELOAD_FAILURE, agent.lastSyncError().code());
        }
        assertEquals("c@r3", agent.current().snapshotId());
    }

    @Test
    void errorsAndMisuseInAValidatorReachTheCallerUnwrapped() {
        agent.apply("c@r1", ONE, H1, T, null);
        agent.apply("c@r2", TWO, H2, T + 1, null);
        StackOverflowError overflow = new StackOverflowError("validator recursed");
        assertSame(overflow, assertThrows(StackOverflowError.class, () -> agent.apply("c@r3", ONE, H1, T + 2, c -> {
            throw overflow;
        })));
        OutOfMemoryError oom = new OutOfMemoryError("validator ran out");
        assertSame(oom, assertThrows(OutOfMemoryError.class, () -> agent.rollback(T + 3, c -> {
            throw oom;
        })));
        FleetEngine closed = new FleetEngine();
        closed.close();
        IllegalStateException misuse = assertThrows(IllegalStateException.class,
                () -> agent.apply("c@r3", ONE, H1, T + 4, c -> closed.cohesion("c")));
        assertEquals("FleetEngine is closed", misuse.getMessage());
        assertThrows(IllegalStateException.class, () -> agent.apply("c@r3", ONE, H1, T + 4, c -> agent.close()));
        assertEquals("c@r2", agent.current().snapshotId(), "nothing was swapped");
        // Programming errors are the caller's, never reported to the fleet as a reload failure.
        assertNull(agent.lastSyncError(), "nothing recorded");
        assertEquals(0, agent.hotSwapErrors(), "not counted as a hot-swap error");
        assertEquals("c@r1", agent.lastKnownGood().snapshotId(), "the rollback target is still there");

        // The validator's own IllegalStateException is still a refusal.
        FleetException refused = reloadFailed(() -> agent.apply("c@r3", ONE, H1, T + 5, c -> {
            throw new IllegalStateException("filter chain did not compile");
        }));
        assertEquals(IllegalStateException.class, refused.getCause().getClass());
    }

    @Test
    void rollbackGoesThroughTheValidator() {
        FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> agent.rollback(T, null));
        AppliedConfig one = agent.apply("c@r1", ONE, H1, T, null);
        agent.apply("c@r2", TWO, H2, T + 1, null);
        reloadFailed(() -> agent.rollback(T + 2, c -> {
            throw new ConfigRejectedException(SyncErrorCode.RELOAD_FAILURE, "not now");
        }));
        assertEquals("c@r2", agent.current().snapshotId());
        AppliedConfig back = agent.rollback(T + 3, c -> assertEquals(one.hash(), c.hash()));
        assertEquals("c@r1", back.snapshotId());
        assertEquals(T + 3, back.appliedAtMs());
        assertNull(agent.lastKnownGood());
        FleetEngineTest.fails(FleetException.Code.NOT_FOUND, () -> agent.rollback(T + 4, null));
    }

    @Test
    void byteBuffersAndRecordedErrors() {
        ByteBuffer direct = ByteBuffer.allocateDirect(ONE.length + 2).put((byte) 0).put(ONE).put((byte) 0);
        direct.position(1).limit(1 + ONE.length);
        assertEquals(H1, agent.apply("c@r1", direct, H1, T, null).hash());
        assertEquals(1, direct.position());
        assertEquals(H2, agent.apply("c@r2", ByteBuffer.wrap(TWO), H2, T, null).hash());

        SyncError timeout = new SyncError(SyncErrorCode.NATS_TIMEOUT, "Failed to receive snapshot");
        agent.recordSyncError(timeout);
        assertEquals(timeout, agent.lastSyncError());
        assertEquals(0, agent.hotSwapErrors());
        assertEquals(timeout, agent.heartbeat(T, Metrics.ZERO, ProcessStatus.STARTING).syncError());
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT,
                () -> agent.heartbeat(T, new Metrics(Float.NaN, 0, 0, 0, 0), ProcessStatus.READY));
        FleetEngineTest.fails(FleetException.Code.INVALID_INPUT, () -> new ConfigAgent("three").close());
        assertThrows(IllegalArgumentException.class, () -> new ConfigAgent(null));
    }

    @Test
    void endToEndWithTheEngineBySingleCallsAndByBatch() {
        try (FleetEngine engine = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T))) {
            engine.upsertWorkspace(WorkspaceSpec.of("ws"));
            engine.upsertCluster(ClusterSpec.of("stage", "ws", Environment.STAGING).withAutoReconcile(true));
            Snapshot v1 = engine.publish("stage", ONE, "alice", T);
            long node = engine.enroll("gw-1", "stage", T);

            // Single calls: heartbeat, directive, pull, apply, heartbeat.
            Directive d = engine.heartbeat(node, agent.heartbeat(T, Metrics.ZERO, ProcessStatus.READY));
            PullRequest pull = agent.onDirective(d);
            assertEquals(new PullRequest(DirectiveKind.RECONCILE, v1.id(), v1.hash()), pull);
            agent.apply(pull.snapshotId(), engine.artifact(pull.hash()), pull.hash(), T + 1, null);
            assertNull(agent.onDirective(d), "already running it");
            assertNull(agent.onDirective(null));
            assertNull(engine.heartbeat(node, agent.heartbeat(T + 2, Metrics.ZERO, ProcessStatus.READY)));
            assertEquals(100, engine.cohesion("stage"));
            assertNotNull(agent.onDirective(new Directive(DirectiveKind.FORCE_SYNC, v1)), "a force sync always pulls");

            // The batch path: a new revision, the agent's record in a batch, the outcome to a pull.
            Snapshot v2 = engine.publish("stage", TWO, "alice", T + 3);
            HeartbeatBatch batch = new HeartbeatBatch(2);
            int i = agent.heartbeatInto(batch, node, "stage", T + 4, Metrics.ZERO, ProcessStatus.READY);
            assertEquals(0, i);
            assertEquals(new BatchSummary(1, 1, 0), engine.heartbeatBatch(batch));
            assertEquals(BatchOutcome.RECONCILE, batch.outcome(i));
            PullRequest pull2 = agent.onOutcome(batch, i, "stage");
            assertEquals(new PullRequest(DirectiveKind.RECONCILE, v2.id(), v2.hash()), pull2);
            agent.apply(pull2.snapshotId(), engine.artifact(pull2.hash()), pull2.hash(), T + 5, null);
            batch.clear();
            agent.heartbeatInto(batch, node, "stage", T + 6, Metrics.ZERO, ProcessStatus.READY);
            engine.heartbeatBatch(batch);
            assertEquals(BatchOutcome.ACCEPTED, batch.outcome(0));
            assertNull(agent.onOutcome(batch, 0, "stage"));
            assertEquals(100, engine.cohesion("stage"));
            assertEquals(ConfigStatus.IN_SYNC, engine.node("gw-1", T + 6).configStatus());
        }
    }

    @Test
    void closeWaitsForAnApplyInFlightAndItsValidator() throws Exception {
        CountDownLatch inValidator = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Object> result = new AtomicReference<>();
        Thread applier = new Thread(() -> {
            try {
                result.set(agent.apply("c@r1", ONE, H1, T, c -> {
                    inValidator.countDown();
                    release.await();
                }));
            } catch (Throwable t) {
                result.set(t);
            }
        });
        applier.start();
        inValidator.await();
        Thread closer = new Thread(agent::close);
        closer.start();
        while (closer.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
            assertTrue(closer.isAlive(), "close() returned while an apply was in flight");
        }
        assertThrows(IllegalStateException.class, () -> agent.current(), "new calls are refused while closing");
        release.countDown();
        applier.join();
        closer.join();
        AppliedConfig applied = assertInstanceOf(AppliedConfig.class, result.get());
        assertEquals("c@r1", applied.snapshotId());

        HeartbeatBatch batch = new HeartbeatBatch(1);
        List<Executable> calls = List.of(
                () -> agent.apply("c@r2", TWO, H2, T, null),
                () -> agent.apply("c@r2", ByteBuffer.allocateDirect(1).put((byte) 1).flip(), H2, T, null),
                () -> agent.rollback(T, null),
                () -> agent.recordSyncError(new SyncError(SyncErrorCode.OTHER, "")),
                agent::current,
                agent::lastKnownGood,
                agent::lastSyncError,
                agent::hotSwapErrors,
                () -> agent.heartbeat(T, Metrics.ZERO, ProcessStatus.READY),
                () -> agent.heartbeatInto(batch, 1, "c", T, Metrics.ZERO, ProcessStatus.READY),
                () -> agent.onDirective(new Directive(DirectiveKind.RECONCILE, new Snapshot("c@r1", "c", 1, H1, "a", T, 1))));
        for (Executable call : calls) {
            assertThrows(IllegalStateException.class, call);
        }
        assertEquals(0, batch.size(), "a refused call leaves the batch as it was");
    }
}
