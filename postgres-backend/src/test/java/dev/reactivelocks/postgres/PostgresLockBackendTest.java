package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.spi.StoredLease;
import dev.reactivelocks.spi.StoredLock;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.R2dbcException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * What {@link PostgresLockBackend} does beyond the SPI rules ({@link PostgresLockBackendContractTest}): its table, the
 * database clock, purging, DDL and configuration errors, against the real server.
 */
class PostgresLockBackendTest {

    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private static PostgresqlConnectionFactory direct;
    private static ConnectionPool factory;
    private static PostgresLockConfig config;
    private static PostgresLockBackend backend;

    @BeforeAll
    static void setUp() {
        direct = PostgresTestSupport.factory("rl-backend-test");
        factory = PostgresTestSupport.pool(direct);
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("backend")).build();
        backend = PostgresLockBackend.create(factory, config);
    }

    @AfterAll
    static void tearDown() {
        backend.close().block();
        PostgresTestSupport.dropSchema(factory, config);
        factory.dispose();
    }

    private static BackendLease acquire(String name, LockMode mode, String token) {
        return backend.tryAcquire(name, mode, token, LEASE).block(TIMEOUT);
    }

    @Test
    void createsItsTableOnFirstUseAndAgainIsHarmless() {
        PostgresLockConfig other = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("create")).build();
        try {
            PostgresLockBackend first = PostgresLockBackend.create(factory, other);
            PostgresLockBackend second = PostgresLockBackend.create(factory, other);
            StepVerifier.create(Mono.zip(first.tryAcquire("a", LockMode.EXCLUSIVE, "t1", LEASE),
                            second.tryAcquire("b", LockMode.EXCLUSIVE, "t2", LEASE)))
                    .assertNext(t -> assertThat(t.getT2().fencingToken()).isNotEqualTo(t.getT1().fencingToken()))
                    .verifyComplete();
            assertThat(PostgresTestSupport.query(factory, "SELECT count(*) FROM " + other.table(), Long.class))
                    .containsExactly(2L);
        } finally {
            PostgresTestSupport.dropSchema(factory, other);
        }
    }

    @Test
    void fencingTokensKeepIncreasingOverATableDroppedAndCreatedAgain() {
        PostgresLockConfig other = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("again")).build();
        try {
            long before = PostgresLockBackend.create(factory, other)
                    .tryAcquire("fenced", LockMode.EXCLUSIVE, "first", LEASE).block(TIMEOUT).fencingToken();
            PostgresTestSupport.dropSchema(factory, other);
            long after = PostgresLockBackend.create(factory, other)
                    .tryAcquire("fenced", LockMode.EXCLUSIVE, "second", LEASE).block(TIMEOUT).fencingToken();
            assertThat(after).as("a resource fenced by the first grant accepts the next").isGreaterThan(before);
        } finally {
            PostgresTestSupport.dropSchema(factory, other);
        }
    }

    /**
     * A release waits for the name's lock only boundedly, as every other call does: one waiting forever behind
     * a frozen transaction held its connection forever, and a few of them stopped every operation of the
     * backend (renewals included, so every lock it held was lost).
     */
    @Test
    void aReleaseBehindAFrozenTransactionOnTheNameFailsInsteadOfWaitingForever() {
        acquire("frozen", LockMode.EXCLUSIVE, "holder");
        Disposable frozen = PostgresTestSupport.holdNameLock(direct, config, "frozen");
        try {
            StepVerifier.create(backend.release("frozen", "holder"))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(R2dbcException.class)
                            .hasMessageContaining("lock timeout"))
                    .verify(Duration.ofSeconds(30));
        } finally {
            frozen.dispose();
        }
        assertThat(backend.release("frozen", "holder").block(TIMEOUT)).isTrue();
    }

    /**
     * A backend starting on a table that exists takes no table lock: {@code CREATE INDEX IF NOT EXISTS} takes
     * a share lock even when the index exists, so it waited behind every open transaction writing the
     * table, and every write of every client queued behind it (a frozen one froze all locking).
     */
    @Test
    void aBackendStartingOnAnExistingTableDoesNotWaitForTransactionsWritingIt() {
        backend.inspect("exists").block(TIMEOUT);   // the table exists
        Disposable writer = PostgresTestSupport.inOpenTransaction(direct,
                c -> c.createStatement("LOCK TABLE " + config.queue() + ", " + config.table() + " IN ROW EXCLUSIVE MODE"));
        try {
            PostgresLockBackend starting = PostgresLockBackend.create(factory, config);
            StepVerifier.create(starting.tryAcquire("starting", LockMode.EXCLUSIVE, "s", LEASE))
                    .expectNextCount(1).expectComplete().verify(TIMEOUT);
            assertThat(starting.release("starting", "s").block(TIMEOUT)).isTrue();
        } finally {
            writer.dispose();
        }
    }

    @Test
    void anAcquireRepeatedWithTheSameTokenKeepsOneRow() {
        acquire("idem", LockMode.EXCLUSIVE, "tok");
        acquire("idem", LockMode.EXCLUSIVE, "tok");
        assertThat(PostgresTestSupport.query(factory, "SELECT count(*) FROM " + config.table()
                + " WHERE token = 'tok'", Long.class)).containsExactly(1L);
    }

    @Test
    void aTakenOverLeaseLeavesOnlyTheRowOfItsNewOwner() {
        backend.tryAcquire("exp", LockMode.EXCLUSIVE, "old", Duration.ofSeconds(1)).block(TIMEOUT);
        assertThat(Mono.delay(Duration.ofMillis(1500))
                .then(backend.tryAcquire("exp", LockMode.EXCLUSIVE, "new", LEASE)).block(TIMEOUT)).isNotNull();
        assertThat(PostgresTestSupport.query(factory, "SELECT token FROM " + config.table()
                + " WHERE token IN ('old', 'new')", String.class)).containsExactly("new");
    }

    @Test
    void leaseTimesComeFromTheDatabaseClock() {
        backend.tryAcquire("clock", LockMode.EXCLUSIVE, "clk", Duration.ofMillis(1500)).block(TIMEOUT);
        List<Double> leaseMillis = PostgresTestSupport.query(factory, "SELECT extract(epoch FROM expires_at - acquired_at)"
                + " * 1000 FROM " + config.table() + " WHERE token = 'clk'", Double.class);
        List<Double> skew = PostgresTestSupport.query(factory, "SELECT abs(extract(epoch FROM acquired_at - now()))"
                + " FROM " + config.table() + " WHERE token = 'clk'", Double.class);
        assertThat(leaseMillis).containsExactly(1500.0);
        assertThat(skew.get(0)).isLessThan(5.0);
    }

    @Test
    void namesOfAnyCharactersAndLengthAreStoredVerbatim() {
        String quotes = "it's \"quoted\"; DROP TABLE " + config.table() + "; --";
        String emoji = "lock-\uD83D\uDD12-\u00e9";
        String huge = "x".repeat(10 * 1024) + "\u0000" + "y".repeat(100);
        for (String name : List.of(quotes, emoji, huge)) {
            assertThat(acquire(name, LockMode.EXCLUSIVE, "first")).as("free: %s", name.length()).isNotNull();
            assertThat(acquire(name, LockMode.EXCLUSIVE, "second")).as("held: %s", name.length()).isNull();
            byte[] stored = PostgresTestSupport.query(factory, "SELECT name FROM " + config.table()
                    + " WHERE lock_key = $1", java.nio.ByteBuffer.class, (Object) PostgresLockBackend.key(name))
                    .get(0).array();
            assertThat(new String(stored, StandardCharsets.UTF_8)).isEqualTo(name);
            assertThat(backend.release(name, "first").block(TIMEOUT)).isTrue();
        }
    }

    /**
     * A name with half a surrogate pair (a string cut inside an emoji) is listed as itself, apart from the
     * name that UTF-8 would turn it into ({@code '?'} in its place), and found by its own prefix.
     */
    @Test
    void namesWithLoneSurrogatesAreListedAsThemselvesApartFromLookAlikes() {
        String lone = "lone-\uD83D";
        String lookAlike = "lone-?";
        acquire(lone, LockMode.EXCLUSIVE, "half");
        acquire(lookAlike, LockMode.EXCLUSIVE, "mark");
        try {
            assertThat(backend.locks("lone-").collectList().block(TIMEOUT))
                    .extracting(StoredLock::name).containsExactlyInAnyOrder(lone, lookAlike);
            assertThat(backend.locks(lone).collectList().block(TIMEOUT))
                    .extracting(StoredLock::name).containsExactly(lone);
            assertThat(backend.inspect(lone).block(TIMEOUT).leases()).extracting(StoredLease::token)
                    .containsExactly("half");
        } finally {
            backend.release(lone, "half").block(TIMEOUT);
            backend.release(lookAlike, "mark").block(TIMEOUT);
        }
    }

    @Test
    void purgeRemovesOnlyRowsExpiredLongerThanTheThreshold() {
        PostgresLockConfig other = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("purge")).build();
        try {
            PostgresLockBackend b = PostgresLockBackend.create(factory, other);
            b.tryAcquire("live", LockMode.EXCLUSIVE, "l", LEASE).block(TIMEOUT);
            b.tryAcquire("dead1", LockMode.EXCLUSIVE, "d1", Duration.ofMillis(1)).block(TIMEOUT);
            b.tryAcquire("dead2", LockMode.SHARED, "d2", Duration.ofMillis(1)).block(TIMEOUT);
            Long purged = Mono.delay(Duration.ofMillis(200))
                    .then(PostgresLockBackend.purgeExpired(factory, other, Duration.ofHours(1))).block(TIMEOUT);
            assertThat(purged).isZero();
            assertThat(PostgresLockBackend.purgeExpired(factory, other, Duration.ofMillis(100)).block(TIMEOUT))
                    .isEqualTo(2L);
            assertThat(PostgresTestSupport.query(factory, "SELECT token FROM " + other.table(), String.class))
                    .containsExactly("l");
        } finally {
            PostgresTestSupport.dropSchema(factory, other);
        }
    }

    @Test
    void ddlRunByHandServesABackendThatCreatesNothingAndDropDdlLeavesNoObjectBehind() {
        String table = PostgresTestSupport.uniqueTable("manual");
        PostgresLockConfig manual = PostgresLockConfig.builder().table(table).createTable(false).build();
        String objects = "SELECT count(*) FROM pg_class WHERE relname LIKE '" + table + "%'";
        String functions = "SELECT count(*) FROM pg_proc WHERE proname LIKE '" + table + "%'";
        try {
            PostgresTestSupport.run(factory, manual.ddl().toArray(String[]::new));
            PostgresLockBackend b = PostgresLockBackend.create(factory, manual);
            BackendLease lease = b.tryAcquire("n", LockMode.EXCLUSIVE, "t", LEASE).block(TIMEOUT);
            assertThat(lease).isNotNull();
            assertThat(b.release("n", "t").block(TIMEOUT)).isTrue();
            b.close().block(TIMEOUT);
        } finally {
            PostgresTestSupport.run(factory, manual.dropDdl().toArray(String[]::new));
        }
        assertThat(PostgresTestSupport.query(factory, objects, Long.class)).containsExactly(0L);
        assertThat(PostgresTestSupport.query(factory, functions, Long.class)).containsExactly(0L);
    }

    @Test
    void missingTableWithoutCreationIsAPermanentConfigurationError() {
        PostgresLockBackend b = PostgresLockBackend.create(factory,
                PostgresLockConfig.builder().table("rl_missing_table").createTable(false).build());
        StepVerifier.create(b.tryAcquire("n", LockMode.EXCLUSIVE, "t", LEASE))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                        .hasMessageContaining("Lock 'n': the PostgreSQL lock table 'rl_missing_table' is not usable"))
                .verify(TIMEOUT);
    }

    @Test
    void tableNamesAreValidatedBecauseTheyAreNotParameters() {
        assertThatThrownBy(() -> PostgresLockConfig.builder().table("locks; DROP TABLE x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("table must be a lower-case identifier")
                .hasMessageEndingWith("was 'locks; DROP TABLE x'");
        assertThat(PostgresLockConfig.builder().table("app.locks").build().table()).isEqualTo("app.locks");
    }

    @Test
    void reservedWordsOfTheServerAreRefusedAsTableAndSchemaNames() {
        List<String> reserved = PostgresTestSupport.query(factory,
                "SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')", String.class);
        assertThat(reserved).contains("order", "user", "table");
        for (String word : reserved) {
            for (String table : List.of(word, word + ".locks", "app." + word)) {
                assertThatThrownBy(() -> PostgresLockConfig.builder().table(table)).as(table)
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("table must not be a reserved word of PostgreSQL ('" + word
                                + "' would need quotes), was '" + table + "'");
            }
        }
        assertThat(PostgresLockConfig.builder().table("orders.user_locks").build().table())
                .isEqualTo("orders.user_locks");
    }

    @Test
    void releaseNotifiesNothingWhenNobodyIsQueued() {
        String quiet = "notify-\u0000-quiet";
        String busy = "notify-\u0000-busy";
        acquire(quiet, LockMode.EXCLUSIVE, "q");
        acquire(busy, LockMode.EXCLUSIVE, "b");
        assertThat(backend.acquireOrQueue(busy, LockMode.SHARED, "next-b", LEASE, LEASE).block(TIMEOUT)).isNull();
        StepVerifier.create(backend.releases())
                .expectNext(LockBackend.ANY_RELEASE)   // listening
                .then(() -> backend.release(quiet, "q").then(backend.release(busy, "b")).subscribe())
                .expectNext("next-b")                  // the first notification after both releases
                .thenCancel()
                .verify(TIMEOUT);
        assertThat(backend.release(busy, "next-b").block(TIMEOUT)).isTrue();
    }
}
