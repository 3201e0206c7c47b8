package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.HandOff;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.spi.StoredLease;
import dev.reactivelocks.testkit.contract.SpinRacer;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;

/**
 * Services that name one table differently ({@code locks} resolved through the {@code search_path}, and
 * {@code public.locks}) share its functions, which each service creates or replaces at its start: whatever
 * those functions derive from the table's name must not depend on how a service spells it.
 */
class PostgresTableSpellingTest {

    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final String APPLICATION = "rl-pg_h-spelling-test";

    private PostgresqlConnectionFactory direct;
    private ConnectionPool pool;
    private PostgresLockConfig plain;
    private PostgresLockConfig qualified;

    @BeforeEach
    void setUp() {
        direct = PostgresTestSupport.factory(APPLICATION);
        pool = PostgresTestSupport.pool(direct);
        String table = PostgresTestSupport.uniqueTable("pg_h_spell");
        assertThat(PostgresTestSupport.query(direct, "SELECT current_schema()", String.class))
                .as("the test database creates unqualified tables in public").containsExactly("public");
        plain = PostgresLockConfig.builder().table(table).build();
        qualified = PostgresLockConfig.builder().table("public." + table).build();
    }

    @AfterEach
    void tearDown() {
        PostgresTestSupport.dropSchema(direct, plain);
        pool.dispose();
    }

    /**
     * A call of the service spelling the table {@code locks} is deciding on a name (held open here: its
     * transaction holds the name's lock and an uncommitted grant) when a service spelling it
     * {@code public.locks} starts, replaces the functions, and asks for the same name: it must wait for that
     * decision and then find the name held. With a key taken from the spelling, the replaced functions took
     * another advisory lock, granted the name at once, and both held it.
     */
    @Test
    void aServiceStartingWithAnotherSpellingWaitsForADecisionInProgress() {
        PostgresLockBackend first = PostgresLockBackend.create(pool, plain);
        assertThat(first.tryAcquire("warm-up", LockMode.EXCLUSIVE, "w", LEASE).block(TIMEOUT)).isNotNull();
        String name = "contended";
        Disposable inProgress = PostgresTestSupport.inOpenTransaction(direct, c -> c.createStatement(
                        "SELECT fencing FROM " + plain.table() + "_acquire($1, $2, 'EXCLUSIVE', 30000, $3, 0, 0)")
                .bind(0, PostgresLockBackend.key(name)).bind(1, "first").bind(2, StoredNames.bytes(name)));
        CompletableFuture<BackendLease> second;
        try {
            PostgresLockBackend other = PostgresLockBackend.create(pool, qualified);
            second = other.tryAcquire(name, LockMode.EXCLUSIVE, "second", LEASE).toFuture();
            awaitWaitingForAdvisoryLockOrDone(second);
        } finally {
            inProgress.dispose();
        }
        assertThat(second.orTimeout(TIMEOUT.toSeconds(), TimeUnit.SECONDS).join())
                .as("granted while the other service's grant was being decided").isNull();
        assertThat(first.inspect(name).block(TIMEOUT).leases()).extracting(StoredLease::token)
                .containsExactly("first");
    }

    /**
     * The service that created the functions last decides the channel they notify; a service spelling the
     * table otherwise must still hear the hand-offs to its waiters.
     */
    @Test
    void handOffsReachAServiceThatSpellsTheTableOtherwise() {
        PostgresLockBackend first = PostgresLockBackend.create(pool, plain);
        assertThat(first.tryAcquire("warm-up", LockMode.EXCLUSIVE, "w", LEASE).block(TIMEOUT)).isNotNull();
        CompletableFuture<String> listening = first.releases().next().toFuture();
        CompletableFuture<HandOff> handOff = first.handOffs().filter(h -> h.token().equals("waiter")).next()
                .toFuture();
        assertThat(listening.orTimeout(TIMEOUT.toSeconds(), TimeUnit.SECONDS).join())
                .isEqualTo(LockBackend.ANY_RELEASE);
        PostgresLockBackend other = PostgresLockBackend.create(pool, qualified); // replaces the functions
        assertThat(other.tryAcquire("handed", LockMode.EXCLUSIVE, "holder", LEASE).block(TIMEOUT)).isNotNull();
        assertThat(first.acquireOrQueue("handed", LockMode.EXCLUSIVE, "waiter", LEASE, Duration.ofMinutes(1))
                .block(TIMEOUT)).as("queued behind the holder").isNull();
        assertThat(other.release("handed", "holder").block(TIMEOUT)).isTrue();
        assertThat(handOff.orTimeout(TIMEOUT.toSeconds(), TimeUnit.SECONDS).join().token()).isEqualTo("waiter");
    }

    /**
     * Services with different spellings starting at once both create or replace the schema objects: their
     * creations must be serialized (one advisory lock), not fail on each other's concurrent catalog updates.
     */
    @Test
    void servicesWithDifferentSpellingsStartTogether() {
        try (SpinRacer racer = new SpinRacer()) {
            for (int i = 0; i < 40; i++) {
                PostgresLockBackend one = PostgresLockBackend.create(pool, plain);
                PostgresLockBackend two = PostgresLockBackend.create(pool, qualified);
                String name = "start-" + i;
                CompletableFuture<BackendLease> a = new CompletableFuture<>();
                CompletableFuture<BackendLease> b = new CompletableFuture<>();
                racer.race(() -> one.tryAcquire(name, LockMode.SHARED, "one", LEASE).subscribe(a::complete,
                                a::completeExceptionally, () -> a.complete(null)),
                        () -> two.tryAcquire(name, LockMode.SHARED, "two", LEASE).subscribe(b::complete,
                                b::completeExceptionally, () -> b.complete(null)));
                assertThat(a.orTimeout(TIMEOUT.toSeconds(), TimeUnit.SECONDS).join()).as("race %d", i).isNotNull();
                assertThat(b.orTimeout(TIMEOUT.toSeconds(), TimeUnit.SECONDS).join()).as("race %d", i).isNotNull();
            }
        }
    }

    /** Waits until a session of this test waits for an advisory lock, or {@code call} is done. */
    private void awaitWaitingForAdvisoryLockOrDone(CompletableFuture<?> call) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!call.isDone() && PostgresTestSupport.query(direct, "SELECT count(*) FROM pg_locks l"
                + " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND NOT l.granted"
                + " AND a.application_name = $1", Long.class, APPLICATION).get(0) == 0) {
            assertThat(System.nanoTime()).as("neither waiting nor done").isLessThan(deadline);
            Thread.onSpinWait();
        }
    }
}
