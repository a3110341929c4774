package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Controlled rollouts: a publish with a plan reaches the cluster wave by wave, a failing canary
 * halts and rolls back, operators act with a justification and a role, bad plans are refused.
 */
class RolloutTest {
    static final long T = FleetEngineTest.T;
    static final List<String> NODES = IntStream.range(0, 40).mapToObj(i -> "gw-" + i).toList();

    FleetEngine engine;
    Snapshot v1;

    @BeforeEach
    void setUp() {
        engine = FleetEngineTest.engineWithCluster(Environment.PRODUCTION);
        v1 = engine.publish("c", FleetEngineTest.V1, "alice", T);
        for (String n : NODES) {
            engine.enroll(n, "c", T);
            engine.heartbeat(n, FleetEngineTest.synced(v1, T));
        }
    }

    @AfterEach
    void tearDown() {
        engine.close();
    }

    /** The nodes that should run {@code target} at {@code at}: those of started waves. */
    List<String> started(Snapshot target, long at) {
        return NODES.stream().filter(n -> target.id().equals(engine.node(n, at).desiredSnapshotId())).toList();
    }

    RolloutView rollout(long at) {
        return engine.rollout("c", at).orElseThrow();
    }

    Directive beat(String node, Snapshot runs, long at) {
        engine.setClock(at);
        return engine.heartbeat(node, FleetEngineTest.synced(runs, at));
    }

    List<String> rolloutActors() {
        return engine.audit().stream().filter(r -> r.action() == AuditAction.ROLLOUT).map(AuditRecord::actor).toList();
    }

    @Test
    void aRolloutGoesWaveByWaveToCompletion() {
        assertEquals(Optional.empty(), engine.rollout("c", T), "never had one");
        engine.setClock(T + 1);
        Snapshot v2 = engine.publish("c", FleetEngineTest.V2, "alice", T + 1, new RolloutPlan(List.of(25, 100), 60_000, 0.0, true));
        List<String> canary = started(v2, T + 1);
        assertTrue(!canary.isEmpty() && canary.size() < NODES.size(), canary.toString());

        RolloutView r = rollout(T + 1);
        assertEquals(RolloutState.PROGRESSING, r.state());
        assertEquals(List.of(25, 100), r.waves());
        assertEquals(List.of(0, 60_000L, 0.0, true), List.of(r.wave(), r.bakeMs(), r.maxFailurePct(), r.autoRollback()));
        assertEquals(List.of(v2.id(), v1.id()), List.of(r.targetSnapshot(), r.previousSnapshot()));
        assertEquals(List.of((long) canary.size(), 0L, 0L, 0L),
                List.of(r.nodesStarted(), r.onTarget(), r.failures(), r.failureBudget()));
        assertNull(r.reason());
        assertEquals(OptionalLong.of(T + 1), r.perWave().get(0).startedMs());
        assertEquals(OptionalLong.empty(), r.perWave().get(1).startedMs());
        assertEquals(NODES.size(), r.perWave().stream().mapToLong(WaveView::nodes).sum());
        ClusterView c = engine.cluster("c", T + 1);
        assertEquals(v2.id(), c.desiredSnapshot());
        assertEquals(NODES.size() - canary.size(), c.inSync(), "only the canary lags");

        for (String n : NODES) {
            Directive d = beat(n, v1, T + 2);
            if (canary.contains(n)) {
                assertEquals(new Directive(DirectiveKind.RECONCILE, v2), d);
            } else {
                assertNull(d, n + " is not in a started wave");
                assertTrue(engine.node(n, T + 2).verified());
            }
        }
        for (String n : canary) {
            assertNull(beat(n, v2, T + 3));
        }
        r = rollout(T + 3);
        assertEquals(RolloutState.BAKING, r.state());
        assertEquals(OptionalLong.of(T + 3 + 60_000), r.bakeEndsMs());
        assertEquals(0, engine.advanceRollouts(T + 3 + 59_999), "the bake holds");
        assertEquals(1, engine.advanceRollouts(Instant.ofEpochMilli(T + 3 + 60_000)));
        r = rollout(T + 3 + 60_000);
        assertEquals(List.of(RolloutState.PROGRESSING, 1, (long) NODES.size()), List.of(r.state(), r.wave(), r.nodesStarted()));

        long t = T + 3 + 60_001;
        for (String n : NODES) {
            if (!canary.contains(n)) {
                assertEquals(new Directive(DirectiveKind.RECONCILE, v2), beat(n, v1, t));
                assertNull(beat(n, v2, t + 1));
            }
        }
        r = rollout(t + 1);
        assertEquals(RolloutState.COMPLETE, r.state());
        assertFalse(r.state().isActive());
        assertEquals(ClusterStatus.HEALTHY, engine.cluster("c", t + 1).status());
        assertEquals(List.of("fleetgov", "fleetgov"), rolloutActors(), "the second wave's start and the completion");
    }

    @Test
    void aFailingCanaryHaltsAndRollsBack() {
        engine.setClock(T + 1);
        Snapshot v2 = engine.publish("c", FleetEngineTest.V2, "alice", Instant.ofEpochMilli(T + 1),
                new RolloutPlan(List.of(25, 100), 0, 10.0, true));
        List<String> canary = started(v2, T + 1);
        long budget = (long) Math.floor(canary.size() * 10.0 / 100);
        assertEquals(budget, rollout(T + 1).failureBudget());
        SyncError failure = new SyncError(SyncErrorCode.RELOAD_FAILURE, "listener port in use");
        engine.setClock(T + 2);
        for (int i = 0; i < canary.size(); i++) {
            RolloutState expected = i <= budget ? RolloutState.PROGRESSING : RolloutState.ROLLED_BACK;
            assertEquals(expected, rollout(T + 2).state(), "after " + i + " failures");
            engine.heartbeat(canary.get(i), FleetEngineTest.synced(v1, T + 2).withSyncError(failure));
        }
        RolloutView r = rollout(T + 2);
        assertEquals(RolloutState.ROLLED_BACK, r.state());
        assertNotNull(r.reason());
        assertTrue(r.reason().startsWith((budget + 1) + " of " + canary.size() + " nodes failed: RELOAD_FAILURE"), r.reason());
        assertEquals(v1, engine.desired("c"), "the cluster returned to the previous snapshot");
        assertEquals(List.of(), started(v2, T + 2));
        assertEquals(List.of("fleetgov", "fleetgov"), rolloutActors(), "the halt and the rollback");
        AuditRecord halt = engine.audit().stream().filter(a -> a.action() == AuditAction.ROLLOUT).findFirst().orElseThrow();
        assertEquals("cluster:c", halt.target());
        assertTrue(halt.justification().contains(r.reason()), halt.justification());
        for (String n : NODES) {
            if (!canary.contains(n)) {
                assertNull(beat(n, v1, T + 3), n + " was never told anything");
            }
        }
        FleetException after = assertThrows(FleetException.class,
                () -> engine.resumeRollout("c", new OverrideRequest("bob", Role.OPERATOR, "retry", T + 4)));
        assertEquals(FleetException.Code.CONFLICT, after.code(), "a rollback is final");
    }

    @Test
    void operatorActionsNeedAJustificationAndARole() {
        OverrideRequest why = new OverrideRequest("bob", Role.OPERATOR, "why not", T);
        FleetException none = assertThrows(FleetException.class, () -> engine.pauseRollout("c", why));
        assertEquals(FleetException.Code.NOT_FOUND, none.code());
        engine.setClock(T + 1);
        Snapshot v2 = engine.publish("c", FleetEngineTest.V2, "alice", T + 1,
                new RolloutPlan(List.of(1, 10, 100), 3_600_000, 0.0, false));
        long records = engine.audit().size();
        List<Action> actions = List.of(engine::pauseRollout, engine::resumeRollout, engine::abortRollout, engine::promoteRollout);
        for (Action action : actions) {
            for (String blank : List.of("", "  ", "\u200b")) {
                assertThrows(JustificationRequiredException.class,
                        act(action, new OverrideRequest("bob", Role.OPERATOR, blank, T + 2)));
            }
            assertThrows(JustificationRequiredException.class, act(action, new OverrideRequest("bob", Role.OPERATOR, null, T + 2)));
            assertThrows(PermissionDeniedException.class, act(action, new OverrideRequest("vic", Role.VIEWER, "looks wrong", T + 2)));
            FleetException reserved = assertThrows(FleetException.class,
                    act(action, new OverrideRequest("fleetgov", Role.ADMIN, "impersonation", T + 2)));
            assertEquals(FleetException.Code.INVALID_INPUT, reserved.code());
            assertThrows(IllegalArgumentException.class, act(action, null));
        }
        assertEquals(records, engine.audit().size(), "nothing recorded");

        AuditRecord paused = engine.pauseRollout("c", new OverrideRequest("bob", Role.OPERATOR, "latency alarm", T + 3));
        assertEquals(List.of("bob", "cluster:c", "latency alarm"), List.of(paused.actor(), paused.target(), paused.justification()));
        assertEquals(AuditAction.ROLLOUT, paused.action());
        assertEquals(RolloutState.PAUSED, rollout(T + 3).state());
        FleetException again = assertThrows(FleetException.class,
                () -> engine.pauseRollout("c", new OverrideRequest("bob", Role.OPERATOR, "again", T + 4)));
        assertEquals(FleetException.Code.CONFLICT, again.code());
        engine.resumeRollout("c", new OverrideRequest("bob", Role.OPERATOR, "a false alarm", T + 5));
        engine.promoteRollout("c", new OverrideRequest("ada", Role.ADMIN, "hotfix must go out now", T + 6));
        RolloutView r = rollout(T + 6);
        assertEquals(List.of(RolloutState.PROGRESSING, 2, (long) NODES.size()), List.of(r.state(), r.wave(), r.nodesStarted()));
        assertEquals(NODES, started(v2, T + 6));
        engine.abortRollout("c", new OverrideRequest("bob", Role.OPERATOR, "bad build, reverting", T + 7));
        assertEquals(RolloutState.ABORTED, rollout(T + 7).state());
        assertEquals(v1, engine.desired("c"));
        assertEquals(List.of("bob", "bob", "ada", "bob"), rolloutActors());
    }

    @FunctionalInterface
    interface Action {
        AuditRecord on(String cluster, OverrideRequest by);
    }

    static Executable act(Action action, OverrideRequest by) {
        return () -> action.on("c", by);
    }

    @Test
    void badPlansAreRefusedWhenMadeWithTheEnginesReason() {
        List<Object[]> bad = new ArrayList<>();
        bad.add(new Object[] {List.of(50, 10, 100), 0.0, "not strictly increasing"});
        bad.add(new Object[] {List.of(0, 100), 0.0, "not strictly increasing"});
        bad.add(new Object[] {List.of(10, 50), 0.0, "do not end at 100"});
        bad.add(new Object[] {List.of(), 0.0, "1 to 100 waves"});
        bad.add(new Object[] {List.of(10, 300), 0.0, "from 1 to 100, got 300"});
        bad.add(new Object[] {List.of(-5, 100), 0.0, "got -5"});
        bad.add(new Object[] {List.of(100), 100.5, "is not from 0 to 100"});
        bad.add(new Object[] {List.of(100), Double.NaN, "is not from 0 to 100"});
        for (Object[] b : bad) {
            @SuppressWarnings("unchecked")
            List<Integer> waves = (List<Integer>) b[0];
            FleetException e = assertThrows(FleetException.class, () -> new RolloutPlan(waves, 0, (double) b[1], true));
            assertEquals(FleetException.Code.INVALID_INPUT, e.code(), waves.toString());
            assertTrue(e.getMessage().contains((String) b[2]), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new RolloutPlan(null, 0, 0, true));
        assertThrows(IllegalArgumentException.class, () -> new RolloutPlan(Arrays.asList(10, null, 100), 0, 0, true));
        assertThrows(IllegalArgumentException.class, () -> new RolloutPlan(List.of(100), -1, 0, true));
        assertThrows(IllegalArgumentException.class, () -> engine.publish("c", FleetEngineTest.V2, "alice", T + 1, (RolloutPlan) null));

        List<Integer> waves = new ArrayList<>(List.of(10, 100));
        RolloutPlan plan = new RolloutPlan(waves, 1_000, 5.0, false);
        waves.set(0, 99);
        assertEquals(List.of(10, 100), plan.waves(), "the waves are copied");
        assertEquals(new RolloutPlan(List.of(10, 100), 1_000, 5.0, false), plan);
    }

    @Test
    void aPlanNeedsSomethingToRollOutFrom() {
        engine.upsertCluster(ClusterSpec.of("empty", "ws", Environment.STAGING));
        long records = engine.audit().size();
        FleetException e = assertThrows(FleetException.class,
                () -> engine.publish("empty", FleetEngineTest.V1, "alice", T, new RolloutPlan(List.of(100), 0, 0, true)));
        assertEquals(FleetException.Code.INVALID_INPUT, e.code());
        assertNull(engine.desired("empty"));
        assertEquals(records, engine.audit().size());
        assertEquals(Optional.empty(), engine.rollout("empty", T));
        assertEquals(FleetException.Code.NOT_FOUND,
                assertThrows(FleetException.class, () -> engine.rollout("nowhere", T)).code());
    }

    @Test
    void aReopenedEngineContinuesTheSameRollout(@TempDir Path dir) {
        RolloutPlan plan = new RolloutPlan(List.of(25, 100), 60_000, 0.0, true);
        List<String> canary;
        Snapshot v2;
        RolloutView before;
        try (FleetEngine e = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T).withDataDir(dir))) {
            e.upsertWorkspace(WorkspaceSpec.of("ws"));
            e.upsertCluster(ClusterSpec.of("c", "ws", Environment.PRODUCTION));
            Snapshot s1 = e.publish("c", FleetEngineTest.V1, "alice", T);
            for (String n : NODES) {
                e.enroll(n, "c", T);
                e.heartbeat(n, FleetEngineTest.synced(s1, T));
            }
            e.setClock(T + 1);
            v2 = e.publish("c", FleetEngineTest.V2, "alice", T + 1, plan);
            canary = NODES.stream().filter(n -> v2.id().equals(e.node(n, T + 1).desiredSnapshotId())).toList();
            e.pauseRollout("c", new OverrideRequest("bob", Role.OPERATOR, "hold until the morning", T + 1));
            before = e.rollout("c", Instant.ofEpochMilli(T + 1)).orElseThrow();
        }
        try (FleetEngine e = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T + 2).withDataDir(dir))) {
            RolloutView r = e.rollout("c", T + 2).orElseThrow();
            assertEquals(List.of(RolloutState.PAUSED, 0, v2.id()), List.of(r.state(), r.wave(), r.targetSnapshot()));
            assertEquals(before.perWave(), r.perWave());
            assertEquals(canary, NODES.stream().filter(n -> v2.id().equals(e.node(n, T + 2).desiredSnapshotId())).toList(),
                    "the same nodes in the same waves");
            e.resumeRollout("c", new OverrideRequest("bob", Role.OPERATOR, "morning", T + 3));
            e.setClock(T + 4);
            assertEquals(new Directive(DirectiveKind.RECONCILE, v2),
                    e.heartbeat(canary.get(0), FleetEngineTest.synced(e.snapshot("c@r1"), T + 4)));
        }
    }
}
