package dev.reactivelocks.blocking;

import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.internal.Waiter;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * One grant of a lock for blocking code, released by {@link #close()} at the end of a try-with-resources
 * block.
 *
 * <pre>{@code
 * try (BlockingLockHandle h = locks.lock("orders")) {
 *     repository.save(order, h.fencingToken());
 * }
 * }</pre>
 *
 * <p><b>Reentrancy</b>: a handle is one grant; the lock is not reentrant (see {@link BlockingLockService}).
 *
 * <p><b>Ownership</b>: the handle is owned by whoever holds the object, never by a thread: it may be
 * passed to and released by another thread. Only the {@code java.util.concurrent} views of
 * {@link BlockingLockService} tie a hold to a thread.
 *
 * <p><b>Memory effects</b>: actions before {@link #release()} happen-before the actions of the holder
 * granted next, blocking or reactive.
 *
 * <p><b>Cancellation</b>: releasing is idempotent; only the first {@link #release()} or {@link #close()}
 * releases.
 *
 * <p><b>Threading</b>: thread-safe. {@link #release()} waits for the service to confirm the release when
 * called on a thread that may block; on a non-blocking thread (a Reactor {@code parallel} thread, a Vert.x
 * event loop) it starts the release and returns at once, so closing a handle never blocks an event loop.
 */
public final class BlockingLockHandle implements AutoCloseable {

    private final LockHandle handle;
    private final AtomicBoolean released = new AtomicBoolean();

    BlockingLockHandle(LockHandle handle) {
        this.handle = Objects.requireNonNull(handle, "handle");
    }

    /** @return the full lock name */
    public String name() {
        return handle.name();
    }

    /** @return the mode this grant holds the lock in */
    public LockMode mode() {
        return handle.mode();
    }

    /**
     * @return this grant's fencing token, strictly larger than the token of any earlier grant of the name
     * @see LockHandle#fencingToken()
     */
    public long fencingToken() {
        return handle.fencingToken();
    }

    /** @return {@code true} from the grant until this handle is released or its lock is lost */
    public boolean isHeld() {
        return handle.isHeld();
    }

    /**
     * The reactive handle behind this one, e.g. to watch {@link LockHandle#lost()}. Releasing either
     * releases the grant; releasing both releases it once.
     *
     * @return the underlying handle
     */
    public LockHandle handle() {
        return handle;
    }

    /**
     * Releases the lock; later calls do nothing.
     *
     * <p>On a thread that may block, waits until the service confirmed the release, so that the lock is
     * free (or granted to the next waiter) when this returns. If the thread is interrupted meanwhile, it
     * stops waiting and keeps its interrupt status; the release still completes in the background. On a
     * non-blocking thread the release is started and not waited for; an error is then reported to
     * {@link Operators#onErrorDropped}.
     *
     * @throws dev.reactivelocks.LockException (or another unchecked exception) when the service fails to
     *         release, e.g. {@link dev.reactivelocks.LockLostException} for a lock lost meanwhile, unwrapped
     *         from Reactor's wrapper
     */
    public void release() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        if (NonBlockingThreads.nonBlockingKind() != null) {
            handle.release().subscribe(null, e -> Operators.onErrorDropped(e, Context.empty()));
            return;
        }
        Waiter<Void> waiter = new Waiter<>(v -> { });
        handle.release().subscribe(waiter);
        Object answer;
        try {
            answer = waiter.await(null, Waiter.OnInterrupt.DETACH);
        } catch (InterruptedException impossible) {
            throw new AssertionError(impossible);
        }
        if (answer instanceof Waiter.Failure failure) {
            throw Errors.unchecked(handle.name(), "not released", failure.error());
        }
    }

    /**
     * Turns this exclusive grant into a shared one in one atomic step, as {@link LockHandle#downgrade()}
     * describes (no other exclusive holder gets in between; shared requests at the head of the queue may
     * join), and waits for it. Afterwards this handle is not held, and releasing or closing it releases the
     * shared grant, so a try-with-resources block of this handle still releases the lock:
     *
     * <pre>{@code
     * try (BlockingLockHandle h = locks.lock("report")) {
     *     writeReport(h.fencingToken());
     *     BlockingLockHandle shared = h.downgrade();   // readers may join now, writers still wait
     *     publishReport(shared.fencingToken());
     * }                                                // releases the shared grant
     * }</pre>
     *
     * <p>An interrupt does not stop the wait (the downgrade cannot stop halfway); the thread's interrupt status
     * is kept.
     *
     * @return the shared grant
     * @throws IllegalStateException on a thread that must not block (a Reactor {@code parallel} thread, a
     *         Vert.x event loop)
     * @throws dev.reactivelocks.IllegalLockStateException when this handle does not hold the lock or holds it
     *         shared (it is then unchanged)
     * @throws UnsupportedOperationException when the service cannot downgrade atomically (a distributed
     *         backend without {@code LockBackend.downgrade}); this handle then still holds the lock exclusively
     * @throws dev.reactivelocks.LockException (or another unchecked exception) when the service fails, e.g.
     *         {@link dev.reactivelocks.LockLostException} for a lease lost meanwhile
     */
    public BlockingLockHandle downgrade() {
        NonBlockingThreads.checkMayBlock("downgrade", handle.name());
        Waiter<LockHandle> waiter = new Waiter<>(late -> late.release().subscribe(null,
                e -> Operators.onErrorDropped(e, Context.empty())));
        handle.downgrade().subscribe(waiter);
        Object answer;
        try {
            answer = waiter.await(null, Waiter.OnInterrupt.IGNORE);
        } catch (InterruptedException impossible) {
            throw new AssertionError(impossible);
        }
        if (answer instanceof LockHandle shared) {
            return new BlockingLockHandle(shared);
        }
        if (answer instanceof Waiter.Failure failure) {
            throw Errors.unchecked(handle.name(), "not downgraded", failure.error());
        }
        throw new LockException(handle.name(), "Lock '" + handle.name() + "' not downgraded: the service "
                + "completed the downgrade without a handle");
    }

    /**
     * Same as {@link #release()}; lets try-with-resources release the lock.
     */
    @Override
    public void close() {
        release();
    }

    @Override
    public String toString() {
        return "BlockingLockHandle{name='" + handle.name() + "', mode=" + handle.mode() + ", fencingToken="
                + handle.fencingToken() + ", held=" + handle.isHeld() + "}";
    }
}
