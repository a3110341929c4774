package dev.fleetgov;

/**
 * What an override forces to resync: one node or one cluster (operator or admin), or every
 * cluster of a workspace or of the whole fleet (a global overwrite, admin only).
 *
 * <pre>{@code
 * engine.forceSync(ForceTarget.node("gw-7"), by);
 * engine.forceSync(ForceTarget.workspace("ws-1"), adminBy); // global overwrite
 * }</pre>
 */
public sealed interface ForceTarget {
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
            Args.text("id", id);
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
            Args.text("id", id);
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
            Args.text("id", id);
        }
    }

    /** Every cluster of every workspace: a global overwrite. */
    record Fleet() implements ForceTarget {}

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
