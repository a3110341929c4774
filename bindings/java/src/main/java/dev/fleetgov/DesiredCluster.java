package dev.fleetgov;

import org.jspecify.annotations.Nullable;

/**
 * One cluster's desired state in a {@link DesiredState}.
 *
 * <pre>{@code
 * for (DesiredCluster c : engine.fleet("ws-1", now).desiredState().clusters()) {
 *     System.out.println(c.cluster() + " -> " + c.snapshot());
 * }
 * }</pre>
 *
 * @param cluster the cluster id
 * @param snapshot the desired snapshot id, or null
 * @param revision its revision (0: nothing published)
 * @param hash its artifact hash, or null
 */
public record DesiredCluster(String cluster, @Nullable String snapshot, int revision, @Nullable String hash) {}
