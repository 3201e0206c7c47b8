package dev.reactivelocks.file;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A child process started from the test thread, with its standard output read line by line by a daemon
 * thread, so that tests can wait for a line with a deadline. Closing destroys it forcibly if still alive.
 */
final class ChildProcess implements AutoCloseable {

    private static final String EOF = "\u0000EOF";

    private final Process process;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final StringBuffer stderr = new StringBuffer();
    private final Writer stdin;

    private ChildProcess(List<String> command) throws IOException {
        process = new ProcessBuilder(command).start();
        stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        pump(new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)), true);
        pump(new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8)), false);
    }

    /** Starts {@code java -cp <this JVM's class path> mainClass args}. */
    static ChildProcess java(Class<?> mainClass, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xshare:auto");
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass.getName());
        command.addAll(List.of(args));
        return new ChildProcess(command);
    }

    static ChildProcess start(String... command) throws IOException {
        return new ChildProcess(List.of(command));
    }

    /** Starts the child process of {@code index}. */
    @FunctionalInterface
    interface Starter {
        ChildProcess start(int index) throws IOException;
    }

    /**
     * Starts {@code count} children that each print "READY", wait for "GO", work, print "DONE" and exit 0
     * (see {@link dev.reactivelocks.testkit.contract.FileLockChildMain}); lets them go together, runs {@code meanwhile} on this thread while they
     * work, then expects each one's "DONE" and exit code 0. Destroys any child still running at the end.
     */
    static void together(int count, Starter starter, Callable<?> meanwhile) throws Exception {
        List<ChildProcess> children = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                children.add(starter.start(i));
            }
            for (ChildProcess c : children) {
                assertReply(c, "READY", Duration.ofSeconds(20));
            }
            for (ChildProcess c : children) {
                c.send("GO");
            }
            meanwhile.call();
            for (ChildProcess c : children) {
                assertReply(c, "DONE", Duration.ofSeconds(60));
                int exit = c.waitFor(Duration.ofSeconds(20));
                if (exit != 0) {
                    throw new AssertionError("child exit code " + exit + "; stderr: " + c.stderr());
                }
            }
        } finally {
            for (ChildProcess c : children) {
                c.close();
            }
        }
    }

    private static void assertReply(ChildProcess c, String expected, Duration timeout) throws InterruptedException {
        String line = c.nextLine(timeout);
        if (!expected.equals(line)) {
            throw new AssertionError("expected '" + expected + "' from the child, got '" + line + "'; stderr: "
                    + c.stderr());
        }
    }

    private void pump(BufferedReader reader, boolean out) {
        Thread t = new Thread(() -> {
            try (reader) {
                String line;
                while ((line = reader.readLine()) != null) {
                    if (out) {
                        lines.add(line);
                    } else {
                        stderr.append(line).append('\n');
                    }
                }
            } catch (IOException ignored) {
                // process destroyed
            } finally {
                if (out) {
                    lines.add(EOF);
                }
            }
        }, "child-" + (out ? "stdout" : "stderr"));
        t.setDaemon(true);
        t.start();
    }

    /** The next line of standard output, or an AssertionError after {@code timeout} or at end of output. */
    String nextLine(Duration timeout) throws InterruptedException {
        String line = lines.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (line == null) {
            throw new AssertionError("no output within " + timeout + "; stderr: " + stderr);
        }
        if (line.equals(EOF)) {
            lines.add(EOF);
            throw new AssertionError("output ended; exit " + (process.isAlive() ? "?" : process.exitValue())
                    + "; stderr: " + stderr);
        }
        return line;
    }

    /** Whether a line is available now (without waiting), returning {@code null} if not. */
    String lineNow() {
        String line = lines.peek();
        return line == null || line.equals(EOF) ? null : lines.poll();
    }

    void send(String line) throws IOException {
        stdin.write(line + "\n");
        stdin.flush();
    }

    void closeInput() throws IOException {
        stdin.close();
    }

    int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            throw new AssertionError("process still running after " + timeout + "; stderr: " + stderr);
        }
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    void kill() {
        process.destroyForcibly();
    }

    String stderr() {
        return stderr.toString();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
