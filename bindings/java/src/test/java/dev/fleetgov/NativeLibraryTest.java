package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class NativeLibraryTest {
    @Test
    void loadsOnceFromTheJarResource() {
        NativeLibrary.load();
        String origin = NativeLibrary.origin();
        // The test JVM has no java.library.path entry for it, so it came from the classpath.
        assertTrue(Files.isRegularFile(Path.of(origin)), origin);
        NativeLibrary.load();
        assertEquals(origin, NativeLibrary.origin(), "a second load must not extract again");
    }

    @Test
    void classifierNamesThisPlatformAsTheBuildDid() {
        String classifier = NativeLibrary.classifier();
        assertTrue(classifier.matches("[a-z]+-[a-z0-9_]+"), classifier);
        String resource = "/native/" + classifier + "/" + System.mapLibraryName(NativeLibrary.NAME);
        assertTrue(NativeLibrary.class.getResource(resource) != null, resource + " is not on the classpath");
    }
}
