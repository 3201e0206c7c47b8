package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockException;
import dev.reactivelocks.LockMode;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.test.StepVerifier;

/**
 * A backend starting, or calling, while another transaction holds a lock on its table (a migration, a
 * {@code LOCK TABLE}, a session left open in a transaction): its calls fail within a bound, with an error
 * naming the table and the blocking lock, and are not {@link LockException}s (a service tries them again
 * within its acquisition's timeout); they never wait for that transaction's end.
 */
class PostgresSchemaLockTimeoutTest {

    private static final Duration LEASE = Duration.ofSeconds(2);
    /** A liveness bound, well beyond the schema creation's five seconds. */
    private static final Duration BOUND = Duration.ofSeconds(20);

    private PostgresqlConnectionFactory direct;
    private ConnectionPool pool;
    private PostgresLockConfig config;

    @BeforeEach
    void setUp() {
        direct = PostgresTestSupport.factory("rl-pg_h-schema-lock-test");
        pool = PostgresTestSupport.pool(direct);
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("pg_h_ddl")).build();
        PostgresTestSupport.run(direct, config.ddl().toArray(String[]::new));
    }

    @AfterEach
    void tearDown() {
        PostgresTestSupport.dropSchema(direct, config);
        pool.dispose();
    }

    /**
     * The schema of an earlier version (an index missing) is brought up to date at the start, behind a
     * transaction holding the table: the creation of the index waited for that transaction's end, and every
     * call of the backend with it.
     */
    @Test
    void bringingTheSchemaUpToDateBehindAnOpenTransactionFailsWithinABound() {
        PostgresTestSupport.run(direct, "DROP INDEX " + config.localName("_queue_exclusive"));
        Disposable migration = PostgresTestSupport.inOpenTransaction(direct,
                c -> c.createStatement("LOCK TABLE " + config.queue() + " IN ACCESS EXCLUSIVE MODE"));
        try {
            assertFirstCallFailsNamingTheTable("could not be created or brought up to date");
        } finally {
            migration.dispose();
        }
        PostgresLockBackend after = PostgresLockBackend.create(pool, config);
        assertThat(after.tryAcquire("n", LockMode.EXCLUSIVE, "t", LEASE).block(BOUND))
                .as("the schema is brought up to date once the transaction ended").isNotNull();
        assertThat(PostgresTestSupport.query(direct, "SELECT to_regclass($1)::text", String.class,
                config.localName("_queue_exclusive"))).containsExactly(config.localName("_queue_exclusive"));
    }

    /** The schema is complete; the table is locked while the backend's first call runs. */
    @Test
    void aCallBehindATableLockFailsWithinItsLeaseNamingTheTable() {
        Disposable locked = PostgresTestSupport.inOpenTransaction(direct,
                c -> c.createStatement("LOCK TABLE " + config.table() + " IN ACCESS EXCLUSIVE MODE"));
        try {
            assertFirstCallFailsNamingTheTable("or on the name");
        } finally {
            locked.dispose();
        }
    }

    /**
     * A new backend's first call fails within {@link #BOUND}, not as a {@link LockException}, naming the lock, the
     * table and the lock timeout, and saying {@code what}.
     */
    private void assertFirstCallFailsNamingTheTable(String what) {
        PostgresLockBackend backend = PostgresLockBackend.create(pool, config);
        StepVerifier.create(backend.tryAcquire("n", LockMode.EXCLUSIVE, "t", LEASE))
                .expectErrorSatisfies(e -> assertThat(e).isNotInstanceOf(LockException.class)
                        .hasMessageContaining("Lock 'n'")
                        .hasMessageContaining("'" + config.table() + "'")
                        .hasMessageContaining("lock timeout")
                        .hasMessageContaining(what))
                .verify(BOUND);
    }
}