package dev.reactivelocks.micrometer;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
            if (released.compareAndSet(false, true)) {
                hold.record(clock.monotonicTime() - grantedAt, TimeUnit.NANOSECONDS);
                meters.held.decrementAndGet();
            }
            return delegate.release();
        });
    }

    @Override
    public Mono<Void> lost() {
        return delegate.lost();
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
