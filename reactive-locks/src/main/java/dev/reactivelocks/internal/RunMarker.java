package dev.reactivelocks.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A variable put into the environment of a started command so that its processes can be found again
 * when it is killed, also those that left its process tree and group: a double fork re-parents a
 * grandchild to {@code init}, {@code setsid} gives it a session and group of its own, but it keeps the
 * environment it inherited (the "cookie" of Jenkins' process-tree killer).
 *
 * <p>{@link #carriers()} finds, on Linux, the processes whose initial environment
 * ({@code /proc/PID/environ}) holds the variable. It cannot see processes of other users (their environ is
 * not readable) nor processes that were started with a scrubbed environment ({@code env -i},
 * {@code sudo}'s {@code env_reset}) or that changed theirs and then called {@code exec}.
 */
public final class RunMarker {

    /** The name of the environment variable. */
    public static final String VARIABLE = "REACTIVE_LOCKS_RUN";

    private static final Path PROC = Path.of("/proc");

    private static final String PREFIX = VARIABLE + "=";

    private final String value;

    private RunMarker(String value) {
        this.value = value;
    }

    /** @return a marker with a random value; may read the system's entropy, so not on a Reactor thread */
    public static RunMarker create() {
        return new RunMarker(UUID.randomUUID().toString());
    }

    /** @return the value of the variable */
    public String value() {
        return value;
    }

    /**
     * Puts the variable into {@code environment}, the one a {@code ProcessBuilder} will start with. A marker
     * already there (this JVM runs under another marked run) is kept: the value becomes a comma-separated
     * list, so the outer run still finds the processes of this one.
     */
    public void addTo(Map<String, String> environment) {
        String outer = environment.get(VARIABLE);
        environment.put(VARIABLE, outer == null || outer.isEmpty() ? value : outer + "," + value);
    }

    /**
     * The running processes that carry this marker, found by reading {@code /proc/PID/environ} of every
     * process: blocking file-system calls, proportional to the number of processes. Empty where there is no
     * {@code /proc}.
     *
     * @return a snapshot; a listed process may end at any time
     */
    public List<ProcessHandle> carriers() {
        List<ProcessHandle> found = new ArrayList<>();
        long self = ProcessHandle.current().pid();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC,
                p -> p.getFileName().toString().chars().allMatch(Character::isDigit))) {
            for (Path dir : entries) {
                long pid = Long.parseLong(dir.getFileName().toString());
                if (pid != self && carries(dir.resolve("environ"))) {
                    ProcessHandle.of(pid).ifPresent(found::add);
                }
            }
        } catch (IOException | RuntimeException e) {
            // no /proc, or it cannot be listed: nothing found
        }
        return found;
    }

    private boolean carries(Path environ) {
        String text;
        try {
            text = new String(Files.readAllBytes(environ), StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return false; // gone, or another user's
        }
        for (String variable : text.split("\0")) {
            if (variable.startsWith(PREFIX)) {
                for (String token : variable.substring(PREFIX.length()).split(",")) {
                    if (token.equals(value)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
