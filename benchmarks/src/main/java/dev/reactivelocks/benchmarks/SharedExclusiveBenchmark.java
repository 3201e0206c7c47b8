package dev.reactivelocks.benchmarks;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Comparison 3: a 90 % shared / 10 % exclusive mix on one name, {@value Mixed#WORKERS} concurrent workers,
 * {@value Mixed#BUDGET} operations per invocation (every tenth ticket is exclusive, so the mix is exact and
 * the same for every candidate). The critical section burns {@value Mixed#WORK} JMH CPU tokens; shared holders
 * read a counter that exclusive holders increment, and the count is checked after every round.
 *
 * <p>Ours: {@value Mixed#WORKERS} reactive pipelines started on {@code Schedulers.parallel()} (2 threads),
 * {@code acquire(name, shared()/exclusive())}, critical section in {@code onNext}, then {@code release()}.
 * Baseline: {@code ReentrantReadWriteLock} (non-fair default, and fair) with one platform thread per worker.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class SharedExclusiveBenchmark {

    static final String NAME = "catalog";

    @State(Scope.Benchmark)
    public abstract static class Mixed {
        static final int WORKERS = 8;
        static final int BUDGET = 40_000;
        static final int WORK = 50;

        final AtomicInteger budget = new AtomicInteger();
        volatile CountDownLatch done = new CountDownLatch(0);
        volatile @Nullable Throwable failure;
        long value;
        long exclusiveOps;

        @Setup(Level.Trial)
        public void setUpTrial() {
            open();
        }

        @TearDown(Level.Trial)
        public void tearDownTrial() {
            close();
        }

        abstract void open();

        abstract void startWorkers();

        abstract void close();

        final void round() throws Exception {
            budget.set(BUDGET);
            done = new CountDownLatch(WORKERS);
            startWorkers();
            if (!done.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("round did not finish in 60s");
            }
            Throwable f = failure;
            if (f != null) {
                throw new IllegalStateException("round failed", f);
            }
            exclusiveOps += BUDGET / 10;
            if (value != exclusiveOps) {
                throw new IllegalStateException("lost exclusive updates: " + value + " != " + exclusiveOps);
            }
        }

        /** @return the ticket (> 0), or 0 when the budget is spent; tickets divisible by 10 are exclusive */
        final int takeTicket() {
            int t = budget.getAndDecrement();
            return Math.max(t, 0);
        }

        final long readShared() {
            Blackhole.consumeCPU(WORK);
            return value;
        }

        final void writeExclusive() {
            Blackhole.consumeCPU(WORK);
            value++;
        }

        final void fail(Throwable e) {
            failure = e;
            while (done.getCount() > 0) {
                done.countDown();
            }
        }
    }

    public static class Ours extends Mixed {
        InProcessLockService locks;
        final List<AsyncLoop> pipelines = new ArrayList<>();
        volatile long sink;

        @Override
        void open() {
            locks = LockService.builder().build();
            Mono<LockHandle> shared = locks.acquire(NAME, LockOptions.shared());
            Mono<LockHandle> exclusive = locks.acquire(NAME, LockOptions.exclusive());
            for (int i = 0; i < WORKERS; i++) {
                pipelines.add(new AsyncLoop() {
                    @Override
                    protected boolean startOne() {
                        int ticket = takeTicket();
                        if (ticket == 0) {
                            return false;
                        }
                        boolean write = ticket % 10 == 0;
                        (write ? exclusive : shared).subscribe(handle -> {
                            if (write) {
                                writeExclusive();
                            } else {
                                sink = readShared();
                            }
                            handle.release().subscribe();
                            next();
                        }, Ours.this::fail);
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
        void startWorkers() {
            for (AsyncLoop p : pipelines) {
                Schedulers.parallel().schedule(p::next);
            }
        }

        @Override
        void close() {
            locks.dispose();
        }
    }

    public abstract static class Threads extends Mixed {
        final List<Thread> threads = new ArrayList<>();
        final CyclicBarrier start = new CyclicBarrier(WORKERS + 1);
        ReentrantReadWriteLock lock;
        volatile long sink;

        abstract ReentrantReadWriteLock newLock();

        @Override
        void open() {
            lock = newLock();
            for (int i = 0; i < WORKERS; i++) {
                Thread t = new Thread(this::run, "rw-" + i);
                t.setDaemon(true);
                t.start();
                threads.add(t);
            }
        }

        private void run() {
            try {
                for (;;) {
                    start.await();
                    int ticket;
                    while ((ticket = takeTicket()) != 0) {
                        if (ticket % 10 == 0) {
                            lock.writeLock().lock();
                            try {
                                writeExclusive();
                            } finally {
                                lock.writeLock().unlock();
                            }
                        } else {
                            lock.readLock().lock();
                            try {
                                sink = readShared();
                            } finally {
                                lock.readLock().unlock();
                            }
                        }
                    }
                    done.countDown();
                }
            } catch (InterruptedException | BrokenBarrierException e) {
                // trial over
            }
        }

        @Override
        void startWorkers() {
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

    public static class RwUnfair extends Threads {
        @Override
        ReentrantReadWriteLock newLock() {
            return new ReentrantReadWriteLock(false);
        }
    }

    public static class RwFair extends Threads {
        @Override
        ReentrantReadWriteLock newLock() {
            return new ReentrantReadWriteLock(true);
        }
    }

    @Benchmark
    @OperationsPerInvocation(Mixed.BUDGET)
    public void ours_sharedExclusive(Ours s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Mixed.BUDGET)
    public void readWriteLock_threads(RwUnfair s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Mixed.BUDGET)
    public void readWriteLockFair_threads(RwFair s) throws Exception {
        s.round();
    }
}
