package dev.reactivelocks.testkit.servers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Stops a server process when this JVM ends, however it ends. A {@code sh} child reads its standard input, a
 * pipe from this JVM, until end of file: the JVM closes the pipe from a shutdown hook, and the kernel closes it
 * when the JVM is killed. It ignores {@code SIGHUP}, {@code SIGINT} and {@code SIGTERM}, which a terminal's hang-up
 * or Ctrl-C sends to the JVM's whole process group: PostgreSQL only reloads its configuration on {@code SIGHUP}
 * and Redis ignores it, so the watchdog must outlive them to stop the servers. The watchdog then signals the server, waits up to ten seconds for it to exit, kills
 * it, and removes its working directory. The JVM keeps the pipe in a static list, so the pipe is never closed
 * by garbage collection.
 */
final class Watchdog {

    private static final String SCRIPT = """
            trap '' HUP INT TERM
            while read -r _; do :; done
            kill -s "$2" "$1" 2>/dev/null
            i=0
            while kill -0 "$1" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
            kill -s KILL "$1" 2>/dev/null
            if [ -n "$3" ]; then rm -rf "$3"; fi
            """;
    private static final List<Watchdog> ALL = new ArrayList<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(Watchdog::releaseAll, "reactive-locks-test-servers-stop"));
    }

    private final Process process;

    private Watchdog(Process process) {
        this.process = process;
    }

    /**
     * Guards {@code pid}: when this JVM ends, or {@link #release()} is called, {@code signal} (a name such as
     * {@code TERM}) is sent to it, then {@code KILL} if it still runs after ten seconds; {@code directory} is then
     * removed.
     */
    static Watchdog guard(long pid, String signal, @Nullable Path directory) throws IOException {
        Process process = new ProcessBuilder("sh", "-c", SCRIPT, "reactive-locks-watchdog", Long.toString(pid), signal,
                directory == null ? "" : directory.toAbsolutePath().toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        Watchdog watchdog = new Watchdog(process);
        synchronized (ALL) {
            ALL.add(watchdog);
        }
        return watchdog;
    }

    /** Stops the guarded server now and waits (up to 15 seconds) until it is gone and its directory removed. */
    void release() {
        try {
            process.getOutputStream().close();
            process.waitFor(15, TimeUnit.SECONDS);
        } catch (IOException e) {
            process.destroy();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (ALL) {
            ALL.remove(this);
        }
    }

    private static void releaseAll() {
        List<Watchdog> copy;
        synchronized (ALL) {
            copy = new ArrayList<>(ALL);
        }
        for (Watchdog w : copy) {
            try {
                w.process.getOutputStream().close();
            } catch (IOException e) {
                // the watchdog is gone already
            }
        }
        for (Watchdog w : copy) {
            try {
                w.process.waitFor(15, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
