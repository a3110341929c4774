package dev.fleetgov;

/**
 * A published configuration snapshot: what a cluster's authority points at.
 *
 * <pre>{@code
 * Snapshot s = engine.publish("eks-prod-us", config, "alice", now);
 * assert s.id().equals("eks-prod-us@r" + s.revision());
 * assert s.hash().equals(FleetGov.contentHash(config));
 * }</pre>
 *
 * @param id {@code <cluster>@r<revision>}, for example {@code eks-prod-us@r3}
 * @param cluster the cluster it was published to
 * @param revision monotonic per cluster, starting at 1
 * @param hash blake3 of the artifact bytes, 64 lowercase hex characters
 * @param author who published it
 * @param publishedAtMs when it was published (unix ms)
 * @param sizeBytes the artifact's size in bytes
 */
public record Snapshot(String id, String cluster, int revision, String hash, String author, long publishedAtMs, long sizeBytes) {}
