package dev.reactivelocks.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A {@code withLock} body that acquires its own lock again fails at once instead of waiting for itself: the
 * body runs on a duplicate of the caller's context that records the locks it holds.
 */
@ExtendWith(VertxExtension.class)
class ReentryTest {

    private InProcessLockService core;
    private VertxLockService locks;
    private TestVerticles.Deployed verticle;

    @BeforeEach
    void setUp(Vertx vertx) throws Exception {
        core = (InProcessLockService) LockService.inProcess();
        locks = VertxLockService.create(vertx, core);
        verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
    }

    @AfterEach
    void tearDown() {
        core.dispose();
    }

    private static <T> Throwable failureOf(Future<T> future) throws Exception {
        return future.transform(ar -> Future.succeededFuture(ar.cause())).await(10, TimeUnit.SECONDS);
    }

    @Test
    void reacquiringTheLockInsideItsWithLockBodyFailsAtOnce() throws Exception {
        Throwable error = failureOf(verticle.on(() -> locks.withLock("orders", () -> locks.acquire("orders"))));

        assertThat(error).isInstanceOf(IllegalLockStateException.class)
                .hasMessage("Lock 'orders' is already held (EXCLUSIVE) by this withLock body; locks are not reentrant");
        assertThat(core.size()).isZero();
    }

    @Test
    void upgradingInsideASharedBodyFailsAtOnce() throws Exception {
        Throwable error = failureOf(verticle.on(() -> locks.withLock("orders", LockOptions.shared(),
                h -> locks.withLock("orders", () -> Future.succeededFuture("never")))));

        assertThat(error).isInstanceOf(IllegalLockStateException.class)
                .hasMessage("Lock 'orders' is held SHARED by this withLock body; upgrading to EXCLUSIVE would deadlock");
        assertThat(core.size()).isZero();
    }

    @Test
    void upgradingAfterTheBodyDowngradedItsLockFailsAtOnce() throws Exception {
        Throwable error = failureOf(verticle.on(() -> locks.withLock("orders", LockOptions.exclusive(),
                h -> h.downgrade().compose(shared -> locks.acquire("orders",
                        LockOptions.exclusive().timeout(Duration.ofMillis(200)))))));

        assertThat(error).isInstanceOf(IllegalLockStateException.class)
                .hasMessage("Lock 'orders' is held SHARED by this withLock body; upgrading to EXCLUSIVE would deadlock");
        assertThat(core.size()).isZero();
    }

    @Test
    void reacquiringAfterTheBodyDowngradedItsLockFailsAtOnce() throws Exception {
        Throwable error = failureOf(verticle.on(() -> locks.withLock("orders", LockOptions.exclusive(),
                h -> h.downgrade().compose(shared -> locks.tryAcquire("orders", LockOptions.shared())))));

        assertThat(error).isInstanceOf(IllegalLockStateException.class)
                .hasMessage("Lock 'orders' is already held (SHARED) by this withLock body; locks are not reentrant");
        assertThat(core.size()).isZero();
    }

    @Test
    void reentryIsDetectedAfterAsynchronousStepsOfTheBody(Vertx vertx) throws Exception {
        Throwable error = failureOf(verticle.on(() -> locks.withLock("orders",
                () -> vertx.timer(1).compose(t -> locks.tryAcquire("orders")))));

        assertThat(error).isInstanceOf(IllegalLockStateException.class);
        assertThat(core.size()).isZero();
    }

    @Test
    void nestedBodiesMayTakeOtherLocksButNotAnOuterOne() throws Exception {
        String nested = verticle.on(() -> locks.withLock("a", () -> locks.withLock("b",
                () -> Future.succeededFuture("nested")))).await(10, TimeUnit.SECONDS);
        Throwable error = failureOf(verticle.on(() -> locks.withLock("a", () -> locks.withLock("b",
                () -> locks.acquire("a")))));

        assertThat(nested).isEqualTo("nested");
        assertThat(error).isInstanceOf(IllegalLockStateException.class).hasMessageStartingWith("Lock 'a' is already held");
        assertThat(core.size()).isZero();
    }

    @Test
    void aLockReleasedInsideTheBodyMayBeAcquiredAgain() throws Exception {
        VertxLockHandle again = verticle.on(() -> locks.withLock("orders", LockOptions.exclusive(),
                h -> h.release().compose(v -> locks.acquire("orders")))).await(10, TimeUnit.SECONDS);

        assertThat(again.isHeld()).isTrue();
        again.release().await(10, TimeUnit.SECONDS);
    }

    @Test
    void outsideTheBodyTheSameVerticleMayAcquireTheLockAgain() throws Exception {
        VertxLockHandle after = verticle.on(() -> locks.withLock("orders", () -> Future.succeededFuture("done"))
                .compose(done -> locks.acquire("orders"))).await(10, TimeUnit.SECONDS);

        assertThat(after.isHeld()).isTrue();
        after.release().await(10, TimeUnit.SECONDS);
    }

    @Test
    void theBodySeesTheLocalDataOfTheCallersContextOnItsThread() throws Exception {
        ContextInternal request = ((ContextInternal) verticle.context()).duplicate();
        request.localContextData().put("request-id", "r-42");

        Object[] seen = TestVerticles.on(request, () -> locks.withLock("orders", () -> Future.succeededFuture(
                new Object[] {ContextInternal.current().localContextData().get("request-id"), Thread.currentThread()})))
                .await(10, TimeUnit.SECONDS);

        assertThat(seen[0]).isEqualTo("r-42");
        assertThat(seen[1]).isSameAs(verticle.startThread());
        assertThat(request.localContextData()).doesNotContainKey(locks); // the caller's own data is untouched
    }
}
