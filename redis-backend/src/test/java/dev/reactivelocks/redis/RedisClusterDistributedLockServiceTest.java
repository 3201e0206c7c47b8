package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.contract.DistributedLockServiceContract;
import dev.reactivelocks.testkit.servers.RedisClusterProcess;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * {@link DistributedLockService} over a Redis Cluster of three masters and three replicas started for the tests:
 * the {@link DistributedLockServiceContract} with two services, each with a cluster client and connections of its
 * own, plus what is particular to a cluster (names spread over every master, sharded wake-ups).
 */
class RedisClusterDistributedLockServiceTest extends DistributedLockServiceContract {

    private static RedisClusterProcess cluster;
    private static RedisClusterClient adminClient;
    private static StatefulRedisClusterConnection<String, String> admin;
    private static String prefix;
    private boolean plainPubSub;

    @BeforeAll
    static void setUp() {
        cluster = RedisClusterProcess.shared();
        adminClient = RedisClusterSupport.client(cluster, "rl-cluster-admin");
        admin = adminClient.connect();
        prefix = RedisTestSupport.uniquePrefix("cluster");
    }

    @AfterAll
    static void tearDown() {
        if (adminClient != null) {
            admin.close();
            RedisClusterSupport.deleteKeys(adminClient, prefix);
            RedisClusterSupport.shutdown(adminClient);
        }
    }

    /** Redis records no grant times. */
    @Override
    protected boolean storeRecordsGrantTimes() {
        return false;
    }

    @Override
    protected LockBackend newBackend(String clientName) {
        RedisClusterClient client = RedisClusterSupport.client(cluster, clientName);
        closeAfterTest(() -> RedisClusterSupport.shutdown(client));
        RedisLockConfig config = RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO).build();
        return plainPubSub ? RedisLockBackend.withPlainPubSub(client, config) : RedisLockBackend.create(client, config);
    }

    @Override
    protected long liveLeases(String name) {
        return RedisTestSupport.orZero(admin.sync().hlen(RedisTestSupport.key(prefix, name, "lock")));
    }

    @Test
    void clustersBeforeRedis7WakeWaitersWithPlainPubSub() {
        plainPubSub = true;
        DistributedLockService a = serviceA();
        DistributedLockService b = service(clientB, NO_POLL);   // only a wake-up can grant b's waiter
        LockHandle held = acquire(a, "plain");
        List<LockHandle> granted = new CopyOnWriteArrayList<>();
        Disposable waiter = b.acquire("plain", LockOptions.exclusive().timeout(TIMEOUT)).subscribe(granted::add);
        closeAfterTest(waiter::dispose);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (liveQueueEntries("plain") != 1) {   // on the test thread: the admin connection is synchronous
            assertThat(System.nanoTime()).as("b's waiter queued").isLessThan(deadline);
            Mono.delay(Duration.ofMillis(50)).block();
        }
        held.release().block(TIMEOUT);
        StepVerifier.create(Flux.interval(Duration.ofMillis(50)).filter(x -> granted.size() == 1).next())
                .expectNextCount(1).verifyComplete();
        assertThat(granted.get(0).fencingToken()).isGreaterThan(held.fencingToken());
        granted.get(0).release().block(TIMEOUT);
    }

    private long liveQueueEntries(String name) {
        return RedisTestSupport.orZero(admin.sync().zcard(RedisTestSupport.key(prefix, name, "wait")));
    }

    @Test
    void redisVersionsFrom7OnHaveShardedPubSub() {
        assertThat(WakeUps.atLeastRedis7("# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:0")).isTrue();
        assertThat(WakeUps.atLeastRedis7("# Server\r\nredis_version:10.2.0\r\n")).isTrue();
        assertThat(WakeUps.atLeastRedis7("# Server\r\nredis_version:6.2.6\r\n")).isFalse();
        assertThat(WakeUps.atLeastRedis7("# Server\r\n")).isFalse();
    }

    @Test
    void namesOnEveryMasterAreExcludedAndHandedOverByWakeUps() {
        DistributedLockService a = serviceA();
        DistributedLockService b = service(clientB, NO_POLL);   // only a wake-up can grant b's waiters
        List<String> names = new ArrayList<>();
        Set<Integer> masters = new TreeSet<>();
        for (int i = 0; masters.size() < 3 || names.size() < 12; i++) {
            String name = "spread-" + i;
            names.add(name);
            masters.add(cluster.masterOf(SlotHash.getSlot(RedisTestSupport.key(prefix, name, "lock"))));
        }
        List<LockHandle> held = new ArrayList<>();
        for (String name : names) {
            held.add(acquire(a, name));
        }
        List<LockHandle> granted = new CopyOnWriteArrayList<>();
        List<Disposable> waiters = new ArrayList<>();
        for (String name : names) {
            StepVerifier.create(b.tryAcquire(name)).as("held by a: " + name).expectComplete().verify(TIMEOUT);
            waiters.add(b.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).subscribe(granted::add));
        }
        Flux.fromIterable(held).concatMap(LockHandle::release).blockLast(TIMEOUT);
        StepVerifier.create(Flux.interval(Duration.ofMillis(50)).filter(x -> granted.size() == names.size()).next())
                .expectNextCount(1).verifyComplete();
        for (LockHandle before : held) {
            LockHandle next = granted.stream().filter(h -> h.name().equals(before.name())).findFirst().orElseThrow();
            assertThat(next.fencingToken()).isGreaterThan(before.fencingToken());
        }
        assertThat(masters).as("the names are spread over the three masters").hasSize(3);
        Flux.fromIterable(granted).concatMap(LockHandle::release).blockLast(TIMEOUT);
        waiters.forEach(Disposable::dispose);
        if (WakeUps.atLeastRedis7(admin.sync().info("server"))) {
            assertThat(admin.sync().pubsubShardChannels()).as("sharded wake channels, one per slot and backend")
                    .anyMatch(ch -> ch.startsWith(prefix + "{"));
        } else { // Redis 6.2 (the bundled server where none is installed) has no sharded pub/sub
            assertThat(admin.sync().nodes(node -> true).commands().pubsubChannels().stream()
                    .flatMap(List::stream)).as("the backends' plain wake channels, on the nodes they subscribed")
                    .anyMatch(ch -> ch.startsWith(prefix));
        }
        String epoch = prefix + "{" + KeyLayout.SlotTags.of(SlotHash.getSlot(prefix + "{" + names.get(0) + "}")) + "}:epoch";
        assertThat(admin.sync().exists(epoch)).as("one epoch per slot: %s", epoch).isEqualTo(1L);
    }
}
