package dev.reactivelocks;

import java.util.Optional;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The in-JVM {@link LockService}: named shared/exclusive locks whose waiters are subscriptions, not
 * threads. Create one with {@link LockService#inProcess()} or {@link LockService#builder()}; implemented by
 * this library only (new methods may be added).
 *
 * <p><b>Reentrancy</b>: not reentrant. Re-entry through the Reactor {@code Context} that {@code withLock}
 * writes, and shared-to-exclusive upgrades, fail at once with {@link IllegalLockStateException}.
 *
 * <p><b>Fairness</b>: FIFO per name in subscription-request order, with writer preference: a waiting
 * exclusive acquisition blocks later shared ones even while the lock is held shared, so writers never
 * starve; consecutive shared waiters at the head of the queue are granted together. {@code tryAcquire}
 * never overtakes waiters.
 *
 * <p><b>Memory effects</b>: actions of a holder before its release happen-before the actions of every
 * holder granted after that release.
 *
 * <p><b>Cancellation</b>: cancelling a pending acquisition removes it from the queue in O(1); a grant that
 * races a cancellation or a timeout is released at once, so the lock is never left held by nobody.
 *
 * <p><b>Threading</b>: nothing blocks or parks. A grant is signalled on the thread that made it possible:
 * the subscribing thread when the lock is free, otherwise the thread that released the previous holder
 * (or cancelled the waiter ahead). Nothing hops schedulers; hand-offs run iteratively, so long chains of
 * synchronous releases do not grow the stack. Timeout errors are signalled on the timer scheduler,
 * closing errors on the thread that disposes the service.
 *
 * <p><b>Semaphores</b>: {@link LockOptions#permits(int)} turns a name into a fair counting semaphore with
 * the same guarantees.
 *
 * <p><b>Logging</b>: at debug level through Reactor's {@code Loggers} (SLF4J when present), logger
 * {@code dev.reactivelocks.InProcessLockService}: acquiring, acquired (with the wait), released (with the
 * hold time). Nothing is logged at info or above.
 *
 * <p><b>Memory</b>: a name's entry exists while it has holders or waiters; besides, at most 1,024 idle names
 * keep theirs, so that an uncontended exclusive acquire and release of a name in use need no map update (one
 * CAS each); when that many are kept, the idle ones are dropped and others are kept instead. {@link #size()}
 * reports how many names have holders or waiters.
 */
public interface InProcessLockService extends LockService {

    /**
     * @return the number of lock names that currently have holders or waiters
     */
    int size();

    /**
     * @param name a lock name
     * @return the current holders and waiters of {@code name}, empty when it has none
     */
    Optional<LockStats> stats(String name);

    /**
     * {@inheritDoc}
     *
     * <p>Reads the name's state in its critical section, on the subscribing thread.
     * {@link LockInfo#heldSince()} is wall-clock time ({@code System.currentTimeMillis()}) as refreshed every
     * 10 ms while locks are being taken (a clock call would cost a quarter of an uncontended acquire and
     * release), so up to about 10 ms early, more when the machine has no core free for the refresh. Every
     * holder is in this JVM, so {@link LockInfo#owners()} is empty.
     */
    @Override
    Mono<LockInfo> inspect(String name);

    /**
     * {@inheritDoc}
     *
     * <p>Visits every name that has holders or waiters, each in its critical section.
     */
    @Override
    Flux<LockInfo> locks(String prefix);
}
