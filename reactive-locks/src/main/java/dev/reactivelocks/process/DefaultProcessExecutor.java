package dev.reactivelocks.process;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Objects;
import dev.reactivelocks.internal.CleanupBarrier;
import reactor.util.context.ContextView;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;

/**
 * The {@link ProcessExecutor}: a few poller threads plus a bounded pool for the calls that block.
 *
 * @implNote Java's process pipes are blocking {@code InputStream}s that no selector accepts. Reading each
 *     on its own thread (or on {@code boundedElastic}, capped at 10 threads per core) ties threads to
 *     processes and stalls at a few dozen children. Here a run is pinned to one poller thread, which reads
 *     a pipe only while the subscriber has demand and only as many bytes as {@code available()} reports
 *     ({@code FIONREAD}), so the read never blocks; exits are seen through {@code Process.isAlive()}, a
 *     field the JDK's reaper sets, so no {@code onExit()} future is needed (its completion runs on
 *     {@code CompletableFuture}'s default executor, which on a machine with fewer than three cores is a
 *     new thread per task). A poller backs off per run from 50 µs to 4 ms when nothing happens, so exits
 *     and output are noticed within a few milliseconds while idle runs cost a few system calls each.
 *     The calls that may block — {@code ProcessBuilder.start}, the final EOF read, running {@code kill} —
 *     go to a bounded pool that no Reactor thread ever waits for. Stdin writes go to a second pool of the
 *     same cap: a write blocks until the child reads, and a child that never reads would otherwise hold
 *     every thread of the first pool, so that the {@code kill} that would end it (and its write) never ran.
 */
final class DefaultProcessExecutor implements ProcessExecutor {

    private static final AtomicInteger POLLER_IDS = new AtomicInteger();

    private final IoPoller[] pollers;
    private final AtomicInteger nextPoller = new AtomicInteger();
    private final Scheduler blocking;
    private final Scheduler stdin;
    private final Set<ProcessRun> runs = ConcurrentHashMap.newKeySet();
    private final Sinks.Empty<Void> terminated = Sinks.empty();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private volatile @Nullable SystemTools tools;
    private volatile boolean disposed;

    DefaultProcessExecutor(int pollerThreads, int blockingThreads, @Nullable SystemTools tools) {
        this.tools = tools;
        this.blocking = Schedulers.newBoundedElastic(blockingThreads, Integer.MAX_VALUE,
                "reactive-locks-process-blocking", 60, true);
        this.stdin = Schedulers.newBoundedElastic(blockingThreads, Integer.MAX_VALUE,
                "reactive-locks-process-stdin", 60, true);
        this.pollers = new IoPoller[pollerThreads];
        for (int i = 0; i < pollerThreads; i++) {
            pollers[i] = new IoPoller("reactive-locks-process-poller-" + POLLER_IDS.incrementAndGet());
            pollers[i].start();
        }
    }

    static IllegalStateException disposedError() {
        return new IllegalStateException("ProcessExecutor is disposed");
    }

    /** Located on first use, on a blocking-pool thread: it looks at the file system. */
    SystemTools tools() {
        SystemTools t = tools;
        if (t == null) {
            t = SystemTools.locate();
            tools = t;
        }
        return t;
    }

    Scheduler blocking() {
        return blocking;
    }

    /**
     * Where stdin is written: a write blocks until the child reads, which a child may never do before it is
     * killed, and the kill must not wait behind such writes.
     */
    Scheduler stdin() {
        return stdin;
    }

    IoPoller[] pollers() {
        return pollers;
    }

    int running() {
        return runs.size();
    }

    @Override
    public Mono<ProcessResult> execute(ProcessSpec spec) {
        Objects.requireNonNull(spec, "spec");
        Mono<ProcessResult> attempt = Mono.create(sink ->
                start(spec, new RunSink.ToMono(sink), sink::onCancel, sink.contextView()));
        return spec.attempts() == 1 ? attempt : attempt.retryWhen(retry(spec));
    }

    @Override
    public Flux<ProcessOutput> stream(ProcessSpec spec) {
        Objects.requireNonNull(spec, "spec");
        Flux<ProcessOutput> attempt = Flux.create(sink -> {
            RunSink.ToFlux toFlux = new RunSink.ToFlux(sink);
            ProcessRun run = start(spec, toFlux, sink::onCancel, sink.contextView());
            sink.onRequest(n -> {
                toFlux.request(n);
                if (run != null) {
                    run.wake();
                }
            });
        });
        return spec.attempts() == 1 ? attempt : attempt.retryWhen(retry(spec));
    }

    /**
     * Starts one attempt. A {@code withLock} scope around the subscriber learns through
     * {@link CleanupBarrier} when the attempt is settled (child reaped), so that a cancelled scope releases
     * its lock only after the killed child is gone.
     */
    private @Nullable ProcessRun start(ProcessSpec spec, RunSink sink, Consumer<Disposable> onCancel,
                                       ContextView context) {
        if (disposed) {
            sink.error(disposedError());
            return null;
        }
        IoPoller poller = pollers[Math.floorMod(nextPoller.getAndIncrement(), pollers.length)];
        ProcessRun run = new ProcessRun(this, spec, sink, poller, CleanupBarrier.register(context));
        runs.add(run);
        if (disposed) {
            removed(run);
            sink.error(disposedError());
            return null;
        }
        onCancel.accept(run::cancel);
        try {
            blocking.schedule(run::spawn);
        } catch (RejectedExecutionException e) {
            removed(run);
            sink.error(disposedError());
            return null;
        }
        return run;
    }

    private static Retry retry(ProcessSpec spec) {
        return Retry.from(signals -> signals.concatMap(signal -> {
            Throwable failure = signal.failure();
            long attemptsMade = signal.totalRetries() + 1;
            if (attemptsMade < spec.attempts() && retryable(failure)) {
                ProcessRun.LOG.log(Level.DEBUG, () -> "'" + spec.displayCommand() + "' failed. Retrying.");
                return Mono.delay(retryDelay(spec), Schedulers.parallel());
            }
            if (spec.attempts() > 1) {
                ProcessRun.LOG.log(Level.DEBUG, () -> "'" + spec.displayCommand() + "' failed. Not Retrying.");
            }
            return Mono.error(failure);
        }));
    }

    private static boolean retryable(Throwable failure) {
        return failure instanceof ProcessExecutionException && !(failure instanceof ProcessTimeoutException);
    }

    /**
     * A uniformly random pause in {@code [retryDelayMin, retryDelayMax]}; bounds beyond what a {@code long} of
     * nanoseconds holds (about 292 years, which {@code Mono.delay} needs) are capped, as timeouts are.
     */
    static Duration retryDelay(ProcessSpec spec) {
        long min = ProcessRun.saturatedNanos(spec.retryDelayMin());
        long max = ProcessRun.saturatedNanos(spec.retryDelayMax());
        if (min >= max) {
            return Duration.ofNanos(min);
        }
        long bound = max == Long.MAX_VALUE ? max : max + 1; // nextLong's bound is exclusive
        return Duration.ofNanos(ThreadLocalRandom.current().nextLong(min, bound));
    }

    /** A run has delivered its end (or will deliver nothing). */
    void removed(ProcessRun run) {
        runs.remove(run);
        run.settled();
        if (disposed && runs.isEmpty()) {
            stopThreads();
        }
    }

    @Override
    public Mono<Void> disposeLater() {
        return Mono.defer(() -> {
            if (!disposed) {
                disposed = true;
                for (ProcessRun run : runs) {
                    run.dispose();
                }
                if (runs.isEmpty()) {
                    stopThreads();
                }
            }
            return terminated.asMono();
        });
    }

    private void stopThreads() {
        if (stopped.compareAndSet(false, true)) {
            for (IoPoller poller : pollers) {
                poller.stop();
            }
            blocking.dispose();
            stdin.dispose();
            terminated.tryEmitEmpty();
        }
    }

    @Override
    public boolean isDisposed() {
        return disposed;
    }
}
