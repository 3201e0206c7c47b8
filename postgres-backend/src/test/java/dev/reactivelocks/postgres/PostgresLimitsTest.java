package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import io.r2dbc.pool.ConnectionPool;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The limits the server sets on what the configuration and the service allow: a lease longer than the
 * longest {@code lock_timeout}.
 */
class PostgresLimitsTest {

    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private static ConnectionPool factory;
    /** A schema of this class's own, dropped with everything in it at the end. */
    private static String schema;

    @BeforeAll
    static void setUp() {
        factory = PostgresTestSupport.pool(PostgresTestSupport.factory("rl-limits-test"));
        schema = "rl_limits_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
        PostgresTestSupport.run(factory, "CREATE SCHEMA " + schema);
    }

    @AfterAll
    static void tearDown() {
        PostgresTestSupport.run(factory, "DROP SCHEMA " + schema + " CASCADE");
        factory.dispose();
    }

    @Test
    void leasesLongerThanTheLongestLockTimeoutAreGrantedRenewedDowngradedAndReleased() {
        PostgresLockConfig config = PostgresLockConfig.builder().table(schema + ".long_lease").build();
        PostgresLockBackend backend = PostgresLockBackend.create(factory, config);
        Duration month = Duration.ofDays(30);   // lock_timeout takes at most 2^31-1 ms, about 24.8 days
        BackendLease held = backend.tryAcquire("month", LockMode.EXCLUSIVE, "holder", month).block(TIMEOUT);
        assertThat(held).isNotNull();
        assertThat(backend.acquireOrQueue("month", LockMode.SHARED, "waiter", month, LEASE).block(TIMEOUT)).isNull();
        assertThat(backend.renew("month", "holder", month).block(TIMEOUT)).isTrue();
        assertThat(backend.downgrade("month", "holder", month).block(TIMEOUT).mode()).isEqualTo(LockMode.SHARED);
        assertThat(backend.acquireOrQueue("month", LockMode.SHARED, "waiter", month, LEASE).block(TIMEOUT))
                .as("handed off by the downgrade").isNotNull();
        assertThat(backend.release("month", "holder").block(TIMEOUT)).isTrue();
        assertThat(backend.release("month", "waiter").block(TIMEOUT)).isTrue();
        backend.close().block(TIMEOUT);
    }

}
