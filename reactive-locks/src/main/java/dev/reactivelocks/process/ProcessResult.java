package dev.reactivelocks.process;

import java.nio.charset.Charset;
import java.time.Duration;

/**
 * The outcome of a successful {@link ProcessExecutor#execute(ProcessSpec)}: exit code, complete stdout and
 * stderr, run time and process id of the attempt that succeeded. Output is kept exactly as written; the
 * text accessors decode it, replacing malformed input. Immutable and thread-safe.
 */
public final class ProcessResult {

    private final String command;
    private final int exitCode;
    private final byte[] stdout;
    private final byte[] stderr;
    private final Charset charset;
    private final Duration duration;
    private final long pid;

    ProcessResult(String command, int exitCode, byte[] stdout, byte[] stderr, Charset charset, Duration duration,
                  long pid) {
        this.command = command;
        this.exitCode = exitCode;
        this.stdout = stdout;
        this.stderr = stderr;
        this.charset = charset;
        this.duration = duration;
        this.pid = pid;
    }

    /** @return the command line, secrets masked */
    public String command() {
        return command;
    }

    /** @return the exit code; {@code 128 + n} when the process was ended by signal {@code n} */
    public int exitCode() {
        return exitCode;
    }

    /** @return a copy of everything the process wrote to stdout */
    public byte[] stdout() {
        return stdout.clone();
    }

    /** @return a copy of everything the process wrote to stderr */
    public byte[] stderr() {
        return stderr.clone();
    }

    /** @return stdout decoded with the spec's charset, malformed input replaced */
    public String stdoutText() {
        return new String(stdout, charset);
    }

    /** @return stderr decoded with the spec's charset, malformed input replaced */
    public String stderrText() {
        return new String(stderr, charset);
    }

    /** @return the time from spawn to exit of the successful attempt */
    public Duration duration() {
        return duration;
    }

    /** @return the operating-system process id of the successful attempt */
    public long pid() {
        return pid;
    }

    @Override
    public String toString() {
        return "ProcessResult[command=" + command + ", exitCode=" + exitCode + ", stdout=" + stdout.length
                + " bytes, stderr=" + stderr.length + " bytes, duration=" + duration + ", pid=" + pid + "]";
    }
}
