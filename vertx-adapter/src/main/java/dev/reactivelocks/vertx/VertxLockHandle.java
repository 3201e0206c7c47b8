package dev.reactivelocks.vertx;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import io.vertx.core.Future;

/**
 * One grant of a lock obtained through a {@link VertxLockService}, owned by whoever received it (never by a
 * thread or a verticle instance).
 *
 * <p><b>Release</b>: {@link #release()} is idempotent; the first call releases, later calls change nothing.
 * The lock is also released when the Vert.x {@code Context} that acquired it is closed (the acquiring verticle
 * is undeployed, or the {@code Vertx} instance is closed), so an undeployed verticle never keeps a lock.
 *
 * <p><b>Memory effects</b>: actions before a release happen-before the actions of the holder granted next,
 * whichever verticle, thread or process that is.
 *
 * <p><b>Threading</b>: all methods are thread-safe and non-blocking. The {@code Future}s returned here complete
 * on the Vert.x {@code Context} of the caller (see {@link #release()} and {@link #lost()}).
 */
public interface VertxLockHandle {

    /** @return the full lock name, including any prefix of the underlying service view */
    String name();

    /** @return the mode this grant holds the lock in */
    LockMode mode();

    /**
     * A number that is strictly larger for every grant of the same name than for any grant before it; pass
     * it to the guarded resource so that it can reject writes from a holder whose lock was lost.
     *
     * @return this grant's fencing token
     */
    long fencingToken();

    /**
     * @return {@code true} from the grant until this handle is released, its acquiring context is closed, or
     *         its lock is lost
     */
    boolean isHeld();

    /**
     * Releases this grant. The returned {@code Future} succeeds once the lock is released; the first call
     * performs the release, later calls succeed at once and change nothing. Releasing may grant the lock to
     * the next waiters, whose {@code Future}s then complete on their own contexts.
     *
     * <p>The returned {@code Future} completes on the caller's Vert.x {@code Context} (a new event-loop context
     * when called from a thread outside Vert.x). A close of the acquiring {@code Context} while the release is
     * under way (an undeployment) completes only after it.
     *
     * @return a {@code Future} of the release
     */
    Future<Void> release();

    /**
     * A {@code Future} that succeeds if the lock is lost before it is released, e.g. because a distributed
     * lease expired. It never completes for locks that cannot be lost (in-process locks) and never completes
     * after a regular release. It completes on the Vert.x {@code Context} that acquired the lock. After
     * {@link #downgrade()}, it reports the loss of the shared grant that replaced this one, as
     * {@link LockHandle#lost()} does.
     *
     * @return a signal of loss
     */
    Future<Void> lost();

    /**
     * Turns this exclusive grant into a shared one atomically, as {@link LockHandle#downgrade()} describes:
     * no other exclusive holder gets in between, and the shared requests at the head of the queue may join.
     * The returned {@code Future} succeeds with the shared handle, on the caller's Vert.x {@code Context}; it
     * fails with the error of {@link LockHandle#downgrade()} (an {@link dev.reactivelocks.IllegalLockStateException}
     * for a handle that is not held or is shared, an {@link UnsupportedOperationException} for a service that
     * cannot downgrade, this handle then staying exclusive).
     *
     * <p>The shared handle belongs to the context that acquired this one, from the start of the downgrade: it is
     * released when that context is closed, and a close while the downgrade is under way waits for its end and
     * releases the grant. Afterwards this handle is not held; releasing it releases the shared grant.
     *
     * @return a {@code Future} of the shared grant
     */
    Future<VertxLockHandle> downgrade();

    /**
     * The handle of the wrapped {@link dev.reactivelocks.LockService}, for code that continues in Project
     * Reactor. Releasing it releases this grant too; this grant then no longer belongs to its acquiring
     * {@code Context} once that release completed, and a close of the {@code Context} meanwhile waits for it.
     * A release through it runs to its end even when its subscriber cancels.
     * The shared grant of its {@link LockHandle#downgrade()} belongs to the acquiring {@code Context} as that of
     * {@link #downgrade()} does.
     *
     * @return the underlying Reactor handle (a {@link dev.reactivelocks.spi.ForwardingLockHandle} of the one the
     *         wrapped service granted); the same object on every call
     */
    LockHandle lockHandle();
}
