package dev.reactivelocks.micrometer;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.AcquisitionMono;
import dev.reactivelocks.spi.ForwardingLockHandle;
import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The delegate's handle, plus hold-time recording: the first subscription to {@link #release()} records the
 * hold time and decrements the held gauge; every subscription relays the delegate's idempotent release.
 */
final class MeteredHandle extends ForwardingLockHandle {

    private final LockMeterSet meters;
    private final Timer hold;
    private final Clock clock;
    private final long grantedAt;
    private final AtomicBoolean released = new AtomicBoolean();
    /** The metered shared grant that replaced this one ({@link #downgrade()}). */
    private volatile @Nullable LockHandle successor;

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
            LockHandle next = successor;
            if (next != null) {
                return next.release();
            }
            if (endHold(clock.monotonicTime())) {
                meters.held.decrementAndGet();
            }
            return super.release();
        });
    }

    /** Records the hold once; returns whether this call did. */
    private boolean endHold(long now) {
        if (!released.compareAndSet(false, true)) {
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
                if (requested.get() && endHold(clock.monotonicTime())) {
                    meters.held.decrementAndGet();
                }
            });
        });
        return AcquisitionMono.map(downgrade, shared -> {
            long now = clock.monotonicTime();
            MeteredHandle next = new MeteredHandle(shared, meters, meters.mode(LockMode.SHARED).hold, clock, now);
            if (!endHold(now)) { // else the gauge goes on counting the lock, through the shared grant
                next.released.set(true); // released or cancelled meanwhile: the gauge counted it out already
            }
            successor = next;
            return next;
        });
    }
}
