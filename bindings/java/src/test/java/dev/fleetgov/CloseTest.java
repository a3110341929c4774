package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Close is idempotent, waits for calls in flight, and every later call is an IllegalStateException. */
class CloseTest {
    static final long T = FleetEngineTest.T;

    static FleetEngine engineWithOneNode() {
        FleetEngine e = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T));
        e.upsertWorkspace(WorkspaceSpec.of("ws"));
        e.upsertCluster(ClusterSpec.of("c", "ws", Environment.STAGING));
        e.publish("c", FleetEngineTest.V1, "alice", T);
        e.enroll("n", "c", T);
        return e;
    }

    @Test
    void everyMethodAfterCloseThrowsIllegalState() {
        FleetEngine e = engineWithOneNode();
        Snapshot s = e.desired("c");
        long node = e.nodeHandle("n");
        e.close();
        assertTrue(e.isClosed());
        e.close(); // idempotent
        Heartbeat hb = Heartbeat.at(T, "3.5.0");
        List<Executable> calls = List.of(
                e::clockMs,
                () -> e.setClock(T),
                () -> e.upsertWorkspace(WorkspaceSpec.of("ws")),
                () -> e.upsertCluster(ClusterSpec.of("c", "ws", Environment.STAGING)),
                () -> e.publish("c", FleetEngineTest.V1, "a", T),
                () -> e.publish("c", ByteBuffer.allocateDirect(4).put(new byte[] {1, 2, 3, 4}).flip(), "a", T),
                () -> e.snapshot(s.id()),
                () -> e.desired("c"),
                () -> e.artifact(s.hash()),
                () -> e.enroll("n2", "c", T),
                () -> e.nodeHandle("n"),
                () -> e.heartbeat(node, hb),
                () -> e.heartbeat("n", hb),
                () -> e.heartbeatBatch(new HeartbeatBatch(1)),
                () -> e.heartbeatBatch(ByteBuffer.allocateDirect(128), ByteBuffer.allocateDirect(40)),
                () -> e.forceSync(ForceTarget.node("n"), new OverrideRequest("bob", Role.OPERATOR, "why", T)),
                () -> e.forceGlobal("ws", new OverrideRequest("carol", Role.ADMIN, "why", T)),
                e::audit,
                () -> e.auditPage(0, 1),
                () -> e.auditRecord(0),
                e::verifyAudit,
                e::checkpoint,
                e::checkpointVerifierKey,
                () -> e.workspace("ws"),
                e::clusterIds,
                () -> e.fleetConfigJson("ws"),
                () -> e.whatRan("n", T),
                () -> e.fleetAt("c", T),
                () -> e.attest("c", T),
                () -> e.cohesion("c"),
                () -> e.cluster("c", T),
                () -> e.node("n", T),
                () -> e.clusterNodes("c", T, 0, 10),
                () -> e.fleet("ws", T),
                () -> e.fleetJson("ws", T));
        for (Executable call : calls) {
            IllegalStateException ise = assertThrows(IllegalStateException.class, call);
            assertEquals("FleetEngine is closed", ise.getMessage());
        }
    }

    @Test
    void closeWaitsForTheCallInFlightAndLaterCallsFail() throws Exception {
        FleetEngine e = engineWithOneNode();
        long inFlight = e.acquire(); // a call in flight on this thread
        Thread closer = new Thread(e::close, "closer");
        closer.start();
        // Wait (without a deadline) until the closer is parked on the write lock.
        while (closer.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
            assertTrue(closer.isAlive(), "close() returned while a call was in flight");
        }
        assertTrue(e.isClosed());
        assertTrue(inFlight != 0);
        // Calls that start now are refused, on any thread ...
        Thread other = new Thread(() -> assertThrows(IllegalStateException.class, () -> e.cohesion("c")));
        other.start();
        other.join();
        // ... while the call in flight still uses a live engine.
        e.release();
        closer.join();
        assertFalse(closer.isAlive());
        assertThrows(IllegalStateException.class, () -> e.cohesion("c"));
    }

    @Test
    void closeFromInsideItsOwnCallIsRefusedNotADeadlock() {
        FleetEngine e = engineWithOneNode();
        e.acquire();
        try {
            assertThrows(IllegalStateException.class, e::close);
            assertFalse(e.isClosed());
        } finally {
            e.release();
        }
        e.close();
        assertTrue(e.isClosed());
    }

    @Test
    void closeRacingCallsOnManyThreadsNeverCrashes() throws Exception {
        for (int round = 0; round < 20; round++) {
            FleetEngine e = engineWithOneNode();
            Snapshot s = e.desired("c");
            long node = e.nodeHandle("n");
            int threads = 4;
            AtomicLong calls = new AtomicLong();
            AtomicLong at = new AtomicLong(T);
            ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            CountDownLatch started = new CountDownLatch(threads);
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int kind = t;
                Thread w = new Thread(() -> {
                    started.countDown();
                    // Bounded: stops at the first IllegalStateException or after 200,000 calls.
                    for (int i = 0; i < 200_000; i++) {
                        try {
                            switch (kind % 4) {
                                case 0 -> e.heartbeat(node, FleetEngineTest.synced(s, at.incrementAndGet()));
                                case 1 -> {
                                    int cohesion = e.cohesion("c");
                                    assertTrue(cohesion == 0 || cohesion == 100, "cohesion " + cohesion);
                                }
                                case 2 -> assertEquals("n", e.node("n", T).id());
                                default -> assertEquals("c", e.cluster("c", T).id());
                            }
                            calls.incrementAndGet();
                        } catch (IllegalStateException closed) {
                            return;
                        } catch (FleetException stale) {
                            // Heartbeats of one node from several threads may arrive out of order.
                            if (stale.code() != FleetException.Code.STALE_HEARTBEAT) {
                                unexpected.add(stale);
                                return;
                            }
                        } catch (Throwable other) {
                            unexpected.add(other);
                            return;
                        }
                    }
                });
                w.start();
                workers.add(w);
            }
            started.await();
            long target = 50L * (round + 1);
            while (calls.get() < target && workers.stream().anyMatch(Thread::isAlive)) {
                Thread.onSpinWait();
            }
            e.close();
            for (Thread w : workers) {
                w.join();
            }
            assertTrue(unexpected.isEmpty(), () -> "unexpected: " + unexpected);
            assertThrows(IllegalStateException.class, () -> e.cohesion("c"));
        }
    }
}
