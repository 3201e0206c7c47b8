package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.LockBackend;
import io.r2dbc.pool.ConnectionPool;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/**
 * The limits the server sets on what the configuration and the service allow: a lease longer than the
 * longest {@code lock_timeout}, a schema-qualified table whose notification channel would be longer than an
 * identifier.
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

    @Test
    void aLongSchemaQualifiedTableNotifiesItsHandOffs() {
        // schema (19 characters) + '.' + 40 characters: "<schema>_<table>_released" would be 69 bytes
        PostgresLockConfig config = PostgresLockConfig.builder()
                .table(schema + "." + "a_lock_table_with_a_forty_character_name").build();
        assertThat(config.channel()).hasSizeLessThanOrEqualTo(63).endsWith("_released");
        PostgresLockBackend backend = PostgresLockBackend.create(factory, config);
        assertThat(backend.tryAcquire("n", LockMode.EXCLUSIVE, "holder", LEASE).block(TIMEOUT)).isNotNull();
        assertThat(backend.acquireOrQueue("n", LockMode.EXCLUSIVE, "waiter", LEASE, LEASE).block(TIMEOUT)).isNull();
        StepVerifier.create(backend.releases())
                .expectNext(LockBackend.ANY_RELEASE)   // listening
                .then(() -> backend.release("n", "holder").subscribe())
                .expectNext("waiter")                  // handed off and notified
                .thenCancel()
                .verify(TIMEOUT);
        assertThat(backend.release("n", "waiter").block(TIMEOUT)).as("the waiter holds the lease").isTrue();
        backend.close().block(TIMEOUT);
    }

    @Test
    void channelsOfLongTablesDifferWhenTheirTablesDo() {
        String prefix = schema + ".a_lock_table_with_a_forty_character_";
        String one = PostgresLockConfig.builder().table(prefix + "nam1").build().channel();
        String two = PostgresLockConfig.builder().table(prefix + "nam2").build().channel();
        assertThat(one).hasSize(63).isNotEqualTo(two);
        assertThat(PostgresLockConfig.builder().table("app.locks").build().channel()).isEqualTo("app_locks_released");
    }

}
