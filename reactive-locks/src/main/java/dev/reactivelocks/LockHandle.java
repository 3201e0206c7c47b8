package dev.reactivelocks;

import reactor.core.publisher.Mono;

/**
 * One grant of a lock, owned by whoever received it (never by a thread).
 *
 * <p><b>Release</b>: {@link #release()} is lazy and idempotent; the first subscription releases, later ones
 * complete empty and change nothing. A handle only ever releases its own grant.
 *
 * <p><b>Memory effects</b>: actions before a release happen-before the actions of the holder granted next.
 *
 * <p><b>Threading</b>: all methods are thread-safe and non-blocking.
 */
public interface LockHandle {

    /** @return the full lock name, including any prefix of the service view that acquired it */
    String name();

    /** @return the mode this grant holds the lock in */
    LockMode mode();

    /**
     * A number that is strictly larger for every grant of the same name than for any grant before it.
     * Pass it to the guarded resource so that it can reject writes from a holder whose lock was lost
     * (a fencing token).
     *
     * @return this grant's fencing token
     */
    long fencingToken();

    /** @return {@code true} from the grant until this handle is released or its lock is lost */
    boolean isHeld();

    /**
     * Returns a {@code Mono} that releases this grant when subscribed.
     *
     * <p>Each subscription completes empty once the lock is released; the first one performs the release,
     * later ones change nothing. Releasing may grant the lock to the next waiters, whose subscribers are
     * then signalled on the releasing thread.
     *
     * @return a lazy, idempotent release
     */
    Mono<Void> release();

    /**
     * A {@code Mono} that completes when the lock is lost before it was released, e.g. because a
     * distributed lease expired or was taken over. It never completes for locks that cannot be lost
     * (in-process locks) and never completes after a regular release.
     *
     * @return a signal of loss
     */
    Mono<Void> lost();

    /**
     * Turns this {@link LockMode#EXCLUSIVE} grant into a {@link LockMode#SHARED} grant of the same lock, in
     * one atomic step: from the moment this grant stops excluding shared holders there is a shared grant, so
     * no other exclusive holder can get in between. Shared requests waiting for the lock may then be granted
     * as well, by the service's fairness rule: those at the head of the queue are, a waiting exclusive request
     * still stops the shared requests queued behind it (writer preference), and it is granted once every
     * shared holder, the downgraded one included, has released.
     *
     * <p>Per subscription, the returned {@code Mono}:
     * <ul>
     *   <li>emits the shared handle, whose {@link #fencingToken()} is larger than that of every earlier grant
     *       of the name (this one included): a new grant for the guarded resource;</li>
     *   <li>errors with {@link IllegalLockStateException} when this handle is not held (released, lost, or
     *       downgraded already), or is {@link LockMode#SHARED} (a shared handle or a permit of a
     *       {@linkplain LockOptions#permits(int) semaphore}: there is nothing to downgrade, and a caller that
     *       believes otherwise is about to write under a shared lock); this handle is then unchanged;</li>
     *   <li>errors with {@link UnsupportedOperationException} when the service cannot downgrade atomically
     *       (a distributed backend that does not implement {@link dev.reactivelocks.spi.LockBackend#downgrade});
     *       this handle then still holds the lock exclusively;</li>
     *   <li>errors with {@link LockLostException} when a distributed lease or a file lock turned out to be
     *       lost, the store failed so that the outcome is unknown, or a file lock could not be converted
     *       (another process locked part of the file on its own): the lock is then given up and
     *       {@link #lost()} completes.</li>
     * </ul>
     *
     * <p><b>This handle afterwards</b>: {@link #isHeld()} is {@code false}, {@link #mode()} and
     * {@link #fencingToken()} stay those of the exclusive grant; {@link #release()} releases the shared grant
     * that replaced it (idempotently with the shared handle's own release), so a
     * {@link LockService#withLock(String, LockOptions, java.util.function.Function) withLock} scope whose body
     * downgrades still releases the lock when it ends; {@link #lost()} reports the loss of the shared grant.
     * A release of this handle that races its downgrade frees the lock whichever comes first: before the
     * downgrade took effect, the downgrade then errors with {@link IllegalLockStateException}; while it is
     * under way (a distributed store call), the release is made, and completes, when the downgrade ended,
     * releasing the shared grant; after it, the shared grant is released.
     *
     * <p><b>Cancellation</b>: the downgrade is not undone halfway. A cancel before the request does nothing;
     * once requested, the downgrade runs to its end, and a cancel that arrives before the shared handle is
     * emitted releases it (the lock is then released altogether), as for every acquisition.
     *
     * <p><b>Reentrancy</b>: a {@code withLock} body that downgraded still counts as holding the lock: acquiring
     * the same lock inside it, in either mode, fails with {@link IllegalLockStateException}. Upgrading a shared
     * grant stays refused the same way.
     *
     * <p>The default, for handles of other implementations, errors with {@link UnsupportedOperationException}.
     *
     * @return a cold {@code Mono} of the shared grant
     */
    default Mono<LockHandle> downgrade() {
        return Mono.error(new UnsupportedOperationException(getClass().getName() + " cannot downgrade lock '"
                + name() + "'"));
    }
}
