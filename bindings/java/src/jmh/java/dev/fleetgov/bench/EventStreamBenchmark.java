package dev.fleetgov.bench;

import dev.fleetgov.ClusterSpec;
import dev.fleetgov.Environment;
import dev.fleetgov.EventStream;
import dev.fleetgov.FleetEngine;
import dev.fleetgov.FleetEvent;
import dev.fleetgov.FleetGov;
import dev.fleetgov.Heartbeat;
import dev.fleetgov.Snapshot;
import dev.fleetgov.WorkspaceSpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a transition costs when a Java reader follows the change feed: each operation is one
 * {@link FleetEngine#heartbeat(long, Heartbeat)} that moves a node between in sync and divergent
 * (a node event and a cluster event). With {@code reader=read} the operation also makes the
 * two {@link EventStream#poll(Duration)} calls that read them and the one that finds nothing;
 * with {@code open} a stream is open but never read (the engine records, the reader lags); with
 * {@code none} no stream is open and the engine records nothing. The score is nanoseconds per
 * operation.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@State(Scope.Thread)
public class EventStreamBenchmark {
    static final long T = 1_700_000_000_000L;
    static final byte[] CONFIG = "routes: [api]\nrate_limit: 800\n".getBytes(StandardCharsets.UTF_8);

    /** {@code none}: no stream; {@code open}: a stream that is never read; {@code read}: read each event. */
    @Param({"none", "open", "read"})
    public String reader;

    FleetEngine engine;
    EventStream stream;
    long node;
    Heartbeat inSync;
    Heartbeat divergent;
    boolean flip;

    @Setup(Level.Trial)
    public void setUp() {
        engine = new FleetEngine(FleetEngine.Options.defaults().withManualClock(T));
        engine.upsertWorkspace(WorkspaceSpec.of("ws"));
        engine.upsertCluster(ClusterSpec.of("c", "ws", Environment.STAGING));
        Snapshot s = engine.publish("c", CONFIG, "bench", T);
        node = engine.enroll("n", "c", T);
        // Equal times are not stale, so the two heartbeats can alternate for ever.
        inSync = Heartbeat.at(T, "3.5.0").withApplied(s.id(), s.hash());
        divergent = Heartbeat.at(T, "3.5.0").withApplied(s.id(), FleetGov.contentHash("other".getBytes(StandardCharsets.UTF_8)));
        stream = reader.equals("none") ? null : engine.events();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        engine.close();
    }

    @Benchmark
    public int transition() {
        flip = !flip;
        engine.heartbeat(node, flip ? inSync : divergent);
        if (stream == null || reader.equals("open")) {
            return 0;
        }
        int read = 0;
        for (FleetEvent e; (e = stream.poll(Duration.ZERO)) != null; ) {
            read++;
        }
        if (read != 2) {
            throw new IllegalStateException("a transition should emit a node and a cluster event, read " + read);
        }
        return read;
    }
}
