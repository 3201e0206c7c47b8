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
 * <p><b>Hand-offs</b> (optional, for backends with a wait queue): instead of waking the waiters a release
 * lets through, a backend may grant them at once, in the same atomic step, and announce each grant on
 * {@link #handOffs()}; the lock then passes to the next service in one store operation instead of two. See
 * {@link #handOffs()} for the rules that keep a hand-off from outliving a waiter that died or left.
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
     * Whether this backend counts permits: {@link #tryAcquirePermit} and {@link #acquireOrQueuePermit} work,
     * so that {@link dev.reactivelocks.LockOptions#permits(int)} makes a name a semaphore across all clients.
     *
     * @return {@code false} unless overridden
     */
    default boolean countsPermits() {
        return false;
    }

    /**
     * Grants {@code token} one of {@code permits} shared leases of {@code name}: when no live exclusive lease
     * exists, fewer than {@code permits} shared leases are live, and (for a backend with a wait queue) nobody
     * is queued ahead who would take the permit first. The lease is a {@link LockMode#SHARED} lease with a
     * fencing token of its own, renewed and released like any other; an exclusive request conflicts with it.
     * Idempotent per token like {@link #tryAcquire}.
     *
     * <p>Callers of one name must agree on {@code permits}: a request whose {@code permits} differs from that
     * of a live lease of the name (or that meets live plain shared leases, or whose plain shared counterpart
     * meets live permits) fails with a {@link dev.reactivelocks.LockConfigurationException} naming both.
     *
     * @param name the lock name
     * @param permits how many holders the name admits together, {@code >= 1}
     * @param token the owner token, unique per acquisition
     * @param lease how long the lease lives without renewal, measured by the store's clock
     * @return the lease, or empty when no permit is free
     */
    default Mono<BackendLease> tryAcquirePermit(String name, int permits, String token, Duration lease) {
        return Mono.error(new UnsupportedOperationException(getClass().getName() + " does not count permits"));
    }

    /**
     * Like {@link #tryAcquirePermit}, for a caller that keeps waiting: queued as {@link #acquireOrQueue}
     * queues, granted in queue order; the permits freed by a release go to the entries at the head of the
     * queue, in order, as many as are free.
     *
     * @param name the lock name
     * @param permits how many holders the name admits together, {@code >= 1}
     * @param token the owner token, unique per acquisition
     * @param lease how long the lease lives without renewal, measured by the store's clock
     * @param keepQueued how long a queue entry lives after this call, {@code > 0}
     * @return the lease, or empty when the token has to wait (it is then queued)
     */
    default Mono<BackendLease> acquireOrQueuePermit(String name, int permits, String token, Duration lease,
                                                   Duration keepQueued) {
        return tryAcquirePermit(name, permits, token, lease);
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
     * Turns the live {@link LockMode#EXCLUSIVE} lease of {@code token} on {@code name} into a
     * {@link LockMode#SHARED} one, in one atomic step of the store, and lets the queued requests through
     * that may pass now, as {@link #release} does (waking them, or handing the lock off to them): the shared
     * requests at the head of the queue; an exclusive request waits for every shared lease, and the requests
     * queued behind it keep waiting too. No other exclusive lease can be granted between the two modes.
     *
     * <ul>
     *   <li>The shared lease gets a new fencing token, larger than that of every earlier grant of the name
     *       (the exclusive one included), and lives {@code lease} from now (store clock), as after
     *       {@link #renew}.</li>
     *   <li>Idempotent per token, so the service can retry a call whose outcome it did not learn: a token
     *       whose live lease is shared already gets it extended and returned unchanged.</li>
     *   <li>A token without a live lease (expired, released or taken over) gets nothing: the {@code Mono}
     *       completes empty, and the lock is lost.</li>
     * </ul>
     *
     * <p>The default, for backends that cannot do it in one step, errors with
     * {@link UnsupportedOperationException} without touching the store; a backend signals that error only
     * when it changed nothing, and the service then keeps the exclusive lease. Backends written before this
     * method existed therefore keep working, and their users get a clear error instead of a downgrade that
     * would let a writer in between.
     *
     * @param name the lock name
     * @param token the owner token of the exclusive lease
     * @param lease the shared lease's lifetime from now
     * @return the shared lease, empty when the token holds no live lease of the name
     */
    default Mono<BackendLease> downgrade(String name, String token, Duration lease) {
        return Mono.error(new UnsupportedOperationException(getClass().getName()
                + " does not implement LockBackend.downgrade: lock '" + name + "' stays EXCLUSIVE"));
    }

    /**
     * A hot stream of the {@link #signalKey signal keys} of released names, from all clients of the store.
     * May emit {@link #ANY_RELEASE}. A backend with a wait queue emits the tokens of the queued waiters to
     * wake instead (see {@link #acquireOrQueue}); a token that no waiter of this client owns is ignored. Each subscriber sees the signals that arrive while it is subscribed.
     *
     * @return the release signals; an empty {@code Flux.never()} is allowed (waiters then poll)
     */
    Flux<String> releases();

    /**
     * A hot stream of the grants this backend made on its own to queued tokens, from all clients of the
     * store: when a release, an expired lease or a removed entry lets queued requests through, a backend
     * that hands off grants them in that same atomic step (the head of the queue, or the run of shared
     * entries at the head, each with its own fencing token) and emits them here, each before its token on
     * {@link #releases()} (which it emits as well, so that a client that does not take hand-offs is still
     * woken, and finds the lease with its next call). A hand-off that no waiter of this client owns is
     * ignored.
     *
     * <p>Rules, so that a hand-off is never lost or leaked:
     * <ul>
     *   <li>Only live queue entries are granted, and the lease of a hand-off expires when the entry would
     *       have (its {@code keepQueued} after the token's last call): a waiter that died or left is handed
     *       on within {@code keepQueued}. The service extends the lease with {@link #renew} in time.</li>
     *   <li>{@link #acquireOrQueue} with a token that was handed off returns the lease like any held one,
     *       so a hand-off missed on this stream is found by the waiter's next call; and {@link #release} of
     *       the token deletes it, so a waiter that leaves releases a hand-off it never saw.</li>
     *   <li>A hand-off is durable when announced, like any grant.</li>
     * </ul>
     *
     * <p>The default, for backends that only wake, is an empty stream.
     *
     * @return the hand-offs, in no particular order across names
     */
    default Flux<HandOff> handOffs() {
        return Flux.empty();
    }

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
