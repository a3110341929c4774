package dev.fleetgov;

import org.jspecify.annotations.Nullable;

/**
 * Nodes of a cluster whose last heartbeat reported one sync-error code.
 *
 * <pre>{@code
 * RootCause top = engine.cluster("azure-dev-west", now).rootCauses().get(0);
 * System.out.println(top.code() + " on " + top.nodes() + " nodes, e.g. " + top.exampleNode());
 * }</pre>
 *
 * @param code the code
 * @param nodes how many nodes report it
 * @param exampleNode one node that reported it most recently, or null
 */
public record RootCause(SyncErrorCode code, long nodes, @Nullable String exampleNode) {}
