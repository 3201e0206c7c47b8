package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.LockUnavailableException;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.servers.RedisClusterProcess;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A client whose every connection stops carrying bytes, the open ones and every one it opens later
 * ({@link ClientFreeze}): the state a wedged Lettuce endpoint or I/O thread leaves the caller's client in. Replacing
 * the connection does not help (the replacement hangs too), so the backend must move to a client of its own with new
 * client resources, commands and pub/sub, with nobody doing anything.
 *
 * <p>Three services on one user client contend for a name, with a counter checked inside each critical section,
 * while a lock is held and two waiters queued before the wedge wait for it (one long enough to be granted after the
 * holder releases, one that must time out as asked). The client stays frozen until the end. Asserted: no two holders
 * at once; the services keep granting after the wedge; every service grants a fresh lock; the queued waiters end as
 * asked; no lease is left live after every handle was released; the user's client was not shut down and works once
 * it is no longer frozen; once the user shuts it down, no connection of the backends is left on the server (so the
 * backends shut down the clients they created). Outcomes only: every wait is bounded
 * generously.
 */
class RedisWedgedClientTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration LEASE = Duration.ofSeconds(5);
    private static final String CLIENTS = "rl-wedge-";

    private final ClientFreeze freeze = new ClientFreeze();
    private final List<Runnable> cleanup = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).run();
        }
        freeze.resources().shutdown();
    }

    @Test
    void servicesOnAWedgedStandaloneClientMoveToANewClientAndKeepGranting() {
        String prefix = RedisTestSupport.uniquePrefix("wedge");
        RedisClient user = RedisClient.create(freeze.resources());
        RedisClient admin = RedisTestSupport.client();
        StatefulRedisConnection<String, String> adminConnection = admin.connect(RedisTestSupport.uri("rl-wedge-admin"));
        cleanup.add(() -> {
            adminConnection.close();
            RedisTestSupport.deleteKeys(admin, RedisTestSupport.uri("rl-wedge-admin"), prefix);
            TestRedis.shutdown(admin);
        });
        RedisLockConfig config = config(prefix);
        String backendsName = CLIENTS + Long.toHexString(System.nanoTime());
        run(user, i -> RedisLockBackend.create(user, RedisTestSupport.uri(backendsName), config),
                () -> RedisLockBackend.create(admin, RedisTestSupport.uri("rl-wedge-admin"), config),
                () -> RedisTestSupport.clientIds(adminConnection, backendsName).size(),
                () -> "PONG".equals(user.connect(RedisTestSupport.uri("rl-wedge-user")).sync().ping()));
    }

    @Test
    void servicesOnAWedgedClusterClientMoveToANewClientAndKeepGranting() {
        RedisClusterProcess cluster = RedisClusterProcess.shared();
        String prefix = RedisTestSupport.uniquePrefix("wedge-cluster");
        RedisClusterClient user = RedisClusterClient.create(freeze.resources(), cluster.uris(CLIENTS + "user"));
        RedisClusterClient admin = RedisClusterSupport.client(cluster, "rl-wedge-admin");
        cleanup.add(() -> {
            RedisClusterSupport.deleteKeys(admin, prefix);
            RedisClusterSupport.shutdown(admin);
        });
        RedisLockConfig config = config(prefix);
        run(user, i -> RedisLockBackend.create(user, config), () -> RedisLockBackend.create(admin, config),
                () -> 0,
                () -> "PONG".equals(user.connect().sync().ping()));
    }

    /** Waits on the test thread, at most {@link #WAIT}, until {@code condition} holds; fails if it never does. */
    private static void until(BooleanSupplier condition) {
        long end = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() - end).as("waited " + WAIT + " for the condition").isNegative();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    private static RedisLockConfig config(String prefix) {
        return RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO)
                .commandTimeout(Duration.ofMillis(500)).probeInterval(Duration.ofMillis(250)).build();
    }

    /**
     * @param user the user's client, on the frozen resources
     * @param backends the backend of service {@code i}, on the user's client
     * @param inspector a backend on a client that is never frozen
     * @param ownConnections how many connections the backends hold on the server now (on a cluster, 0: the
     *        connections of the backends' own cluster client carry no client name to find them by)
     * @param userWorks whether the user's client answers on a new connection
     */
    private void run(AbstractRedisClient user, Function<Integer, RedisLockBackend> backends,
                     Supplier<RedisLockBackend> inspector, Supplier<Integer> ownConnections,
                     Supplier<Boolean> userWorks) {
        cleanup.add(() -> TestRedis.shutdown(user));   // again: harmless
        List<DistributedLockService> services = new ArrayList<>();
        List<RedisLockBackend> opened = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            RedisLockBackend backend = backends.apply(i);
            opened.add(backend);
            services.add(DistributedLockService.builder(backend).lease(LEASE).renewEvery(Duration.ofSeconds(1))
                    .pollInterval(Duration.ofMillis(200)).build());
        }
        AtomicBoolean servicesClosed = new AtomicBoolean();
        Runnable closeServices = () -> {
            if (servicesClosed.compareAndSet(false, true)) {
                for (int i = 0; i < services.size(); i++) {
                    services.get(i).disposeLater().block(WAIT);
                    opened.get(i).close().block(WAIT);
                }
            }
        };
        cleanup.add(closeServices);
        for (DistributedLockService s : services) {   // every backend has connected and answered
            s.acquire("warm-up", LockOptions.exclusive().timeout(WAIT)).flatMap(LockHandle::release).block(WAIT);
        }

        // a holder and two waiters queued in Redis before the wedge
        LockHandle holder = services.get(0).acquire("held", LockOptions.exclusive().timeout(WAIT)).block(WAIT);
        AtomicReference<Object> patient = new AtomicReference<>();
        AtomicReference<Object> impatient = new AtomicReference<>();
        services.get(1).acquire("held", LockOptions.exclusive().timeout(Duration.ofSeconds(60)))
                .subscribe(patient::set, patient::set);
        services.get(2).acquire("held", LockOptions.exclusive().timeout(Duration.ofSeconds(4)))
                .subscribe(impatient::set, impatient::set);
        RedisLockBackend inspect = inspector.get();
        cleanup.add(() -> inspect.close().block(WAIT));
        until(() -> inspect.inspect("held").map(lock -> lock.waiting().orElse(0) == 2).blockOptional(WAIT)
                .orElse(false));

        // contention on one name, across the wedge
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        AtomicLong afterWedge = new AtomicLong();
        AtomicBoolean wedged = new AtomicBoolean();
        AtomicBoolean running = new AtomicBoolean(true);
        List<Mono<Void>> loops = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            DistributedLockService s = services.get(i % services.size());
            loops.add(Mono.defer(() -> s.withLock("counter", LockOptions.exclusive().timeout(WAIT),
                            h -> Mono.fromRunnable(() -> {
                                if (inside.incrementAndGet() != 1) {
                                    violations.incrementAndGet();
                                }
                            }).then(Mono.delay(Duration.ofMillis(1))).then(Mono.fromRunnable(() -> {
                                inside.decrementAndGet();
                                if (wedged.get()) {
                                    afterWedge.incrementAndGet();
                                }
                            }))).onErrorResume(e -> Mono.empty()))
                    .repeat(running::get).then());
        }
        Mono<Void> contention = Flux.merge(loops).then().cache();
        contention.subscribe();
        Mono.delay(Duration.ofSeconds(1)).block();
        freeze.freeze();
        wedged.set(true);
        // an operation during the wedge completes on the new client, or fails clearly, within its deadline
        Object tried = services.get(0).tryAcquire("tried").map(Object.class::cast)
                .onErrorResume(e -> Mono.just(e)).defaultIfEmpty("busy").block(WAIT);
        assertThat(tried).satisfiesAnyOf(t -> assertThat(t).isInstanceOf(LockHandle.class),
                t -> assertThat(t).isInstanceOf(LockUnavailableException.class));
        if (tried instanceof LockHandle h) {
            h.release().block(WAIT);
        }
        try {
            // the services keep granting on the wedged client's replacement: a client of the backend's own
            until(() -> afterWedge.get() >= 30);
            for (int i = 0; i < services.size(); i++) {
                LockHandle fresh = services.get(i).acquire("fresh-" + i, LockOptions.exclusive().timeout(WAIT))
                        .block(WAIT);
                assertThat(fresh.isHeld()).isTrue();
                fresh.release().block(WAIT);
            }
        } finally {
            running.set(false);
        }
        contention.block(WAIT);   // every loop left its critical section (none is cancelled inside)
        assertThat(freeze.openedWhileFrozen()).as("connections the wedged client opened (which hung)").isPositive();
        assertThat(violations.get()).as("critical sections entered while another holder was inside").isZero();

        // the waiters queued before the wedge end as they asked
        until(() -> impatient.get() != null);
        assertThat(impatient.get()).isInstanceOf(LockTimeoutException.class);
        holder.release().block(WAIT);
        until(() -> patient.get() != null);
        assertThat(patient.get()).isInstanceOf(LockHandle.class);
        LockHandle granted = (LockHandle) patient.get();
        assertThat(granted.isHeld()).isTrue();
        granted.release().block(WAIT);

        // every handle released, every backend closed: nothing live is left
        closeServices.run();
        assertThat(inspect.leases().filter(RedisLeaseInfo::isLive).collectList().block(WAIT))
                .as("leases held by nobody").isEmpty();

        // the user's client was never shut down: it works again on a connection opened after the thaw
        assertThat(freeze.resources().eventExecutorGroup().isShuttingDown()).isFalse();
        freeze.thaw();
        assertThat(userWorks.get()).isTrue();

        // once the user shuts the wedged client down, nothing the backends opened is left on the server (a
        // connection the wedged client opened but never handed over can only go with the client)
        TestRedis.shutdown(user);
        until(() -> ownConnections.get() == 0);
    }
}
