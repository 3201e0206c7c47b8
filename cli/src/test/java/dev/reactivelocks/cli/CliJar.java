package dev.reactivelocks.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the built {@code reactive-locks-cli.jar} as a child process of the test JVM, as a user would. The
 * jar's path comes from the system property {@code reactivelocks.cli.jar} (set by the failsafe
 * configuration of the module).
 */
final class CliJar {

    /** JVM options that shorten start-up; the tool runs short and needs no optimizing compiler. */
    static final List<String> JVM_OPTIONS = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto");

    private CliJar() {
    }

    static Path jar() {
        String jar = System.getProperty("reactivelocks.cli.jar");
        assertThat(jar).as("system property reactivelocks.cli.jar (run these tests with failsafe)").isNotNull();
        Path path = Path.of(jar);
        assertThat(path).isRegularFile();
        return path;
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The command line that runs the jar with {@code args}, for use inside other commands too. */
    static List<String> command(String... args) {
        List<String> command = new ArrayList<>();
        command.add(java());
        command.addAll(JVM_OPTIONS);
        command.add("-jar");
        command.add(jar().toString());
        command.addAll(List.of(args));
        return command;
    }

    /** Runs the jar to completion with stdout and stderr captured in files under {@code work}. */
    static Result run(Path work, Map<String, String> environment, String... args) throws Exception {
        Path stdout = Files.createTempFile(work, "stdout", ".txt");
        Path stderr = Files.createTempFile(work, "stderr", ".txt");
        ProcessBuilder builder = new ProcessBuilder(command(args))
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile());
        builder.environment().remove(ReactiveLocksCli.LOCK_DIR_ENV);
        builder.environment().remove(dev.reactivelocks.file.FileLockConfig.OSLO_LOCK_PATH_ENV);
        builder.environment().putAll(environment);
        Process process = builder.start();
        try {
            assertThat(process.waitFor(45, TimeUnit.SECONDS)).as("jar exited within 45s").isTrue();
        } finally {
            process.destroyForcibly();
        }
        return new Result(process.exitValue(), Files.readString(stdout), Files.readString(stderr));
    }

    static Result run(Path work, String... args) throws Exception {
        return run(work, Map.of(), args);
    }

    /** Starts the jar with a pipe for its stdout, for commands that report while they run. */
    static Running start(Path work, Map<String, String> environment, String... args) throws IOException {
        Path stderr = Files.createTempFile(work, "stderr", ".txt");
        ProcessBuilder builder = new ProcessBuilder(command(args)).redirectError(stderr.toFile());
        builder.environment().remove(ReactiveLocksCli.LOCK_DIR_ENV);
        builder.environment().remove(dev.reactivelocks.file.FileLockConfig.OSLO_LOCK_PATH_ENV);
        builder.environment().putAll(environment);
        return new Running(builder.start(), stderr);
    }

    static Running start(Path work, String... args) throws IOException {
        return start(work, Map.of(), args);
    }

    record Result(int exitCode, String stdout, String stderr) {
    }

    /** A jar process still running; its stdout is read line by line. */
    static final class Running implements AutoCloseable {

        private final Process process;
        private final BufferedReader stdout;
        private final Path stderr;

        Running(Process process, Path stderr) {
            this.process = process;
            this.stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.stderr = stderr;
        }

        Process process() {
            return process;
        }

        /** The next line the command printed; blocks until it is printed (the test's timeout bounds it). */
        String readLine() throws IOException {
            String line = stdout.readLine();
            assertThat(line).as("a line on stdout; stderr so far: %s", Files.readString(stderr)).isNotNull();
            return line;
        }

        int awaitExit(Duration timeout) throws Exception {
            assertThat(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
                    .as("jar exited within %s", timeout).isTrue();
            return process.exitValue();
        }

        String stderr() throws IOException {
            return Files.readString(stderr);
        }

        @Override
        public void close() throws IOException {
            process.destroyForcibly();
            stdout.close();
            process.getOutputStream().close();
        }
    }
}
