package dev.reactivelocks.internal;

import dev.reactivelocks.LockHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.jspecify.annotations.Nullable;
import reactor.core.CoreSubscriber;

/**
 * The last step of every acquisition: handing a granted {@link LockHandle} to the subscriber, so that the
 * lock is never left held by nobody. Every acquisition of the project (in-process, file, distributed, and
 * the metered view that re-emits its own handle) extends this class and calls {@link #emit} once the lock
 * is its subscriber's, and {@link #cancelGranted()} from {@code cancel()} once it has been granted.
 *
 * <p>The problem it solves: Reactor subscribers may drop a value that arrives after they were cancelled
 * (a disposed {@code subscribe(consumer)}, {@code timeout()}, a {@code block(Duration)} that gave up), and
 * operators that cancel a completed source discard the value they held ({@code zip} with a failing
 * sibling, {@code firstWithValue} losers, {@code publishOn}, {@code delayElement}). A handle that reaches
 * such a subscriber is owned by nobody. The rule applied here, one CAS on {@link #phase} per race:
 *
 * <ul>
 *   <li>a cancel that arrives before the emission starts: the handle is released instead of emitted;</li>
 *   <li>a cancel made <em>from inside</em> {@code onNext}/{@code onComplete} on the emitting thread is a
 *       subscriber that takes the handle and ends its subscription ({@code next()}, {@code take(1)},
 *       {@code blockFirst()}, {@code toFuture()}): ignored, the lock stays held by it;</li>
 *   <li>a cancel from any other thread during the emission, or from anywhere after it, is a subscriber
 *       (or an operator chain) giving up on a handle it cannot use any more: the lock is released.
 *       Subscribers that keep the handle do not cancel a completed source ({@code subscribe(consumer)},
 *       {@code block()}, {@code toFuture()}, {@code usingWhen}); operators that do ({@code flatMap},
 *       {@code publishOn}, {@code delayElement}, {@code timeout}) are tearing down the chain that holds
 *       it, which is when {@code withLock} releases too.</li>
 * </ul>
 *
 * <pre>
 *            emit()                  onNext+onComplete returned
 *  WAITING ──────────► EMITTING ──────────────────────────────────► DELIVERED
 *    │                  │  (a cancel on the emitting thread:           │ cancel (any thread)
 *    │ cancel           │   ignored)                                    ▼
 *    ▼                  │ cancel from another thread                   DONE: released
 *  REVOKED ◄────────────┘ ──(emit() returns, or declines to emit)──► DONE: released
 * </pre>
 *
 * The lock itself (held or released) is the subclass's state; {@link #releaseGranted()} must therefore be
 * idempotent with the handle's own {@code release()}: whichever comes first releases.
 */
public abstract class GrantDelivery {

    private static final int WAITING = 0;
    private static final int EMITTING = 1;
    private static final int REVOKED = 2;
    private static final int DELIVERED = 3;
    private static final int DONE = 4;

    private static final VarHandle PHASE;

    static {
        try {
            PHASE = MethodHandles.lookup().findVarHandle(GrantDelivery.class, "phase", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile int phase;
    /** The thread inside {@link #emit}; written before the CAS to EMITTING, cleared before leaving it. */
    private @Nullable Thread emitter;

    /** For subclasses. */
    protected GrantDelivery() {
    }

    /**
     * Emits {@code handle} and completes, unless the subscriber cancelled since the grant: then the grant is
     * released instead (nothing is signalled after a cancel). Called once, after the grant.
     *
     * @param actual the subscriber
     * @param handle the granted handle
     * @return whether the handle was emitted
     */
    protected final boolean emit(CoreSubscriber<? super LockHandle> actual, LockHandle handle) {
        emitter = Thread.currentThread();
        if (!PHASE.compareAndSet(this, WAITING, EMITTING)) {
            emitter = null;
            finishRevoked();
            return false;
        }
        try {
            actual.onNext(handle);
            actual.onComplete();
        } finally {
            emitter = null;
            if (!PHASE.compareAndSet(this, EMITTING, DELIVERED)) {
                finishRevoked();
            }
        }
        return true;
    }

    private void finishRevoked() {
        if (PHASE.compareAndSet(this, REVOKED, DONE)) {
            releaseGranted();
        }
    }

    /**
     * The subscriber cancelled after the grant (the subclass's state says granted): decides, by the rule
     * in the class comment, whether the lock is released. Cancels after a release are no-ops.
     */
    protected final void cancelGranted() {
        for (;;) {
            int p = phase;
            switch (p) {
                case WAITING:
                    if (PHASE.compareAndSet(this, WAITING, REVOKED)) {
                        return; // emit() releases instead of emitting
                    }
                    break;
                case EMITTING:
                    if (emitter == Thread.currentThread()) {
                        return; // from inside onNext/onComplete: the subscriber takes the handle
                    }
                    if (PHASE.compareAndSet(this, EMITTING, REVOKED)) {
                        return; // the end of the emission releases
                    }
                    break;
                case DELIVERED:
                    if (PHASE.compareAndSet(this, DELIVERED, DONE)) {
                        releaseGranted();
                        return;
                    }
                    break;
                default:
                    return;
            }
        }
    }

    /**
     * Releases the granted lock because its subscriber gave it up. Must be idempotent with the handle's own
     * release, and must not throw.
     */
    protected abstract void releaseGranted();
}
