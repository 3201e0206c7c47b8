package dev.reactivelocks.vertx;

import static org.assertj.core.api.Assertions.assertThat;

import static org.assertj.core.api.Assertions.catchThrowable;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.testkit.contract.SpinRacer;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Sinks;

/**
 * An acquisition stays registered with its context (for the context's close to dequeue or release it) only
 * while it is pending or its lock is held: a long-lived verticle retains nothing for the locks it is done with,
 * whichever way they ended.
 */
@ExtendWith(VertxExtension.class)
class ContextRegistryTest {

    private InProcessLockService core;
    private DefaultVertxLockService locks;

    @BeforeEach
    void setUp(Vertx vertx) {
        core = (InProcessLockService) LockService.inProcess();
        locks = (DefaultVertxLockService) VertxLockService.create(vertx, core);
    }

    @AfterEach
    void tearDown() {
        core.dispose();
    }

    private static <T> T await(Future<T> future) throws Exception {
        return future.await(10, TimeUnit.SECONDS);
    }

    @Test
    void locksReleasedThroughTheReactorHandleLeaveTheContextsRegistry(Vertx vertx) throws Exception {
        TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);

        int registered = await(verticle.on(() -> {
            for (int i = 0; i < 100_000; i++) {
                // uncontended in-process lock: granted at once, on this event loop
                VertxLockHandle h = locks.acquire("orders").result();
                h.lockHandle().release().subscribe();
            }
            return Future.succeededFuture(locks.acquisitions());
        }));

        assertThat(registered).isZero();
        assertThat(core.size()).isZero();
    }

    @Test
    void aLostLockLeavesTheContextsRegistryAndStillReportsItsLoss(Vertx vertx) throws Exception {
        Sinks.Empty<Void> loss = Sinks.empty();
        DefaultVertxLockService losing = (DefaultVertxLockService)
                VertxLockService.create(vertx, new LosingLockService(core, loss.asMono()));
        TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        VertxLockHandle held = await(verticle.on(() -> losing.acquire("orders")));
        Future<Void> lostAskedBefore = held.lost();
        assertThat(losing.acquisitions()).isEqualTo(1);

        loss.tryEmitEmpty();

        await(lostAskedBefore);
        await(held.lost());
        assertThat(losing.acquisitions()).isZero();
        await(held.release());
    }

    @Test
    void aDowngradedLockReleasedThroughTheReactorHandleLeavesTheContextsRegistry(Vertx vertx) throws Exception {
        TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        VertxLockHandle exclusive = await(verticle.on(() -> locks.acquire("orders")));
        VertxLockHandle shared = await(verticle.on(exclusive::downgrade));
        assertThat(locks.acquisitions()).isEqualTo(1);

        exclusive.lockHandle().release().block(Duration.ofSeconds(10)); // releases the shared grant

        assertThat(shared.isHeld()).isFalse();
        assertThat(locks.acquisitions()).isZero();
        assertThat(core.size()).isZero();
    }

    @Test
    void aLockDowngradedThroughTheReactorHandleLeavesTheContextsRegistryWithTheSharedRelease(Vertx vertx)
            throws Exception {
        TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        VertxLockHandle exclusive = await(verticle.on(() -> locks.acquire("orders")));
        LockHandle shared = exclusive.lockHandle().downgrade().block(Duration.ofSeconds(10));
        assertThat(shared.mode()).isEqualTo(LockMode.SHARED);
        assertThat(locks.acquisitions()).as("the close still releases the shared grant").isEqualTo(1);

        shared.release().block(Duration.ofSeconds(10));

        assertThat(locks.acquisitions()).isZero();
        assertThat(core.size()).isZero();
    }

    @Test
    void aLockDowngradedThroughTheReactorHandleIsReleasedByTheClose(Vertx vertx) throws Exception {
        TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        VertxLockHandle exclusive = await(leaving.on(() -> locks.acquire("orders")));
        LockHandle shared = exclusive.lockHandle().downgrade().block(Duration.ofSeconds(10));

        await(leaving.undeploy());

        assertThat(shared.isHeld()).isFalse();
        assertThat(core.size()).isZero();
    }

    @Test
    void theSharedGrantOfAReactorDowngradeUnderWayAtTheReleaseIsReleasedByTheClose(Vertx vertx) throws Exception {
        GatedDowngradeLockService gated = new GatedDowngradeLockService(core);
        DefaultVertxLockService gatedLocks = (DefaultVertxLockService) VertxLockService.create(vertx, gated);
        TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        VertxLockHandle exclusive = await(leaving.on(() -> gatedLocks.acquire("orders")));
        Sinks.One<LockHandle> shared = Sinks.one();
        exclusive.lockHandle().downgrade().subscribe(shared::tryEmitValue); // under way
        await(leaving.on(exclusive::release)); // changes nothing: the grant belongs to the downgrade's subscriber

        gated.openGate();
        LockHandle granted = shared.asMono().block(Duration.ofSeconds(10));
        assertThat(granted.isHeld()).isTrue();

        await(leaving.undeploy());

        assertThat(granted.isHeld()).as("the shared grant outlived the undeployment").isFalse();
        assertThat(core.size()).isZero();
    }

    @Test
    void aHandleReleasedTwiceOrByBothRoutesLeavesNothingRegistered(Vertx vertx) throws Exception {
        TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        VertxLockHandle first = await(verticle.on(() -> locks.acquire("orders")));
        await(verticle.on(first::release));
        await(verticle.on(first::release));
        VertxLockHandle second = await(verticle.on(() -> locks.acquire("orders")));
        second.lockHandle().release().block(Duration.ofSeconds(10));
        await(verticle.on(second::release));
        second.lockHandle().release().block(Duration.ofSeconds(10));

        assertThat(locks.acquisitions()).isZero();
        assertThat(core.size()).isZero();
        VertxLockHandle third = await(verticle.on(() -> locks.acquire("orders")));
        assertThat(third.isHeld()).isTrue();
        await(third.release());
    }

    @Test
    void failedAndEmptyAcquisitionsLeaveNothingRegistered(Vertx vertx) throws Exception {
        TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        VertxLockHandle held = await(verticle.on(() -> locks.acquire("orders")));

        assertThat(await(verticle.on(() -> locks.tryAcquire("orders")))).isNull();
        assertThat(catchThrowable(() -> await(verticle.on(() -> locks.acquire("orders",
                LockOptions.exclusive().timeout(Duration.ofMillis(20)))))))
                .isInstanceOf(LockTimeoutException.class);

        assertThat(locks.acquisitions()).isEqualTo(1);
        await(verticle.on(held::release));
        assertThat(locks.acquisitions()).isZero();
    }

    @Test
    void aContextClosedWhileItsAcquisitionIsPendingLeavesNothingBehind(Vertx vertx) throws Exception {
        LockHandle holder = core.acquire("orders").block(Duration.ofSeconds(10));
        TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        Future<VertxLockHandle> pending = await(leaving.on(() -> Future.succeededFuture(locks.acquire("orders"))));
        assertThat(locks.acquisitions()).isEqualTo(1);

        await(leaving.undeploy());

        assertThat(catchThrowable(() -> await(pending))).isInstanceOf(LockException.class);
        assertThat(locks.registries()).isZero();
        assertThat(locks.acquisitions()).isZero();
        holder.release().block(Duration.ofSeconds(10));
        assertThat(core.size()).isZero();
    }

    @Test
    void releaseRacingTheCloseOfItsContextLeavesNothingHeldOrRegistered(Vertx vertx) throws Exception {
        raceReleaseAgainstUndeploy(vertx, 3_000);
    }

    @Test
    @Tag("loops")
    @Timeout(value = 60, unit = TimeUnit.MINUTES) // longer than the 60s default of junit-platform.properties
    void releaseRacingTheCloseOfItsContextLeavesNothingHeldOrRegistered_loop(Vertx vertx) throws Exception {
        raceReleaseAgainstUndeploy(vertx, 300_000);
    }

    /**
     * A holder releases (through the Reactor handle in even rounds, through the Vert.x handle in odd ones) while
     * its verticle is undeployed: whichever wins, the lock is free afterwards, the undeployment completes, and
     * neither the acquisition nor the verticle's registry is left behind.
     */
    private void raceReleaseAgainstUndeploy(Vertx vertx, int iterations) throws Exception {
        String run = Long.toHexString(System.nanoTime() & 0xffffffL);
        try (SpinRacer racer = new SpinRacer()) {
            for (int i = 0; i < iterations; i++) {
                String name = "release-" + run + "-" + i;
                TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
                VertxLockHandle held = await(leaving.on(() -> locks.acquire(name)));
                Runnable release = i % 2 == 0
                        ? () -> held.lockHandle().release().subscribe()
                        : held::release;
                Future<?>[] undeployed = new Future<?>[1];

                racer.race(() -> undeployed[0] = leaving.undeploy(), release);
                await(undeployed[0]);

                LockHandle next = core.acquire(name, LockOptions.exclusive().timeout(Duration.ofSeconds(10)))
                        .block(Duration.ofSeconds(10));
                assertThat(next).as("iteration %d: lock leaked", i).isNotNull();
                assertThat(held.isHeld()).as("iteration %d", i).isFalse();
                next.release().block(Duration.ofSeconds(10));
                assertThat(locks.acquisitions()).as("iteration %d: acquisitions left registered", i).isZero();
                assertThat(locks.registries()).as("iteration %d: registries left", i).isZero();
            }
        }
        assertThat(core.size()).isZero();
    }
}
