package dev.reactivelocks.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

class ProcessExecutorTest {

    static final Duration WAIT = Duration.ofSeconds(20);
    static ProcessExecutor exec;

    @TempDir
    Path dir;

    @BeforeAll
    static void createExecutor() {
        exec = ProcessExecutor.create();
    }

    @AfterAll
    static void disposeExecutor() {
        exec.disposeLater().block(WAIT);
    }

    static ProcessResult run(ProcessSpec spec) {
        return exec.execute(spec).block(WAIT);
    }

    /**
     * Issue 14: {@code setsid -w} was given the program without {@code --}, so a program named {@code -V}
     * printed setsid's version and exited 0 instead of running.
     */
    @Test
    void programWhoseNameStartsWithADashIsRunNotTakenForASetsidOption() throws Exception {
        Path program = dir.resolve("-V");
        Files.writeString(program, "#!/bin/sh\nprintf 'I am -V with %s\\n' \"$*\"\nexit 7\n");
        assertThat(program.toFile().setExecutable(true)).isTrue();

        ProcessResult result = run(ProcessSpec.command("-V", "x", "y")
                .environment(Map.of("PATH", dir + ":" + System.getenv("PATH")))
                .checkExitCode(7).build());

        assertThat(result.exitCode()).isEqualTo(7);
        assertThat(result.stdoutText()).isEqualTo("I am -V with x y\n");
        assertThat(result.stderrText()).isEmpty();
    }

    @Test
    void executeReturnsExactBytesOfStdoutAndStderrAndTheExitCode() {
        ProcessResult result = run(ProcessSpec.command("sh", "-c",
                "printf 'a\\000b\\377\\n'; printf 'err\\r\\n' >&2; exit 3").checkExitCode(3).build());

        assertThat(result.exitCode()).isEqualTo(3);
        assertThat(result.stdout()).containsExactly('a', 0, 'b', 0xff, '\n');
        assertThat(result.stderrText()).isEqualTo("err\r\n");
        assertThat(result.stdoutText()).isEqualTo("a\0b\uFFFD\n");
        assertThat(result.pid()).isPositive();
        assertThat(result.duration()).isPositive();
    }

    @Test
    void argumentsAreNeverResplit() {
        ProcessResult result = run(ProcessSpec.command("printf", "%s|", "two words", "$HOME", "*").build());
        assertThat(result.stdoutText()).isEqualTo("two words|$HOME|*|");
    }

    @Test
    void shellRunsTheFirstArgumentAsScriptWithFurtherArgumentsAsPositionalParameters() {
        ProcessResult result = run(ProcessSpec.command("echo \"$0:$1\" $((1+2))", "zero", "one").shell().build());
        assertThat(result.stdoutText()).isEqualTo("zero:one 3\n");
    }

    @Test
    void environmentIsInheritedAndOverriddenOrReplaced() {
        ProcessResult inherited = run(ProcessSpec.command("sh", "-c", "echo \"$PATH|$RL_X\"")
                .environment(Map.of("RL_X", "1")).build());
        assertThat(inherited.stdoutText()).isEqualTo(System.getenv("PATH") + "|1\n");

        ProcessResult replaced = run(ProcessSpec.command("/usr/bin/env")
                .replaceEnvironment(Map.of("ONLY", "this")).build());
        assertThat(replaced.stdoutText()).matches("ONLY=this\nREACTIVE_LOCKS_RUN=[0-9a-f-]{36}\n");
    }

    @Test
    void workingDirectoryIsApplied() throws Exception {
        ProcessResult result = run(ProcessSpec.command("pwd").workingDirectory(dir).build());
        assertThat(result.stdoutText().trim()).isEqualTo(dir.toRealPath().toString());
    }

    /**
     * With a relative {@code PATH} entry ({@code .}, or an empty one) the program was looked for in the JVM's
     * working directory instead of the child's, so a program the child would run was refused as missing
     * (and one missing there ran into exit code 127).
     */
    @Test
    void relativePathEntriesAreSearchedInTheChildsWorkingDirectory() throws Exception {
        Path tool = Files.writeString(dir.resolve("local-tool"), "#!/bin/sh\necho ran in $PWD\n");
        assertThat(tool.toFile().setExecutable(true)).isTrue();
        for (String path : List.of(".", "/usr/bin:/bin:", ":/usr/bin:/bin")) {
            ProcessResult result = run(ProcessSpec.command("local-tool").workingDirectory(dir)
                    .environment(Map.of("PATH", path)).build());
            assertThat(result.stdoutText()).as("PATH=%s", path).isEqualTo("ran in " + dir + "\n");
        }
    }

    @Test
    void stdinIsClosedAtStartByDefault() {
        assertThat(run(ProcessSpec.command("wc", "-c").build()).stdoutText().trim()).isEqualTo("0");
    }

    @Test
    void stdinBytesStringAndPublisherAreWrittenThenClosed() {
        byte[] big = new byte[300_000]; // larger than a pipe
        big[299_999] = 7;
        assertThat(run(ProcessSpec.command("wc", "-c").stdin(big).build()).stdoutText().trim()).isEqualTo("300000");
        assertThat(run(ProcessSpec.command("cat").stdin("héllo").build()).stdoutText()).isEqualTo("héllo");
        Flux<ByteBuffer> parts = Flux.range(0, 100)
                .map(i -> ByteBuffer.wrap((i + "\n").getBytes(StandardCharsets.US_ASCII)));
        ProcessResult result = run(ProcessSpec.command("tail", "-n", "1").stdin(parts).build());
        assertThat(result.stdoutText()).isEqualTo("99\n");
    }

    /**
     * A stdin publisher that failed was treated as complete: stdin was closed, the child took the truncated
     * input for the whole one, and the run succeeded ({@code cat} exited 0 with half the input). Now the
     * child is killed with its stdin still open and the run fails with the publisher's error.
     */
    @Test
    void failingStdinPublisherKillsTheChildAndFailsTheRun() throws Exception {
        IllegalStateException diskGone = new IllegalStateException("disk gone");
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        Flux<ByteBuffer> input = Flux.concat(Flux.just(ByteBuffer.wrap("first half\n".getBytes(StandardCharsets.US_ASCII))),
                Flux.error(diskGone));
        // exits 0 only when its stdin ends
        ProcessSpec spec = ProcessSpec.command("sh", "-c", "cat > /dev/null; echo complete")
                .stdin(input).attempts(3).retryDelay(Duration.ZERO)
                .onExit((h, code) -> exit.complete(code))
                .build();
        StepVerifier.create(exec.execute(spec))
                .expectErrorSatisfies(e -> assertThat(e).isSameAs(diskGone))
                .verify(WAIT);
        assertThat(exit.get(10, TimeUnit.SECONDS)).as("killed, not ended by its input").isEqualTo(128 + 15);

        StepVerifier.create(exec.stream(spec.toBuilder().onExit((h, code) -> { }).build()))
                .expectErrorSatisfies(e -> assertThat(e).isSameAs(diskGone))
                .verify(WAIT);
    }

    @Test
    void exitCodePolicyAcceptsOnlyTheListedCodes() {
        assertThat(run(ProcessSpec.command("sh", "-c", "exit 2").checkExitCode(0, 2).build()).exitCode()).isEqualTo(2);
        assertThat(run(ProcessSpec.command("sh", "-c", "exit 9").anyExitCode().build()).exitCode()).isEqualTo(9);

        StepVerifier.create(exec.execute(ProcessSpec.command("sh", "-c", "echo out; echo bad >&2; exit 1").build()))
                .expectErrorSatisfies(e -> {
                    assertThat(e).isExactlyInstanceOf(ProcessExecutionException.class);
                    ProcessExecutionException pe = (ProcessExecutionException) e;
                    assertThat(pe.exitCode()).isEqualTo(1);
                    assertThat(pe.stdout()).isEqualTo("out\n");
                    assertThat(pe.stderr()).isEqualTo("bad\n");
                    assertThat(pe.command()).isEqualTo("sh -c echo out; echo bad >&2; exit 1");
                    assertThat(pe.description()).isEqualTo("Unexpected error while running command.");
                    assertThat(pe.getMessage()).isEqualTo("Unexpected error while running command.\n"
                            + "Command: sh -c echo out; echo bad >&2; exit 1\n"
                            + "Exit code: 1\n"
                            + "Stdout: 'out\\n'\n"
                            + "Stderr: 'bad\\n'");
                })
                .verify(WAIT);
    }

    @Test
    void executionExceptionIsSerializable() throws Exception {
        ProcessExecutionException original = new ProcessExecutionException("ls x", 2, "", "it's gone\n", null, null);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(original);
        }
        Object copy;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            copy = in.readObject();
        }
        assertThat(copy).isInstanceOf(ProcessExecutionException.class);
        ProcessExecutionException pe = (ProcessExecutionException) copy;
        assertThat(pe.getMessage()).isEqualTo(original.getMessage()).endsWith("Stderr: \"it's gone\\n\"");
        assertThat(pe.exitCode()).isEqualTo(2);
        assertThat(pe.stderr()).isEqualTo("it's gone\n");
        ProcessTimeoutException timeout = new ProcessTimeoutException("sleep 9", 143, "", "", Duration.ofMillis(250));
        assertThat(timeout.getMessage()).startsWith("Command timed out after 250ms; its process group was killed.\n"
                + "Command: sleep 9\nExit code: 143\n");
    }

    @Test
    void spawnFailureIsAnExecutionExceptionWithoutExitCode() {
        StepVerifier.create(exec.execute(ProcessSpec.command("/nonexistent/program", "--password", "hunter2").build()))
                .expectErrorSatisfies(e -> {
                    assertThat(e).isInstanceOf(ProcessExecutionException.class);
                    ProcessExecutionException pe = (ProcessExecutionException) e;
                    assertThat(pe.exitCode()).isNull();
                    assertThat(pe.command()).isEqualTo("/nonexistent/program --password ***");
                    assertThat(pe.getMessage()).startsWith("Failed to start command: ").contains("Exit code: -")
                            .doesNotContain("hunter2");
                })
                .verify(WAIT);
    }

    /**
     * The exception of a failed run was built on the poller thread, which serves other runs: building it
     * decodes and masks the whole collected output (up to maxOutput, 64 MiB), and 60 MB of failed output that
     * mentioned a token held back the output of another run on the same poller for 40 s. Failures (and
     * results) are built on the blocking pool.
     */
    @Test
    void failuresAreBuiltOffThePollerThread() {
        ProcessSpec failing = ProcessSpec.command("sh", "-c", "echo token=abc; exit 3").build();
        ProcessSpec timingOut = ProcessSpec.command("sleep", "100").timeout(Duration.ofMillis(100)).build();
        ProcessSpec tooMuch = ProcessSpec.command("sh", "-c", "echo 0123456789; sleep 100").maxOutput(4).build();
        for (ProcessSpec spec : List.of(failing, timingOut, tooMuch)) {
            StepVerifier.create(exec.execute(spec))
                    .expectErrorSatisfies(e -> assertThat(e.getStackTrace())
                            .as("where %s was built", e.getClass().getSimpleName())
                            .noneMatch(frame -> frame.getClassName().equals(IoPoller.class.getName())))
                    .verify(WAIT);
        }
    }

    /**
     * A working directory that is missing or a file failed the start with the JDK's message for the setsid
     * wrapper, {@code Cannot run program "/usr/bin/setsid" (in directory ...)}, a program the user never named.
     */
    @Test
    void badWorkingDirectoryIsReportedForTheProgramNotForTheSetsidWrapper() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "");
        Path missing = dir.resolve("missing");
        StepVerifier.create(exec.execute(ProcessSpec.command("sh", "-c", "pwd").workingDirectory(missing).build()))
                .expectErrorSatisfies(e -> assertThat(((ProcessExecutionException) e).description())
                        .isEqualTo("Failed to start command: Cannot run program \"sh\" (in directory \"" + missing
                                + "\"): error=2, No such file or directory"))
                .verify(WAIT);
        StepVerifier.create(exec.execute(ProcessSpec.command("pwd").shell().workingDirectory(file).build()))
                .expectErrorSatisfies(e -> assertThat(((ProcessExecutionException) e).description())
                        .isEqualTo("Failed to start command: Cannot run program \"/bin/sh\" (in directory \"" + file
                                + "\"): error=20, Not a directory"))
                .verify(WAIT);
    }

    /**
     * Issue 14: {@code --password 's3cr3t'}, {@code --password -s3cr3t} and a passphrase with spaces stayed
     * (partly) visible in {@code toString()}, exception messages and debug logs.
     */
    @Test
    void secretsAfterOptionsAreMaskedInToStringExceptionsAndDebugLogs() {
        List<String> logged = new CopyOnWriteArrayList<>();
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(ProcessExecutor.class.getName());
        java.util.logging.Handler handler = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord record) {
                logged.add(record.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Level level = logger.getLevel();
        logger.setLevel(java.util.logging.Level.ALL);
        logger.addHandler(handler);
        try {
            ProcessSpec quoted = ProcessSpec.command("sh", "-c", "echo \"$*\" >&2; exit 3 # --password 's3cr3t'",
                    "sh", "--password", "-s3cr3t", "--passphrase", "correct horse battery").build();
            assertThat(quoted).hasToString("ProcessSpec[sh -c echo \"$*\" >&2; exit 3 # --password '***' sh"
                    + " --password *** --passphrase ***]");
            StepVerifier.create(exec.execute(quoted))
                    .expectErrorSatisfies(e -> assertThat(e).hasMessage("Unexpected error while running command.\n"
                            + "Command: sh -c echo \"$*\" >&2; exit 3 # --password '***' sh --password ***"
                            + " --passphrase ***\n"
                            + "Exit code: 3\n"
                            + "Stdout: ''\n"
                            + "Stderr: '--password *** --passphrase ***\\n'"))
                    .verify(WAIT);
        } finally {
            logger.removeHandler(handler);
            logger.setLevel(level);
        }
        assertThat(logged).anySatisfy(line -> assertThat(line).startsWith("Running cmd (subprocess): sh -c echo"));
        assertThat(String.join("\n", logged)).doesNotContain("s3cr3t", "correct", "horse", "battery");
    }

    /** Issue 14: the IOException cause of a start failure carried the unmasked program path. */
    @Test
    void theCauseOfAStartFailureIsMaskedToo() {
        for (ProcessSpec spec : List.of(
                ProcessSpec.command("/nonexistent/token=s3cr3t/program").build(),
                ProcessSpec.command("/nonexistent/s3cr3t/program", "--password", "x").maskSecrets("s3cr3t").build())) {
            StepVerifier.create(exec.execute(spec))
                    .expectErrorSatisfies(e -> {
                        java.io.StringWriter trace = new java.io.StringWriter();
                        e.printStackTrace(new java.io.PrintWriter(trace));
                        assertThat(trace.toString()).doesNotContain("s3cr3t").contains("Caused by: java.io.IOException");
                        assertThat(e.getCause()).isInstanceOf(java.io.IOException.class);
                        assertThat(e.getCause().getStackTrace()).isNotEmpty();
                    })
                    .verify(WAIT);
        }
        StepVerifier.create(exec.execute(ProcessSpec.command("/nonexistent/s3cr3t/program").maskSecrets("s3cr3t")
                        .build()))
                .expectErrorSatisfies(e -> assertThat(e.getCause()).hasMessage(
                        "Cannot run program \"/nonexistent/***/program\": error=2, No such file or directory"))
                .verify(WAIT);
    }

    /**
     * Issue 14: {@code execute()} collected output without bound and ended in an {@code OutOfMemoryError} on
     * the poller thread that serves every run. A run past {@code maxOutput} is killed and fails naming the
     * limit, while a run on the same poller completes with its exact output.
     */
    @Test
    void outputBeyondMaxOutputKillsTheRunAndLeavesTheOtherRunsOfThePollerAlone() {
        ProcessExecutor single = ProcessExecutor.builder().pollerThreads(1).build();
        try {
            Mono<Throwable> flood = single.execute(ProcessSpec.command("yes", "flood").maxOutput(100_000).build())
                    .map(r -> (Throwable) new AssertionError("completed: " + r))
                    .onErrorResume(Mono::just);
            Mono<ProcessResult> neighbour = single.execute(ProcessSpec.command("sh", "-c",
                    "head -c 300000 /dev/zero | tr '\\000' a; printf end >&2").build());

            reactor.util.function.Tuple2<Throwable, ProcessResult> both = Mono.zip(flood, neighbour).block(WAIT);

            assertThat(both.getT1()).isExactlyInstanceOf(ProcessExecutionException.class);
            ProcessExecutionException failure = (ProcessExecutionException) both.getT1();
            assertThat(failure.description())
                    .isEqualTo("Output exceeded maxOutput of 100000 bytes; its process group was killed.");
            assertThat(failure.getMessage()).startsWith("Output exceeded maxOutput of 100000 bytes; its process group"
                    + " was killed.\nCommand: yes flood\nExit code: 143\nStdout: 'flood\\nflood\\n");
            assertThat(failure.exitCode()).isEqualTo(143);
            // exactly 100,000 bytes were kept (16,666 lines and "floo"); the exception holds their last 64 KiB
            assertThat(failure.stdout()).isEqualTo("flood\n".repeat(10_922) + "floo");
            assertThat(failure.stderr()).isEmpty();

            ProcessResult result = both.getT2();
            assertThat(result.stdout()).hasSize(300_000).containsOnly('a');
            assertThat(result.stderrText()).isEqualTo("end");
            assertThat(((DefaultProcessExecutor) single).pollers()[0].thread().isAlive()).isTrue();
            assertThat(single.execute(ProcessSpec.command("printf", "after").build()).block(WAIT).stdoutText())
                    .isEqualTo("after");
        } finally {
            single.disposeLater().block(WAIT);
        }
    }

    @Test
    void maxOutputIsExactAndDefaultsTo64MiB() {
        assertThat(ProcessSpec.command("x").build().maxOutput()).isEqualTo(64L * 1024 * 1024);
        assertThatThrownBy(() -> ProcessSpec.command("x").maxOutput(0)).hasMessage("maxOutput must be >= 1, was 0");
        ProcessResult atLimit = run(ProcessSpec.command("head", "-c", "5000", "/dev/zero").maxOutput(5000).build());
        assertThat(atLimit.stdout()).hasSize(5000);
        StepVerifier.create(exec.execute(ProcessSpec.command("head", "-c", "5001", "/dev/zero").maxOutput(5000)
                        .build()))
                .expectErrorSatisfies(e -> assertThat(((ProcessExecutionException) e).description())
                        .isEqualTo("Output exceeded maxOutput of 5000 bytes; its process group was killed."))
                .verify(WAIT);
    }

    @Test
    void secretsAreMaskedInTheException() {
        StepVerifier.create(exec.execute(ProcessSpec.command("sh", "-c",
                        "echo password=abc; echo '{\"token\": \"xyz\"}' >&2; echo positional-s3cr3t; exit 5", "--password", "p4ss")
                        .maskSecrets("s3cr3t").build()))
                .expectErrorSatisfies(e -> {
                    ProcessExecutionException pe = (ProcessExecutionException) e;
                    assertThat(pe.stdout()).isEqualTo("password=***\npositional-***\n");
                    assertThat(pe.stderr()).isEqualTo("{\"token\": \"***\"}\n");
                    assertThat(pe.command()).endsWith("--password ***").doesNotContain("p4ss");
                    assertThat(pe.getMessage()).doesNotContain("abc", "xyz", "s3cr3t", "p4ss");
                })
                .verify(WAIT);
    }

    @Test
    void eachSubscriptionIsOneRunAndNothingStartsBeforeSubscription() {
        AtomicInteger starts = new AtomicInteger();
        Mono<ProcessResult> mono = exec.execute(ProcessSpec.command("true").onStart(h -> starts.incrementAndGet()).build());
        assertThat(starts).hasValue(0);
        mono.block(WAIT);
        mono.block(WAIT);
        assertThat(starts).hasValue(2);
    }

    @Test
    void attemptsRerunOnExitCodeFailureAndResendStdin() throws Exception {
        Path counter = dir.resolve("count");
        Path inputs = dir.resolve("inputs");
        // appends its stdin and a mark per attempt; succeeds on the third
        ProcessSpec spec = ProcessSpec.command("sh", "-c",
                        "cat >> \"$2\"; echo x >> \"$1\"; [ $(wc -l < \"$1\") -ge 3 ]", "sh", counter.toString(), inputs.toString())
                .stdin("in;").attempts(3).retryDelay(Duration.ofMillis(1)).build();

        ProcessResult result = run(spec);

        assertThat(result.exitCode()).isZero();
        assertThat(Files.readAllLines(counter)).hasSize(3);
        assertThat(Files.readString(inputs)).isEqualTo("in;in;in;");
    }

    @Test
    void attemptsStopAfterTheLastFailure() throws Exception {
        Path counter = dir.resolve("count");
        ProcessSpec spec = ProcessSpec.command("sh", "-c", "echo x >> \"$1\"; exit 4", "sh", counter.toString())
                .attempts(2).retryDelay(Duration.ofMillis(1)).build();

        StepVerifier.create(exec.execute(spec))
                .expectErrorSatisfies(e -> assertThat(((ProcessExecutionException) e).exitCode()).isEqualTo(4))
                .verify(WAIT);
        assertThat(Files.readAllLines(counter)).hasSize(2);
    }

    @Test
    void attemptsRetrySpawnFailures() {
        AtomicInteger hooks = new AtomicInteger();
        ProcessSpec spec = ProcessSpec.command(dir.resolve("appears-later").toString())
                .attempts(3).retryDelay(Duration.ofMillis(1)).build();
        StepVerifier.create(exec.execute(spec).doOnError(e -> hooks.incrementAndGet()))
                .expectErrorSatisfies(e -> assertThat(((ProcessExecutionException) e).exitCode()).isNull())
                .verify(WAIT);
        assertThat(hooks).hasValue(1);
    }

    @Test
    void attemptsBelowOneAreRejected() {
        assertThatThrownBy(() -> ProcessSpec.command("true").attempts(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("attempts must be >= 1, was 0");
    }

    @Test
    void hooksAreCalledOncePerStartedProcessAlsoOnFailure() {
        List<String> calls = new CopyOnWriteArrayList<>();
        ProcessSpec spec = ProcessSpec.command("sh", "-c", "exit 7")
                .onStart(h -> calls.add("start " + h.pid()))
                .onExit((h, code) -> calls.add("exit " + h.pid() + " " + code))
                .attempts(2).retryDelay(Duration.ofMillis(1))
                .build();
        StepVerifier.create(exec.execute(spec)).expectError(ProcessExecutionException.class).verify(WAIT);

        assertThat(calls).hasSize(4);
        String pid1 = calls.get(0).substring(6);
        String pid2 = calls.get(2).substring(6);
        assertThat(calls).containsExactly("start " + pid1, "exit " + pid1 + " 7", "start " + pid2, "exit " + pid2 + " 7");
    }

    /**
     * A hook that threw an {@code Error} (an {@code AssertionError} of a test, say) rather than an exception
     * killed the library task it ran on: after onStart the run was never watched (its child could not be
     * killed, its lock scope never released), after onExit it was never signalled.
     */
    @Test
    void hooksThrowingErrorsAreLoggedAndTheRunStillEnds() throws Exception {
        List<Long> pids = new CopyOnWriteArrayList<>();
        ProcessSpec failingStart = ProcessSpec.command("sh", "-c", "exit 3").checkExitCode(3)
                .onStart(h -> {
                    pids.add(h.pid());
                    throw new AssertionError("onStart");
                })
                .build();
        StepVerifier.create(exec.execute(failingStart))
                .assertNext(r -> assertThat(r.exitCode()).isEqualTo(3))
                .expectComplete()
                .verify(WAIT);
        ProcessSpec failingExit = ProcessSpec.command("sh", "-c", "exit 3")
                .onExit((h, code) -> {
                    throw new AssertionError("onExit");
                })
                .build();
        StepVerifier.create(exec.execute(failingExit))
                .expectErrorSatisfies(e -> assertThat(((ProcessExecutionException) e).exitCode()).isEqualTo(3))
                .verify(WAIT);
        ProcessSpec cancelled = ProcessSpec.command("sleep", "100")
                .onStart(h -> {
                    pids.add(h.pid());
                    throw new AssertionError("onStart");
                })
                .build();
        StepVerifier.create(exec.stream(cancelled))
                .expectSubscription()
                .then(() -> await(() -> pids.size() == 2))
                .thenCancel()
                .verify(WAIT);
        assertThat(Procs.awaitDead(pids.get(1), Duration.ofSeconds(10))).as("the cancelled child was killed").isTrue();
    }

    private static void await(java.util.function.BooleanSupplier condition) {
        long end = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError("condition not met within " + WAIT);
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void childLeadsItsOwnProcessGroup() throws Exception {
        ProcessResult result = run(ProcessSpec.command("sh", "-c", "cut -d' ' -f5,6 /proc/$$/stat").build());
        assertThat(result.stdoutText().trim()).isEqualTo(result.pid() + " " + result.pid());
    }

    @Test
    void rootHelperPrefixesTheCommandAfterShellLikeSplitting() {
        ProcessResult result = run(ProcessSpec.command("sh", "-c", "echo \"$HELPER\"")
                .rootHelper("env 'HELPER=quoted value'").build());
        assertThat(result.stdoutText()).isEqualTo("quoted value\n");
    }

    @Test
    void limitsAreAppliedWithPrlimit() {
        ProcessResult result = run(ProcessSpec.command("sh", "-c", "ulimit -n; ulimit -c; ulimit -v")
                .limits(ProcessLimits.builder().openFiles(64).coreFileSize(0).addressSpace(512L << 20).build())
                .build());
        assertThat(result.stdoutText()).isEqualTo("64\n0\n524288\n");
    }

    @Test
    void limitsWithoutPrlimitFailClearly() {
        DefaultProcessExecutor noPrlimit = new DefaultProcessExecutor(1, 2, SystemTools.locate().withoutPrlimit());
        try {
            StepVerifier.create(noPrlimit.execute(ProcessSpec.command("true")
                            .limits(ProcessLimits.builder().openFiles(64).build()).attempts(3).build()))
                    .expectErrorSatisfies(e -> assertThat(e)
                            .isExactlyInstanceOf(IllegalStateException.class)
                            .hasMessageStartingWith("ProcessLimits ProcessLimits{OPEN_FILES=64} need util-linux 'prlimit', "
                                    + "which was not found on PATH ["))
                    .verify(WAIT);
        } finally {
            noPrlimit.disposeLater().block(WAIT);
        }
    }
}
