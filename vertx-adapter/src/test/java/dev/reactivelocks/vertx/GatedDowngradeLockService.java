package dev.reactivelocks.vertx;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.spi.ForwardingLockHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * A service whose downgrades reach the wrapped one only when the test opens their gate, and whose handles
 * follow the letter of {@link LockHandle#downgrade()}: a release while the downgrade is under way changes
 * nothing, the grant then belonging to the downgrade's subscriber. Stands in for a third-party service.
 */
final class GatedDowngradeLockService implements LockService {

    private final LockService delegate;
    private final Sinks.Empty<Void> gate = Sinks.empty();

    GatedDowngradeLockService(LockService delegate) {
        this.delegate = delegate;
    }

    /** Lets the downgrades through, those waiting and those to come. */
    void openGate() {
        gate.tryEmitEmpty();
    }

    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        return delegate.acquire(name, options).map(GatedHandle::new);
    }

    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        return delegate.tryAcquire(name, options).map(GatedHandle::new);
    }

    @Override
    public Mono<Void> disposeLater() {
        return delegate.disposeLater();
    }

    private final class GatedHandle extends ForwardingLockHandle {

        private final AtomicBoolean downgrading = new AtomicBoolean();

        GatedHandle(LockHandle delegate) {
            super(delegate);
        }

        @Override
        public boolean isHeld() {
            return !downgrading.get() && super.isHeld();
        }

        @Override
        public Mono<Void> release() {
            return Mono.defer(() -> downgrading.get() ? Mono.empty() : super.release());
        }

        @Override
        public Mono<LockHandle> downgrade() {
            return Mono.defer(() -> {
                downgrading.set(true);
                return gate.asMono().then(super.downgrade());
            });
        }
    }
}
