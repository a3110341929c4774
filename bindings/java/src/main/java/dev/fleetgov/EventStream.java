package dev.fleetgov;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * A reader of an engine's change feed, opened by {@link FleetEngine#events()} or
 * {@link FleetEngine#events(long)}: {@link #poll(Duration)} returns the {@link FleetEvent}s in
 * sequence order, each once.
 *
 * <p>The feed is bounded ({@link FleetEngine.Options#withFeedCapacity}); ingest never waits for
 * a reader. A reader that falls further behind receives a {@link FleetEvent.Lagged} with the
 * number of events it missed, then continues. While no stream is open the engine records
 * nothing.
 *
 * <p>Thread-safe: several threads may poll one stream, and each event goes to one of them.
 * {@link #close()} may be called from any thread, also while another one waits in
 * {@link #poll(Duration)}: that poll returns null within about 50 ms and
 * the stream is freed. Closing the engine closes its streams.
 *
 * <pre>{@code
 * import java.time.Duration;
 *
 * try (EventStream events = engine.events()) {
 *     engine.heartbeat(node, hb);
 *     for (FleetEvent e; (e = events.poll(Duration.ZERO)) != null; ) {
 *         System.out.println(e);
 *     }
 * }
 * }</pre>
 */
public final class EventStream extends NativeHandle {
    static {
        NativeLibrary.load();
    }

    /**
     * The longest a poll waits natively at a time: it then checks whether the stream was
     * closed, so {@link #close()} never waits longer than this for a poll in flight.
     */
    static final long SLICE_MILLIS = 50;

    private static final long SLICE_NANOS = SLICE_MILLIS * 1_000_000;

    private final FleetEngine engine;

    EventStream(long handle, FleetEngine engine) {
        super(handle);
        this.engine = engine;
    }

    @Override
    void dispose(long handle) {
        dispose0(handle);
        engine.forget(this);
    }

    /**
     * The next event, waiting at most {@code timeout} for one.
     *
     * @param timeout the longest to wait; {@link Duration#ZERO} does not wait
     * @return the next event, or null if none came in time or the stream was closed meanwhile
     * @throws IllegalArgumentException for a null or negative timeout
     * @throws IllegalStateException if the stream was closed before the call
     */
    public @Nullable FleetEvent poll(Duration timeout) {
        Args.present("timeout", timeout);
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, got " + timeout);
        }
        long total = saturatedNanos(timeout);
        long start = System.nanoTime();
        long h = acquire();
        while (true) {
            long left = total - (System.nanoTime() - start);
            try {
                FleetEvent event = poll0(h, Math.max(0, Math.min(left, SLICE_NANOS)));
                if (event != null || left <= SLICE_NANOS) {
                    return event;
                }
            } finally {
                release();
            }
            // Between slices nothing is held, so close() can proceed.
            h = tryAcquire();
            if (h == 0) {
                return null;
            }
        }
    }

    /**
     * The sequence number of the next event this stream reads.
     *
     * @return the position
     */
    public long position() {
        long h = acquire();
        try {
            return position0(h);
        } finally {
            release();
        }
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    private static native void dispose0(long stream);

    private static native FleetEvent poll0(long stream, long waitNanos);

    private static native long position0(long stream);
}
