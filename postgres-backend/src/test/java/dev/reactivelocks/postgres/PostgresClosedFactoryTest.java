package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * The connection pool disposed before the backend and its services (an application shutting down in the
 * wrong order): no connection will ever come, so every call fails at once with a permanent error saying so,
 * instead of being tried again as a transient failure (for ever, for an acquisition without a timeout).
 */
class PostgresClosedFactoryTest {

    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private PostgresqlConnectionFactory direct;
    private ConnectionPool pool;
    private PostgresLockConfig config;
    private PostgresLockBackend backend;

    @BeforeEach
    void setUp() {
        direct = PostgresTestSupport.factory("rl-pg_h-closed-factory-test");
        pool = PostgresTestSupport.pool(direct);
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("pg_h_closed")).build();
        backend = PostgresLockBackend.create(pool, config);
    }

    @AfterEach
    void tearDown() {
        backend.close().block(TIMEOUT);
        pool.dispose();
        PostgresTestSupport.dropSchema(direct, config);
    }

    @Test
    void aCallOnADisposedPoolFailsWithAPermanentError() {
        assertThat(backend.tryAcquire("warm-up", LockMode.EXCLUSIVE, "w", LEASE).block(TIMEOUT)).isNotNull();
        pool.dispose();
        StepVerifier.create(backend.tryAcquire("n", LockMode.EXCLUSIVE, "t", LEASE))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                        .hasMessageContaining("Lock 'n'")
                        .hasMessageContaining("'" + config.table() + "'")
                        .hasMessageContaining("connection factory is closed"))
                .verify(TIMEOUT);
    }

    @Test
    void theFirstCallOnAPoolDisposedBeforeAnyUseFailsWithAPermanentError() {
        pool.dispose();
        StepVerifier.create(backend.tryAcquire("n", LockMode.EXCLUSIVE, "t", LEASE))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                        .hasMessageContaining("connection factory is closed"))
                .verify(TIMEOUT);
    }

    @Test
    void anAcquisitionWithoutTimeoutOnADisposedPoolFails() {
        LockService locks = DistributedLockService.builder(backend).lease(LEASE).build();
        try {
            StepVerifier.create(locks.withLock("warm-up", Mono.just(1)))
                    .expectNext(1).verifyComplete();
            pool.dispose();
            StepVerifier.create(locks.acquire("n"))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                            .hasMessageContaining("connection factory is closed"))
                    .verify(TIMEOUT);
        } finally {
            locks.disposeLater().block(TIMEOUT);
        }
    }
}
