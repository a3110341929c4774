package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NativeLibraryTest {
    @Test
    void theUnitTestsLoadTheTestLibraryFromTheLibraryPathOnce() {
        NativeLibrary.load();
        // The build puts the library with the test-only panic path on java.library.path.
        assertEquals("java.library.path", NativeLibrary.origin());
        NativeLibrary.load();
        assertEquals("java.library.path", NativeLibrary.origin());
        assertEquals(NativeLibrary.jarVersion(), FleetGov.nativeVersion());
    }

    @Test
    void classifierNamesThisPlatformAsTheBuildDid() {
        String classifier = NativeLibrary.classifier();
        assertTrue(classifier.matches("[a-z]+-[a-z0-9_]+"), classifier);
        String resource = "/native/" + classifier + "/" + System.mapLibraryName(NativeLibrary.NAME);
        assertTrue(NativeLibrary.class.getResource(resource) != null, resource + " is not on the classpath");
    }

    @Test
    void aLibraryOfAnotherVersionIsRefusedNamingBothVersions() {
        assertDoesNotThrow(() -> NativeLibrary.checkVersion(NativeLibrary.jarVersion(), "the library"));
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLibrary.checkVersion("0.0.1", "the library libfleetgov_java.so on java.library.path"));
        assertEquals("the library libfleetgov_java.so on java.library.path is version 0.0.1, but this jar is version "
                + NativeLibrary.jarVersion() + ": remove the stale library or install version "
                + NativeLibrary.jarVersion(), e.getMessage());
    }

    @Test
    void aRelocatedPackageIsRefusedWithTheRuleToFollow() {
        assertDoesNotThrow(() -> NativeLibrary.refuseRelocation(NativeLibrary.class.getPackageName()));
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLibrary.refuseRelocation("com.acme.shaded.fleetgov"));
        assertTrue(e.getMessage().startsWith("fleetgov's classes were relocated to com.acme.shaded.fleetgov"),
                e.getMessage());
        assertTrue(e.getMessage().contains("relocation is not supported"), e.getMessage());
    }
}
