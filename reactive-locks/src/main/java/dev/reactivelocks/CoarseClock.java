package dev.reactivelocks;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Wall-clock milliseconds for the start of in-process holds ({@link LockInfo#heldSince()}), read without a
 * clock call while locks are taken at a high rate.
 *
 * <p>A clock call costs about 27 ns on a virtual machine (kvm-clock), a quarter of an uncontended acquire
 * and release. While the value is being read, a daemon thread of this class refreshes it every tick;
 * after a tick in which nobody read it, the value is marked stale and the thread parks, and readers call
 * the clock themselves (every {@value #STALE_READS_PER_WAKE}th such read wakes the thread). The thread
 * ends after a long idle period; the next wake-up starts another. So a value read is the clock of at most
 * one tick ago plus however long the refresh thread waited for a core: never later than the clock, and
 * earlier by a tick (on a saturated machine by tens of milliseconds, exceptionally more). Where no thread
 * can be started, every read calls the clock.
 *
 * <pre>
 *   reads while STALE: the clock ──every 64th──► wake ──► FRESH: refreshed every tick while read
 *        ▲                                                   │ a tick without a read
 *        └───────────────────────────────────────────────────┘ (the thread parks; after idleExit it ends)
 * </pre>
 */
final class CoarseClock {

    /** The clock of {@link LockQueue}'s hold starts. */
    static final CoarseClock HOLDS = new CoarseClock(TimeUnit.MILLISECONDS.toNanos(10), TimeUnit.SECONDS.toNanos(60));

    static final int STALE_READS_PER_WAKE = 64;
    private static final long STALE = Long.MIN_VALUE;

    private final long tickNanos;
    private final long idleExitNanos;
    /** The clock at the latest tick, or {@link #STALE}. */
    private volatile long value = STALE;
    /** Whether {@link #value} was read since the latest tick; written by a reader only when false. */
    private volatile boolean read;
    private final AtomicInteger staleReads = new AtomicInteger();
    private final AtomicReference<Thread> ticker = new AtomicReference<>();
    /** Set when a thread could not be started: every read calls the clock. */
    private volatile boolean disabled;

    CoarseClock(long tickNanos, long idleExitNanos) {
        this.tickNanos = tickNanos;
        this.idleExitNanos = idleExitNanos;
    }

    /** @return wall-clock milliseconds: the clock of at most about one tick ago (see the class comment) */
    long millis() {
        long m = value;
        if (m != STALE) {
            if (!read) {
                read = true;
            }
            return m;
        }
        return staleRead();
    }

    private long staleRead() {
        long now = System.currentTimeMillis();
        if (staleReads.incrementAndGet() % STALE_READS_PER_WAKE == 0) {
            wake();
        }
        return now;
    }

    private void wake() {
        Thread t = ticker.get();
        if (t != null) {
            LockSupport.unpark(t);
            return;
        }
        if (disabled) {
            return;
        }
        Thread started = new Thread(this::tick, "reactive-locks-clock");
        started.setDaemon(true);
        started.setContextClassLoader(null);
        if (ticker.compareAndSet(null, started)) {
            try {
                started.start();
            } catch (Throwable e) { // no thread may be started here (a sandbox, or native threads exhausted)
                disabled = true;
                ticker.compareAndSet(started, null);
            }
        }
    }

    /** The refresh thread: refreshes while read, parks when not, ends after {@link #idleExitNanos} parked. */
    private void tick() {
        Thread self = Thread.currentThread();
        for (;;) {
            read = false;
            value = System.currentTimeMillis();
            LockSupport.parkNanos(this, tickNanos);
            if (read) {
                continue;
            }
            value = STALE;
            long parkedAt = System.nanoTime();
            LockSupport.parkNanos(this, idleExitNanos);
            // woken (a reader's wake-up, or spuriously): refresh; a long park without one: end. A wake-up
            // that races the end is lost, which only leaves the readers on the clock until their next one.
            if (System.nanoTime() - parkedAt >= idleExitNanos && ticker.compareAndSet(self, null)) {
                return;
            }
        }
    }

    /** @return whether the value is stale (readers call the clock); for tests */
    boolean stale() {
        return value == STALE;
    }

    /** @return whether a refresh thread exists; for tests */
    boolean ticking() {
        return ticker.get() != null;
    }
}
