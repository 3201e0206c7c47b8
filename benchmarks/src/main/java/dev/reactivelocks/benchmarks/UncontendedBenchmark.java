package dev.reactivelocks.benchmarks;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.shareddata.SharedData;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import kotlinx.coroutines.sync.Mutex;
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
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;

/**
 * Comparison 1: one uncontended acquire + release of one lock name, single caller.
 *
 * <p>Synchronous candidates run on the JMH thread. Vert.x local locks must be called on a Vert.x context,
 * so that candidate runs {@value #BATCH} sequential acquire/release steps on one event loop per invocation
 * (one thread hop per batch, amortised); {@link #ours_acquireRelease_eventLoopBatch} runs ours in that
 * same harness so the two can be compared like for like.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Thread)
public class UncontendedBenchmark {

    static final String NAME = "orders";
    static final int BATCH = 10_000;

    InProcessLockService locks;
    Mono<Void> acquireRelease;
    /** The floor: {@code acquireRelease}'s operator chain around a ready-made handle, no lock at all. */
    Mono<Void> reactorFloor;
    /** The floor of a lock whose acquisition is a subscription: {@link ReadyMade} in the same chain. */
    Mono<Void> subscriptionFloor;
    LockService floorLocks;
    Mono<Integer> withLockJust;
    ReentrantLock reentrantLock;
    Mutex mutex;
    Mono<Integer> mutexWithLockJust;
    Vertx vertx;
    Context eventLoop;
    SharedData sharedData;
    Consumer<Object> sink;

    @Setup(Level.Trial)
    public void setUp(Blackhole bh) {
        locks = LockService.builder().build();
        acquireRelease = locks.acquire(NAME).flatMap(LockHandle::release);
        floorLocks = LockService.builder().build();
        LockHandle readyMade = floorLocks.acquire(NAME).block();
        reactorFloor = Mono.just(readyMade).flatMap(h -> Mono.empty());
        subscriptionFloor = new ReadyMade(readyMade).flatMap(h -> Mono.empty());
        withLockJust = locks.withLock(NAME, Mono.just(1));
        reentrantLock = new ReentrantLock();
        mutex = KotlinMutexes.newMutex();
        mutexWithLockJust = KotlinMutexes.withLock(mutex, Mono.just(1));
        vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        eventLoop = vertx.getOrCreateContext();
        sharedData = vertx.sharedData();
        sink = bh::consume;
    }

    @TearDown(Level.Iteration)
    public void checkNothingHeld() {
        if (locks.size() != 0 || reentrantLock.isLocked() || mutex.isLocked()) {
            throw new IllegalStateException("a lock was left held: " + locks + ", " + reentrantLock + ", " + mutex);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        locks.dispose();
        floorLocks.dispose();
        vertx.close().await();
    }

    /** Ours: {@code acquire(name).flatMap(LockHandle::release)}, granted and released synchronously. */
    @Benchmark
    public void ours_acquireRelease() {
        acquireRelease.subscribe();
    }

    /**
     * The floor of any {@code Mono}-based lock: {@code Mono.just(handle).flatMap(h -> Mono.empty())}, the same
     * operator chain and subscriber as {@link #ours_acquireRelease} around a handle acquired once at set-up.
     */
    @Benchmark
    public void reactorFloor() {
        reactorFloor.subscribe();
    }

    /**
     * The floor of any lock whose acquisition is known only at subscription, as every lock's is: the chain of
     * {@link #reactorFloor} around {@link ReadyMade}, which gives each subscriber a subscription of its own and
     * emits the ready-made handle on request, with no lock, no atomic update and no check.
     */
    @Benchmark
    public void subscriptionFloor() {
        subscriptionFloor.subscribe();
    }

    /** Ours: {@code withLock(name, Mono.just(1))} (a {@code usingWhen} scope). */
    @Benchmark
    public void ours_withLock() {
        withLockJust.subscribe(sink);
    }

    /** Baseline: {@code ReentrantLock.lock(); unlock()} on the calling thread. */
    @Benchmark
    public void reentrantLock_lockUnlock() {
        reentrantLock.lock();
        reentrantLock.unlock();
    }

    /** Baseline: kotlinx {@code Mutex.tryLock(null); unlock(null)} (never suspends). */
    @Benchmark
    public void kotlinMutex_tryLockUnlock() {
        if (!mutex.tryLock(null)) {
            throw new IllegalStateException("uncontended tryLock failed");
        }
        mutex.unlock(null);
    }

    /** Baseline: kotlinx {@code mono(Unconfined) { mutex.lock() }}, body {@code Mono.just(1)}, then unlock. */
    @Benchmark
    public void kotlinMutex_lockViaMonoBridge() {
        mutexWithLockJust.subscribe(sink);
    }

    /** Baseline: Vert.x {@code getLocalLockWithTimeout} + {@code release()}, batches on an event loop. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void vertx_localLock_eventLoopBatch() throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        eventLoop.runOnContext(v -> new AsyncLoop() {
            int remaining = BATCH;

            @Override
            protected boolean startOne() {
                if (remaining-- == 0) {
                    done.complete(null);
                    return false;
                }
                sharedData.getLocalLockWithTimeout(NAME, Long.MAX_VALUE)
                        .onSuccess(lock -> {
                            lock.release();
                            next();
                        })
                        .onFailure(done::completeExceptionally);
                return true;
            }
        }.next());
        done.get(60, TimeUnit.SECONDS);
    }

    /** Ours in the Vert.x harness: the same batches on the same event loop, through the same loop driver. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void ours_acquireRelease_eventLoopBatch() throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        eventLoop.runOnContext(v -> new AsyncLoop() {
            int remaining = BATCH;

            @Override
            protected boolean startOne() {
                if (remaining-- == 0) {
                    done.complete(null);
                    return false;
                }
                locks.acquire(NAME).subscribe(handle -> {
                    handle.release().subscribe();
                    next();
                }, done::completeExceptionally);
                return true;
            }
        }.next());
        done.get(60, TimeUnit.SECONDS);
    }

    /**
     * A {@code Mono} that emits a ready-made handle through a subscription of its own per subscriber: what a
     * lock's acquisition costs Reactor without the lock.
     */
    static final class ReadyMade extends Mono<LockHandle> {
        final LockHandle handle;

        ReadyMade(LockHandle handle) {
            this.handle = handle;
        }

        @Override
        public void subscribe(CoreSubscriber<? super LockHandle> actual) {
            actual.onSubscribe(new Subscription() {
                boolean emitted;

                @Override
                public void request(long n) {
                    if (!emitted) {
                        emitted = true;
                        actual.onNext(handle);
                        actual.onComplete();
                    }
                }

                @Override
                public void cancel() {
                    emitted = true;
                }
            });
        }
    }
}
