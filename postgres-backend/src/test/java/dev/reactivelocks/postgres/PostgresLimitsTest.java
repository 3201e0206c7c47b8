package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.servers.TestPostgres;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/**
 * The limits the server sets on what the configuration and the service allow: a lease longer than the
 * longest {@code lock_timeout}, a schema-qualified table whose notification channel would be longer than an
 * identifier, a schema that does not exist, a role that may not create the schema objects.
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

    /**
     * A pool of one connection: the listening connection takes it when the service starts, and every
     * operation runs on it, the creation of the schema objects included.
     */
    @Test
    void aServiceOnAPoolOfOneConnectionCreatesItsTableAndLocks() {
        PostgresLockConfig config = PostgresLockConfig.builder().table(schema + ".one_connection").build();
        ConnectionPool one = new ConnectionPool(ConnectionPoolConfiguration.builder(
                PostgresTestSupport.factory("rl-limits-one")).initialSize(0).maxSize(1).build());
        PostgresLockBackend backend = PostgresLockBackend.create(one, config);
        DistributedLockService service = DistributedLockService.builder(backend).build();
        try {
            LockHandle handle = service.acquire("one", LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
            assertThat(handle).isNotNull();
            handle.release().block(TIMEOUT);
        } finally {
            service.disposeLater().block(TIMEOUT);
            backend.close().block(TIMEOUT);
            one.disposeLater().block(TIMEOUT);
        }
    }

    @Test
    void aLongSchemaQualifiedTableNotifiesItsHandOffs() {
        // schema (19 characters) + '.' + 40 characters: "<schema>_<table>_released" would be 69 bytes, too long
        PostgresLockConfig config = PostgresLockConfig.builder()
                .table(schema + "." + "a_lock_table_with_a_forty_character_name").build();
        assertThat(config.channel()).isEqualTo("a_lock_table_with_a_forty_character_name_released");
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
    void theChannelIsTheTablesWhateverItsSpelling() {
        assertThat(PostgresLockConfig.builder().table("app.locks").build().channel()).isEqualTo("locks_released");
        assertThat(PostgresLockConfig.builder().table("locks").build().channel()).isEqualTo("locks_released");
        assertThat(PostgresLockConfig.builder().table("app.other").build().channel()).isEqualTo("other_released");
    }

    @Test
    void aMissingSchemaIsAPermanentErrorNamingTheLock() {
        String table = "rl_no_such_schema.locks";
        for (boolean create : new boolean[] {true, false}) {
            PostgresLockBackend backend = PostgresLockBackend.create(factory,
                    PostgresLockConfig.builder().table(table).createTable(create).build());
            StepVerifier.create(backend.tryAcquire("orders", LockMode.EXCLUSIVE, "t", LEASE))
                    .expectErrorSatisfies(e -> assertThat(e).as("createTable(%s)", create)
                            .isInstanceOf(LockConfigurationException.class)
                            .hasMessageContaining("Lock 'orders': the PostgreSQL lock table '" + table + "'")
                            .hasMessageContaining("schema \"rl_no_such_schema\" does not exist"))
                    .verify(TIMEOUT);
        }
    }

    @Test
    void aRoleThatMayNotCreateTheTableGetsAnErrorNamingTheLockAndWhatToDo() {
        String role = schema + "_user";
        try {
            PostgresTestSupport.run(factory, "CREATE ROLE " + role + " LOGIN PASSWORD 'rl-limits'",
                    "GRANT USAGE ON SCHEMA " + schema + " TO " + role);
        } catch (RuntimeException e) {
            Assumptions.abort("the test server's user may not create roles: " + e);
        }
        try {
            TestPostgres server = TestPostgres.get();
            PostgresqlConnectionFactory asRole = new PostgresqlConnectionFactory(PostgresqlConnectionConfiguration
                    .builder().host(server.host()).port(server.port()).database(server.database())
                    .username(role).password("rl-limits").applicationName("rl-limits-role").build());
            PostgresLockBackend backend = PostgresLockBackend.create(asRole,
                    PostgresLockConfig.builder().table(schema + ".not_created").build());
            StepVerifier.create(backend.tryAcquire("orders", LockMode.EXCLUSIVE, "t", LEASE))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                            .hasMessage("Lock 'orders': the PostgreSQL lock table '" + schema + ".not_created'"
                                    + " could not be created (permission denied for schema " + schema + ");"
                                    + " create its schema objects with PostgresLockConfig.ddl() as a role that may,"
                                    + " and set PostgresLockConfig.createTable(false)")
                            .satisfies(c -> assertThat(((LockConfigurationException) c).lockName())
                                    .isEqualTo("orders")))
                    .verify(TIMEOUT);
        } finally {
            PostgresTestSupport.run(factory, "DROP OWNED BY " + role, "DROP ROLE " + role);
        }
    }
}
