package dev.reactivelocks.spi;

import dev.reactivelocks.LockHandle;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
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
        Blocker blocker = new Blocker();
        subscribe(blocker);
        boolean answered;
        try {
            if (timeout == null) {
                blocker.latch.await();
                answered = true;
            } else {
                answered = blocker.latch.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
            }
        } catch (InterruptedException e) {
            Object r = blocker.giveUp();
            if (r instanceof LockHandle) {
                ((LockHandle) r).release().subscribe(null, error -> { }); // nobody will return it
            }
            Thread.currentThread().interrupt();
            throw Exceptions.propagate(e);
        }
        Object r = answered ? blocker.result.get() : blocker.giveUp();
        if (r == null || r == Blocker.ABANDONED) {
            throw new IllegalStateException("Timeout on blocking read for " + (timeout == null ? 0 : timeout.toNanos())
                    + " NANOSECONDS");
        }
        if (r instanceof Throwable) {
            throw Exceptions.propagate((Throwable) r);
        }
        return r == Blocker.EMPTY ? null : (LockHandle) r;
    }

    /** One CAS on {@link #result} decides between the answer and the caller giving up. */
    private static final class Blocker implements CoreSubscriber<LockHandle> {

        static final Object EMPTY = new Object();
        static final Object ABANDONED = new Object();

        final CountDownLatch latch = new CountDownLatch(1);
        final AtomicReference<@Nullable Object> result = new AtomicReference<>();
        final AtomicReference<@Nullable Subscription> subscription = new AtomicReference<>();

        @Override
        public void onSubscribe(Subscription s) {
            if (subscription.compareAndSet(null, s)) {
                s.request(Long.MAX_VALUE);
            } else {
                s.cancel();
            }
        }

        @Override
        public void onNext(LockHandle handle) {
            if (result.compareAndSet(null, handle)) {
                latch.countDown();
            } else {
                handle.release().subscribe(null, error -> { }); // the caller gave up first
            }
        }

        @Override
        public void onError(Throwable error) {
            if (result.compareAndSet(null, error)) {
                latch.countDown();
            }
        }

        @Override
        public void onComplete() {
            if (result.compareAndSet(null, EMPTY)) {
                latch.countDown();
            }
        }

        @Override
        public Context currentContext() {
            return Context.empty();
        }

        /** @return {@link #ABANDONED} when this won (the acquisition is cancelled), else the answer */
        Object giveUp() {
            if (result.compareAndSet(null, ABANDONED)) {
                Subscription s = subscription.get();
                if (s != null) {
                    s.cancel();
                }
                return ABANDONED;
            }
            Object r = result.get();
            return r == null ? ABANDONED : r;
        }
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
