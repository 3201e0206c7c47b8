package dev.reactivelocks.testkit.servers;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.engine.JupiterTestEngine;

/**
 * The {@code RedisClient} that {@link TestServers} gives the tests of a class is shut down once, after the
 * class's last {@code @AfterAll} method, with the build's Jupiter and with one older than 5.13. The client
 * was stored as an {@code AutoCloseable} only, which Jupiter closes from 5.13 on: with an older one (the test
 * kit's users choose their JUnit) the client and its Lettuce threads ran until the JVM ended.
 *
 * <p>Each run is a JVM of its own ({@link RedisClientCaseMain}), so that only its own Lettuce threads are
 * counted and the older Jupiter's jars ({@code target/old-jupiter}, copied by the build) replace the build's.
 */
class TestServersClientTest {

    @Test
    void theClientIsShutDownOnceAfterTheClassWithTheBuildsJupiter() throws Exception {
        String version = new JupiterTestEngine().getVersion().orElseThrow();
        assertThat(run(System.getProperty("java.class.path"))).containsExactly(
                "jupiter " + version,
                "tests: 2 succeeded, 0 failed",
                "ping in @AfterAll: PONG",
                "closes: 0 before the store was closed, 1 after",
                "clients: 1 of 3",
                "lettuce threads alive: 0");
    }

    @Test
    void theClientIsShutDownOnceAfterTheClassWithAJupiterOlderThan513() throws Exception {
        Path jars = Path.of("target", "old-jupiter");
        List<String> classPath = new ArrayList<>();
        try (Stream<Path> old = Files.list(jars)) {
            old.sorted().forEach(jar -> classPath.add(jar.toAbsolutePath().toString()));
        }
        assertThat(classPath).as("the jars in %s", jars).hasSize(5);
        Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !Path.of(entry).getFileName().toString().matches("junit-(jupiter|platform)-.*\\.jar"))
                .forEach(classPath::add);
        assertThat(run(String.join(File.pathSeparator, classPath))).containsExactly(
                "jupiter 5.12.2",
                "tests: 2 succeeded, 0 failed",
                "ping in @AfterAll: PONG",
                "closes: 0 before the store was closed, 1 after",
                "clients: 1 of 3",
                "lettuce threads alive: 0");
    }

    /** The lines {@link RedisClientCaseMain} prints in a JVM on {@code classPath}, with this JVM's -XX options. */
    private static List<String> run(String classPath) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(a -> a.startsWith("-XX:"))
                .forEach(command::add);   // BlockHound's, which blockhound-junit-platform installs there too
        command.addAll(List.of("-cp", classPath, RedisClientCaseMain.class.getName()));
        Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).as("the child JVM ends").isTrue();
        assertThat(child.exitValue()).as(output).isZero();
        return output.lines().collect(Collectors.toList());
    }
}
