package dev.fleetgov;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * A reusable batch of heartbeat records that name their nodes by id, not by handle, for {@link
 * FleetEngine#heartbeatBatch(HeartbeatBatchById)}: what a service that knows only node ids
 * sends, with no lookup call per node. The records are {@link HeartbeatBatch}'s (their handle
 * field zero); the ids go into one id buffer beside them (little-endian {@code i32} offsets into
 * the ids' UTF-8 bytes, the layout of an Arrow string column), so the whole batch crosses JNI once
 * and the engine looks its ids up together.
 *
 * <p>A malformed record or id (one {@link FleetGov}'s id rules refuse) fails the whole batch with
 * {@code INVALID_INPUT} naming its index, and nothing of it is applied. An id of no enrolled
 * node is refused at its record alone, as {@link BatchOutcome#UNKNOWN_NODE}. A node's records
 * are applied in batch order.
 *
 * <p>Not thread-safe: fill, ingest and read it from one thread at a time.
 *
 * <pre>{@code
 * HeartbeatBatchById batch = new HeartbeatBatchById(10_000);
 * int v = FleetGov.runtimeVersionBits("3.5.0");
 * for (String node : new String[] {"gw-prod-us-1", "gw-prod-us-2"}) {
 *     batch.add(node, now, v, ProcessStatus.READY, Metrics.ZERO, s.revision(), s.hash(), null);
 * }
 * BatchSummary summary = engine.heartbeatBatch(batch);
 * for (int i = 0; i < batch.size(); i++) {
 *     if (batch.outcome(i) == BatchOutcome.UNKNOWN_NODE) {
 *         engine.enroll(batch.id(i), "eks-prod-us", now);
 *     }
 * }
 * batch.clear();
 * }</pre>
 */
public final class HeartbeatBatchById {
    /** Id bytes the id buffer starts with per record of capacity; it doubles when full. */
    private static final int ID_BYTES_PER_RECORD = 16;

    private final HeartbeatBatch records;
    /** {@code size() + 1} offsets: id {@code i} is bytes {@code [offset(i), offset(i + 1))}. */
    private final ByteBuffer offsets;
    private ByteBuffer ids;
    /** Bytes of ids written for the records in the batch (the last offset). */
    private int idLength;

    /**
     * An empty batch of up to {@code capacity} records.
     *
     * @param capacity the most records (at most {@code Integer.MAX_VALUE / 128})
     */
    public HeartbeatBatchById(int capacity) {
        this.records = new HeartbeatBatch(capacity);
        this.offsets = ByteBuffer.allocateDirect((capacity + 1) * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        this.ids = ByteBuffer.allocateDirect(Math.min(capacity, Integer.MAX_VALUE / ID_BYTES_PER_RECORD)
                * ID_BYTES_PER_RECORD);
    }

    /**
     * How many records the batch holds.
     *
     * @return the size
     */
    public int size() {
        return records.size();
    }

    /**
     * The most records the batch can hold.
     *
     * @return the capacity
     */
    public int capacity() {
        return records.capacity();
    }

    /** Empties the batch for reuse; the buffers are kept, the last ingest's outcomes dropped. */
    public void clear() {
        records.clear();
        idLength = 0;
    }

    /**
     * Appends a record of node {@code node}, as {@link HeartbeatBatch} appends one by handle. On
     * an exception nothing is appended.
     *
     * @param node the node's id
     * @param atMs heartbeat time (unix ms)
     * @param runtimeVersionBits the packed runtime version ({@link FleetGov#runtimeVersionBits})
     * @param status the process status
     * @param metrics the metrics
     * @param appliedRevision the applied revision of the node's own cluster (ignored when
     *     {@code appliedHash} is null)
     * @param appliedHash the node-computed hash of what it applied, 64 hex characters, or null
     *     when nothing is applied
     * @param syncError the sync error, or null; its detail is cut as {@link HeartbeatBatch} cuts
     *     it
     * @return the record's index
     * @throws IllegalStateException if the batch is full
     * @throws IllegalArgumentException if a hash is not 64 hex characters, an argument is null, or
     *     the batch's ids would pass 2 GiB
     */
    public int add(
            String node,
            long atMs,
            int runtimeVersionBits,
            ProcessStatus status,
            Metrics metrics,
            int appliedRevision,
            @Nullable String appliedHash,
            @Nullable SyncError syncError) {
        int end = stageId(node);
        int index = records.add(0L, atMs, runtimeVersionBits, status, metrics, appliedRevision, appliedHash,
                syncError);
        return commitId(index, end);
    }

    /**
     * Appends a record of node {@code node} that applied a configuration, its hash given as the
     * four words of {@link HeartbeatBatch#hashWords(String)}: the fast path, with no hex to
     * parse. On an exception nothing is appended.
     *
     * @param node the node's id
     * @param atMs heartbeat time (unix ms)
     * @param runtimeVersionBits the packed runtime version ({@link FleetGov#runtimeVersionBits})
     * @param status the process status
     * @param metrics the metrics
     * @param appliedRevision the applied revision of the node's own cluster
     * @param hash0 word 0 of the node-computed hash
     * @param hash1 word 1
     * @param hash2 word 2
     * @param hash3 word 3
     * @param syncError the sync error, or null; its detail is cut as {@link HeartbeatBatch} cuts
     *     it
     * @return the record's index
     * @throws IllegalStateException if the batch is full
     * @throws IllegalArgumentException if an argument is null or the batch's ids would pass 2 GiB
     */
    public int add(String node, long atMs, int runtimeVersionBits, ProcessStatus status, Metrics metrics,
            int appliedRevision, long hash0, long hash1, long hash2, long hash3, @Nullable SyncError syncError) {
        int end = stageId(node);
        int index = records.add(0L, atMs, runtimeVersionBits, status, metrics, appliedRevision, hash0, hash1, hash2,
                hash3, syncError);
        return commitId(index, end);
    }

    /**
     * The id of record {@code index}, as it was added.
     *
     * @param index the record's index
     * @return the node id
     * @throws IndexOutOfBoundsException if there is no record {@code index}
     */
    public String id(int index) {
        if (index < 0 || index >= size()) {
            throw new IndexOutOfBoundsException("record " + index + " of " + size());
        }
        int from = offsets.getInt(index * Integer.BYTES);
        byte[] bytes = new byte[offsets.getInt((index + 1) * Integer.BYTES) - from];
        ids.get(from, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * What happened to record {@code index} when the batch, as it is now, was ingested.
     *
     * @param index the record's index
     * @return the outcome
     * @throws IllegalStateException if the batch changed ({@code add}, {@code clear}) since it was
     *     last ingested, or was never ingested
     * @throws IndexOutOfBoundsException if there is no record {@code index}
     */
    public BatchOutcome outcome(int index) {
        return records.outcome(index);
    }

    /**
     * The revision the directive for record {@code index} names, 0 if it has none.
     *
     * @param index the record's index
     * @return the revision of the node's cluster to pull
     * @throws IllegalStateException if the batch changed since it was last ingested, or was never
     *     ingested
     * @throws IndexOutOfBoundsException if there is no record {@code index}
     */
    public int directiveRevision(int index) {
        return records.directiveRevision(index);
    }

    /**
     * The hash the directive for record {@code index} names.
     *
     * @param index the record's index
     * @return 64 hex characters, or null if the record got no directive
     * @throws IllegalStateException if the batch changed since it was last ingested, or was never
     *     ingested
     * @throws IndexOutOfBoundsException if there is no record {@code index}
     */
    public @Nullable String directiveHash(int index) {
        return records.directiveHash(index);
    }

    /**
     * Writes {@code node}'s UTF-8 bytes after the ids of the batch, growing the id buffer if
     * need be, and returns where they end; nothing counts until {@link #commitId}.
     */
    private int stageId(String node) {
        Args.present("node", node);
        records.reserve();
        int length = node.length();
        boolean ascii = true;
        for (int i = 0; i < length && ascii; i++) {
            ascii = node.charAt(i) < 0x80;
        }
        if (!ascii) {
            byte[] utf8 = node.getBytes(StandardCharsets.UTF_8);
            int end = room(utf8.length);
            ids.put(idLength, utf8);
            return end;
        }
        // ASCII, the usual id: written char by char, no byte array made.
        int end = room(length);
        for (int i = 0; i < length; i++) {
            ids.put(idLength + i, (byte) node.charAt(i));
        }
        return end;
    }

    /** Counts the id staged up to {@code end} as record {@code index}'s. */
    private int commitId(int index, int end) {
        offsets.putInt((index + 1) * Integer.BYTES, end);
        idLength = end;
        return index;
    }

    /** Makes room for {@code bytes} more id bytes and returns where they will end. */
    private int room(int bytes) {
        if (bytes > Integer.MAX_VALUE - idLength) {
            throw new IllegalArgumentException("the ids of a batch hold at most 2 GiB");
        }
        int end = idLength + bytes;
        if (end > ids.capacity()) {
            grow(end);
        }
        return end;
    }

    /** A larger id buffer (double, or {@code needed} if more) holding the ids so far. */
    private void grow(int needed) {
        int capacity = (int) Math.min(Integer.MAX_VALUE, Math.max(needed, 2L * ids.capacity()));
        ByteBuffer larger = ByteBuffer.allocateDirect(capacity);
        larger.put(0, ids, 0, idLength);
        ids = larger;
    }

    /** The records, for the native call. */
    HeartbeatBatch records() {
        return records;
    }

    /** The id offsets ({@code size() + 1} little-endian {@code i32}s from the start), for the native call. */
    ByteBuffer offsets() {
        return offsets;
    }

    /** The id bytes ({@link #idLength()} from the start), for the native call. */
    ByteBuffer ids() {
        return ids;
    }

    /** Bytes of ids in the batch. */
    int idLength() {
        return idLength;
    }
}
