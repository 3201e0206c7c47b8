package dev.reactivelocks.micrometer;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.LockUnavailableException;
import dev.reactivelocks.internal.AcquisitionCore;
import dev.reactivelocks.spi.AcquisitionMono;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * Meters one acquisition of the delegate: relays its signals and records wait time and outcome.
 *
 * <pre>
 *          request(n): subscribe      onNext(handle)
 *   NEW ─────────────────────► PENDING ────────────────► GRANTED   (held +1, handle wrapped and emitted: wait
 *    │                          │  │                                 recorded; or a cancel before the emission:
 *    │                          │  │                                 released, cancel counted)
 *    │                          │  │
 *    │ cancel                   │  │ empty onComplete ─────► DONE  (busy counted for tryAcquire)
 *    ▼                          │  │ onError ──────────────► CANCELLED (timeout / rejection / error counted)
 * CANCELLED                     │ cancel
 *                               ▼
 *                            CANCELLED (cancel counted, the delegate's acquisition cancelled; a grant
 *                                       that arrives anyway is released)
 * </pre>
 *
 * The state word, the request rules and the cancel loop are the {@link AcquisitionCore}'s: one CAS on its
 * state decides between the delegate's answer and the subscriber's cancel, and a non-positive request is a
 * cancel followed by the rule 3.9 error. The delegate's acquisition is subscribed at the first request, so
 * the pending gauge counts it from there, and each acquisition leaves PENDING exactly once. The metered
 * handle is emitted through the delivery protocol that every acquisition shares ({@code GrantDelivery}),
 * whose CAS decides between the emission and a cancel that follows the grant: a handle is counted as a
 * grant (wait, then hold) exactly when it is emitted, and such a cancel counts as a cancel.
 */
final class MeteredAcquireMono extends AcquisitionMono {

    private final Mono<LockHandle> source;
    private final MeteredLockService service;
    private final String name;
    private final LockMode mode;
    private final boolean tryOnly;

    MeteredAcquireMono(Mono<LockHandle> source, MeteredLockService service, String name, LockMode mode,
                       boolean tryOnly) {
        this.source = source;
        this.service = service;
        this.name = name;
        this.mode = mode;
        this.tryOnly = tryOnly;
    }

    @Override
    public void subscribe(CoreSubscriber<? super LockHandle> actual) {
        actual.onSubscribe(new Acquirer(this, actual));
    }

    static final class Acquirer extends AcquisitionCore implements CoreSubscriber<LockHandle> {

        static final int GRANTED = PENDING + 1;
        /** The delegate completed empty: {@code tryAcquire} found the lock busy. Final. */
        static final int DONE = PENDING + 2;

        private final MeteredAcquireMono acquire;
        private final LockMeterSet meters;
        private final LockMeterSet.ModeMeters modeMeters;

        private volatile @Nullable Subscription upstream;
        /** Written before the delegate's acquisition is subscribed, read when it grants. */
        private long requestedAt;
        private volatile @Nullable MeteredHandle granted;

        Acquirer(MeteredAcquireMono acquire, CoreSubscriber<? super LockHandle> actual) {
            super(actual);
            this.acquire = acquire;
            this.meters = acquire.service.meters(acquire.name);
            this.modeMeters = meters.mode(acquire.mode);
        }

        @Override
        protected void start() {
            requestedAt = acquire.service.clock().monotonicTime();
            meters.pending.incrementAndGet();
            acquire.source.subscribe(this);
        }

        @Override
        protected boolean waiting(int state) {
            return state == PENDING;
        }

        @Override
        protected boolean granted(int state) {
            return state == GRANTED;
        }

        @Override
        public Context currentContext() {
            return actual.currentContext();
        }

        @Override
        public void onSubscribe(Subscription s) {
            if (!Operators.validate(upstream, s)) {
                return;
            }
            upstream = s;
            if (state() == PENDING) {
                s.request(1);
            } else {
                s.cancel(); // cancelled while the delegate was subscribing
            }
        }

        @Override
        public void onNext(LockHandle handle) {
            if (!casState(PENDING, GRANTED)) {
                // The subscriber cancelled while the grant was on its way: nobody else will release it.
                handle.release().subscribe(null, e -> Operators.onErrorDropped(e, actual.currentContext()));
                return;
            }
            long grantedAt = acquire.service.clock().monotonicTime();
            MeteredHandle metered = new MeteredHandle(handle, meters, modeMeters.hold, acquire.service.clock(),
                    grantedAt);
            granted = metered;
            meters.pending.decrementAndGet();
            meters.held.incrementAndGet(); // before the emission: the subscriber may release at once
            if (emit(actual, metered)) {
                modeMeters.wait.record(grantedAt - requestedAt, TimeUnit.NANOSECONDS);
            }
        }

        @Override
        public void onError(Throwable error) {
            if (!fail(error)) {
                Operators.onErrorDropped(error, actual.currentContext()); // cancelled, or after the grant
            }
        }

        @Override
        public void onComplete() {
            if (!casState(PENDING, DONE)) {
                return; // granted (emit() completes), or cancelled
            }
            meters.pending.decrementAndGet();
            if (acquire.tryOnly) {
                modeMeters.busy.increment();
            }
            if (!cancelRequested()) {
                actual.onComplete();
            }
        }

        @Override
        protected void left(int from, @Nullable Throwable error) {
            meters.pending.decrementAndGet();
            if (error == null) {
                modeMeters.cancels.increment();
                Subscription up = upstream;
                if (up != null) {
                    up.cancel(); // a grant racing this is released by onNext
                }
                return;
            }
            if (error instanceof LockTimeoutException) {
                modeMeters.timeouts.increment();
            } else if (error instanceof LockUnavailableException) {
                modeMeters.rejections.increment();
            } else {
                modeMeters.errors(error).increment();
            }
            if (!cancelRequested()) {
                actual.onError(error);
            }
        }

        /**
         * A cancel between the grant and the emission: the subscriber never had the lock, so it counts as a
         * cancel, not as a grant (no wait, no hold). After the emission (a race operator's loser that ignored
         * the handle): a grant and a hold of their own, released through the metered handle.
         */
        @Override
        protected void releaseGranted() {
            MeteredHandle h = granted;
            if (h == null) {
                return;
            }
            Mono<Void> release;
            if (emitted()) {
                release = h.release();
            } else {
                modeMeters.cancels.increment();
                release = h.revoke();
            }
            release.subscribe(null, e -> Operators.onErrorDropped(e, actual.currentContext()));
        }
    }
}
