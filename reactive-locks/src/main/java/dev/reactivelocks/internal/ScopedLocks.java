package dev.reactivelocks.internal;

import dev.reactivelocks.LockHandle;
import java.util.Objects;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;

/**
 * The scoped-use pattern behind {@code LockService.withLock}/{@code withLockMany}: acquire, run the body
 * with the handle recorded in the Reactor {@code Context} (for re-entry detection), release on complete,
 * error and cancel. On cancel the release waits until the body's asynchronous cleanup registered with
 * {@link CleanupBarrier} is settled (a killed child process is reaped). Nothing is made per subscription
 * before the grant: a waiting scope holds only its subscribers and its acquisition. Decorating services
 * call it with the owner whose {@code acquire} checks re-entry.
 */
public final class ScopedLocks {

    private ScopedLocks() {
    }

    /**
     * @param owner the service whose acquisitions check re-entry against the recorded handle
     * @param acquisition the cold acquisition
     * @param body called with the handle after the grant
     * @param <T> the body's value type
     * @return a cold {@code Mono} of the body's value, released in every outcome
     */
    public static <T> Mono<T> mono(Object owner, Mono<LockHandle> acquisition,
                                   Function<? super LockHandle, ? extends Mono<T>> body) {
        Objects.requireNonNull(body, "body");
        return Mono.usingWhen(acquisition,
                handle -> Mono.<T>from(Objects.requireNonNull(body.apply(handle), "The body returned a null Mono"))
                        .contextWrite(ctx -> bodyContext(ctx, owner, handle)),
                LockHandle::release,
                (handle, error) -> handle.release(),
                ScopedLocks::releaseAfterCleanup);
    }

    /**
     * @param owner the service whose acquisitions check re-entry against the recorded handle
     * @param acquisition the cold acquisition
     * @param body called with the handle after the grant
     * @param <T> the body's value type
     * @return a cold {@code Flux} of the body's values, released in every outcome
     */
    public static <T> Flux<T> flux(Object owner, Mono<LockHandle> acquisition,
                                   Function<? super LockHandle, ? extends Publisher<T>> body) {
        Objects.requireNonNull(body, "body");
        return Flux.usingWhen(acquisition,
                handle -> Flux.<T>from(Objects.requireNonNull(body.apply(handle), "The body returned a null Publisher"))
                        .contextWrite(ctx -> bodyContext(ctx, owner, handle)),
                LockHandle::release,
                (handle, error) -> handle.release(),
                ScopedLocks::releaseAfterCleanup);
    }

    /**
     * @param context the context of the scope's subscriber
     * @param owner the service whose acquisitions check re-entry against the recorded handle
     * @param handle the handle held while the body runs
     * @return the body's context: the handle recorded for re-entry checks, and the scope's cleanup barrier
     */
    public static Context bodyContext(Context context, Object owner, LockHandle handle) {
        return CleanupBarrier.with(HeldLocks.with(context, owner, handle), CleanupBarrier.create(handle));
    }

    /**
     * @param handle the handle of a scope whose body was cancelled
     * @return the release of {@code handle} once the body's registered cleanup settled
     */
    public static Mono<Void> releaseAfterCleanup(LockHandle handle) {
        return CleanupBarrier.settled(handle).then(handle.release());
    }
}
