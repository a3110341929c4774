package dev.fleetgov.bench;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * The end-to-end pair of {@link HeartbeatBenchmark} (and its parts) counted in CPU time instead
 * of wall time: nanoseconds of CPU the whole process spends per heartbeat, the engine's worker
 * threads included. On a shared machine a benchmark's wall-clock score moves with the other
 * jobs' load (each side gets whatever CPU is left when it runs); the CPU a heartbeat costs moves
 * much less. It runs the benchmark methods themselves on the benchmark's own state, one after
 * the other in one JVM: the first half of the rounds warms up, the median of the rest is
 * reported with its range.
 *
 * <p>Arguments: the number of nodes (1000000), the rounds per case and the passes over the whole
 * stream (16 chunks of 65,536 heartbeats) per round: the process's CPU clock ticks in steps of
 * 10 ms, about 10 ns per heartbeat of one pass. A fourth argument {@code single} runs only the
 * single-call cases (one JNI call per heartbeat). The command is in BENCHMARKS.md.
 */
public final class CpuCost {
    private CpuCost() {}

    /**
     * Runs every case and prints one line each.
     *
     * @param args nodes, rounds and passes
     */
    public static void main(String[] args) {
        int nodes = Integer.parseInt(args[0]);
        int rounds = Integer.parseInt(args[1]);
        int passes = Integer.parseInt(args[2]);
        HeartbeatBenchmark bench = new HeartbeatBenchmark();
        HeartbeatBenchmark.Stream s = new HeartbeatBenchmark.Stream();
        s.nodes = nodes;
        s.generate();
        HeartbeatBenchmark.Dense d = new HeartbeatBenchmark.Dense();
        d.build(s);
        HeartbeatBenchmark.Engine e = new HeartbeatBenchmark.Engine();
        e.build(s);
        try {
            if (args.length > 3 && args[3].equals("single")) {
                report(passes, "engineSingle TABLE", rounds, () -> bench.engineSingle(s, e));
                report(passes, "engineSingle STREAM", rounds, () -> bench.engineSingleStream(s, e));
                report(passes, "engineSingleById", rounds, () -> bench.engineSingleById(s, e));
                HeartbeatBenchmark.Mixed m = new HeartbeatBenchmark.Mixed();
                m.build(s);
                try {
                    report(passes, "engineSingleMixed", rounds, () -> bench.engineSingleMixed(s, m));
                } finally {
                    m.close();
                }
                return;
            }
            report(passes, "denseJavaTracker", rounds, () -> bench.denseJavaTracker(s, d));
            report(passes, "engineBatch (prebuilt)", rounds, () -> bench.engineBatch(s, e));
            for (HeartbeatBenchmark.HandleFrom from : HeartbeatBenchmark.HandleFrom.values()) {
                for (HeartbeatBenchmark.HashForm form : HeartbeatBenchmark.HashForm.values()) {
                    HeartbeatBenchmark.Building b = new HeartbeatBenchmark.Building();
                    b.handleFrom = from;
                    b.hashForm = form;
                    report(passes, "engineEndToEnd " + from + " " + form, rounds, () -> bench.engineEndToEnd(s, e, b));
                    report(passes, "buildBatch " + from + " " + form, rounds, () -> bench.buildBatch(s, e, b));
                }
            }
        } finally {
            e.close();
        }
    }

    /**
     * Runs {@code chunk} over the whole stream {@code passes} times a round, {@code rounds} times,
     * and prints the ns of CPU per heartbeat.
     */
    private static void report(int passes, String name, int rounds, IntSupplier chunk) {
        List<Double> perHeartbeat = new ArrayList<>();
        long sink = 0;
        for (int r = 0; r < rounds; r++) {
            long before = processCpuNanos();
            for (int c = 0; c < passes * HeartbeatBenchmark.CHUNKS; c++) {
                sink += chunk.getAsInt();
            }
            long spent = processCpuNanos() - before;
            if (r >= rounds / 2) {
                perHeartbeat.add((double) spent / ((long) passes * HeartbeatBenchmark.CHUNKS * HeartbeatBenchmark.CHUNK));
            }
        }
        double[] sorted = perHeartbeat.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        System.out.printf("%-32s %7.1f ns CPU per heartbeat (%.1f to %.1f over %d rounds) [%d]%n", name,
                sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1], sorted.length, sink & 1);
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }
}
