package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.testkit.contract.HeldByNobodyRaces;
import dev.reactivelocks.testkit.contract.SpinRacer;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Spin-timed races of the hand-off in the release script: the release of the holder grants the lock to the head
 * of the queue in the store while that waiter leaves (cancel or timeout: its service releases its token) or
 * while its queue entry expires. Two threads are released together by a spinning flag ({@link SpinRacer}), each
 * on a name of its own; afterwards the lock must be handed on to the next waiter, never left to a waiter that
 * is gone. Leases and the surviving waiter's entry last minutes, so a leaked grant cannot hide behind expiry.
 */
class RedisHandOffRaceTest {

    private static final Duration LEASE = Duration.ofMinutes(2);
    private static final Duration KEEP_QUEUED = Duration.ofMinutes(2);
    private static final Duration WAIT = Duration.ofSeconds(30);

    private RedisClient client;
    private RedisURI uri;
    private RedisLockConfig config;
    private RedisLockBackend backend;
    private StatefulRedisConnection<String, String> admin;
    private final SpinRacer racer = new SpinRacer();
    private final String run = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);

    @BeforeEach
    void setUp() {
        client = RedisTestSupport.client();
        uri = RedisTestSupport.uri("rl-handoff-race");
        config = RedisLockConfig.builder().keyPrefix(RedisTestSupport.uniquePrefix("handoff-race"))
                .restartGrace(Duration.ZERO).build();
        backend = RedisLockBackend.create(client, uri, config);
        admin = client.connect(uri);
    }

    @AfterEach
    void tearDown() {
        racer.close();
        admin.close();
        backend.close().block(WAIT);
        RedisTestSupport.deleteKeys(client, uri, config.keyPrefix());
        TestRedis.shutdown(client);
    }

    @Test
    void aHandOffToAWaiterThatLeavesAtTheSameTimeIsHandedOnToTheNext() {
        assertThat(releaseRacingTheHeadLeaving(1_000)).isEmpty();
    }

    @Test
    @Tag("loops")
    void aHandOffToAWaiterThatLeavesAtTheSameTimeIsHandedOnToTheNext_loop() {
        assertThat(releaseRacingTheHeadLeaving(100_000)).isEmpty();
    }

    @Test
    void aReleaseRacingTheExpiryOfTheHeadsEntryLetsTheNextWaiterIn() {
        assertThat(releaseRacingTheHeadsExpiry(300)).isEmpty();
    }

    @Test
    @Tag("loops")
    void aReleaseRacingTheExpiryOfTheHeadsEntryLetsTheNextWaiterIn_loop() {
        assertThat(releaseRacingTheHeadsExpiry(20_000)).isEmpty();
    }

    /**
     * Between two services the release hands the lock off in the store to the other service's queued waiter
     * while that waiter gives up in each way Reactor users do (dispose, timeout operator, block with a timeout,
     * ...): no name is left held by nobody.
     */
    @Test
    void aHandOffBetweenServicesRacingTheWaiterGivingUpLeavesNoNameHeldByNobody() {
        assertThat(betweenServices(1_000)).isEmpty();
    }

    @Test
    @Tag("loops")
    void aHandOffBetweenServicesRacingTheWaiterGivingUpLeavesNoNameHeldByNobody_loop() {
        assertThat(betweenServices(100_000)).isEmpty();
    }

    /**
     * A holds, W and then V are queued; A's release races W leaving (its release of its token). Either W is
     * dequeued first and A's release hands the lock to V, or W is handed the lock and its release hands it on
     * to V: V must hold it, alone, with nothing queued.
     *
     * @return the names where V did not end up as the only holder
     */
    private List<String> releaseRacingTheHeadLeaving(int races) {
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < races; i++) {
            String name = "leave-" + run + "-" + i;
            BackendLease a = holdThenQueue(name, KEEP_QUEUED);
            racer.race(() -> backend.release(name, "a").block(WAIT), () -> backend.release(name, "w").block(WAIT));
            Map<String, String> leases = admin.sync().hgetall(key(name, "lock"));
            long queued = RedisTestSupport.orZero(admin.sync().hlen(key(name, "waiter")));
            if (!leases.keySet().equals(Set.of("v")) || queued != 0
                    || fencing(leases.get("v")) <= a.fencingToken()) {
                wrong.add(name + ": leases " + leases + ", " + queued + " queued");
            }
            backend.release(name, "v").block(WAIT);
        }
        return wrong;
    }

    /**
     * A holds, W is queued with an entry that expires 0-3 ms later (by the server clock), V is queued behind it;
     * A's release races that expiry. Either W's entry was dead and V is handed the lock, or W is handed a lease
     * that ends when its entry would have: V's calls, once that time has passed, must be granted (within 200
     * polls of a few ms), with a larger fencing token.
     *
     * @return the names where V was not granted
     */
    private List<String> releaseRacingTheHeadsExpiry(int races) {
        List<String> wrong = new ArrayList<>();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < races; i++) {
            String name = "expire-" + run + "-" + i;
            Duration keep = Duration.ofMillis(1 + random.nextInt(3));
            BackendLease a = holdThenQueue(name, keep);
            racer.race(() -> backend.release(name, "a").block(WAIT), () -> { });
            BackendLease v = null;
            for (int attempt = 0; v == null && attempt < 200; attempt++) {   // V's polls, until W's lease ended
                LockSupport.parkNanos(keep.plusMillis(2).toNanos());
                v = backend.acquireOrQueue(name, LockMode.EXCLUSIVE, "v", LEASE, KEEP_QUEUED).block(WAIT);
            }
            Map<String, String> leases = admin.sync().hgetall(key(name, "lock"));
            if (v == null || v.fencingToken() <= a.fencingToken() || !leases.keySet().equals(Set.of("v"))) {
                wrong.add(name + ": " + v + ", leases " + leases);
            }
            backend.release(name, "v").block(WAIT);
        }
        return wrong;
    }

    private List<String> betweenServices(int n) {
        // keepQueued (three polls and a half second) and the lease stay well above the races' settle time
        DistributedLockService holders = DistributedLockService.builder(backend).lease(LEASE).build();
        RedisLockBackend other = RedisLockBackend.create(client, uri, config);
        DistributedLockService waiters = DistributedLockService.builder(other).lease(LEASE)
                .pollInterval(Duration.ofSeconds(2)).build();
        try (HeldByNobodyRaces races = new HeldByNobodyRaces()) {
            return races.run(holders, waiters, n, HeldByNobodyRaces.Pattern.values());
        } finally {
            waiters.disposeLater().block(WAIT);
            holders.disposeLater().block(WAIT);
            other.close().block(WAIT);
        }
    }

    /** A takes {@code name}; W queues with {@code keepW}, then V with minutes: returns A's lease. */
    private BackendLease holdThenQueue(String name, Duration keepW) {
        BackendLease a = backend.tryAcquire(name, LockMode.EXCLUSIVE, "a", LEASE).block(WAIT);
        assertThat(a).as("a takes %s", name).isNotNull();
        assertThat(backend.acquireOrQueue(name, LockMode.EXCLUSIVE, "w", LEASE, keepW).block(WAIT)).isNull();
        assertThat(backend.acquireOrQueue(name, LockMode.EXCLUSIVE, "v", LEASE, KEEP_QUEUED).block(WAIT)).isNull();
        return a;
    }

    private String key(String name, String kind) {
        return RedisTestSupport.key(config.keyPrefix(), name, kind);
    }

    /** The fencing token of a stored lease {@code mode:fencing:expiresAtMillis}. */
    private static long fencing(String lease) {
        return Long.parseLong(lease.split(":")[1]);
    }
}
