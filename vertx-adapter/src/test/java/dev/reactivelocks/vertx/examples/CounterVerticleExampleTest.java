package dev.reactivelocks.vertx.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockService;
import dev.reactivelocks.vertx.VertxLockService;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Runs the guide's example: several verticles increment one shared store under one lock; no update is lost. */
@ExtendWith(VertxExtension.class)
class CounterVerticleExampleTest {

    @Test
    void fourVerticlesIncrementingUnderOneLockLoseNoUpdate(Vertx vertx) throws Exception {
        // tag::deploy[]
        LockService lockService = LockService.inProcess();            // or a file or distributed LockService
        VertxLockService locks = VertxLockService.create(vertx, lockService);
        AsyncStore store = new AsyncStore(vertx);

        vertx.deployVerticle(() -> new CounterVerticle(locks, store, 25), new DeploymentOptions().setInstances(4))
                .await(30, TimeUnit.SECONDS);                          // each instance on its own event loop

        assertThat(store.value()).isEqualTo(100);                      // 4 verticles x 25 increments
        assertThat(store.maxInFlight()).isEqualTo(1);                  // never two read-modify-writes at once
        // end::deploy[]
        lockService.dispose();
    }

    /** The control: the same read-modify-writes without the lock do overlap, so the test above can fail. */
    @Test
    void withoutTheLockTheSameIncrementsOverlap(Vertx vertx) throws Exception {
        AsyncStore store = new AsyncStore(vertx);

        vertx.deployVerticle(() -> new VerticleBase() {
            @Override
            public Future<?> start() {
                Future<Void> done = Future.succeededFuture();
                for (int i = 0; i < 25; i++) {
                    done = done.compose(v -> store.read().compose(value -> store.write(value + 1)));
                }
                return done;
            }
        }, new DeploymentOptions().setInstances(4)).await(30, TimeUnit.SECONDS);

        assertThat(store.maxInFlight()).isGreaterThan(1);
    }
}
