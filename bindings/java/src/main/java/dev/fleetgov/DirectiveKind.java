package dev.fleetgov;

/**
 * What a directive asks of a node.
 *
 * <pre>{@code
 * if (d != null && d.kind() == DirectiveKind.FORCE_SYNC) { reloadNow(d.snapshot()); }
 * }</pre>
 */
public enum DirectiveKind {
    /** The node is behind and its cluster auto-reconciles: pull the snapshot. */
    RECONCILE,
    /** An operator forced a sync: pull and reload the snapshot now. */
    FORCE_SYNC
}
