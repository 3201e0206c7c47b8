package dev.reactivelocks.vertx;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.blockhound.BlockingOperationError;

/**
 * Proves that BlockHound watches Vert.x threads in this module's tests: blocking on an event loop fails,
 * blocking on a worker is allowed (Netty's BlockHound integration asks Vert.x's threads whether they permit
 * blocking calls).
 */
@ExtendWith(VertxExtension.class)
class BlockHoundIntegrationTest {

    @Test
    void blockingOnAnEventLoopIsReportedAsABlockingCall(Vertx vertx) throws Exception {
        Context eventLoop = vertx.getOrCreateContext();
        assertThat(eventLoop.isEventLoopContext()).isTrue();

        Throwable thrown = runOn(eventLoop, () -> Thread.sleep(1)).await(10, TimeUnit.SECONDS);

        assertThat(thrown).isInstanceOf(BlockingOperationError.class)
                .hasMessageContaining("java.lang.Thread.sleep");
    }

    @Test
    void blockingOnAVertxWorkerIsAllowed(Vertx vertx) throws Exception {
        Context worker = TestVerticles.deploy(vertx, ThreadingModel.WORKER).context();
        assertThat(worker.isWorkerContext()).isTrue();

        Throwable thrown = runOn(worker, () -> Thread.sleep(1)).await(10, TimeUnit.SECONDS);

        assertThat(thrown).isNull();
    }

    @Test
    void waitingForALockOnAnEventLoopDoesNotBlockIt(Vertx vertx) throws Exception {
        VertxLockService locks = VertxLockService.create(vertx, dev.reactivelocks.LockService.inProcess());
        Context first = vertx.getOrCreateContext();
        Context second = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP).context();
        VertxLockHandle held = TestVerticles.on(first, () -> locks.acquire("orders")).await(10, TimeUnit.SECONDS);

        Future<VertxLockHandle> waiting = TestVerticles.on(second, () -> locks.acquire("orders"));
        Future<Throwable> stillResponsive = runOn(second, () -> { });
        assertThat(stillResponsive.await(10, TimeUnit.SECONDS)).isNull();
        assertThat(waiting.isComplete()).isFalse();

        TestVerticles.on(first, held::release).await(10, TimeUnit.SECONDS);
        assertThat(waiting.await(10, TimeUnit.SECONDS).isHeld()).isTrue();
    }

    interface Action {
        void run() throws Exception;
    }

    /** Runs {@code action} on {@code context}; the future carries what it threw, or {@code null}. */
    private static Future<Throwable> runOn(Context context, Action action) {
        Promise<Throwable> outcome = Promise.promise();
        context.runOnContext(v -> {
            try {
                action.run();
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            }
        });
        return outcome.future();
    }
}
