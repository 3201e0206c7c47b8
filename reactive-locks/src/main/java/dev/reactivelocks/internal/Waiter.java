package dev.reactivelocks.internal;

import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Exceptions;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * Subscribes to one {@code Mono} and lets the subscribing thread park until it answers, without
 * {@code Mono.block()}: interruption and deadlines are decided here, so that giving up can cancel the
 * subscription and release a value that arrives anyway. The one blocking waiter of the project: the
 * {@code block()} of every acquisition {@code Mono} ({@code AcquisitionMono}) and every call of the blocking
 * bridge wait with it.
 *
 * <pre>
 *                 onNext / onError / onComplete
 *   PENDING (null) ─────────────────────────────► ANSWERED (value, Failure or EMPTY)
 *        │
 *        │ giveUp(cancel)       (the waiting thread: interrupt or deadline)
 *        ▼
 *   ABANDONED ── late onNext ──► value handed to {@code discard} (a late grant is released)
 *   (DETACHED when giving up without cancelling: a late onError goes to Operators.onErrorDropped)
 * </pre>
 *
 * One CAS on {@link #result} decides the race between the answer and the waiting thread giving up: a
 * value either reaches the waiting thread or is discarded, exactly once. Signals may arrive on any thread;
 * they only CAS and unpark, so they never block the thread that delivers them.
 *
 * @param <T> the value type
 */
public final class Waiter<T> implements CoreSubscriber<T> {

    /** The publisher completed without a value. */
    public static final Object EMPTY = new Object();
    /** The deadline passed before any answer; the subscription is cancelled. */
    public static final Object TIMED_OUT = new Object();
    /** Interrupted ({@link OnInterrupt#CANCEL} or {@link OnInterrupt#DETACH}) before any answer. */
    public static final Object INTERRUPTED = new Object();
    private static final Object ABANDONED = new Object();
    private static final Object DETACHED = new Object();

    /**
     * An {@code onError} answer.
     *
     * @param error the error
     */
    public record Failure(Throwable error) {
    }

    /** What the waiting thread does when it is interrupted. */
    public enum OnInterrupt {
        /** Give up (cancelling the subscription) and throw {@link InterruptedException}. */
        THROW,
        /** Keep waiting; the interrupt status is restored before returning. */
        IGNORE,
        /** Give up (cancelling the subscription) and return; the interrupt status is restored. */
        CANCEL,
        /** Stop waiting but let the subscription run on (a release in flight); the status is restored. */
        DETACH
    }

    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<Waiter, Object> RESULT =
            AtomicReferenceFieldUpdater.newUpdater(Waiter.class, Object.class, "result");
    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<Waiter, Subscription> SUBSCRIPTION =
            AtomicReferenceFieldUpdater.newUpdater(Waiter.class, Subscription.class, "subscription");

    private final Thread thread = Thread.currentThread();
    private final Consumer<? super T> discard;
    private volatile @Nullable Object result;
    private volatile @Nullable Subscription subscription;

    /** @param discard receives a value that arrives after the waiting thread gave up */
    public Waiter(Consumer<? super T> discard) {
        this.discard = discard;
    }

    @Override
    public void onSubscribe(Subscription s) {
        if (Operators.setOnce(SUBSCRIPTION, this, s)) {
            s.request(Long.MAX_VALUE);
        }
    }

    @Override
    public void onNext(T value) {
        if (RESULT.compareAndSet(this, null, value)) {
            LockSupport.unpark(thread);
        } else {
            discardValue(value);
        }
    }

    @Override
    public void onError(Throwable error) {
        if (RESULT.compareAndSet(this, null, new Failure(error))) {
            LockSupport.unpark(thread);
        } else if (result == DETACHED) {
            Operators.onErrorDropped(error, Context.empty()); // nobody waits for it any more
        }
        // after cancelling, an error (e.g. the service's own time-out racing ours) is expected: ignored
    }

    @Override
    public void onComplete() {
        if (RESULT.compareAndSet(this, null, EMPTY)) {
            LockSupport.unpark(thread);
        }
    }

    @Override
    public Context currentContext() {
        return Context.empty();
    }

    /**
     * Parks the subscribing thread until the answer, the deadline or an interrupt.
     *
     * @param deadline {@link System#nanoTime()} deadline, or {@code null} to wait without limit
     * @param onInterrupt what an interrupt does
     * @return the value, {@link #EMPTY} or a {@link Failure}; or, when the thread gave up before any answer,
     *         {@link #TIMED_OUT} or {@link #INTERRUPTED} (a value that arrives later goes to {@code discard})
     * @throws InterruptedException with {@link OnInterrupt#THROW}, when interrupted; a value that arrived
     *         meanwhile has been passed to {@code discard}
     */
    public Object await(@Nullable Long deadline, OnInterrupt onInterrupt) throws InterruptedException {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("await() called by " + Thread.currentThread() + ", not by " + thread);
        }
        boolean interrupted = false;
        try {
            for (;;) {
                Object r = result;
                if (r != null) {
                    if (r instanceof Failure) {
                        // a publisher that failed in request() may have queued the acquisition anyway:
                        // cancel it (a no-op after a regular onError); a late grant goes to discard
                        Operators.terminate(SUBSCRIPTION, this);
                    }
                    return r;
                }
                if (Thread.interrupted()) {
                    switch (onInterrupt) {
                        case IGNORE:
                            interrupted = true;
                            break;
                        case THROW: {
                            Object answer = giveUp(true);
                            if (answer != null && answer != EMPTY && !(answer instanceof Failure)) {
                                discardValue(answer);
                            }
                            throw new InterruptedException();
                        }
                        default:
                            interrupted = true;
                            Object answer = giveUp(onInterrupt == OnInterrupt.CANCEL);
                            return answer != null ? answer : INTERRUPTED;
                    }
                }
                if (deadline == null) {
                    LockSupport.park(this);
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        Object answer = giveUp(true);
                        return answer != null ? answer : TIMED_OUT;
                    }
                    LockSupport.parkNanos(this, left);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Stops waiting. Returns {@code null} when this won the race (and the subscription is cancelled when
     * {@code cancel}), otherwise the answer that got there first.
     */
    private @Nullable Object giveUp(boolean cancel) {
        if (RESULT.compareAndSet(this, null, cancel ? ABANDONED : DETACHED)) {
            if (cancel) {
                Operators.terminate(SUBSCRIPTION, this);
            }
            return null;
        }
        return result;
    }

    @SuppressWarnings("unchecked")
    private void discardValue(Object value) {
        try {
            discard.accept((T) value);
        } catch (Throwable e) {
            Exceptions.throwIfFatal(e);
            Operators.onErrorDropped(e, Context.empty());
        }
    }
}
