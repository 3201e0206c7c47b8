package dev.reactivelocks.vertx.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.vertx.VertxLockHandle;
import dev.reactivelocks.vertx.VertxLockService;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Lock;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The samples of the Vert.x guide's migration section: SharedData locks and their VertxLockService equivalents. */
@ExtendWith(VertxExtension.class)
class SharedDataMigrationExamples {

    private LockService lockService;
    private VertxLockService locks;

    @BeforeEach
    void setUp(Vertx vertx) {
        lockService = LockService.inProcess();
        locks = VertxLockService.create(vertx, lockService);
    }

    @AfterEach
    void tearDown() {
        lockService.dispose();
    }

    private static Future<String> saveOrder() {
        return Future.succeededFuture("saved");
    }

    @Test
    void sharedDataLocks(Vertx vertx) throws Exception {
        // tag::shareddata[]
        Future<String> scoped = vertx.sharedData().withLocalLock("orders", () -> saveOrder());

        Future<String> manual = vertx.sharedData().getLocalLockWithTimeout("orders", 500)
                .compose(lock -> saveOrder().onComplete(r -> lock.release()));
        // end::shareddata[]
        assertThat(scoped.await(10, TimeUnit.SECONDS)).isEqualTo("saved");
        assertThat(manual.await(10, TimeUnit.SECONDS)).isEqualTo("saved");
        Lock free = vertx.sharedData().getLocalLockWithTimeout("orders", 100).await(10, TimeUnit.SECONDS);
        free.release();
    }

    /** The guide says Vert.x local locks outlive their verticle; this keeps that statement true for our Vert.x version. */
    @Test
    void aSharedDataLocalLockStaysHeldAfterItsVerticleIsUndeployed(Vertx vertx) throws Exception {
        String id = vertx.deployVerticle(new VerticleBase() {
            @Override
            public Future<?> start() {
                return vertx.sharedData().getLocalLock("orders");
            }
        }).await(10, TimeUnit.SECONDS);
        vertx.undeploy(id).await(10, TimeUnit.SECONDS);

        Throwable error = vertx.sharedData().getLocalLockWithTimeout("orders", 100)
                .transform(ar -> Future.succeededFuture(ar.cause())).await(10, TimeUnit.SECONDS);

        assertThat(error).hasMessage("Timed out waiting to get lock");
    }

    /** The guide says Vert.x local locks do not detect re-entry; this keeps that statement true for our Vert.x version. */
    @Test
    void aSharedDataLocalLockAskedForAgainByItsHolderWaitsUntilTheTimeout(Vertx vertx) throws Exception {
        Throwable error = vertx.sharedData().withLocalLock("orders",
                        () -> vertx.sharedData().getLocalLockWithTimeout("orders", 100).map(lock -> "re-entered"))
                .transform(ar -> Future.succeededFuture(ar.cause())).await(10, TimeUnit.SECONDS);

        assertThat(error).hasMessage("Timed out waiting to get lock");
    }

    @Test
    void vertxLockServiceReleasesTheLockOfAnUndeployedVerticle(Vertx vertx) throws Exception {
        String id = vertx.deployVerticle(new VerticleBase() {
            @Override
            public Future<?> start() {
                return locks.acquire("orders");
            }
        }).await(10, TimeUnit.SECONDS);
        vertx.undeploy(id).await(10, TimeUnit.SECONDS);

        VertxLockHandle lock = locks.tryAcquire("orders").await(10, TimeUnit.SECONDS);

        assertThat(lock).isNotNull();
        lock.release().await(10, TimeUnit.SECONDS);
    }

    @Test
    void theSameWithVertxLockService(Vertx vertx) throws Exception {
        // tag::adapter[]
        VertxLockService locks = VertxLockService.create(vertx, lockService);   // once, shared by all verticles

        Future<String> scoped = locks.withLock("orders", () -> saveOrder());

        Future<String> manual = locks.acquire("orders", LockOptions.exclusive().timeout(Duration.ofMillis(500)))
                .compose(lock -> saveOrder().eventually(lock::release));
        // end::adapter[]
        assertThat(scoped.await(10, TimeUnit.SECONDS)).isEqualTo("saved");
        assertThat(manual.await(10, TimeUnit.SECONDS)).isEqualTo("saved");
        assertThat(locks.tryAcquire("orders").await(10, TimeUnit.SECONDS)).isNotNull();
    }

    @Test
    void tryLock() throws Exception {
        VertxLockHandle holder = locks.acquire("report").await(10, TimeUnit.SECONDS);
        // tag::try-lock[]
        Future<String> outcome = locks.tryAcquire("report").compose(lock -> lock == null
                ? Future.succeededFuture("busy: another instance is writing the report")
                : writeReport().eventually(lock::release));
        // end::try-lock[]
        assertThat(outcome.await(10, TimeUnit.SECONDS)).isEqualTo("busy: another instance is writing the report");
        holder.release().await(10, TimeUnit.SECONDS);
        assertThat(locks.tryAcquire("report").compose(lock -> lock == null
                ? Future.succeededFuture("busy")
                : writeReport().eventually(lock::release)).await(10, TimeUnit.SECONDS)).isEqualTo("written");
    }

    private static Future<String> writeReport() {
        return Future.succeededFuture("written");
    }

    @Test
    void sharedAndExclusive() throws Exception {
        // tag::shared-exclusive[]
        Future<String> read = locks.withLock("catalog", LockOptions.shared(), handle -> Future.succeededFuture("read"));
        Future<String> write = locks.withLock("catalog", LockOptions.exclusive(), handle -> Future.succeededFuture("written"));
        // end::shared-exclusive[]
        assertThat(read.await(10, TimeUnit.SECONDS)).isEqualTo("read");
        assertThat(write.await(10, TimeUnit.SECONDS)).isEqualTo("written");
    }

    @Test
    void timeouts() throws Exception {
        VertxLockHandle holder = locks.acquire("orders").await(10, TimeUnit.SECONDS);
        // tag::timeout[]
        Future<VertxLockHandle> lock = locks.acquire("orders", LockOptions.exclusive().timeout(Duration.ofMillis(250)));
        lock.onFailure(e -> {
            // LockTimeoutException: "Lock 'orders' (EXCLUSIVE) not acquired within 250ms"
        });
        // end::timeout[]
        Throwable error = lock.transform(ar -> Future.succeededFuture(ar.cause())).await(10, TimeUnit.SECONDS);
        assertThat(error).isInstanceOf(LockTimeoutException.class)
                .hasMessage("Lock 'orders' (EXCLUSIVE) not acquired within 250ms");
        holder.release().await(10, TimeUnit.SECONDS);
    }

    @Test
    void fencingTokens() throws Exception {
        FencedStore store = new FencedStore();
        // tag::fencing[]
        Future<Void> written = locks.withLock("orders", LockOptions.exclusive(),
                lock -> store.write("order-42", lock.fencingToken()));   // the store rejects older tokens
        // end::fencing[]
        written.await(10, TimeUnit.SECONDS);
        assertThat(store.highestToken).isPositive();
    }

    /** Accepts a write only with a token at least as high as every token it saw. */
    private static final class FencedStore {
        long highestToken;

        Future<Void> write(String value, long token) {
            if (token < highestToken) {
                return Future.failedFuture("stale fencing token " + token);
            }
            highestToken = token;
            return Future.succeededFuture();
        }
    }
}
