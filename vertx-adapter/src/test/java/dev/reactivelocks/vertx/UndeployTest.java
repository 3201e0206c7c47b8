package dev.reactivelocks.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockStats;
import dev.reactivelocks.testkit.contract.SpinRacer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Undeploying a verticle is the Vert.x-side cancel: its pending acquisitions leave the queue, its locks are released. */
@ExtendWith(VertxExtension.class)
class UndeployTest {

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

    private int pending(String name) {
        return core.stats(name).map(LockStats::pending).orElse(0);
    }

    private int holders(String name) {
        return core.stats(name).map(LockStats::holders).orElse(0);
    }

    @Test
    void undeployingAVerticleDequeuesItsPendingAcquisition(Vertx vertx) throws Exception {
        LockHandle holder = core.acquire("orders").block(Duration.ofSeconds(10));
        TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        TestVerticles.Deployed staying = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        AtomicBoolean leavingGranted = new AtomicBoolean();
        Future<VertxLockHandle> abandoned = await(leaving.on(() -> Future.succeededFuture(
                locks.acquire("orders").onSuccess(h -> leavingGranted.set(true)))));
        Future<VertxLockHandle> next = await(staying.on(() -> Future.succeededFuture(locks.acquire("orders"))));
        assertThat(pending("orders")).isEqualTo(2);

        await(leaving.undeploy());

        assertThat(pending("orders")).isEqualTo(1);
        assertThat(catchThrowable(() -> await(abandoned))).isInstanceOf(LockException.class)
                .hasMessage("Lock 'orders' (EXCLUSIVE) not acquired: the Vert.x context that asked for it was closed"
                        + " (verticle undeployed or Vert.x closed)");
        holder.release().block(Duration.ofSeconds(10));
        assertThat(await(next).isHeld()).isTrue();
        assertThat(leavingGranted).isFalse();
    }

    @Test
    void undeployingAVerticleReleasesTheLocksItHoldsBeforeTheUndeploymentCompletes(Vertx vertx) throws Exception {
        TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        VertxLockHandle held = await(leaving.on(() -> locks.acquire("orders")));
        VertxLockHandle reader = await(leaving.on(() -> locks.acquire("invoices", LockOptions.shared())));
        assertThat(holders("orders")).isEqualTo(1);

        await(leaving.undeploy());

        assertThat(held.isHeld()).isFalse();
        assertThat(reader.isHeld()).isFalse();
        assertThat(core.size()).isZero();
        await(held.release()); // releasing again afterwards is harmless
        assertThat(core.size()).isZero();
    }

    @Test
    void undeployingAVerticleReleasesALockHeldByAWithLockBodyThatNeverCompletes(Vertx vertx) throws Exception {
        TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        Promise<Void> bodyStarted = Promise.promise();
        leaving.on(() -> locks.withLock("orders", () -> {
            bodyStarted.complete();
            return Promise.<String>promise().future(); // e.g. waits for a timer that undeploy cancels
        }));
        await(bodyStarted.future());
        Future<VertxLockHandle> next = locks.acquire("orders");
        assertThat(pending("orders")).isEqualTo(1);

        await(leaving.undeploy());

        VertxLockHandle h = await(next);
        assertThat(h.isHeld()).isTrue();
        await(h.release());
    }

    @Test
    void aWorkerVerticlesLocksAreReleasedOnUndeployToo(Vertx vertx) throws Exception {
        TestVerticles.Deployed worker = TestVerticles.deploy(vertx, ThreadingModel.WORKER);
        VertxLockHandle held = await(worker.on(() -> locks.acquire("orders")));

        await(worker.undeploy());

        assertThat(held.isHeld()).isFalse();
        assertThat(core.size()).isZero();
    }

    @Test
    void otherVerticlesKeepTheirLocksWhenOneIsUndeployed(Vertx vertx) throws Exception {
        TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        TestVerticles.Deployed staying = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        VertxLockHandle kept = await(staying.on(() -> locks.acquire("orders")));
        Future<VertxLockHandle> abandoned = await(leaving.on(() -> Future.succeededFuture(locks.acquire("orders"))));

        await(leaving.undeploy());

        assertThat(abandoned.failed()).isTrue();
        assertThat(kept.isHeld()).isTrue();
        assertThat(holders("orders")).isEqualTo(1);
        assertThat(pending("orders")).isZero();
        await(kept.release());
    }

    @Test
    void theRegistryOfAnUndeployedVerticleIsForgotten(Vertx vertx) throws Exception {
        TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        await(leaving.on(() -> locks.acquire("orders")));
        assertThat(locks.registries()).isEqualTo(1);

        await(leaving.undeploy());

        assertThat(locks.registries()).isZero();
    }

    @Test
    void closingVertxReleasesLocksTakenOutsideDeployments() throws Exception {
        Vertx own = Vertx.vertx();
        VertxLockService ownLocks = VertxLockService.create(own, core);
        VertxLockHandle held = await(ownLocks.acquire("orders"));          // from this thread: no deployment
        LockHandle holder = core.acquire("invoices").block(Duration.ofSeconds(10));
        Future<VertxLockHandle> waiting = ownLocks.acquire("invoices");

        await(own.close());

        assertThat(held.isHeld()).isFalse();
        assertThat(waiting.failed()).isTrue();
        assertThat(pending("invoices")).isZero();
        holder.release().block(Duration.ofSeconds(10));
        assertThat(core.size()).isZero();
    }

    @Test
    void grantRacingUndeployIsNeverLeaked(Vertx vertx) throws Exception {
        raceGrantAgainstUndeploy(vertx, 10_000);
    }

    @Test
    @Tag("loops")
    @Timeout(value = 60, unit = TimeUnit.MINUTES) // about 25 minutes: far longer than the 60s default
    void grantRacingUndeployIsNeverLeaked_loop(Vertx vertx) throws Exception {
        int granted = raceGrantAgainstUndeploy(vertx, 1_000_000);
        assertThat(granted).as("both outcomes of the race occur").isBetween(1, 999_999);
    }

    @Test
    void withLockBodyNeverStartsAfterTheUndeploymentReleasedItsLock(Vertx vertx) throws Exception {
        raceWithLockBodyAgainstUndeploy(vertx, 3_000);
    }

    @Test
    @Tag("loops")
    @Timeout(value = 30, unit = TimeUnit.MINUTES) // longer than the 60s default of junit-platform.properties
    void withLockBodyNeverStartsAfterTheUndeploymentReleasedItsLock_loop(Vertx vertx) throws Exception {
        raceWithLockBodyAgainstUndeploy(vertx, 300_000);
    }

    /**
     * A {@code withLock} waiter of a verticle being undeployed is granted as the undeployment starts: the grant
     * reaches the verticle's context, the undeployment releases the lock, and only then would the body start.
     * The body must never run without the lock (another holder may already have it); it runs holding it, or
     * not at all, and nothing is left held by nobody.
     */
    private void raceWithLockBodyAgainstUndeploy(Vertx vertx, int iterations) throws Exception {
        String run = Long.toHexString(System.nanoTime() & 0xffffffL);
        int startedWithoutTheLock = 0;
        int leaked = 0;
        try (SpinRacer racer = new SpinRacer()) {
            for (int i = 0; i < iterations; i++) {
                String name = "body-" + run + "-" + i;
                LockHandle holder = core.acquire(name).block(Duration.ofSeconds(10));
                TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
                AtomicInteger started = new AtomicInteger(); // 1: holding the lock, 2: without it
                Future<Void> result = await(leaving.on(() -> Future.succeededFuture(
                        locks.withLock(name, LockOptions.exclusive(), h -> {
                            started.set(h.isHeld() && holders(name) == 1 ? 1 : 2);
                            return Future.<Void>succeededFuture();
                        }))));
                Future<?>[] undeployed = new Future<?>[1];

                racer.race(() -> undeployed[0] = leaving.undeploy(), () -> holder.release().subscribe());
                await(undeployed[0]);
                try {
                    await(result);
                } catch (LockException contextClosed) {
                    // the undeployment won: the body did not run
                }
                if (started.get() == 2) {
                    startedWithoutTheLock++;
                }
                LockHandle probe = core.tryAcquire(name).block(Duration.ofSeconds(10));
                if (probe == null) {
                    leaked++;
                } else {
                    probe.release().block(Duration.ofSeconds(10));
                }
            }
        }
        assertThat(startedWithoutTheLock).as("bodies started after the undeployment released their lock").isZero();
        assertThat(leaked).as("names held by nobody").isZero();
    }

    /** @return in how many iterations the undeployed verticle had been granted the lock before its undeployment */
    private int raceGrantAgainstUndeploy(Vertx vertx, int iterations) throws Exception {
        try (SpinRacer racer = new SpinRacer()) {
            return raceGrantAgainstUndeploy(vertx, iterations, racer);
        }
    }

    private int raceGrantAgainstUndeploy(Vertx vertx, int iterations, SpinRacer racer) throws Exception {
        int granted = 0;
        for (int i = 0; i < iterations; i++) {
            LockHandle holder = core.acquire("race").block(Duration.ofSeconds(10));
            TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
            Future<VertxLockHandle> waiter = await(leaving.on(() -> Future.succeededFuture(locks.acquire("race"))));
            Future<?>[] undeployed = new Future<?>[1];

            racer.race(() -> undeployed[0] = leaving.undeploy(), () -> holder.release().subscribe());
            await(undeployed[0]);

            // whoever won, nobody may own the lock now except a next acquirer
            LockHandle next = core.acquire("race", LockOptions.exclusive().timeout(Duration.ofSeconds(10)))
                    .block(Duration.ofSeconds(10));
            assertThat(next).as("iteration %d: lock leaked", i).isNotNull();
            assertThat(waiter.isComplete()).as("iteration %d: the waiter was neither granted nor failed", i).isTrue();
            if (waiter.succeeded()) {
                granted++;
                assertThat(waiter.result().isHeld()).as("iteration %d: the undeployed verticle holds the lock", i)
                        .isFalse();
            }
            next.release().block(Duration.ofSeconds(10));
        }
        assertThat(core.size()).isZero();
        assertThat(locks.registries()).isZero();
        return granted;
    }
}
