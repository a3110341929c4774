package dev.fleetgov;

import org.jspecify.annotations.Nullable;

/**
 * One change of what a node ran, from the engine's journal of applied-state transitions
 * ({@link FleetEngine#history}).
 *
 * <pre>{@code
 * for (AppliedChange c : engine.history("gw-7", incidentStartMs, now)) {
 *     System.out.println(c.atMs() + " " + c.snapshot() + (c.verified() ? "" : " (unverified hash)"));
 * }
 * }</pre>
 *
 * @param atMs when (unix ms): the time the heartbeat that reported it counted at
 * @param snapshot the snapshot it reported from then on, or null (none, or not one of its
 *     cluster's)
 * @param hash the hash it computed over what it applied (64 hex), or null if it applied nothing
 * @param verified whether that hash is its snapshot's own
 */
public record AppliedChange(long atMs, @Nullable String snapshot, @Nullable String hash, boolean verified) {}
