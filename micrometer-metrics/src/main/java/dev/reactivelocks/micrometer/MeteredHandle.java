package dev.reactivelocks.micrometer;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.internal.AcquisitionMono;
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
final class MeteredHandle implements LockHandle {

    private final LockHandle delegate;
    private final LockMeterSet meters;
    private final Timer hold;
    private final Clock clock;
    private final long grantedAt;
    private final AtomicBoolean released = new AtomicBoolean();
    /** The metered shared grant that replaced this one ({@link #downgrade()}). */
    private volatile @Nullable LockHandle successor;

    MeteredHandle(LockHandle delegate, LockMeterSet meters, Timer hold, Clock clock, long grantedAt) {
        this.delegate = delegate;
        this.meters = meters;
        this.hold = hold;
        this.clock = clock;
        this.grantedAt = grantedAt;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public LockMode mode() {
        return delegate.mode();
    }

    @Override
    public long fencingToken() {
        return delegate.fencingToken();
    }

    @Override
    public boolean isHeld() {
        return delegate.isHeld();
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
            return delegate.release();
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

    @Override
    public Mono<Void> lost() {
        return delegate.lost();
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
            return delegate.downgrade().doOnRequest(n -> requested.set(true)).doOnCancel(() -> {
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

    @Override
    public String toString() {
        return delegate.toString();
    }
}
