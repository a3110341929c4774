package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.InputStream;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs against the packaged jar: the library inside it is found, extracted once and works. */
class PackagedJarIT {
    private static final String LIBRARY = System.mapLibraryName(NativeLibrary.NAME);

    @Test
    void theJarCarriesAndLoadsTheNativeLibrary() throws Exception {
        String codeSource = jar();
        String resource = "/native/" + NativeLibrary.classifier() + "/" + LIBRARY;
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
        assertEquals(NativeLibrary.jarVersion() + "-" + NativeLibrary.classifier(),
                extracted.getParent().getFileName().toString(), "one file per version and platform");
    }

    @Test
    void theReleasedLibraryIsStrippedAndHasNoTestOnlyEntryPoint() throws Exception {
        NativeLibrary.load();
        List<String> sections = elfSections(Files.readAllBytes(Path.of(NativeLibrary.origin())));
        assertTrue(sections.contains(".dynsym"), "the exported symbols stay: " + sections);
        assertFalse(sections.contains(".symtab"), "the jar's library still has a symbol table: " + sections);
        assertFalse(sections.stream().anyMatch(s -> s.startsWith(".debug")), "debug sections: " + sections);
        assertThrows(UnsatisfiedLinkError.class, () -> FleetGov.panicForTest("must not exist"));
    }

    @Test
    void theJarCarriesAStrippedLinuxAarch64LibraryOrTheBuildSaidWhyNot() throws Exception {
        URL aarch64 = FleetEngine.class.getResource("/native/linux-aarch_64/" + LIBRARY);
        if (aarch64 == null) {
            Path skipped = Path.of(System.getProperty("native.crossSkipped", "none"));
            assertTrue(Boolean.getBoolean("native.skipCross") || Files.isRegularFile(skipped),
                    "no linux-aarch64 library in the jar and no loud skip saying why");
            return;
        }
        byte[] elf;
        try (InputStream in = aarch64.openStream()) {
            elf = in.readAllBytes();
        }
        assertEquals(183, ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN).getShort(0x12), "e_machine EM_AARCH64");
        List<String> sections = elfSections(elf);
        assertTrue(sections.contains(".dynsym"), sections.toString());
        assertFalse(sections.contains(".symtab"), "stripped: " + sections);
        assertFalse(sections.stream().anyMatch(x -> x.startsWith(".debug")), "stripped: " + sections);
    }

    @Test
    void anotherJvmReusesTheExtractedFile() throws Exception {
        NativeLibrary.load();
        Path extracted = Path.of(NativeLibrary.origin());
        Object key = Files.readAttributes(extracted, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        String out = probe(List.of());
        assertEquals("origin=" + extracted, out);
        Object after = Files.readAttributes(extracted, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        assertEquals(key, after, "the second JVM loaded the same file, not a new copy");
    }

    @Test
    void aStaleLibraryOnTheLibraryPathIsRefusedByName(@TempDir Path dir) throws Exception {
        // Any loadable library that is not this version's fleetgov stands in for a stale one:
        // here the JDK's own signal-chaining library, which has no version entry point.
        Path standIn = Path.of(System.getProperty("java.home"), "lib", System.mapLibraryName("jsig"));
        Files.copy(standIn, dir.resolve(LIBRARY));
        String out = probe(List.of("-Djava.library.path=" + dir));
        assertEquals("refused=the library " + LIBRARY + " on java.library.path (" + dir + ") is version unknown "
                + "(it has no version entry point), but this jar is version " + NativeLibrary.jarVersion()
                + ": remove the stale library or install version " + NativeLibrary.jarVersion(), out);
    }

    /** The section names of a 64-bit little-endian ELF file. */
    private static List<String> elfSections(byte[] elf) {
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x7f454c46, ByteBuffer.wrap(elf).getInt(0), "an ELF file");
        int shoff = (int) b.getLong(0x28);
        int shentsize = Short.toUnsignedInt(b.getShort(0x3A));
        int shnum = Short.toUnsignedInt(b.getShort(0x3C));
        int names = (int) b.getLong(shoff + Short.toUnsignedInt(b.getShort(0x3E)) * shentsize + 0x18);
        List<String> sections = new ArrayList<>();
        for (int i = 0; i < shnum; i++) {
            int start = names + b.getInt(shoff + i * shentsize);
            int end = start;
            while (elf[end] != 0) {
                end++;
            }
            sections.add(new String(elf, start, end - start, StandardCharsets.US_ASCII));
        }
        return sections;
    }

    /** Runs {@link LoaderProbe} in a new JVM with the jar and returns what it printed. */
    private static String probe(List<String> jvmArgs) throws Exception {
        String testClasses = Path.of(LoaderProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", jar() + File.pathSeparator + testClasses, LoaderProbe.class.getName()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    private static String jar() {
        String codeSource = FleetEngine.class.getProtectionDomain().getCodeSource().getLocation().getPath();
        assertTrue(codeSource.endsWith(".jar"), "the API classes come from the jar: " + codeSource);
        return codeSource;
    }
}
