package dev.reactivelocks.internal;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.util.context.ContextView;

/**
 * Lets a lock scope wait, after cancelling its body, until the body's asynchronous cleanup is done.
 *
 * <p>Cancellation in Reactive Streams is a one-way signal: a body that must still do work after it is
 * cancelled (a process executor killing and reaping its child) cannot make the canceller wait. A
 * {@code withLock} scope therefore puts a barrier into its body's {@code Context}; a component with such
 * cleanup {@link #register(ContextView) registers} when it starts work and calls the returned
 * {@code Runnable} when the work is settled. On cancellation the scope releases the lock only after every
 * registration settled ({@link #settled(Object)}), so the next holder never overlaps with a dying body.
 *
 * <p>A barrier is made when the body starts, and is found from the scope's resource (its lock handle)
 * through a table that holds only barriers with registrations not settled yet: a scope that waits for its
 * lock, or whose body registers nothing, keeps no barrier reachable from anywhere but its body's context.
 */
public final class CleanupBarrier {

    private static final Object KEY = CleanupBarrier.class;
    private static final Runnable NOTHING = () -> { };
    /** Barriers with registrations not settled yet, by the identity of their scope's resource. */
    private static final Map<Object, CleanupBarrier> UNSETTLED = new IdentityHashMap<>();

    private final Object scope;
    private int pending;
    private @Nullable List<MonoSink<Void>> waiters;

    private CleanupBarrier(Object scope) {
        this.scope = scope;
    }

    /**
     * @param scope what identifies the scope to {@link #settled(Object)}: its resource (the lock handle)
     * @return a barrier for the body of that scope
     */
    public static CleanupBarrier create(Object scope) {
        return new CleanupBarrier(scope);
    }

    /**
     * @param context the body's context
     * @param barrier the scope's barrier
     * @return {@code context} with the barrier
     */
    public static reactor.util.context.Context with(reactor.util.context.Context context, CleanupBarrier barrier) {
        return context.put(KEY, barrier);
    }

    /**
     * Registers work whose cleanup the enclosing lock scope must wait for, if there is such a scope.
     *
     * @param context the subscriber's context
     * @return a callback to run exactly when the work is settled (later calls are ignored)
     */
    public static Runnable register(ContextView context) {
        CleanupBarrier barrier = context.getOrDefault(KEY, null);
        if (barrier == null) {
            return NOTHING;
        }
        synchronized (barrier) {
            if (barrier.pending++ == 0) {
                synchronized (UNSETTLED) {
                    UNSETTLED.put(barrier.scope, barrier);
                }
            }
        }
        AtomicBoolean done = new AtomicBoolean();
        return () -> {
            if (done.compareAndSet(false, true)) {
                barrier.settle();
            }
        };
    }

    private void settle() {
        List<MonoSink<Void>> ready = null;
        synchronized (this) {
            if (--pending == 0) {
                synchronized (UNSETTLED) {
                    UNSETTLED.remove(scope, this);
                }
                ready = waiters;
                waiters = null;
            }
        }
        if (ready != null) {
            ready.forEach(MonoSink::success);
        }
    }

    /** @return how many scopes have registrations not settled yet (for tests: nothing is left behind) */
    static int unsettledScopes() {
        synchronized (UNSETTLED) {
            return UNSETTLED.size();
        }
    }

    /**
     * @param scope the resource of a scope, as given to {@link #create(Object)}
     * @return a {@code Mono} completing once nothing registered in that scope is still settling (looked up
     *         when subscribed)
     */
    public static Mono<Void> settled(Object scope) {
        return Mono.create(sink -> {
            CleanupBarrier barrier;
            synchronized (UNSETTLED) {
                barrier = UNSETTLED.get(scope);
            }
            if (barrier != null) {
                synchronized (barrier) {
                    if (barrier.pending > 0) {
                        if (barrier.waiters == null) {
                            barrier.waiters = new ArrayList<>(1);
                        }
                        barrier.waiters.add(sink);
                        return;
                    }
                }
            }
            sink.success();
        });
    }
}
