package dev.fleetgov.bench;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The plain-Java peer: what a JVM control plane would write without fleetgov. Nodes live in a
 * {@link ConcurrentHashMap} keyed by node id; a heartbeat updates its node under the node's
 * monitor and decides "in sync" by comparing the applied snapshot id and hash with the
 * cluster's desired ones. Cohesion is either counted by a scan of every node, or read from a
 * per-cluster counter that heartbeats adjust on transitions.
 */
public final class JavaTracker {
    /** How cohesion is computed: by a scan of every node, or from a counter kept by heartbeats. */
    public enum Cohesion {
        SCAN,
        INCREMENTAL
    }

    static final class Cluster {
        final String id;
        volatile String desiredSnapshot;
        volatile String desiredHash;
        final LongAdder inSync = new LongAdder();
        final LongAdder total = new LongAdder();

        Cluster(String id) {
            this.id = id;
        }
    }

    static final class Node {
        final Cluster cluster;
        long lastHeartbeatMs = -1;
        String appliedSnapshot;
        String appliedHash;
        int runtimeVersion;
        int status;
        float cpu;
        float memory;
        float tps;
        float heap;
        int hotSwapErrors;
        boolean inSync;

        Node(Cluster cluster) {
            this.cluster = cluster;
        }
    }

    private final Cohesion mode;
    private final ConcurrentHashMap<String, Cluster> clusters = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Node> nodes;

    JavaTracker(Cohesion mode, int expectedNodes) {
        this.mode = mode;
        this.nodes = new ConcurrentHashMap<>(expectedNodes * 2);
    }

    void publish(String cluster, String snapshotId, String hash) {
        Cluster c = clusters.computeIfAbsent(cluster, Cluster::new);
        c.desiredSnapshot = snapshotId;
        c.desiredHash = hash;
        if (mode == Cohesion.INCREMENTAL) {
            long synced = 0;
            for (Node n : nodes.values()) {
                if (n.cluster == c) {
                    synchronized (n) {
                        n.inSync = snapshotId.equals(n.appliedSnapshot) && hash.equals(n.appliedHash);
                        synced += n.inSync ? 1 : 0;
                    }
                }
            }
            c.inSync.reset();
            c.inSync.add(synced);
        }
    }

    void enroll(String node, String cluster) {
        Cluster c = clusters.computeIfAbsent(cluster, Cluster::new);
        if (nodes.putIfAbsent(node, new Node(c)) == null) {
            c.total.increment();
        }
    }

    /** Returns false for a stale heartbeat (ignored). */
    boolean heartbeat(String nodeId, long atMs, String appliedSnapshot, String appliedHash, int runtimeVersion,
            int status, float cpu, float memory, float tps, float heap, int hotSwapErrors) {
        Node n = nodes.get(nodeId);
        if (n == null) {
            throw new IllegalArgumentException("unknown node " + nodeId);
        }
        Cluster c = n.cluster;
        synchronized (n) {
            if (atMs < n.lastHeartbeatMs) {
                return false;
            }
            boolean inSync = appliedSnapshot != null
                    && appliedSnapshot.equals(c.desiredSnapshot)
                    && appliedHash.equals(c.desiredHash);
            n.lastHeartbeatMs = atMs;
            n.appliedSnapshot = appliedSnapshot;
            n.appliedHash = appliedHash;
            n.runtimeVersion = runtimeVersion;
            n.status = status;
            n.cpu = cpu;
            n.memory = memory;
            n.tps = tps;
            n.heap = heap;
            n.hotSwapErrors = hotSwapErrors;
            if (mode == Cohesion.INCREMENTAL && inSync != n.inSync) {
                c.inSync.add(inSync ? 1 : -1);
            }
            n.inSync = inSync;
        }
        return true;
    }

    int cohesion(String cluster) {
        Cluster c = clusters.get(cluster);
        long synced;
        long total;
        if (mode == Cohesion.INCREMENTAL) {
            synced = c.inSync.sum();
            total = c.total.sum();
        } else {
            synced = 0;
            total = 0;
            for (Node n : nodes.values()) {
                if (n.cluster == c) {
                    total++;
                    synchronized (n) {
                        synced += n.inSync ? 1 : 0;
                    }
                }
            }
        }
        return total == 0 ? 0 : (int) ((200 * synced + total) / (2 * total));
    }
}
