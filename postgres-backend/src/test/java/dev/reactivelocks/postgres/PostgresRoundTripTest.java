package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.distributed.DistributedLockService;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * What an operation costs the server, counted on the wire ({@link WireCounter}) against the real server: round
 * trips, statements, statements prepared, transactions and connections opened, for an uncontended acquire +
 * release and for a hand-off between two services (each on a backend of its own, as two processes would be).
 * The counts are those the backend reaches; a change that adds a round trip to either path fails here.
 */
class PostgresRoundTripTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration SETTLE = Duration.ofMillis(200);

    private WireCounter wire;
    private PostgresqlConnectionFactory admin;
    private ConnectionPool pool;
    private PostgresLockConfig config;
    private final List<PostgresLockBackend> backends = new ArrayList<>();
    private final List<DistributedLockService> services = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        wire = new WireCounter();
        admin = PostgresTestSupport.factory("rl-round-trips");
        pool = PostgresTestSupport.pool(wire.connectionFactory("rl-round-trips"));
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("trips")).build();
    }

    @AfterEach
    void tearDown() throws IOException {
        services.forEach(s -> s.disposeLater().block(WAIT));
        backends.forEach(b -> b.close().block(WAIT));
        pool.disposeLater().block(WAIT);
        wire.close();
        PostgresTestSupport.dropSchema(admin, config);
    }

    private DistributedLockService service() {
        PostgresLockBackend backend = PostgresLockBackend.create(pool, config);
        backends.add(backend);
        DistributedLockService service = DistributedLockService.builder(backend).lease(Duration.ofMinutes(2))
                .pollInterval(Duration.ofSeconds(5)).build();
        services.add(service);
        return service;
    }

    private static String name(String prefix) {
        return prefix + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    }

    @Test
    void anUncontendedAcquireAndReleaseIsTwoRoundTripsOnTheListeningConnection() {
        DistributedLockService service = service();
        String name = name("alone");
        // schema, LISTEN, prepared statements: all before the count. Until the listening connection is attached,
        // the calls run on pooled connections and prepare their statements there; on a loaded machine that can
        // take longer than a fixed number of warm-up calls, so warm up until a call neither parses nor connects.
        warmUp(() -> service.withLock(name, Mono.just(1)).block(WAIT));
        WireCounter.Counts before = quiet();

        LockHandle held = service.acquire(name).block(WAIT);
        held.release().block(WAIT);

        WireCounter.Counts expected = new WireCounter.Counts(0, 2, 2, 0, 2);
        assertThat(settled(before, expected)).as("acquire + release").isEqualTo(expected);
    }

    @Test
    void aHandOffIsOneRoundTripOfTheReleaser() {
        DistributedLockService a = service();
        DistributedLockService b = service();
        String name = name("handoff");
        warmUp(() -> { // both listen, both have taken a hand-off: prepared statements everywhere
            handOff(a, b, name);
            handOff(b, a, name);
        });

        LockHandle held = a.acquire(name).block(WAIT);
        WireCounter.Counts beforeQueue = quiet();
        Mono<LockHandle> waiting = b.acquire(name).cache();
        waiting.subscribe();
        awaitQueued(name);
        WireCounter.Counts oneCall = new WireCounter.Counts(0, 1, 1, 0, 1);
        WireCounter.Counts queued = settled(beforeQueue, oneCall);
        WireCounter.Counts beforeRelease = quiet();
        held.release().block(WAIT);
        LockHandle granted = waiting.block(WAIT);
        WireCounter.Counts handOff = settled(beforeRelease, oneCall);

        assertThat(granted.fencingToken()).isGreaterThan(held.fencingToken());
        assertThat(queued).as("the waiter's call answered 'queued'").isEqualTo(oneCall);
        assertThat(handOff).as("release handing off + grant").isEqualTo(oneCall);
        granted.release().block(WAIT);
    }

    /**
     * Runs {@code call} at least three times, and again (at most 50 times in all) until a run of it parsed no
     * statement and opened no connection: the statements it sends are prepared on the connection it will use.
     */
    private void warmUp(Runnable call) {
        for (int i = 0; i < 50; i++) {
            WireCounter.Counts before = quiet();
            call.run();
            WireCounter.Counts used = quiet().minus(before);
            if (i >= 2 && used.parsed() == 0 && used.connections() == 0) {
                return;
            }
        }
    }

    /**
     * The counts since {@code before}, once they reach {@code expected} or after a second: a caller hears its
     * answer from the row before the server's {@code ReadyForQuery} that ends the transaction has passed the
     * relay, so the last message of an operation may be counted just after the operation completed. Counts
     * only grow: a count past {@code expected} stays wrong.
     */
    private WireCounter.Counts settled(WireCounter.Counts before, WireCounter.Counts expected) {
        long deadline = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        WireCounter.Counts used = wire.counts().minus(before);
        while (!used.equals(expected) && System.nanoTime() < deadline) {
            Thread.onSpinWait();
            used = wire.counts().minus(before);
        }
        return used;
    }

    /**
     * The counts once they stopped changing for 100 ms (at most 2 s): the last messages of the operations
     * before may still be on their way through the relay when their callers have their answers.
     */
    private WireCounter.Counts quiet() {
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        WireCounter.Counts last = wire.counts();
        long stableSince = System.nanoTime();
        while (System.nanoTime() - stableSince < Duration.ofMillis(100).toNanos() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
            WireCounter.Counts now = wire.counts();
            if (!now.equals(last)) {
                last = now;
                stableSince = System.nanoTime();
            }
        }
        return last;
    }

    /** {@code holder} takes {@code name}, {@code waiter} queues for it and is handed it by the release. */
    private void handOff(DistributedLockService holder, DistributedLockService waiter, String name) {
        LockHandle held = holder.acquire(name).block(WAIT);
        Mono<LockHandle> waiting = waiter.acquire(name).cache();
        waiting.subscribe();
        awaitQueued(name);
        held.release().block(WAIT);
        waiting.block(WAIT).release().block(WAIT);
    }

    /**
     * Waits, on a connection of its own, until the name has a waiter queued in the store, then a little more: the
     * waiter has heard the answer and sleeps (a hand-off arriving before would only wake it, which costs a call).
     */
    private void awaitQueued(String name) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (PostgresTestSupport.query(admin, "SELECT count(*) FROM " + config.queue() + " WHERE lock_key = $1",
                Long.class, PostgresLockBackend.key(name)).get(0) < 1) {
            assertThat(System.nanoTime()).as("waiter queued in time").isLessThan(deadline);
        }
        try {
            Thread.sleep(SETTLE.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
