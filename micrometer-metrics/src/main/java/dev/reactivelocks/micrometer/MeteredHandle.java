package dev.reactivelocks.micrometer;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.AcquisitionMono;
import dev.reactivelocks.spi.ForwardingLockHandle;
import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The delegate's handle, plus hold-time recording: the first subscription to {@link #release()} records the
 * hold time and decrements the held gauge; every subscription relays the delegate's idempotent release.
 *
 * <p>The hold ends once, by one CAS on {@link #end}: a release ({@link #RELEASED}), or a downgrade, which
 * installs the metered shared grant that goes on counting the lock. A release that loses to the downgrade
 * releases that successor, so a release racing a downgrade never leaves the held gauge counting a lock that
 * the delegate freed.
 */
final class MeteredHandle extends ForwardingLockHandle {

    private final LockMeterSet meters;
    private final Timer hold;
    private final Clock clock;
    private final long grantedAt;
    /** {@code null} while held; then {@link #RELEASED}, or the metered shared grant of a {@link #downgrade()}. */
    private final AtomicReference<@Nullable Object> end = new AtomicReference<>();

    private static final Object RELEASED = new Object();

    MeteredHandle(LockHandle delegate, LockMeterSet meters, Timer hold, Clock clock, long grantedAt) {
        super(delegate);
        this.meters = meters;
        this.hold = hold;
        this.clock = clock;
        this.grantedAt = grantedAt;
    }

    @Override
    public Mono<Void> release() {
        return Mono.defer(() -> {
            if (end.get() instanceof LockHandle next) {
                return next.release();
            }
            if (endHold(RELEASED)) {
                meters.held.decrementAndGet();
            } else if (end.get() instanceof LockHandle next) {
                return next.release(); // downgraded meanwhile: the successor counts the lock
            }
            return super.release();
        });
    }

    /**
     * Releases a grant that was never emitted (its subscriber cancelled between the grant and the
     * emission): the held gauge stops counting it, and no hold is recorded.
     */
    Mono<Void> revoke() {
        if (end.compareAndSet(null, RELEASED)) {
            meters.held.decrementAndGet();
        }
        return super.release();
    }

    /** Ends the hold with {@code how} and records it, once; returns whether this call did. */
    private boolean endHold(Object how) {
        long now = clock.monotonicTime();
        if (!end.compareAndSet(null, how)) {
            return false;
        }
        hold.record(now - grantedAt, TimeUnit.NANOSECONDS);
        return true;
    }

    /**
     * {@inheritDoc} The exclusive hold time is recorded at the downgrade; the shared grant is metered as a
     * hold of its own, and the held gauge counts the lock once throughout.
     */
    @Override
    public Mono<LockHandle> downgrade() {
        Mono<LockHandle> downgrade = Mono.defer(() -> {
            AtomicBoolean requested = new AtomicBoolean();
            // a cancel after the request: the downgrade still happens and its shared grant is released
            // unseen, so the exclusive hold ends here
            return delegate().downgrade().doOnRequest(n -> requested.set(true)).doOnCancel(() -> {
                if (requested.get() && endHold(RELEASED)) {
                    meters.held.decrementAndGet();
                }
            });
        });
        return AcquisitionMono.map(downgrade, shared -> {
            MeteredHandle next = new MeteredHandle(shared, meters, meters.mode(LockMode.SHARED).hold, clock,
                    clock.monotonicTime());
            if (!endHold(next)) { // else the gauge goes on counting the lock, through the shared grant
                next.end.set(RELEASED); // released or cancelled meanwhile: the gauge counted it out already
            }
            return next;
        });
    }
}
