package dev.reactivelocks.vertx;

import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.internal.Downgrades;
import io.vertx.core.Future;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.PromiseInternal;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * One call to {@code acquire}/{@code tryAcquire}: the subscriber of the wrapped service's {@code Mono}, and
 * once granted the {@link VertxLockHandle} itself.
 *
 * <pre>
 *               onNext(handle)                     release() / context closed
 *   PENDING ───────────────────────► HELD ────────────────────────────────────► DONE
 *      │                                                                        ▲
 *      │ onError / empty onComplete (promise fails / succeeds with null)        │
 *      ├────────────────────────────────────────────────────────────────────────┤
 *      │ context closed: cancel the subscription, fail the promise              │
 *      └────────────────────────────────────────────────────────────────────────┘
 * </pre>
 *
 * One CAS on {@link #state} decides between the grant and the close of the caller's context. When the close
 * wins, the subscription is cancelled, and the wrapped service either dequeues the waiter or releases a grant
 * that raced the cancellation; a grant signalled after the close won is released here. Every grant therefore
 * ends up either owned by the caller (and released by it or by the close) or released.
 *
 * <p>The promise belongs to the caller's context, so Vert.x runs its listeners on that context whichever
 * thread completes it.
 */
final class VertxAcquisition implements CoreSubscriber<LockHandle>, VertxLockHandle {

    private static final int PENDING = 0;
    private static final int HELD = 1;
    private static final int DONE = 2;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(VertxAcquisition.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ContextAcquisitions owner;
    private final ContextInternal context;
    private final String name;
    private final LockMode mode;
    private final PromiseInternal<@Nullable VertxLockHandle> promise;

    private volatile int state;
    private volatile @Nullable Subscription subscription;
    private volatile @Nullable LockHandle handle;
    /** The shared grant that replaced this one ({@link #downgrade()}). */
    private volatile @Nullable VertxAcquisition successor;
    private @Nullable Future<Void> lost;            // guarded by this
    private @Nullable Disposable lostSubscription;  // guarded by this

    @SuppressWarnings("unchecked")
    VertxAcquisition(ContextAcquisitions owner, ContextInternal context, String name, LockMode mode,
                     PromiseInternal<? extends @Nullable VertxLockHandle> promise) {
        this.owner = owner;
        this.context = context;
        this.name = name;
        this.mode = mode;
        this.promise = (PromiseInternal<@Nullable VertxLockHandle>) promise;
    }

    static LockException contextClosed(String name, LockMode mode) {
        return new LockException(name, "Lock '" + name + "' (" + mode
                + ") not acquired: the Vert.x context that asked for it was closed (verticle undeployed or Vert.x closed)");
    }

    // ---- subscriber of the wrapped service's Mono ------------------------------------------------------

    @Override
    public void onSubscribe(Subscription s) {
        subscription = s;
        if (state == PENDING) {
            s.request(1);
        } else {
            s.cancel(); // the context closed before the subscription arrived
        }
    }

    @Override
    public void onNext(LockHandle granted) {
        handle = granted;
        if (STATE.compareAndSet(this, PENDING, HELD)) {
            promise.complete(this);
        } else {
            granted.release().subscribe(); // the context closed first: nobody will own this grant
        }
    }

    @Override
    public void onError(Throwable error) {
        if (STATE.compareAndSet(this, PENDING, DONE)) {
            owner.remove(this);
            promise.fail(error);
        }
    }

    @Override
    public void onComplete() {
        if (STATE.compareAndSet(this, PENDING, DONE)) { // empty: tryAcquire found the lock busy
            owner.remove(this);
            promise.complete(null);
        }
    }

    /** The caller's context closed: leave the queue, or release what is held. */
    Mono<Void> abandon() {
        for (;;) {
            int s = state;
            if (s == PENDING) {
                if (STATE.compareAndSet(this, PENDING, DONE)) {
                    Subscription sub = subscription;
                    if (sub != null) {
                        sub.cancel();
                    }
                    promise.tryFail(contextClosed(name, mode));
                    return Mono.empty();
                }
            } else if (s == HELD) {
                if (STATE.compareAndSet(this, HELD, DONE)) {
                    return releaseHeld();
                }
            } else {
                return Mono.empty();
            }
        }
    }

    private Mono<Void> releaseHeld() {
        Disposable lostSub;
        synchronized (this) {
            lostSub = lostSubscription;
        }
        if (lostSub != null) {
            lostSub.dispose();
        }
        return Objects.requireNonNull(handle, "handle").release();
    }

    // ---- the handle --------------------------------------------------------------------------------------

    @Override
    public String name() {
        LockHandle h = handle;
        return h != null ? h.name() : name; // the full name when the wrapped service is a prefixed view
    }

    @Override
    public LockMode mode() {
        return mode;
    }

    @Override
    public long fencingToken() {
        return lockHandle().fencingToken();
    }

    @Override
    public boolean isHeld() {
        LockHandle h = handle;
        return state == HELD && h != null && h.isHeld();
    }

    @Override
    public Future<Void> release() {
        ContextInternal caller = (ContextInternal) context.owner().getOrCreateContext();
        if (!STATE.compareAndSet(this, HELD, DONE)) {
            VertxAcquisition next = successor;
            return next != null ? next.release() : caller.succeededFuture();
        }
        owner.remove(this);
        PromiseInternal<Void> released = caller.promise();
        releaseHeld().subscribe(null, released::fail, released::complete);
        return released.future();
    }

    @Override
    public Future<VertxLockHandle> downgrade() {
        ContextInternal caller = (ContextInternal) context.owner().getOrCreateContext();
        PromiseInternal<VertxLockHandle> promise = caller.promise();
        LockHandle h = handle;
        if (h == null) {
            promise.fail(new IllegalStateException("Lock '" + name + "' was not granted to this acquisition"));
            return promise.future();
        }
        if (state != HELD) {
            promise.fail(Downgrades.notHeld(h)); // released, downgraded, or its context closed
            return promise.future();
        }
        VertxAcquisition next = new VertxAcquisition(owner, context, name, LockMode.SHARED, promise);
        if (!owner.add(next)) {
            promise.fail(contextClosed(name, LockMode.SHARED));
            return promise.future();
        }
        h.downgrade().doOnNext(shared -> retire(next)).subscribe(next);
        return promise.future();
    }

    /** Downgraded: {@code next} holds the lock now, and this handle's release is its release. */
    private void retire(VertxAcquisition next) {
        successor = next;
        if (STATE.compareAndSet(this, HELD, DONE)) {
            owner.remove(this);
        }
    }

    @Override
    public synchronized Future<Void> lost() {
        Future<Void> f = lost;
        if (f == null) {
            PromiseInternal<Void> p = context.promise();
            f = p.future();
            lost = f;
            if (state == HELD) {
                lostSubscription = lockHandle().lost().subscribe(null, p::tryFail, p::tryComplete);
            }
        }
        return f;
    }

    @Override
    public LockHandle lockHandle() {
        LockHandle h = handle;
        if (h == null) {
            throw new IllegalStateException("Lock '" + name + "' was not granted to this acquisition");
        }
        return h;
    }

    @Override
    public String toString() {
        LockHandle h = handle;
        return "VertxLockHandle{name='" + name() + "', mode=" + mode
                + (h != null ? ", fencingToken=" + h.fencingToken() : "") + ", held=" + isHeld() + "}";
    }
}
