package dev.fleetgov;

import org.jspecify.annotations.Nullable;

/**
 * What a node ran at some moment, from the engine's journal of applied-state transitions.
 *
 * <pre>{@code
 * AppliedAt ran = engine.whatRan("gw-7", incidentStartMs);
 * System.out.println(ran == null ? "nothing reported yet" : ran.snapshot() + " since " + ran.sinceMs());
 * }</pre>
 *
 * @param node the node id
 * @param snapshot the snapshot it reported, or null (none, or not one of its cluster's)
 * @param hash the hash it computed over what it applied (64 hex), or null if it applied nothing
 * @param sinceMs since when (the heartbeat that reported the change, unix ms)
 */
public record AppliedAt(String node, @Nullable String snapshot, @Nullable String hash, long sinceMs) {}
