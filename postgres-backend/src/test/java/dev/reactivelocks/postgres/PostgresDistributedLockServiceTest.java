package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.distributed.DistributedLockService;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/**
 * {@link DistributedLockService} over PostgreSQL: two services with their own connection pools (as two
 * processes would have) on one table.
 */
class PostgresDistributedLockServiceTest {

    private static final Duration LEASE = Duration.ofSeconds(2);
    private static final Duration RENEW = Duration.ofMillis(250);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration TIMEOUT = Duration.ofSeconds(15);

    private static PostgresqlConnectionFactory admin;
    private static PostgresLockConfig config;

    private final List<Runnable> cleanup = new ArrayList<>();
    private String appA;
    private String appB;

    @BeforeAll
    static void createTable() {
        admin = PostgresTestSupport.factory("rl-admin");
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("service")).build();
    }

    @AfterAll
    static void dropTable() {
        PostgresTestSupport.dropSchema(admin, config);
    }

    @BeforeEach
    void names(TestInfo info) {
        String id = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        appA = "rl-a-" + id;
        appB = "rl-b-" + id;
    }

    @AfterEach
    void tearDown() {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).run();
        }
    }

    private DistributedLockService service(String applicationName, Duration pollInterval) {
        ConnectionPool pool = PostgresTestSupport.pool(PostgresTestSupport.factory(applicationName));
        PostgresLockBackend backend = PostgresLockBackend.create(pool, config);
        DistributedLockService service = DistributedLockService.builder(backend)
                .lease(LEASE).renewEvery(RENEW).pollInterval(pollInterval).build();
        cleanup.add(() -> {
            service.disposeLater().block(TIMEOUT);
            backend.close().block(TIMEOUT);
            pool.disposeLater().block(TIMEOUT);
        });
        return service;
    }

    private DistributedLockService serviceA() {
        return service(appA, POLL);
    }

    private DistributedLockService serviceB() {
        return service(appB, POLL);
    }

    private static LockHandle acquire(DistributedLockService s, String name) {
        return s.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
    }

    private long rows(String name) {
        return PostgresTestSupport.query(admin, "SELECT count(*) FROM " + config.table()
                + " WHERE lock_key = $1 AND expires_at > now()", Long.class, (Object) PostgresLockBackend.key(name)).get(0);
    }

    @Test
    void twoServicesWithTheirOwnPoolsExcludeEachOther() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle first = acquire(a, "job");
        StepVerifier.create(b.tryAcquire("job")).expectComplete().verify(TIMEOUT);
        List<LockHandle> granted = new ArrayList<>();
        StepVerifier.create(b.acquire("job", LockOptions.exclusive().timeout(TIMEOUT)))
                .then(() -> first.release().subscribe())
                .recordWith(() -> granted)
                .expectNextCount(1)
                .verifyComplete();
        LockHandle second = granted.get(0);
        assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
        assertThat(first.isHeld()).isFalse();
        assertThat(rows("job")).isEqualTo(1);
        second.release().block(TIMEOUT);
        assertThat(rows("job")).isZero();
    }

    @Test
    void bodiesUnderTheLockNeverOverlapAcrossServices() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        List<Long> tokens = new CopyOnWriteArrayList<>();
        Flux<Long> work = Flux.range(0, 16).flatMap(i -> (i % 2 == 0 ? a : b).withLock("counter",
                LockOptions.exclusive().timeout(TIMEOUT), handle -> {
                    maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                    tokens.add(handle.fencingToken());
                    return Mono.delay(Duration.ofMillis(15)).doOnNext(x -> inside.decrementAndGet())
                            .thenReturn(handle.fencingToken());
                }));
        StepVerifier.create(work).expectNextCount(16).verifyComplete();
        assertThat(maxInside.get()).isEqualTo(1);
        assertThat(tokens).as("grant order is fencing order").isSorted().doesNotHaveDuplicates();
    }

    @Test
    void sharedHoldersOverlapAndExclusiveWaitsForAllOfThem() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle s1 = a.acquire("doc", LockOptions.shared().timeout(TIMEOUT)).block(TIMEOUT);
        LockHandle s2 = b.acquire("doc", LockOptions.shared().timeout(TIMEOUT)).block(TIMEOUT);
        assertThat(rows("doc")).isEqualTo(2);
        StepVerifier.create(a.tryAcquire("doc", LockOptions.exclusive())).expectComplete().verify(TIMEOUT);
        StepVerifier.create(b.acquire("doc", LockOptions.exclusive().timeout(TIMEOUT)))
                .then(() -> s1.release().block(TIMEOUT))
                .expectNoEvent(Duration.ofMillis(500))
                .then(() -> s2.release().block(TIMEOUT))
                .assertNext(w -> assertThat(w.fencingToken()).isGreaterThan(Math.max(s1.fencingToken(), s2.fencingToken())))
                .verifyComplete();
    }

    @Test
    void releaseWakesAWaiterOfAnotherServiceThroughNotifyNotPolling() {
        DistributedLockService a = service(appA, Duration.ofMinutes(5));
        DistributedLockService b = service(appB, Duration.ofMinutes(5));
        LockHandle h = acquire(a, "wake");
        acquire(b, "warm-up").release().block(TIMEOUT);   // b's listener is up
        StepVerifier.create(b.acquire("wake", LockOptions.exclusive().timeout(Duration.ofSeconds(30))))
                .expectSubscription()
                .expectNoEvent(Duration.ofMillis(300))
                .then(() -> h.release().subscribe())
                .expectNextCount(1)
                .expectComplete()
                .verify(Duration.ofSeconds(5));   // far below the five-minute fallback poll
    }

    @Test
    void listeningResumesAfterTheListeningConnectionIsTerminated() {
        DistributedLockService a = service(appA, Duration.ofMinutes(5));
        DistributedLockService b = service(appB, Duration.ofMinutes(5));
        LockHandle h = acquire(b, "relisten");
        StepVerifier.create(a.acquire("relisten", LockOptions.exclusive().timeout(Duration.ofSeconds(60))))
                .expectSubscription()
                .expectNoEvent(Duration.ofMillis(500))
                .then(() -> assertThat(PostgresTestSupport.terminate(admin, appA)).isPositive())
                .expectNoEvent(Duration.ofMillis(1000))
                .then(() -> h.release().subscribe())
                .expectNextCount(1)
                .expectComplete()
                .verify(Duration.ofSeconds(10));   // the fallback poll is five minutes
    }

    @Test
    void aHolderThatStopsRenewingLosesTheLockAndAWaiterTakesOver() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle dead = acquire(a, "crash");
        a.dispose();   // renewals stop, as when the process died
        StepVerifier.create(b.acquire("crash", LockOptions.exclusive().timeout(TIMEOUT)))
                .assertNext(taken -> assertThat(taken.fencingToken()).isGreaterThan(dead.fencingToken()))
                .verifyComplete();
        StepVerifier.create(dead.lost()).expectComplete().verify(TIMEOUT);
        assertThat(dead.isHeld()).isFalse();
    }

    @Test
    void tryAcquireTakesOverAnExpiredLease() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle dead = acquire(a, "expired");
        a.dispose();
        StepVerifier.create(Mono.delay(LEASE.plusMillis(300)).then(b.tryAcquire("expired")))
                .assertNext(taken -> assertThat(taken.fencingToken()).isGreaterThan(dead.fencingToken()))
                .verifyComplete();
    }

    @Test
    void staleReleaseAfterTakeoverChangesNothingForTheNewOwnerAndReportsTheLoss() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle old = acquire(a, "stale");
        // the lease runs out in the database (as after a long pause of the holder)
        PostgresTestSupport.run(admin, "UPDATE " + config.table() + " SET expires_at = now() - interval '1 second'"
                + " WHERE fencing = " + old.fencingToken());
        LockHandle owner = b.tryAcquire("stale").block(TIMEOUT);
        assertThat(owner).as("taken over").isNotNull();
        old.release().block(TIMEOUT);
        StepVerifier.create(old.lost()).expectComplete().verify(TIMEOUT);
        assertThat(owner.isHeld()).isTrue();
        assertThat(PostgresTestSupport.query(admin, "SELECT fencing FROM " + config.table()
                + " WHERE lock_key = $1 AND expires_at > now()", Long.class, (Object) PostgresLockBackend.key("stale")))
                .containsExactly(owner.fencingToken());
    }

    @Test
    void releasedLockIsNotRenewedBackToLife() {
        DistributedLockService a = serviceA();
        LockHandle h = acquire(a, "released");
        h.release().block(TIMEOUT);
        Mono.delay(RENEW.multipliedBy(4)).block(TIMEOUT);   // several renewal periods
        assertThat(rows("released")).isZero();
        assertThat(PostgresTestSupport.query(admin, "SELECT count(*) FROM " + config.table()
                + " WHERE lock_key = $1", Long.class, (Object) PostgresLockBackend.key("released"))).containsExactly(0L);
    }

    @Test
    void timeoutCoversTheWholeWaitAndLeavesNoRowBehind() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle h = acquire(a, "slow");
        StepVerifier.create(b.acquire("slow", LockOptions.exclusive().timeout(Duration.ofMillis(700))))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockTimeoutException.class)
                        .hasMessage("Lock 'slow' (EXCLUSIVE) not acquired within 700ms"))
                .verify(TIMEOUT);
        assertThat(rows("slow")).isEqualTo(1);
        h.release().block(TIMEOUT);
        // the timed-out acquisition undoes its in-flight database call asynchronously: wait, briefly
        StepVerifier.create(b.acquire("slow", LockOptions.exclusive().timeout(Duration.ofSeconds(5))))
                .expectNextCount(1).verifyComplete();
        assertThat(rows("slow")).isEqualTo(1);
    }

    @Test
    void grantsThatRaceCancellationsAreReleasedInTheDatabase() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        List<LockHandle> kept = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 30; i++) {
            Disposable d = a.acquire("race").subscribe(kept::add);
            Mono.delay(Duration.ofMillis(ThreadLocalRandom.current().nextInt(15))).block(TIMEOUT);
            d.dispose();
            kept.forEach(h -> h.release().block(TIMEOUT));
            kept.clear();
        }
        // undo is asynchronous: the lock becomes free without waiting for any lease
        StepVerifier.create(b.acquire("race", LockOptions.exclusive().timeout(Duration.ofMillis(1200))))
                .expectNextCount(1).verifyComplete();
    }

    @Test
    void waitersOfOneServiceAreGrantedInArrivalOrder() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle h = acquire(a, "fifo");
        List<Integer> order = new CopyOnWriteArrayList<>();
        Flux<Integer> waiters = Flux.range(0, 5).concatMap(i -> Mono.just(i).doOnNext(x ->
                b.acquire("fifo", LockOptions.exclusive().timeout(TIMEOUT))
                        .doOnNext(x2 -> order.add(i))
                        .flatMap(LockHandle::release)
                        .subscribe()));
        waiters.blockLast(TIMEOUT);
        h.release().block(TIMEOUT);
        StepVerifier.create(Flux.interval(Duration.ofMillis(50)).filter(x -> order.size() == 5).next())
                .expectNextCount(1).verifyComplete();
        assertThat(order).containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void namesWithQuotesNulAndTenKilobytesLockSafely() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        for (String name : List.of("'; DROP TABLE " + config.table() + "; --", "nul\u0000inside",
                "big-" + "\u00e9\u0000'\"".repeat(2600))) {
            LockHandle h = acquire(a, name);
            StepVerifier.create(b.tryAcquire(name)).expectComplete().verify(TIMEOUT);
            List<LockHandle> granted = new ArrayList<>();
            StepVerifier.create(b.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)))
                    .then(() -> h.release().subscribe())
                    .recordWith(() -> granted)
                    .expectNextCount(1)
                    .verifyComplete();
            assertThat(rows(name)).isEqualTo(1);
            granted.get(0).release().block(TIMEOUT);
        }
        assertThat(rows("nul\u0000inside")).isZero();
        assertThat(rows("nul")).isZero();
    }

    @Test
    void aForeignTransactionStuckOnTheNameDelaysButNeverStrandsAnAcquisition() {
        DistributedLockService a = serviceA();
        byte[] key = PostgresLockBackend.key("stuck");
        int objectKey = java.nio.ByteBuffer.wrap(key).getInt();
        Sinks.Empty<Void> finish = Sinks.empty();
        Sinks.Empty<Void> locked = Sinks.empty();
        // another session takes the name's decision lock and sits in its transaction
        Mono<Void> stuck = Mono.usingWhen(admin.create(), c -> Mono.from(c.beginTransaction())
                        .thenMany(c.createStatement("SELECT pg_advisory_xact_lock($1, $2)")
                                .bind(0, config.table().hashCode()).bind(1, objectKey).execute())
                        .flatMap(r -> r.map((row, md) -> 1))
                        .doOnNext(x -> locked.tryEmitEmpty())
                        .then(finish.asMono())
                        .then(Mono.from(c.commitTransaction())),
                c -> c.close());
        Disposable holder = stuck.subscribe();
        try {
            locked.asMono().block(TIMEOUT);
            StepVerifier.create(a.acquire("stuck", LockOptions.exclusive().timeout(Duration.ofMillis(2500))))
                    .expectError(LockTimeoutException.class)
                    .verify(TIMEOUT);
            finish.tryEmitEmpty();
            StepVerifier.create(a.acquire("stuck", LockOptions.exclusive().timeout(TIMEOUT)))
                    .expectNextCount(1).verifyComplete();
        } finally {
            holder.dispose();
        }
    }

    @Test
    void terminatedConnectionsNeitherBreakExclusionNorStrandWaiters() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle held = acquire(a, "kept");
        LockHandle other = acquire(b, "handed");
        Mono<LockHandle> waiting = a.acquire("handed", LockOptions.exclusive().timeout(TIMEOUT)).cache();
        waiting.subscribe();

        assertThat(PostgresTestSupport.terminate(admin, appA)).as("a's connections terminated").isPositive();
        // held lock: either still held (renewal recovered on a new connection) or reported lost
        StepVerifier.create(Mono.delay(LEASE.multipliedBy(2)).then(b.tryAcquire("kept")).map(h -> h.fencingToken()))
                .recordWith(ArrayList::new)
                .thenConsumeWhile(x -> true)
                .consumeRecordedWith(taken -> {
                    if (held.isHeld()) {
                        assertThat(taken).as("b must not get a lock a still holds").isEmpty();
                    } else {
                        assertThat(held.lost().toFuture()).isDone();
                    }
                })
                .verifyComplete();
        assertThat(held.isHeld()).as("renewal recovers on a new connection").isTrue();

        other.release().block(TIMEOUT);
        StepVerifier.create(waiting).expectNextCount(1).verifyComplete();   // the waiter is not stranded
        PostgresTestSupport.terminate(admin, appA);
        StepVerifier.create(a.acquire("after", LockOptions.exclusive().timeout(TIMEOUT)))
                .as("a transient error during acquire is retried").expectNextCount(1).verifyComplete();
    }
}
