package dev.fleetgov;

/**
 * Run in a JVM of its own by {@code PackagedJarIT}: loads the native library and prints where
 * from, or why not.
 */
final class LoaderProbe {
    private LoaderProbe() {}

    public static void main(String[] args) {
        try {
            NativeLibrary.load();
            System.out.println("origin=" + NativeLibrary.origin());
        } catch (UnsatisfiedLinkError e) {
            System.out.println("refused=" + e.getMessage());
        }
    }
}
