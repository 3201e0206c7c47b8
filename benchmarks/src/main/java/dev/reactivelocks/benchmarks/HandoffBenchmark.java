package dev.reactivelocks.benchmarks;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockService;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.shareddata.SharedData;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import kotlinx.coroutines.sync.Mutex;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Comparison 2: contended hand-off. {@value Contended#PIPELINES} pipelines loop on one lock name; each
 * critical section hops once to another scheduler ({@code Schedulers.parallel()}) before it ends (the
 * {@code *_noHop} rows: the critical section completes synchronously, and each pipeline continues on a
 * {@code parallel} worker, so the pipelines contend from both cores and the score is the lock's own hand-off
 * cost). One
 * invocation hands the lock over {@value Contended#BUDGET} times in total (pipelines take tickets from a
 * shared budget), so the score is hand-offs per second, and the grants each pipeline got measure fairness
 * (written per trial by {@link Fairness}). Every critical section checks mutual exclusion.
 *
 * <ul>
 *   <li>ours: {@code withLock(name, body)}, waiters granted on the releasing thread;</li>
 *   <li>kotlinx {@code Mutex} through {@code mono(Dispatchers.Unconfined) { mutex.lock() }} and {@code usingWhen};</li>
 *   <li>Vert.x {@code getLocalLockWithTimeout}: each pipeline lives on one of two event loops; the grant is
 *       delivered on the waiter's event loop, the critical section hops to {@code parallel} and releases there,
 *       then the pipeline continues on its own event loop (the Vert.x threading model);</li>
 *   <li>{@code ReentrantLock} (non-fair, the default, and fair): one platform thread per pipeline, which waits
 *       for the hop while holding the lock.</li>
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class HandoffBenchmark {

    static final String NAME = "orders";

    /** What every candidate shares: the ticket budget, the mutual-exclusion check and the fairness record. */
    public abstract static class Contended extends ContendedRounds {
        static final int PIPELINES = 200;
        static final int BUDGET = 20_000;

        final AtomicInteger inside = new AtomicInteger();
        final Scheduler hop = Schedulers.parallel();

        Contended() {
            super(PIPELINES);
        }

        /** Whether the critical section hops to {@link #hop} before it ends; the {@code NoHop} states say no. */
        boolean hopInside() {
            return true;
        }

        /** The body of a reactive candidate: enter, (hop,) exit. */
        final Mono<Integer> body(int id) {
            Mono<Integer> entered = Mono.fromCallable(() -> {
                enter();
                return id;
            });
            return (hopInside() ? entered.publishOn(hop) : entered).doOnNext(this::exit);
        }

        /** What a reactive pipeline does once its critical section ended: go on here, or on a {@link #hop} worker. */
        final void continueAfter(AsyncLoop pipeline) {
            if (hopInside()) {
                pipeline.next();
            } else {
                hop.schedule(pipeline::next);
            }
        }

        abstract void startPipelines();

        /** One invocation: {@value #BUDGET} hand-offs over all pipelines. */
        final void round() throws Exception {
            runRound(BUDGET, PIPELINES, this::startPipelines, 60);
        }

        final void enter() {
            if (inside.incrementAndGet() != 1) {
                fail(new IllegalStateException("two holders inside the critical section"));
            }
        }

        final void exit(int pipeline) {
            grants[pipeline]++;
            inside.decrementAndGet();
        }
    }

    /**
     * A reactive candidate: one pipeline per contender, each looping over the candidate's lock around
     * {@link #body}, started on {@link #hop}.
     */
    public abstract static class ReactivePipelines extends Contended {
        final List<AsyncLoop> pipelines = new ArrayList<>();

        /** Opens the candidate's lock, before the pipelines' steps are made. */
        abstract void openLock();

        /** @return the candidate's lock around {@code body}: one step of a pipeline */
        abstract Mono<Integer> step(Mono<Integer> body);

        @Override
        final void open() {
            openLock();
            for (int i = 0; i < PIPELINES; i++) {
                Mono<Integer> step = step(body(i));
                pipelines.add(new AsyncLoop() {
                    @Override
                    protected boolean startOne() {
                        return takeTicket() && start();
                    }

                    private boolean start() {
                        step.subscribe(v -> continueAfter(this), ReactivePipelines.this::fail);
                        return true;
                    }

                    @Override
                    protected void finished() {
                        done.countDown();
                    }
                });
            }
        }

        @Override
        final void startPipelines() {
            for (AsyncLoop p : pipelines) {
                hop.schedule(p::next);
            }
        }
    }

    /** Ours: {@code withLock(NAME, body)} where the body enters, hops to {@code parallel}, and exits. */
    public static class Ours extends ReactivePipelines {
        InProcessLockService locks;

        @Override
        void openLock() {
            locks = LockService.builder().build();
        }

        @Override
        Mono<Integer> step(Mono<Integer> body) {
            return locks.withLock(NAME, body);
        }

        @Override
        void close() {
            locks.dispose();
        }
    }

    /** kotlinx {@code Mutex} through the coroutines-reactor bridge, same body as ours. */
    public static class KotlinMutex extends ReactivePipelines {
        Mutex mutex;

        @Override
        void openLock() {
            mutex = KotlinMutexes.newMutex();
        }

        @Override
        Mono<Integer> step(Mono<Integer> body) {
            return KotlinMutexes.withLock(mutex, body);
        }

        @Override
        void close() {
        }
    }

    /** Vert.x local locks; pipelines spread over two event loops (the machine has two cores). */
    public static class VertxLocalLock extends Contended {
        Vertx vertx;
        final List<Runnable> starters = new ArrayList<>();

        @Override
        void open() {
            vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
            SharedData sharedData = vertx.sharedData();
            List<Context> loops = VertxContexts.eventLoops(vertx, 2);
            for (int i = 0; i < PIPELINES; i++) {
                int id = i;
                Context ctx = loops.get(i % loops.size());
                AsyncLoop loop = new AsyncLoop() {
                    @Override
                    protected boolean startOne() {
                        return takeTicket() && start();
                    }

                    private boolean start() {
                        sharedData.getLocalLockWithTimeout(NAME, Long.MAX_VALUE)
                                .onSuccess(lock -> {
                                    enter();
                                    if (!hopInside()) {
                                        exit(id);
                                        lock.release();
                                        ctx.runOnContext(v -> next());
                                        return;
                                    }
                                    hop.schedule(() -> {
                                        exit(id);
                                        lock.release();
                                        ctx.runOnContext(v -> next());
                                    });
                                })
                                .onFailure(VertxLocalLock.this::fail);
                        return true;
                    }

                    @Override
                    protected void finished() {
                        done.countDown();
                    }
                };
                starters.add(() -> ctx.runOnContext(v -> loop.next()));
            }
        }

        @Override
        void startPipelines() {
            starters.forEach(Runnable::run);
        }

        @Override
        void close() {
            vertx.close().await();
        }
    }

    /** {@code ReentrantLock}: one platform thread per pipeline, blocked while it waits for the lock. */
    public abstract static class ThreadPerPipeline extends Contended {
        final List<Thread> threads = new ArrayList<>();
        final CyclicBarrier start = new CyclicBarrier(PIPELINES + 1);
        ReentrantLock lock;

        abstract ReentrantLock newLock();

        @Override
        void open() {
            lock = newLock();
            for (int i = 0; i < PIPELINES; i++) {
                int id = i;
                Thread t = new Thread(() -> run(id), "handoff-" + i);
                t.setDaemon(true);
                t.start();
                threads.add(t);
            }
        }

        private void run(int id) {
            try {
                for (;;) {
                    start.await();
                    while (takeTicket()) {
                        lock.lock();
                        try {
                            enter();
                            if (hopInside()) {
                                CompletableFuture<Void> hopped = new CompletableFuture<>();
                                hop.schedule(() -> hopped.complete(null));
                                hopped.join();
                            }
                            exit(id);
                        } finally {
                            lock.unlock();
                        }
                    }
                    done.countDown();
                }
            } catch (InterruptedException | BrokenBarrierException e) {
                // trial over
            }
        }

        @Override
        void startPipelines() {
            try {
                start.await(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                fail(e);
            }
        }

        @Override
        void close() {
            threads.forEach(Thread::interrupt);
        }
    }

    public static class ReentrantLockUnfair extends ThreadPerPipeline {
        @Override
        ReentrantLock newLock() {
            return new ReentrantLock(false);
        }
    }

    public static class ReentrantLockFair extends ThreadPerPipeline {
        @Override
        ReentrantLock newLock() {
            return new ReentrantLock(true);
        }
    }

    /** Ours without the hop: the critical section completes synchronously. */
    public static class OursNoHop extends Ours {
        @Override
        boolean hopInside() {
            return false;
        }
    }

    /** kotlinx {@code Mutex} without the hop. */
    public static class KotlinMutexNoHop extends KotlinMutex {
        @Override
        boolean hopInside() {
            return false;
        }
    }

    /** Vert.x local locks without the hop: the critical section ends on the waiter's event loop. */
    public static class VertxLocalLockNoHop extends VertxLocalLock {
        @Override
        boolean hopInside() {
            return false;
        }
    }

    /** Non-fair {@code ReentrantLock} without the hop. */
    public static class ReentrantLockUnfairNoHop extends ReentrantLockUnfair {
        @Override
        boolean hopInside() {
            return false;
        }
    }

    @Benchmark
    @OperationsPerInvocation(Contended.BUDGET)
    public void ours_withLock(Ours s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Contended.BUDGET)
    public void kotlinMutex_lockViaMonoBridge(KotlinMutex s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Contended.BUDGET)
    public void vertx_localLock(VertxLocalLock s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Contended.BUDGET)
    public void reentrantLock_threads(ReentrantLockUnfair s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Contended.BUDGET)
    public void reentrantLockFair_threads(ReentrantLockFair s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Contended.BUDGET)
    public void ours_withLock_noHop(OursNoHop s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Contended.BUDGET)
    public void kotlinMutex_lockViaMonoBridge_noHop(KotlinMutexNoHop s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Contended.BUDGET)
    public void vertx_localLock_noHop(VertxLocalLockNoHop s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Contended.BUDGET)
    public void reentrantLock_threads_noHop(ReentrantLockUnfairNoHop s) throws Exception {
        s.round();
    }
}
