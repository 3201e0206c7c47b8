package dev.reactivelocks.blocking;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import dev.reactivelocks.LockHandle;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.SignalType;
import reactor.core.publisher.Sinks;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Many platform threads using every blocking entry point, reactive holders on the parallel scheduler, and a
 * thread that interrupts the blocking ones at random, all on one lock name. Checks that exclusive holders
 * are alone and shared holders never overlap an exclusive one, that a plain (non-volatile) counter written
 * only under the exclusive lock loses no update (memory effects), and that nothing is left held or queued.
 */
class MixedHoldersTest {

    private static final String NAME = "orders";

    private final InProcessLockService service = LockService.builder().build();
    private final BlockingLockService locks = BlockingLockService.of(service);

    private final AtomicInteger exclusiveNow = new AtomicInteger();
    private final AtomicInteger sharedNow = new AtomicInteger();
    private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
    private final AtomicLong exclusiveEntries = new AtomicLong();
    private final AtomicLong sharedEntries = new AtomicLong();
    private long guarded; // written only while holding the lock exclusively

    @AfterEach
    void tearDown() {
        service.dispose();
    }

    @Test
    void blockingAndReactiveHoldersOfOneNameExcludeEachOther() throws Exception {
        run(8, 1_500, 10_000);
    }

    @Test
    @Tag("loops")
    void blockingAndReactiveHoldersOfOneNameExcludeEachOther_loop() throws Exception {
        for (int i = 0; i < 5; i++) {
            run(16, 10_000, 100_000);
        }
    }

    private void enter(LockMode mode, String who) {
        if (mode == LockMode.EXCLUSIVE) {
            int e = exclusiveNow.incrementAndGet();
            int s = sharedNow.get();
            if (e != 1 || s != 0) {
                violations.add(who + " EXCLUSIVE entered with exclusive=" + e + ", shared=" + s);
            }
            guarded++;
            exclusiveEntries.incrementAndGet();
        } else {
            sharedNow.incrementAndGet();
            int e = exclusiveNow.get();
            if (e != 0) {
                violations.add(who + " SHARED entered with exclusive=" + e);
            }
            sharedEntries.incrementAndGet();
        }
        for (int i = ThreadLocalRandom.current().nextInt(50); i > 0; i--) {
            Thread.onSpinWait();
        }
    }

    private void exit(LockMode mode) {
        if (mode == LockMode.EXCLUSIVE) {
            exclusiveNow.decrementAndGet();
        } else {
            sharedNow.decrementAndGet();
        }
    }

    private void run(int threadCount, int opsPerThread, int reactiveOps) throws Exception {
        exclusiveEntries.set(0);
        sharedEntries.set(0);
        guarded = 0;
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(threadCount);
        List<Thread> workers = new ArrayList<>();
        AtomicLong interrupts = new AtomicLong();
        AtomicLong gaveUp = new AtomicLong();
        ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();

        for (int t = 0; t < threadCount; t++) {
            Thread worker = new Thread(() -> {
                try {
                    for (int i = 0; i < opsPerThread; i++) {
                        try {
                            if (!blockingOp(ThreadLocalRandom.current().nextInt(10))) {
                                gaveUp.incrementAndGet();
                            }
                        } catch (InterruptedException e) {
                            interrupts.incrementAndGet();
                        } catch (LockTimeoutException e) {
                            gaveUp.incrementAndGet();
                        }
                    }
                } catch (Throwable e) {
                    unexpected.add(e);
                } finally {
                    Thread.interrupted();
                    done.countDown();
                }
            }, "mixed-blocking-" + t);
            workers.add(worker);
        }
        Thread chaos = new Thread(() -> {
            while (!stop.get()) {
                workers.get(ThreadLocalRandom.current().nextInt(workers.size())).interrupt();
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(200));
            }
        }, "mixed-interrupter");

        Mono<Long> reactive = Flux.range(0, reactiveOps)
                .flatMap(i -> reactiveOp(i).onErrorResume(LockTimeoutException.class, e -> Mono.empty()), 16)
                .count()
                .subscribeOn(Schedulers.parallel());

        workers.forEach(Thread::start);
        chaos.start();
        java.util.concurrent.CompletableFuture<Long> reactiveFuture = reactive.toFuture();
        Long reactiveDone;
        try {
            reactiveDone = reactiveFuture.get(5, TimeUnit.MINUTES);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("reactive operations did not finish: " + diagnostics(workers), e);
        }
        assertThat(done.await(5, TimeUnit.MINUTES)).as("blocking workers finished: %s", diagnostics(workers)).isTrue();
        stop.set(true);
        chaos.join(TimeUnit.SECONDS.toMillis(10));

        System.out.printf("MixedHoldersTest: %d exclusive and %d shared entries, %d interrupted waits, "
                + "%d attempts gave up, %d reactive operations%n", exclusiveEntries.get(), sharedEntries.get(),
                interrupts.get(), gaveUp.get(), reactiveDone);
        assertThat(unexpected).isEmpty();
        assertThat(violations).isEmpty();
        assertThat(reactiveDone).isNotNull();
        assertThat(guarded).as("updates under the exclusive lock").isEqualTo(exclusiveEntries.get());
        assertThat(exclusiveEntries.get()).isPositive();
        assertThat(sharedEntries.get()).isPositive();
        Conditions.awaitIdle(service, NAME);
        assertThat(service.size()).as("nothing held or queued").isZero();
    }

    private String diagnostics(List<Thread> workers) {
        StringBuilder b = new StringBuilder().append(service.stats(NAME));
        for (Thread w : workers) {
            b.append("\n").append(w.getName()).append(' ').append(w.getState());
            for (StackTraceElement e : w.getStackTrace()) {
                b.append("\n    at ").append(e);
            }
        }
        return b.toString();
    }

    /** One blocking operation; returns false when it gave up without holding. */
    private boolean blockingOp(int kind) throws InterruptedException {
        String who = Thread.currentThread().getName() + " op" + kind;
        switch (kind) {
            case 0: {
                try (BlockingLockHandle h = locks.lock(NAME)) {
                    enter(LockMode.EXCLUSIVE, who);
                    exit(LockMode.EXCLUSIVE);
                }
                return true;
            }
            case 1: {
                try (BlockingLockHandle h = locks.lock(NAME, LockOptions.shared().timeout(Duration.ofMillis(1)))) {
                    enter(LockMode.SHARED, who);
                    exit(LockMode.SHARED);
                }
                return true;
            }
            case 2: {
                Optional<BlockingLockHandle> h = locks.tryLock(NAME);
                if (h.isEmpty()) {
                    return false;
                }
                try (BlockingLockHandle held = h.get()) {
                    enter(LockMode.EXCLUSIVE, who);
                    exit(LockMode.EXCLUSIVE);
                }
                return true;
            }
            case 3: {
                Optional<BlockingLockHandle> h =
                        locks.tryLock(NAME, LockOptions.exclusive().timeout(Duration.ofMillis(2)));
                if (h.isEmpty()) {
                    return false;
                }
                try (BlockingLockHandle held = h.get()) {
                    enter(LockMode.EXCLUSIVE, who);
                    exit(LockMode.EXCLUSIVE);
                }
                return true;
            }
            case 4:
                return locks.withLock(NAME, LockOptions.shared(), () -> {
                    enter(LockMode.SHARED, who);
                    exit(LockMode.SHARED);
                    return true;
                });
            case 5: {
                Lock lock = locks.asLock(NAME);
                lock.lock(); // ignores the interrupter
                try {
                    enter(LockMode.EXCLUSIVE, who);
                    exit(LockMode.EXCLUSIVE);
                } finally {
                    lock.unlock();
                }
                return true;
            }
            case 6: {
                Lock lock = locks.asLock(NAME);
                lock.lockInterruptibly();
                try {
                    enter(LockMode.EXCLUSIVE, who);
                    exit(LockMode.EXCLUSIVE);
                } finally {
                    lock.unlock();
                }
                return true;
            }
            case 7: {
                Lock lock = locks.asLock(NAME);
                if (!lock.tryLock(1, TimeUnit.MILLISECONDS)) {
                    return false;
                }
                try {
                    enter(LockMode.EXCLUSIVE, who);
                    exit(LockMode.EXCLUSIVE);
                } finally {
                    lock.unlock();
                }
                return true;
            }
            case 8: {
                ReadWriteLock rw = locks.asReadWriteLock(NAME);
                rw.readLock().lockInterruptibly();
                try {
                    enter(LockMode.SHARED, who);
                    exit(LockMode.SHARED);
                } finally {
                    rw.readLock().unlock();
                }
                return true;
            }
            default: {
                ReadWriteLock rw = locks.asReadWriteLock(NAME);
                if (!rw.writeLock().tryLock()) {
                    return false;
                }
                try {
                    enter(LockMode.EXCLUSIVE, who);
                    exit(LockMode.EXCLUSIVE);
                } finally {
                    rw.writeLock().unlock();
                }
                return true;
            }
        }
    }

    /**
     * Subscribes to an acquisition and cancels it after a random delay, so that cancels race grants. The
     * subscriber releases every handle it receives, even after its own cancel: a late onNext is the
     * subscriber's to release (an operator that cancels its source may drop an onNext racing that cancel,
     * and the lock with it: see the apiNote of {@code LockService.acquire}).
     */
    private Mono<Boolean> cancelledSoonAfterSubscribing() {
        return Mono.defer(() -> {
            Sinks.One<Boolean> done = Sinks.one();
            BaseSubscriber<LockHandle> subscriber = new BaseSubscriber<>() {
                @Override
                protected void hookOnNext(LockHandle handle) {
                    handle.release().subscribe();
                    done.tryEmitValue(true);
                }

                @Override
                protected void hookFinally(SignalType type) {
                    done.tryEmitValue(false);
                }
            };
            service.acquire(NAME).subscribe(subscriber);
            Schedulers.parallel().schedule(subscriber::dispose,
                    ThreadLocalRandom.current().nextInt(50_000), TimeUnit.NANOSECONDS);
            return done.asMono();
        });
    }

    private Mono<Boolean> reactiveOp(int i) {
        String who = "reactive#" + i;
        switch (i % 4) {
            case 0:
                return service.withLock(NAME, Mono.fromCallable(() -> {
                    enter(LockMode.EXCLUSIVE, who);
                    exit(LockMode.EXCLUSIVE);
                    return true;
                }));
            case 1:
                return service.withLock(NAME, LockOptions.shared(), Mono.fromCallable(() -> {
                    enter(LockMode.SHARED, who);
                    exit(LockMode.SHARED);
                    return true;
                }));
            case 2:
                return service.withLock(NAME, LockOptions.exclusive().timeout(Duration.ofMillis(1)),
                        Mono.fromCallable(() -> {
                            enter(LockMode.EXCLUSIVE, who);
                            exit(LockMode.EXCLUSIVE);
                            return true;
                        }));
            default:
                return cancelledSoonAfterSubscribing();
        }
    }
}
