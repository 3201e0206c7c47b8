package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
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
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * The tiers as an application on the module path sees them: a small module that {@code requires
 * dev.reactivelocks} acquires and releases a lock through the API, decorates a service through the SPI, and
 * cannot reach {@code dev.reactivelocks.internal}, neither by compiling against it nor by reflection. The
 * application is compiled here with {@code javax.tools} and run as a child JVM with {@code --module-path}.
 */
class ModulePathTest {

    private static final String MODULE_INFO = "module app {\n    requires dev.reactivelocks;\n}\n";

    private static final String APP = """
            package example;

            import dev.reactivelocks.LockHandle;
            import dev.reactivelocks.LockService;
            import dev.reactivelocks.spi.ForwardingLockService;
            import java.time.Duration;

            public class App {
                static final class Decorated extends ForwardingLockService {
                    Decorated(LockService delegate) {
                        super(delegate);
                    }
                }

                public static void main(String[] args) throws Exception {
                    LockService locks = new Decorated(LockService.builder().maxPending(10).build());
                    LockHandle handle = locks.acquire("app-lock").block(Duration.ofSeconds(30));
                    System.out.println("acquired " + handle.name() + " " + handle.mode() + " token "
                            + handle.fencingToken());
                    handle.release().block(Duration.ofSeconds(30));
                    System.out.println("released, held " + handle.isHeld());
                    System.out.println("innermost " + ForwardingLockService.innermost(locks).getClass().getName());
                    try {
                        Class.forName("dev.reactivelocks.internal.DroppedHandles").getMethod("install").invoke(null);
                        System.out.println("internal reached");
                    } catch (IllegalAccessException e) {
                        System.out.println("internal: " + e.getMessage());
                    }
                    locks.dispose();
                }
            }
            """;

    private static final String INTERNAL_USER = """
            package example;

            public class InternalUser {
                Object reach() {
                    return dev.reactivelocks.internal.DroppedHandles.class;
                }
            }
            """;

    @TempDir
    Path work;

    @Test
    void anApplicationModuleUsesTheApiAndSpiButCannotReachInternal() throws Exception {
        Path classes = work.resolve("classes");
        List<String> errors = compile(classes, APP);
        assertThat(errors).isEmpty();

        Process app = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--module-path", modulePath(classes), "-m", "app/example.App")
                .redirectErrorStream(true)
                .start();
        String output = new String(app.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(app.waitFor(2, TimeUnit.MINUTES)).as("the application ended").isTrue();

        assertThat(app.exitValue()).as(output).isZero();
        assertThat(output.lines()).containsExactly(
                "acquired app-lock EXCLUSIVE token 1",
                "released, held false",
                "innermost dev.reactivelocks.DefaultInProcessLockService",
                "internal: class example.App (in module app) cannot access class "
                        + "dev.reactivelocks.internal.DroppedHandles (in module dev.reactivelocks) because module "
                        + "dev.reactivelocks does not export dev.reactivelocks.internal to module app");
    }

    @Test
    void compilingAgainstInternalFailsOnTheModulePath() throws Exception {
        List<String> errors = compile(work.resolve("classes"), INTERNAL_USER);
        assertThat(errors).containsExactly("package dev.reactivelocks.internal is not visible\n"
                + "  (package dev.reactivelocks.internal is declared in module dev.reactivelocks, which does not "
                + "export it to module app)");
    }

    /** Compiles module {@code app} with {@code source} as its one class; returns the error messages. */
    private List<String> compile(Path classes, String source) throws IOException, URISyntaxException {
        Path sources = work.resolve("src");
        Files.createDirectories(sources.resolve("example"));
        Files.writeString(sources.resolve("module-info.java"), MODULE_INFO);
        String className = source.contains("class App") ? "App" : "InternalUser";
        Files.writeString(sources.resolve("example").resolve(className + ".java"), source);
        Files.createDirectories(classes);

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT,
                StandardCharsets.UTF_8);
             Stream<Path> tree = Files.walk(sources)) {
            List<File> units = tree.filter(p -> p.toString().endsWith(".java")).map(Path::toFile).toList();
            // an empty class path: by default javac in this JVM would see the test class path, the library included
            List<String> options = new ArrayList<>(List.of("--release", "17", "-d", classes.toString(),
                    "--class-path", classes.toString(),
                    "--module-path", modulePath(null) + File.pathSeparator
                            + location(org.jspecify.annotations.Nullable.class)));
            StringWriter out = new StringWriter();
            javac.getTask(out, files, diagnostics, options, null, files.getJavaFileObjectsFromFiles(units)).call();
        }
        return diagnostics.getDiagnostics().stream()
                .filter(d -> d.getKind() == Diagnostic.Kind.ERROR)
                .map(d -> d.getMessage(Locale.ROOT))
                .collect(Collectors.toList());
    }

    /** The library as a module (its compiled classes and descriptor) and its two runtime dependencies. */
    private static String modulePath(Path application) throws URISyntaxException {
        List<String> path = new ArrayList<>(List.of(location(LockService.class), location(Mono.class),
                location(Publisher.class)));
        if (application != null) {
            path.add(0, application.toString());
        }
        return String.join(File.pathSeparator, path);
    }

    private static String location(Class<?> type) throws URISyntaxException {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
