package dev.reactivelocks.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockServiceClosedException;
import dev.reactivelocks.LockStats;
import dev.reactivelocks.LockTimeoutException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Sinks;

/** Exclusion, fairness, timeouts, try-lock and scoped use, seen through Vert.x Futures. */
@ExtendWith(VertxExtension.class)
class VertxLockServiceTest {

    private InProcessLockService core;
    private VertxLockService locks;

    @BeforeEach
    void setUp(Vertx vertx) {
        core = (InProcessLockService) LockService.inProcess();
        locks = VertxLockService.create(vertx, core);
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

    @Test
    void onlyOneVerticleHoldsTheLockAtATime(Vertx vertx) throws Exception {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        List<Future<Void>> all = new ArrayList<>();
        for (int v = 0; v < 4; v++) {
            TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
            all.add(verticle.on(() -> {
                Future<Void> chain = Future.succeededFuture();
                for (int i = 0; i < 25; i++) {
                    chain = chain.compose(x -> locks.withLock("orders", () -> {
                        maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                        return vertx.timer(1).map(t -> {   // hold across an event-loop turn
                            inside.decrementAndGet();
                            done.incrementAndGet();
                            return null;
                        });
                    }));
                }
                return chain;
            }));
        }

        await(Future.all(all));

        assertThat(done).hasValue(100);
        assertThat(maxInside).hasValue(1);
        assertThat(core.size()).isZero();
    }

    @Test
    void waitersAreGrantedInTheOrderTheyAsked(Vertx vertx) throws Exception {
        VertxLockHandle first = await(locks.acquire("orders"));
        List<Integer> grants = new CopyOnWriteArrayList<>();
        List<Future<Void>> waiters = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            int index = i;
            TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
            // queue now, from this verticle; the grant releases at once, handing over to the next waiter
            Future<Void> granted = await(verticle.on(() -> Future.succeededFuture(
                    locks.acquire("orders").compose(h -> {
                        grants.add(index);
                        return h.release();
                    }))));
            waiters.add(granted);
        }
        assertThat(pending("orders")).isEqualTo(5);

        await(first.release());
        await(Future.all(waiters));

        assertThat(grants).containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void sharedHoldersHoldTogetherAndExcludeAnExclusiveOne() throws Exception {
        VertxLockHandle reader1 = await(locks.acquire("orders", LockOptions.shared()));
        VertxLockHandle reader2 = await(locks.acquire("orders", LockOptions.shared()));
        Future<VertxLockHandle> writer = locks.acquire("orders");

        assertThat(reader1.mode()).isEqualTo(LockMode.SHARED);
        assertThat(reader1.isHeld()).isTrue();
        assertThat(reader2.isHeld()).isTrue();
        await(reader1.release());
        assertThat(pending("orders")).isEqualTo(1);
        assertThat(writer.isComplete()).isFalse();

        await(reader2.release());
        assertThat(await(writer).mode()).isEqualTo(LockMode.EXCLUSIVE);
    }

    @Test
    void tryAcquireSucceedsWithNullWhenTheLockIsBusy() throws Exception {
        VertxLockHandle held = await(locks.tryAcquire("orders"));
        assertThat(held).isNotNull();
        assertThat(held.isHeld()).isTrue();

        assertThat(await(locks.tryAcquire("orders"))).isNull();
        assertThat(pending("orders")).isZero();

        await(held.release());
        VertxLockHandle again = await(locks.tryAcquire("orders"));
        assertThat(again).isNotNull();
        await(again.release());
    }

    @Test
    void tryAcquireDoesNotOvertakeWaiters() throws Exception {
        VertxLockHandle reader = await(locks.acquire("orders", LockOptions.shared()));
        Future<VertxLockHandle> writer = locks.acquire("orders");

        assertThat(await(locks.tryAcquire("orders", LockOptions.shared()))).isNull();

        await(reader.release());
        await(await(writer).release());
    }

    @Test
    void timeoutOfLockOptionsFailsTheFutureAndLeavesTheQueue() throws Exception {
        VertxLockHandle held = await(locks.acquire("orders"));

        Throwable error = catchThrowable(() ->
                await(locks.acquire("orders", LockOptions.shared().timeout(Duration.ofMillis(30)))));

        assertThat(error).isInstanceOf(LockTimeoutException.class)
                .hasMessage("Lock 'orders' (SHARED) not acquired within 30ms");
        assertThat(pending("orders")).isZero();
        await(held.release());
        assertThat(core.size()).isZero();
    }

    @Test
    void zeroTimeoutFailsAtOnceWhenBusy() throws Exception {
        VertxLockHandle held = await(locks.acquire("orders"));

        assertThatThrownBy(() -> await(locks.acquire("orders", LockOptions.exclusive().timeout(Duration.ZERO))))
                .isInstanceOf(LockTimeoutException.class)
                .hasMessage("Lock 'orders' (EXCLUSIVE) not acquired within 0ms");
        await(held.release());
    }

    @Test
    void withLockReleasesWhenTheBodySucceedsAndSignalsAfterTheRelease(Vertx vertx) throws Exception {
        TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);

        // in the result's handler the lock is already free again
        Boolean freeInHandler = await(verticle.on(() -> locks.withLock("orders", () -> Future.succeededFuture("saved"))
                .compose(result -> locks.tryAcquire("orders"))
                .compose(h -> h == null ? Future.succeededFuture(false) : h.release().map(v -> true))));

        assertThat(freeInHandler).isTrue();
        assertThat(core.size()).isZero();
    }

    @Test
    void withLockRelaysTheBodysValue() throws Exception {
        assertThat(await(locks.withLock("orders", () -> Future.succeededFuture("saved")))).isEqualTo("saved");
    }

    @Test
    void withLockReleasesWhenTheBodyFails() throws Exception {
        Throwable error = catchThrowable(() ->
                await(locks.withLock("orders", () -> Future.failedFuture(new IllegalStateException("disk full")))));

        assertThat(error).isInstanceOf(IllegalStateException.class).hasMessage("disk full");
        assertThat(core.size()).isZero();
    }

    @Test
    void withLockReleasesWhenTheBodyThrows() throws Exception {
        Throwable error = catchThrowable(() -> await(locks.<String>withLock("orders", () -> {
            throw new IllegalStateException("bug");
        })));

        assertThat(error).isInstanceOf(IllegalStateException.class).hasMessage("bug");
        assertThat(core.size()).isZero();
    }

    @Test
    void withLockReleasesWhenTheBodyReturnsNull() throws Exception {
        Throwable error = catchThrowable(() -> await(locks.<String>withLock("orders", () -> null)));

        assertThat(error).isInstanceOf(NullPointerException.class)
                .hasMessage("body returned null instead of a Future");
        assertThat(core.size()).isZero();
    }

    @Test
    void withLockHoldsTheLockUntilTheBodysFutureCompletes() throws Exception {
        Promise<String> body = Promise.promise();
        Future<String> result = locks.withLock("orders", LockOptions.exclusive(), handle -> body.future());

        assertThat(await(locks.tryAcquire("orders"))).isNull();
        body.complete("done");

        assertThat(await(result)).isEqualTo("done");
        assertThat(core.size()).isZero();
    }

    @Test
    void withLockDoesNotCallTheBodyWhenTheLockIsNotGranted() throws Exception {
        VertxLockHandle held = await(locks.acquire("orders"));
        AtomicInteger calls = new AtomicInteger();

        Throwable error = catchThrowable(() -> await(locks.withLock("orders",
                LockOptions.exclusive().timeout(Duration.ofMillis(20)), () -> {
                    calls.incrementAndGet();
                    return Future.succeededFuture();
                })));

        assertThat(error).isInstanceOf(LockTimeoutException.class);
        assertThat(calls).hasValue(0);
        await(held.release());
    }

    @Test
    void fencingTokensIncreaseWithEveryGrant() throws Exception {
        List<Long> tokens = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            VertxLockHandle h = await(locks.acquire("orders"));
            tokens.add(h.fencingToken());
            assertThat(h.lockHandle().fencingToken()).isEqualTo(h.fencingToken());
            await(h.release());
        }
        assertThat(tokens).isSorted().doesNotHaveDuplicates();
    }

    @Test
    void releaseIsIdempotentAndNeverReleasesTheNextHoldersGrant() throws Exception {
        VertxLockHandle first = await(locks.acquire("orders"));
        Future<VertxLockHandle> second = locks.acquire("orders");

        await(first.release());
        VertxLockHandle next = await(second);
        await(first.release());

        assertThat(first.isHeld()).isFalse();
        assertThat(next.isHeld()).isTrue();
        assertThat(await(locks.tryAcquire("orders"))).isNull();
        await(next.release());
    }

    @Test
    void aPrefixedServiceViewWorksAndItsHandlesCarryTheFullName(Vertx vertx) throws Exception {
        VertxLockService nova = VertxLockService.create(vertx, core.withPrefix("nova"));

        VertxLockHandle h = await(nova.acquire("db"));

        assertThat(h.name()).isEqualTo("nova-db");
        assertThat(await(locks.tryAcquire("nova-db"))).isNull();
        await(h.release());
        assertThat(core.size()).isZero();
    }

    @Test
    void invalidArgumentsThrowAtTheCall() {
        assertThatThrownBy(() -> locks.acquire(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> locks.acquire("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("name must not be empty");
        assertThatThrownBy(() -> locks.acquire("orders", null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> locks.tryAcquire("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> locks.withLock("orders", (java.util.function.Supplier<Future<String>>) null))
                .isInstanceOf(NullPointerException.class).hasMessage("body");
        assertThatThrownBy(() -> VertxLockService.create(null, core)).isInstanceOf(NullPointerException.class)
                .hasMessage("vertx");
        assertThat(core.size()).isZero();
    }

    @Test
    void disposingTheWrappedServiceFailsPendingAcquisitions() throws Exception {
        VertxLockHandle held = await(locks.acquire("orders"));
        Future<VertxLockHandle> waiting = locks.acquire("orders");

        core.disposeLater().block(Duration.ofSeconds(10));

        assertThatThrownBy(() -> await(waiting)).isInstanceOf(LockServiceClosedException.class)
                .hasMessage("Lock 'orders' not acquired: the lock service is disposed");
        assertThatThrownBy(() -> await(locks.acquire("invoices"))).isInstanceOf(LockServiceClosedException.class);
        await(held.release());
    }

    @Test
    void lostCompletesOnTheAcquiringContextWhenTheWrappedServiceLosesTheLock(Vertx vertx) throws Exception {
        Sinks.Empty<Void> loss = Sinks.empty();
        LosingLockService losing = new LosingLockService(core, loss.asMono());
        VertxLockService adapter = VertxLockService.create(vertx, losing);
        TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);

        VertxLockHandle held = await(verticle.on(() -> adapter.acquire("orders")));
        Future<Thread> lostOn = TestVerticles.on(verticle.context(), () -> held.lost().map(v -> Thread.currentThread()));
        assertThat(lostOn.isComplete()).isFalse();

        loss.tryEmitEmpty();

        assertThat(await(lostOn)).isSameAs(verticle.startThread());
        await(held.release());
    }

    @Test
    void lostNeverCompletesForInProcessLocks() throws Exception {
        VertxLockHandle held = await(locks.acquire("orders"));
        Future<Void> lost = held.lost();

        await(held.release());

        assertThat(lost.isComplete()).isFalse();
    }
}
