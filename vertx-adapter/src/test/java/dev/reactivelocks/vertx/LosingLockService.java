package dev.reactivelocks.vertx;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import reactor.core.publisher.Mono;

/** A service whose handles report a loss when {@code loss} completes: stands in for a distributed one. */
final class LosingLockService implements LockService {

    private final LockService delegate;
    private final Mono<Void> loss;

    LosingLockService(LockService delegate, Mono<Void> loss) {
        this.delegate = delegate;
        this.loss = loss;
    }

    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        return delegate.acquire(name, options).map(this::losing);
    }

    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        return delegate.tryAcquire(name, options).map(this::losing);
    }

    private LockHandle losing(LockHandle h) {
        return new LockHandle() {
            @Override public String name() { return h.name(); }
            @Override public LockMode mode() { return h.mode(); }
            @Override public long fencingToken() { return h.fencingToken(); }
            @Override public boolean isHeld() { return h.isHeld(); }
            @Override public Mono<Void> release() { return h.release(); }
            @Override public Mono<Void> lost() { return loss; }
        };
    }

    @Override
    public Mono<Void> disposeLater() {
        return delegate.disposeLater();
    }
}
