package dev.reactivelocks;

import dev.reactivelocks.internal.AcquisitionMono;
import dev.reactivelocks.internal.LockServiceView;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A view that logs once, at WARN, when a grant is still held after a threshold (oslo.concurrency's
 * "not completed after"). It never interrupts the holder.
 */
final class WatchedLockService implements LockService, LockServiceView {

    private final LockService delegate;
    private final Duration threshold;
    private final Logger log = Loggers.getLogger(WatchedLockService.class);

    WatchedLockService(LockService delegate, Duration threshold) {
        this.delegate = delegate;
        this.threshold = threshold;
    }

    static LockService of(LockService delegate, Duration threshold) {
        if (threshold.isNegative() || threshold.isZero()) {
            throw new IllegalArgumentException("threshold must be > 0, was " + threshold);
        }
        return new WatchedLockService(delegate, threshold);
    }

    @Override
    public LockService delegate() {
        return delegate;
    }

    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        return AcquisitionMono.map(delegate.acquire(name, options), this::watch);
    }

    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        return AcquisitionMono.map(delegate.tryAcquire(name, options), this::watch);
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
    public Mono<LockInfo> inspect(String name) {
        return delegate.inspect(name);
    }

    @Override
    public Flux<LockInfo> locks(String prefix) {
        return delegate.locks(prefix);
    }

    @Override
    public Mono<Void> disposeLater() {
        return delegate.disposeLater();
    }

    @Override
    public boolean isDisposed() {
        return delegate.isDisposed();
    }

    @Override
    public String toString() {
        return delegate + "[warn after " + Durations.format(threshold) + "]";
    }

    /** The delegate's handle whose release also disarms the alarm. */
    private static final class WatchedHandle implements LockHandle {
        private final LockHandle handle;
        private final Disposable alarm;
        private final WatchedLockService view;

        WatchedHandle(LockHandle handle, Disposable alarm, WatchedLockService view) {
            this.handle = handle;
            this.alarm = alarm;
            this.view = view;
        }

        @Override
        public String name() {
            return handle.name();
        }

        @Override
        public LockMode mode() {
            return handle.mode();
        }

        @Override
        public long fencingToken() {
            return handle.fencingToken();
        }

        @Override
        public boolean isHeld() {
            return handle.isHeld();
        }

        @Override
        public Mono<Void> release() {
            return Mono.defer(() -> {
                alarm.dispose();
                return handle.release();
            });
        }

        @Override
        public Mono<Void> lost() {
            return handle.lost();
        }

        /** {@inheritDoc} The shared grant is watched afresh: its threshold counts from the downgrade. */
        @Override
        public Mono<LockHandle> downgrade() {
            return AcquisitionMono.map(handle.downgrade(), shared -> {
                alarm.dispose();
                return view.watch(shared);
            });
        }

        @Override
        public String toString() {
            return handle.toString();
        }
    }
}
