package dev.reactivelocks.micrometer;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.LockUnavailableException;
import dev.reactivelocks.spi.AcquisitionMono;
import dev.reactivelocks.spi.GrantDelivery;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
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
 *          request(n)             onNext(handle)
 *   NEW ───────────────► PENDING ────────────────► GRANTED   (wait recorded, held +1, handle wrapped)
 *    │                    │  │
 *    │ cancel /           │  │ onError / empty onComplete     onNext after CANCELLED: the handle is released
 *    │ error before       │  └──────────────────► DONE       (timeout / rejection / error / busy counted)
 *    │ request            │ cancel
 *    ▼                    ▼
 *   DONE / CANCELLED    CANCELLED                            (cancel counted)
 * </pre>
 *
 * Request and cancel are serial (Reactive Streams 2.7); only onNext/onError may race cancel, and one CAS on
 * {@link Acquirer#state} decides. Each acquisition leaves PENDING exactly once, so the pending gauge is
 * incremented and decremented once. The metered handle is emitted through the delivery protocol that every
 * acquisition shares ({@code GrantDelivery}): a cancel between the grant and the emission releases it through
 * the metered handle, so the held gauge and the hold timer stay right.
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
        source.subscribe(new Acquirer(actual, service, name, mode, tryOnly));
    }

    static final class Acquirer extends GrantDelivery implements CoreSubscriber<LockHandle>, Subscription {

        static final int NEW = 0;
        static final int PENDING = 1;
        static final int GRANTED = 2;
        static final int DONE = 3;
        static final int CANCELLED = 4;

        private static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(Acquirer.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final CoreSubscriber<? super LockHandle> actual;
        private final MeteredLockService service;
        private final String name;
        private final LockMode mode;
        private final boolean tryOnly;

        private @Nullable Subscription upstream;
        private volatile int state;
        // Written before the CAS to PENDING, read after a CAS from PENDING.
        private @Nullable LockMeterSet meters;
        private long requestedAt;
        private volatile @Nullable MeteredHandle granted;

        Acquirer(CoreSubscriber<? super LockHandle> actual, MeteredLockService service, String name, LockMode mode,
                 boolean tryOnly) {
            this.actual = actual;
            this.service = service;
            this.name = name;
            this.mode = mode;
            this.tryOnly = tryOnly;
        }

        private boolean cas(int expected, int next) {
            return STATE.compareAndSet(this, expected, next);
        }

        @Override
        public Context currentContext() {
            return actual.currentContext();
        }

        @Override
        public void onSubscribe(Subscription s) {
            if (Operators.validate(upstream, s)) {
                upstream = s;
                actual.onSubscribe(this);
            }
        }

        @Override
        public void request(long n) {
            if (state == NEW) {
                LockMeterSet set = service.meters(name);
                meters = set;
                requestedAt = service.clock().monotonicTime();
                if (cas(NEW, PENDING)) {
                    set.pending.incrementAndGet();
                }
            }
            Subscription s = upstream;
            if (s != null) {
                s.request(n);
            }
        }

        @Override
        public void onNext(LockHandle handle) {
            if (cas(PENDING, GRANTED)) {
                LockMeterSet set = pendingMeters();
                long grantedAt = service.clock().monotonicTime();
                set.pending.decrementAndGet();
                LockMeterSet.ModeMeters m = set.mode(mode);
                m.wait.record(grantedAt - requestedAt, TimeUnit.NANOSECONDS);
                set.held.incrementAndGet();
                MeteredHandle metered = new MeteredHandle(handle, set, m.hold, service.clock(), grantedAt);
                granted = metered;
                emit(actual, metered);
            } else {
                // The subscriber cancelled while the grant was on its way: nobody else will release it.
                handle.release().subscribe(null, e -> Operators.onErrorDropped(e, actual.currentContext()));
            }
        }

        @Override
        public void onError(Throwable error) {
            LockMeterSet set = end();
            if (set == null) {
                Operators.onErrorDropped(error, actual.currentContext());
                return;
            }
            LockMeterSet.ModeMeters m = set.mode(mode);
            if (error instanceof LockTimeoutException) {
                m.timeouts.increment();
            } else if (error instanceof LockUnavailableException) {
                m.rejections.increment();
            } else {
                m.errors(error).increment();
            }
            actual.onError(error);
        }

        @Override
        public void onComplete() {
            int s = state;
            if (s == GRANTED) {
                return; // completed by emit()
            }
            LockMeterSet set = end();
            if (set == null) {
                return;
            }
            if (tryOnly) {
                set.mode(mode).busy.increment();
            }
            actual.onComplete();
        }

        /**
         * Ends an acquisition that was not granted.
         *
         * @return its meters, or {@code null} when it had already ended (cancelled)
         */
        private @Nullable LockMeterSet end() {
            for (;;) {
                int s = state;
                if (s == PENDING) {
                    if (cas(PENDING, DONE)) {
                        LockMeterSet set = pendingMeters();
                        set.pending.decrementAndGet();
                        return set;
                    }
                } else if (s == NEW) {
                    if (cas(NEW, DONE)) {
                        return service.meters(name); // failed before any request, e.g. re-entry
                    }
                } else if (s == GRANTED) {
                    return pendingMeters(); // protocol violation by the source; relay it
                } else {
                    return null;
                }
            }
        }

        @Override
        protected void releaseGranted() {
            MeteredHandle h = granted;
            if (h != null) {
                h.release().subscribe(null, e -> Operators.onErrorDropped(e, actual.currentContext()));
            }
        }

        private LockMeterSet pendingMeters() {
            LockMeterSet set = meters;
            if (set == null) {
                throw new IllegalStateException("acquisition of '" + name + "' left PENDING without meters");
            }
            return set;
        }

        @Override
        public void cancel() {
            for (;;) {
                int s = state;
                if (s == PENDING) {
                    if (cas(PENDING, CANCELLED)) {
                        LockMeterSet set = pendingMeters();
                        set.pending.decrementAndGet();
                        set.mode(mode).cancels.increment();
                        break;
                    }
                } else if (s == NEW) {
                    if (cas(NEW, CANCELLED)) {
                        break;
                    }
                } else {
                    if (s == GRANTED) {
                        cancelGranted();
                    }
                    break;
                }
            }
            Subscription up = upstream;
            if (up != null) {
                up.cancel();
            }
        }
    }
}
