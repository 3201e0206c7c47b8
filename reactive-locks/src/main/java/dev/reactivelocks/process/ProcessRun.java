package dev.reactivelocks.process;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.ObjIntConsumer;
import dev.reactivelocks.internal.RunMarker;
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
 *  RUNNING ──timeout/cancel/dispose──▶ TERM_SENT ──grace elapsed──▶ KILL_SENT
 *    │ exit, pipes drained             │ leader reaped: SIGKILL to    │ leader reaped
 *    ▼                                 ▼ what is left of the group    ▼
 *  finish: exit-code check        finish (kill path): pipes at EOF or given up, signals delivered
 *                   └──────────┬──────────┘
 *                              ▼  (blocking pool) onExit hook, close pipes, terminal signal
 * </pre>
 *
 * Threading: {@link #spawn()} runs on the executor's blocking pool; everything named poll* and the state
 * below "poller-confined" on the run's poller thread; EOF probes, stdin writes and signals on the blocking
 * pool, handing results back through volatile fields and {@link IoPoller#wake}.
 */
final class ProcessRun {

    static final System.Logger LOG = System.getLogger(ProcessExecutor.class.getName());
    static final int TAIL_BYTES = 64 * 1024;
    private static final int READ_BYTES = 32 * 1024;
    private static final long MIN_EOF_WAIT_NANOS = 200_000_000L;
    private static final long PROBE_AFTER_EXIT_NANOS = 1_000_000L;

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
    private final AtomicInteger signalsInFlight = new AtomicInteger();

    // written by spawn() before register(), which publishes them to the poller
    private @Nullable Process process;
    private long pid;
    private long startNanos;
    private @Nullable Pipe out;
    private @Nullable Pipe err;
    private volatile List<ProcessHandle> descendantsAtTerm = List.of();
    private @Nullable RunMarker marker;

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

    private static long saturatedNanos(Duration d) {
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
        try {
            SystemTools tools = executor.tools();
            ProcessBuilder builder = new ProcessBuilder(CommandLines.argv(spec, tools));
            if (spec.workingDirectory() != null) {
                builder.directory(spec.workingDirectory().toFile());
            }
            Map<String, String> env = builder.environment();
            if (spec.replacesEnvironment()) {
                env.clear();
            }
            env.putAll(spec.environment());
            RunMarker m = RunMarker.create();
            m.addTo(env);
            marker = m;
            LOG.log(Level.DEBUG, () -> "Running cmd (subprocess): " + display);
            if (tools.setsid() != null && !spec.shell() && spec.rootHelper() == null) {
                // behind the setsid wrapper a missing program would look like exit code 127
                CommandLines.checkExecutable(spec.argv().get(0), env.get("PATH"), spec.workingDirectory());
            }
            p = builder.start();
        } catch (IOException | RuntimeException e) {
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
        boolean collect = sink.collects();
        out = new Pipe(ProcessOutput.Source.STDOUT, p.getInputStream(), collect);
        err = new Pipe(ProcessOutput.Source.STDERR, p.getErrorStream(), collect);
        startStdin(p);
        Consumer<? super ProcessHandle> onStart = spec.onStart();
        if (onStart != null) {
            try {
                onStart.accept(p.toHandle());
            } catch (RuntimeException e) {
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
                stdinWriter = executor.blocking().schedule(() -> {
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
                                .subscribeOn(executor.blocking()), 1)
                        .then(Mono.fromRunnable(() -> closeQuietly(stdin)).subscribeOn(executor.blocking()))
                        .onErrorResume(e -> Mono.fromRunnable(() -> closeQuietly(stdin))
                                .subscribeOn(executor.blocking()).then())
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
        if (hasDeadline && phase == Phase.RUNNING && deadlineNanos + startNanos - due < 0) {
            due = startNanos + deadlineNanos;
        }
        if (phase == Phase.TERM_SENT && killAtNanos - due < 0) {
            due = killAtNanos;
        }
        return due;
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
        Pipe o = out;
        Pipe e = err;
        assert p != null && o != null && e != null;
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
            if (cancelRequested || disposeRequested) {
                startKill(now);
            } else if (hasDeadline && now - (startNanos + deadlineNanos) >= 0 && !(exited && o.eof && e.eof)) {
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
        progress |= o.poll(emit, now);
        progress |= e.poll(emit, now);
        if (exited && signalsInFlight.get() == 0) {
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

    /** Sends {@code SIGTERM} or {@code SIGKILL} to the child's process group, on the blocking pool. */
    private void signal(String name) {
        Process p = process;
        assert p != null;
        signalsInFlight.incrementAndGet();
        boolean kill = "KILL".equals(name);
        executor.blocking().schedule(() -> {
            try {
                SystemTools tools = executor.tools();
                if (tools.groupKill()) {
                    signalGroup(tools, name);
                } else {
                    signalDescendants(p, kill);
                }
                signalEscaped(kill);
                // the leader directly too: covers a signal that races the child's own setsid()
                if (kill) {
                    p.destroyForcibly();
                } else {
                    p.destroy();
                }
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "Sending SIG" + name + " to " + display + " failed", e);
            } finally {
                signalsInFlight.decrementAndGet();
                poller.wake(this);
            }
        });
    }

    private void signalGroup(SystemTools tools, String name) {
        String kill = tools.kill();
        assert kill != null;
        try {
            Process k = new ProcessBuilder(kill, "-s", name, "--", "-" + pid)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            k.getOutputStream().close();
            k.waitFor();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "Could not run " + kill + " for " + display + "; signalling descendants", e);
            Process p = process;
            assert p != null;
            signalDescendants(p, "KILL".equals(name));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Signals the processes that left the tree and the group but still carry the run's marker: a grandchild
     * that double-forked and called {@code setsid}, and its own descendants.
     */
    private void signalEscaped(boolean kill) {
        RunMarker m = marker;
        if (m == null) {
            return;
        }
        for (ProcessHandle h : m.carriers()) {
            if (kill) {
                h.destroyForcibly();
            } else {
                h.destroy();
            }
        }
    }

    private void signalDescendants(Process p, boolean kill) {
        List<ProcessHandle> targets = new ArrayList<>(descendantsAtTerm);
        p.toHandle().descendants().forEach(targets::add);
        if (!kill) {
            descendantsAtTerm = List.copyOf(targets);
        }
        for (ProcessHandle h : targets) {
            if (kill) {
                h.destroyForcibly();
            } else {
                h.destroy();
            }
        }
    }

    /** Decides the outcome on the poller, then delivers it on the blocking pool after the onExit hook. */
    private void finish(@Nullable Throwable failure) {
        finished = true;
        Process p = process;
        Pipe o = out;
        Pipe e = err;
        assert p != null && o != null && e != null;
        Duration duration = Duration.ofNanos(Math.max(0, exitNanos - startNanos));
        int code = exitCode;
        Throwable error = failure;
        ProcessResult result = null;
        boolean signalNothing = false;
        if (error == null) {
            if (disposeRequested && !timedOut) {
                error = DefaultProcessExecutor.disposedError();
            } else if (cancelRequested && !timedOut) {
                signalNothing = true;
            } else if (outputExceeded) {
                error = new ProcessExecutionException(display, code, o.maskedTail(), e.maskedTail(),
                        "Output exceeded maxOutput of " + spec.maxOutput() + " bytes; its process group was killed.",
                        null);
            } else if (timedOut) {
                Duration timeout = spec.timeout();
                assert timeout != null;
                error = new ProcessTimeoutException(display, code, o.maskedText(), e.maskedText(), timeout);
            } else if (!spec.exitCodeAccepted(code)) {
                error = new ProcessExecutionException(display, code, o.maskedText(), e.maskedText(), null, null);
            } else {
                result = new ProcessResult(display, code, o.collected(), e.collected(), spec.charset(), duration, pid);
            }
        }
        String outcome = signalNothing ? "cancelled" : timedOut ? "timed out"
                : outputExceeded ? "output exceeded maxOutput" : String.valueOf(code);
        LOG.log(Level.DEBUG, () -> "CMD \"" + display + "\" returned: " + outcome + " in "
                + duration.toMillis() / 1000.0 + "s");
        Disposable writer = stdinWriter;
        if (writer != null) {
            writer.dispose();
        }
        Throwable deliverError = error;
        ProcessResult deliverResult = result;
        boolean deliverNothing = signalNothing;
        executor.blocking().schedule(() -> {
            ObjIntConsumer<? super ProcessHandle> onExit = spec.onExit();
            if (onExit != null) {
                try {
                    onExit.accept(p.toHandle(), code);
                } catch (RuntimeException ex) {
                    LOG.log(Level.WARNING, "onExit hook of " + display + " failed", ex);
                }
            }
            closeQuietly(p.getInputStream());
            closeQuietly(p.getErrorStream());
            closeQuietly(p.getOutputStream());
            try {
                if (deliverNothing) {
                    return;
                }
                if (deliverError != null) {
                    sink.error(deliverError);
                } else {
                    sink.success(deliverResult);
                }
            } finally {
                executor.removed(this);
            }
        });
    }

    /** One pipe of the run: poller-confined except for the EOF probe hand-off. */
    private final class Pipe {
        final ProcessOutput.Source source;
        final InputStream in;
        final boolean collect;
        final byte[] buffer = new byte[READ_BYTES];
        final @Nullable OutputCutter cutter;
        final ArrayDeque<ProcessOutput> pending = new ArrayDeque<>();
        final @Nullable ByteArrayOutputStream all;
        final byte[] tail;
        int tailLength;
        boolean eof;

        /** 0 idle, 1 running on the blocking pool, 2 result ready in probeResult/probeBuffer. */
        volatile int probe;
        int probeResult;
        final byte[] probeBuffer = new byte[8192];

        Pipe(ProcessOutput.Source source, InputStream in, boolean collect) {
            this.source = source;
            this.in = in;
            this.collect = collect;
            this.all = collect ? new ByteArrayOutputStream() : null;
            this.cutter = collect ? null
                    : new OutputCutter(source, spec.outputMode(), spec.charset(), spec.maxLineLength());
            this.tail = collect ? new byte[0] : new byte[TAIL_BYTES];
        }

        boolean drained() {
            return eof && pending.isEmpty();
        }

        /** Emits what is pending and reads more while there is demand; {@code true} on progress. */
        boolean poll(boolean emit, long now) {
            boolean progress = false;
            int state = probe;
            if (state == 1) {
                return false;
            }
            if (state == 2) {
                probe = 0;
                if (probeResult < 0) {
                    markEof();
                } else {
                    feed(probeBuffer, probeResult, emit);
                }
                progress = true;
            }
            if (emit) {
                progress |= emitPending();
            }
            if (eof) {
                return progress;
            }
            // on the kill path (emit == false) pipes are drained into the tail so that the group can die
            boolean wantRead = collect || !emit || (pending.isEmpty() && sink.demand() > 0);
            if (!wantRead && !exited) {
                return progress;
            }
            int available;
            try {
                available = in.available();
            } catch (IOException e) {
                available = -1;
            }
            if (available < 0) {
                markEof();
                return true;
            }
            if (available > 0) {
                if (wantRead) {
                    int n;
                    try {
                        n = in.read(buffer, 0, Math.min(available, buffer.length));
                    } catch (IOException e) {
                        n = -1;
                    }
                    if (n < 0) {
                        markEof();
                    } else {
                        feed(buffer, n, emit);
                    }
                    if (emit) {
                        emitPending();
                    }
                    progress = true;
                }
            } else if (exited && now - exitNanos >= PROBE_AFTER_EXIT_NANOS) {
                // nothing readable and the child is gone: only a read can tell EOF from a pipe that a
                // descendant still holds open, and that read may block, so it runs on the blocking pool.
                // Waiting a moment after the exit lets the JDK's reaper first drain the pipe into memory
                // and close it, after which the read returns at once.
                probe = 1;
                executor.blocking().schedule(this::probe);
            }
            return progress;
        }

        private void probe() {
            int n;
            try {
                n = in.read(probeBuffer, 0, probeBuffer.length);
            } catch (IOException e) {
                n = -1;
            }
            probeResult = n;
            probe = 2;
            poller.wake(ProcessRun.this);
        }

        private void feed(byte[] bytes, int n, boolean emit) {
            if (n <= 0) {
                return;
            }
            if (all != null) {
                collect(bytes, n);
                return;
            }
            appendTail(bytes, n);
            if (emit) {
                assert cutter != null;
                cutter.feed(bytes, 0, n, pending);
            }
        }

        /**
         * Keeps what fits under the spec's {@code maxOutput} (both pipes together); the first byte beyond it
         * starts the kill, and what the dying group still writes is read and dropped.
         */
        private void collect(byte[] bytes, int n) {
            assert all != null;
            long room = spec.maxOutput() - collectedBytes;
            int kept = (int) Math.min(n, Math.max(0, room));
            all.write(bytes, 0, kept);
            collectedBytes += kept;
            if (kept < n && !outputExceeded) {
                outputExceeded = true;
                LOG.log(Level.DEBUG, () -> "Command " + display + " exceeded maxOutput of " + spec.maxOutput()
                        + " bytes; killing its process group");
                if (phase == Phase.RUNNING) {
                    startKill(System.nanoTime());
                }
            }
        }

        private void markEof() {
            eof = true;
            if (cutter != null) {
                cutter.finish(pending);
            }
        }

        private boolean emitPending() {
            boolean progress = false;
            while (!pending.isEmpty() && sink.demand() > 0) {
                sink.next(pending.poll());
                progress = true;
            }
            return progress;
        }

        private void appendTail(byte[] bytes, int n) {
            if (n >= tail.length) {
                System.arraycopy(bytes, n - tail.length, tail, 0, tail.length);
                tailLength = tail.length;
            } else {
                int overflow = tailLength + n - tail.length;
                if (overflow > 0) {
                    System.arraycopy(tail, overflow, tail, 0, tailLength - overflow);
                    tailLength -= overflow;
                }
                System.arraycopy(bytes, 0, tail, tailLength, n);
                tailLength += n;
            }
        }

        byte[] collected() {
            return all != null ? all.toByteArray() : java.util.Arrays.copyOf(tail, tailLength);
        }

        String maskedText() {
            return spec.secretMasker().mask(new String(collected(), spec.charset()));
        }

        /** The last {@value ProcessRun#TAIL_BYTES} bytes of what was collected, decoded and masked. */
        String maskedTail() {
            byte[] bytes = collected();
            int from = Math.max(0, bytes.length - TAIL_BYTES);
            return spec.secretMasker().mask(new String(bytes, from, bytes.length - from, spec.charset()));
        }
    }
}
