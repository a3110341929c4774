package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PanicTest {
    @Test
    void aNativePanicIsAFleetExceptionAndTheJvmLivesOn() {
        FleetException e = assertThrows(FleetException.class,
                () -> FleetGov.panicForTest("intentional panic from PanicTest (expected in the test log)"));
        assertEquals(FleetException.Code.PANIC, e.code());
        assertTrue(e.detail().contains("intentional panic from PanicTest"), e.detail());
        // The library still works after the panic.
        assertEquals(64, FleetGov.contentHash(new byte[] {1, 2, 3}).length());
        FleetException again = assertThrows(FleetException.class,
                () -> FleetGov.panicForTest("intentional panic from PanicTest, again"));
        assertEquals(FleetException.Code.PANIC, again.code());
    }

    @Test
    void aNullArgumentIsCheckedNativelyToo() {
        // panicForTest checks its argument in Rust before panicking: the native null check
        // becomes an IllegalArgumentException through the same error policy.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FleetGov.panicForTest(null));
        assertTrue(e.getMessage().contains("message"), e.getMessage());
    }
}
