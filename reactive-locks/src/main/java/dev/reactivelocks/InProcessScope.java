package dev.reactivelocks;

import dev.reactivelocks.internal.CleanupBarrier;
import dev.reactivelocks.internal.ScopedLocks;
import dev.reactivelocks.internal.SynchronousRelease;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * {@link InProcessLockService#withLock(String, LockOptions, Function)}: what {@code ScopedLocks.mono} does with
 * {@code Mono.usingWhen}, in one subscriber per subscription, for the in-process service, whose handles
 * release synchronously ({@link SynchronousRelease}). {@code usingWhen} takes a resource subscriber, a
 * {@code contextWrite} operator and its subscriber, the body's subscriber, a release publisher and its
 * subscriber for every use; on a contended name with a synchronous body those were most of the time of a
 * grant that is not the lock's own (see {@code docs/performance.md}, section 2).
 *
 * <p>The same signals as the {@code usingWhen} form: the acquisition is subscribed and requested when this
 * {@code Mono} is subscribed; the body is subscribed after the grant with the handle recorded in its
 * {@code Context} (re-entry detection, {@link CleanupBarrier}), and requested as the subscriber requests; the
 * body's value and completion, or its error, are signalled after the release, on the thread that ended the
 * body; a failure of the release replaces a completion and is added as suppressed to the body's error; a
 * cancel before the grant cancels the acquisition, a cancel while the body runs cancels it and releases
 * once the body's registered cleanup settled.
 *
 * <pre>
 *              onNext(handle)                 body subscribed                 body terminates: release, then signal
 *   ACQUIRING ─────────────────► SUBSCRIBING ─────────────────► RUNNING ────────────────────────────────► DONE
 *       │ cancel: cancel the         │ cancel: cancel the body;    │ cancel: cancel the body, release after
 *       ▼ acquisition (a handle      ▼ once its subscription       ▼ its registered cleanup settled
 *   CANCELLED  that still arrives   CANCEL_PENDING  returned, the   DONE
 *              is released)          granting thread releases after the cleanup settled (DONE)
 * </pre>
 * A body that terminates while it is being subscribed (a synchronous body) moves SUBSCRIBING to DONE. One
 * CAS on the state decides each race; the release after a cancel waits for cleanup the body registered in
 * its subscription ({@link CleanupBarrier}), so it is never released before a body that is still starting.
 */
final class InProcessScope<T> extends Mono<T> {

    private final DefaultInProcessLockService owner;
    private final Mono<LockHandle> acquisition;
    private final Function<? super LockHandle, ? extends Mono<T>> body;

    private InProcessScope(DefaultInProcessLockService owner, Mono<LockHandle> acquisition,
                           Function<? super LockHandle, ? extends Mono<T>> body) {
        this.owner = owner;
        this.acquisition = acquisition;
        this.body = body;
    }

    /** @param body checked for {@code null} by the service, before the acquisition is made */
    static <T> Mono<T> of(DefaultInProcessLockService owner, Mono<LockHandle> acquisition,
                          Function<? super LockHandle, ? extends Mono<T>> body) {
        return onAssembly(new InProcessScope<>(owner, acquisition, body));
    }

    @Override
    public void subscribe(CoreSubscriber<? super T> actual) {
        acquisition.subscribe(new Use<>(actual, owner, body));
    }

    /**
     * The subscriber of the acquisition, and the subscription the downstream sees (its requests wait for the
     * body's subscription, as {@code usingWhen}'s do).
     */
    static final class Use<T> extends Operators.DeferredSubscription implements CoreSubscriber<LockHandle> {

        private static final int ACQUIRING = 0;
        /** The granting thread subscribes the body; a cancel now leaves the release to that thread. */
        private static final int SUBSCRIBING = 1;
        private static final int RUNNING = 2;
        private static final int DONE = 3;
        /** Cancelled before the grant. */
        private static final int CANCELLED = 4;
        /** Cancelled while the body was being subscribed: released once that subscription returned. */
        private static final int CANCEL_PENDING = 5;

        private static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(Use.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final CoreSubscriber<? super T> actual;
        final Object owner;
        private final Function<? super LockHandle, ? extends Mono<T>> body;
        private @Nullable Subscription acquiring;
        /** Written before the CAS to SUBSCRIBING, read by whoever sees SUBSCRIBING or a later state after it. */
        private @Nullable LockHandle handle;
        private volatile int state;

        Use(CoreSubscriber<? super T> actual, Object owner, Function<? super LockHandle, ? extends Mono<T>> body) {
            this.actual = actual;
            this.owner = owner;
            this.body = body;
        }

        @Override
        public Context currentContext() {
            return actual.currentContext();
        }

        @Override
        public void onSubscribe(Subscription s) {
            if (Operators.validate(acquiring, s)) {
                acquiring = s;
                actual.onSubscribe(this);
                s.request(Long.MAX_VALUE);
            }
        }

        @Override
        public void onNext(LockHandle granted) {
            handle = granted;
            if (!STATE.compareAndSet(this, ACQUIRING, SUBSCRIBING)) {
                release(granted); // cancelled while the grant was on its way: nobody will use it
                return;
            }
            Context downstream = actual.currentContext(); // now, as usingWhen's contextWrite reads it
            Mono<T> p;
            try {
                p = Objects.requireNonNull(body.apply(granted), "The body returned a null Mono");
            } catch (Throwable e) {
                p = Mono.error(e); // also a fatal one, as usingWhen does: released, never held by nobody
            }
            p.subscribe((Subscriber<T>) new Body<>(this, granted, downstream));
            int s = state; // DONE already when the body was synchronous
            if (s == SUBSCRIBING && STATE.compareAndSet(this, SUBSCRIBING, RUNNING)) {
                return;
            }
            if (state == CANCEL_PENDING) {
                // cancelled while the body subscribed: whatever cleanup it registered meanwhile is known now
                state = DONE;
                releaseAfterCleanup(granted);
            }
        }

        @Override
        public void onError(Throwable error) {
            if (STATE.compareAndSet(this, ACQUIRING, DONE)) {
                actual.onError(error);
            } else if (state != CANCELLED) {
                Operators.onErrorDropped(error, actual.currentContext());
            }
        }

        @Override
        public void onComplete() {
            if (STATE.compareAndSet(this, ACQUIRING, DONE)) {
                actual.onComplete(); // no grant: an acquisition that completes empty
            }
        }

        @Override
        public void cancel() {
            for (;;) {
                int s = state;
                if (s == ACQUIRING) {
                    if (STATE.compareAndSet(this, ACQUIRING, CANCELLED)) {
                        Objects.requireNonNull(acquiring, "cancelled before onSubscribe").cancel();
                        return;
                    }
                } else if (s == SUBSCRIBING) {
                    if (STATE.compareAndSet(this, SUBSCRIBING, CANCEL_PENDING)) {
                        super.cancel(); // the body, now or once it subscribed; the granting thread releases
                        return;
                    }
                } else if (s == RUNNING) {
                    if (STATE.compareAndSet(this, RUNNING, DONE)) {
                        super.cancel(); // the body
                        releaseAfterCleanup(Objects.requireNonNull(handle, "running without a handle"));
                        return;
                    }
                } else {
                    return;
                }
            }
        }

        private void releaseAfterCleanup(LockHandle h) {
            ScopedLocks.releaseAfterCleanup(h)
                    .subscribe(null, e -> Operators.onErrorDropped(e, actual.currentContext()));
        }

        /** The body completed (with its value, if any) or failed: release, then signal. */
        void bodyTerminated(@Nullable T value, @Nullable Throwable error) {
            for (;;) {
                int s = state;
                if (s != SUBSCRIBING && s != RUNNING) { // cancelled: the canceller releases
                    if (value != null) {
                        Operators.onDiscard(value, actual.currentContext());
                    }
                    if (error != null) {
                        Operators.onErrorDropped(error, actual.currentContext());
                    }
                    return;
                }
                if (STATE.compareAndSet(this, s, DONE)) {
                    break;
                }
                // the granting thread moved SUBSCRIBING to RUNNING (or a cancel came) meanwhile: look again
            }
            Throwable releaseError = null;
            try {
                release(Objects.requireNonNull(handle, "running without a handle"));
            } catch (Throwable e) {
                Exceptions.throwIfFatal(e);
                releaseError = e;
            }
            if (error != null) {
                if (releaseError != null) {
                    error.addSuppressed(releaseError);
                }
                actual.onError(error);
            } else if (releaseError != null) {
                if (value != null) {
                    Operators.onDiscard(value, actual.currentContext());
                }
                actual.onError(releaseError);
            } else {
                if (value != null) {
                    actual.onNext(value);
                }
                actual.onComplete();
            }
        }

        private static void release(LockHandle h) {
            ((SynchronousRelease) h).releaseNow();
        }
    }

    /**
     * The body's subscriber: its {@code Context} records the held handle. That context is made when first
     * asked for: a body that never reads it (no re-entry check, no cleanup registered, no contextual
     * operator) costs no context, record or barrier, and one that does gets the same single instance on
     * every thread (published by a CAS, so that every registration of cleanup reaches one barrier). It is
     * made from the scope's subscriber's context as it was when the body was subscribed, whenever it is
     * asked for: a subscriber whose context changes over time (a {@code cache()} or {@code publish()}
     * coordinator answers with its first subscriber's at the moment it is asked) gives the body the context
     * of the subscription that started it, as before the context was made lazily and as {@code usingWhen}'s
     * {@code contextWrite} does.
     */
    static final class Body<T> implements CoreSubscriber<T> {

        private static final VarHandle CONTEXT;
        /** In {@link #value} once the body terminated (instead of a flag: the object stays 32 bytes). */
        private static final Object TERMINATED = new Object();

        static {
            try {
                CONTEXT = MethodHandles.lookup().findVarHandle(Body.class, "context", Context.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final Use<T> use;
        private final LockHandle handle;
        /** The scope's subscriber's context when the body was subscribed. */
        private final Context downstream;
        private volatile @Nullable Context context;
        /** The body's value until it terminates, then {@link #TERMINATED}. */
        private @Nullable Object value;

        Body(Use<T> use, LockHandle handle, Context downstream) {
            this.use = use;
            this.handle = handle;
            this.downstream = downstream;
        }

        @Override
        public Context currentContext() {
            Context c = context;
            if (c != null) {
                return c;
            }
            c = ScopedLocks.bodyContext(downstream, use.owner, handle);
            Context won = (Context) CONTEXT.compareAndExchange(this, null, c);
            return won != null ? won : c;
        }

        @Override
        public void onSubscribe(Subscription s) {
            use.set(s);
        }

        @Override
        public void onNext(T t) {
            if (value != null) { // a second value, or one after the end
                Operators.onNextDropped(t, currentContext());
                return;
            }
            value = t;
        }

        @Override
        public void onError(Throwable t) {
            Object v = value;
            if (v == TERMINATED) {
                Operators.onErrorDropped(t, currentContext());
                return;
            }
            value = TERMINATED;
            if (v != null) {
                Operators.onDiscard(v, currentContext());
            }
            use.bodyTerminated(null, t);
        }

        @Override
        @SuppressWarnings("unchecked")
        public void onComplete() {
            Object v = value;
            if (v == TERMINATED) {
                return;
            }
            value = TERMINATED;
            use.bodyTerminated((T) v, null);
        }
    }
}
