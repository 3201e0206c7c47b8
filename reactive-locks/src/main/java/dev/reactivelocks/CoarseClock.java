package dev.reactivelocks;

import java.security.AccessController;
import java.security.PrivilegedAction;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * Wall-clock milliseconds for the start of in-process holds ({@link LockInfo#heldSince()}), read without a
 * clock call while locks are taken at a high rate.
 *
 * <p>A clock call costs about 27 ns on a virtual machine (kvm-clock), a quarter of an uncontended acquire
 * and release. While the value is being read, a daemon thread of this class refreshes it every tick;
 * after a tick in which nobody read it, the value is marked stale and the thread parks, and readers call
 * the clock themselves (every {@value #STALE_READS_PER_WAKE}th such read wakes the thread). The thread
 * ends after a long idle period, or when it dies (the value is then marked stale first); the next wake-up
 * starts another. So a value read is the clock of at most one tick ago plus however long the refresh
 * thread waited for a core: earlier than the clock by a tick, on a saturated machine by tens of
 * milliseconds, and right after a pause of the whole JVM (a safepoint, a frozen virtual machine) by the
 * pause. It is ahead of the clock only when the wall clock is set back, by at most that step, for a tick.
 * Reads never fail: where no refresh thread can be made or started (a sandbox, native threads exhausted),
 * every read from then on calls the clock.
 *
 * <p>The refresh thread holds on to nothing of the reader that happened to start it: no inheritable thread
 * locals, no context class loader, and only this class's protection domain (Java 17 threads capture their
 * creator's access control context, and with it the class loader of every frame on the creator's stack).
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
    private final ThreadFactory threads;
    /** The clock at the latest tick, or {@link #STALE}. */
    private volatile long value = STALE;
    /** Whether {@link #value} was read since the latest tick; written by a reader only when false. */
    private volatile boolean read;
    private final AtomicInteger staleReads = new AtomicInteger();
    private final AtomicReference<Thread> ticker = new AtomicReference<>();
    /** Set when a refresh thread could not be made or started: every read calls the clock from then on. */
    private volatile boolean disabled;

    CoarseClock(long tickNanos, long idleExitNanos) {
        this(tickNanos, idleExitNanos, CoarseClock::refreshThread);
    }

    /** @param threads makes the refresh thread (tests: one that fails) */
    CoarseClock(long tickNanos, long idleExitNanos, ThreadFactory threads) {
        this.tickNanos = tickNanos;
        this.idleExitNanos = idleExitNanos;
        this.threads = threads;
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
        if (!disabled && staleReads.incrementAndGet() % STALE_READS_PER_WAKE == 0) {
            wake();
        }
        return now;
    }

    /** Wakes the refresh thread, or starts one; never fails. */
    void wake() {
        Thread t = ticker.get();
        if (t != null) {
            LockSupport.unpark(t);
            return;
        }
        if (disabled) {
            return;
        }
        Thread started;
        try {
            started = threads.newThread(this::tick);
        } catch (Throwable e) { // a sandbox that forbids making threads or setting their class loader
            disabled = true;
            return;
        }
        if (ticker.compareAndSet(null, started)) {
            try {
                started.start();
            } catch (Throwable e) { // native threads exhausted
                disabled = true;
                ticker.compareAndSet(started, null);
            }
        }
    }

    /** A daemon thread that keeps nothing of its creator (see the class comment). */
    @SuppressWarnings("removal") // AccessController: on Java 17 the creator's context is captured without it
    private static Thread refreshThread(Runnable tick) {
        return AccessController.doPrivileged((PrivilegedAction<Thread>) () -> {
            Thread t = new Thread(null, tick, "reactive-locks-clock", 0, false);
            t.setDaemon(true);
            t.setPriority(Thread.NORM_PRIORITY);
            t.setContextClassLoader(null);
            return t;
        });
    }

    /**
     * The refresh thread: refreshes while read, parks when not, ends after {@link #idleExitNanos} parked. An
     * interrupt is cleared before each park (it would make every park return at once: a spinning thread); a
     * thread that dies marks the value stale and makes room for the next one first.
     */
    private void tick() {
        Thread self = Thread.currentThread();
        try {
            for (;;) {
                Thread.interrupted();
                read = false;
                value = System.currentTimeMillis();
                LockSupport.parkNanos(this, tickNanos);
                if (read) {
                    continue;
                }
                value = STALE;
                Thread.interrupted();
                long parkedAt = System.nanoTime();
                LockSupport.parkNanos(this, idleExitNanos);
                // woken (a reader's wake-up, an interrupt, or spuriously): refresh; a long park without one: end.
                // A wake-up that races the end is lost, which only leaves the readers on the clock until their next.
                if (System.nanoTime() - parkedAt >= idleExitNanos && ticker.compareAndSet(self, null)) {
                    return;
                }
            }
        } catch (Throwable e) { // never leave a fresh value that nobody refreshes, nor a dead thread to wake
            value = STALE;
            ticker.compareAndSet(self, null);
            throw e;
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

    /** @return the refresh thread, if any; for tests */
    @Nullable Thread thread() {
        return ticker.get();
    }
}
