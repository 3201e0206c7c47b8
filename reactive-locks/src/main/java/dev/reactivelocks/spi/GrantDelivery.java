package dev.reactivelocks.spi;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.internal.DroppedHandles;
import dev.reactivelocks.internal.RaceLosers;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import reactor.core.CoreSubscriber;

/**
 * The last step of every acquisition: handing a granted {@link LockHandle} to the subscriber, so that the
 * lock is never left held by nobody and never released under a subscriber that keeps it. Every acquisition
 * of this library (in-process, file, distributed, and the metered decorator that re-emits its own handle)
 * extends this class, calls {@link #emit} once the lock is its subscriber's, and {@link #cancelGranted()} from
 * {@code cancel()} once it has been granted.
 *
 * <p>Extend it when a decorator writes its own acquisition {@code Mono} (one that records the outcome of each
 * acquisition, for example); a decorator that only wraps the granted handle needs
 * {@link AcquisitionMono#map} and nothing from this class.
 *
 * <p>The rule, one CAS on {@link #phase} per race:
 * <ul>
 *   <li>a cancel that arrives after the grant but before the emission starts: the handle never left the
 *       acquisition, so it is released instead of emitted;</li>
 *   <li>a cancel that arrives once the emission has started, from any thread: ignored. From then on the
 *       subscriber owns the handle, and no source can tell a subscriber that gave it up from one that keeps
 *       it: {@code next()}, {@code take(1)}, {@code switchMap}, {@code concatMap} and a {@code publishOn}
 *       in between all cancel a source whose value they keep. Releasing there would let two holders in.</li>
 * </ul>
 * A subscriber that races its own cancellation and then drops the value reports it to Reactor's
 * {@code onNextDropped} hook ({@code subscribe(consumer)} disposed meanwhile, {@code timeout()},
 * {@code next()}); {@link DroppedHandles} releases every {@link LockHandle} that reaches that hook. Values an
 * operator stores and later <em>discards</em> ({@code zip} with a failing sibling, {@code then()}, a
 * {@code publishOn} queue torn down) go only to the discard hook of the caller's chain: that part is the
 * caller's, as {@code LockService}'s javadoc states. The losers of {@code firstWithValue}/{@code firstWithSignal}
 * ignore the value without any hook; {@link #emit} detects that right after {@code onNext}.
 *
 * <pre>
 *            emit()                 onNext + onComplete
 *  WAITING ──────────► EMITTING ───────────────────────► DELIVERED   (cancels ignored from EMITTING on)
 *    │ cancel
 *    ▼
 *  REVOKED ──emit()──► released, nothing emitted
 * </pre>
 *
 * The lock itself (held or released) is the subclass's state; {@link #releaseGranted()} must therefore be
 * idempotent with the handle's own {@code release()}: whichever comes first releases.
 */
public abstract class GrantDelivery {

    private static final int WAITING = 0;
    private static final int EMITTING = 1;
    private static final int REVOKED = 2;

    private static final VarHandle PHASE;

    static {
        try {
            PHASE = MethodHandles.lookup().findVarHandle(GrantDelivery.class, "phase", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
        DroppedHandles.install();
    }

    private volatile int phase;
    /** Set by every cancel of the subscriber, before or after the grant. */
    private volatile boolean cancelRequested;

    /** For subclasses. */
    protected GrantDelivery() {
    }

    /**
     * Installs again the Reactor hooks that release a {@link LockHandle} Reactor reports as dropped
     * ({@code Hooks.onNextDropped}, {@code Hooks.onOperatorError}). They are installed once, when the first
     * acquisition class is loaded; an application that resets Reactor's hooks ({@code Hooks.resetOnNextDropped()},
     * {@code Hooks.resetOnOperatorError()}) calls this afterwards.
     */
    public static void reinstallHooks() {
        DroppedHandles.reinstall();
    }

    /**
     * Emits {@code handle} and completes, unless the subscriber cancelled since the grant: then the grant is
     * released instead, and nothing is signalled. Called once, after the grant.
     *
     * @param actual the subscriber
     * @param handle the granted handle
     * @return whether the handle was emitted
     */
    protected final boolean emit(CoreSubscriber<? super LockHandle> actual, LockHandle handle) {
        if (!PHASE.compareAndSet(this, WAITING, EMITTING)) {
            releaseGranted();
            return false;
        }
        emitClaimed(actual, handle);
        return true;
    }

    /**
     * Starts the emission ahead of the grant, for an acquisition that wins its grant by one CAS and emits
     * right after it on the same thread, with nothing in between: call it just before that CAS (a plain
     * store, published by the CAS), then {@link #emitClaimed} once the CAS won. A cancel that sees the grant
     * is then ignored, as one that arrives during the emission; a cancel that wins the CAS leaves nothing
     * granted. Saves the CAS {@link #emit} makes.
     */
    protected final void claimEmission() {
        PHASE.set(this, EMITTING);
    }

    /**
     * Emits {@code handle} and completes, after {@link #claimEmission()} and the grant's CAS. Called once.
     *
     * @param actual the subscriber
     * @param handle the granted handle
     */
    protected final void emitClaimed(CoreSubscriber<? super LockHandle> actual, LockHandle handle) {
        actual.onNext(handle);
        boolean ignored = RaceLosers.ignoredBy(actual);
        actual.onComplete();
        if (ignored) {
            releaseGranted(); // a firstWithValue/firstWithSignal loser dropped it without telling anyone
        }
    }

    /**
     * The subscriber cancelled after the grant (the subclass's state says granted): before the emission,
     * the lock is released by {@link #emit}; from the emission on, the cancel is ignored.
     */
    protected final void cancelGranted() {
        PHASE.compareAndSet(this, WAITING, REVOKED);
    }

    /**
     * @return whether the handle has been (or is being) emitted; a non-positive {@code request} is then
     *         ignored, as for a completed subscription
     */
    protected final boolean emitted() {
        return phase == EMITTING;
    }

    /** Records a cancel of the subscriber; acquisitions call it first thing in {@code cancel()}. */
    protected final void noteCancel() {
        cancelRequested = true;
    }

    /**
     * @return whether the subscriber has cancelled: a timeout, rejection or error that an acquisition decides
     *         afterwards is not signalled (a signal already in flight cannot be recalled)
     */
    protected final boolean cancelRequested() {
        return cancelRequested;
    }

    /**
     * Releases the granted lock because its subscriber cancelled before the emission. Must be idempotent
     * with the handle's own release, and must not throw.
     */
    protected abstract void releaseGranted();
}
