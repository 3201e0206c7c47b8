package dev.reactivelocks.micrometer;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.LockUnavailableException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * Meters one subscription to a scoped {@code withLock}/{@code withLockMany} of the delegate, from outside
 * the scope: the grant is observed as the subscription of the body, the release as the end of the scope.
 *
 * <pre>
 *          start()            granted()                         end(...)
 *   NEW ───────────► PENDING ───────────► GRANTED (wait, held +1) ───────► ENDED (hold, held -1)
 *                       │ end(error / cancel)
 *                       ▼
 *                     ENDED (timeout / rejection / error / cancel counted)
 * </pre>
 *
 * One CAS decides between the grant and the end of a pending scope, so each scope leaves PENDING once and
 * records its hold once.
 */
final class MeteredScope {

    private static final int NEW = 0;
    private static final int PENDING = 1;
    private static final int GRANTED = 2;
    private static final int ENDED = 3;

    private final MeteredLockService service;
    private final LockMode mode;
    private final LockMeterSet meters;
    private final AtomicInteger state = new AtomicInteger(NEW);
    // Each written before the CAS that publishes it, read after a CAS from that state.
    private long requestedAt;
    private long grantedAt;

    MeteredScope(MeteredLockService service, String name, LockMode mode) {
        this.service = service;
        this.mode = mode;
        this.meters = service.meters(name);
    }

    /** The scope was subscribed, which requests the acquisition. */
    void start() {
        requestedAt = service.clock().monotonicTime();
        if (state.compareAndSet(NEW, PENDING)) {
            meters.pending.incrementAndGet();
        }
    }

    /** The delegate subscribed the body: the lock is held. */
    void granted() {
        long now = service.clock().monotonicTime();
        grantedAt = now; // before the CAS: end() reads it after its own CAS from GRANTED
        if (state.compareAndSet(PENDING, GRANTED)) {
            meters.pending.decrementAndGet();
            meters.mode(mode).wait.record(now - requestedAt, TimeUnit.NANOSECONDS);
            meters.held.incrementAndGet();
        }
    }

    /**
     * The scope terminated or was cancelled.
     *
     * @param error the error it terminated with, or {@code null}
     * @param cancelled whether the subscriber cancelled
     */
    void end(@Nullable Throwable error, boolean cancelled) {
        for (;;) {
            int s = state.get();
            if (s == GRANTED) {
                if (state.compareAndSet(GRANTED, ENDED)) {
                    meters.mode(mode).hold.record(service.clock().monotonicTime() - grantedAt, TimeUnit.NANOSECONDS);
                    meters.held.decrementAndGet();
                    return;
                }
            } else if (s == PENDING) {
                if (state.compareAndSet(PENDING, ENDED)) {
                    meters.pending.decrementAndGet();
                    countUngranted(error, cancelled);
                    return;
                }
            } else {
                return;
            }
            // lost a race with granted(): read the state again
        }
    }

    private void countUngranted(@Nullable Throwable error, boolean cancelled) {
        LockMeterSet.ModeMeters m = meters.mode(mode);
        if (cancelled) {
            m.cancels.increment();
        } else if (error instanceof LockTimeoutException) {
            m.timeouts.increment();
        } else if (error instanceof LockUnavailableException) {
            m.rejections.increment();
        } else if (error != null) {
            m.errors(error).increment();
        }
    }
}
