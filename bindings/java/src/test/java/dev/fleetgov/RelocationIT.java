package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A jar whose {@code dev.fleetgov} was relocated by the shade plugin, as a user shading
 * fleetgov into their own jar would make it: its first use refuses, saying that relocation is
 * not supported, instead of failing later on a missing native method.
 */
class RelocationIT {
    @Test
    void aRelocatedCopyRefusesToLoadWithItsMessage() throws Exception {
        URL probe = Path.of(System.getProperty("relocation.probe")).toUri().toURL();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {probe}, ClassLoader.getPlatformClassLoader())) {
            UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                    () -> Class.forName("com.example.shaded.fleetgov.FleetGov", true, loader));
            assertTrue(e.getMessage().startsWith("fleetgov's classes were relocated to com.example.shaded.fleetgov, "
                    + "but its native library finds them by their names in dev.fleetgov: relocation is not supported"),
                    e.getMessage());
        }
    }
}
