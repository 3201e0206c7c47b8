package dev.reactivelocks.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/** Test helpers for processes: waiting for conditions with a deadline, and telling running from gone. */
final class Processes {

    private Processes() {
    }

    /** Polls {@code condition} every 10ms until it holds; fails after {@code timeout}. */
    static void await(BooleanSupplier condition, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("Timed out after " + timeout + " waiting for: " + what);
            }
            LockSupport.parkNanos(10_000_000L);
        }
    }

    /** Whether {@code pid} exists and is not a zombie (Linux {@code /proc}). */
    static boolean isRunning(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // pid (comm) STATE ...; comm may contain spaces and parentheses
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }
    }

    /** Whether process {@code pid} has {@code file} open (Linux {@code /proc/PID/fd}). */
    static boolean hasOpen(long pid, Path file) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            Path real = file.toRealPath();
            return fds.anyMatch(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (IOException e) {
                    return false; // closed meanwhile
                }
            });
        } catch (IOException e) {
            return false;
        }
    }

    /** Cleans up after a failed test: {@code SIGKILL} to those of {@code pids} still running. */
    static void kill(long... pids) {
        for (long pid : pids) {
            if (isRunning(pid)) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /** Whether this JVM ignores SIGINT (then so do the processes it starts, and the JVM keeps it ignored). */
    static boolean ignoresSigint() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("SigIgn:")) {
                    long mask = Long.parseUnsignedLong(line.substring("SigIgn:".length()).strip(), 16);
                    return (mask & (1L << (2 - 1))) != 0;
                }
            }
            return false;
        } catch (IOException | RuntimeException e) {
            return true;
        }
    }
}
