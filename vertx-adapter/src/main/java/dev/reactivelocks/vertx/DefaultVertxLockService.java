package dev.reactivelocks.vertx;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.CloseFuture;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.PromiseInternal;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The {@link VertxLockService}: subscribes to the wrapped service's {@code Mono}s on the calling thread and
 * completes context-bound promises, which Vert.x delivers on the caller's context.
 *
 * <p>Every acquisition is registered with the {@link ContextAcquisitions} of the caller's {@link CloseFuture}
 * (one per deployment, plus the {@code Vertx} instance's own for contexts outside deployments) until it
 * ends or its handle is released, so that closing the context dequeues or releases it.
 */
final class DefaultVertxLockService implements VertxLockService {

    private final Vertx vertx;
    private final LockService locks;
    private final ConcurrentHashMap<CloseFuture, ContextAcquisitions> byCloseFuture = new ConcurrentHashMap<>();

    DefaultVertxLockService(Vertx vertx, LockService locks) {
        this.vertx = vertx;
        this.locks = locks;
    }

    @Override
    public LockService lockService() {
        return locks;
    }

    @Override
    public Future<VertxLockHandle> acquire(String name, LockOptions options) {
        Mono<LockHandle> mono = locks.acquire(name, options); // argument errors throw here, at the call
        return start(context(), name, options, mono);
    }

    @Override
    public Future<@Nullable VertxLockHandle> tryAcquire(String name, LockOptions options) {
        Mono<LockHandle> mono = locks.tryAcquire(name, options);
        return start(context(), name, options, mono);
    }

    @Override
    public <T> Future<T> withLock(String name, LockOptions options,
                                  Function<? super VertxLockHandle, ? extends Future<T>> body) {
        Objects.requireNonNull(body, "body");
        Mono<LockHandle> mono = locks.acquire(name, options); // argument errors throw here, at the call
        // one context for the acquisition, the body and the result: outside Vert.x threads, every
        // getOrCreateContext() call makes a new one
        ContextInternal caller = context();
        return start(caller, name, options, mono).compose(handle -> {
            if (((VertxAcquisition) handle).holdEnded()) {
                // the caller's context closed between the grant and this callback, and its close released the
                // lock: the body must not start without it (another holder may have it by now)
                return Future.failedFuture(VertxAcquisition.contextClosed(name, options.mode()));
            }
            // the body runs on a duplicate of the caller's context (same thread, copied locals) that records
            // the held lock, so that the body's callbacks re-acquiring it fail instead of deadlocking
            ContextInternal scope = caller.duplicate(true);
            scope.localContextData().put(this, new HeldLock(name, handle, heldIn(caller)));
            @SuppressWarnings("unchecked")
            Future<T>[] result = new Future[1];
            scope.dispatch(v -> result[0] = callBody(body, handle));
            return result[0].eventually(handle::release);
        });
    }

    private static <T> Future<T> callBody(Function<? super VertxLockHandle, ? extends Future<T>> body,
                                          VertxLockHandle handle) {
        try {
            return Objects.requireNonNull(body.apply(handle), "body returned null instead of a Future");
        } catch (Throwable t) {
            return Future.failedFuture(t);
        }
    }

    @Override
    public Future<@Nullable LockInfo> inspect(String name) {
        Mono<LockInfo> mono = locks.inspect(name);
        return Future.fromCompletionStage(mono.toFuture(), context());
    }

    @Override
    public Future<List<LockInfo>> locks(String prefix) {
        Mono<List<LockInfo>> mono = locks.locks(prefix).collectList();
        return Future.fromCompletionStage(mono.toFuture(), context());
    }

    /** The locks held by the {@code withLock} bodies whose context {@code context} is, innermost first. */
    private @Nullable HeldLock heldIn(ContextInternal context) {
        return context.isDuplicate() ? (HeldLock) context.localContextData().get(this) : null;
    }

    private @Nullable IllegalLockStateException reentry(ContextInternal context, String name, LockMode mode) {
        for (HeldLock h = heldIn(context); h != null; h = h.outer()) {
            // after a downgrade in the body, the shared grant that replaced the body's handle is the hold
            LockMode held = h.name().equals(name) ? ((VertxAcquisition) h.handle()).heldMode() : null;
            if (held != null) {
                String message = held == LockMode.SHARED && mode == LockMode.EXCLUSIVE
                        ? "Lock '" + name + "' is held SHARED by this withLock body; upgrading to EXCLUSIVE would deadlock"
                        : "Lock '" + name + "' is already held (" + held
                                + ") by this withLock body; locks are not reentrant";
                return new IllegalLockStateException(name, message);
            }
        }
        return null;
    }

    /** A lock held by a {@code withLock} body, and the locks of the bodies around it. */
    private record HeldLock(String name, VertxLockHandle handle, @Nullable HeldLock outer) {
    }

    /** Current context of this Vert.x instance, or a new event-loop context outside Vert.x threads. */
    ContextInternal context() {
        return (ContextInternal) vertx.getOrCreateContext();
    }

    private Future<VertxLockHandle> start(ContextInternal context, String name, LockOptions options,
                                         Mono<LockHandle> mono) {
        PromiseInternal<VertxLockHandle> promise = context.promise();
        IllegalLockStateException reentry = reentry(context, name, options.mode());
        if (reentry != null) {
            promise.fail(reentry);
            return promise.future();
        }
        ContextAcquisitions owner = acquisitionsOf(context);
        if (owner != null) {
            VertxAcquisition acquisition = new VertxAcquisition(owner, context, name, options.mode(), promise);
            if (owner.add(acquisition)) {
                mono.subscribe(acquisition);
                return promise.future();
            }
        }
        promise.fail(VertxAcquisition.contextClosed(name, options.mode()));
        return promise.future();
    }

    /** The registry of the context's close future, or {@code null} when that is already closed. */
    private @Nullable ContextAcquisitions acquisitionsOf(ContextInternal context) {
        CloseFuture closeFuture = context.closeFuture();
        ContextAcquisitions existing = byCloseFuture.get(closeFuture);
        if (existing != null) {
            return existing;
        }
        return byCloseFuture.computeIfAbsent(closeFuture, cf -> {
            ContextAcquisitions created = new ContextAcquisitions(this, cf);
            return cf.add(created) ? created : null;
        });
    }

    /** Called by a registry once its context closed: it takes no more acquisitions. */
    void forget(ContextAcquisitions acquisitions) {
        byCloseFuture.remove(acquisitions.closeFuture(), acquisitions);
    }

    /** @return the number of contexts with a registry (for tests) */
    int registries() {
        return byCloseFuture.size();
    }

    /** @return the number of pending and held acquisitions registered with all contexts (for tests) */
    int acquisitions() {
        return byCloseFuture.values().stream().mapToInt(ContextAcquisitions::size).sum();
    }

    @Override
    public String toString() {
        return "VertxLockService{" + locks + "}";
    }
}
