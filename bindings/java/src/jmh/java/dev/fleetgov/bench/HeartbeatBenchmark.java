package dev.fleetgov.bench;

import dev.fleetgov.ClusterSpec;
import dev.fleetgov.Environment;
import dev.fleetgov.FleetEngine;
import dev.fleetgov.Heartbeat;
import dev.fleetgov.HeartbeatBatch;
import dev.fleetgov.HeartbeatBatchById;
import dev.fleetgov.Metrics;
import dev.fleetgov.ProcessStatus;
import dev.fleetgov.Snapshot;
import dev.fleetgov.StaleHeartbeatException;
import dev.fleetgov.FleetGov;
import dev.fleetgov.WorkspaceSpec;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One heartbeat stream over a fleet of {@code nodes} nodes (1,000,000 by default), ingested four
 * ways; every benchmark reads the cluster's cohesion once per {@value #CHUNK} heartbeats, as a
 * dashboard would. The score is heartbeats per second.
 *
 * <ul>
 *   <li>{@code engineBatch}: {@link FleetEngine#heartbeatBatch(HeartbeatBatch)}, one JNI crossing
 *       per {@value #CHUNK} binary records;
 *   <li>{@code engineBatchById}: {@link FleetEngine#heartbeatBatch(HeartbeatBatchById)}, the same
 *       records named by node id (an id buffer beside them), one JNI crossing per chunk;
 *   <li>{@code engineSingle}: one {@link FleetEngine#heartbeat(long, Heartbeat)} call each;
 *   <li>{@code javaIncremental}, {@code javaScan}: {@link JavaTracker}, a
 *       {@code ConcurrentHashMap} tracker with an incremental in-sync counter or a full scan.
 * </ul>
 *
 * <p>The stream: nodes drawn uniformly at random; 99% of heartbeats report the desired snapshot
 * with its hash, 1% report nothing applied, so nodes keep dropping out of sync and coming back
 * (counter transitions on both sides). All heartbeats carry the same time, which is not stale.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms4g", "-Xmx4g"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
public class HeartbeatBenchmark {
    /** Heartbeats between two cohesion reads, and records per batch. */
    public static final int CHUNK = 65_536;
    /** Chunks in the stream; the stream is replayed in a loop. */
    static final int CHUNKS = 16;
    static final String CLUSTER = "eks-prod-us";
    static final byte[] CONFIG = "routes: [api]\nrate_limit: 800\n".getBytes(StandardCharsets.UTF_8);

    /** The heartbeat stream: which node, and whether it reports the desired snapshot. */
    @State(Scope.Benchmark)
    public static class Stream {
        @Param({"1000000"})
        public int nodes;

        int[] node;
        boolean[] applied;
        String[] ids;
        long at;
        int cursor;

        @Setup(Level.Trial)
        public void generate() {
            SplittableRandom rnd = new SplittableRandom(7);
            node = new int[CHUNKS * CHUNK];
            applied = new boolean[node.length];
            for (int i = 0; i < node.length; i++) {
                node[i] = rnd.nextInt(nodes);
                applied[i] = rnd.nextInt(100) != 0;
            }
            ids = new String[nodes];
            for (int i = 0; i < nodes; i++) {
                ids[i] = "gw-" + i;
            }
            at = System.currentTimeMillis();
        }

        /** The index of the next heartbeat of the stream, for the one-call-at-a-time benchmarks. */
        int nextOne() {
            int i = cursor;
            cursor = i + 1 == node.length ? 0 : i + 1;
            return i;
        }

        /** The index of the next chunk of the stream. */
        int nextChunk() {
            int c = cursor % CHUNKS;
            cursor = c + 1;
            return c;
        }
    }

    /**
     * A new engine with every node of the stream enrolled in {@link #CLUSTER}, nothing published.
     *
     * @param handles gets each node's handle, by index
     */
    static FleetEngine fleet(Stream s, long[] handles) {
        FleetEngine engine = new FleetEngine(FleetEngine.Options.defaults().withCapacity(s.nodes));
        engine.upsertWorkspace(WorkspaceSpec.of("ws"));
        engine.upsertCluster(ClusterSpec.of(CLUSTER, "ws", Environment.PRODUCTION));
        for (int i = 0; i < s.nodes; i++) {
            handles[i] = engine.enroll(s.ids[i], CLUSTER, s.at);
        }
        return engine;
    }

    /** An engine holding the fleet, with the stream prebuilt as batches. */
    @State(Scope.Benchmark)
    public static class Engine {
        FleetEngine engine;
        long[] handles;
        Heartbeat inSync;
        Heartbeat nothing;
        /** Older than every node's last heartbeat: always stale. */
        Heartbeat stale;
        HeartbeatBatch[] batches;
        /** The same chunks as {@link #batches}, their nodes named by id. */
        HeartbeatBatchById[] byIdBatches;
        /** Refilled from the stream on every call of the end-to-end benchmarks. */
        HeartbeatBatch building;
        Metrics metrics;
        int version;
        int revision;
        String hash;
        /** The snapshot's hash parsed once, as the records carry it. */
        long[] words;
        /** The handle of every heartbeat of the stream ({@link HandleFrom#STREAM}). */
        long[] streamHandles;

        @Setup(Level.Trial)
        public void build(Stream s) {
            handles = new long[s.nodes];
            engine = fleet(s, handles);
            Snapshot snapshot = engine.publish(CLUSTER, CONFIG, "bench", s.at);
            Metrics m = new Metrics(12.5f, 40f, 1200f, 55f, 0);
            nothing = Heartbeat.at(s.at, "3.6.1").withMetrics(m);
            inSync = nothing.withApplied(snapshot.id(), snapshot.hash());
            stale = inSync.withAtMs(s.at - 1);
            for (long h : handles) {
                engine.heartbeat(h, inSync);
            }
            version = FleetGov.runtimeVersionBits("3.6.1");
            metrics = m;
            revision = snapshot.revision();
            hash = snapshot.hash();
            words = HeartbeatBatch.hashWords(hash);
            streamHandles = new long[s.node.length];
            for (int i = 0; i < s.node.length; i++) {
                streamHandles[i] = handles[s.node[i]];
            }
            building = new HeartbeatBatch(CHUNK);
            batches = new HeartbeatBatch[CHUNKS];
            for (int c = 0; c < CHUNKS; c++) {
                HeartbeatBatch b = new HeartbeatBatch(CHUNK);
                for (int i = c * CHUNK; i < (c + 1) * CHUNK; i++) {
                    boolean a = s.applied[i];
                    b.add(handles[s.node[i]], s.at, version, ProcessStatus.READY, m, a ? snapshot.revision() : 0,
                            a ? snapshot.hash() : null, null);
                }
                batches[c] = b;
            }
            byIdBatches = new HeartbeatBatchById[CHUNKS];
            for (int c = 0; c < CHUNKS; c++) {
                HeartbeatBatchById b = new HeartbeatBatchById(CHUNK);
                for (int i = c * CHUNK; i < (c + 1) * CHUNK; i++) {
                    boolean a = s.applied[i];
                    b.add(s.ids[s.node[i]], s.at, version, ProcessStatus.READY, m, a ? snapshot.revision() : 0,
                            a ? snapshot.hash() : null, null);
                }
                byIdBatches[c] = b;
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            engine.close();
        }
    }

    /**
     * An engine whose cluster has two published revisions: the even nodes report the first with
     * runtime 3.6.1, the odd ones the second with 3.6.2 (a fleet midway through a rollout), so
     * consecutive single calls carry either hash and version.
     */
    @State(Scope.Benchmark)
    public static class Mixed {
        /** What a node reports, by the parity of its index. */
        Heartbeat[] reports;
        long[] handles;
        FleetEngine engine;

        @Setup(Level.Trial)
        public void build(Stream s) {
            Metrics m = new Metrics(12.5f, 40f, 1200f, 55f, 0);
            handles = new long[s.nodes];
            engine = fleet(s, handles);
            Snapshot first = engine.publish(CLUSTER, CONFIG, "bench", s.at);
            Snapshot second = engine.publish(CLUSTER, "routes: [api, web]\n".getBytes(StandardCharsets.UTF_8),
                    "bench", s.at);
            reports = new Heartbeat[] {
                Heartbeat.at(s.at, "3.6.1").withMetrics(m).withApplied(first.id(), first.hash()),
                Heartbeat.at(s.at, "3.6.2").withMetrics(m).withApplied(second.id(), second.hash())
            };
            for (int i = 0; i < s.nodes; i++) {
                engine.heartbeat(handles[i], reports[i & 1]);
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            engine.close();
        }
    }

    /** The dense pure-Java peer holding the fleet: node {@code i} is handle {@code i}. */
    @State(Scope.Benchmark)
    public static class Dense {
        DenseJavaTracker tracker;
        long[] words;

        @Setup(Level.Trial)
        public void build(Stream s) {
            tracker = new DenseJavaTracker(s.nodes, 1);
            for (int i = 0; i < s.nodes; i++) {
                tracker.enroll(0);
            }
            words = HeartbeatBatch.hashWords(FleetGov.contentHash(CONFIG));
            tracker.publish(0, 1, words);
        }
    }

    /** A plain-Java tracker holding the fleet. */
    @State(Scope.Benchmark)
    public static class Tracker {
        @Param({"INCREMENTAL", "SCAN"})
        public JavaTracker.Cohesion cohesion;

        JavaTracker tracker;
        String snapshotId;
        String hash;

        @Setup(Level.Trial)
        public void build(Stream s) {
            tracker = new JavaTracker(cohesion, s.nodes);
            for (int i = 0; i < s.nodes; i++) {
                tracker.enroll(s.ids[i], CLUSTER);
            }
            snapshotId = CLUSTER + "@r1";
            hash = FleetGov.contentHash(CONFIG);
            tracker.publish(CLUSTER, snapshotId, hash);
        }
    }

    @Benchmark
    @OperationsPerInvocation(CHUNK)
    public int engineBatch(Stream s, Engine e) {
        e.engine.heartbeatBatch(e.batches[s.nextChunk()]);
        return e.engine.cohesion(CLUSTER);
    }

    /** As {@link #engineBatch}, the records naming their nodes by id. */
    @Benchmark
    @OperationsPerInvocation(CHUNK)
    public int engineBatchById(Stream s, Engine e) {
        e.engine.heartbeatBatch(e.byIdBatches[s.nextChunk()]);
        return e.engine.cohesion(CLUSTER);
    }

    @Benchmark
    @OperationsPerInvocation(CHUNK)
    public int engineSingle(Stream s, Engine e) {
        return singleCalls(s, e, (i, hb) -> e.engine.heartbeat(e.handles[s.node[i]], hb));
    }

    /**
     * As {@link #engineSingle}, each call's handle read from the stream ({@link HandleFrom#STREAM})
     * instead of the table of every node's handle: the call alone, without the benchmark's own
     * random read of an 8 MiB table.
     */
    @Benchmark
    @OperationsPerInvocation(CHUNK)
    public int engineSingleStream(Stream s, Engine e) {
        return singleCalls(s, e, (i, hb) -> e.engine.heartbeat(e.streamHandles[i], hb));
    }

    /** As {@link #engineSingle}, each call naming its node by id ({@link FleetEngine#heartbeat(String, Heartbeat)}). */
    @Benchmark
    @OperationsPerInvocation(CHUNK)
    public int engineSingleById(Stream s, Engine e) {
        return singleCalls(s, e, (i, hb) -> e.engine.heartbeat(s.ids[s.node[i]], hb));
    }

    /**
     * As {@link #engineSingle}, in the {@link Mixed} fleet: each call repeats its node's last
     * report, whose hash and version are either revision's.
     */
    @Benchmark
    @OperationsPerInvocation(CHUNK)
    public int engineSingleMixed(Stream s, Mixed m) {
        int base = s.nextChunk() * CHUNK;
        for (int i = base; i < base + CHUNK; i++) {
            int node = s.node[i];
            m.engine.heartbeat(m.handles[node], m.reports[node & 1]);
        }
        return m.engine.cohesion(CLUSTER);
    }

    /** One single call a heartbeat of the next chunk, given the heartbeat's index in the stream and what it reports. */
    private static int singleCalls(Stream s, Engine e, SingleCall call) {
        int base = s.nextChunk() * CHUNK;
        for (int i = base; i < base + CHUNK; i++) {
            call.heartbeat(i, s.applied[i] ? e.inSync : e.nothing);
        }
        return e.engine.cohesion(CLUSTER);
    }

    /** A single heartbeat call of the single-call benchmarks. */
    @FunctionalInterface
    private interface SingleCall {
        void heartbeat(int index, Heartbeat hb);
    }

    /** One heartbeat per call, as latency: the single-call path's cost in nanoseconds. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Object engineSingleLatency(Stream s, Engine e) {
        int i = s.nextOne();
        return e.engine.heartbeat(e.handles[s.node[i]], s.applied[i] ? e.inSync : e.nothing);
    }

    /**
     * A stale heartbeat per call, as latency: an expected outcome must cost no more than an
     * accepted heartbeat ({@code engineSingleLatency}).
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Object engineSingleStaleLatency(Stream s, Engine e) {
        try {
            return e.engine.heartbeat(e.handles[s.node[s.nextOne()]], e.stale);
        } catch (StaleHeartbeatException expected) {
            return expected;
        }
    }

    /** How the end-to-end benchmark gives each record's hash. */
    public enum HashForm {
        /** The snapshot's hash parsed once, passed as four words ({@code HeartbeatBatch.hashWords}). */
        WORDS,
        /** The hash as hex on every record, parsed per record. */
        HEX
    }

    /** Where the end-to-end benchmark reads each record's node handle. */
    public enum HandleFrom {
        /** A random read of the table of every node's handle ({@code handles[node]}) per record. */
        TABLE,
        /**
         * The stream carries each record's handle, as it carries the dense peer's: the peer's
         * handle is the node's index, which its benchmark reads from the stream directly.
         */
        STREAM
    }

    /** The hash form and handle source of {@link #engineEndToEnd}. */
    @State(Scope.Benchmark)
    public static class Building {
        @Param({"WORDS", "HEX"})
        public HashForm hashForm;

        @Param({"TABLE", "STREAM"})
        public HandleFrom handleFrom;
    }

    /**
     * End to end: each chunk of the stream is written into a batch (from the handles) and
     * ingested in one crossing; building the batch is part of the score.
     */
    @Benchmark
    @OperationsPerInvocation(CHUNK)
    public int engineEndToEnd(Stream s, Engine e, Building form) {
        HeartbeatBatch b = build(s, e, form);
        e.engine.heartbeatBatch(b);
        return e.engine.cohesion(CLUSTER);
    }

    /**
     * Building alone: each chunk of the stream written into a batch as {@link #engineEndToEnd}
     * writes it, and not ingested; the Java side's share of the end-to-end figure.
     */
    @Benchmark
    @OperationsPerInvocation(CHUNK)
    public int buildBatch(Stream s, Engine e, Building form) {
        return build(s, e, form).size();
    }

    /** The next chunk of the stream written into {@code e.building}, the hash in {@code form}. */
    private static HeartbeatBatch build(Stream s, Engine e, Building form) {
        int base = s.nextChunk() * CHUNK;
        HeartbeatBatch b = e.building;
        b.clear();
        long[] w = e.words;
        boolean words = form.hashForm == HashForm.WORDS;
        boolean fromStream = form.handleFrom == HandleFrom.STREAM;
        for (int i = base; i < base + CHUNK; i++) {
            long node = fromStream ? e.streamHandles[i] : e.handles[s.node[i]];
            if (!s.applied[i]) {
                b.add(node, s.at, e.version, ProcessStatus.READY, e.metrics, 0, null, null);
            } else if (words) {
                b.add(node, s.at, e.version, ProcessStatus.READY, e.metrics, e.revision, w[0], w[1], w[2], w[3], null);
            } else {
                b.add(node, s.at, e.version, ProcessStatus.READY, e.metrics, e.revision, e.hash, null);
            }
        }
        return b;
    }

    /** The dense pure-Java peer on the same stream: one call per heartbeat, cohesion per chunk. */
    @Benchmark
    @OperationsPerInvocation(CHUNK)
    public int denseJavaTracker(Stream s, Dense d) {
        int base = s.nextChunk() * CHUNK;
        DenseJavaTracker tracker = d.tracker;
        long[] w = d.words;
        for (int i = base; i < base + CHUNK; i++) {
            if (s.applied[i]) {
                tracker.heartbeat(s.node[i], s.at, 1, w[0], w[1], w[2], w[3], 0x03061003, 0, 12.5f, 40f, 1200f, 55f,
                        0);
            } else {
                tracker.heartbeat(s.node[i], s.at, 0, 0, 0, 0, 0, 0x03061003, 0, 12.5f, 40f, 1200f, 55f, 0);
            }
        }
        return tracker.cohesion(0);
    }

    @Benchmark
    @OperationsPerInvocation(CHUNK)
    public int javaTracker(Stream s, Tracker t) {
        int base = s.nextChunk() * CHUNK;
        JavaTracker tracker = t.tracker;
        for (int i = base; i < base + CHUNK; i++) {
            boolean a = s.applied[i];
            tracker.heartbeat(s.ids[s.node[i]], s.at, a ? t.snapshotId : null, a ? t.hash : null, 0x03061003, 0,
                    12.5f, 40f, 1200f, 55f, 0);
        }
        return tracker.cohesion(CLUSTER);
    }
}
