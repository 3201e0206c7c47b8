package dev.reactivelocks.spi;

import dev.reactivelocks.LockException;
import dev.reactivelocks.LockMode;
import java.time.Duration;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A shared store of lock leases, used by {@link dev.reactivelocks.distributed.DistributedLockService}.
 *
 * <p>A lease is a row {@code (name, mode, token, fencingToken, expiresAt)}. The service generates a random
 * owner {@code token} per acquisition and keeps it for all calls about that grant; a backend never needs to
 * know threads, connections or processes. Every operation is one atomic step in the store:
 * <ul>
 *   <li>{@link #tryAcquire} grants when no <em>live</em> conflicting lease exists (an exclusive request
 *       conflicts with every live lease of the name, a shared request with live exclusive ones); expired
 *       leases count as absent and may be removed. It is idempotent per token: asking again with a token
 *       that already holds a lease of the name extends that lease and returns it unchanged, so the service
 *       can retry a call whose outcome it did not learn.</li>
 *   <li>{@link #renew} extends a live lease of the token; it never revives an expired or deleted one.</li>
 *   <li>{@link #release} deletes the lease of the token only (compare-and-delete), never another owner's.</li>
 * </ul>
 * Expiry is judged by one clock shared by all clients (the store's), never by the callers' clocks.
 *
 * <p><b>Fencing</b>: every grant of a name carries a fencing token strictly larger than that of any earlier
 * grant of the name, across all clients, takeovers included. A single counter for all names satisfies this.
 *
 * <p><b>Errors</b>: a {@link LockException} signalled by an operation is permanent (misconfiguration) and is
 * passed to the caller; every other error is treated as transient: the service retries within the caller's
 * deadline (acquisition) or the lease (renewal). Operations must not block the calling thread.
 *
 * <p><b>Wake-ups</b>: {@link #releases()} lets waiters sleep instead of polling. It is a hint: missing a
 * signal only delays a waiter until its fallback poll.
 *
 * <p><b>Wait queues</b> (optional): a backend that can keep a FIFO of waiters per name overrides
 * {@link #acquireOrQueue}, which the service calls instead of {@link #tryAcquire} for a caller that keeps
 * waiting. Such a backend grants in queue order across all its clients (fair between processes, not only
 * within one service) and wakes exactly the waiters that may now be granted by emitting their tokens from
 * {@link #releases()}, instead of waking every waiter of the name. {@link #tryAcquire} then never barges:
 * it grants only when the request would also be granted at the tail of the queue.
 *
 * <p><b>Inspection</b> (optional): a backend that can list its live leases overrides {@link #locks(String)}
 * (and {@link #inspect(String)}), so that {@link dev.reactivelocks.LockService#inspect(String)} can tell
 * who holds a lock; the default reports inspection as unsupported.
 */
public interface LockBackend {

    /**
     * Emitted by {@link #releases()} when any lock may have been released (for example after the backend
     * reconnected and may have missed signals). Compared with {@code equals}; never a valid signal key.
     */
    String ANY_RELEASE = "";

    /**
     * Grants a lease on {@code name} to {@code token} when no live conflicting lease exists.
     *
     * @param name the lock name, not empty, any characters and length
     * @param mode the requested mode
     * @param token the owner token, unique per acquisition
     * @param lease how long the lease lives without renewal, measured by the store's clock
     * @return a {@code Mono} emitting the lease when granted (or already held by {@code token}), completing
     *         empty when the lock is busy, or erroring (see the class documentation)
     */
    Mono<BackendLease> tryAcquire(String name, LockMode mode, String token, Duration lease);

    /**
     * Like {@link #tryAcquire}, for a caller that keeps waiting when the lock is busy. A backend with a wait
     * queue appends {@code token} to the name's queue when it cannot grant (or keeps its place when it is
     * queued already) and grants only in queue order: a request is granted when it is compatible with the
     * live leases and with every live entry queued ahead of it (shared requests are compatible with each
     * other), and its entry leaves the queue with the grant. An entry lives for {@code keepQueued} (store
     * clock) after the last call with its token, so the entry of a waiter that died stops blocking the
     * queue; {@link #release} with the token removes it at once.
     *
     * <p>When a release, a removed entry or a grant may let queued waiters through, the backend emits their
     * tokens from {@link #releases()} (the head of the queue, and the shared entries that follow a shared
     * head) so that only they ask again.
     *
     * <p>The default, for backends without a queue, is {@link #tryAcquire}.
     *
     * @param name the lock name
     * @param mode the requested mode
     * @param token the owner token, unique per acquisition
     * @param lease how long the lease lives without renewal, measured by the store's clock
     * @param keepQueued how long a queue entry lives after this call, {@code > 0}; the caller asks again
     *                   (or is woken) well within it
     * @return as {@link #tryAcquire}: the lease, or empty when the token has to wait (it is then queued)
     */
    default Mono<BackendLease> acquireOrQueue(String name, LockMode mode, String token, Duration lease,
                                             Duration keepQueued) {
        return tryAcquire(name, mode, token, lease);
    }

    /**
     * Extends the live lease of {@code token} on {@code name} to {@code lease} from now (store clock).
     *
     * @param name the lock name
     * @param token the owner token
     * @param lease the new remaining lifetime
     * @return {@code true} when extended; {@code false} when the token holds no live lease of the name any
     *         more (expired, released or taken over): the lock is lost
     */
    Mono<Boolean> renew(String name, String token, Duration lease);

    /**
     * Deletes the lease of {@code token} on {@code name}, if it still exists, and signals the release to
     * waiters through {@link #releases()}. Leases of other tokens are never touched. A backend with a wait
     * queue also removes the queue entry of {@code token}, if any.
     *
     * @param name the lock name
     * @param token the owner token
     * @return {@code true} when a lease was deleted, {@code false} when there was none
     */
    Mono<Boolean> release(String name, String token);

    /**
     * A hot stream of the {@link #signalKey signal keys} of released names, from all clients of the store.
     * May emit {@link #ANY_RELEASE}. A backend with a wait queue emits the tokens of the queued waiters to
     * wake instead (see {@link #acquireOrQueue}); a token that no waiter of this client owns is ignored. Each subscriber sees the signals that arrive while it is subscribed.
     *
     * @return the release signals; an empty {@code Flux.never()} is allowed (waiters then poll)
     */
    Flux<String> releases();

    /**
     * The key under which {@link #releases()} reports {@code name}. Backends whose signals cannot carry any
     * name (length, characters) report a digest instead.
     *
     * @param name the lock name
     * @return the key, never empty; defaults to {@code name}
     */
    default String signalKey(String name) {
        return name;
    }

    /**
     * The names starting with {@code namePrefix} that have at least one live lease, with their live leases
     * and, for a backend with a wait queue, the number of live entries queued: what
     * {@link dev.reactivelocks.LockService#locks(String)} and {@code inspect} report. A read-only snapshot,
     * by the store's clock; it need not be atomic across names, but should be per name. Names without a
     * live lease are not emitted, even when entries are still queued.
     *
     * <p>The default signals {@link UnsupportedOperationException}, so the service reports inspection as
     * unsupported: a backend written before this method existed keeps working for locking. Implement it
     * (and, if a single name can be read more cheaply, {@link #inspect(String)}) to support inspection. The
     * {@link StoredLease#token() tokens} are those passed to {@link #tryAcquire}; the service derives the
     * holders' owners from them, so a backend stores nothing more than it already does.
     *
     * @param namePrefix the start of the names, compared by characters; {@code ""} for all
     * @return a cold {@code Flux} of the held names, in no particular order
     */
    default Flux<StoredLock> locks(String namePrefix) {
        return Flux.error(() -> new UnsupportedOperationException(getClass().getName()
                + " does not support inspection (LockBackend.locks)"));
    }

    /**
     * The live leases of the one name {@code name}, as {@link #locks(String)} reports them.
     *
     * <p>The default filters {@link #locks(String)} of {@code name} used as a prefix.
     *
     * @param name the lock name
     * @return a cold {@code Mono} of the name's state, empty when it has no live lease
     */
    default Mono<StoredLock> inspect(String name) {
        return locks(name).filter(lock -> lock.name().equals(name)).next();
    }

    /**
     * Releases the backend's own resources (listening connections). Leases stay in the store until released
     * or expired.
     *
     * @return a {@code Mono} completing when closed
     */
    default Mono<Void> close() {
        return Mono.empty();
    }
}
