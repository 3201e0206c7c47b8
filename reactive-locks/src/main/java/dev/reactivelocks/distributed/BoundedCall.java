package dev.reactivelocks.distributed;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;
import reactor.util.context.Context;

/**
 * A call to the backend that errors with {@link TimeoutException} when it has neither answered nor failed
 * within a bound: one task on the service's timer per subscription, disposed at the answer. It replaces
 * Reactor's {@code timeout(Duration, Scheduler)} on the per-operation path, which also assembles a delay
 * publisher and an error fallback, and looks up and formats a description of the source at each
 * subscription.
 *
 * <pre>
 *  RUNNING ──answer (value, empty, error) from the call──► DONE: the timer task is disposed, the answer goes on
 *     │ ────timer fires first───────────────────────────► DONE: the call is cancelled, TimeoutException
 *     └─────cancel by the subscriber──────────────────────► DONE: the call is cancelled, the task disposed
 * </pre>
 *
 * One CAS on the subscription's flag decides which comes first; the loser's signal is dropped. A timer that rejects the
 * task (disposed) fails the call with that rejection, as Reactor's operator does.
 *
 * @param <T> the call's value
 */
final class BoundedCall<T> extends Mono<T> {

    private final Mono<T> call;
    private final long boundNanos;
    private final Scheduler timer;

    private BoundedCall(Mono<T> call, Duration bound, Scheduler timer) {
        this.call = call;
        this.boundNanos = bound.toNanos();
        this.timer = timer;
    }

    /** {@code call}, failing with {@link TimeoutException} unless it ended within {@code bound} on {@code timer}. */
    static <T> Mono<T> within(Mono<T> call, Duration bound, Scheduler timer) {
        return new BoundedCall<>(call, bound, timer);
    }

    @Override
    public void subscribe(CoreSubscriber<? super T> actual) {
        call.subscribe(new Watch<>(actual, boundNanos, timer));
    }

    /** The subscription: {@code true} once DONE. */
    @SuppressWarnings("serial") // never serialized
    private static final class Watch<T> extends AtomicBoolean implements CoreSubscriber<T>, Subscription, Runnable {

        private final CoreSubscriber<? super T> actual;
        private final long boundNanos;
        private final Scheduler timer;
        /** Set in onSubscribe, before the subscriber and the timer can see this. */
        private @Nullable Subscription upstream;
        private volatile @Nullable Disposable task;

        Watch(CoreSubscriber<? super T> actual, long boundNanos, Scheduler timer) {
            this.actual = actual;
            this.boundNanos = boundNanos;
            this.timer = timer;
        }

        @Override
        public void onSubscribe(Subscription s) {
            if (!Operators.validate(upstream, s)) {
                return;
            }
            upstream = s;
            actual.onSubscribe(this);
            if (get()) {
                return; // answered, or cancelled, during onSubscribe
            }
            Disposable t;
            try {
                t = timer.schedule(this, boundNanos, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                if (finish()) {
                    s.cancel();
                    actual.onError(e);
                }
                return;
            }
            task = t;
            if (get()) {
                t.dispose(); // ended between the check and the schedule: finish() may not have seen the task
            }
        }

        /** @return whether this call ended the watch; disposes the timer task if it was scheduled */
        private boolean finish() {
            if (!compareAndSet(false, true)) {
                return false;
            }
            Disposable t = task;
            if (t != null) {
                t.dispose();
            }
            return true;
        }

        @Override
        public void onNext(T value) {
            if (finish()) {
                actual.onNext(value);
                actual.onComplete();
            } else {
                Operators.onNextDropped(value, actual.currentContext());
            }
        }

        @Override
        public void onError(Throwable error) {
            if (finish()) {
                actual.onError(error);
            } else {
                Operators.onErrorDropped(error, actual.currentContext());
            }
        }

        @Override
        public void onComplete() {
            if (finish()) {
                actual.onComplete();
            }
        }

        /** The bound passed. */
        @Override
        public void run() {
            if (finish()) {
                upstream().cancel();
                actual.onError(new TimeoutException("no answer from the lock backend within "
                        + TimeUnit.NANOSECONDS.toMillis(boundNanos) + "ms"));
            }
        }

        private Subscription upstream() {
            return Objects.requireNonNull(upstream, "signalled before onSubscribe");
        }

        @Override
        public void request(long n) {
            upstream().request(n);
        }

        @Override
        public void cancel() {
            finish();
            upstream().cancel();
        }

        @Override
        public Context currentContext() {
            return actual.currentContext();
        }
    }
}
