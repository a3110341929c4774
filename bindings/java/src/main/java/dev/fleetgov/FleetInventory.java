package dev.fleetgov;

import java.util.List;

/**
 * The fleet inventory of a workspace: every runtime, the summary counts and the desired
 * state, as in {@code GET /api/v1/workspaces/{id}/fleet}. {@link FleetEngine#fleetJson} returns
 * the same as JSON.
 *
 * <pre>{@code
 * FleetInventory f = engine.fleet("ws-1", now);
 * System.out.println(f.summary().upgradeRequired() + " runtimes need an upgrade");
 * }</pre>
 *
 * @param runtimes every enrolled runtime of the workspace
 * @param summary aggregate counts
 * @param desiredState what should run
 */
public record FleetInventory(List<FleetRuntime> runtimes, FleetSummary summary, DesiredState desiredState) {
    /**
     * Makes the list immutable.
     *
     * @param runtimes every enrolled runtime of the workspace
     * @param summary aggregate counts
     * @param desiredState what should run
     */
    public FleetInventory {
        runtimes = List.copyOf(runtimes);
    }
}
