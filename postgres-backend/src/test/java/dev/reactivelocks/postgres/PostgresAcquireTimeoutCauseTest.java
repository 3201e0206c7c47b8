package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.distributed.DistributedLockService;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.R2dbcException;
import io.r2dbc.spi.R2dbcTransientResourceException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.test.StepVerifier;

/**
 * An acquisition that times out while another transaction holds its name's advisory lock: each of its calls
 * ended at the server's {@code lock_timeout}, and the caller's {@link LockTimeoutException} says so, naming the
 * table, instead of reading like a lock that stayed held.
 */
class PostgresAcquireTimeoutCauseTest {

    /**
     * The acquisition's lock_timeout is nine tenths of it, 3.6 s: its first call fails 0.4 s before the service
     * would stop waiting for it, and the second is in flight when the 4.5 s timeout passes.
     */
    private static final Duration LEASE = Duration.ofSeconds(4);
    /** A liveness bound, well beyond the acquisition's timeout. */
    private static final Duration BOUND = Duration.ofSeconds(30);

    private PostgresqlConnectionFactory direct;
    private ConnectionPool pool;
    private PostgresLockConfig config;
    private DistributedLockService service;

    @BeforeEach
    void setUp() {
        direct = PostgresTestSupport.factory("rl-cause-test");
        pool = PostgresTestSupport.pool(direct);
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("cause")).build();
        service = DistributedLockService.builder(PostgresLockBackend.create(pool, config)).lease(LEASE)
                .renewEvery(Duration.ofSeconds(1)).build();
    }

    @AfterEach
    void tearDown() {
        service.disposeLater().block(BOUND);
        PostgresTestSupport.dropSchema(direct, config);
        pool.dispose();
    }

    @Test
    void aTimeoutBehindATransactionHoldingTheNameCarriesTheLockTimeoutNamingTheTable() {
        service.tryAcquire("rl_cause_name").flatMap(h -> h.release()).block(BOUND); // the schema exists
        Disposable holder = PostgresTestSupport.holdNameLock(direct, config, "rl_cause_name");
        try {
            StepVerifier.create(service.acquire("rl_cause_name",
                            LockOptions.exclusive().timeout(Duration.ofMillis(4500))))
                    .expectErrorSatisfies(e -> {
                        assertThat(e).isInstanceOf(LockTimeoutException.class)
                                .hasMessage("Lock 'rl_cause_name' (EXCLUSIVE) not acquired within 4500ms");
                        assertThat(e.getSuppressed()).hasSize(1);
                        assertThat(e.getSuppressed()[0])
                                .hasMessageContaining("Lock 'rl_cause_name'")
                                .hasMessageContaining("'" + config.table() + "'")
                                .hasMessageContaining("lock timeout")
                                .isInstanceOf(R2dbcTransientResourceException.class)
                                .hasRootCauseInstanceOf(R2dbcException.class);
                    })
                    .verify(BOUND);
        } finally {
            holder.dispose();
        }
    }
}
