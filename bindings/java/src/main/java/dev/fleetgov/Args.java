package dev.fleetgov;

import java.nio.ByteBuffer;

/** Argument checks done in Java, where Java users expect {@link IllegalArgumentException}. */
final class Args {
    private Args() {}

    /** Rejects a null or blank string. */
    static String text(String name, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " must not be null or blank");
        }
        return value;
    }

    /** Rejects a null reference. */
    static <T> T present(String name, T value) {
        if (value == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        return value;
    }

    /** Rejects a negative time. */
    static long time(String name, long ms) {
        if (ms < 0) {
            throw new IllegalArgumentException(name + " must not be negative, got " + ms);
        }
        return ms;
    }

    /** Rejects a buffer the native side cannot read in place. */
    static ByteBuffer direct(String name, ByteBuffer buffer) {
        present(name, buffer);
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException(name + " must be a direct ByteBuffer");
        }
        return buffer;
    }
}
