package dev.reactivelocks.spi;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import java.util.Objects;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link LockService} that forwards every call to another one: the base of decorators (meters, a
 * slow-holder watchdog, a name prefix, an audit trail of your own). A subclass overrides the methods whose
 * behaviour it changes; everything else reaches the {@linkplain #delegate() delegate} unchanged.
 *
 * <pre>{@code
 * final class AuditedLockService extends ForwardingLockService {
 *     AuditedLockService(LockService delegate) {
 *         super(delegate);
 *     }
 *
 *     public Mono<LockHandle> acquire(String name, LockOptions options) {
 *         return AcquisitionMono.map(delegate().acquire(name, options), AuditedHandle::new);
 *     }
 *
 *     public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
 *         return AcquisitionMono.map(delegate().tryAcquire(name, options), AuditedHandle::new);
 *     }
 * }
 *
 * final class AuditedHandle extends ForwardingLockHandle {
 *     AuditedHandle(LockHandle delegate) {
 *         super(delegate);
 *         audit.info("granted {} token {}", name(), fencingToken());
 *     }
 *
 *     public Mono<Void> release() {
 *         return super.release().doOnSuccess(done -> audit.info("released {}", name()));
 *     }
 * }
 * }</pre>
 *
 * <p>What a decorator built this way keeps of the delegate's guarantees:
 * <ul>
 *   <li><b>Reentrancy</b>: re-entry detection sees through forwarding services. A {@code withLock} scope
 *       records the lock against the {@linkplain #innermost(LockService) innermost} service, and that
 *       service checks every acquisition against it; so acquiring the same lock inside the body fails with
 *       {@link dev.reactivelocks.IllegalLockStateException} whether the body acquires through this
 *       decorator, through the delegate, or through another decorator of the same service.</li>
 *   <li><b>Cancellation</b>: a lock is never left held by nobody, provided a decorator that wraps granted
 *       handles does it with {@link AcquisitionMono#map} (not {@code Mono.map}): a cancel between the grant
 *       and the emission then releases the wrapped handle, and {@code block()} never loses a grant. A
 *       decorator that writes its own acquisition {@code Mono} emits through {@link GrantDelivery}.</li>
 *   <li><b>Scopes</b>: the inherited {@code withLock}, {@code withLockIfFree} and {@code withLockMany} scope
 *       this decorator's own {@code acquire}/{@code tryAcquire}, so the body receives the decorated
 *       handle; override them only to forward to the delegate's scopes (as a name prefix does).</li>
 *   <li><b>Inspection</b> and <b>lifecycle</b>: {@link #inspect}, {@link #locks}, {@link #disposeLater()}
 *       and {@link #isDisposed()} forward. {@link #dispose()} is {@code disposeLater().subscribe()}, so an
 *       override of {@code disposeLater()} runs on both.</li>
 *   <li><b>Downgrade</b>: {@link ForwardingLockHandle#downgrade()} forwards; a decorator that wraps handles
 *       wraps the shared one too, with {@link AcquisitionMono#map}.</li>
 * </ul>
 *
 * <p><b>Threading</b>: adds none; signals arrive on the delegate's threads. Subclasses must be thread-safe,
 * as every {@code LockService} is.
 */
public abstract class ForwardingLockService implements LockService {

    private final LockService delegate;

    /**
     * @param delegate the service every call is forwarded to
     */
    protected ForwardingLockService(LockService delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /**
     * Follows {@link #delegate()} through every forwarding service.
     *
     * @param service a service, or a decorator of one
     * @return the innermost service behind {@code service}: the one that grants the locks
     */
    public static LockService innermost(LockService service) {
        LockService s = Objects.requireNonNull(service, "service");
        while (s instanceof ForwardingLockService forwarding) {
            s = forwarding.delegate;
        }
        return s;
    }

    /** @return the service this one forwards to */
    public final LockService delegate() {
        return delegate;
    }

    /** Forwards to the delegate. */
    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        return delegate.acquire(name, options);
    }

    /** Forwards to the delegate. */
    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        return delegate.tryAcquire(name, options);
    }

    /** Forwards to the delegate. */
    @Override
    public Mono<LockInfo> inspect(String name) {
        return delegate.inspect(name);
    }

    /** Forwards to the delegate. */
    @Override
    public Flux<LockInfo> locks(String prefix) {
        return delegate.locks(prefix);
    }

    /** Forwards to the delegate: disposing a decorator disposes the service it decorates. */
    @Override
    public Mono<Void> disposeLater() {
        return delegate.disposeLater();
    }

    /** Forwards to the delegate. */
    @Override
    public boolean isDisposed() {
        return delegate.isDisposed();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + delegate + "]";
    }
}
