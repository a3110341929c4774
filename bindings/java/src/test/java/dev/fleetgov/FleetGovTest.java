package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FleetGovTest {
    /** blake3 of the empty input, from the blake3 test vectors. */
    private static final String EMPTY = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";

    @Test
    void contentHashIsBlake3Hex() {
        assertEquals(EMPTY, FleetGov.contentHash(new byte[0]));
        String h = FleetGov.contentHash("routes: []".getBytes(StandardCharsets.UTF_8));
        assertEquals(64, h.length());
        assertTrue(h.matches("[0-9a-f]{64}"));
        assertNotEquals(h, FleetGov.contentHash("routes: [a]".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void directHeapAndArrayAgreeAndPositionIsKept() {
        byte[] config = "xxroutes: [a, b]yy".getBytes(StandardCharsets.UTF_8);
        String expected = FleetGov.contentHash("routes: [a, b]".getBytes(StandardCharsets.UTF_8));

        ByteBuffer direct = ByteBuffer.allocateDirect(config.length).put(config);
        direct.position(2).limit(config.length - 2);
        assertEquals(expected, FleetGov.contentHash(direct));
        assertEquals(2, direct.position());

        ByteBuffer heap = ByteBuffer.wrap(config, 2, config.length - 4);
        assertEquals(expected, FleetGov.contentHash(heap));
        assertEquals(2, heap.position());

        assertEquals(EMPTY, FleetGov.contentHash(ByteBuffer.allocateDirect(0)));
    }

    @Test
    void nullIsIllegalArgument() {
        assertThrows(IllegalArgumentException.class, () -> FleetGov.contentHash((byte[]) null));
        assertThrows(IllegalArgumentException.class, () -> FleetGov.contentHash((ByteBuffer) null));
    }

    @Test
    void nativeVersionIsSemver() {
        assertTrue(FleetGov.nativeVersion().matches("\\d+\\.\\d+\\.\\d+.*"), FleetGov.nativeVersion());
    }
}
