package dev.fleetgov;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.jspecify.annotations.Nullable;

/**
 * A reusable batch of binary heartbeat records and their outcome records, in two direct
 * little-endian buffers, for {@link FleetEngine#heartbeatBatch(HeartbeatBatch)}: one JNI
 * crossing for the whole batch, no copy of either buffer.
 *
 * <p>The record format (version 1, 128 bytes, little-endian) is the engine's wire format:
 *
 * <pre>
 * offset size field
 *      0    1 format version, 1
 *      1    1 process status: 0 ready, 1 starting, 2 error
 *      2    1 sync error code (1-9, 255 other), 0 none
 *      3    1 flags: bit 0 = an applied snapshot is reported
 *      4    4 applied revision of the node's own cluster (u32); 0 without bit 0
 *      8    8 node handle
 *     16    8 heartbeat time, unix ms
 *     24   32 node-computed blake3 hash of the applied bytes; zero without bit 0
 *     56    4 runtime version, packed ({@link FleetGov#runtimeVersionBits})
 *     60   16 cpu %, memory %, tps, heap % (f32 each)
 *     76    4 hot-swap errors (u32)
 *     80    1 sync error detail length, 0-47
 *     81   47 sync error detail, UTF-8, zero-padded
 * </pre>
 *
 * <p>Each outcome record is 40 bytes: the {@link BatchOutcome} byte, three zero bytes, the
 * directive's revision (u32, 0 if none) and its 32-byte hash.
 *
 * <p>Not thread-safe: fill, ingest and read it from one thread at a time.
 *
 * <pre>{@code
 * HeartbeatBatch batch = new HeartbeatBatch(10_000);
 * int v = FleetGov.runtimeVersionBits("3.5.0");
 * for (long node : nodes) {
 *     batch.add(node, now, v, ProcessStatus.READY, Metrics.ZERO, s.revision(), s.hash(), null);
 * }
 * BatchSummary summary = engine.heartbeatBatch(batch);
 * for (int i = 0; i < batch.size(); i++) {
 *     if (batch.outcome(i) == BatchOutcome.RECONCILE) {
 *         pull(batch.directiveRevision(i), batch.directiveHash(i));
 *     }
 * }
 * batch.clear();
 * }</pre>
 */
public final class HeartbeatBatch {
    /** Bytes per heartbeat record. */
    public static final int RECORD_SIZE = 128;
    /** Bytes per outcome record. */
    public static final int OUTCOME_SIZE = 40;
    /** The record format version written. */
    public static final int FORMAT_VERSION = 1;
    /** The longest sync-error detail a record carries, in UTF-8 bytes; longer ones are cut. */
    public static final int MAX_DETAIL_BYTES = 47;

    private static final int HASH_BYTES = 32;
    private static final int FLAG_APPLIED = 1;
    /** Where the detail's length byte is; the detail follows it to the end of the record. */
    private static final int DETAIL_OFFSET = 80;

    private final int capacity;
    private final ByteBuffer records;
    private final ByteBuffer outcomes;
    private int size;
    /** Whether the outcome buffer holds the outcomes of exactly the records now in the batch. */
    private boolean ingested;
    /**
     * Every record at this index or above has an all-zero detail: a new direct buffer is zeroed,
     * and only a record written with a sync error (or natively) below it may hold one. A record
     * written without a detail zeroes its detail only below this mark.
     */
    private int zeroDetailsFrom;
    /** The hex hash {@code add} parsed last, and its words: a batch's records mostly repeat one. */
    private @Nullable String lastHex;
    private long lastHash0;
    private long lastHash1;
    private long lastHash2;
    private long lastHash3;

    /**
     * An empty batch of up to {@code capacity} records.
     *
     * @param capacity the most records (at most {@code Integer.MAX_VALUE / 128})
     */
    public HeartbeatBatch(int capacity) {
        if (capacity <= 0 || capacity > Integer.MAX_VALUE / RECORD_SIZE) {
            throw new IllegalArgumentException("capacity must be 1 to " + Integer.MAX_VALUE / RECORD_SIZE);
        }
        this.capacity = capacity;
        this.records = ByteBuffer.allocateDirect(capacity * RECORD_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        this.outcomes = ByteBuffer.allocateDirect(capacity * OUTCOME_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * How many records the batch holds.
     *
     * @return the size
     */
    public int size() {
        return size;
    }

    /**
     * The most records the batch can hold.
     *
     * @return the capacity
     */
    public int capacity() {
        return capacity;
    }

    /** Empties the batch for reuse; the buffers are kept, the last ingest's outcomes dropped. */
    public void clear() {
        size = 0;
        ingested = false;
    }

    /**
     * Appends a record.
     *
     * @param node the node's handle from {@link FleetEngine#enroll}
     * @param atMs heartbeat time (unix ms)
     * @param runtimeVersionBits the packed runtime version ({@link FleetGov#runtimeVersionBits})
     * @param status the process status
     * @param metrics the metrics
     * @param appliedRevision the applied revision of the node's own cluster (ignored when
     *     {@code appliedHash} is null)
     * @param appliedHash the node-computed hash of what it applied, 64 hex characters, or null
     *     when nothing is applied; a hash equal to the last one this batch parsed is not parsed
     *     again
     * @param syncError the sync error, or null; its detail is cut to {@value #MAX_DETAIL_BYTES}
     *     UTF-8 bytes
     * @return the record's index
     * @throws IllegalStateException if the batch is full
     * @throws IllegalArgumentException if a hash is not 64 hex characters or an argument is null
     */
    public int add(
            long node,
            long atMs,
            int runtimeVersionBits,
            ProcessStatus status,
            Metrics metrics,
            int appliedRevision,
            @Nullable String appliedHash,
            @Nullable SyncError syncError) {
        if (appliedHash == null) {
            return put(node, atMs, runtimeVersionBits, status, metrics, false, 0, 0, 0, 0, 0, syncError);
        }
        // The hex is parsed once per distinct hash: a string equal to the last one reuses its words.
        if (!appliedHash.equals(lastHex)) {
            long[] words = hashWords(appliedHash);
            lastHash0 = words[0];
            lastHash1 = words[1];
            lastHash2 = words[2];
            lastHash3 = words[3];
            lastHex = appliedHash;
        }
        return put(node, atMs, runtimeVersionBits, status, metrics, true, appliedRevision, lastHash0, lastHash1,
                lastHash2, lastHash3, syncError);
    }

    /**
     * Appends a record of a node that applied a configuration, its hash given as the four words
     * of {@link #hashWords(String)}: the fast path, with no hex to parse. Parse a snapshot's hash
     * once and reuse the words for every record that reports it.
     *
     * <pre>{@code
     * long[] h = HeartbeatBatch.hashWords(snapshot.hash()); // once per snapshot
     * batch.add(node, now, FleetGov.runtimeVersionBits("3.5.0"), ProcessStatus.READY, Metrics.ZERO,
     *         snapshot.revision(), h[0], h[1], h[2], h[3], null);
     * }</pre>
     *
     * @param node the node's handle from {@link FleetEngine#enroll}
     * @param atMs heartbeat time (unix ms)
     * @param runtimeVersionBits the packed runtime version ({@link FleetGov#runtimeVersionBits})
     * @param status the process status
     * @param metrics the metrics
     * @param appliedRevision the applied revision of the node's own cluster
     * @param hash0 word 0 of the node-computed hash
     * @param hash1 word 1
     * @param hash2 word 2
     * @param hash3 word 3
     * @param syncError the sync error, or null; its detail is cut to {@value #MAX_DETAIL_BYTES}
     *     UTF-8 bytes
     * @return the record's index
     * @throws IllegalStateException if the batch is full
     * @throws IllegalArgumentException if {@code status} or {@code metrics} is null
     */
    public int add(long node, long atMs, int runtimeVersionBits, ProcessStatus status, Metrics metrics,
            int appliedRevision, long hash0, long hash1, long hash2, long hash3, @Nullable SyncError syncError) {
        return put(node, atMs, runtimeVersionBits, status, metrics, true, appliedRevision, hash0, hash1, hash2, hash3,
                syncError);
    }

    /**
     * A hash (64 hex characters, as {@link Snapshot#hash()}) as the four words the record
     * carries: its 32 bytes read as little-endian {@code long}s, in order.
     *
     * @param hex the hash
     * @return four words
     * @throws IllegalArgumentException if it is not 64 hex characters
     */
    public static long[] hashWords(String hex) {
        ByteBuffer bytes = ByteBuffer.wrap(hashBytes(Args.present("hash", hex))).order(ByteOrder.LITTLE_ENDIAN);
        return new long[] {bytes.getLong(0), bytes.getLong(8), bytes.getLong(16), bytes.getLong(24)};
    }

    /**
     * Writes a record; {@code applied} false writes no revision and a zero hash. The record is
     * written as sixteen little-endian words, each field packed into its word: a put per word
     * rather than per field, and no bulk copy for an empty detail.
     */
    private int put(long node, long atMs, int runtimeVersionBits, ProcessStatus status, Metrics metrics,
            boolean applied, int appliedRevision, long hash0, long hash1, long hash2, long hash3,
            @Nullable SyncError syncError) {
        Args.present("status", status);
        Args.present("metrics", metrics);
        int index = reserve();
        int base = index * RECORD_SIZE;
        int code = syncError == null ? 0 : syncError.code().wire();
        long header = FORMAT_VERSION | (long) status.ordinal() << 8 | (long) code << 16
                | (long) (applied ? FLAG_APPLIED : 0) << 24 | (applied ? appliedRevision & 0xFFFF_FFFFL : 0) << 32;
        ByteBuffer r = records;
        r.putLong(base, header);
        r.putLong(base + 8, node);
        r.putLong(base + 16, atMs);
        r.putLong(base + 24, hash0);
        r.putLong(base + 32, hash1);
        r.putLong(base + 40, hash2);
        r.putLong(base + 48, hash3);
        r.putLong(base + 56, pair(runtimeVersionBits, Float.floatToRawIntBits(metrics.cpu())));
        r.putLong(base + 64, pair(Float.floatToRawIntBits(metrics.memory()), Float.floatToRawIntBits(metrics.tps())));
        r.putLong(base + 72, pair(Float.floatToRawIntBits(metrics.heap()), metrics.hotSwapErrors()));
        if (index < zeroDetailsFrom) {
            for (int at = base + DETAIL_OFFSET; at < base + RECORD_SIZE; at += Long.BYTES) {
                r.putLong(at, 0);
            }
        }
        if (syncError != null) {
            byte[] detail = syncError.detail().getBytes(StandardCharsets.UTF_8);
            int len = cutAtCharBoundary(detail, MAX_DETAIL_BYTES);
            r.put(base + DETAIL_OFFSET, (byte) len);
            r.put(base + DETAIL_OFFSET + 1, detail, 0, len);
        }
        return commit(index, syncError != null);
    }

    /** Two 32-bit fields as one little-endian word: {@code low} at the lower address. */
    private static long pair(int low, int high) {
        return (low & 0xFFFF_FFFFL) | (long) high << 32;
    }

    /**
     * What happened to record {@code index} when the batch, as it is now, was ingested. Adding a
     * record or clearing the batch drops the outcomes until the next ingest.
     *
     * @param index the record's index
     * @return the outcome
     * @throws IllegalStateException if the batch changed ({@code add}, {@code clear}) since it was
     *     last ingested, or was never ingested
     * @throws IndexOutOfBoundsException if there is no record {@code index}
     */
    public BatchOutcome outcome(int index) {
        return BatchOutcome.ofWire(outcomes.get(outcomeBase(index)));
    }

    /**
     * The revision the directive for record {@code index} names, 0 if it has none.
     *
     * @param index the record's index
     * @return the revision of the node's cluster to pull
     * @throws IllegalStateException if the batch changed ({@code add}, {@code clear}) since it was
     *     last ingested, or was never ingested
     * @throws IndexOutOfBoundsException if there is no record {@code index}
     */
    public int directiveRevision(int index) {
        return outcomes.getInt(outcomeBase(index) + 4);
    }

    /**
     * The hash the directive for record {@code index} names.
     *
     * @param index the record's index
     * @return 64 hex characters, or null if the record got no directive
     * @throws IllegalStateException if the batch changed ({@code add}, {@code clear}) since it was
     *     last ingested, or was never ingested
     * @throws IndexOutOfBoundsException if there is no record {@code index}
     */
    public @Nullable String directiveHash(int index) {
        int base = outcomeBase(index);
        if (outcomes.getInt(base + 4) == 0) {
            return null;
        }
        byte[] hash = new byte[HASH_BYTES];
        outcomes.get(base + 8, hash);
        return HexFormat.of().formatHex(hash);
    }

    /** The index the next record will have; {@link IllegalStateException} if the batch is full. */
    int reserve() {
        if (size == capacity) {
            throw new MisuseException("batch is full (" + capacity + " records)");
        }
        return size;
    }

    /**
     * Counts the record written at {@code index} (from {@link #reserve()}); the outcomes of the
     * last ingest no longer describe the batch.
     *
     * @param detail whether the record may hold a sync-error detail (one written natively may)
     */
    int commit(int index, boolean detail) {
        if (index != size) {
            throw new MisuseException("record " + index + " is not the next one (" + size + ")");
        }
        if (detail && index >= zeroDetailsFrom) {
            zeroDetailsFrom = index + 1;
        }
        ingested = false;
        return size++;
    }

    /** Called once the engine has written an outcome for every record now in the batch. */
    void ingested() {
        ingested = true;
    }

    /** The filled records, for the native call. */
    ByteBuffer records() {
        return records;
    }

    /** The outcome buffer, for the native call. */
    ByteBuffer outcomes() {
        return outcomes;
    }

    private int outcomeBase(int index) {
        if (!ingested) {
            throw new MisuseException("no outcomes: the batch was not ingested since its last add or clear");
        }
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("record " + index + " of " + size);
        }
        return index * OUTCOME_SIZE;
    }

    private static byte[] hashBytes(String hex) {
        if (hex.length() != 2 * HASH_BYTES) {
            throw new IllegalArgumentException("hash must be 64 hex characters, got " + hex.length());
        }
        try {
            return HexFormat.of().parseHex(hex);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("hash is not hex: " + hex, e);
        }
    }

    /** The longest prefix of {@code utf8} of at most {@code max} bytes that ends on a character. */
    private static int cutAtCharBoundary(byte[] utf8, int max) {
        if (utf8.length <= max) {
            return utf8.length;
        }
        int cut = max;
        while (cut > 0 && (utf8[cut] & 0xC0) == 0x80) {
            cut--;
        }
        return cut;
    }
}
