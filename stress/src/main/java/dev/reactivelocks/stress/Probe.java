package dev.reactivelocks.stress;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import java.util.concurrent.atomic.AtomicReference;
import reactor.core.publisher.BaseSubscriber;

/** Shared helpers of the stress tests: a subscriber that never drops a grant, and a free-lock probe. */
final class Probe extends BaseSubscriber<LockHandle> {

    final AtomicReference<Object> outcome = new AtomicReference<>();

    @Override
    protected void hookOnNext(LockHandle value) {
        outcome.compareAndSet(null, value);
    }

    @Override
    protected void hookOnError(Throwable error) {
        outcome.compareAndSet(null, error);
    }

    LockHandle handle() {
        return outcome.get() instanceof LockHandle h ? h : null;
    }

    /** Releases what this probe received, if anything; returns 1 when it had a handle. */
    int releaseIfGranted() {
        LockHandle h = handle();
        if (h == null) {
            return 0;
        }
        h.release().block();
        return 1;
    }

    /**
     * Acquires and releases {@code name} once, so that an in-process service keeps its entry, then holds it
     * again: that grant takes the name's fast path (one CAS on its state word).
     */
    static LockHandle holdThroughFastPath(LockService locks, String name) {
        locks.acquire(name).block().release().block();
        return locks.acquire(name).block();
    }

    /**
     * What an inspection reported about {@code holder}: 0 = the lock free, 1 = held with the holder's
     * fencing token, 2 = held with another token (or with no holder to compare).
     */
    static int tokenSeen(dev.reactivelocks.LockInfo info, LockHandle holder) {
        if (info == null) {
            return 0;
        }
        return holder != null && info.fencingToken().orElse(-1) == holder.fencingToken() ? 1 : 2;
    }

    /** 1 when the lock is free (an exclusive try succeeds), 0 when something still holds it. */
    static int free(LockService locks, String name) {
        LockHandle h = locks.tryAcquire(name).block();
        if (h == null) {
            return 0;
        }
        h.release().block();
        return 1;
    }

    /**
     * For services whose grants and releases complete on other threads: waits (up to 10 s) until the lock
     * is free, releasing what {@code received} got meanwhile. Returns 1 when it became free.
     */
    static int settlesFree(LockService locks, String name, java.util.concurrent.atomic.AtomicReference<LockHandle> received) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        boolean released = false;
        do {
            LockHandle h = received.get();
            if (h != null && !released) {
                h.release().block();
                released = true;
            }
            if (free(locks, name) == 1) {
                return 1;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
        } while (System.nanoTime() - deadline < 0);
        return 0;
    }
}
