package dev.reactivelocks;

import dev.reactivelocks.spi.AcquisitionMono;
import dev.reactivelocks.spi.ForwardingLockHandle;
import dev.reactivelocks.spi.ForwardingLockService;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A view that logs once, at WARN, when a grant is still held after a threshold (oslo.concurrency's
 * "not completed after"). It never interrupts the holder.
 */
final class WatchedLockService extends ForwardingLockService {

    private final Duration threshold;
    private final Logger log = Loggers.getLogger(WatchedLockService.class);

    WatchedLockService(LockService delegate, Duration threshold) {
        super(delegate);
        this.threshold = threshold;
    }

    static LockService of(LockService delegate, Duration threshold) {
        if (threshold.isNegative() || threshold.isZero()) {
            throw new IllegalArgumentException("threshold must be > 0, was " + threshold);
        }
        return new WatchedLockService(delegate, threshold);
    }

    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        return AcquisitionMono.map(delegate().acquire(name, options), this::watch);
    }

    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        return AcquisitionMono.map(delegate().tryAcquire(name, options), this::watch);
    }

    private LockHandle watch(LockHandle handle) {
        Disposable alarm = Schedulers.parallel().schedule(() -> {
            if (handle.isHeld()) {
                log.warn("Lock '{}' ({}) still held after {}, fencing token {}; not released yet",
                        handle.name(), handle.mode(), Durations.format(threshold), handle.fencingToken());
            }
        }, threshold.toNanos(), TimeUnit.NANOSECONDS);
        return new WatchedHandle(handle, alarm, this);
    }

    @Override
    public String toString() {
        return delegate() + "[warn after " + Durations.format(threshold) + "]";
    }

    /** The delegate's handle whose release also disarms the alarm. */
    private static final class WatchedHandle extends ForwardingLockHandle {
        private final Disposable alarm;
        private final WatchedLockService view;

        WatchedHandle(LockHandle handle, Disposable alarm, WatchedLockService view) {
            super(handle);
            this.alarm = alarm;
            this.view = view;
        }

        @Override
        public Mono<Void> release() {
            return Mono.defer(() -> {
                alarm.dispose();
                return super.release();
            });
        }

        /** {@inheritDoc} The shared grant is watched afresh: its threshold counts from the downgrade. */
        @Override
        public Mono<LockHandle> downgrade() {
            return AcquisitionMono.map(delegate().downgrade(), shared -> {
                alarm.dispose();
                return view.watch(shared);
            });
        }

    }
}
