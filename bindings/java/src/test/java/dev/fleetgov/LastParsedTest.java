package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LastParsedTest {
    private static String hash(int i) {
        return FleetGov.contentHash(("config " + i).getBytes(StandardCharsets.UTF_8));
    }

    private static long[] words(LastParsed.Hash h) {
        return new long[] {h.w0(), h.w1(), h.w2(), h.w3()};
    }

    @Test
    void twoRevisionsInTurnAreBothRemembered() {
        LastParsed last = new LastParsed();
        String first = hash(1);
        String second = hash(2);
        LastParsed.Hash a = last.hash(first);
        LastParsed.Hash b = last.hash(second);
        for (int round = 0; round < 3; round++) {
            assertSame(a, last.hash(first), "round " + round);
            String equal = new String(second.toCharArray());
            assertSame(b, last.hash(equal), "an equal text, round " + round);
        }
        assertArrayEquals(HeartbeatBatch.hashWords(first), words(a));
        assertArrayEquals(HeartbeatBatch.hashWords(second), words(b));
        assertEquals(FleetGov.runtimeVersionBits("3.6.1"), last.versionBits("3.6.1"));
        assertEquals(FleetGov.runtimeVersionBits("3.6.2"), last.versionBits("3.6.2"));
        assertEquals(FleetGov.runtimeVersionBits("3.6.1"), last.versionBits("3.6.1"));
    }

    @Test
    void onlyTheLastFewAreRememberedAndBadTextCrossesAsText() {
        LastParsed last = new LastParsed();
        LastParsed.Hash oldest = last.hash(hash(0));
        for (int i = 1; i <= LastParsed.REMEMBERED; i++) {
            last.hash(hash(i));
        }
        LastParsed.Hash again = last.hash(hash(0));
        assertNotSame(oldest, again, "the oldest was replaced");
        assertEquals(oldest, again);
        for (int round = 0; round < 2; round++) {
            LastParsed.Hash bad = last.hash("not-a-hash");
            assertFalse(bad.asWords());
            assertEquals("not-a-hash", bad.text());
            assertEquals(0, last.versionBits("not a version"));
        }
        assertSame(LastParsed.Hash.NONE, last.hash(null));
    }
}
