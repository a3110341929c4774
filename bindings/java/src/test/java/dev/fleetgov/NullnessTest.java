package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jspecify.annotations.NullMarked;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** Nullness is stated once, with JSpecify, and agrees with the Javadoc. */
class NullnessTest {
    private static final Path SOURCES = Path.of(System.getProperty("basedir", "."), "src/main/java/dev/fleetgov");
    /** A Javadoc block and the declaration after it. */
    private static final Pattern DOC_THEN_DECLARATION =
            Pattern.compile("/\\*\\*(.*?)\\*/\\s*((?:@\\w+(?:\\([^)]*\\))?\\s*)*)([^;{]*)", Pattern.DOTALL);

    @Test
    void thePackageIsNullMarkedAndNullableResultsAreMarked() throws Exception {
        assertTrue(FleetEngine.class.getPackage().isAnnotationPresent(NullMarked.class));
        for (Method m : List.of(
                FleetEngine.class.getMethod("heartbeat", long.class, Heartbeat.class),
                FleetEngine.class.getMethod("desired", String.class),
                FleetEngine.class.getMethod("whatRan", String.class, long.class),
                ConfigAgent.class.getMethod("current"),
                ConfigAgent.class.getMethod("lastSyncError"),
                EventStream.class.getMethod("poll", Duration.class),
                HeartbeatBatch.class.getMethod("directiveHash", int.class))) {
            assertTrue(m.getAnnotatedReturnType().isAnnotationPresent(Nullable.class), m + " may return null");
        }
        Method cluster = FleetEngine.class.getMethod("cluster", String.class, long.class);
        assertEquals(0, cluster.getAnnotatedReturnType().getAnnotations().length, "never null: not marked");
    }

    @Test
    void everyResultDocumentedAsMaybeNullIsMarkedNullable() throws IOException {
        List<String> unmarked = new ArrayList<>();
        try (Stream<Path> files = Files.list(SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Matcher m = DOC_THEN_DECLARATION.matcher(Files.readString(file));
                while (m.find()) {
                    boolean mayReturnNull = Pattern.compile("@return[^@]*\\bnull\\b").matcher(m.group(1)).find();
                    if (mayReturnNull && !m.group(3).contains("@Nullable")) {
                        unmarked.add(file.getFileName() + ": " + m.group(3).strip().lines().findFirst().orElse(""));
                    }
                }
            }
        }
        assertEquals(List.of(), unmarked, "documented to return null but not @Nullable");
    }
}
