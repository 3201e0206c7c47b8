package dev.reactivelocks.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.contract.SpinRacer;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.internal.CloseFuture;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * The close of a context (an undeployment) completes only once every lock acquired on it is released,
 * including the releases its holder started itself and that are still on their way to a distributed store,
 * and including the shared grant of a downgrade through the Reactor handle that was under way at the release.
 */
@ExtendWith(VertxExtension.class)
class ReleaseUnderWayTest {

    private GatedBackend backend;
    private DistributedLockService distributed;
    private DefaultVertxLockService locks;

    @BeforeEach
    void setUp(Vertx vertx) {
        backend = new GatedBackend();
        distributed = DistributedLockService.builder(backend).build();
        locks = (DefaultVertxLockService) VertxLockService.create(vertx, distributed);
    }

    @AfterEach
    void tearDown() {
        distributed.dispose();
    }

    private static <T> T await(Future<T> future) throws Exception {
        return future.await(10, TimeUnit.SECONDS);
    }

    /** A context of its own, closed by the test as an undeployment closes a verticle's. */
    private record Scope(CloseFuture closeFuture, ContextInternal context) {

        static Scope open(Vertx vertx) {
            CloseFuture closeFuture = new CloseFuture();
            return new Scope(closeFuture, ((VertxInternal) vertx).contextBuilder().withCloseFuture(closeFuture).build());
        }

        Future<VertxLockHandle> acquire(VertxLockService locks, String name) {
            return TestVerticles.on(context, () -> locks.acquire(name));
        }
    }

    @Test
    void theCloseWaitsForAReleaseItsHolderStarted(Vertx vertx) throws Exception {
        assertTheCloseWaitsFor(vertx, GatedBackend::holdReleases, VertxLockHandle::release);
    }

    @Test
    void theCloseWaitsForAReleaseThroughTheReactorHandle(Vertx vertx) throws Exception {
        assertTheCloseWaitsFor(vertx, GatedBackend::holdReleases, held -> held.lockHandle().release().subscribe());
    }

    @Test
    void theCloseWaitsForAReleaseItsHolderStartedThatASecondReleaseFoundUnderWay(Vertx vertx) throws Exception {
        assertTheCloseWaitsFor(vertx, GatedBackend::holdReleases, held -> {
            held.release(); // on its way to the store
            held.lockHandle().release().subscribe(); // finds it under way: completes at once
        });
    }

    @Test
    void theCloseWaitsForAReactorReleaseSubscribedTwice(Vertx vertx) throws Exception {
        assertTheCloseWaitsFor(vertx, GatedBackend::holdReleases, held -> {
            Mono<Void> release = held.lockHandle().release();
            release.subscribe(); // on its way to the store
            release.subscribe(); // finds it under way: completes at once
        });
    }

    @Test
    void theCloseWaitsForAReactorReleaseThatTheVertxReleaseFoundUnderWay(Vertx vertx) throws Exception {
        assertTheCloseWaitsFor(vertx, GatedBackend::holdReleases, held -> {
            held.lockHandle().release().subscribe(); // on its way to the store
            held.release(); // finds it under way: completes at once
        });
    }

    @Test
    void theCloseWaitsForAReactorReleaseWhoseSubscriberCancelledIt(Vertx vertx) throws Exception {
        assertTheCloseWaitsFor(vertx, GatedBackend::holdReleases,
                held -> held.lockHandle().release().subscribe().dispose()); // cancelled on its way to the store

        LockHandle next = distributed.acquire("rl_vertx_orders", LockOptions.exclusive().timeout(Duration.ofSeconds(5)))
                .block(Duration.ofSeconds(10));
        assertThat(next).as("the lock stayed held by nobody").isNotNull();
        next.release().block(Duration.ofSeconds(10));
    }

    @Test
    void aReleaseDuringAReactorDowngradeIsWaitedForByTheCloseWithTheSharedGrant(Vertx vertx) throws Exception {
        assertTheCloseWaitsFor(vertx, GatedBackend::holdDowngrades, held -> {
            held.lockHandle().downgrade().subscribe(shared -> { }, closed -> { }); // never released by the test
            held.release(); // made by the service once the downgrade ended
        });
    }

    @Test
    void aCloseDuringAReactorDowngradeReleasesItsSharedGrant(Vertx vertx) throws Exception {
        assertTheCloseWaitsFor(vertx, GatedBackend::holdDowngrades,
                held -> held.lockHandle().downgrade().subscribe(shared -> { }, closed -> { }));
    }

    /**
     * Acquires a lock on a context of its own, holds back one kind of store call ({@code gate}), starts
     * {@code underWay} with the lock and closes the context: the close must not complete before the store
     * answered, and when it completes the store holds nothing and nothing is left registered.
     */
    private void assertTheCloseWaitsFor(Vertx vertx, Function<GatedBackend, Sinks.Empty<Void>> gate,
                                        Consumer<VertxLockHandle> underWay) throws Exception {
        Scope scope = Scope.open(vertx);
        VertxLockHandle held = await(scope.acquire(locks, "rl_vertx_orders"));
        Sinks.Empty<Void> storeAnswers = gate.apply(backend);
        underWay.accept(held); // on its way to the store
        AtomicBoolean heldWhenClosed = new AtomicBoolean();

        Future<Void> closed = scope.closeFuture().close()
                .onComplete(ar -> heldWhenClosed.set(backend.holds("rl_vertx_orders")));

        assertThat(closed.isComplete()).as("the close completed while the store call was on its way").isFalse();
        storeAnswers.tryEmitEmpty();
        await(closed);
        assertThat(heldWhenClosed).as("the lock was still held when the close completed").isFalse();
        assertThat(locks.acquisitions()).isZero();
        assertThat(locks.registries()).isZero();
    }

    @Test
    void aCloseDuringAReactorDowngradeWhoseSubscriberCancelledReleasesItsSharedGrant(Vertx vertx) throws Exception {
        assertTheCloseWaitsFor(vertx, GatedBackend::holdDowngrades,
                held -> held.lockHandle().downgrade().subscribe().dispose()); // requested, then cancelled
    }

    @Test
    void aCloseAfterADowngradeThatThrewInsteadOfErroringCompletes(Vertx vertx) throws Exception {
        closeAfterAThrowingDowngrade(vertx, held -> {
            try {
                return held.downgrade();
            } catch (UnsupportedOperationException thrown) {
                return Future.failedFuture(thrown);
            }
        });
    }

    @Test
    void aCloseAfterAReactorDowngradeThatThrewInsteadOfErroringCompletes(Vertx vertx) throws Exception {
        closeAfterAThrowingDowngrade(vertx,
                held -> Future.fromCompletionStage(held.lockHandle().downgrade().toFuture()));
    }

    /**
     * A third-party handle whose {@code downgrade()} throws instead of returning a failing {@code Mono}: the
     * downgrade fails, and the close that follows completes and releases the lock.
     */
    private void closeAfterAThrowingDowngrade(Vertx vertx, Function<VertxLockHandle, Future<?>> downgrade)
            throws Exception {
        InProcessLockService core = (InProcessLockService) LockService.inProcess();
        VertxLockService throwingLocks = VertxLockService.create(vertx, new ThrowingDowngradeLockService(core));
        Scope scope = Scope.open(vertx);
        VertxLockHandle held = await(scope.acquire(throwingLocks, "orders"));
        assertThat(catchThrowable(() -> await(downgrade.apply(held))))
                .isInstanceOf(UnsupportedOperationException.class);

        Future<Void> closed = scope.closeFuture().close();

        closed.await(5, TimeUnit.SECONDS); // fails if the close never completes
        assertThat(core.size()).as("locks left held after the close").isZero();
        core.dispose();
    }

    @Test
    void aCloseAfterAReleaseThatThrewInsteadOfErroringCompletes(Vertx vertx) throws Exception {
        InProcessLockService core = (InProcessLockService) LockService.inProcess();
        LockService throwing = new LockService() {
            @Override
            public Mono<LockHandle> acquire(String name, LockOptions options) {
                return core.acquire(name, options).map(h -> new dev.reactivelocks.spi.ForwardingLockHandle(h) {
                    @Override
                    public Mono<Void> release() {
                        throw new IllegalStateException("cannot release");
                    }
                });
            }

            @Override
            public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
                return core.tryAcquire(name, options);
            }

            @Override
            public Mono<Void> disposeLater() {
                return core.disposeLater();
            }
        };
        Scope scope = Scope.open(vertx);
        VertxLockHandle held = await(scope.acquire(VertxLockService.create(vertx, throwing), "orders"));
        assertThat(catchThrowable(() -> {
            try {
                await(held.release());
            } catch (IllegalStateException thrown) {
                throw new Exception(thrown);
            }
        })).hasRootCauseMessage("cannot release");

        Future<Void> closed = scope.closeFuture().close();

        closed.await(5, TimeUnit.SECONDS); // fails if the close never completes
        core.dispose();
    }

    /** A service whose handles throw from {@code downgrade()} (instead of returning a failing {@code Mono}). */
    private record ThrowingDowngradeLockService(LockService delegate) implements LockService {

        @Override
        public Mono<LockHandle> acquire(String name, LockOptions options) {
            return delegate.acquire(name, options).map(h -> new dev.reactivelocks.spi.ForwardingLockHandle(h) {
                @Override
                public Mono<LockHandle> downgrade() {
                    throw new UnsupportedOperationException("cannot downgrade");
                }
            });
        }

        @Override
        public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
            return delegate.tryAcquire(name, options);
        }

        @Override
        public Mono<Void> disposeLater() {
            return delegate.disposeLater();
        }
    }

    @Test
    void aCloseDuringAReactorDowngradeWaitsForItsGrantAndReleasesIt(Vertx vertx) throws Exception {
        closeDuringADowngrade(vertx, held -> Future.fromCompletionStage(held.lockHandle().downgrade().toFuture()));
    }

    @Test
    void aCloseDuringADowngradeWaitsForItsGrantAndReleasesIt(Vertx vertx) throws Exception {
        closeDuringADowngrade(vertx, VertxLockHandle::downgrade);
    }

    /**
     * A service that ignores a release of a handle whose downgrade is under way (as {@link LockHandle#downgrade()}
     * allows) grants the shared lock after its context closed: the close waits for it and releases it.
     */
    private void closeDuringADowngrade(Vertx vertx, Function<VertxLockHandle, Future<?>> downgrade) throws Exception {
        InProcessLockService core = (InProcessLockService) LockService.inProcess();
        GatedDowngradeLockService gated = new GatedDowngradeLockService(core);
        VertxLockService gatedLocks = VertxLockService.create(vertx, gated);
        Scope scope = Scope.open(vertx);
        VertxLockHandle held = await(scope.acquire(gatedLocks, "orders"));
        Future<?> shared = downgrade.apply(held); // under way

        Future<Void> closed = scope.closeFuture().close();

        assertThat(closed.isComplete()).as("the close completed while the downgrade was under way").isFalse();
        gated.openGate();
        await(closed);
        assertThat(core.size()).as("locks left held after the close").isZero();
        assertThat(catchThrowable(() -> await(shared))).isInstanceOf(LockException.class)
                .hasMessage("Lock 'orders' (SHARED) not acquired: the Vert.x context that asked for it was closed"
                        + " (verticle undeployed or Vert.x closed)");
        core.dispose();
    }

    @Test
    void aReactorDowngradeLeavesTheRegistryWithTheReleaseOfTheHandleItReplaced(Vertx vertx) throws Exception {
        TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        VertxLockHandle held = await(verticle.on(() -> locks.acquire("rl_vertx_orders")));
        LockHandle shared = held.lockHandle().downgrade().block(Duration.ofSeconds(10));
        assertThat(held.isHeld()).isFalse();
        assertThat(locks.acquisitions()).as("the shared grant belongs to the context").isEqualTo(1);

        await(verticle.on(held::release)); // releases the shared grant that replaced it

        assertThat(shared.isHeld()).isFalse();
        assertThat(backend.holds("rl_vertx_orders")).isFalse();
        assertThat(locks.acquisitions()).isZero();
    }

    @Test
    void ownReleaseRacingUndeployLeavesNothingHeldAfterTheUndeployment(Vertx vertx) throws Exception {
        raceOwnReleaseAgainstUndeploy(vertx, 2_000);
    }

    @Test
    @Tag("loops")
    @Timeout(value = 60, unit = TimeUnit.MINUTES) // longer than the 60s default of junit-platform.properties
    void ownReleaseRacingUndeployLeavesNothingHeldAfterTheUndeployment_loop(Vertx vertx) throws Exception {
        raceOwnReleaseAgainstUndeploy(vertx, 200_000);
    }

    @Test
    void reactorDowngradeRacingReleaseAndUndeployLeavesNothingHeldOrRegistered(Vertx vertx) throws Exception {
        raceDowngradeAgainstReleaseAndUndeploy(vertx, 2_000);
    }

    @Test
    @Tag("loops")
    @Timeout(value = 60, unit = TimeUnit.MINUTES) // longer than the 60s default of junit-platform.properties
    void reactorDowngradeRacingReleaseAndUndeployLeavesNothingHeldOrRegistered_loop(Vertx vertx) throws Exception {
        raceDowngradeAgainstReleaseAndUndeploy(vertx, 200_000);
    }

    /**
     * A holder releases (through the Vert.x handle in even rounds, the Reactor handle in odd ones) while its
     * verticle is undeployed.
     */
    private void raceOwnReleaseAgainstUndeploy(Vertx vertx, int iterations) throws Exception {
        race(vertx, iterations, "rl_vertx_release-", (i, held, racer, undeploy) -> {
            Runnable release = i % 2 == 0 ? held::release : () -> held.lockHandle().release().subscribe();
            Future<?>[] undeployed = new Future<?>[1];
            racer.race(() -> undeployed[0] = undeploy.get(), release);
            return undeployed[0];
        });
    }

    /**
     * A holder downgrades through the Reactor handle and never releases the shared grant itself. Racing the
     * downgrade: a release of the Vert.x handle, after which the test waits for both to end and checks that
     * nothing stays registered before it undeploys the verticle (one round in three), or undeploys it at once
     * (one in three); or the undeployment itself (one in three).
     */
    private void raceDowngradeAgainstReleaseAndUndeploy(Vertx vertx, int iterations) throws Exception {
        race(vertx, iterations, "rl_vertx_downgrade-", (i, held, racer, undeploy) -> {
            CompletableFuture<Void> downgraded = new CompletableFuture<>();
            Runnable downgrade = () -> held.lockHandle().downgrade()
                    .subscribe(shared -> { }, error -> downgraded.complete(null), () -> downgraded.complete(null));
            Future<?>[] undeployed = new Future<?>[1];
            if (i % 3 == 2) {
                racer.race(() -> undeployed[0] = undeploy.get(), downgrade);
                return undeployed[0];
            }
            Future<?>[] released = new Future<?>[1];
            racer.race(() -> released[0] = held.release(), downgrade);
            if (i % 3 == 0) {
                await(released[0]);
                downgraded.get(10, TimeUnit.SECONDS);
                assertThat(locks.acquisitions()).as("iteration %d: acquisitions left registered after the release", i)
                        .isZero();
            }
            return undeploy.get();
        });
    }

    @Test
    void releasesThroughBothHandlesAndDowngradesRacingUndeployLeaveNothingHeldOrRegistered(Vertx vertx)
            throws Exception {
        raceBothHandlesAgainstUndeploy(vertx, 3_000);
    }

    @Test
    @Tag("loops")
    @Timeout(value = 60, unit = TimeUnit.MINUTES) // longer than the 60s default of junit-platform.properties
    void releasesThroughBothHandlesAndDowngradesRacingUndeployLeaveNothingHeldOrRegistered_loop(Vertx vertx)
            throws Exception {
        raceBothHandlesAgainstUndeploy(vertx, 300_000);
    }

    /**
     * Releases and downgrades through both handles, racing each other or the undeployment, six kinds of round in
     * turn: a release that finds another one under way completes at once, and the undeployment that follows must
     * still wait for the first one.
     */
    private void raceBothHandlesAgainstUndeploy(Vertx vertx, int iterations) throws Exception {
        race(vertx, iterations, "rl_vertx_mixed-", (i, held, racer, undeploy) -> {
            Future<?>[] undeployed = new Future<?>[1];
            switch (i % 6) {
                case 0 -> {
                    racer.race(held::release, () -> held.lockHandle().release().subscribe());
                    return undeploy.get();
                }
                case 1 -> {
                    racer.race(() -> undeployed[0] = undeploy.get(), held::downgrade);
                    return undeployed[0];
                }
                case 2 -> {
                    racer.race(held::downgrade, () -> held.lockHandle().release().subscribe());
                    return undeploy.get();
                }
                case 3 -> {
                    racer.race(() -> undeployed[0] = undeploy.get(),
                            () -> held.lockHandle().downgrade().flatMap(LockHandle::release)
                                    .subscribe(null, closed -> { }));
                    return undeployed[0];
                }
                case 4 -> {
                    racer.race(() -> held.downgrade().onSuccess(VertxLockHandle::release), held::release);
                    return undeploy.get();
                }
                default -> {
                    racer.race(() -> undeployed[0] = undeploy.get(), () -> {
                        held.release();
                        held.lockHandle().release().subscribe();
                    });
                    return undeployed[0];
                }
            }
        });
    }

    /** One round of a race loop: races what it does with the lock against the undeployment it gets. */
    private interface Round {
        /**
         * @param undeploy undeploys the holder's verticle; call it once, in the race or after it
         * @return the undeployment
         */
        Future<?> run(int iteration, VertxLockHandle held, SpinRacer racer, Supplier<Future<Void>> undeploy)
                throws Exception;
    }

    /**
     * Runs {@code round} {@code iterations} times, each on a fresh name held by a fresh verticle, the store
     * answering releases and downgrades on another thread: when the undeployment completes, the store must hold
     * nothing, and afterwards nothing may be registered or held by nobody.
     */
    private void race(Vertx vertx, int iterations, String prefix, Round round) throws Exception {
        backend.answeredOn(Schedulers.parallel());
        String run = Long.toHexString(System.nanoTime() & 0xffffffL);
        int heldAfterUndeploy = 0;
        try (SpinRacer racer = new SpinRacer()) {
            for (int i = 0; i < iterations; i++) {
                String name = prefix + run + "-" + i;
                TestVerticles.Deployed leaving = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
                VertxLockHandle held = await(leaving.on(() -> locks.acquire(name)));
                AtomicBoolean heldWhenUndeployed = new AtomicBoolean();

                await(round.run(i, held, racer, () -> leaving.undeploy()
                        .onComplete(ar -> heldWhenUndeployed.set(backend.holds(name)))));

                if (heldWhenUndeployed.get()) {
                    heldAfterUndeploy++;
                }
                assertNothingLeft(name, i);
            }
        }
        assertThat(heldAfterUndeploy).as("locks still held when the undeployment completed").isZero();
    }

    private void assertNothingLeft(String name, int iteration) {
        LockHandle next = distributed.acquire(name, LockOptions.exclusive().timeout(Duration.ofSeconds(10)))
                .block(Duration.ofSeconds(15));
        assertThat(next).as("iteration %d: lock held by nobody", iteration).isNotNull();
        next.release().block(Duration.ofSeconds(10));
        assertThat(locks.acquisitions()).as("iteration %d: acquisitions left registered", iteration).isZero();
        assertThat(locks.registries()).as("iteration %d: registries left", iteration).isZero();
    }
}
