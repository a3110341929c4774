package dev.fleetgov;

import java.util.List;

/**
 * A workspace's desired state: its authority mode, minimum runtime version and each
 * cluster's desired snapshot.
 *
 * <pre>{@code
 * DesiredState d = engine.fleet("ws-1", now).desiredState();
 * System.out.println(d.policyMode() + ", minimum " + d.minRuntimeVersion());
 * }</pre>
 *
 * @param policyMode the authority mode
 * @param minRuntimeVersion the minimum runtime version
 * @param clusters each cluster's snapshot, revision and hash
 */
public record DesiredState(AuthorityMode policyMode, String minRuntimeVersion, List<DesiredCluster> clusters) {
    /**
     * Makes the list immutable.
     *
     * @param policyMode the authority mode
     * @param minRuntimeVersion the minimum runtime version
     * @param clusters each cluster's snapshot, revision and hash
     */
    public DesiredState {
        clusters = List.copyOf(clusters);
    }
}
