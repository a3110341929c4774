package dev.fleetgov;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the native library {@code fleetgov_java}, exactly once per class loader.
 *
 * <ol>
 *   <li>{@link System#loadLibrary(String)}: a library on {@code java.library.path} wins, so
 *       an operator can ship a library built for the host;
 *   <li>otherwise the copy inside the jar at {@code /native/<classifier>/<file>} (for example
 *       {@code /native/linux-x86_64/libfleetgov_java.so}) is extracted to a temporary file,
 *       deleted at exit, and loaded from there.
 * </ol>
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

    private static String origin;
    private static UnsatisfiedLinkError failure;

    private NativeLibrary() {}

    /**
     * Loads the library if this class loader has not yet; later calls return at once, or
     * throw the same error again if the first attempt failed.
     *
     * @throws UnsatisfiedLinkError when neither {@code java.library.path} nor the jar holds a
     *     library for this platform
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
        return origin;
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
        UnsatisfiedLinkError fromPath;
        try {
            System.loadLibrary(NAME);
            return "java.library.path";
        } catch (UnsatisfiedLinkError e) {
            fromPath = e;
        }
        String file = System.mapLibraryName(NAME);
        String resource = "/native/" + classifier() + "/" + file;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                UnsatisfiedLinkError e = new UnsatisfiedLinkError(
                        "no " + NAME + " on java.library.path and no " + resource + " in the jar");
                e.addSuppressed(fromPath);
                throw e;
            }
            int dot = file.lastIndexOf('.');
            Path tmp = Files.createTempFile(file.substring(0, dot) + "-", file.substring(dot));
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            System.load(tmp.toAbsolutePath().toString());
            return tmp.toAbsolutePath().toString();
        } catch (IOException e) {
            UnsatisfiedLinkError error = new UnsatisfiedLinkError("cannot extract " + resource + ": " + e);
            error.initCause(e);
            throw error;
        }
    }
}
