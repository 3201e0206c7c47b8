package dev.reactivelocks.internal;

import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Subscribes to one {@code Mono} and lets the subscribing thread park until it answers, without
 * {@code Mono.block()}: interruption and deadlines are decided here, so that giving up can cancel the
 * subscription and release a value that arrives anyway. The one blocking waiter of the project: the
 * {@code block()} of every acquisition {@code Mono} ({@code AcquisitionMono}) and every call of the blocking
 * bridge wait with it.
 *
 * <p>The race between the answer and the waiting thread giving up (interrupt or deadline) is
 * {@link AnswerRace}'s one CAS: a value either reaches the waiting thread or is discarded, exactly once.
 * Signals may arrive on any thread; they only CAS and unpark, so they never block the thread that delivers
 * them.
 *
 * @param <T> the value type
 */
public final class Waiter<T> extends AnswerRace<T> {

    /** The deadline passed before any answer; the subscription is cancelled. */
    public static final Object TIMED_OUT = new Object();
    /** Interrupted ({@link OnInterrupt#CANCEL} or {@link OnInterrupt#DETACH}) before any answer. */
    public static final Object INTERRUPTED = new Object();

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

    private final Thread thread = Thread.currentThread();

    /** @param discard receives a value that arrives after the waiting thread gave up */
    public Waiter(Consumer<? super T> discard) {
        super(discard);
    }

    @Override
    protected void answered(Object answer) {
        LockSupport.unpark(thread);
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
                Object r = answer();
                if (r != null) {
                    if (r instanceof Failure) {
                        // a publisher that failed in request() may have queued the acquisition anyway:
                        // cancel it (a no-op after a regular onError); a late grant goes to discard
                        cancelSubscription();
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
}
