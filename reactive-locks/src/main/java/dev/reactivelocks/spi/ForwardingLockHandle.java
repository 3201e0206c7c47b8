package dev.reactivelocks.spi;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import java.util.Objects;
import reactor.core.publisher.Mono;

/**
 * A {@link LockHandle} that forwards every call to another one: the handle of a decorator built on
 * {@link ForwardingLockService}. A subclass overrides what it adds to (typically {@link #release()}, to
 * stop a timer or record the hold) and calls {@code super} for the release itself.
 *
 * <p>Rules for subclasses, so that the delegate's guarantees hold through the wrapper:
 * <ul>
 *   <li>{@link #release()} stays lazy and idempotent: do the extra work inside the returned {@code Mono}
 *       ({@code Mono.defer}), and let every subscription reach {@code super.release()};</li>
 *   <li>{@link #downgrade()} forwards, so the shared grant arrives undecorated; to decorate it, return
 *       {@code AcquisitionMono.map(delegate().downgrade(), shared -> new MyHandle(shared))}, never a plain
 *       {@code Mono.map}, so that a cancel before the emission still releases it;</li>
 *   <li>identity is the wrapper's own ({@code equals} is not forwarded): two wrappers of one grant are two
 *       objects.</li>
 * </ul>
 *
 * <p><b>Threading</b>: adds none; subclasses must stay thread-safe and non-blocking, as every handle is.
 */
public abstract class ForwardingLockHandle implements LockHandle {

    private final LockHandle delegate;

    /**
     * @param delegate the handle every call is forwarded to
     */
    protected ForwardingLockHandle(LockHandle delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /**
     * Follows {@link #delegate()} through every forwarding handle.
     *
     * @param handle a handle, or a wrapper of one
     * @return the innermost handle behind {@code handle}: the one its service granted
     */
    public static LockHandle innermost(LockHandle handle) {
        LockHandle h = Objects.requireNonNull(handle, "handle");
        while (h instanceof ForwardingLockHandle forwarding) {
            h = forwarding.delegate;
        }
        return h;
    }

    /** @return the handle this one forwards to */
    public final LockHandle delegate() {
        return delegate;
    }

    /** Forwards to the delegate. */
    @Override
    public String name() {
        return delegate.name();
    }

    /** Forwards to the delegate. */
    @Override
    public LockMode mode() {
        return delegate.mode();
    }

    /** Forwards to the delegate. */
    @Override
    public long fencingToken() {
        return delegate.fencingToken();
    }

    /** Forwards to the delegate. */
    @Override
    public boolean isHeld() {
        return delegate.isHeld();
    }

    /** Forwards to the delegate. */
    @Override
    public Mono<Void> release() {
        return delegate.release();
    }

    /** Forwards to the delegate. */
    @Override
    public Mono<Void> lost() {
        return delegate.lost();
    }

    /** Forwards to the delegate: the shared grant is the delegate's, undecorated. */
    @Override
    public Mono<LockHandle> downgrade() {
        return delegate.downgrade();
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
