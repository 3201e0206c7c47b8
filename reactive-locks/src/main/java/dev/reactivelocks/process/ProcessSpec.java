package dev.reactivelocks.process;

import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.ObjIntConsumer;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;

/**
 * An immutable description of one command to run: argument vector, environment, stdin, exit-code policy,
 * timeout, retries and oslo.concurrency-style options. Build one with {@link #command(String...)}:
 *
 * <pre>{@code
 * ProcessSpec spec = ProcessSpec.command("rsync", "-a", src, dst)
 *         .workingDirectory(dir)
 *         .environment(Map.of("LC_ALL", "C"))
 *         .checkExitCode(0, 24)
 *         .timeout(Duration.ofMinutes(2))
 *         .attempts(3)
 *         .build();
 * }</pre>
 *
 * <p>The argument vector is passed to the operating system as is, never re-split or interpreted by a shell,
 * unless {@link Builder#shell()} is set. A spec can be run any number of times, concurrently.
 */
public final class ProcessSpec {

    /** The default of {@link Builder#maxOutput(long)}: 64 MiB. */
    public static final long DEFAULT_MAX_OUTPUT = 64L << 20;

    /** Where stdin comes from. */
    enum StdinKind { NONE, BYTES, PUBLISHER }

    private final List<String> command;
    private final @Nullable Path workingDirectory;
    private final Map<String, String> environment;
    private final boolean replaceEnvironment;
    private final StdinKind stdinKind;
    private final byte @Nullable [] stdinBytes;
    private final @Nullable Publisher<ByteBuffer> stdinPublisher;
    private final @Nullable Set<Integer> exitCodes;
    private final @Nullable Duration timeout;
    private final Duration killGrace;
    private final int attempts;
    private final Duration retryDelayMin;
    private final Duration retryDelayMax;
    private final boolean shell;
    private final @Nullable List<String> rootHelper;
    private final ProcessLimits limits;
    private final SecretMasker masker;
    private final @Nullable Consumer<? super ProcessHandle> onStart;
    private final @Nullable ObjIntConsumer<? super ProcessHandle> onExit;
    private final OutputMode outputMode;
    private final int maxLineLength;
    private final long maxOutput;
    private final Charset charset;

    private ProcessSpec(Builder b) {
        this.command = List.copyOf(b.command);
        this.workingDirectory = b.workingDirectory;
        this.environment = Collections.unmodifiableMap(new LinkedHashMap<>(b.environment));
        this.replaceEnvironment = b.replaceEnvironment;
        this.stdinPublisher = b.stdinPublisher;
        this.stdinBytes = b.stdinText != null ? b.stdinText.getBytes(b.charset)
                : b.stdinBytes != null ? b.stdinBytes.clone() : null;
        this.stdinKind = stdinPublisher != null ? StdinKind.PUBLISHER
                : stdinBytes != null ? StdinKind.BYTES : StdinKind.NONE;
        this.exitCodes = b.exitCodes == null ? null : Collections.unmodifiableSet(new LinkedHashSet<>(b.exitCodes));
        this.timeout = b.timeout;
        this.killGrace = b.killGrace;
        this.attempts = b.attempts;
        this.retryDelayMin = b.retryDelayMin;
        this.retryDelayMax = b.retryDelayMax;
        this.shell = b.shell;
        this.rootHelper = b.rootHelper;
        this.limits = b.limits;
        this.masker = b.masker.withSecretsOf(command);
        this.onStart = b.onStart;
        this.onExit = b.onExit;
        this.outputMode = b.outputMode;
        this.maxLineLength = b.maxLineLength;
        this.maxOutput = b.maxOutput;
        this.charset = b.charset;
    }

    /**
     * Starts a spec for the argument vector {@code argv}: {@code argv[0]} is the program, found on the
     * {@code PATH} of this JVM unless it contains a slash.
     *
     * @param argv the program and its arguments, at least one, none {@code null} and none containing NUL
     *     (which no program can receive)
     * @return a builder with the defaults documented on its setters
     * @throws IllegalArgumentException if {@code argv} is empty or an element contains NUL
     */
    public static Builder command(String... argv) {
        return command(Arrays.asList(Objects.requireNonNull(argv, "argv")));
    }

    /**
     * @param argv the program and its arguments, at least one, none {@code null} and none containing NUL
     * @return a builder with the defaults documented on its setters
     * @throws IllegalArgumentException if {@code argv} is empty or an element contains NUL
     * @see #command(String...)
     */
    public static Builder command(List<String> argv) {
        return new Builder(argv);
    }

    /** @return a builder initialised with this spec's settings */
    public Builder toBuilder() {
        Builder b = new Builder(command);
        b.workingDirectory = workingDirectory;
        b.environment.putAll(environment);
        b.replaceEnvironment = replaceEnvironment;
        b.stdinBytes = stdinBytes;
        b.stdinPublisher = stdinPublisher;
        b.exitCodes = exitCodes;
        b.timeout = timeout;
        b.killGrace = killGrace;
        b.attempts = attempts;
        b.retryDelayMin = retryDelayMin;
        b.retryDelayMax = retryDelayMax;
        b.shell = shell;
        b.rootHelper = rootHelper;
        b.limits = limits;
        b.masker = masker;
        b.onStart = onStart;
        b.onExit = onExit;
        b.outputMode = outputMode;
        b.maxLineLength = maxLineLength;
        b.maxOutput = maxOutput;
        b.charset = charset;
        return b;
    }

    /** @return the argument vector as given, before shell, root helper and limit wrappers */
    public List<String> argv() {
        return command;
    }

    /**
     * @return the command as a display string with secrets masked ({@link SecretMasker#maskCommand(List)}),
     *     as used in {@link #toString()}, logs and exceptions
     */
    public String displayCommand() {
        return masker.maskCommand(command);
    }

    /** @return the working directory, or {@code null} for the JVM's */
    public @Nullable Path workingDirectory() {
        return workingDirectory;
    }

    /** @return the environment overrides, or the whole environment when {@link #replacesEnvironment()} */
    public Map<String, String> environment() {
        return environment;
    }

    /** @return {@code true} when {@link #environment()} replaces the inherited environment */
    public boolean replacesEnvironment() {
        return replaceEnvironment;
    }

    /** @return the exit codes that count as success; empty when any exit code does */
    public Set<Integer> exitCodes() {
        return exitCodes == null ? Set.of() : exitCodes;
    }

    /** @return {@code true} when the exit code is not checked */
    public boolean acceptsAnyExitCode() {
        return exitCodes == null;
    }

    /** @return the timeout per attempt, or {@code null} for none */
    public @Nullable Duration timeout() {
        return timeout;
    }

    /** @return how long to wait after SIGTERM before SIGKILL */
    public Duration killGrace() {
        return killGrace;
    }

    /** @return how many times the command is run at most */
    public int attempts() {
        return attempts;
    }

    /** @return the output mode of {@link ProcessExecutor#stream(ProcessSpec)} */
    public OutputMode outputMode() {
        return outputMode;
    }

    /** @return the most bytes of stdout and stderr together that {@link ProcessExecutor#execute(ProcessSpec)} collects */
    public long maxOutput() {
        return maxOutput;
    }

    /** @return the charset output is decoded with and string stdin is encoded with */
    public Charset charset() {
        return charset;
    }

    /** @return the limits applied with {@code prlimit} */
    public ProcessLimits limits() {
        return limits;
    }

    /**
     * @return the masker for commands, logs and exceptions: the one given to the builder, also masking the
     *     values that follow secret options in {@link #argv()} wherever they appear
     *     ({@link SecretMasker#maskCommand(List)})
     */
    public SecretMasker secretMasker() {
        return masker;
    }

    boolean shell() {
        return shell;
    }

    @Nullable List<String> rootHelper() {
        return rootHelper;
    }

    StdinKind stdinKind() {
        return stdinKind;
    }

    byte @Nullable [] stdinBytes() {
        return stdinBytes;
    }

    @Nullable Publisher<ByteBuffer> stdinPublisher() {
        return stdinPublisher;
    }

    Duration retryDelayMin() {
        return retryDelayMin;
    }

    Duration retryDelayMax() {
        return retryDelayMax;
    }

    @Nullable Consumer<? super ProcessHandle> onStart() {
        return onStart;
    }

    @Nullable ObjIntConsumer<? super ProcessHandle> onExit() {
        return onExit;
    }

    int maxLineLength() {
        return maxLineLength;
    }

    boolean exitCodeAccepted(int exitCode) {
        return exitCodes == null || exitCodes.contains(exitCode);
    }

    @Override
    public String toString() {
        return "ProcessSpec[" + displayCommand() + "]";
    }

    /** Builds a {@link ProcessSpec}. Not thread-safe; {@link #build()} copies everything. */
    public static final class Builder {

        private final List<String> command;
        private @Nullable Path workingDirectory;
        private final Map<String, String> environment = new LinkedHashMap<>();
        private boolean replaceEnvironment;
        private byte @Nullable [] stdinBytes;
        private @Nullable String stdinText;
        private @Nullable Publisher<ByteBuffer> stdinPublisher;
        private @Nullable Set<Integer> exitCodes = Set.of(0);
        private @Nullable Duration timeout;
        private Duration killGrace = Duration.ofSeconds(5);
        private int attempts = 1;
        private Duration retryDelayMin = Duration.ofMillis(200);
        private Duration retryDelayMax = Duration.ofSeconds(2);
        private boolean shell;
        private @Nullable List<String> rootHelper;
        private ProcessLimits limits = ProcessLimits.none();
        private SecretMasker masker = SecretMasker.defaults();
        private @Nullable Consumer<? super ProcessHandle> onStart;
        private @Nullable ObjIntConsumer<? super ProcessHandle> onExit;
        private OutputMode outputMode = OutputMode.LINES;
        private int maxLineLength = 1 << 20;
        private long maxOutput = DEFAULT_MAX_OUTPUT;
        private Charset charset = StandardCharsets.UTF_8;

        private Builder(List<String> argv) {
            Objects.requireNonNull(argv, "argv");
            if (argv.isEmpty()) {
                throw new IllegalArgumentException("command must have at least one argument, was []");
            }
            List<String> copy = new ArrayList<>(argv.size());
            for (int i = 0; i < argv.size(); i++) {
                int index = i;
                String arg = Objects.requireNonNull(argv.get(i), () -> "argv[" + index + "] is null");
                if (arg.indexOf('\0') >= 0) { // the value is not shown: it may be a secret
                    throw new IllegalArgumentException("argv[" + index + "] must not contain NUL");
                }
                copy.add(arg);
            }
            this.command = copy;
        }

        /**
         * @param directory the child's working directory. Defaults to the JVM's.
         * @return this builder
         */
        public Builder workingDirectory(Path directory) {
            this.workingDirectory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /**
         * Adds variables on top of the inherited environment (or of the one given to
         * {@link #replaceEnvironment(Map)}); later calls override earlier ones. Defaults to no overrides.
         *
         * @param variables names and values; no name may contain {@code '='} or NUL, no value NUL
         * @return this builder
         * @throws IllegalArgumentException for a name or value the operating system cannot take; the message
         *     names the variable, never its value
         */
        public Builder environment(Map<String, String> variables) {
            putAll(variables);
            return this;
        }

        /**
         * Starts the child with exactly these variables instead of inheriting the JVM's environment, like
         * oslo's {@code env_variables}, plus the marker {@code REACTIVE_LOCKS_RUN} that every child gets
         * (it lets a kill reach descendants that left the process group, see {@link ProcessExecutor}).
         * Defaults to inheriting.
         *
         * @param variables the whole environment, checked as {@link #environment(Map)} checks it
         * @return this builder
         */
        public Builder replaceEnvironment(Map<String, String> variables) {
            environment.clear();
            replaceEnvironment = true;
            putAll(variables);
            return this;
        }

        private void putAll(Map<String, String> variables) {
            Objects.requireNonNull(variables, "variables");
            variables.forEach((name, value) -> {
                Objects.requireNonNull(name, "environment variable name");
                Objects.requireNonNull(value, () -> "value of environment variable " + name);
                if (name.indexOf('=') >= 0 || name.indexOf('\0') >= 0) {
                    throw new IllegalArgumentException("environment variable name must not contain '=' or NUL, was '"
                            + name.replace("\0", "\\0") + "'");
                }
                if (value.indexOf('\0') >= 0) {
                    // the value is not shown: it may be a secret
                    throw new IllegalArgumentException("value of environment variable " + name + " must not contain NUL");
                }
                environment.put(name, value);
            });
        }

        /**
         * @param input bytes written to stdin, which is then closed; sent again on every attempt.
         *     Defaults to a stdin closed at start.
         * @return this builder
         */
        public Builder stdin(byte[] input) {
            this.stdinBytes = Objects.requireNonNull(input, "input").clone();
            this.stdinText = null;
            this.stdinPublisher = null;
            return this;
        }

        /**
         * @param input text written to stdin in the {@link #charset(Charset) charset}, which is then closed
         * @return this builder
         */
        public Builder stdin(String input) {
            this.stdinText = Objects.requireNonNull(input, "input");
            this.stdinBytes = null;
            this.stdinPublisher = null;
            return this;
        }

        /**
         * @param input buffers written to stdin in order, one at a time as the child consumes them; stdin is
         *     closed when it completes. It is subscribed once per attempt, so it should be cold. When it
         *     signals an error, stdin is not closed (the child must not take a failed input for a complete
         *     one): the child's process group is killed as on cancellation and the run fails with that error,
         *     which is not retried.
         * @return this builder
         */
        public Builder stdin(Publisher<ByteBuffer> input) {
            this.stdinPublisher = Objects.requireNonNull(input, "input");
            this.stdinBytes = null;
            this.stdinText = null;
            return this;
        }

        /**
         * @param allowed the exit codes that count as success; others fail the run with
         *     {@link ProcessExecutionException}. Defaults to {@code 0} alone.
         * @return this builder
         */
        public Builder checkExitCode(int... allowed) {
            Objects.requireNonNull(allowed, "allowed");
            if (allowed.length == 0) {
                throw new IllegalArgumentException("checkExitCode needs at least one exit code; use anyExitCode()");
            }
            Set<Integer> codes = new LinkedHashSet<>();
            for (int code : allowed) {
                codes.add(code);
            }
            this.exitCodes = codes;
            return this;
        }

        /**
         * Accepts every exit code, like oslo's {@code check_exit_code=False}.
         *
         * @return this builder
         */
        public Builder anyExitCode() {
            this.exitCodes = null;
            return this;
        }

        /**
         * @param timeout how long the child of one attempt may run, from spawn to its exit; then its process
         *     group (and what else {@link ProcessExecutor} lists under "Cancellation and timeouts") is killed and
         *     the run fails with {@link ProcessTimeoutException}. After an exit in time, the timeout bounds only a
         *     wait for descendants that keep the child's output pipes open (see "Exit and output" there), never a
         *     subscriber of a streamed run that takes its time over the output the child already wrote.
         *     Defaults to none.
         * @return this builder
         */
        public Builder timeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be > 0, was " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /**
         * @param grace how long a killed process group has between SIGTERM and SIGKILL. Defaults to 5 s.
         * @return this builder
         */
        public Builder killGrace(Duration grace) {
            Objects.requireNonNull(grace, "grace");
            if (grace.isNegative()) {
                throw new IllegalArgumentException("killGrace must be >= 0, was " + grace);
            }
            this.killGrace = grace;
            return this;
        }

        /**
         * @param attempts how many times to run the command at most: a failed exit-code check or a failure
         *     to start is retried, a timeout is not. Defaults to 1.
         * @return this builder
         * @throws IllegalArgumentException when {@code attempts < 1}
         */
        public Builder attempts(int attempts) {
            if (attempts < 1) {
                throw new IllegalArgumentException("attempts must be >= 1, was " + attempts);
            }
            this.attempts = attempts;
            return this;
        }

        /**
         * @param delay the fixed pause between attempts
         * @return this builder
         */
        public Builder retryDelay(Duration delay) {
            return retryDelay(delay, delay);
        }

        /**
         * @param min the shortest pause between attempts
         * @param max the longest pause; each pause is uniformly random in {@code [min, max]}.
         *     Defaults to 0.2 s to 2 s, as oslo's {@code delay_on_retry}.
         * @return this builder
         */
        public Builder retryDelay(Duration min, Duration max) {
            Objects.requireNonNull(min, "min");
            Objects.requireNonNull(max, "max");
            if (min.isNegative() || max.compareTo(min) < 0) {
                throw new IllegalArgumentException("retryDelay needs 0 <= min <= max, was " + min + ", " + max);
            }
            this.retryDelayMin = min;
            this.retryDelayMax = max;
            return this;
        }

        /**
         * Runs the command through {@code /bin/sh -c}, like Python's {@code shell=True}: the first argument
         * is the script, further arguments become {@code $0}, {@code $1}, … Defaults to no shell.
         *
         * @return this builder
         */
        public Builder shell() {
            this.shell = true;
            return this;
        }

        /**
         * Runs the command as root through {@code helper}, like oslo's {@code run_as_root} with
         * {@code root_helper} (e.g. {@code "sudo -n"} or {@code "sudo nova-rootwrap /etc/nova/rootwrap.conf"}).
         * The helper is split like a POSIX shell would (quotes, backslashes), never run by one.
         * Defaults to none.
         *
         * @param helper the helper command line, not blank
         * @return this builder
         */
        public Builder rootHelper(String helper) {
            Objects.requireNonNull(helper, "helper");
            List<String> words = CommandLines.split(helper);
            if (words.isEmpty()) {
                throw new IllegalArgumentException("rootHelper must not be blank, was '" + helper + "'");
            }
            this.rootHelper = List.copyOf(words);
            return this;
        }

        /**
         * @param limits resource limits applied with util-linux {@code prlimit}. Defaults to none.
         * @return this builder
         */
        public Builder limits(ProcessLimits limits) {
            this.limits = Objects.requireNonNull(limits, "limits");
            return this;
        }

        /**
         * @param masker how secrets are masked in commands, logs and exceptions. Defaults to
         *     {@link SecretMasker#defaults()}, oslo's {@code mask_password} rules.
         * @return this builder
         */
        public Builder maskSecrets(SecretMasker masker) {
            this.masker = Objects.requireNonNull(masker, "masker");
            return this;
        }

        /**
         * @param literalSecrets values to mask wherever they occur, on top of the current masker's rules
         * @return this builder
         */
        public Builder maskSecrets(String... literalSecrets) {
            this.masker = masker.withSecrets(literalSecrets);
            return this;
        }

        /**
         * @param hook called once per started process, right after the spawn, on a library thread; like
         *     oslo's {@code on_execute}. Whatever it throws (an {@code Error} too) is logged and ignored. Defaults to none.
         * @return this builder
         */
        public Builder onStart(Consumer<? super ProcessHandle> hook) {
            this.onStart = Objects.requireNonNull(hook, "hook");
            return this;
        }

        /**
         * @param hook called once per started process with its exit code after it was reaped, whether the
         *     run succeeds, fails, times out or is cancelled, on a library thread; like oslo's
         *     {@code on_completion}. Whatever it throws (an {@code Error} too) is logged and ignored. Defaults to none.
         * @return this builder
         */
        public Builder onExit(ObjIntConsumer<? super ProcessHandle> hook) {
            this.onExit = Objects.requireNonNull(hook, "hook");
            return this;
        }

        /**
         * @param mode how {@link ProcessExecutor#stream(ProcessSpec)} cuts the output. Defaults to
         *     {@link OutputMode#LINES}.
         * @return this builder
         */
        public Builder outputMode(OutputMode mode) {
            this.outputMode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * @param bytes the longest line {@link OutputMode#LINES} emits in one piece. Defaults to 1 MiB.
         * @return this builder
         */
        public Builder maxLineLength(int bytes) {
            if (bytes < 16) {
                throw new IllegalArgumentException("maxLineLength must be >= 16, was " + bytes);
            }
            this.maxLineLength = bytes;
            return this;
        }

        /**
         * Bounds the output that {@link ProcessExecutor#execute(ProcessSpec)} holds in memory: when stdout and
         * stderr together exceed {@code bytes}, the process group is killed as on a timeout and the run fails
         * with a {@link ProcessExecutionException} whose {@link ProcessExecutionException#description()
         * description} names the limit ({@code "Output exceeded maxOutput of 1024 bytes; its process group
         * was killed."}) and whose stdout and stderr hold the last 64 KiB collected of each; with
         * {@link #attempts(int) attempts} left, it is retried like any failed exit-code check.
         * {@link ProcessExecutor#stream(ProcessSpec)} holds no output (backpressure bounds it)
         * and ignores this limit. Defaults to 64 MiB.
         *
         * @param bytes the most bytes collected, at least 1
         * @return this builder
         */
        public Builder maxOutput(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxOutput must be >= 1, was " + bytes);
            }
            this.maxOutput = bytes;
            return this;
        }

        /**
         * @param charset decodes output text and encodes {@link #stdin(String)}. Defaults to UTF-8.
         * @return this builder
         */
        public Builder charset(Charset charset) {
            this.charset = Objects.requireNonNull(charset, "charset");
            return this;
        }

        /** @return the immutable spec */
        public ProcessSpec build() {
            return new ProcessSpec(this);
        }
    }
}
