package dev.fleetgov;

import static dev.fleetgov.FleetEngineTest.T;
import static dev.fleetgov.FleetEngineTest.V1;
import static dev.fleetgov.FleetEngineTest.V2;
import static dev.fleetgov.FleetEngineTest.fails;
import static dev.fleetgov.FleetEngineTest.synced;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fleetgov.FleetEvent.AuditEvent;
import dev.fleetgov.FleetEvent.ClusterEvent;
import dev.fleetgov.FleetEvent.Lagged;
import dev.fleetgov.FleetEvent.NodeEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The change feed through EventStream: order, exactly once, lag, and closing while a poll waits. */
class EventStreamTest {
    /** Long enough never to end on its own during a test. */
    static final Duration FOREVER = Duration.ofHours(1);

    /** Every event available now, without waiting. */
    static List<FleetEvent> drain(EventStream stream) {
        List<FleetEvent> events = new ArrayList<>();
        for (FleetEvent e; (e = stream.poll(Duration.ZERO)) != null; ) {
            events.add(e);
        }
        return events;
    }

    static NodeEvent nodeEvent(long seq, String node, long at, Snapshot applied, boolean inSync, SyncErrorCode error) {
        return new NodeEvent(seq, node, "c", at,
                applied == null ? OptionalInt.empty() : OptionalInt.of(applied.revision()),
                applied == null ? null : applied.hash(), inSync, error);
    }

    /** A cluster event of cluster "c"; its basis points follow from {@code inSync} of {@code enrolled}. */
    static ClusterEvent clusterEvent(long seq, int desired, long enrolled, long inSync, int cohesion, ClusterStatus s) {
        int basisPoints = enrolled == 0 ? 10_000 : (int) (10_000 * inSync / enrolled);
        return new ClusterEvent(seq, "c", "ws", desired, enrolled, inSync, cohesion, basisPoints, s);
    }

    @Test
    void everyTransitionOfAScriptedFleetAppearsOnceAndInOrder() {
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING)) {
            e.setClock(T + FleetEngineTest.MINUTE); // heartbeats stamped up to then count at their stamps
            Snapshot v1 = e.publish("c", V1, "alice", T);
            long n1 = e.enroll("n1", "c", T);
            long n2 = e.enroll("n2", "c", T);
            long auditBefore = e.audit().size();
            try (EventStream events = e.events()) {
                assertEquals(0, events.position());
                assertNull(events.poll(Duration.ZERO), "nothing changed since the stream opened");

                e.heartbeat(n1, synced(v1, T + 1)); // first report, in sync: 1 of 2
                e.heartbeat(n1, synced(v1, T + 2)); // steady state: nothing
                SyncError failure = new SyncError(SyncErrorCode.RELOAD_FAILURE, "bad filter");
                e.heartbeat(n2, Heartbeat.at(T + 3, "3.5.0").withSyncError(failure)); // first report, failing
                Snapshot v2 = e.publish("c", V2, "alice", T + 4); // nobody runs r2: 0 of 2
                AuditRecord forced = e.forceSync(ForceTarget.node("n2"),
                        new OverrideRequest("bob", Role.OPERATOR, "re-provisioned", T + 5));
                e.heartbeat(n2, synced(v2, T + 6)); // catches up, error cleared: 1 of 2
                e.heartbeat(n2, synced(v2, T + 7)); // steady state: nothing

                List<FleetEvent> expected = List.of(
                        nodeEvent(0, "n1", T + 1, v1, true, null),
                        clusterEvent(1, 1, 2, 1, 50, ClusterStatus.SYNCING),
                        nodeEvent(2, "n2", T + 3, null, false, SyncErrorCode.RELOAD_FAILURE),
                        clusterEvent(3, 1, 2, 1, 50, ClusterStatus.SYNCING),
                        new AuditEvent(4, auditBefore, T + 4, "alice", AuditAction.PUBLISH, v2.id()),
                        clusterEvent(5, 2, 2, 0, 0, ClusterStatus.DIVERGENT),
                        new AuditEvent(6, forced.seq(), T + 5, "bob", AuditAction.FORCE_SYNC_NODE, "node:n2"),
                        nodeEvent(7, "n2", T + 6, v2, true, null),
                        clusterEvent(8, 2, 2, 1, 50, ClusterStatus.SYNCING));
                assertEquals(expected, drain(events));
                assertEquals(expected.size(), events.position());
                assertEquals(auditBefore + 1, forced.seq(), "the publish and the override are the only new records");
            }
        }
    }

    @Test
    void aStreamFromAnEarlierPositionReadsTheSameEvents() {
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING);
                EventStream first = e.events()) {
            for (int i = 0; i < 3; i++) {
                e.publish("c", ("rev " + i).getBytes(), "alice", T + i);
            }
            List<FleetEvent> all = drain(first);
            assertEquals(6, all.size(), "an audit event and a cluster event per publish");
            try (EventStream again = e.events(2)) {
                assertEquals(2, again.position());
                assertEquals(all.subList(2, 6), drain(again));
            }
            fails(FleetException.Code.INVALID_INPUT, () -> e.events(7));
            assertThrows(IllegalArgumentException.class, () -> e.events(-1));
            assertThrows(IllegalArgumentException.class, () -> first.poll(null));
            assertThrows(IllegalArgumentException.class, () -> first.poll(Duration.ofMillis(-1)));
        }
    }

    @Test
    void aReaderThatFallsBehindIsToldHowManyItMissedAndContinues() {
        try (FleetEngine e = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T).withFeedCapacity(4))) {
            e.upsertWorkspace(WorkspaceSpec.of("ws"));
            e.upsertCluster(ClusterSpec.of("c", "ws", Environment.STAGING));
            try (EventStream events = e.events()) {
                List<Snapshot> published = new ArrayList<>();
                for (int i = 0; i < 5; i++) { // 10 events, seq 0..9; the feed holds 6..9
                    published.add(e.publish("c", ("rev " + i).getBytes(), "alice", T + i));
                }
                List<FleetEvent> got = drain(events);
                assertEquals(new Lagged(6), got.get(0));
                assertEquals(5, got.size());
                AuditEvent fourth = assertInstanceOf(AuditEvent.class, got.get(1));
                assertEquals(6, fourth.seq());
                assertEquals(published.get(3).id(), fourth.target());
                assertEquals(clusterEvent(7, 4, 0, 0, 100, ClusterStatus.HEALTHY), got.get(2)); // no nodes: 100 %
                assertEquals(published.get(4).id(), assertInstanceOf(AuditEvent.class, got.get(3)).target());
                assertEquals(clusterEvent(9, 5, 0, 0, 100, ClusterStatus.HEALTHY), got.get(4));
                assertEquals(10, events.position());

                e.publish("c", "rev 5".getBytes(), "alice", T + 5); // and it goes on
                assertEquals(List.of(10L, 11L), drain(events).stream().map(EventStreamTest::seq).toList());
            }
        }
    }

    static long seq(FleetEvent e) {
        if (e instanceof NodeEvent n) {
            return n.seq();
        } else if (e instanceof ClusterEvent c) {
            return c.seq();
        } else if (e instanceof AuditEvent a) {
            return a.seq();
        }
        throw new AssertionError("no sequence number: " + e);
    }

    @Test
    void concurrentReadersOfOneStreamGetEveryEventExactlyOnceAndEachNodesInOrder() throws Exception {
        int nodes = 4;
        int flips = 500;
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING)) {
            e.setClock(T + FleetEngineTest.MINUTE); // heartbeats stamped up to then count at their stamps
            Snapshot v1 = e.publish("c", V1, "alice", T);
            long[] handles = new long[nodes];
            for (int n = 0; n < nodes; n++) {
                handles[n] = e.enroll("n" + n, "c", T);
            }
            ConcurrentLinkedQueue<FleetEvent> got = new ConcurrentLinkedQueue<>();
            try (EventStream events = e.events()) {
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Thread[] writers = new Thread[nodes];
                for (int n = 0; n < nodes; n++) {
                    long node = handles[n];
                    writers[n] = new Thread(() -> {
                        for (int i = 1; i <= flips; i++) { // in sync on odd steps, a wrong hash on even ones
                            Heartbeat hb = i % 2 == 1 ? synced(v1, T + i)
                                    : Heartbeat.at(T + i, "3.5.0").withApplied(v1.id(), FleetGov.contentHash(V2));
                            e.heartbeat(node, hb);
                        }
                    });
                }
                AtomicBoolean done = new AtomicBoolean();
                Thread[] readers = new Thread[3];
                for (int r = 0; r < readers.length; r++) {
                    readers[r] = new Thread(() -> {
                        try {
                            while (true) {
                                boolean wasDone = done.get();
                                FleetEvent ev = events.poll(Duration.ofMillis(20));
                                if (ev != null) {
                                    got.add(ev);
                                } else if (wasDone) {
                                    return; // the writers had finished and the stream is empty
                                }
                            }
                        } catch (Throwable t) {
                            failure.compareAndSet(null, t);
                        }
                    });
                }
                Arrays.stream(readers).forEach(Thread::start);
                Arrays.stream(writers).forEach(Thread::start);
                for (Thread w : writers) {
                    w.join();
                }
                done.set(true);
                for (Thread r : readers) {
                    r.join();
                }
                assertNull(failure.get());
            }
            // Each heartbeat is a transition: one node event and one cluster event.
            long total = 2L * nodes * flips;
            assertEquals(total, got.size());
            long[] seqs = got.stream().mapToLong(EventStreamTest::seq).sorted().toArray();
            for (int i = 0; i < seqs.length; i++) {
                assertEquals(i, seqs[i], "every sequence number exactly once");
            }
            Map<Long, FleetEvent> bySeq = new TreeMap<>();
            got.forEach(ev -> bySeq.put(seq(ev), ev));
            Map<String, Long> lastAt = new TreeMap<>();
            for (FleetEvent ev : bySeq.values()) {
                if (ev instanceof NodeEvent n) {
                    long previous = lastAt.getOrDefault(n.node(), T);
                    assertEquals(previous + 1, n.atMs(), "node " + n.node() + " in heartbeat order");
                    assertEquals(n.atMs() % 2 == 1, n.inSync());
                    lastAt.put(n.node(), n.atMs());
                }
            }
            assertEquals(nodes, lastAt.size());
            lastAt.values().forEach(at -> assertEquals(T + flips, at));
        }
    }

    /**
     * Starts a thread that polls {@code stream} with no end in sight and returns once it waits
     * inside the native part of the poll; {@code outcome} then gets what the poll returned or threw.
     */
    static Thread pollInBackground(EventStream stream, AtomicReference<Object> outcome) throws InterruptedException {
        outcome.set("still waiting");
        Thread poller = new Thread(() -> {
            try {
                outcome.set(stream.poll(FOREVER));
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        poller.start();
        while (Arrays.stream(poller.getStackTrace()).noneMatch(f -> f.getMethodName().equals("poll0"))) {
            assertTrue(poller.isAlive(), "the polling thread ended before it waited: " + outcome.get());
            Thread.sleep(1);
        }
        return poller;
    }

    /**
     * Closes {@code closeable} on another thread while {@code poller} waits, and checks that both
     * the close and the poll end (a deadlock fails the test after a generous deadline instead of
     * hanging the build) and that the poll returned null.
     */
    static void closeWhilePolling(AutoCloseable closeable, Thread poller, AtomicReference<Object> outcome)
            throws InterruptedException {
        Thread closer = new Thread(() -> {
            try {
                closeable.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        closer.start();
        long deadline = TimeUnit.MINUTES.toMillis(5);
        closer.join(deadline);
        assertFalse(closer.isAlive(), "close() did not return while a poll waited");
        poller.join(deadline);
        assertFalse(poller.isAlive(), "the poll did not end after close()");
        assertNull(outcome.get(), "a poll that was waiting when the stream closed returns null");
    }

    @Test
    void closingAStreamWhileAnotherThreadWaitsInPollEndsThatPoll() throws Exception {
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING)) {
            EventStream events = e.events();
            AtomicReference<Object> outcome = new AtomicReference<>();
            closeWhilePolling(events, pollInBackground(events, outcome), outcome);
            assertTrue(events.isClosed());
            assertThrows(IllegalStateException.class, () -> events.poll(Duration.ZERO));
        }
    }

    @Test
    void closingTheEngineClosesItsStreamsEvenWhileOneIsPolled() throws Exception {
        FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING);
        EventStream idle = e.events();
        EventStream polled = e.events();
        AtomicReference<Object> outcome = new AtomicReference<>();
        closeWhilePolling(e, pollInBackground(polled, outcome), outcome);
        assertTrue(idle.isClosed());
        assertTrue(polled.isClosed());
        idle.close(); // already closed: a no-op
    }

    @Test
    void everyCallAfterCloseThrowsIllegalState() {
        try (FleetEngine e = FleetEngineTest.engineWithCluster(Environment.STAGING)) {
            EventStream events = e.events();
            events.close();
            events.close(); // idempotent
            for (var call : List.<org.junit.jupiter.api.function.Executable>of(
                    () -> events.poll(Duration.ZERO), () -> events.poll(FOREVER), events::position)) {
                assertEquals("EventStream is closed", assertThrows(IllegalStateException.class, call).getMessage());
            }
            // The engine lives on and records nothing for the closed stream.
            e.publish("c", V1, "alice", T);
            try (EventStream next = e.events()) {
                assertEquals(0, next.position(), "nothing was recorded while no stream was open");
            }
        }
    }
}
