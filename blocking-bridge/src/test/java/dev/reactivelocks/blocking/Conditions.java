package dev.reactivelocks.blocking;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockStats;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waits for observable states of other threads and of the lock queue, bounded in time. */
final class Conditions {

    static final Duration WAIT = Duration.ofSeconds(10);

    private Conditions() {
    }

    /** Polls {@code condition} until it holds; fails with {@code description} after {@link #WAIT}. */
    static void await(String description, BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("Not reached within " + WAIT + ": " + description);
            }
            LockSupport.parkNanos(200_000);
        }
    }

    /** Waits until {@code name} has exactly {@code pending} waiters. */
    static void awaitPending(InProcessLockService service, String name, int pending) {
        Supplier<String> state = () -> service.stats(name).map(LockStats::toString).orElse("no entry");
        await("'" + name + "' has " + pending + " waiter(s)",
                () -> service.stats(name).map(LockStats::pending).orElse(0) == pending);
        if (pending > 0 && service.stats(name).isEmpty()) {
            throw new AssertionError(state.get());
        }
    }

    /** Waits until {@code thread} is parked (WAITING or TIMED_WAITING). */
    static void awaitParked(Thread thread) {
        await(thread.getName() + " parked", () -> {
            Thread.State s = thread.getState();
            return s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING;
        });
    }

    /** Waits until {@code name} has no holder and no waiter left in {@code service}. */
    static void awaitIdle(InProcessLockService service, String name) {
        await("'" + name + "' idle, was " + service.stats(name), () -> service.stats(name).isEmpty());
    }
}
