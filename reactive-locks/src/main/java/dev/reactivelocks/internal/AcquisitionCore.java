package dev.reactivelocks.internal;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.spi.GrantDelivery;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.Exceptions;
import reactor.core.scheduler.Scheduler;

/**
 * The state machine every acquisition of the project shares: one state word whose CAS decides grant vs
 * cancel vs timeout, the {@code request(n)} rules, the deadline timer, the cancel loop and, through
 * {@link GrantDelivery}, deliver-or-release. A subclass adds only what differs: its waiting states (how it
 * queues and leaves the queue), its granted states, and what the handle is.
 *
 * <pre>
 *          request(n)              (subclass: further waiting states)        grant (subclass CAS)
 *   NEW ─────────────► PENDING ──────────────────────────────────────► … ─────────────────────► granted
 *    │ cancel             │ cancel / timeout / failure from any waiting state:                   │ cancel:
 *    ▼                    ▼ one CAS to CANCELLED, then {@link #left} once                          ▼
 * CANCELLED ◄─────────── CANCELLED                                         {@link GrantDelivery#cancelGranted}
 * </pre>
 *
 * <ul>
 *   <li>{@code request(n)}: {@code n <= 0} cancels and signals the Reactive Streams rule 3.9 error (unless the
 *       handle was already emitted: then the subscription is complete and nothing is signalled); the first
 *       positive request tries {@link #startFast()} (NEW straight to granted), else moves NEW to PENDING and
 *       calls {@link #start()}; later requests do nothing.</li>
 *   <li>{@code cancel()}: records the cancel ({@link #cancelRequested()}); from NEW it only moves to
 *       CANCELLED; from a waiting state the thread whose CAS moved it to CANCELLED disposes the deadline and
 *       calls {@link #left(int, Throwable)}; from a granted state the delivery protocol decides (released
 *       before the emission, ignored after).</li>
 *   <li>{@link #fail(Throwable)} (timeout, close, setup failure): the same CAS from a waiting state, then
 *       {@link #left(int, Throwable)} with the error, which the subclass signals unless the subscriber
 *       cancelled.</li>
 *   <li>The deadline is a task on the injected timer ({@link #startDeadline}); no other clock is read.</li>
 * </ul>
 *
 * Subclasses number their own states from {@link #PENDING} up.
 */
public abstract class AcquisitionCore extends GrantDelivery implements Subscription {

    /** Subscribed, not requested yet. */
    public static final int NEW = 0;
    /** Left before the grant: cancelled, timed out, rejected or failed. Final. */
    public static final int CANCELLED = 1;
    /** The waiting state the first {@code request(n)} moves to; further states are the subclass's. */
    public static final int PENDING = 2;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(AcquisitionCore.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The subscriber of this acquisition. */
    protected final CoreSubscriber<? super LockHandle> actual;
    private volatile int state;
    private volatile @Nullable Disposable deadline;

    /**
     * @param actual the subscriber
     */
    protected AcquisitionCore(CoreSubscriber<? super LockHandle> actual) {
        this.actual = actual;
    }

    /**
     * @return the current state
     */
    public final int state() {
        return state;
    }

    /**
     * @param expected the state expected
     * @param next the state to move to
     * @return whether the state was {@code expected} and is now {@code next}
     */
    public final boolean casState(int expected, int next) {
        return STATE.compareAndSet(this, expected, next);
    }

    /**
     * Sets the state without a race (a grant made before the acquisition is visible to anyone else).
     *
     * @param next the state
     */
    protected final void initState(int next) {
        state = next;
    }

    @Override
    public final void request(long n) {
        if (n <= 0) {
            int s = state;
            if (emitted() || cancelRequested() || s == CANCELLED || (s != NEW && !waiting(s) && !granted(s))) {
                return; // cancelled, completed or failed: nothing to cancel or signal (rules 3.6, 1.7)
            }
            cancel();
            actual.onError(Exceptions.nullOrNegativeRequestException(n));
            return;
        }
        if (state == NEW && !startFast() && casState(NEW, PENDING)) {
            start();
        }
    }

    @Override
    public final void cancel() {
        noteCancel();
        for (;;) {
            int s = state;
            if (s == NEW) {
                if (casState(NEW, CANCELLED)) {
                    return;
                }
            } else if (waiting(s)) {
                if (casState(s, CANCELLED)) {
                    disposeDeadline();
                    left(s, null);
                    return;
                }
            } else {
                if (s != CANCELLED && granted(s)) {
                    cancelGranted(); // released if not emitted yet, else ignored
                }
                return;
            }
        }
    }

    /**
     * Leaves before the grant and signals {@code error} (timeout, close, setup failure), unless a grant, a
     * cancel or another failure got there first.
     *
     * @param error what {@link #left} signals
     * @return whether this call ended the acquisition
     */
    public final boolean fail(Throwable error) {
        for (;;) {
            int s = state;
            if (!waiting(s)) {
                return false;
            }
            if (casState(s, CANCELLED)) {
                disposeDeadline();
                left(s, error);
                return true;
            }
        }
    }

    /**
     * Schedules the deadline on the injected {@code timer}: when it fires while the acquisition still waits,
     * {@link #fail} with {@code timeoutError}. A timer that refuses the task fails the acquisition with its
     * error; a task scheduled after the acquisition stopped waiting is disposed at once.
     *
     * @param timer the service's timer
     * @param delayNanos the delay
     * @param timeoutError the timeout error, made when it fires
     */
    protected final void startDeadline(Scheduler timer, long delayNanos, Supplier<? extends Throwable> timeoutError) {
        Disposable task;
        try {
            task = timer.schedule(() -> fail(timeoutError.get()), delayNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            fail(e);
            return;
        }
        deadline = task;
        if (!waiting(state)) {
            task.dispose();
        }
    }

    /** Disposes the deadline timer, if any (on every way out of the waiting states). */
    protected final void disposeDeadline() {
        Disposable t = deadline;
        if (t != null) {
            t.dispose();
        }
    }

    /**
     * Called by the first positive {@code request}, in state NEW: a subclass that can grant at once without
     * queueing (a free lock) wins the grant by one CAS from NEW, and emits right after it (see
     * {@link GrantDelivery#claimEmission()}); a cancel that won that CAS first leaves nothing held.
     *
     * @return whether the request was handled (granted, or cancelled meanwhile); {@code false} to queue
     *         through {@link #start()}
     */
    protected boolean startFast() {
        return false;
    }

    /** Called once, by the thread whose first positive {@code request} moved NEW to PENDING: queue. */
    protected abstract void start();

    /**
     * @param state a state other than NEW and CANCELLED
     * @return whether the acquisition waits in {@code state}: cancel and {@link #fail} leave from it
     */
    protected abstract boolean waiting(int state);

    /**
     * @param state a state that is not NEW, CANCELLED or waiting
     * @return whether the lock was granted to this acquisition in {@code state} (a cancel then goes to the
     *         delivery protocol); the default says every such state
     */
    protected boolean granted(int state) {
        return true;
    }

    /**
     * The acquisition left waiting state {@code from} for CANCELLED; called once, by the thread that moved
     * it. Leave the queue (give back whatever was obtained in {@code from}), and signal {@code error}
     * unless {@link #cancelRequested()}.
     *
     * @param from the waiting state left
     * @param error the failure to signal, {@code null} for a cancel
     */
    protected abstract void left(int from, @Nullable Throwable error);
}
