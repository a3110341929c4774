package dev.fleetgov;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A Java object that owns a native value, freed exactly once by {@link #close()}.
 *
 * <p>Every native call runs between {@link #acquire()} and {@link #release()}, which hold
 * the object's read lock; {@link #close()} takes the write lock, so it waits for the calls
 * in flight, zeroes the handle and only then frees the native value. A call that starts after
 * {@code close()} throws {@link IllegalStateException}: there is no use after free, even when
 * {@code close()} races a call on another thread. There is no finalizer or cleaner: use
 * try-with-resources.
 *
 * <pre>{@code
 * try (FleetEngine engine = new FleetEngine()) {
 *     // ...
 * } // freed here, once
 * }</pre>
 */
public abstract class NativeHandle implements AutoCloseable {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final AtomicBoolean closing = new AtomicBoolean();
    /** The native address; written only under the write lock, read under the read lock. */
    private long handle;

    NativeHandle(long handle) {
        if (handle == 0) {
            throw new IllegalStateException("native constructor returned no object");
        }
        this.handle = handle;
    }

    /**
     * Starts a native call: takes the read lock and returns the live handle.
     * Pair every successful call with {@link #release()} in a {@code finally} block.
     *
     * @throws IllegalStateException if the object is closed or closing
     */
    final long acquire() {
        long h = tryAcquire();
        if (h == 0) {
            throw closed();
        }
        return h;
    }

    /**
     * {@link #acquire()} that answers 0, holding nothing, instead of throwing when the object
     * is closed or closing.
     *
     * @return the live handle (pair it with {@link #release()}), or 0
     */
    final long tryAcquire() {
        if (closing.get()) {
            return 0;
        }
        lock.readLock().lock();
        long h = handle;
        if (h == 0) {
            lock.readLock().unlock();
        }
        return h;
    }

    /** Ends a native call started by {@link #acquire()}. */
    final void release() {
        lock.readLock().unlock();
    }

    /** Frees the native value; called once, under the write lock, with a non-zero handle. */
    abstract void dispose(long handle);

    /**
     * Whether {@link #close()} has been called.
     *
     * @return true once closing has started
     */
    public final boolean isClosed() {
        return closing.get();
    }

    /**
     * Frees the native value once: waits for calls in flight on other threads, then frees.
     * Later calls do nothing.
     *
     * @throws IllegalStateException if called from inside a call on this same object (for
     *     example from a validator callback), which would otherwise wait for itself forever
     */
    @Override
    public final void close() {
        if (lock.getReadHoldCount() > 0) {
            throw new MisuseException(getClass().getSimpleName() + " cannot be closed from inside its own call");
        }
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        lock.writeLock().lock();
        try {
            long h = handle;
            handle = 0;
            dispose(h);
        } finally {
            lock.writeLock().unlock();
        }
    }

    private IllegalStateException closed() {
        return new MisuseException(getClass().getSimpleName() + " is closed");
    }
}
