package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/** Runs against the packaged jar: the library inside it is found, extracted once and works. */
class PackagedJarIT {
    @Test
    void theJarCarriesAndLoadsTheNativeLibrary() throws Exception {
        String codeSource = FleetEngine.class.getProtectionDomain().getCodeSource().getLocation().getPath();
        assertTrue(codeSource.endsWith(".jar"), "the API classes come from the jar: " + codeSource);
        String resource = "/native/" + NativeLibrary.classifier() + "/" + System.mapLibraryName(NativeLibrary.NAME);
        assertTrue(FleetEngine.class.getResource(resource).toString().startsWith("jar:"), resource);
        try (JarFile jar = new JarFile(codeSource)) {
            assertEquals("dev.fleetgov", jar.getManifest().getMainAttributes().getValue("Automatic-Module-Name"),
                    "a stable module name for module-path users");
        }

        try (FleetEngine engine = new FleetEngine()) {
            engine.upsertWorkspace(WorkspaceSpec.of("ws"));
            engine.upsertCluster(ClusterSpec.of("c", "ws", Environment.STAGING));
            Snapshot s = engine.publish("c", new byte[] {1, 2, 3}, "alice", 1_000);
            assertEquals(FleetGov.contentHash(new byte[] {1, 2, 3}), s.hash());
        }
        Path extracted = Path.of(NativeLibrary.origin());
        assertTrue(Files.isRegularFile(extracted), extracted.toString());
        assertNotEquals(Path.of(codeSource).getParent(), extracted.getParent(), "extracted out of the jar");
    }
}
