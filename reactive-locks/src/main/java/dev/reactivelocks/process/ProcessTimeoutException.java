package dev.reactivelocks.process;

import java.time.Duration;
import java.util.Objects;

/**
 * An attempt ran longer than its {@link ProcessSpec.Builder#timeout(Duration) timeout} (its child had not
 * exited, or descendants kept the child's output pipes open after its exit): its process group
 * was sent SIGTERM, then SIGKILL after the kill grace, and the child was reaped before this was signalled.
 * {@link #stdout()} and {@link #stderr()} hold the output read until then. Timeouts are never retried.
 */
public class ProcessTimeoutException extends ProcessExecutionException {

    private static final long serialVersionUID = 1L;

    /** The timeout that passed. */
    private final Duration timeout;

    /**
     * @param command the command line, secrets masked
     * @param exitCode the exit code of the killed child ({@code 128 + signal})
     * @param stdout the partial standard output, secrets masked
     * @param stderr the partial standard error, secrets masked
     * @param timeout the timeout that elapsed
     */
    public ProcessTimeoutException(String command, int exitCode, String stdout, String stderr, Duration timeout) {
        super(command, exitCode, stdout, stderr, "Command timed out after " + format(timeout)
                + "; its process group was killed.", null);
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    static String format(Duration d) {
        long millis = d.toMillis();
        return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
    }

    /** @return the timeout that elapsed */
    public Duration timeout() {
        return timeout;
    }
}
