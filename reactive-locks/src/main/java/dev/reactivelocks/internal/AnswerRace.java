package dev.reactivelocks.internal;

import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Exceptions;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * The last subscriber of one {@code Mono} (an acquisition, a release) whose consumer is not a Reactive
 * Streams subscriber and may give up before the answer: a thread that blocks ({@link Waiter}), a Vert.x
 * promise whose context closes. The subscriber side of what {@link AcquisitionCore} is on the publisher side.
 *
 * <pre>
 *                 onNext / onError / onComplete
 *   PENDING (null) ─────────────────────────────► ANSWERED (value, Failure or EMPTY): {@link #answered}
 *        │
 *        │ {@link #giveUp}(cancel)
 *        ▼
 *   ABANDONED ── late onNext ──► value handed to {@code discard} (a late grant is released)
 *   (DETACHED when giving up without cancelling: a late onError goes to Operators.onErrorDropped)
 * </pre>
 *
 * One CAS on {@link #result} decides the race between the answer and giving up: a value either reaches the
 * consumer or is discarded, exactly once. A subscription that arrives after giving up is cancelled.
 *
 * @param <T> the value type
 */
public abstract class AnswerRace<T> implements CoreSubscriber<T> {

    /** The publisher completed without a value. */
    public static final Object EMPTY = new Object();
    private static final Object ABANDONED = new Object();
    private static final Object DETACHED = new Object();

    /**
     * An {@code onError} answer.
     *
     * @param error the error
     */
    public record Failure(Throwable error) {
    }

    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<AnswerRace, Object> RESULT =
            AtomicReferenceFieldUpdater.newUpdater(AnswerRace.class, Object.class, "result");
    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<AnswerRace, Subscription> SUBSCRIPTION =
            AtomicReferenceFieldUpdater.newUpdater(AnswerRace.class, Subscription.class, "subscription");

    private final Consumer<? super T> discard;
    private volatile @Nullable Object result;
    private volatile @Nullable Subscription subscription;

    /** @param discard receives a value that arrives after the consumer gave up */
    protected AnswerRace(Consumer<? super T> discard) {
        this.discard = discard;
    }

    @Override
    public final void onSubscribe(Subscription s) {
        if (Operators.setOnce(SUBSCRIPTION, this, s)) {
            s.request(Long.MAX_VALUE);
        }
    }

    @Override
    public final void onNext(T value) {
        if (RESULT.compareAndSet(this, null, value)) {
            answered(value);
        } else {
            discardValue(value);
        }
    }

    @Override
    public final void onError(Throwable error) {
        Failure failure = new Failure(error);
        if (RESULT.compareAndSet(this, null, failure)) {
            answered(failure);
        } else if (result == DETACHED) {
            Operators.onErrorDropped(error, Context.empty()); // nobody waits for it any more
        }
        // after cancelling, an error (e.g. the service's own time-out racing ours) is expected: ignored
    }

    @Override
    public final void onComplete() {
        if (RESULT.compareAndSet(this, null, EMPTY)) {
            answered(EMPTY);
        }
    }

    @Override
    public Context currentContext() {
        return Context.empty();
    }

    /**
     * The answer won the race; called once, on the signalling thread, which must not block.
     *
     * @param answer the value, {@link #EMPTY} or a {@link Failure}
     */
    protected abstract void answered(Object answer);

    /**
     * @return the value, {@link #EMPTY} or a {@link Failure}; {@code null} while pending or after giving up
     */
    protected final @Nullable Object answer() {
        Object r = result;
        return r == ABANDONED || r == DETACHED ? null : r;
    }

    /**
     * Stops waiting for the answer.
     *
     * @param cancel whether to cancel the subscription; without, it runs on (a release in flight) and a
     *               late error goes to {@code Operators.onErrorDropped}
     * @return {@code null} when this won the race, otherwise the answer that got there first
     */
    protected final @Nullable Object giveUp(boolean cancel) {
        if (RESULT.compareAndSet(this, null, cancel ? ABANDONED : DETACHED)) {
            if (cancel) {
                cancelSubscription();
            }
            return null;
        }
        return answer();
    }

    /** Cancels the subscription, now or when it arrives (a no-op once the publisher has terminated). */
    protected final void cancelSubscription() {
        Operators.terminate(SUBSCRIPTION, this);
    }

    /**
     * Hands {@code value} to {@code discard}; an error it throws goes to {@code Operators.onErrorDropped}.
     *
     * @param value a value nobody will receive
     */
    @SuppressWarnings("unchecked")
    protected final void discardValue(Object value) {
        try {
            discard.accept((T) value);
        } catch (Throwable e) {
            Exceptions.throwIfFatal(e);
            Operators.onErrorDropped(e, Context.empty());
        }
    }
}
