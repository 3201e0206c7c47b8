package dev.reactivelocks.process;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A command failed: it exited with a code its spec does not accept, or it could not be started. The
 * counterpart of oslo.concurrency's {@code ProcessExecutionError}, with the same fields and message layout:
 *
 * <pre>
 * Unexpected error while running command.
 * Command: ls /missing
 * Exit code: 2
 * Stdout: ''
 * Stderr: "ls: cannot access '/missing': No such file or directory\n"
 * </pre>
 *
 * Stdout and stderr are decoded text with secrets masked; for {@link ProcessExecutor#stream(ProcessSpec)}
 * they hold the last 64 KiB of each stream. Serializable: it holds strings and numbers only.
 */
public class ProcessExecutionException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** oslo's default description. */
    static final String DEFAULT_DESCRIPTION = "Unexpected error while running command.";

    /** The command, secrets masked. */
    private final String command;
    /** The exit code, when the process exited. */
    private final @Nullable Integer exitCode;
    /** The collected standard output, secrets masked. */
    private final String stdout;
    /** The collected standard error, secrets masked. */
    private final String stderr;
    /** What went wrong. */
    private final String description;

    /**
     * @param command the command line, secrets masked
     * @param exitCode the exit code, or {@code null} when the process did not run
     * @param stdout the (partial) standard output, secrets masked
     * @param stderr the (partial) standard error, secrets masked
     * @param description what went wrong, or {@code null} for oslo's "Unexpected error while running command."
     * @param cause the cause, or {@code null}
     */
    public ProcessExecutionException(String command, @Nullable Integer exitCode, String stdout, String stderr,
                                     @Nullable String description, @Nullable Throwable cause) {
        super(format(command, exitCode, stdout, stderr, description), cause);
        this.command = Objects.requireNonNull(command, "command");
        this.exitCode = exitCode;
        this.stdout = Objects.requireNonNull(stdout, "stdout");
        this.stderr = Objects.requireNonNull(stderr, "stderr");
        this.description = description == null ? DEFAULT_DESCRIPTION : description;
    }

    private static String format(String command, @Nullable Integer exitCode, String stdout, String stderr,
                                 @Nullable String description) {
        return (description == null ? DEFAULT_DESCRIPTION : description)
                + "\nCommand: " + command
                + "\nExit code: " + (exitCode == null ? "-" : exitCode.toString())
                + "\nStdout: " + pythonRepr(stdout)
                + "\nStderr: " + pythonRepr(stderr);
    }

    /** Quotes like Python's {@code repr(str)}, which oslo's message uses. */
    static String pythonRepr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder(s.length() + 2).append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c == quote) {
                        b.append('\\').append(c);
                    } else if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\x%02x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.append(quote).toString();
    }

    /** @return the command line, secrets masked */
    public String command() {
        return command;
    }

    /** @return the exit code, or {@code null} when the process could not be started */
    public @Nullable Integer exitCode() {
        return exitCode;
    }

    /** @return the standard output, secrets masked */
    public String stdout() {
        return stdout;
    }

    /** @return the standard error, secrets masked */
    public String stderr() {
        return stderr;
    }

    /** @return what went wrong */
    public String description() {
        return description;
    }
}
