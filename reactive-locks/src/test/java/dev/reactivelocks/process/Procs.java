package dev.reactivelocks.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/** Test helpers that look at processes through /proc. */
final class Procs {

    private Procs() {
    }

    /** @return the /proc/PID/stat fields after the command name: [0] state, [1] ppid, [2] pgrp, [3] session */
    static String[] stat(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.US_ASCII);
        return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    }

    /** @return {@code true} when the process no longer runs (gone, or a zombie waiting for its reaper) */
    static boolean isDead(long pid) {
        try {
            String state = stat(pid)[0];
            return "Z".equals(state) || "X".equals(state);
        } catch (NoSuchFileException e) {
            return true;
        } catch (IOException e) {
            if ("No such process".equals(e.getMessage())) {
                return true; // reaped between the open of its stat file and the read (ESRCH)
            }
            throw new IllegalStateException(e);
        }
    }

    /**
     * Waits until {@code pid} is dead: a signal is delivered asynchronously, so a killed process needs a
     * moment to disappear. Polls a condition; returns as soon as it holds.
     */
    static boolean awaitDead(long pid, Duration max) throws InterruptedException {
        long end = System.nanoTime() + max.toNanos();
        while (System.nanoTime() - end < 0) {
            if (isDead(pid)) {
                return true;
            }
            Thread.sleep(5);
        }
        return isDead(pid);
    }

    /** @return the kernel function the process sleeps in, e.g. {@code pipe_write} */
    static String wchan(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/wchan"), StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            return "";
        }
    }

    static boolean awaitWchan(long pid, String function, Duration max) throws InterruptedException {
        long end = System.nanoTime() + max.toNanos();
        while (System.nanoTime() - end < 0) {
            if (wchan(pid).contains(function)) {
                return true;
            }
            Thread.sleep(5);
        }
        return false;
    }

    /** @return how many bytes the process has written so far ({@code wchar} of /proc/PID/io) */
    static long bytesWritten(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/io"))) {
            if (line.startsWith("wchar:")) {
                return Long.parseLong(line.substring(6).trim());
            }
        }
        throw new IllegalStateException("no wchar in /proc/" + pid + "/io");
    }
}
