package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.contract.DistributedLockServiceContract;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * {@link DistributedLockService} over Redis: the {@link DistributedLockServiceContract} with two services,
 * each with its own connections (as two processes would have), on one key prefix, plus what is particular
 * to Redis (connections named so that the test can find and kill them, lease entries edited in place).
 */
class RedisDistributedLockServiceTest extends DistributedLockServiceContract {

    private static RedisClient client;
    private static StatefulRedisConnection<String, String> admin;
    private static String prefix;

    @BeforeAll
    static void setUp() {
        client = RedisTestSupport.client();
        admin = client.connect(RedisTestSupport.uri("rl-admin"));
        prefix = RedisTestSupport.uniquePrefix("service");
    }

    @AfterAll
    static void tearDown() {
        admin.close();
        RedisTestSupport.deleteKeys(client, RedisTestSupport.uri("rl-admin"), prefix);
        TestRedis.shutdown(client);
    }

    /** Redis records no grant times. */
    @Override
    protected boolean storeRecordsGrantTimes() {
        return false;
    }

    @Override
    protected LockBackend newBackend(String clientName) {
        return RedisLockBackend.create(client, RedisTestSupport.uri(clientName),
                RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO).build());
    }

    @Override
    protected long liveLeases(String name) {
        return RedisTestSupport.liveLeases(admin, prefix, name);
    }

    @Test
    void oneServiceUsesTwoConnectionsWhateverTheNumberOfWaitersAndNames() {
        DistributedLockService a = serviceA();
        DistributedLockService b = service(clientB, Duration.ofMinutes(5));
        List<LockHandle> held = new ArrayList<>();
        for (int n = 0; n < 20; n++) {
            held.add(acquire(a, "many-" + n));
        }
        List<LockHandle> granted = new CopyOnWriteArrayList<>();
        List<Disposable> waiters = new ArrayList<>();
        for (int n = 0; n < 20; n++) {
            for (int w = 0; w < 5; w++) {
                waiters.add(b.acquire("many-" + n, LockOptions.exclusive().timeout(TIMEOUT))
                        .flatMap(h -> { granted.add(h); return h.release(); })
                        .subscribe());
            }
        }
        Mono.delay(Duration.ofMillis(500)).block(TIMEOUT);
        assertThat(RedisTestSupport.clientIds(admin, clientB)).as("commands + pub/sub, 100 waiters on 20 names").hasSize(2);
        Flux.fromIterable(held).concatMap(LockHandle::release).blockLast(TIMEOUT);
        StepVerifier.create(Flux.interval(Duration.ofMillis(50)).filter(x -> granted.size() == 100).next())
                .expectNextCount(1).verifyComplete();
        assertThat(RedisTestSupport.clientIds(admin, clientB)).hasSize(2);
        waiters.forEach(Disposable::dispose);
    }

    @Test
    void staleReleaseAfterTakeoverChangesNothingForTheNewOwnerAndReportsTheLoss() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle old = acquire(a, "stale");
        // the lease runs out in Redis (as after a long pause of the holder)
        String key = RedisTestSupport.key(prefix, "stale", "lock");
        String token = admin.sync().hkeys(key).get(0);
        admin.sync().hset(key, token, "E:" + old.fencingToken() + ":1");
        LockHandle owner = b.tryAcquire("stale").block(TIMEOUT);
        assertThat(owner).as("taken over").isNotNull();
        old.release().block(TIMEOUT);
        StepVerifier.create(old.lost()).expectComplete().verify(TIMEOUT);
        assertThat(owner.isHeld()).isTrue();
        assertThat(admin.sync().hvals(key)).hasSize(1).allMatch(v -> v.startsWith("E:" + owner.fencingToken() + ":"));
    }

    @Test
    void killedConnectionsNeitherBreakExclusionNorStrandWaiters() {
        DistributedLockService a = service(clientA, Duration.ofMinutes(5));
        DistributedLockService b = serviceB();
        LockHandle held = acquire(a, "kept");
        LockHandle other = acquire(b, "handed");
        Mono<LockHandle> waiting = a.acquire("handed", LockOptions.exclusive().timeout(TIMEOUT)).cache();
        waiting.subscribe();
        Mono.delay(Duration.ofMillis(300)).block(TIMEOUT);

        assertThat(RedisTestSupport.kill(admin, clientA)).as("a's commands and pub/sub connections killed").isEqualTo(2);
        // the held lock: either still held (renewal recovered after the reconnection) or reported lost
        List<Long> takenByB = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            LockHandle t = b.tryAcquire("kept").block(TIMEOUT);
            if (t != null) {
                assertThat(held.isHeld()).as("b got the lock: a must know it lost it").isFalse();
                takenByB.add(t.fencingToken());
                t.release().block(TIMEOUT);
            }
            Mono.delay(LEASE.dividedBy(5)).block(TIMEOUT);
        }
        assertThat(held.isHeld()).as("renewal recovers after the reconnection").isTrue();
        assertThat(takenByB).isEmpty();

        other.release().block(TIMEOUT);   // a's waiter polls every five minutes: only pub/sub can wake it
        StepVerifier.create(waiting).expectNextCount(1).expectComplete().verify(TIMEOUT);
        assertThat(RedisTestSupport.kill(admin, clientA)).isEqualTo(2);
        StepVerifier.create(a.acquire("after", LockOptions.exclusive().timeout(TIMEOUT)))
                .as("an acquire right after a kill succeeds").expectNextCount(1).verifyComplete();
        assertThat(new String(admin.sync().get(prefix + "epoch").getBytes(StandardCharsets.US_ASCII),
                StandardCharsets.US_ASCII)).isNotEmpty();
    }
}
