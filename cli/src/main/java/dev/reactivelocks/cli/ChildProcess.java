package dev.reactivelocks.cli;

import dev.reactivelocks.internal.RunMarker;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * The command a subcommand runs: started with the tool's standard input, output and error (so its output
 * streams through unchanged), waited for, and killed with its descendants when the tool is stopped. When
 * the tool was started with its standard input closed ({@code <&-}), the command reads {@code /dev/null}.
 *
 * <p>The descendants are those the command's process tree holds when it is killed and, on Linux, every
 * process of the same user that carries the command's {@link RunMarker} variable
 * ({@code REACTIVE_LOCKS_RUN}) in its environment: that reaches a daemon that double-forked and called
 * {@code setsid}, which has left the tree. Not reached: such a daemon when it runs as another user or was
 * started with a scrubbed environment ({@code env -i}, {@code sudo}).
 */
final class ChildProcess {

    /** What "descendants" means in the help of the subcommands that run a command. */
    static final String DESCENDANTS_HELP = "Descendants: its process tree, plus (Linux) processes of this user"
            + " whose environment holds its REACTIVE_LOCKS_RUN marker, e.g. a double-forked setsid daemon; not one"
            + " running as another user or with a scrubbed environment (env -i, sudo).";

    /** How long a command may take to exit after {@code SIGTERM} before it is killed with {@code SIGKILL}. */
    static final Duration KILL_GRACE = Duration.ofSeconds(5);

    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final Process process;
    private final RunMarker marker;

    private ChildProcess(Process process, RunMarker marker) {
        this.process = process;
        this.marker = marker;
    }

    /**
     * Starts {@code command} with inherited I/O and the tool's environment plus {@code extraEnvironment}.
     *
     * @throws ReactiveLocksCli.CliFailure when it cannot start: with {@link ReactiveLocksCli#EXIT_NOT_FOUND}
     *     when the program was not found, {@link ReactiveLocksCli#EXIT_CANNOT_EXECUTE} when the system refused
     *     to run it, {@link ReactiveLocksCli#EXIT_FAILURE} for arguments it cannot take
     */
    static ChildProcess start(List<String> command, Map<String, String> extraEnvironment) {
        ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        if (standardInputWasClosed()) {
            builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        builder.environment().putAll(extraEnvironment);
        RunMarker marker = RunMarker.create();
        marker.addTo(builder.environment());
        try {
            return new ChildProcess(builder.start(), marker);
        } catch (IOException e) {
            // the JDK reports the errno of the failed exec as "error=N, ..."; ENOENT is "not found", as in a shell
            String message = String.valueOf(e.getMessage());
            int code = message.contains("error=2,") ? ReactiveLocksCli.EXIT_NOT_FOUND
                    : ReactiveLocksCli.EXIT_CANNOT_EXECUTE;
            throw new ReactiveLocksCli.CliFailure(code, "cannot run '" + command.get(0) + "': " + message);
        } catch (RuntimeException e) {
            throw new ReactiveLocksCli.CliFailure(ReactiveLocksCli.EXIT_FAILURE,
                    "cannot run '" + command.get(0) + "': " + e.getMessage());
        }
    }

    /**
     * Whether the tool was started with descriptor 0 closed (Linux only): the JVM then opened one of its own
     * files into it at start-up, the JDK's module image or a jar of the class path, and a command inheriting
     * it would read that file as its standard input.
     */
    static boolean standardInputWasClosed() {
        Path stdin = Path.of("/proc/self/fd/0");
        if (!Files.exists(stdin)) {
            return false;
        }
        List<Path> opened = new ArrayList<>();
        opened.add(Path.of(System.getProperty("java.home"), "lib", "modules"));
        for (String entry : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
            if (!entry.isEmpty()) {
                opened.add(Path.of(entry));
            }
        }
        for (Path file : opened) {
            try {
                if (Files.isSameFile(stdin, file)) {
                    return true;
                }
            } catch (IOException | RuntimeException e) {
                // not that file
            }
        }
        return false;
    }

    /** @return the command's exit code ({@code 128 + N} when killed by signal {@code N}) */
    int waitFor() {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return process.waitFor();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    long pid() {
        return process.pid();
    }

    /**
     * Sends {@code SIGTERM} to the command, then to all its descendants, waits up to {@code grace} for them
     * to exit, then sends {@code SIGKILL} to whatever still runs (the command first) and waits up to
     * {@code grace} again for the command. Signalling the command before its descendants makes a command
     * that waits for its children end by the signal, not by their exit.
     */
    void destroyTree(Duration grace) {
        List<ProcessHandle> tree = tree();
        for (ProcessHandle p : tree) {
            p.destroy();
        }
        long deadline = System.nanoTime() + grace.toNanos();
        for (ProcessHandle p : tree) {
            awaitExit(p, deadline);
        }
        List<ProcessHandle> survivors = tree();
        survivors.addAll(tree);
        boolean killed = false;
        for (ProcessHandle p : survivors) {
            if (running(p)) {
                p.destroyForcibly();
                killed = true;
            }
        }
        if (killed) {
            awaitExit(process.toHandle(), System.nanoTime() + grace.toNanos());
        }
    }

    /** The command, then its descendants, then the other carriers of its marker; a snapshot. */
    private List<ProcessHandle> tree() {
        List<ProcessHandle> tree = new ArrayList<>();
        tree.add(process.toHandle());
        process.descendants().forEach(tree::add);
        for (ProcessHandle escaped : marker.carriers()) {
            if (!tree.contains(escaped)) {
                tree.add(escaped);
            }
        }
        return tree;
    }

    private void awaitExit(ProcessHandle p, long deadlineNanos) {
        if (p.pid() == process.pid()) {
            long remaining = deadlineNanos - System.nanoTime();
            if (remaining <= 0) {
                return;
            }
            try {
                process.onExit().get(remaining, TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                // still alive: the caller kills it
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        // not our child: the JDK would poll it every 300ms and more; poll it faster, only until the deadline
        while (running(p) && deadlineNanos - System.nanoTime() > 0) {
            LockSupport.parkNanos(POLL_NANOS);
            if (Thread.currentThread().isInterrupted()) {
                return;
            }
        }
    }

    /**
     * Whether {@code p} still runs. A zombie (exited, not yet reaped by its new parent once the command
     * died) counts as ended, which {@link ProcessHandle#isAlive()} does not know; Linux only, elsewhere
     * zombies count as running until reaped.
     */
    static boolean running(ProcessHandle p) {
        if (!p.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(p.pid()), "stat"));
            int end = stat.lastIndexOf(')'); // "pid (comm) S ...", comm may contain ')'
            char state = end >= 0 && end + 2 < stat.length() ? stat.charAt(end + 2) : 'R';
            return state != 'Z' && state != 'X';
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            return p.isAlive();
        }
    }
}
