package dev.fleetgov;

import org.jspecify.annotations.Nullable;

/**
 * The last applied hash and runtime version a {@link FleetEngine}'s single heartbeat call parsed,
 * so that steady-state heartbeats (which repeat both, report after report) cross JNI as numbers
 * instead of strings: reading a string from native code costs two JNI calls and a copy.
 *
 * <p>Only a text that parses here exactly as the native side would parse it is remembered;
 * anything else reaches the native side as text, which parses it and reports the same error it
 * always did.
 */
final class LastParsed {
    /** A version text longer than this always crosses as text (the native side's limits apply). */
    private static final int MAX_VERSION_CHARS = 32;

    /**
     * What a heartbeat's applied hash crosses JNI as: its four little-endian words ({@code
     * asWords}, as {@link HeartbeatBatch#hashWords} gives them), or its text (null for no hash).
     */
    record Hash(@Nullable String text, boolean asWords, long w0, long w1, long w2, long w3) {
        /** No applied hash. */
        static final Hash NONE = new Hash(null, false, 0, 0, 0, 0);
    }

    /** A hash text and what it crosses as. */
    private record Parsed(String hex, Hash words) {}

    /** A runtime version text and its packed bits ({@link FleetGov#runtimeVersionBits}). */
    private record Version(String text, int bits) {}

    // Plain fields, read and written by any thread without a lock: each holds an immutable record
    // (final fields, so a reader sees a complete one), and one that another thread replaced in
    // the meantime is only a miss.
    private @Nullable Parsed hash;
    private @Nullable Version version;

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
        Parsed last = hash;
        if (last != null && (last.hex == hex || last.hex.equals(hex))) {
            return last.words;
        }
        long[] w;
        try {
            w = HeartbeatBatch.hashWords(hex);
        } catch (IllegalArgumentException notHex) {
            return new Hash(hex, false, 0, 0, 0, 0);
        }
        Hash words = new Hash(null, true, w[0], w[1], w[2], w[3]);
        hash = new Parsed(hex, words);
        return words;
    }

    /**
     * The packed bits of {@code text}, or 0 (which is no version) when it is long or not a
     * semantic version.
     *
     * @param text a runtime version as a heartbeat carries it
     * @return its bits, or 0 to send it as text
     */
    int versionBits(String text) {
        Version last = version;
        if (last != null && (last.text == text || last.text.equals(text))) {
            return last.bits;
        }
        if (text.length() > MAX_VERSION_CHARS) {
            return 0;
        }
        int bits;
        try {
            bits = FleetGov.runtimeVersionBits(text);
        } catch (FleetException notSemver) {
            return 0;
        }
        version = new Version(text, bits);
        return bits;
    }
}
