package dev.reactivelocks.testkit.contract;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Spin-timed race loops that count the names left held by nobody, for any {@link LockService}: a name is
 * held, a waiter consumes an acquisition in one of the ways Reactor users do, and the holder's release
 * races the waiter giving up. Two threads are released together by a spinning flag, and each spins a
 * random 0-500 iterations before its racing call, so that the race lands anywhere in the grant/cancel
 * window (barrier-synchronised loops have missed real leaks here). Afterwards the test releases every
 * handle the waiter's consumer received; the name must then be free. A name that is not free within
 * {@link #SETTLE} is held by nobody.
 */
public final class HeldByNobodyRaces implements AutoCloseable {

    /** How long a name may take to become free after the race (asynchronous releases and timers). */
    static final Duration SETTLE = Duration.ofMillis(Long.getLong("reactivelocks.settleMillis", 5000));
    private static final Duration WAIT = Duration.ofSeconds(30);

    /** How the waiter consumes its acquisition and gives up on it. */
    public enum Pattern {
        /** {@code acquire(name).subscribe(consumer)}, then {@code dispose()}. */
        SUBSCRIBE_DISPOSE,
        /** {@code tryAcquire(name).subscribe(consumer)}, subscribed and disposed while the holder releases. */
        TRY_SUBSCRIBE_DISPOSE,
        /** {@code acquire(name).timeout(d)} with d of 0-300 µs, racing the release. */
        TIMEOUT_OPERATOR,
        /** {@code acquire(name).block(d)} timing out, racing the release. */
        BLOCK_WITH_TIMEOUT,
        /** {@code Mono.firstWithValue(acquire(name), a handle-typed value after a short delay)}. */
        FIRST_WITH_VALUE,
        /**
         * {@code Mono.zip(acquire(name), a sibling failing after a short delay)} with
         * {@code doOnDiscard(LockHandle.class, release)}: zip keeps a handle that arrived first and discards
         * it when the sibling fails, and Reactor gives discarded values only to the chain's discard hook
         * (the caller's job, as documented on {@code LockService}).
         */
        ZIP_WITH_FAILING_SIBLING,
        /** {@code acquire(name).flux().take(1).subscribe(consumer)}, then {@code dispose()}. */
        TAKE_ONE_DISPOSE,
        /** {@code acquire(name).flux().next().subscribe(consumer)}, then {@code dispose()}. */
        NEXT_DISPOSE
    }

    /** The value of the timer that races an acquisition in {@link Pattern#FIRST_WITH_VALUE}. */
    private static final LockHandle NOT_A_LOCK = new LockHandle() {
        @Override
        public String name() {
            return "not-a-lock";
        }

        @Override
        public dev.reactivelocks.LockMode mode() {
            return dev.reactivelocks.LockMode.EXCLUSIVE;
        }

        @Override
        public long fencingToken() {
            return 0;
        }

        @Override
        public boolean isHeld() {
            return false;
        }

        @Override
        public Mono<Void> release() {
            return Mono.empty();
        }

        @Override
        public Mono<Void> lost() {
            return Mono.never();
        }
    };

    private final SpinRacer racer = new SpinRacer();

    /**
     * Runs {@code races} races, the patterns taking turns, each on a name of its own.
     *
     * @param locks the service under test
     * @param races how many races
     * @param patterns the patterns to take turns with
     * @return the names left held by nobody (must be empty)
     */
    public List<String> run(LockService locks, int races, Pattern... patterns) {
        return run(locks, locks, races, patterns);
    }

    /**
     * Runs {@code races} races, taking turns with {@code patterns}, where the holder is granted by one
     * service and the racing waiter asks another over the same store: the release hands the lock over
     * between services (for a backend with a wait queue, the waiter is queued in the store). Give the
     * waiters' service a lease and a queue-entry lifetime well above {@link #SETTLE}, so that a lease or
     * entry left behind is found instead of expiring.
     *
     * @param holders the service granting each race's holder
     * @param waiters the service of the racing waiter, and of the probe that checks the name is free
     * @param races how many races
     * @param patterns the patterns to take turns with
     * @return the names left held by nobody (must be empty)
     */
    public List<String> run(LockService holders, LockService waiters, int races, Pattern... patterns) {
        List<String> leaked = new ArrayList<>();
        String run = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        for (int i = 0; i < races; i++) {
            Pattern p = patterns[i % patterns.length];
            String name = "nobody-" + run + "-" + i + "-" + p.name().toLowerCase();
            if (!race(holders, waiters, name, p)) {
                leaked.add(name + " (" + p + ")");
            }
        }
        return leaked;
    }

    /** @return whether the name was free after the race */
    private boolean race(LockService holders, LockService locks, String name, Pattern pattern) {
        LockHandle holder = holders.acquire(name).block(WAIT);
        if (holder == null) {
            throw new IllegalStateException("could not take " + name + " to start the race");
        }
        Queue<LockHandle> owned = new ConcurrentLinkedQueue<>();
        Runnable release = () -> holder.release().subscribe(null, e -> { });
        ThreadLocalRandom random = ThreadLocalRandom.current();
        switch (pattern) {
            case SUBSCRIBE_DISPOSE: {
                Disposable d = locks.acquire(name).subscribe(owned::add, e -> { });
                racer.race(release, d::dispose);
                break;
            }
            case TRY_SUBSCRIBE_DISPOSE:
                racer.race(release, () -> locks.tryAcquire(name).subscribe(owned::add, e -> { }).dispose());
                break;
            case TIMEOUT_OPERATOR: {
                Duration d = Duration.ofNanos(random.nextLong(300_000));
                locks.acquire(name).timeout(d).subscribe(owned::add, e -> { });
                racer.race(release, () -> { });
                break;
            }
            case BLOCK_WITH_TIMEOUT: {
                Duration d = Duration.ofNanos(1_000 + random.nextLong(100_000));
                racer.race(release, () -> {
                    try {
                        LockHandle h = locks.acquire(name).block(d);
                        if (h != null) {
                            owned.add(h);
                        }
                    } catch (RuntimeException timedOut) {
                        // gave up
                    }
                });
                break;
            }
            case FIRST_WITH_VALUE: {
                Duration d = Duration.ofNanos(random.nextLong(200_000));
                Mono.firstWithValue(locks.acquire(name), Mono.delay(d, Schedulers.parallel()).map(x -> NOT_A_LOCK))
                        .subscribe(h -> {
                            if (h != NOT_A_LOCK) {
                                owned.add(h);
                            }
                        }, e -> { });
                racer.race(release, () -> { });
                break;
            }
            case ZIP_WITH_FAILING_SIBLING: {
                Duration d = Duration.ofNanos(random.nextLong(200_000));
                Mono.zip(locks.acquire(name),
                                Mono.delay(d, Schedulers.parallel()).then(Mono.error(new IllegalStateException("sibling"))))
                        .doOnDiscard(LockHandle.class, h -> h.release().subscribe(null, e -> { }))
                        .subscribe(t -> owned.add(t.getT1()), e -> { });
                racer.race(release, () -> { });
                break;
            }
            case TAKE_ONE_DISPOSE: {
                Disposable d = locks.acquire(name).flux().take(1).subscribe(owned::add, e -> { });
                racer.race(release, d::dispose);
                break;
            }
            case NEXT_DISPOSE: {
                Disposable d = locks.acquire(name).flux().next().subscribe(owned::add, e -> { });
                racer.race(release, d::dispose);
                break;
            }
            default:
                throw new IllegalArgumentException(pattern.toString());
        }
        return settlesFree(locks, name, owned);
    }

    /**
     * Releases what the consumer received (also late arrivals) until the name is free or time is up. A
     * handle the consumer kept must still be held when the test releases it: nothing may have released the
     * lock under its owner.
     */
    private static boolean settlesFree(LockService locks, String name, Queue<LockHandle> owned) {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        for (;;) {
            LockHandle h;
            while ((h = owned.poll()) != null) {
                if (!h.isHeld()) {
                    throw new AssertionError("the lock " + name + " was released under the subscriber that kept " + h);
                }
                h.release().block(WAIT);
            }
            LockHandle probe = locks.tryAcquire(name).block(WAIT);
            if (probe != null) {
                probe.release().block(WAIT);
                return true;
            }
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            LockSupport.parkNanos(200_000);
        }
    }

    @Override
    public void close() {
        racer.close();
    }
}
