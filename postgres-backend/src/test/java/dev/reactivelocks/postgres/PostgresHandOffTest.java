package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.contract.HeldByNobodyRaces;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.Wrapped;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * Hand-offs between services (each on a backend of its own, as separate processes would be): what one
 * costs in statements and connections, and its races with waiters that give up. Leases are two minutes
 * long and queue entries outlive {@link HeldByNobodyRaces}' settling time, so a grant or entry left
 * behind is found instead of expiring.
 */
class PostgresHandOffTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private PostgresqlConnectionFactory factory;
    private ConnectionPool pool;
    private PostgresLockConfig config;
    private final List<PostgresLockBackend> backends = new ArrayList<>();
    private final List<DistributedLockService> services = new ArrayList<>();

    @BeforeEach
    void setUp() {
        factory = PostgresTestSupport.factory("rl-handoff");
        pool = PostgresTestSupport.pool(factory);
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("handoff")).build();
    }

    @AfterEach
    void tearDown() {
        services.forEach(s -> s.disposeLater().block(WAIT));
        backends.forEach(b -> b.close().block(WAIT));
        pool.disposeLater().block(WAIT);
        PostgresTestSupport.dropSchema(factory, config);
    }

    private DistributedLockService service(ConnectionFactory connections) {
        PostgresLockBackend backend = PostgresLockBackend.create(connections, config);
        backends.add(backend);
        DistributedLockService service = DistributedLockService.builder(backend).lease(Duration.ofMinutes(2))
                .pollInterval(Duration.ofSeconds(5)).build();
        services.add(service);
        return service;
    }

    @Test
    void aHandOffIsOneStatementOfTheReleaserAndTakesNoConnectionFromTheFactory() {
        CountingFactory first = new CountingFactory(pool);
        CountingFactory second = new CountingFactory(pool);
        DistributedLockService a = service(first);
        DistributedLockService b = service(second);
        String name = "handoff-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        handOff(b, a, name); // each service has now taken a hand-off, so each listens
        handOff(a, b, name);

        LockHandle held = a.acquire(name).block(WAIT);
        Mono<LockHandle> waiting = b.acquire(name).cache();
        waiting.subscribe();
        awaitQueued(a, name);
        int statements = first.statements.get();
        int connections = first.connections.get() + second.connections.get();

        held.release().block(WAIT);
        LockHandle granted = waiting.block(WAIT);

        assertThat(granted.fencingToken()).isGreaterThan(held.fencingToken());
        assertThat(first.statements.get() - statements).as("statements of the release").isEqualTo(1);
        assertThat(first.connections.get() + second.connections.get() - connections)
                .as("connections taken from the factory").isZero();
        granted.release().block(WAIT);
    }

    @Test
    void eachOperationAloneTakesAtMostOneConnectionFromTheFactory() {
        CountingFactory counting = new CountingFactory(pool);
        PostgresLockBackend backend = PostgresLockBackend.create(counting, config); // no service: nobody listens
        backends.add(backend);
        String name = "alone-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        backend.release(name, "nobody").block(WAIT); // creates the schema objects on the way
        int connections = counting.connections.get();

        int operations = 10;
        for (int i = 0; i < operations; i++) {
            assertThat(backend.release(name, "nobody").block(WAIT)).isFalse();
        }

        // one at a time: a lane is opened for an operation only when no lane is starting for it already
        assertThat(counting.connections.get() - connections).as("connections taken from the factory")
                .isLessThanOrEqualTo(operations);
    }

    /** {@code holder} takes {@code name}, {@code waiter} queues for it and is handed it by the release. */
    private static void handOff(DistributedLockService holder, DistributedLockService waiter, String name) {
        LockHandle held = holder.acquire(name).block(WAIT);
        Mono<LockHandle> waiting = waiter.acquire(name).cache();
        waiting.subscribe();
        awaitQueued(holder, name);
        held.release().block(WAIT);
        waiting.block(WAIT).release().block(WAIT);
    }

    private static void awaitQueued(DistributedLockService service, String name) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (service.inspect(name).block(WAIT).waiting().orElse(0) < 1) {
            assertThat(System.nanoTime()).as("waiter queued in time").isLessThan(deadline);
        }
    }

    @Test
    void releasesHandingOffToWaitersThatGiveUpLeaveNoNameHeldByNobody() {
        DistributedLockService holders = service(pool);
        DistributedLockService waiters = service(pool);
        try (HeldByNobodyRaces races = new HeldByNobodyRaces()) {
            assertThat(races.run(holders, waiters, 1_000, HeldByNobodyRaces.Pattern.values())).isEmpty();
        }
    }

    @Test
    @Tag("loops")
    void releasesHandingOffToWaitersThatGiveUpLeaveNoNameHeldByNobody_loop() {
        DistributedLockService holders = service(pool);
        DistributedLockService waiters = service(pool);
        try (HeldByNobodyRaces races = new HeldByNobodyRaces()) {
            assertThat(races.run(holders, waiters, 50_000, HeldByNobodyRaces.Pattern.values())).isEmpty();
        }
    }

    /** Counts the connections it creates and the statements created on them; otherwise the pool's. */
    private static final class CountingFactory implements ConnectionFactory {
        final AtomicInteger connections = new AtomicInteger();
        final AtomicInteger statements = new AtomicInteger();
        private final ConnectionFactory delegate;

        CountingFactory(ConnectionFactory delegate) {
            this.delegate = delegate;
        }

        @Override
        public Publisher<? extends Connection> create() {
            return Mono.from(delegate.create()).map(c -> {
                connections.incrementAndGet();
                return counting(c);
            });
        }

        private Connection counting(Connection c) {
            return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                    new Class<?>[] {Connection.class, Wrapped.class}, (proxy, method, args) -> {
                        if (method.getName().equals("unwrap") && method.getParameterCount() == 0) {
                            return c;
                        }
                        if (method.getName().equals("createStatement")) {
                            statements.incrementAndGet();
                        }
                        try {
                            return method.invoke(c, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return delegate.getMetadata();
        }
    }
}
