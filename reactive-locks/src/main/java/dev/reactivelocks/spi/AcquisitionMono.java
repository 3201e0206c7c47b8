package dev.reactivelocks.spi;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.internal.Waiter;
import java.time.Duration;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.context.Context;

/**
 * The base of every acquisition {@code Mono} of this library: {@link #block()} and {@link #block(Duration)}
 * behave as Reactor's, except that a grant arriving while the caller gives up (timeout or interrupt) is
 * either returned (it won the race) or released, never stored in a subscriber nobody reads.
 *
 * <p>A decorator that wraps the handles of the service it decorates returns {@link #map} of the delegate's
 * acquisition (see {@link ForwardingLockService}); one that writes its own acquisition {@code Mono} extends
 * this class and emits through {@link GrantDelivery}.
 */
public abstract class AcquisitionMono extends Mono<LockHandle> {

    /** For subclasses. */
    protected AcquisitionMono() {
    }

    /**
     * A decorator's acquisition: the source's handle wrapped by {@code mapper}, emitted through the
     * delivery protocol of every acquisition ({@link GrantDelivery}), so that a cancel between the grant
     * and the emission releases the wrapped handle, a race operator that ignores it is detected, and
     * {@code block()} never loses a grant. Use it instead of {@code Mono.map}, which has none of these
     * properties.
     *
     * <pre>{@code
     * public Mono<LockHandle> acquire(String name, LockOptions options) {
     *     return AcquisitionMono.map(delegate().acquire(name, options), AuditedHandle::new);
     * }
     * }</pre>
     *
     * @param source an acquisition
     * @param mapper wraps the granted handle (a decorating view's handle); must not throw
     * @return the acquisition of the wrapped handle
     */
    public static AcquisitionMono map(Mono<LockHandle> source, Function<LockHandle, LockHandle> mapper) {
        return new AcquisitionMono() {
            @Override
            public void subscribe(CoreSubscriber<? super LockHandle> actual) {
                source.subscribe(new Mapping(actual, mapper));
            }
        };
    }

    @Override
    public @Nullable LockHandle block() {
        return await(null);
    }

    @Override
    public @Nullable LockHandle block(Duration timeout) {
        return await(timeout);
    }

    private @Nullable LockHandle await(@Nullable Duration timeout) {
        if (Schedulers.isInNonBlockingThread()) {
            throw new IllegalStateException("block()/blockFirst()/blockLast() are blocking, which is not supported in "
                    + "thread " + Thread.currentThread().getName());
        }
        // one CAS in the waiter decides between the answer and the caller giving up (timeout or interrupt):
        // a grant that loses is released, since nobody will return it
        Waiter<LockHandle> waiter = new Waiter<>(late -> late.release().subscribe(null, error -> { }));
        subscribe(waiter);
        Object r;
        try {
            r = waiter.await(timeout == null ? null : System.nanoTime() + timeout.toNanos(), Waiter.OnInterrupt.THROW);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Exceptions.propagate(e);
        }
        if (r == Waiter.TIMED_OUT) {
            throw new IllegalStateException("Timeout on blocking read for " + (timeout == null ? 0 : timeout.toNanos())
                    + " NANOSECONDS");
        }
        if (r instanceof Waiter.Failure failure) {
            throw Exceptions.propagate(failure.error());
        }
        return r == Waiter.EMPTY ? null : (LockHandle) r;
    }

    /** Relays one acquisition, wrapping its handle. Request and cancel are serial (rule 2.7). */
    private static final class Mapping extends GrantDelivery implements CoreSubscriber<LockHandle>, Subscription {

        private final CoreSubscriber<? super LockHandle> actual;
        private final Function<LockHandle, LockHandle> mapper;
        private @Nullable Subscription upstream;
        private volatile @Nullable LockHandle mapped;

        Mapping(CoreSubscriber<? super LockHandle> actual, Function<LockHandle, LockHandle> mapper) {
            this.actual = actual;
            this.mapper = mapper;
        }

        @Override
        public void onSubscribe(Subscription s) {
            upstream = s;
            actual.onSubscribe(this);
        }

        @Override
        public void onNext(LockHandle handle) {
            LockHandle m = mapper.apply(handle);
            mapped = m;
            if (cancelRequested()) {
                cancelGranted(); // cancelled while the grant was on its way: emit() releases instead
            }
            emit(actual, m);
        }

        @Override
        public void onError(Throwable error) {
            actual.onError(error);
        }

        @Override
        public void onComplete() {
            if (mapped == null) {
                actual.onComplete(); // empty: tryAcquire found the lock busy (emit() completes otherwise)
            }
        }

        @Override
        public void request(long n) {
            Subscription s = upstream;
            if (s != null) {
                s.request(n);
            }
        }

        @Override
        public void cancel() {
            noteCancel();
            if (mapped != null) {
                cancelGranted();
            }
            Subscription s = upstream;
            if (s != null) {
                s.cancel();
            }
        }

        @Override
        protected void releaseGranted() {
            LockHandle m = mapped;
            if (m != null) {
                m.release().subscribe(null, error -> { });
            }
        }

        @Override
        public Context currentContext() {
            return actual.currentContext();
        }
    }
}
