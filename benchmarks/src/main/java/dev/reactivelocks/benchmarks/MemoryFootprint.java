package dev.reactivelocks.benchmarks;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.shareddata.Lock;
import io.vertx.core.shareddata.SharedData;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import kotlinx.coroutines.sync.Mutex;
import reactor.core.CoreSubscriber;
import org.reactivestreams.Subscription;
import reactor.core.publisher.Mono;

/**
 * Comparison 7: heap retained per pending waiter, and heap left after many distinct names were used.
 *
 * <p>Each case builds its state, then measures the used heap after repeated {@code System.gc()} rounds
 * (run with {@code -XX:+UseSerialGC -Xms2g -Xmx2g} so that a full collection leaves exactly the live set),
 * before and after the waiters were queued: bytes per waiter = Δheap / waiters. Each case then drains its
 * waiters and checks that every one of them was granted, so the numbers describe real, working waiters.
 *
 * <p>Prints one {@code RESULT <key> <value>} line per number for {@link BenchmarkMain}, which runs each case
 * ({@link #KEYS}) in a fresh JVM so that no case sees another's garbage or JIT state. Run alone with
 * {@code java -XX:+UseSerialGC -Xms2g -Xmx2g -cp benchmarks.jar dev.reactivelocks.benchmarks.MemoryFootprint
 * [key-prefix...]}.
 */
public final class MemoryFootprint {

    static final int WAITERS = 100_000;
    static final int NAMES = 1_000_000;
    static final String NAME = "orders";

    /** Every case, in the order {@link BenchmarkMain} runs them (one fresh JVM each). */
    static final List<String> KEYS = List.of(
            "ours.waiter.minimalSubscriber", "ours.waiter.lambdaSubscribe", "ours.waiter.withLock",
            "kotlin.waiter.direct", "kotlin.waiter.monoBridge", "vertx.waiter",
            "ours.names", "vertx.names", "map.reentrantLock.names", "map.kotlinMutex.names");

    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

    private MemoryFootprint() {
    }

    public static void main(String[] args) throws Exception {
        only = args.clone();
        System.out.printf(Locale.ROOT, "Memory footprint (%s, max heap %d MB)%n",
                ManagementFactory.getRuntimeMXBean().getVmName(), Runtime.getRuntime().maxMemory() >> 20);
        // queueing 100,000 Vert.x waiters copies the waiter list each time (quadratic): no blocked-thread warnings
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setBlockedThreadCheckInterval(3_600_000));
        try {
            Context eventLoop = vertx.getOrCreateContext();
            usedHeap(); // settle

            perWaiter("ours.waiter.minimalSubscriber", "ours: acquire(), minimal subscriber", WAITERS,
                    MemoryFootprint::oursMinimalSubscriber);
            perWaiter("ours.waiter.lambdaSubscribe", "ours: acquire().subscribe(handle -> ...)", WAITERS,
                    MemoryFootprint::oursLambdaSubscribe);
            perWaiter("ours.waiter.withLock", "ours: withLock(name, Mono.just(1)).subscribe()", WAITERS,
                    MemoryFootprint::oursWithLock);
            perWaiter("kotlin.waiter.direct", "kotlinx Mutex.lock(null, continuation) from Java", WAITERS,
                    MemoryFootprint::kotlinDirect);
            perWaiter("kotlin.waiter.monoBridge", "kotlinx mono(Unconfined) { mutex.lock() }, minimal subscriber",
                    WAITERS, MemoryFootprint::kotlinMonoBridge);
            perWaiter("vertx.waiter", "Vert.x getLocalLockWithTimeout on an event loop", WAITERS,
                    n -> vertxWaiters(vertx, eventLoop, n));

            names("ours.names", "ours: 1,000,000 distinct names acquired and released", MemoryFootprint::oursNames);
            names("vertx.names", "Vert.x local locks: 1,000,000 distinct names", () -> vertxNames(vertx, eventLoop));
            names("map.reentrantLock.names", "ConcurrentHashMap<String, ReentrantLock>.computeIfAbsent",
                    MemoryFootprint::mapOfReentrantLocks);
            names("map.kotlinMutex.names", "ConcurrentHashMap<String, Mutex>.computeIfAbsent",
                    MemoryFootprint::mapOfKotlinMutexes);
        } finally {
            vertx.close().await();
        }
    }

    /** Something that queues {@code n} waiters and returns a way to drain them and check they were granted. */
    interface WaiterCase {
        Drain queue(int n) throws Exception;
    }

    interface Drain {
        void drainAndCheck() throws Exception;
    }

    interface NamesCase {
        /** Uses the names, and returns whatever the case keeps reachable (a map, a service). */
        Object run() throws Exception;
    }

    private static String[] only = new String[0];

    /** Cases run unless {@code main} got key prefixes, e.g. {@code ours. vertx.waiter}. */
    private static boolean selected(String key) {
        if (only.length == 0) {
            return true;
        }
        for (String prefix : only) {
            if (key.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    static void perWaiter(String key, String label, int n, WaiterCase c) throws Exception {
        if (!selected(key)) {
            return;
        }
        long before = usedHeap();
        long start = System.nanoTime();
        Drain drain = c.queue(n);
        long queueMillis = (System.nanoTime() - start) / 1_000_000;
        long after = usedHeap();
        drain.drainAndCheck();
        double perWaiter = (double) (after - before) / n;
        System.out.printf(Locale.ROOT, "  %-62s %8.1f bytes per pending waiter (%,d waiters queued in %,d ms)%n",
                label, perWaiter, n, queueMillis);
        System.out.printf(Locale.ROOT, "RESULT %s %.1f%n", key, perWaiter);
    }

    static void names(String key, String label, NamesCase c) throws Exception {
        if (!selected(key)) {
            return;
        }
        long before = usedHeap();
        Object kept = c.run();
        long after = usedHeap();
        java.lang.ref.Reference.reachabilityFence(kept);
        double mb = (after - before) / (1024.0 * 1024.0);
        System.out.printf(Locale.ROOT, "  %-62s %8.1f MB retained after %,d names%n", label, mb, NAMES);
        System.out.printf(Locale.ROOT, "RESULT %s %.2f%n", key, mb);
    }

    /** The used heap after full collections, once two consecutive readings agree within 64 KB. */
    static long usedHeap() throws InterruptedException {
        long last = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            Thread.sleep(50);
            long used = MEMORY.getHeapMemoryUsage().getUsed();
            if (Math.abs(used - last) < 64 * 1024) {
                return Math.min(used, last);
            }
            last = used;
        }
        return last;
    }

    // ---- waiters ------------------------------------------------------------------------------------

    /**
     * The smallest subscriber there is: requests, and releases the handle it receives. A
     * {@code CoreSubscriber}, so Reactor does not wrap it in a {@code StrictSubscriber} (about 40 bytes).
     */
    static final class MinimalSubscriber implements CoreSubscriber<LockHandle> {
        private final AtomicInteger granted;

        MinimalSubscriber(AtomicInteger granted) {
            this.granted = granted;
        }

        @Override
        public void onSubscribe(Subscription s) {
            s.request(1);
        }

        @Override
        public void onNext(LockHandle handle) {
            granted.incrementAndGet();
            handle.release().subscribe();
        }

        @Override
        public void onError(Throwable t) {
            t.printStackTrace();
        }

        @Override
        public void onComplete() {
        }
    }

    static Drain oursMinimalSubscriber(int n) {
        InProcessLockService locks = LockService.builder().build();
        LockHandle holder = locks.acquire(NAME).block();
        AtomicInteger granted = new AtomicInteger();
        Mono<LockHandle> acquire = locks.acquire(NAME);
        for (int i = 0; i < n; i++) {
            acquire.subscribe(new MinimalSubscriber(granted));
        }
        return () -> {
            holder.release().block();
            check("ours (minimal subscriber)", granted.get(), n);
            check("ours names left", locks.size(), 0);
        };
    }

    static Drain oursLambdaSubscribe(int n) {
        InProcessLockService locks = LockService.builder().build();
        LockHandle holder = locks.acquire(NAME).block();
        AtomicInteger granted = new AtomicInteger();
        Mono<LockHandle> acquire = locks.acquire(NAME);
        for (int i = 0; i < n; i++) {
            acquire.subscribe(handle -> {
                granted.incrementAndGet();
                handle.release().subscribe();
            });
        }
        return () -> {
            holder.release().block();
            check("ours (lambda subscribe)", granted.get(), n);
        };
    }

    static Drain oursWithLock(int n) {
        InProcessLockService locks = LockService.builder().build();
        LockHandle holder = locks.acquire(NAME).block();
        AtomicInteger granted = new AtomicInteger();
        Mono<Integer> scoped = locks.withLock(NAME, Mono.fromCallable(granted::incrementAndGet));
        for (int i = 0; i < n; i++) {
            scoped.subscribe();
        }
        return () -> {
            holder.release().block();
            check("ours (withLock)", granted.get(), n);
        };
    }

    static Drain kotlinDirect(int n) {
        Mutex mutex = KotlinMutexes.newMutex();
        check("kotlin tryLock", mutex.tryLock(null) ? 1 : 0, 1);
        AtomicInteger granted = new AtomicInteger();
        for (int i = 0; i < n; i++) {
            Object r = mutex.lock(null, KotlinMutexes.continuation(granted::incrementAndGet));
            if (r != kotlin.coroutines.intrinsics.IntrinsicsKt.getCOROUTINE_SUSPENDED()) {
                throw new IllegalStateException("lock did not suspend");
            }
        }
        return () -> {
            for (int i = 0; i <= n; i++) {
                mutex.unlock(null); // hands over to the next waiter, whose continuation only counts
            }
            check("kotlin (direct)", granted.get(), n);
        };
    }

    static Drain kotlinMonoBridge(int n) {
        Mutex mutex = KotlinMutexes.newMutex();
        check("kotlin tryLock", mutex.tryLock(null) ? 1 : 0, 1);
        AtomicInteger granted = new AtomicInteger();
        Mono<kotlin.Unit> lock = KotlinMutexes.lock(mutex);
        for (int i = 0; i < n; i++) {
            lock.subscribe(new CoreSubscriber<>() {
                @Override
                public void onSubscribe(Subscription s) {
                    s.request(1);
                }

                @Override
                public void onNext(kotlin.Unit unit) {
                    granted.incrementAndGet();
                }

                @Override
                public void onError(Throwable t) {
                    t.printStackTrace();
                }

                @Override
                public void onComplete() {
                }
            });
        }
        return () -> {
            for (int i = 0; i <= n; i++) {
                mutex.unlock(null);
            }
            check("kotlin (mono bridge)", granted.get(), n);
        };
    }

    static Drain vertxWaiters(Vertx vertx, Context eventLoop, int n) throws Exception {
        SharedData sharedData = vertx.sharedData();
        AtomicInteger granted = new AtomicInteger();
        CompletableFuture<Lock> holder = new CompletableFuture<>();
        CompletableFuture<Void> queued = new CompletableFuture<>();
        eventLoop.runOnContext(v -> {
            sharedData.getLocalLockWithTimeout(NAME, Long.MAX_VALUE).onSuccess(holder::complete);
            for (int i = 0; i < n; i++) {
                sharedData.getLocalLockWithTimeout(NAME, Long.MAX_VALUE).onSuccess(lock -> {
                    granted.incrementAndGet();
                    eventLoop.runOnContext(x -> lock.release());
                });
            }
            queued.complete(null);
        });
        queued.get(10, TimeUnit.MINUTES);
        Lock held = holder.get(10, TimeUnit.SECONDS);
        return () -> {
            CompletableFuture<Void> drained = new CompletableFuture<>();
            eventLoop.runOnContext(v -> {
                held.release();
                eventLoop.runOnContext(x -> drained.complete(null));
            });
            drained.get(1, TimeUnit.MINUTES);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (granted.get() < n && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            check("Vert.x", granted.get(), n);
        };
    }

    // ---- names --------------------------------------------------------------------------------------

    static Object oursNames() {
        InProcessLockService locks = LockService.builder().build();
        for (int i = 0; i < NAMES; i++) {
            locks.acquire("name-" + i).flatMap(LockHandle::release).block();
        }
        check("ours names left", locks.size(), 0);
        return locks;
    }

    static Object vertxNames(Vertx vertx, Context eventLoop) throws Exception {
        SharedData sharedData = vertx.sharedData();
        CompletableFuture<Void> done = new CompletableFuture<>();
        eventLoop.runOnContext(v -> new AsyncLoop() {
            int i;

            @Override
            protected boolean startOne() {
                if (i == NAMES) {
                    done.complete(null);
                    return false;
                }
                sharedData.getLocalLockWithTimeout("name-" + i++, Long.MAX_VALUE).onSuccess(lock -> {
                    lock.release();
                    next();
                }).onFailure(done::completeExceptionally);
                return true;
            }
        }.next());
        done.get(5, TimeUnit.MINUTES);
        return sharedData;
    }

    static Object mapOfReentrantLocks() {
        ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();
        for (int i = 0; i < NAMES; i++) {
            ReentrantLock lock = locks.computeIfAbsent("name-" + i, k -> new ReentrantLock());
            lock.lock();
            lock.unlock();
        }
        return locks;
    }

    static Object mapOfKotlinMutexes() {
        ConcurrentHashMap<String, Mutex> locks = new ConcurrentHashMap<>();
        for (int i = 0; i < NAMES; i++) {
            Mutex mutex = locks.computeIfAbsent("name-" + i, k -> KotlinMutexes.newMutex());
            mutex.tryLock(null);
            mutex.unlock(null);
        }
        return locks;
    }

    static void check(String what, long actual, long expected) {
        if (actual != expected) {
            throw new IllegalStateException(what + ": expected " + expected + " but was " + actual);
        }
    }
}
