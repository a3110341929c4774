package dev.fleetgov;

import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Instant;

/**
 * Argument checks done in Java, where Java users expect {@link IllegalArgumentException}: a null
 * where a value is required, a negative time, a buffer of the wrong kind. What a string holds
 * (an id's characters and length, a blank actor, a version) is the engine's to judge, once for
 * every binding: a string it refuses is {@code FleetException(INVALID_INPUT)} naming the rule,
 * as Python's {@code InvalidInput}.
 */
final class Args {
    private Args() {}

    /** Rejects a null string; its content is checked by the engine. */
    static String text(String name, String value) {
        return present(name, value);
    }

    /**
     * Rejects a null id, and an id the engine would refuse ({@code FleetException(INVALID_INPUT)}
     * with the engine's own message): 1 to 128 bytes of ASCII letters, digits, {@code . _ - :}.
     */
    static String id(String name, String value) {
        FleetGov.check(FleetGov.RULE_ID, name, present(name, value));
        return value;
    }

    /**
     * Rejects a null actor, and one the engine would refuse: 1 to 256 UTF-8 bytes of visible text
     * without control characters.
     */
    static String actor(String name, String value) {
        FleetGov.check(FleetGov.RULE_ACTOR, name, present(name, value));
        return value;
    }

    /**
     * Rejects a null owner team, and one the engine would refuse: empty, or up to 256 UTF-8 bytes
     * of visible text without control characters.
     */
    static String ownerTeam(String name, String value) {
        FleetGov.check(FleetGov.RULE_OWNER_TEAM, name, present(name, value));
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

    /** An instant as unix milliseconds; rejects null, a time before 1970 and one past {@code long}. */
    static long millis(String name, Instant t) {
        try {
            return time(name, present(name, t).toEpochMilli());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(name + " is out of range: " + t, e);
        }
    }

    /** What {@code clock} reads now, as unix milliseconds; rejects null and a time before 1970. */
    static long millis(String name, Clock clock) {
        return time(name, present(name, clock).millis());
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
