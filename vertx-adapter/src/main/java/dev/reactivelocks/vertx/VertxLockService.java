package dev.reactivelocks.vertx;

import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Named locks for Vert.x code: any {@link LockService} (in-process, file or distributed) seen through
 * Vert.x {@link Future}s that complete on the caller's {@code Context}.
 *
 * <pre>{@code
 * VertxLockService locks = VertxLockService.create(vertx, LockService.inProcess());
 * Future<Order> saved = locks.withLock("orders", () -> repository.save(order));   // released when saved completes
 * }</pre>
 *
 * <p>It replaces {@code SharedData.getLocalLock}/{@code getLockWithTimeout}/{@code withLocalLock} and adds
 * try-lock, shared/exclusive modes, fencing tokens, release on undeploy, and file and distributed locks.
 *
 * <p><b>Reentrancy</b>: locks are not reentrant. Inside a {@code withLock} body, and in the callbacks of
 * {@code Future}s the body creates, acquiring the same lock again through this service (or upgrading a shared
 * hold to exclusive) fails at once with {@link dev.reactivelocks.IllegalLockStateException} instead of waiting
 * for itself. A handle obtained with {@link #acquire} is not tracked that way: re-acquiring it waits, so give
 * such acquisitions a {@link LockOptions#timeout}.
 *
 * <p><b>Fairness</b>: that of the wrapped service; {@link LockService#inProcess()} is FIFO per name with
 * writer preference, and {@link #tryAcquire} never overtakes waiters.
 *
 * <p><b>Memory effects</b>: actions of a holder before its release happen-before the actions of every holder
 * granted after that release, on whichever context it runs.
 *
 * <p><b>Cancellation</b>: Vert.x {@code Future}s cannot be cancelled, so a pending acquisition ends only with
 * its grant, its timeout ({@link LockOptions#timeout}), the disposal of the wrapped service, or the close of
 * the acquiring {@code Context}: when the verticle that called {@code acquire} is undeployed (or the
 * {@code Vertx} instance closed), its pending acquisitions leave the queue and fail with a
 * {@link dev.reactivelocks.LockException}, a grant racing that close is released, and the locks it holds are
 * released; the undeployment completes after those releases, and after the releases its holders started
 * themselves and the downgrades still under way (for a distributed lock, round trips to the store), so that
 * once it succeeded no lock acquired on that context is held. Do not bound an acquisition with
 * {@code Future.timeout(...)}: that only abandons the {@code Future}, and a later grant would be held by nobody.
 *
 * <p><b>Threading</b>: nothing here blocks the calling thread, so every method may be called on an event loop.
 * Every returned {@code Future} completes on the Vert.x {@code Context} of the caller, captured when the
 * method is called (event loop, worker or a new event-loop context for threads outside Vert.x), whichever
 * thread made the grant: a release in another verticle, a timer, or the wrapped service's own threads (file
 * locks are taken on the core's bounded file-lock scheduler, never on an event loop).
 */
public interface VertxLockService {

    /**
     * Wraps {@code locks} for use from Vert.x. The returned service does not own {@code locks}: dispose that
     * yourself when it is no longer needed. Create one per {@code Vertx} instance and share it between verticles.
     *
     * @param vertx the Vert.x instance whose contexts complete the returned {@code Future}s
     * @param locks the lock service to wrap
     * @return a Vert.x view of {@code locks}
     */
    static VertxLockService create(Vertx vertx, LockService locks) {
        return new DefaultVertxLockService(Objects.requireNonNull(vertx, "vertx"), Objects.requireNonNull(locks, "locks"));
    }

    /** @return the wrapped lock service */
    LockService lockService();

    /**
     * Acquires {@code name} exclusively, waiting as long as it takes.
     *
     * @param name the lock name, not empty
     * @return see {@link #acquire(String, LockOptions)}
     */
    default Future<VertxLockHandle> acquire(String name) {
        return acquire(name, LockOptions.exclusive());
    }

    /**
     * Acquires {@code name} in the mode of {@code options}, waiting up to its timeout. The acquisition starts at
     * once (unlike the lazy {@code Mono}s of {@link LockService}).
     *
     * <p>The returned {@code Future}, completed on the caller's context:
     * <ul>
     *   <li>succeeds with a {@link VertxLockHandle} once the lock is granted; the caller then owns the grant and
     *       must {@link VertxLockHandle#release() release} it (or be undeployed);</li>
     *   <li>fails with {@link dev.reactivelocks.LockTimeoutException} when the timeout elapses first (the waiter
     *       has left the queue);</li>
     *   <li>fails with {@link dev.reactivelocks.LockUnavailableException} when the pending limit is reached,
     *       {@link dev.reactivelocks.LockServiceClosedException} when the wrapped service is disposed, a
     *       {@link dev.reactivelocks.LockException} when the caller's context is closed before the grant, and
     *       {@link dev.reactivelocks.IllegalLockStateException} at once when called from a {@code withLock} body
     *       that holds {@code name}.</li>
     * </ul>
     *
     * @param name the lock name, not empty
     * @param options mode and timeout
     * @return a {@code Future} of the handle
     * @throws NullPointerException if an argument is {@code null}
     * @throws IllegalArgumentException if {@code name} is empty
     */
    Future<VertxLockHandle> acquire(String name, LockOptions options);

    /**
     * Acquires {@code name} exclusively if it is free now.
     *
     * @param name the lock name, not empty
     * @return see {@link #tryAcquire(String, LockOptions)}
     */
    default Future<@Nullable VertxLockHandle> tryAcquire(String name) {
        return tryAcquire(name, LockOptions.exclusive());
    }

    /**
     * Acquires {@code name} only if it can be granted at once; never queues and ignores the timeout. Does not
     * barge: a lock with waiters is not free.
     *
     * @param name the lock name, not empty
     * @param options the mode
     * @return a {@code Future}, completed on the caller's context, of the handle or of {@code null} when the
     *         lock is busy
     * @throws NullPointerException if an argument is {@code null}
     * @throws IllegalArgumentException if {@code name} is empty
     */
    Future<@Nullable VertxLockHandle> tryAcquire(String name, LockOptions options);

    /**
     * Runs {@code body} under the exclusive lock {@code name}, like {@code SharedData.withLocalLock}.
     *
     * @param name the lock name, not empty
     * @param body called after the grant, on a duplicate of the caller's context
     * @param <T> the body's value type
     * @return see {@link #withLock(String, LockOptions, Function)}
     */
    default <T> Future<T> withLock(String name, Supplier<? extends Future<T>> body) {
        return withLock(name, LockOptions.exclusive(), body);
    }

    /**
     * Runs {@code body} under the lock {@code name} in the mode of {@code options}.
     *
     * @param name the lock name, not empty
     * @param options mode and timeout
     * @param body called after the grant, on a duplicate of the caller's context
     * @param <T> the body's value type
     * @return see {@link #withLock(String, LockOptions, Function)}
     */
    default <T> Future<T> withLock(String name, LockOptions options, Supplier<? extends Future<T>> body) {
        Objects.requireNonNull(body, "body");
        return withLock(name, options, handle -> body.get());
    }

    /**
     * Acquires {@code name}, calls {@code body} with the handle, and releases the lock when the body's
     * {@code Future} completes, successfully or not (also when {@code body} throws or returns {@code null}).
     *
     * <p>The body runs on the caller's thread and event loop (or worker), on a duplicate of the caller's context
     * that carries a copy of its local data, as Vert.x does for each HTTP request. That duplicate records the
     * held lock, so that the body re-acquiring it fails at once (see <b>Reentrancy</b> above).
     *
     * <p>The returned {@code Future} completes on the caller's context, after the release completed, with the
     * body's result; it fails as {@link #acquire(String, LockOptions)} does when the lock is not granted, in
     * which case {@code body} is not called. That includes a grant that the close of the caller's context
     * released before the body could start: the {@code Future} then fails with the
     * {@link dev.reactivelocks.LockException} of a closed context, and {@code body} is not called.
     *
     * @param name the lock name, not empty
     * @param options mode and timeout
     * @param body called with the handle after the grant
     * @param <T> the body's value type
     * @return a {@code Future} of the body's value
     * @throws NullPointerException if an argument is {@code null}
     * @throws IllegalArgumentException if {@code name} is empty
     */
    <T> Future<T> withLock(String name, LockOptions options,
                           Function<? super VertxLockHandle, ? extends Future<T>> body);

    /**
     * Who holds the lock {@code name} now: {@link LockService#inspect(String)} of the wrapped service. The
     * inspection starts at once.
     *
     * @param name the lock name, not empty
     * @return a {@code Future}, completed on the caller's context, of the lock's state, or of {@code null}
     *         when nobody holds it; failed with {@link UnsupportedOperationException} when the wrapped service
     *         cannot inspect its locks, or with the error of the store it reads
     * @throws NullPointerException if {@code name} is {@code null}
     * @throws IllegalArgumentException if {@code name} is empty
     */
    Future<@Nullable LockInfo> inspect(String name);

    /**
     * The locks held now whose names start with {@code prefix}: {@link LockService#locks(String)} of the
     * wrapped service, collected. The listing starts at once.
     *
     * @param prefix the start of the names; {@code ""} for all
     * @return a {@code Future}, completed on the caller's context, of the held locks in no particular order;
     *         failed as {@link #inspect(String)}
     * @throws NullPointerException if {@code prefix} is {@code null}
     */
    Future<List<LockInfo>> locks(String prefix);
}
