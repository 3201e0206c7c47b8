package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.contract.DistributedLockServiceContract;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/**
 * {@link DistributedLockService} over PostgreSQL: the {@link DistributedLockServiceContract} with two
 * services, each with its own connection pool (as two processes would have), on one table, plus what is
 * particular to PostgreSQL (terminated connections, foreign transactions, names no identifier could hold).
 */
class PostgresDistributedLockServiceTest extends DistributedLockServiceContract {

    private static PostgresqlConnectionFactory admin;
    private static PostgresLockConfig config;

    @BeforeAll
    static void createTable() {
        admin = PostgresTestSupport.factory("rl-admin");
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("service")).build();
    }

    @AfterAll
    static void dropTable() {
        PostgresTestSupport.dropSchema(admin, config);
    }

    @Override
    protected LockBackend newBackend(String clientName) {
        ConnectionPool pool = PostgresTestSupport.pool(PostgresTestSupport.factory(clientName));
        closeAfterTest(() -> pool.disposeLater().block(TIMEOUT));
        return PostgresLockBackend.create(pool, config);
    }

    @Override
    protected long liveLeases(String name) {
        return PostgresTestSupport.query(admin, "SELECT count(*) FROM " + config.table()
                + " WHERE lock_key = $1 AND expires_at > now()", Long.class, (Object) PostgresLockBackend.key(name)).get(0);
    }

    @Test
    void listeningResumesAfterTheListeningConnectionIsTerminated() {
        DistributedLockService a = service(clientA, Duration.ofMinutes(5));
        DistributedLockService b = service(clientB, Duration.ofMinutes(5));
        LockHandle h = acquire(b, "relisten");
        StepVerifier.create(a.acquire("relisten", LockOptions.exclusive().timeout(Duration.ofSeconds(60))))
                .expectSubscription()
                .expectNoEvent(Duration.ofMillis(500))
                .then(() -> assertThat(PostgresTestSupport.terminate(admin, clientA)).isPositive())
                .expectNoEvent(Duration.ofMillis(1000))
                .then(() -> h.release().subscribe())
                .expectNextCount(1)
                .expectComplete()
                .verify(Duration.ofSeconds(10));   // the fallback poll is five minutes
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
            assertThat(liveLeases(name)).isEqualTo(1);
            granted.get(0).release().block(TIMEOUT);
        }
        assertThat(liveLeases("nul\u0000inside")).isZero();
        assertThat(liveLeases("nul")).isZero();
    }

    @Test
    void aForeignTransactionStuckOnTheNameDelaysButNeverStrandsAnAcquisition() {
        DistributedLockService a = serviceA();
        Disposable holder = PostgresTestSupport.holdNameLock(admin, config, "stuck");
        try {
            StepVerifier.create(a.acquire("stuck", LockOptions.exclusive().timeout(Duration.ofMillis(2500))))
                    .expectError(LockTimeoutException.class)
                    .verify(TIMEOUT);
            holder.dispose();
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

        assertThat(PostgresTestSupport.terminate(admin, clientA)).as("a's connections terminated").isPositive();
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
        PostgresTestSupport.terminate(admin, clientA);
        StepVerifier.create(a.acquire("after", LockOptions.exclusive().timeout(TIMEOUT)))
                .as("a transient error during acquire is retried").expectNextCount(1).verifyComplete();
    }
}
