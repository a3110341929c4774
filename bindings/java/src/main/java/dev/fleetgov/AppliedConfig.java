package dev.fleetgov;

import java.util.Arrays;
import java.util.Objects;

/**
 * A configuration the agent verified ({@code blake3(bytes) == hash}) and the validator
 * installed, or, while a {@link Validator} runs, the candidate it is asked to install.
 * Immutable: {@link #bytes()} returns a copy.
 *
 * <pre>{@code
 * AppliedConfig live = agent.current();
 * if (live != null) {
 *     System.out.println(live.snapshotId() + " " + live.hash() + " since " + live.appliedAtMs());
 * }
 * }</pre>
 */
public final class AppliedConfig {
    private final String snapshotId;
    private final int revision;
    private final String hash;
    private final byte[] bytes;
    private final long appliedAtMs;

    /** Made by the native library only. */
    AppliedConfig(String snapshotId, int revision, String hash, byte[] bytes, long appliedAtMs) {
        this.snapshotId = snapshotId;
        this.revision = revision;
        this.hash = hash;
        this.bytes = bytes;
        this.appliedAtMs = appliedAtMs;
    }

    /**
     * The snapshot id, e.g. {@code eks-prod-us@r3}.
     *
     * @return the id
     */
    public String snapshotId() {
        return snapshotId;
    }

    /**
     * The revision named by the snapshot id.
     *
     * @return the revision, or 0 if the id is not of the form {@code <cluster>@r<revision>}
     */
    public int revision() {
        return revision;
    }

    /**
     * The hash the agent computed over the bytes: what the node reports.
     *
     * @return 64 lowercase hex characters
     */
    public String hash() {
        return hash;
    }

    /**
     * The configuration bytes.
     *
     * @return a copy
     */
    public byte[] bytes() {
        return bytes.clone();
    }

    /**
     * The configuration's size.
     *
     * @return bytes
     */
    public int size() {
        return bytes.length;
    }

    /**
     * When it was applied (or rolled back to).
     *
     * @return unix ms
     */
    public long appliedAtMs() {
        return appliedAtMs;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AppliedConfig a
                && snapshotId.equals(a.snapshotId)
                && hash.equals(a.hash)
                && appliedAtMs == a.appliedAtMs
                && Arrays.equals(bytes, a.bytes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(snapshotId, hash, appliedAtMs);
    }

    @Override
    public String toString() {
        return "AppliedConfig[" + snapshotId + ", " + hash + ", " + bytes.length + " bytes, at " + appliedAtMs + "]";
    }
}
