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
}
