package dev.reactivelocks.process;

import dev.reactivelocks.internal.RunMarker;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.ObjIntConsumer;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * One attempt of a spec: spawn, pipes, exit, kill and the terminal signal.
 *
 * <pre>
 *  spawn (blocking pool) ──fail──▶ error(ProcessExecutionException, exit code "-")
 *    │ started: onStart, register with a poller
 *    ▼
 *  RUNNING ──timeout/cancel/dispose/stdin error──▶ TERM_SENT ──grace elapsed──▶ KILL_SENT
 *    │ exit, pipes drained             │ leader reaped: SIGKILL to    │ leader reaped
 *    ▼                                 ▼ what is left of the group    ▼
 *  finish: exit-code check        finish (kill path): pipes at EOF or given up, signals delivered
 *                   └──────────┬──────────┘
 *                              ▼  (blocking pool) onExit hook, close pipes, terminal signal
 * </pre>
 *
 * Threading: {@link #spawn()} runs on the executor's blocking pool; everything named poll* and the state
 * below "poller-confined" on the run's poller thread; EOF probes ({@link PipeReader}) and signals
 * ({@link ProcessSignaller}) on the blocking pool, stdin writes on the stdin pool, handing results back
 * through volatile fields and {@link IoPoller#wake}.
 */
final class ProcessRun {

    static final System.Logger LOG = System.getLogger(ProcessExecutor.class.getName());
    static final int TAIL_BYTES = 64 * 1024;
    private static final long MIN_EOF_WAIT_NANOS = 200_000_000L;

    enum Phase { RUNNING, TERM_SENT, KILL_SENT }

    private final DefaultProcessExecutor executor;
    private final ProcessSpec spec;
    private final RunSink sink;
    private final IoPoller poller;
    private final String display;
    private final Runnable settled;

    // poller loop bookkeeping (poller-confined, except the signalled flag)
    volatile boolean signalled;
    long nextPollNanos;
    long backoffNanos;

    private volatile boolean cancelRequested;
    private volatile boolean disposeRequested;
    private volatile boolean finished;
    private volatile @Nullable Disposable stdinWriter;
    private volatile boolean stdinClosedByChild;
    private volatile @Nullable Throwable stdinFailure;

    // written by spawn() before register(), which publishes them to the poller
    private @Nullable Process process;
    private long pid;
    private long startNanos;
    private @Nullable PipeReader out;
    private @Nullable PipeReader err;
    private @Nullable ProcessSignaller signals;

    // poller-confined
    private Phase phase = Phase.RUNNING;
    private boolean timedOut;
    private long collectedBytes;
    private boolean outputExceeded;
    private boolean exited;
    private int exitCode;
    private long exitNanos;
    private long killStartNanos;
    private long killAtNanos;
    private final long deadlineNanos;
    private final boolean hasDeadline;
    private final long killGraceNanos;

    ProcessRun(DefaultProcessExecutor executor, ProcessSpec spec, RunSink sink, IoPoller poller, Runnable settled) {
        this.executor = executor;
        this.settled = settled;
        this.spec = spec;
        this.sink = sink;
        this.poller = poller;
        this.display = spec.displayCommand();
        Duration timeout = spec.timeout();
        this.hasDeadline = timeout != null;
        this.deadlineNanos = timeout == null ? 0 : saturatedNanos(timeout);
        this.killGraceNanos = saturatedNanos(spec.killGrace());
    }

    /** {@code d} in nanoseconds; a duration too long for that (over 292 years) is taken as 73 years. */
    static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 4;
        }
    }

    /** The run is over: child reaped (or never spawned) and its end delivered. Runs the settle callback once. */
    void settled() {
        settled.run();
    }

    boolean isFinished() {
        return finished;
    }

    /** Cancellation by the subscriber: kill the tree, signal nothing. Any thread. */
    void cancel() {
        cancelRequested = true;
        poller.wake(this);
    }

    /** The executor is disposed: kill the tree and signal an error. Any thread. */
    void dispose() {
        disposeRequested = true;
        poller.wake(this);
    }

    void wake() {
        poller.wake(this);
    }

    // ---------------------------------------------------------------- spawn (blocking pool)

    void spawn() {
        if (cancelRequested || disposeRequested) {
            finished = true;
            executor.removed(this);
            if (disposeRequested && !cancelRequested) {
                sink.error(DefaultProcessExecutor.disposedError());
            }
            return;
        }
        Process p;
        RunMarker marker;
        try {
            SystemTools tools = executor.tools();
            List<String> argv = CommandLines.argv(spec, tools);
            ProcessBuilder builder = new ProcessBuilder(argv);
            if (spec.workingDirectory() != null) {
                builder.directory(spec.workingDirectory().toFile());
            }
            Map<String, String> env = builder.environment();
            if (spec.replacesEnvironment()) {
                env.clear();
            }
            env.putAll(spec.environment());
            marker = RunMarker.create();
            marker.addTo(env);
            LOG.log(Level.DEBUG, () -> "Running cmd (subprocess): " + display);
            if (tools.setsid() != null) {
                // behind the setsid wrapper a bad directory would be reported for setsid, and a missing
                // program would look like exit code 127
                CommandLines.checkDirectory(CommandLines.behindSetsid(argv), spec.workingDirectory());
                if (!spec.shell() && spec.rootHelper() == null) {
                    CommandLines.checkExecutable(spec.argv().get(0), env.get("PATH"), spec.workingDirectory());
                }
            }
            p = builder.start();
        } catch (IOException | RuntimeException | Error e) {
            // an Error too (the JDK's reaper thread not created: OutOfMemoryError): the run must end
            finished = true;
            executor.removed(this);
            Throwable cause = masked(e, spec.secretMasker());
            LOG.log(Level.DEBUG, () -> "Got an OSError\ncommand: " + display + "\nerror: " + cause.getMessage());
            if (e instanceof IllegalStateException) {
                sink.error(e); // names the missing tool and the search path, nothing of the command
            } else {
                sink.error(new ProcessExecutionException(display, null, "", "",
                        "Failed to start command: " + cause.getMessage(), cause));
            }
            return;
        }
        startNanos = System.nanoTime();
        process = p;
        pid = p.pid();
        signals = new ProcessSignaller(executor, this, p, marker, display);
        boolean collect = sink.collects();
        out = new PipeReader(this, spec, sink, executor.blocking(), ProcessOutput.Source.STDOUT, p.getInputStream(),
                collect);
        err = new PipeReader(this, spec, sink, executor.blocking(), ProcessOutput.Source.STDERR, p.getErrorStream(),
                collect);
        startStdin(p);
        Consumer<? super ProcessHandle> onStart = spec.onStart();
        if (onStart != null) {
            try {
                onStart.accept(p.toHandle());
            } catch (Throwable e) { // an AssertionError too: the run must go on, and be killable
                LOG.log(Level.WARNING, "onStart hook of " + display + " failed", e);
            }
        }
        poller.register(this);
    }

    /**
     * A copy of {@code e} and its causes with every message masked and the same stack traces: the JDK's
     * start failure names the program and directory, which may hold a secret. An {@code IOException} stays
     * one; another exception becomes a {@code RuntimeException} whose message starts with its class name.
     */
    static Throwable masked(Throwable e, SecretMasker masker) {
        String message = e.getMessage() == null ? null : masker.mask(e.getMessage());
        Throwable copy = e instanceof IOException ? new IOException(message)
                : new RuntimeException(e.getClass().getName() + (message == null ? "" : ": " + message));
        copy.setStackTrace(e.getStackTrace());
        Throwable cause = e.getCause();
        if (cause != null && cause != e) {
            copy.initCause(masked(cause, masker));
        }
        return copy;
    }

    private void startStdin(Process p) {
        OutputStream stdin = p.getOutputStream();
        switch (spec.stdinKind()) {
            case NONE:
                closeQuietly(stdin);
                break;
            case BYTES:
                byte[] bytes = spec.stdinBytes();
                stdinWriter = executor.stdin().schedule(() -> {
                    try (OutputStream os = stdin) {
                        os.write(bytes);
                    } catch (IOException e) {
                        // the child closed its stdin or exited: what it did not read is not needed
                    }
                });
                break;
            case PUBLISHER:
                Publisher<ByteBuffer> input = spec.stdinPublisher();
                stdinWriter = Flux.from(input)
                        .concatMap(buffer -> Mono.fromCallable(() -> write(stdin, buffer))
                                .doOnError(IOException.class, e -> stdinClosedByChild = true)
                                .subscribeOn(executor.stdin()), 1)
                        .then(Mono.fromRunnable(() -> closeQuietly(stdin)).subscribeOn(executor.stdin()))
                        .onErrorResume(e -> {
                            if (stdinClosedByChild) {
                                // the child closed its stdin or exited: what it did not read is not needed
                                return Mono.fromRunnable(() -> closeQuietly(stdin)).subscribeOn(executor.stdin())
                                        .then();
                            }
                            // the input failed: the child must not take the end of its stdin for the end of
                            // the input, so it is killed with its stdin open, and the run fails with the error
                            stdinFailure = e;
                            poller.wake(this);
                            return Mono.empty();
                        })
                        .subscribe();
                break;
            default:
                throw new IllegalStateException(String.valueOf(spec.stdinKind()));
        }
    }

    private static Boolean write(OutputStream os, ByteBuffer buffer) throws IOException {
        if (buffer.hasArray()) {
            os.write(buffer.array(), buffer.arrayOffset() + buffer.position(), buffer.remaining());
        } else {
            byte[] copy = new byte[buffer.remaining()];
            buffer.duplicate().get(copy);
            os.write(copy);
        }
        os.flush();
        return Boolean.TRUE;
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    // ---------------------------------------------------------------- poller thread

    /** The earliest of {@code candidate} and this run's timers. */
    long dueBefore(long candidate) {
        long due = candidate;
        if (hasDeadline && phase == Phase.RUNNING) {
            long deadline = startNanos + deadlineNanos;
            if (!exited) {
                due = earlier(due, deadline);
            } else {
                // after the exit the deadline counts only for a pipe held open: once past it, polling at the
                // deadline would poll on every pass of the poller while a slow subscriber takes the output
                PipeReader o = out;
                PipeReader e = err;
                assert o != null && e != null;
                if (o.probing()) {
                    due = earlier(due, later(deadline, o.heldOpenAt()));
                }
                if (e.probing()) {
                    due = earlier(due, later(deadline, e.heldOpenAt()));
                }
            }
        }
        if (phase == Phase.TERM_SENT && killAtNanos - due < 0) {
            due = killAtNanos;
        }
        return due;
    }

    private static long earlier(long a, long b) {
        return a - b <= 0 ? a : b;
    }

    private static long later(long a, long b) {
        return a - b >= 0 ? a : b;
    }

    boolean pollSafely(long now) {
        try {
            return poll(now);
        } catch (Throwable t) {
            // a bug or an unexpected JDK failure: do not take the poller down with it
            LOG.log(Level.ERROR, "Polling " + display + " failed", t);
            if (phase == Phase.RUNNING) {
                startKill(now);
            }
            if (exited) {
                finish(t);
            }
            return false;
        }
    }

    private boolean poll(long now) {
        if (finished) {
            return false;
        }
        Process p = process;
        PipeReader o = out;
        PipeReader e = err;
        ProcessSignaller s = signals;
        assert p != null && o != null && e != null && s != null;
        boolean progress = false;
        if (!exited && !p.isAlive()) {
            exited = true;
            exitCode = p.exitValue();
            exitNanos = now;
            progress = true;
            if (phase == Phase.TERM_SENT) {
                // the leader is gone: whatever is left of its group gets no more grace
                phase = Phase.KILL_SENT;
                signal("KILL");
            }
        }
        if (phase == Phase.RUNNING) {
            if (cancelRequested || disposeRequested || stdinFailure != null) {
                startKill(now);
            } else if (hasDeadline && now - (startNanos + deadlineNanos) >= 0
                    && (!exited || o.heldOpen(now) || e.heldOpen(now))) {
                // after the exit, the timeout bounds only a wait for descendants that keep a pipe open, not
                // the subscriber taking its time over what the child wrote
                timedOut = true;
                LOG.log(Level.DEBUG, () -> "Command " + display + " timed out; killing its process group");
                startKill(now);
            }
        } else if (phase == Phase.TERM_SENT && now - killAtNanos >= 0) {
            phase = Phase.KILL_SENT;
            signal("KILL");
        }
        boolean killPath = phase != Phase.RUNNING;
        boolean emit = !killPath && !cancelRequested;
        progress |= o.poll(emit, exited, exitNanos, now);
        progress |= e.poll(emit, exited, exitNanos, now);
        if (exited && s.inFlight() == 0) {
            if (!killPath) {
                if (o.drained() && e.drained()) {
                    finish(null);
                }
            } else if (phase == Phase.KILL_SENT) {
                long waited = Math.min(now - exitNanos, now - killStartNanos);
                if ((o.eof && e.eof) || waited >= Math.max(MIN_EOF_WAIT_NANOS, killGraceNanos)) {
                    finish(null);
                }
            }
        }
        return progress;
    }

    private void startKill(long now) {
        phase = Phase.TERM_SENT;
        killStartNanos = now;
        killAtNanos = now + killGraceNanos;
        if (exited) {
            phase = Phase.KILL_SENT;
            signal("KILL");
        } else {
            signal("TERM");
        }
    }

    /**
     * How many of {@code n} bytes just read may be collected under the spec's {@code maxOutput} (both pipes
     * together); the first byte beyond it starts the kill. Poller thread.
     */
    int admitCollected(int n) {
        long room = spec.maxOutput() - collectedBytes;
        int kept = (int) Math.min(n, Math.max(0, room));
        collectedBytes += kept;
        if (kept < n && !outputExceeded) {
            outputExceeded = true;
            LOG.log(Level.DEBUG, () -> "Command " + display + " exceeded maxOutput of " + spec.maxOutput()
                    + " bytes; killing its process group");
            if (phase == Phase.RUNNING) {
                startKill(System.nanoTime());
            }
        }
        return kept;
    }

    /** Sends {@code SIGTERM} or {@code SIGKILL} to the child's process group, on the blocking pool. */
    private void signal(String name) {
        ProcessSignaller signals = this.signals;
        assert signals != null;
        signals.send(name);
    }

    /**
     * Decides the outcome on the poller, then builds and delivers it on the blocking pool after the onExit
     * hook: building decodes and masks the whole collected output (up to {@code maxOutput}), which must not
     * hold up the other runs of the poller.
     */
    private void finish(@Nullable Throwable failure) {
        finished = true;
        Process p = process;
        PipeReader o = out;
        PipeReader e = err;
        assert p != null && o != null && e != null;
        Duration duration = Duration.ofNanos(Math.max(0, exitNanos - startNanos));
        int code = exitCode;
        boolean disposed = failure == null && disposeRequested && !timedOut;
        boolean signalNothing = failure == null && !disposed && cancelRequested && !timedOut;
        boolean exceeded = outputExceeded;
        boolean timeout = timedOut;
        Throwable inputFailure = stdinFailure;
        String outcome = signalNothing ? "cancelled" : timedOut ? "timed out"
                : outputExceeded ? "output exceeded maxOutput" : String.valueOf(code);
        LOG.log(Level.DEBUG, () -> "CMD \"" + display + "\" returned: " + outcome + " in "
                + duration.toMillis() / 1000.0 + "s");
        Disposable writer = stdinWriter;
        if (writer != null) {
            writer.dispose();
        }
        // the pipe readers are not touched by the poller once finished is set; scheduling publishes them
        executor.blocking().schedule(() -> {
            ObjIntConsumer<? super ProcessHandle> onExit = spec.onExit();
            if (onExit != null) {
                try {
                    onExit.accept(p.toHandle(), code);
                } catch (Throwable ex) { // an AssertionError too: the run must still end
                    LOG.log(Level.WARNING, "onExit hook of " + display + " failed", ex);
                }
            }
            closeQuietly(p.getInputStream());
            closeQuietly(p.getErrorStream());
            closeQuietly(p.getOutputStream());
            try {
                if (signalNothing) {
                    return;
                }
                Throwable error = failure != null ? failure : disposed ? DefaultProcessExecutor.disposedError() : null;
                ProcessResult result = null;
                if (error == null) {
                    try {
                        if (exceeded) {
                            error = new ProcessExecutionException(display, code, o.maskedTail(), e.maskedTail(),
                                    "Output exceeded maxOutput of " + spec.maxOutput()
                                            + " bytes; its process group was killed.", null);
                        } else if (timeout) {
                            Duration limit = spec.timeout();
                            assert limit != null;
                            error = new ProcessTimeoutException(display, code, o.maskedText(), e.maskedText(), limit);
                        } else if (inputFailure != null) {
                            error = inputFailure;
                        } else if (!spec.exitCodeAccepted(code)) {
                            error = new ProcessExecutionException(display, code, o.maskedText(), e.maskedText(),
                                    null, null);
                        } else {
                            result = new ProcessResult(display, code, o.collected(), e.collected(), spec.charset(),
                                    duration, pid);
                        }
                    } catch (RuntimeException | OutOfMemoryError ex) {
                        error = ex; // decoding up to maxOutput of output may fail: the subscriber gets that
                    }
                }
                if (error != null) {
                    sink.error(error);
                } else {
                    sink.success(result);
                }
            } finally {
                executor.removed(this);
            }
        });
    }
}
