package dev.reactivelocks.internal;

import java.util.ArrayList;
import java.util.List;
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
 * registration settled, so the next holder never overlaps with a dying body.
 */
public final class CleanupBarrier {

    private static final Object KEY = CleanupBarrier.class;
    private static final Runnable NOTHING = () -> { };

    private int pending;
    private @Nullable List<MonoSink<Void>> waiters;

    /** @return a barrier for one scope */
    public static CleanupBarrier create() {
        return new CleanupBarrier();
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
            barrier.pending++;
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
            if (--pending == 0 && waiters != null) {
                ready = waiters;
                waiters = null;
            }
        }
        if (ready != null) {
            ready.forEach(MonoSink::success);
        }
    }

    /** @return a {@code Mono} completing once nothing registered is still settling */
    public Mono<Void> settled() {
        return Mono.create(sink -> {
            synchronized (this) {
                if (pending > 0) {
                    if (waiters == null) {
                        waiters = new ArrayList<>(1);
                    }
                    waiters.add(sink);
                    return;
                }
            }
            sink.success();
        });
    }
}
