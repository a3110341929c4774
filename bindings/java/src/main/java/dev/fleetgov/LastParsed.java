package dev.fleetgov;

import org.jspecify.annotations.Nullable;

/**
 * The last few applied hashes and runtime versions a {@link FleetEngine}'s single heartbeat call
 * parsed, so that steady-state heartbeats (which repeat both, report after report) cross JNI as
 * numbers instead of strings: reading a string from native code costs two JNI calls and a copy.
 * A few of each, not one: in a fleet midway through a rollout consecutive calls carry either
 * revision's hash and either runtime's version.
 *
 * <p>Only a text that parses here exactly as the native side would parse it is sent as numbers;
 * anything else reaches the native side as text, which parses it and reports the same error it
 * always did (what a text parsed to is remembered either way, so a bad one is not parsed again).
 */
final class LastParsed {
    /** A version text longer than this always crosses as text (the native side's limits apply). */
    private static final int MAX_VERSION_CHARS = 32;
    /** How many texts of each kind are remembered. */
    static final int REMEMBERED = 4;

    /**
     * What a heartbeat's applied hash crosses JNI as: its four little-endian words ({@code
     * asWords}, as {@link HeartbeatBatch#hashWords} gives them), or its text (null for no hash).
     */
    record Hash(@Nullable String text, boolean asWords, long w0, long w1, long w2, long w3) {
        /** No applied hash. */
        static final Hash NONE = new Hash(null, false, 0, 0, 0, 0);
    }

    private final Recent<Hash> hashes = new Recent<>();
    private final Recent<Integer> versions = new Recent<>();

    /**
     * What {@code hex} crosses as: its words, or itself when it is not 64 hex characters.
     *
     * @param hex an applied hash as a heartbeat carries it, or null
     * @return what to send
     */
    Hash hash(@Nullable String hex) {
        if (hex == null) {
            return Hash.NONE;
        }
        Hash known = hashes.get(hex);
        if (known != null) {
            return known;
        }
        Hash parsed;
        try {
            long[] w = HeartbeatBatch.hashWords(hex);
            parsed = new Hash(null, true, w[0], w[1], w[2], w[3]);
        } catch (IllegalArgumentException notHex) {
            parsed = new Hash(hex, false, 0, 0, 0, 0);
        }
        hashes.put(hex, parsed);
        return parsed;
    }

    /**
     * The packed bits of {@code text}, or 0 (which is no version) when it is long or not a
     * semantic version.
     *
     * @param text a runtime version as a heartbeat carries it
     * @return its bits, or 0 to send it as text
     */
    int versionBits(String text) {
        Integer known = versions.get(text);
        if (known != null) {
            return known;
        }
        if (text.length() > MAX_VERSION_CHARS) {
            return 0;
        }
        int bits;
        try {
            bits = FleetGov.runtimeVersionBits(text);
        } catch (FleetException notSemver) {
            bits = 0;
        }
        versions.put(text, bits);
        return bits;
    }

    /**
     * The last {@value LastParsed#REMEMBERED} texts looked up and what each gave, found by a scan
     * (a text is compared by reference first: a heartbeat built once and sent again carries the
     * same string), the oldest replaced.
     *
     * <p>Read and written by any thread without a lock: each slot holds an immutable entry (final
     * fields, so a reader sees a complete one); a slot another thread replaced in the meantime,
     * or a replacement that lands in another slot than the oldest, is only a miss later.
     */
    private static final class Recent<V> {
        private record Entry<V>(String text, V value) {}

        @SuppressWarnings("unchecked")
        private final @Nullable Entry<V>[] entries = (Entry<V>[]) new Entry<?>[REMEMBERED];
        /** The slot the next text goes to. */
        private int next;

        @Nullable V get(String text) {
            for (Entry<V> e : entries) {
                if (e != null && (e.text == text || e.text.equals(text))) {
                    return e.value;
                }
            }
            return null;
        }

        void put(String text, V value) {
            int slot = next;
            entries[slot] = new Entry<>(text, value);
            next = (slot + 1) % REMEMBERED;
        }
    }
}
