package dev.fleetgov;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Loads the native library {@code fleetgov_java}, exactly once per class loader, and refuses one
 * that is not the version of this jar.
 *
 * <ol>
 *   <li>{@link System#loadLibrary(String)}: a library on {@code java.library.path} wins, so
 *       an operator can ship a library built for the host;
 *   <li>otherwise the copy inside the jar at {@code /native/<classifier>/<file>} (for example
 *       {@code /native/linux-x86_64/libfleetgov_java.so}) is extracted to one file per version
 *       and platform, {@code fleetgov-<user>/<version>-<classifier>/<file>} under
 *       {@code java.io.tmpdir}, and loaded from there. Later JVMs reuse that file when its bytes
 *       are the jar's; the directory is private to the user (mode 700 where the file system has
 *       POSIX permissions) and a directory another user could write is never used.
 * </ol>
 *
 * <p>Either way the library must report this jar's version: a stale library left on
 * {@code java.library.path} is refused with an {@link UnsatisfiedLinkError} that names it and
 * both versions, instead of failing later on a missing or changed native method.
 *
 * <p>The native library finds the API's classes by their names in the package
 * {@code dev.fleetgov}. Relocating the package (a shaded jar with a relocation rule for it) is
 * therefore not supported, and {@link #load()} says so; a shaded jar that keeps
 * {@code dev.fleetgov} where it is works.
 *
 * <p>Every class with native methods calls {@link #load()} in its static initializer, so
 * users never have to; calling it early surfaces a missing library at start-up.
 *
 * <pre>{@code
 * NativeLibrary.load();
 * System.out.println("native library from " + NativeLibrary.origin());
 * }</pre>
 */
public final class NativeLibrary {
    /** The library's base name, as in {@code System.mapLibraryName}. */
    public static final String NAME = "fleetgov_java";

    /** The package the native library binds to, built at run time so no relocation rewrites it. */
    private static final String BOUND_PACKAGE = String.join(".", "dev", "fleetgov");

    private static @Nullable String origin;
    private static @Nullable UnsatisfiedLinkError failure;

    private NativeLibrary() {}

    /**
     * Loads the library if this class loader has not yet; later calls return at once, or
     * throw the same error again if the first attempt failed.
     *
     * @throws UnsatisfiedLinkError when neither {@code java.library.path} nor the jar holds a
     *     library for this platform, when the library found is not this jar's version, or when
     *     the package was relocated
     */
    public static synchronized void load() {
        if (origin != null) {
            return;
        }
        if (failure != null) {
            throw failure;
        }
        try {
            origin = doLoad();
        } catch (UnsatisfiedLinkError e) {
            failure = e;
            throw e;
        }
    }

    /**
     * Where the library was loaded from: {@code "java.library.path"}, or the path of the
     * file it was extracted to.
     *
     * @return the origin, after loading the library if needed
     */
    public static synchronized String origin() {
        load();
        return java.util.Objects.requireNonNull(origin, "loaded");
    }

    /**
     * The version of this jar, which the native library must report.
     *
     * @return a semantic version such as {@code 0.1.0}
     */
    public static String jarVersion() {
        return JarVersion.VALUE;
    }

    /**
     * The platform classifier of this JVM, as used for the path inside the jar:
     * {@code <os>-<arch>} with os one of {@code linux, osx, windows} and arch one of
     * {@code x86_64, aarch_64} (the names of the os-maven-plugin).
     *
     * @return the classifier, for example {@code linux-x86_64}
     */
    public static String classifier() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osPart = os.startsWith("linux")
                ? "linux"
                : os.startsWith("mac") || os.startsWith("darwin") ? "osx" : os.startsWith("windows") ? "windows" : os;
        String archPart = switch (arch) {
            case "amd64", "x86_64", "x64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch_64";
            default -> arch;
        };
        return osPart + "-" + archPart;
    }

    private static String doLoad() {
        refuseRelocation(NativeLibrary.class.getPackageName());
        UnsatisfiedLinkError fromPath;
        try {
            System.loadLibrary(NAME);
            checkVersion(nativeVersion(), "the library " + System.mapLibraryName(NAME) + " on java.library.path ("
                    + System.getProperty("java.library.path") + ")");
            return "java.library.path";
        } catch (UnsatisfiedLinkError e) {
            if (e instanceof StaleLibraryError) {
                throw e;
            }
            fromPath = e;
        }
        String file = System.mapLibraryName(NAME);
        String resource = "/native/" + classifier() + "/" + file;
        byte[] bytes;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                UnsatisfiedLinkError e = new UnsatisfiedLinkError(
                        "no " + NAME + " on java.library.path and no " + resource + " in the jar");
                e.addSuppressed(fromPath);
                throw e;
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw linkError("cannot read " + resource + " from the jar", e);
        }
        Path extracted = extract(file, bytes);
        try {
            System.load(extracted.toString());
        } catch (UnsatisfiedLinkError e) {
            if (!String.valueOf(e.getMessage()).contains("another classloader")) {
                throw e;
            }
            // The per-version file is held by another class loader of this JVM: load a copy of
            // our own, deleted at exit.
            extracted = privateCopy(file, bytes);
            System.load(extracted.toString());
        }
        checkVersion(nativeVersion(), "the library extracted from the jar to " + extracted);
        return extracted.toString();
    }

    /** Refuses to go on when {@code dev.fleetgov} was relocated to {@code actual}. */
    static void refuseRelocation(String actual) {
        if (!BOUND_PACKAGE.equals(actual)) {
            throw new UnsatisfiedLinkError("fleetgov's classes were relocated to " + actual + ", but its native "
                    + "library finds them by their names in " + BOUND_PACKAGE + ": relocation is not supported. "
                    + "Keep " + BOUND_PACKAGE + " out of the relocation rules (the shaded jar may still carry it).");
        }
    }

    /** Refuses a loaded library that does not report this jar's version. */
    static void checkVersion(String found, String where) {
        if (!JarVersion.VALUE.equals(found)) {
            throw new StaleLibraryError(where + " is version " + found + ", but this jar is version "
                    + JarVersion.VALUE + ": remove the stale library or install version " + JarVersion.VALUE);
        }
    }

    /** The loaded native library's version; a library too old to say is reported as such. */
    static String nativeVersion() {
        try {
            return version0();
        } catch (UnsatisfiedLinkError e) {
            return "unknown (it has no version entry point)";
        }
    }

    /** The per-version file, written once and reused while its bytes are the jar's. */
    private static Path extract(String file, byte[] bytes) {
        try {
            String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
            Path base = privateDirectory(Path.of(System.getProperty("java.io.tmpdir"), "fleetgov-" + user));
            if (base == null) {
                return privateCopy(file, bytes);
            }
            Path dir = Files.createDirectories(base.resolve(JarVersion.VALUE + "-" + classifier()));
            Path target = dir.resolve(file);
            if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)
                    && Files.size(target) == bytes.length
                    && Arrays.equals(Files.readAllBytes(target), bytes)) {
                return target;
            }
            // Another JVM may be extracting too: write aside, then move into place atomically.
            Path partial = Files.createTempFile(dir, file, ".partial");
            try {
                Files.write(partial, bytes);
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(partial);
            }
            return target;
        } catch (IOException | UncheckedIOException e) {
            throw linkError("cannot extract " + file + " from the jar", e);
        }
    }

    /**
     * {@code dir}, created private to this user if missing; null when it exists but another
     * user owns it or could write to it.
     */
    private static @Nullable Path privateDirectory(Path dir) throws IOException {
        PosixFileAttributeView posix =
                Files.getFileAttributeView(dir.getParent(), PosixFileAttributeView.class);
        if (posix == null) {
            return Files.createDirectories(dir);
        }
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException e) {
            // Checked below.
        }
        PosixFileAttributes attributes =
                Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        Set<PosixFilePermission> permissions = attributes.permissions();
        boolean ours = attributes.isDirectory()
                && attributes.owner().getName().equals(System.getProperty("user.name"));
        boolean shared = permissions.contains(PosixFilePermission.GROUP_WRITE)
                || permissions.contains(PosixFilePermission.OTHERS_WRITE);
        return ours && !shared ? dir : null;
    }

    /** A copy of the library in a new temporary file, deleted at exit. */
    private static Path privateCopy(String file, byte[] bytes) {
        try {
            int dot = file.lastIndexOf('.');
            Path tmp = Files.createTempFile(file.substring(0, dot) + "-", file.substring(dot));
            tmp.toFile().deleteOnExit();
            Files.write(tmp, bytes);
            return tmp.toAbsolutePath();
        } catch (IOException e) {
            throw linkError("cannot extract " + file + " from the jar", e);
        }
    }

    private static UnsatisfiedLinkError linkError(String message, Exception cause) {
        UnsatisfiedLinkError error = new UnsatisfiedLinkError(message + ": " + cause);
        error.initCause(cause);
        return error;
    }

    private static native String version0();

    /** A library that is not this jar's version: never retried from the jar. */
    private static final class StaleLibraryError extends UnsatisfiedLinkError {
        private static final long serialVersionUID = 1L;

        StaleLibraryError(String message) {
            super(message);
        }
    }

    /** This jar's version, from the resource the build writes. */
    private static final class JarVersion {
        static final String VALUE = read();

        private static String read() {
            Properties p = new Properties();
            try (InputStream in = NativeLibrary.class.getResourceAsStream("fleetgov.properties")) {
                if (in != null) {
                    p.load(in);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return p.getProperty("version", "unknown");
        }
    }
}
