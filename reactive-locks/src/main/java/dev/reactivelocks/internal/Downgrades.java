package dev.reactivelocks.internal;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.AcquisitionMono;
import dev.reactivelocks.spi.GrantDelivery;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;

/**
 * What every {@link LockHandle#downgrade()} of the project shares: the checks before it, and the delivery of
 * its shared handle by the rule of every acquisition ({@link GrantDelivery}).
 *
 * <pre>
 *            request                 downgrade done (shared handle)
 *   NEW ─────────────► RUNNING ───────────────────────────────► emit(): a cancel before it releases the
 *    │ cancel: nothing     │ cancel: noted, the downgrade runs on   shared handle; a cancel after it is ignored
 *    ▼ happens             ▼ (it cannot stop halfway)
 * </pre>
 */
public final class Downgrades {

    private Downgrades() {
    }

    /**
     * @param handle the handle asked to downgrade
     * @return why {@code handle} cannot be downgraded (not held, or not exclusive), or {@code null}
     */
    public static @Nullable IllegalLockStateException refusal(LockHandle handle) {
        if (!handle.isHeld()) {
            return notHeld(handle);
        }
        if (handle.mode() != LockMode.EXCLUSIVE) {
            return new IllegalLockStateException(handle.name(), "Lock '" + handle.name() + "' is held "
                    + handle.mode() + " by this handle; only an EXCLUSIVE grant can be downgraded");
        }
        return null;
    }

    /**
     * @param handle the handle asked to downgrade
     * @return the error for a handle that is released, lost, or downgraded already
     */
    public static IllegalLockStateException notHeld(LockHandle handle) {
        return new IllegalLockStateException(handle.name(), "Lock '" + handle.name()
                + "' cannot be downgraded: this handle does not hold it (released, lost, or downgraded already)");
    }

    /**
     * The {@code Mono} of a downgrade: per subscription, on the first request, subscribes once to the
     * {@code Mono} that {@code downgrade} returns and never cancels it; emits its shared handle through
     * {@link GrantDelivery#emit}, so that a cancel before the emission releases it.
     *
     * @param downgrade performs the downgrade and emits the shared handle (or errors, changing nothing)
     * @return a cold {@code Mono} of the shared handle
     */
    public static Mono<LockHandle> deliver(Supplier<? extends Mono<LockHandle>> downgrade) {
        return new AcquisitionMono() {
            @Override
            public void subscribe(CoreSubscriber<? super LockHandle> actual) {
                actual.onSubscribe(new Delivery(actual, downgrade));
            }
        };
    }

    /** Runs one downgrade to its end and hands its result to the subscriber. */
    private static final class Delivery extends GrantDelivery implements Subscription, CoreSubscriber<LockHandle> {

        private final CoreSubscriber<? super LockHandle> actual;
        private final Supplier<? extends Mono<LockHandle>> downgrade;
        private final AtomicBoolean started = new AtomicBoolean();
        private volatile @Nullable LockHandle granted;

        Delivery(CoreSubscriber<? super LockHandle> actual, Supplier<? extends Mono<LockHandle>> downgrade) {
            this.actual = actual;
            this.downgrade = downgrade;
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                if (emitted() || cancelRequested()) {
                    return; // completed or cancelled: nothing to cancel or signal (rules 3.6, 1.7)
                }
                cancel();
                actual.onError(Exceptions.nullOrNegativeRequestException(n));
                return;
            }
            if (started.compareAndSet(false, true) && !cancelRequested()) {
                Mono<LockHandle> work;
                try {
                    work = downgrade.get();
                } catch (RuntimeException e) {
                    actual.onError(e);
                    return;
                }
                work.subscribe(this);
            }
        }

        @Override
        public void cancel() {
            noteCancel();
            cancelGranted(); // the shared handle, when it comes, is released instead of emitted
        }

        @Override
        public void onSubscribe(Subscription s) {
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(LockHandle shared) {
            granted = shared;
            emit(actual, shared);
        }

        @Override
        public void onError(Throwable error) {
            if (!cancelRequested()) {
                actual.onError(error);
            }
        }

        @Override
        public void onComplete() {
            if (granted == null && !cancelRequested()) {
                actual.onComplete();
            }
        }

        @Override
        protected void releaseGranted() {
            LockHandle h = granted;
            if (h != null) {
                h.release().subscribe(null, error -> { });
            }
        }

        @Override
        public Context currentContext() {
            return actual.currentContext();
        }
    }
}
