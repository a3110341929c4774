package dev.fleetgov.bench;

/**
 * The strongest honest pure-Java peer: what a JVM control plane would write with dense handles
 * and no fleetgov. Nodes are {@code int} handles into primitive arrays (no objects, no map, no
 * lock: one writer thread); a heartbeat stores its fields and decides "in sync" by comparing the
 * applied revision and the four hash words with the cluster's desired ones; a per-cluster count
 * of in-sync nodes moves on transitions, so cohesion is one read. It keeps what the engine's
 * single slot keeps of a report (time, applied revision and hash, version, status, metrics) and
 * none of what the engine adds (health by time, drift, root causes, the journal, the change feed,
 * the audit log, concurrency).
 */
public final class DenseJavaTracker {
    private final int[] cluster;
    private final long[] lastAtMs;
    private final int[] appliedRevision;
    private final long[] appliedHash;
    private final int[] runtimeVersion;
    private final byte[] status;
    private final float[] metrics;
    private final int[] hotSwapErrors;
    private final boolean[] inSync;
    private final int[] desiredRevision;
    private final long[] desiredHash;
    private final long[] inSyncCount;
    private final long[] total;
    private int nodes;

    DenseJavaTracker(int capacity, int clusters) {
        cluster = new int[capacity];
        lastAtMs = new long[capacity];
        appliedRevision = new int[capacity];
        appliedHash = new long[4 * capacity];
        runtimeVersion = new int[capacity];
        status = new byte[capacity];
        metrics = new float[4 * capacity];
        hotSwapErrors = new int[capacity];
        inSync = new boolean[capacity];
        desiredRevision = new int[clusters];
        desiredHash = new long[4 * clusters];
        inSyncCount = new long[clusters];
        total = new long[clusters];
    }

    /** Enrols a node in cluster {@code c}; returns its handle. */
    int enroll(int c) {
        int n = nodes++;
        cluster[n] = c;
        lastAtMs[n] = -1;
        total[c]++;
        return n;
    }

    /** Makes revision {@code revision} with hash {@code hash} (four words) cluster {@code c}'s desired one. */
    void publish(int c, int revision, long[] hash) {
        desiredRevision[c] = revision;
        System.arraycopy(hash, 0, desiredHash, 4 * c, 4);
        long synced = 0;
        for (int n = 0; n < nodes; n++) {
            if (cluster[n] == c) {
                inSync[n] = matches(n, c);
                synced += inSync[n] ? 1 : 0;
            }
        }
        inSyncCount[c] = synced;
    }

    /** Returns false for a stale heartbeat (ignored); revision 0 means nothing applied. */
    boolean heartbeat(int n, long atMs, int revision, long h0, long h1, long h2, long h3, int version, int st,
            float cpu, float memory, float tps, float heap, int swapErrors) {
        if (atMs < lastAtMs[n]) {
            return false;
        }
        lastAtMs[n] = atMs;
        appliedRevision[n] = revision;
        int h = 4 * n;
        appliedHash[h] = h0;
        appliedHash[h + 1] = h1;
        appliedHash[h + 2] = h2;
        appliedHash[h + 3] = h3;
        runtimeVersion[n] = version;
        status[n] = (byte) st;
        metrics[h] = cpu;
        metrics[h + 1] = memory;
        metrics[h + 2] = tps;
        metrics[h + 3] = heap;
        hotSwapErrors[n] = swapErrors;
        int c = cluster[n];
        boolean now = matches(n, c);
        if (now != inSync[n]) {
            inSyncCount[c] += now ? 1 : -1;
            inSync[n] = now;
        }
        return true;
    }

    /** Cluster {@code c}'s cohesion in percent, floored. */
    int cohesion(int c) {
        return total[c] == 0 ? 100 : (int) (100 * inSyncCount[c] / total[c]);
    }

    private boolean matches(int n, int c) {
        int h = 4 * n;
        int d = 4 * c;
        return appliedRevision[n] != 0
                && appliedRevision[n] == desiredRevision[c]
                && appliedHash[h] == desiredHash[d]
                && appliedHash[h + 1] == desiredHash[d + 1]
                && appliedHash[h + 2] == desiredHash[d + 2]
                && appliedHash[h + 3] == desiredHash[d + 3];
    }
}
