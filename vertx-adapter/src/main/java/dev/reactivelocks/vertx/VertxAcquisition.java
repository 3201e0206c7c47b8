package dev.reactivelocks.vertx;

import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.internal.AnswerRace;
import dev.reactivelocks.internal.Downgrades;
import dev.reactivelocks.internal.RunToEnd;
import dev.reactivelocks.spi.ForwardingLockHandle;
import io.vertx.core.Future;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.PromiseInternal;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * One call to {@code acquire}/{@code tryAcquire}: the subscriber of the wrapped service's {@code Mono}, and
 * once granted the {@link VertxLockHandle} itself.
 *
 * <pre>
 *               onNext(handle)                     release() / context closed / downgraded
 *   PENDING ───────────────────────► HELD ────────────────────────────────────────────────► DONE
 *      │                                                                                    ▲
 *      │ onError / empty onComplete (promise fails / succeeds with null)                    │
 *      ├────────────────────────────────────────────────────────────────────────────────────┤
 *      │ context closed: cancel the subscription, fail the promise                          │
 *      └────────────────────────────────────────────────────────────────────────────────────┘
 * </pre>
 *
 * The race between the answer and the close of the caller's context is {@link AnswerRace}'s one CAS, as
 * for a thread blocked on an acquisition: when the close wins, the subscription is cancelled, and the
 * wrapped service either dequeues the waiter or releases a grant that raced the cancellation; a grant
 * signalled after the close won is released here. Once granted, one CAS on {@link #ended} ends the hold
 * (release, close or downgrade). Every grant therefore ends up either owned by the caller (and released by
 * it or by the close) or released.
 *
 * <p>The acquisition stays registered with its context's {@link ContextAcquisitions} only while it is pending,
 * its lock is held or a release of it is under way: it leaves when it fails or finds the lock busy, when a
 * release through this handle or the Reactor handle ({@link #lockHandle()}) has completed, when it is
 * downgraded, and when the wrapped service reports the lock lost. The close of the context releases what is
 * held and waits for the releases under way ({@link ReleasesUnderWay}), so an undeployment never completes
 * before the locks of its context are released, whoever started the release.
 *
 * <p>A downgrade, through either handle, first registers the acquisition that will hold the shared grant
 * (its successor), so that the grant belongs to the context from the moment it exists: a close before it
 * arrives releases it, a close after releases it as any hold, and a release of the downgraded handle
 * releases it and unregisters both.
 *
 * <p>The promise belongs to the caller's context, so Vert.x runs its listeners on that context whichever
 * thread completes it.
 */
final class VertxAcquisition extends AnswerRace<LockHandle> implements VertxLockHandle {

    private final ContextAcquisitions owner;
    private final ContextInternal context;
    private final String name;
    private final LockMode mode;
    private final PromiseInternal<@Nullable VertxLockHandle> promise;

    /** Whether the hold of the granted lock ended: released, downgraded, or its context closed. */
    private final AtomicBoolean ended = new AtomicBoolean();
    /** The shared grant that replaced this one (a downgrade through either handle). */
    private volatile @Nullable VertxAcquisition successor;
    /** What {@link #lockHandle()} returns: the granted handle, whose release also unregisters this one. */
    private volatile @Nullable LockHandle reactorHandle;
    /**
     * The releases started through this grant's handles (this one, {@link #lockHandle()}), and those of the
     * grants before and after it in a chain of downgrades, which share it: the context's close waits for them.
     */
    private final ReleasesUnderWay releases;
    /** For the successor of a downgrade: completed once the downgrade ended, whatever its outcome. */
    private final Sinks.@Nullable Empty<Void> downgrade;
    /** Completed when the wrapped service reports the granted lock lost; {@link #lost()} is its future. */
    private @Nullable PromiseInternal<Void> lostPromise; // guarded by this
    private @Nullable Future<Void> lost;            // guarded by this
    private @Nullable Disposable lostSubscription;  // guarded by this

    VertxAcquisition(ContextAcquisitions owner, ContextInternal context, String name, LockMode mode,
                     PromiseInternal<? extends @Nullable VertxLockHandle> promise) {
        this(owner, context, name, mode, promise, new ReleasesUnderWay(), null);
    }

    @SuppressWarnings("unchecked")
    private VertxAcquisition(ContextAcquisitions owner, ContextInternal context, String name, LockMode mode,
                             PromiseInternal<? extends @Nullable VertxLockHandle> promise, ReleasesUnderWay releases,
                             Sinks.@Nullable Empty<Void> downgrade) {
        // the context closed first: nobody will own it, and the close waits for its release
        super(granted -> releases.track(granted.release()).subscribe());
        this.owner = owner;
        this.context = context;
        this.name = name;
        this.mode = mode;
        this.promise = (PromiseInternal<@Nullable VertxLockHandle>) promise;
        this.releases = releases;
        this.downgrade = downgrade;
    }

    static LockException contextClosed(String name, LockMode mode) {
        return new LockException(name, "Lock '" + name + "' (" + mode
                + ") not acquired: the Vert.x context that asked for it was closed (verticle undeployed or Vert.x closed)");
    }

    // ---- subscriber of the wrapped service's Mono ------------------------------------------------------

    @Override
    protected void answered(Object answer) {
        if (answer instanceof LockHandle h) {
            reactorHandle = new ReactorHandle(h);
            watchLoss(h);
            if (!h.isHeld()) {
                // the shared grant of a downgrade, released through the handle it replaced before this successor
                // held it: it leaves once that release ended (a close meanwhile waits for it)
                leaveOnceNoReleaseUnderWay();
            }
            promise.complete(this);
            return;
        }
        owner.remove(this);
        if (answer instanceof Failure failure) {
            promise.fail(failure.error());
        } else {
            promise.complete(null); // empty: tryAcquire found the lock busy
        }
    }

    /**
     * Follows the wrapped service's signal of loss from the grant on: a lost lock leaves the registry at once
     * (the context's close has nothing to release), and {@link #lost()} completes.
     */
    private void watchLoss(LockHandle h) {
        PromiseInternal<Void> p = context.promise();
        synchronized (this) {
            lostPromise = p;
        }
        Disposable watch = h.lost().subscribe(null, e -> {
            owner.remove(this);
            p.tryFail(e);
        }, () -> {
            owner.remove(this);
            p.tryComplete();
        });
        synchronized (this) {
            lostSubscription = watch;
        }
    }

    /**
     * A release of this grant ended (through either handle): unregisters this acquisition if that ended its
     * hold, and the shared grant that replaced it (a downgrade), which that release released too, each once no
     * release of the grant is under way any more: a release that found another one making it ends at once,
     * while the other one is still on its way, and a close meanwhile must find the acquisition to wait for it.
     *
     * @param released the handle released: the one granted to this acquisition
     */
    private void releasedThrough(LockHandle released) {
        if (!released.isHeld()) {
            stopWatchingLoss(); // released: never lost any more
            leaveOnceNoReleaseUnderWay();
        }
        VertxAcquisition next = successor;
        LockHandle shared = next != null ? next.handle() : null;
        if (shared != null) {
            next.releasedThrough(shared);
        }
    }

    /**
     * Unregisters this acquisition once no release of its grant is under way: at once when none is (the one
     * ending now is ended just after this call, before its subscriber learns it ended), otherwise when the last
     * one ends.
     */
    private void leaveOnceNoReleaseUnderWay() {
        releases.completion().doFinally(signal -> owner.remove(this)).subscribe();
    }

    /**
     * A release of {@code released} that leaves the registry once it ended, before its subscriber learns it
     * has: this acquisition stays registered until then, so that a close meanwhile waits for it.
     *
     * @param underWay the token of the release in {@link #releases}, begun before it could take effect
     */
    private Mono<Void> endedRelease(Mono<Void> release, LockHandle released, Sinks.Empty<Void> underWay) {
        return releases.ending(underWay, release, () -> releasedThrough(released));
    }

    /** The granted handle, {@code null} before the grant (or when there was none). */
    private @Nullable LockHandle handle() {
        return answer() instanceof LockHandle h ? h : null;
    }

    /** Ends the hold, once; returns whether this call did (and the lock was granted). */
    private boolean endHold() {
        return handle() != null && ended.compareAndSet(false, true);
    }

    /** @return whether the hold of the granted lock ended (released, downgraded, or its context closed) */
    boolean holdEnded() {
        return ended.get();
    }

    /**
     * @return the mode in which this grant, or the shared grant that replaced it ({@link #downgrade()}),
     *         holds the lock now; {@code null} when neither does
     */
    @Nullable LockMode heldMode() {
        for (VertxAcquisition a = this; a != null; a = a.successor) {
            if (a.isHeld()) {
                return a.mode;
            }
        }
        return null;
    }

    /**
     * The caller's context closed: leave the queue, or release what is held and wait for the releases its
     * holder started; the returned {@code Mono} completes once all of them have.
     */
    Mono<Void> abandon() {
        if (giveUp(true) == null) {
            promise.tryFail(contextClosed(name, mode));
            // a downgrade cannot stop halfway: the close waits for its end and the release of its late grant
            Sinks.Empty<Void> d = downgrade;
            return d == null ? Mono.empty() : d.asMono().then(releases.completion());
        }
        Mono<Void> own = endHold() ? releaseHeld() : Mono.empty();
        // after this one: a release that took effect before it, or that makes it, is under way by then
        return own.onErrorResume(e -> Mono.empty()).then(releases.completion());
    }

    private Mono<Void> releaseHeld() {
        stopWatchingLoss();
        return Objects.requireNonNull(handle(), "handle").release();
    }

    private void stopWatchingLoss() {
        Disposable watch;
        synchronized (this) {
            watch = lostSubscription;
        }
        if (watch != null) {
            watch.dispose();
        }
    }

    // ---- the handle --------------------------------------------------------------------------------------

    @Override
    public String name() {
        LockHandle h = handle();
        return h != null ? h.name() : name; // the full name when the wrapped service is a prefixed view
    }

    @Override
    public LockMode mode() {
        return mode;
    }

    @Override
    public long fencingToken() {
        return granted().fencingToken();
    }

    @Override
    public boolean isHeld() {
        LockHandle h = handle();
        return h != null && !ended.get() && h.isHeld();
    }

    @Override
    public Future<Void> release() {
        ContextInternal caller = (ContextInternal) context.owner().getOrCreateContext();
        Sinks.Empty<Void> underWay = releases.begin(); // before the hold ends: a close from now on waits for it
        if (!endHold() && successor == null) {
            releases.end(underWay); // released already, its context closed, or never granted
            return caller.succeededFuture();
        }
        // after a downgrade, the granted handle's release releases the shared grant, even one still on its way
        // to the successor (whose own release would find nothing to release yet)
        LockHandle h = Objects.requireNonNull(handle(), "handle");
        PromiseInternal<Void> released = caller.promise();
        // deferred: a handle that throws instead of erroring still ends the release the close waits for
        endedRelease(Mono.defer(this::releaseHeld), h, underWay)
                .subscribe(null, released::fail, released::complete);
        return released.future();
    }

    @Override
    public Future<VertxLockHandle> downgrade() {
        ContextInternal caller = (ContextInternal) context.owner().getOrCreateContext();
        PromiseInternal<VertxLockHandle> promise = caller.promise();
        LockHandle h = handle();
        if (h == null) {
            promise.fail(new IllegalStateException("Lock '" + name + "' was not granted to this acquisition"));
            return promise.future();
        }
        if (ended.get()) {
            promise.fail(Downgrades.notHeld(h)); // released, downgraded, or its context closed
            return promise.future();
        }
        VertxAcquisition next = successor(promise);
        if (next == null) {
            promise.fail(contextClosed(name, LockMode.SHARED));
            return promise.future();
        }
        // not cancelled by a close: a grant that comes after it is released by this successor, tracked; deferred,
        // so that a handle throwing instead of erroring still ends the downgrade the close waits for
        Mono.defer(h::downgrade).doOnNext(shared -> retire(next)).doFinally(signal -> next.downgradeEnded())
                .subscribe(next::onNext, next::onError);
        return promise.future();
    }

    /**
     * The acquisition that will hold the shared grant of a downgrade of this one, registered with the context
     * before the downgrade starts: whatever the interleaving of the downgrade, releases and the close, the
     * context's close either finds it pending (the downgrade's grant is then released, never handed out) or
     * releases what it holds.
     *
     * @return the successor, or {@code null} when the context is closed
     */
    private @Nullable VertxAcquisition successor(PromiseInternal<? extends @Nullable VertxLockHandle> promise) {
        VertxAcquisition next = new VertxAcquisition(owner, context, name, LockMode.SHARED, promise, releases,
                Sinks.empty());
        return owner.add(next) ? next : null;
    }

    /** The downgrade this successor stands for ended: answered, failed or cancelled. */
    private void downgradeEnded() {
        Objects.requireNonNull(downgrade, "downgrade").tryEmitEmpty();
    }

    /**
     * The shared grant of a downgrade through the Reactor handle arrived: this successor holds it, unless the
     * context closed first (the grant is then released).
     *
     * @return the Reactor handle of the shared grant, {@code null} when the context closed first
     */
    private @Nullable LockHandle take(LockHandle shared) {
        onNext(shared);
        return reactorHandle;
    }

    /** Downgraded: {@code next} holds the lock now, and this handle's release is its release. */
    private void retire(VertxAcquisition next) {
        successor = next;
        if (endHold()) {
            owner.remove(this);
        }
    }

    @Override
    public synchronized Future<Void> lost() {
        Future<Void> f = lost;
        VertxAcquisition next = successor;
        if (f == null && next != null) {
            // downgraded: as the core's handle, this one reports the loss of the shared grant that replaced it
            f = next.lost();
            lost = f;
        }
        if (f == null) {
            PromiseInternal<Void> p = lostPromise;
            f = p != null ? p.future() : context.<Void>promise().future(); // not granted: never lost
            lost = f;
        }
        return f;
    }

    @Override
    public LockHandle lockHandle() {
        granted();
        return Objects.requireNonNull(reactorHandle, "reactorHandle");
    }

    private LockHandle granted() {
        LockHandle h = handle();
        if (h == null) {
            throw new IllegalStateException("Lock '" + name + "' was not granted to this acquisition");
        }
        return h;
    }

    /**
     * A Reactor handle of this grant: its release, which the context's close waits for, also unregisters the
     * acquisition once the hold ended.
     */
    private final class ReactorHandle extends ForwardingLockHandle {

        ReactorHandle(LockHandle delegate) {
            super(delegate);
        }

        /**
         * Runs the release to its end even when its subscriber cancels, as {@link VertxAcquisition#release()}
         * does: a release stopped halfway (a distributed store call dropped after the handle stopped holding)
         * would leave the lock held by nobody, and the close would no longer wait for it.
         */
        @Override
        public Mono<Void> release() {
            return Mono.defer(() -> RunToEnd.start(endedRelease(super.release(), delegate(), releases.begin())));
        }

        /**
         * The shared grant is held by a successor registered when the downgrade starts, as for
         * {@link VertxAcquisition#downgrade()}: the context's close releases it (waiting for a downgrade under
         * way), and this handle's release releases it too. Fails with the error of
         * {@link VertxAcquisition#contextClosed} when the context closed before the grant arrived.
         */
        @Override
        public Mono<LockHandle> downgrade() {
            // at the first request, when every downgrade starts, and never cancelled: a cancel before the
            // emission releases the successor's handle
            return Downgrades.deliver(() -> {
                VertxAcquisition next = successor(context.promise());
                if (next == null) {
                    return Mono.error(contextClosed(name, LockMode.SHARED));
                }
                return Mono.defer(super::downgrade) // a handle that throws still ends the downgrade
                        .doOnNext(h -> retire(next))
                        .doOnError(next::onError)
                        .doFinally(signal -> next.downgradeEnded())
                        .mapNotNull(next::take)
                        .switchIfEmpty(Mono.error(() -> contextClosed(name, LockMode.SHARED)));
            });
        }
    }

    @Override
    public String toString() {
        LockHandle h = handle();
        return "VertxLockHandle{name='" + name() + "', mode=" + mode
                + (h != null ? ", fencingToken=" + h.fencingToken() : "") + ", held=" + isHeld() + "}";
    }
}
