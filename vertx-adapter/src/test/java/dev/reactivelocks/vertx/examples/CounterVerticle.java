package dev.reactivelocks.vertx.examples;

import dev.reactivelocks.vertx.VertxLockService;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;

/**
 * Increments the shared {@link AsyncStore} {@code increments} times, each read-modify-write under the lock
 * {@code "counter"}; its deployment completes once all increments are written.
 */
// tag::verticle[]
public class CounterVerticle extends VerticleBase {

    private final VertxLockService locks;   // one per Vertx instance, shared by all verticles
    private final AsyncStore store;
    private final int increments;

    public CounterVerticle(VertxLockService locks, AsyncStore store, int increments) {
        this.locks = locks;
        this.store = store;
        this.increments = increments;
    }

    @Override
    public Future<?> start() {
        Future<Void> done = Future.succeededFuture();
        for (int i = 0; i < increments; i++) {
            done = done.compose(v -> increment());
        }
        return done;
    }

    private Future<Void> increment() {
        // runs on this verticle's event loop once granted; released when the write completes or fails
        return locks.withLock("counter", () -> store.read().compose(value -> store.write(value + 1)));
    }
}
// end::verticle[]
