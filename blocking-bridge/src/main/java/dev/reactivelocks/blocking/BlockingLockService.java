package dev.reactivelocks.blocking;

import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.internal.Waiter;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.Optional;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * Blocking access to the locks of any {@link LockService} (in-process, file, distributed), for code that
 * runs on threads that may block: servlets, batch jobs, JDBC code, virtual threads.
 *
 * <pre>{@code
 * BlockingLockService locks = BlockingLockService.of(lockService);
 * try (BlockingLockHandle h = locks.lock("orders")) {          // waits for the lock
 *     ...
 * }
 * Optional<BlockingLockHandle> maybe = locks.tryLock("orders"); // empty when busy
 * Report r = locks.withLock("orders", () -> buildReport());     // throws what buildReport throws
 * Lock jucLock = locks.asLock("orders");                        // java.util.concurrent view
 * }</pre>
 *
 * <p>The locks are the service's own: a blocking holder and a reactive holder of the same name exclude
 * each other exactly as two reactive holders do, and they queue in the same FIFO.
 *
 * <p><b>Reentrancy</b>: not reentrant, like the service. The {@linkplain #asLock(String) java.util.concurrent
 * views} know which thread holds what, so re-locking a name the thread holds through them (including a
 * read-to-write upgrade or a write-to-read downgrade) throws {@link dev.reactivelocks.IllegalLockStateException}
 * at once instead of deadlocking. Handles are not owned by threads, so {@link #lock(String)} cannot tell
 * re-entry from waiting for another holder: a thread that locks a name it already holds through a handle
 * waits until that handle is released (use a timeout where that can happen).
 *
 * <p><b>Fairness</b>: that of the service; for {@link LockService#inProcess()}, FIFO with writer
 * preference, blocking and reactive waiters alike.
 *
 * <p><b>Memory effects</b>: actions of a holder before it releases happen-before the actions of the next
 * holder after its grant, whether either is blocking or reactive.
 *
 * <p><b>Cancellation</b>: a wait that ends early (interrupt, time-out) cancels the pending acquisition,
 * which leaves the service's queue; a grant that races it is released at once. A thread that gives up
 * therefore never holds the lock and leaves nothing queued.
 *
 * <p><b>Interruption</b>: every method that may wait for the lock throws {@link InterruptedException}
 * promptly when the thread is interrupted while it waits (or was interrupted on entry), except the
 * no-argument {@link #tryLock(String)}, which gives up and returns empty with the interrupt status kept,
 * and the JUC {@link Lock#lock()} of the views, which ignores interrupts as its contract requires.
 *
 * <p><b>Time-outs</b>: a {@link LockOptions#timeout(Duration) timeout} bounds the wait; when it passes
 * before the grant, {@link #lock(String, LockOptions)} throws {@link LockTimeoutException} (whether the
 * service or this bridge noticed first) and {@link #tryLock(String, LockOptions)} returns empty.
 * {@link Duration#ZERO} waits only for the service's immediate answer.
 *
 * <p><b>Errors</b>: what the service signals is thrown unchanged after unwrapping Reactor's wrapper
 * ({@code Exceptions.unwrap}); a checked exception from the service is wrapped in a {@link LockException}.
 * Exceptions of the body of {@link #withLock} pass through unchanged, checked ones included.
 *
 * <p><b>Threading</b>: thread-safe; every method waits on the calling thread. On a thread that must never
 * block (a Reactor {@code parallel}/{@code single} thread or any other {@code NonBlocking} thread, a
 * Vert.x event loop) every method that may wait throws {@link IllegalStateException} at once, naming the
 * call and what to use instead, rather than stalling the event loop or deadlocking it. The wait parks the
 * thread with {@link java.util.concurrent.locks.LockSupport}, which a virtual thread does without pinning
 * its carrier thread. Grants are signalled on the service's threads (the releasing thread or its timer);
 * they only wake the waiting thread. Releasing from a blocking thread may hand the lock to a reactive
 * waiter, whose body then starts on that thread (see the service's threading).
 */
public final class BlockingLockService {

    /** Time-outs longer than this (about 146 years) wait without limit, so deadlines cannot overflow. */
    private static final Duration LONGEST_DEADLINE = Duration.ofNanos(Long.MAX_VALUE / 2);

    private final LockService service;

    private BlockingLockService(LockService service) {
        this.service = service;
    }

    /**
     * A blocking view of {@code service}. The view holds no state of its own beyond the service, so it is
     * cheap; views of the same service share their locks and their JUC ownership records.
     *
     * @param service the lock service; this view does not dispose it
     * @return a blocking view of {@code service}
     */
    public static BlockingLockService of(LockService service) {
        return new BlockingLockService(Objects.requireNonNull(service, "service"));
    }

    /** @return the reactive service whose locks this view uses */
    public LockService lockService() {
        return service;
    }

    /**
     * Locks {@code name} exclusively, waiting as long as it takes.
     *
     * @param name the lock name
     * @return the handle; release it with {@link BlockingLockHandle#close()} (try-with-resources)
     * @throws InterruptedException if interrupted before the grant; nothing is then held or queued
     * @throws IllegalStateException on a non-blocking thread
     * @throws LockException (unchecked) what the service signals, e.g.
     *         {@link dev.reactivelocks.LockServiceClosedException}
     */
    public BlockingLockHandle lock(String name) throws InterruptedException {
        return lock(name, LockOptions.exclusive());
    }

    /**
     * Locks {@code name} in the mode of {@code options}, waiting up to its timeout.
     *
     * @param name the lock name
     * @param options mode and timeout
     * @return the handle; release it with {@link BlockingLockHandle#close()} (try-with-resources)
     * @throws LockTimeoutException when the timeout passes before the grant; nothing is then held or queued
     * @throws InterruptedException if interrupted before the grant; nothing is then held or queued
     * @throws IllegalStateException on a non-blocking thread
     * @throws LockException (unchecked) what else the service signals
     */
    public BlockingLockHandle lock(String name, LockOptions options) throws InterruptedException {
        LockHandle handle = acquire("lock", name, options, false, Waiter.OnInterrupt.THROW, false);
        return new BlockingLockHandle(Objects.requireNonNull(handle, "handle"));
    }

    /**
     * Locks {@code name} exclusively if it is free now: never queues behind other holders or waiters.
     *
     * <p>Waits only for the service's immediate answer: none for the in-process service, which answers
     * synchronously; one round trip for services whose state lives elsewhere (a file lock attempt, a call
     * to a lock server). If the thread is interrupted during that wait, the attempt is cancelled (a grant
     * racing it is released), the result is empty and the interrupt status is kept.
     *
     * @param name the lock name
     * @return the handle, or empty when the lock is busy
     * @throws IllegalStateException on a non-blocking thread
     * @throws LockException (unchecked) what the service signals
     */
    public Optional<BlockingLockHandle> tryLock(String name) {
        try {
            LockHandle handle = acquire("tryLock", name, LockOptions.exclusive(), true,
                    Waiter.OnInterrupt.CANCEL, false);
            return Optional.ofNullable(handle).map(BlockingLockHandle::new);
        } catch (InterruptedException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /**
     * Locks {@code name} in the mode of {@code options} if that is possible now or, when {@code options}
     * has a timeout, within it; gives up silently instead of throwing {@link LockTimeoutException}.
     *
     * <p>Without timeout, like {@link #tryLock(String)} in that mode: it never queues and waits only for the
     * service's immediate answer. With a timeout, it queues like {@link #lock(String, LockOptions)} and
     * returns empty when the timeout passes first.
     *
     * @param name the lock name
     * @param options mode and optional timeout
     * @return the handle, or empty when not granted (in time)
     * @throws InterruptedException if interrupted before the grant; nothing is then held or queued
     * @throws IllegalStateException on a non-blocking thread
     * @throws LockException (unchecked) what else the service signals
     */
    public Optional<BlockingLockHandle> tryLock(String name, LockOptions options) throws InterruptedException {
        Objects.requireNonNull(options, "options");
        boolean tryOnly = options.timeout().isEmpty();
        LockHandle handle = acquire("tryLock", name, options, tryOnly, Waiter.OnInterrupt.THROW, true);
        return Optional.ofNullable(handle).map(BlockingLockHandle::new);
    }

    /**
     * Runs {@code body} on this thread while holding {@code name} exclusively, and releases the lock when
     * the body returns or throws.
     *
     * @param name the lock name
     * @param body the work
     * @param <T> the result type
     * @param <X> the checked exception the body throws
     * @return the body's result
     * @throws X what the body throws, unchanged
     * @throws InterruptedException if interrupted before the grant; the body then does not run
     * @see #withLock(String, LockOptions, LockedCallable)
     */
    public <T extends @Nullable Object, X extends Exception> T withLock(String name, LockedCallable<T, X> body)
            throws X, InterruptedException {
        return withLock(name, LockOptions.exclusive(), body);
    }

    /**
     * Runs {@code body} on this thread while holding {@code name} in the mode of {@code options}, and
     * releases the lock when the body returns or throws. The exceptions of the body pass through unchanged;
     * an error while releasing after a failed body is added to it as suppressed.
     *
     * @param name the lock name
     * @param options mode and timeout
     * @param body the work
     * @param <T> the result type
     * @param <X> the checked exception the body throws
     * @return the body's result
     * @throws X what the body throws, unchanged
     * @throws LockTimeoutException when the timeout passes before the grant; the body then does not run
     * @throws InterruptedException if interrupted before the grant; the body then does not run
     * @throws IllegalStateException on a non-blocking thread
     */
    public <T extends @Nullable Object, X extends Exception> T withLock(String name, LockOptions options,
                                                                       LockedCallable<T, X> body)
            throws X, InterruptedException {
        Objects.requireNonNull(body, "body");
        LockHandle handle = acquire("withLock", name, options, false, Waiter.OnInterrupt.THROW, false);
        try (BlockingLockHandle h = new BlockingLockHandle(Objects.requireNonNull(handle, "handle"))) {
            return body.call();
        }
    }

    /**
     * A {@link Lock} view of the exclusive lock {@code name}, with the full {@code java.util.concurrent}
     * contract, for code written against {@code Lock} (see {@link #asReadWriteLock(String)} for the rules).
     *
     * @param name the lock name, not empty
     * @return a view of the exclusive lock; views of the same name are interchangeable
     */
    public Lock asLock(String name) {
        return new ThreadOwnedLock(this, checkName(name), LockMode.EXCLUSIVE);
    }

    /**
     * A {@link ReadWriteLock} view of {@code name}: the read lock is the {@link LockMode#SHARED} mode, the
     * write lock the {@link LockMode#EXCLUSIVE} one.
     *
     * <p><b>Ownership</b>: as {@code java.util.concurrent} requires, these views belong to a thread: the
     * thread that locked is the one that must {@link Lock#unlock() unlock}; any other thread gets
     * {@link IllegalMonitorStateException}. This limit applies to these views only; the handles of
     * {@link #lock(String)} can be released by any thread. Ownership is recorded per thread, per service
     * and per name, so every view of the same service and name (from any {@code BlockingLockService} of
     * that service) sees the same owner.
     *
     * <p><b>Reentrancy</b>: none. A thread that already holds {@code name} through a view, in either mode,
     * gets {@link dev.reactivelocks.IllegalLockStateException} from {@code lock}, {@code lockInterruptibly}
     * and both {@code tryLock}s instead of a deadlock (or a {@code false} that would hide the bug).
     *
     * <p><b>Interruption and time-outs</b>: {@link Lock#lock()} ignores interrupts and restores the status
     * after the grant; {@link Lock#lockInterruptibly()} and {@link Lock#tryLock(long, java.util.concurrent.TimeUnit)}
     * throw {@link InterruptedException} when interrupted on entry or while waiting, and the latter returns
     * {@code false} when the time passes; either way nothing stays queued or held. {@link Lock#tryLock()}
     * waits only for the service's immediate answer (see {@link #tryLock(String)}); if interrupted
     * meanwhile, it returns {@code false} and keeps the interrupt status.
     *
     * <p><b>Conditions</b>: {@link Lock#newCondition()} throws {@link UnsupportedOperationException}.
     *
     * <p><b>Threading</b>: the methods that may wait throw {@link IllegalStateException} on a non-blocking
     * thread; {@code unlock} waits for the service to confirm the release.
     *
     * @param name the lock name, not empty
     * @return a read/write view of the lock; views of the same name are interchangeable
     */
    public ReadWriteLock asReadWriteLock(String name) {
        String checked = checkName(name);
        ThreadOwnedLock read = new ThreadOwnedLock(this, checked, LockMode.SHARED);
        ThreadOwnedLock write = new ThreadOwnedLock(this, checked, LockMode.EXCLUSIVE);
        return new ReadWriteLock() {
            @Override
            public Lock readLock() {
                return read;
            }

            @Override
            public Lock writeLock() {
                return write;
            }

            @Override
            public String toString() {
                return "ReadWriteLock{name='" + checked + "', service=" + service + "}";
            }
        };
    }

    /**
     * Who holds the lock {@code name} now: {@link LockService#inspect(String)} of the reactive service,
     * waited for on this thread.
     *
     * @param name the lock name
     * @return the lock's state, or empty when nobody holds it
     * @throws InterruptedException if interrupted while waiting; the inspection is then cancelled
     * @throws IllegalStateException on a non-blocking thread
     * @throws UnsupportedOperationException when the service cannot inspect its locks
     * @throws LockException (unchecked) what else the service signals
     */
    public Optional<LockInfo> inspect(String name) throws InterruptedException {
        checkName(name);
        NonBlockingThreads.checkMayBlock("inspect", name);
        return Optional.ofNullable(await(name, service.inspect(name).toFuture()));
    }

    /**
     * The locks held now whose names start with {@code prefix}: {@link LockService#locks(String)} of the
     * reactive service, waited for on this thread.
     *
     * @param prefix the start of the names; {@code ""} for all
     * @return the held locks, in no particular order
     * @throws InterruptedException if interrupted while waiting; the listing is then cancelled
     * @throws IllegalStateException on a non-blocking thread
     * @throws UnsupportedOperationException when the service cannot list its locks
     * @throws LockException (unchecked) what else the service signals
     */
    public List<LockInfo> locks(String prefix) throws InterruptedException {
        Objects.requireNonNull(prefix, "prefix");
        NonBlockingThreads.checkMayBlock("locks", prefix);
        return await(prefix, service.locks(prefix).collectList().toFuture());
    }

    private static <T> T await(String name, CompletableFuture<T> answer) throws InterruptedException {
        try {
            return answer.get();
        } catch (InterruptedException e) {
            answer.cancel(false);
            throw e;
        } catch (ExecutionException e) {
            throw Errors.unchecked(name, "not inspected", e.getCause());
        }
    }

    private static String checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("name must not be empty");
        }
        return name;
    }

    /**
     * Subscribes to the service's acquire (or tryAcquire) and waits for its answer on this thread.
     *
     * @param method the public method, for the non-blocking thread message
     * @param tryOnly use {@link LockService#tryAcquire}: never queue, ignore the timeout
     * @param onInterrupt {@link Waiter.OnInterrupt#THROW}, {@code IGNORE} or {@code CANCEL}
     * @param emptyOnTimeout answer {@code null} instead of throwing {@link LockTimeoutException}
     * @return the granted handle, or {@code null} when busy ({@code tryOnly}), timed out
     *         ({@code emptyOnTimeout}) or interrupted ({@code CANCEL})
     */
    @Nullable LockHandle acquire(String method, String name, LockOptions options, boolean tryOnly,
                                 Waiter.OnInterrupt onInterrupt, boolean emptyOnTimeout)
            throws InterruptedException {
        Objects.requireNonNull(options, "options");
        NonBlockingThreads.checkMayBlock(method, name);
        if (onInterrupt == Waiter.OnInterrupt.THROW && Thread.interrupted()) {
            throw new InterruptedException();
        }
        Mono<LockHandle> acquisition = tryOnly ? service.tryAcquire(name, options) : service.acquire(name, options);
        Duration timeout = tryOnly ? null : options.timeoutOrNull();
        Long deadline = timeout == null || timeout.isZero() || timeout.compareTo(LONGEST_DEADLINE) > 0
                ? null
                : System.nanoTime() + timeout.toNanos();

        Waiter<LockHandle> waiter = new Waiter<>(BlockingLockService::releaseLate);
        acquisition.subscribe(waiter);
        Object answer = waiter.await(deadline, onInterrupt);

        if (answer instanceof LockHandle handle) {
            return handle;
        }
        if (answer == Waiter.TIMED_OUT) {
            if (emptyOnTimeout) {
                return null;
            }
            throw new LockTimeoutException(name, options.mode(), Objects.requireNonNull(timeout, "timeout"));
        }
        if (answer == Waiter.INTERRUPTED) {
            return null;
        }
        if (answer instanceof Waiter.Failure failure) {
            RuntimeException error = Errors.unchecked(name, "not acquired", failure.error());
            if (emptyOnTimeout && error instanceof LockTimeoutException) {
                return null;
            }
            throw error;
        }
        if (tryOnly) {
            return null; // EMPTY: busy
        }
        throw new LockException(name, "Lock '" + name + "' (" + options.mode() + ") not acquired: "
                + service + " completed the acquisition without a handle");
    }

    /** A grant that arrived after the waiting thread gave up: released at once, never leaked. */
    private static void releaseLate(LockHandle handle) {
        handle.release().subscribe(null, e -> Operators.onErrorDropped(e, Context.empty()));
    }

    @Override
    public String toString() {
        return "BlockingLockService{" + service + "}";
    }
}
