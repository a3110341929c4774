package dev.fleetgov;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every Java example in the API's Javadoc ({@code <pre>{@code ...}</pre>}) and in README.md
 * compiles against the API, as a user outside the package would write it.
 *
 * <p>Each example becomes the body of a method in a class of its own package; the names an
 * example uses without declaring them ({@code engine}, {@code now}, {@code agent}, ...) are the
 * fields and helpers of {@link #CONTEXT}, which an example may shadow with its own declarations.
 */
class DocExamplesTest {
    private static final Path BASE = Path.of(System.getProperty("basedir", "."));
    private static final Pattern JAVADOC = Pattern.compile("<pre>\\{@code\\n(.*?)\\n\\s*\\*\\s*}</pre>", Pattern.DOTALL);
    private static final Pattern MARKDOWN = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

    /** What examples may use without declaring it. */
    private static final String CONTEXT = """
            package examples;

            import dev.fleetgov.*;

            abstract class Context {
                interface Gateway {
                    void install(byte[] config);

                    void install(AppliedConfig candidate);
                }

                FleetEngine engine;
                ConfigAgent agent;
                Gateway gateway;
                Validator validator;
                long now;
                long incidentStartMs;
                long node;
                long[] nodes;
                int i;
                Heartbeat hb;
                Metrics metrics;
                Snapshot s;
                Snapshot snapshot;
                Directive d;
                FleetEvent event;
                NodeView view;
                HeartbeatBatch batch;
                OverrideRequest by;
                OverrideRequest adminBy;
                byte[] config;
                byte[] appliedBytes;
                byte[] seed;

                abstract byte[] fetch(String snapshotId);

                abstract void pull(int revision, String hash);

                abstract void reloadNow(Snapshot snapshot);
            }
            """;

    /** One example: where it is written and its code. */
    record Example(String origin, int line, String code) {}

    @Test
    void everyDocumentedExampleCompiles(@TempDir Path work) throws IOException, URISyntaxException {
        List<Example> examples = new ArrayList<>();
        try (Stream<Path> sources = Files.list(BASE.resolve("src/main/java/dev/fleetgov"))) {
            for (Path source : sources.sorted().collect(Collectors.toList())) {
                examples.addAll(extract(source, JAVADOC, true));
            }
        }
        int javadoc = examples.size();
        examples.addAll(extract(BASE.resolve("README.md"), MARKDOWN, false));
        assertTrue(javadoc >= 50, "found only " + javadoc + " Javadoc examples: is the pattern still right?");
        assertTrue(examples.size() - javadoc >= 2, "found only " + (examples.size() - javadoc) + " README examples");

        Path src = Files.createDirectories(work.resolve("src/examples"));
        List<Path> files = new ArrayList<>();
        files.add(Files.writeString(src.resolve("Context.java"), CONTEXT));
        for (int n = 0; n < examples.size(); n++) {
            files.add(Files.writeString(src.resolve("Example" + n + ".java"), compilationUnit(n, examples.get(n))));
        }

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        Path api = Path.of(FleetEngine.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        boolean ok;
        try (StandardJavaFileManager fileManager =
                javac.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
            List<String> options = List.of("--release", "17", "-proc:none", "-classpath", api.toString(),
                    "-d", Files.createDirectories(work.resolve("classes")).toString());
            ok = javac.getTask(null, fileManager, diagnostics, options, null, fileManager.getJavaFileObjectsFromPaths(files))
                    .call();
        }
        StringBuilder report = new StringBuilder();
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() == Diagnostic.Kind.ERROR) {
                report.append('\n').append(where(d, examples)).append(": ").append(d.getMessage(Locale.ROOT));
            }
        }
        assertTrue(ok && report.length() == 0, "documented examples that do not compile:" + report);
    }

    /** The examples in one file, with the line each starts on. */
    private static List<Example> extract(Path file, Pattern pattern, boolean javadoc) throws IOException {
        String text = Files.readString(file);
        List<Example> found = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            String code = m.group(1);
            if (javadoc) {
                code = code.lines().map(l -> l.replaceFirst("^\\s*\\* ?", "")).collect(Collectors.joining("\n"));
            }
            int line = (int) text.substring(0, m.start(1)).lines().count() + 1;
            found.add(new Example(BASE.relativize(file).toString(), line, code));
        }
        return found;
    }

    /** The example's own imports at the top, its other lines as the body of a method. */
    private static String compilationUnit(int n, Example e) {
        StringBuilder imports = new StringBuilder();
        StringBuilder body = new StringBuilder();
        for (String line : e.code().split("\n", -1)) {
            boolean isImport = line.startsWith("import ");
            imports.append(isImport ? line + " " : "");
            body.append(isImport ? "" : line).append('\n');
        }
        // One line per line of the example, so an error's line maps back to the document.
        return "package examples; import dev.fleetgov.*; import java.nio.file.*; import java.util.*;"
                + " import static java.nio.charset.StandardCharsets.UTF_8; " + imports
                + "abstract class Example" + n + " extends Context { void run() throws Exception {\n"
                + body + "}}\n";
    }

    /** Where a compiler error is in the documents. */
    private static String where(Diagnostic<? extends JavaFileObject> d, List<Example> examples) {
        String name = d.getSource() == null ? "" : Path.of(d.getSource().toUri()).getFileName().toString();
        if (!name.matches("Example\\d+\\.java")) {
            return name;
        }
        Example e = examples.get(Integer.parseInt(name.replaceAll("\\D", "")));
        return e.origin() + ":" + (e.line() + d.getLineNumber() - 2);
    }
}
