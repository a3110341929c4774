package dev.fleetgov;

/**
 * What an override forces to resync: one node or one cluster (operator or admin), or every
 * cluster of a workspace or of the whole fleet (a global overwrite, admin only).
 *
 * <pre>{@code
 * engine.forceSync(ForceTarget.node("gw-7"), by);
 * engine.forceSync(ForceTarget.workspace("ws-1"), adminBy); // global overwrite
 * assert ForceTarget.node("gw-7").label().equals("node:gw-7");
 * }</pre>
 *
 * <p>A target crosses to the engine as its {@link #label()}, which the engine parses; the
 * audit record of an override has that label as its {@link AuditRecord#target()}.
 */
public sealed interface ForceTarget {
    /**
     * The target's name in the audit log: {@code node:<id>}, {@code cluster:<id>},
     * {@code workspace:<id>} or {@code fleet}.
     *
     * @return the label
     */
    String label();

    /**
     * One node.
     *
     * @param id the node id
     */
    record Node(String id) implements ForceTarget {
        /**
         * Checks the id.
         *
         * @param id the node id
         */
        public Node {
            Args.id("node", id);
        }

        @Override
        public String label() {
            return "node:" + id;
        }
    }

    /**
     * Every node of one cluster.
     *
     * @param id the cluster id
     */
    record Cluster(String id) implements ForceTarget {
        /**
         * Checks the id.
         *
         * @param id the cluster id
         */
        public Cluster {
            Args.id("cluster", id);
        }

        @Override
        public String label() {
            return "cluster:" + id;
        }
    }

    /**
     * Every cluster of one workspace: a global overwrite.
     *
     * @param id the workspace id
     */
    record Workspace(String id) implements ForceTarget {
        /**
         * Checks the id.
         *
         * @param id the workspace id
         */
        public Workspace {
            Args.id("workspace", id);
        }

        @Override
        public String label() {
            return "workspace:" + id;
        }
    }

    /** Every cluster of every workspace: a global overwrite. */
    record Fleet() implements ForceTarget {
        @Override
        public String label() {
            return "fleet";
        }
    }

    /**
     * One node.
     *
     * @param id the node id
     * @return the target
     */
    static ForceTarget node(String id) {
        return new Node(id);
    }

    /**
     * Every node of one cluster.
     *
     * @param id the cluster id
     * @return the target
     */
    static ForceTarget cluster(String id) {
        return new Cluster(id);
    }

    /**
     * Every cluster of one workspace.
     *
     * @param id the workspace id
     * @return the target
     */
    static ForceTarget workspace(String id) {
        return new Workspace(id);
    }

    /**
     * Every cluster of every workspace.
     *
     * @return the target
     */
    static ForceTarget fleet() {
        return new Fleet();
    }
}
