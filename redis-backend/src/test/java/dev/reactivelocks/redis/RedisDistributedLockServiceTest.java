package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.contract.RecordingSubscriber;
import dev.reactivelocks.distributed.DistributedLockService;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * {@link DistributedLockService} over Redis: two services with their own connections (as two processes
 * would have) on one key prefix, each connection named so that the test can find and kill it.
 */
class RedisDistributedLockServiceTest {

    private static final Duration LEASE = Duration.ofMillis(1500);
    private static final Duration RENEW = Duration.ofMillis(300);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration TIMEOUT = RedisTestSupport.TIMEOUT;

    private static RedisClient client;
    private static StatefulRedisConnection<String, String> admin;
    private static String prefix;

    private final List<Runnable> cleanup = new ArrayList<>();
    private String appA;
    private String appB;

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
        client.shutdown();
    }

    @BeforeEach
    void names() {
        String id = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        appA = "rl-a-" + id;
        appB = "rl-b-" + id;
    }

    @AfterEach
    void closeServices() {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).run();
        }
    }

    private DistributedLockService service(String clientName, Duration pollInterval) {
        RedisLockBackend backend = RedisLockBackend.create(client, RedisTestSupport.uri(clientName),
                RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO).build());
        DistributedLockService service = DistributedLockService.builder(backend)
                .lease(LEASE).renewEvery(RENEW).pollInterval(pollInterval).build();
        cleanup.add(() -> {
            service.disposeLater().block(TIMEOUT);
            backend.close().block(TIMEOUT);
        });
        return service;
    }

    private DistributedLockService serviceA() {
        return service(appA, POLL);
    }

    private DistributedLockService serviceB() {
        return service(appB, POLL);
    }

    private static LockHandle acquire(DistributedLockService s, String name) {
        return s.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
    }

    private static long leases(String name) {
        Long n = admin.sync().hlen(prefix + "lock:" + name);
        return n == null ? 0 : n;
    }

    @Test
    void twoServicesExcludeEachOtherAndAReleaseHandsTheLockOver() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle first = acquire(a, "job");
        StepVerifier.create(b.tryAcquire("job")).expectComplete().verify(TIMEOUT);
        List<LockHandle> granted = new ArrayList<>();
        StepVerifier.create(b.acquire("job", LockOptions.exclusive().timeout(TIMEOUT)))
                .then(() -> first.release().subscribe())
                .recordWith(() -> granted)
                .expectNextCount(1)
                .verifyComplete();
        LockHandle second = granted.get(0);
        assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
        assertThat(first.isHeld()).isFalse();
        assertThat(leases("job")).isEqualTo(1);
        second.release().block(TIMEOUT);
        assertThat(leases("job")).isZero();
    }

    @Test
    void bodiesUnderTheLockNeverOverlapAcrossServices() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        List<Long> tokens = new CopyOnWriteArrayList<>();
        Flux<Long> work = Flux.range(0, 20).flatMap(i -> (i % 2 == 0 ? a : b).withLock("counter",
                LockOptions.exclusive().timeout(TIMEOUT), handle -> {
                    maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                    tokens.add(handle.fencingToken());
                    return Mono.delay(Duration.ofMillis(10)).doOnNext(x -> inside.decrementAndGet())
                            .thenReturn(handle.fencingToken());
                }));
        StepVerifier.create(work).expectNextCount(20).verifyComplete();
        assertThat(maxInside.get()).isEqualTo(1);
        assertThat(tokens).as("grant order is fencing order").isSorted().doesNotHaveDuplicates();
    }

    @Test
    void sharedHoldersOverlapAndExclusiveWaitsForAllOfThem() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle s1 = a.acquire("doc", LockOptions.shared().timeout(TIMEOUT)).block(TIMEOUT);
        LockHandle s2 = b.acquire("doc", LockOptions.shared().timeout(TIMEOUT)).block(TIMEOUT);
        assertThat(leases("doc")).isEqualTo(2);
        StepVerifier.create(a.tryAcquire("doc", LockOptions.exclusive())).expectComplete().verify(TIMEOUT);
        StepVerifier.create(b.acquire("doc", LockOptions.exclusive().timeout(TIMEOUT)))
                .then(() -> s1.release().block(TIMEOUT))
                .expectNoEvent(Duration.ofMillis(500))
                .then(() -> s2.release().block(TIMEOUT))
                .assertNext(w -> assertThat(w.fencingToken()).isGreaterThan(Math.max(s1.fencingToken(), s2.fencingToken())))
                .verifyComplete();
    }

    @Test
    void releaseWakesAWaiterOfAnotherServiceThroughPubSubNotPolling() {
        DistributedLockService a = service(appA, Duration.ofMinutes(5));
        DistributedLockService b = service(appB, Duration.ofMinutes(5));
        LockHandle h = acquire(a, "wake");
        acquire(b, "warm-up").release().block(TIMEOUT);
        StepVerifier.create(b.acquire("wake", LockOptions.exclusive().timeout(Duration.ofSeconds(30))))
                .expectSubscription()
                .expectNoEvent(Duration.ofMillis(300))
                .then(() -> h.release().subscribe())
                .expectNextCount(1)
                .expectComplete()
                .verify(Duration.ofSeconds(5));   // far below the five-minute fallback poll
    }

    @Test
    void oneServiceUsesTwoConnectionsWhateverTheNumberOfWaitersAndNames() {
        DistributedLockService a = serviceA();
        DistributedLockService b = service(appB, Duration.ofMinutes(5));
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
        assertThat(RedisTestSupport.clientIds(admin, appB)).as("commands + pub/sub, 100 waiters on 20 names").hasSize(2);
        Flux.fromIterable(held).concatMap(LockHandle::release).blockLast(TIMEOUT);
        StepVerifier.create(Flux.interval(Duration.ofMillis(50)).filter(x -> granted.size() == 100).next())
                .expectNextCount(1).verifyComplete();
        assertThat(RedisTestSupport.clientIds(admin, appB)).hasSize(2);
        waiters.forEach(Disposable::dispose);
    }

    @Test
    void aHolderThatStopsRenewingLosesTheLockAndAWaiterTakesOver() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle dead = acquire(a, "crash");
        a.dispose();   // renewals stop, as when the process died
        StepVerifier.create(b.acquire("crash", LockOptions.exclusive().timeout(TIMEOUT)))
                .assertNext(taken -> assertThat(taken.fencingToken()).isGreaterThan(dead.fencingToken()))
                .verifyComplete();
        StepVerifier.create(dead.lost()).expectComplete().verify(TIMEOUT);
        assertThat(dead.isHeld()).isFalse();
    }

    @Test
    void staleReleaseAfterTakeoverChangesNothingForTheNewOwnerAndReportsTheLoss() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle old = acquire(a, "stale");
        // the lease runs out in Redis (as after a long pause of the holder)
        String key = prefix + "lock:stale";
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
    void releasedLockIsNotRenewedBackToLife() {
        DistributedLockService a = serviceA();
        LockHandle h = acquire(a, "released");
        h.release().block(TIMEOUT);
        Mono.delay(RENEW.multipliedBy(4)).block(TIMEOUT);
        assertThat(admin.sync().exists(prefix + "lock:released")).isZero();
    }

    @Test
    void timeoutCoversTheWholeWaitAndLeavesNoLeaseBehind() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle h = acquire(a, "slow");
        StepVerifier.create(b.acquire("slow", LockOptions.exclusive().timeout(Duration.ofMillis(700))))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockTimeoutException.class)
                        .hasMessage("Lock 'slow' (EXCLUSIVE) not acquired within 700ms"))
                .verify(TIMEOUT);
        assertThat(leases("slow")).isEqualTo(1);
        h.release().block(TIMEOUT);
        StepVerifier.create(b.tryAcquire("slow")).expectNextCount(1).verifyComplete();
    }

    @Test
    void grantsThatRaceCancellationsAreReleasedInRedis() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        List<RecordingSubscriber> subscribers = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            RecordingSubscriber s = a.acquire("race").subscribeWith(new RecordingSubscriber());
            subscribers.add(s);
            Mono.delay(Duration.ofMillis(ThreadLocalRandom.current().nextInt(5))).block(TIMEOUT);
            s.dispose();
            if (s.handle() != null) {   // delivered before the cancel: the holder releases it
                s.handle().release().block(TIMEOUT);
            }
        }
        Mono.delay(Duration.ofMillis(100)).block(TIMEOUT);
        subscribers.stream().filter(s -> s.handle() != null).forEach(s -> s.handle().release().block(TIMEOUT));
        StepVerifier.create(b.acquire("race", LockOptions.exclusive().timeout(Duration.ofMillis(1200))))
                .expectNextCount(1).verifyComplete();
    }

    @Test
    void waitersOfOneServiceAreGrantedInArrivalOrder() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle h = acquire(a, "fifo");
        List<Integer> order = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 5; i++) {
            int n = i;
            b.acquire("fifo", LockOptions.exclusive().timeout(TIMEOUT))
                    .doOnNext(x -> order.add(n))
                    .flatMap(LockHandle::release)
                    .subscribe();
        }
        h.release().block(TIMEOUT);
        StepVerifier.create(Flux.interval(Duration.ofMillis(50)).filter(x -> order.size() == 5).next())
                .expectNextCount(1).verifyComplete();
        assertThat(order).containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void killedConnectionsNeitherBreakExclusionNorStrandWaiters() {
        DistributedLockService a = service(appA, Duration.ofMinutes(5));
        DistributedLockService b = serviceB();
        LockHandle held = acquire(a, "kept");
        LockHandle other = acquire(b, "handed");
        Mono<LockHandle> waiting = a.acquire("handed", LockOptions.exclusive().timeout(TIMEOUT)).cache();
        waiting.subscribe();
        Mono.delay(Duration.ofMillis(300)).block(TIMEOUT);

        assertThat(RedisTestSupport.kill(admin, appA)).as("a's commands and pub/sub connections killed").isEqualTo(2);
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
        StepVerifier.create(waiting).expectNextCount(1).expectComplete().verify(Duration.ofSeconds(5));
        assertThat(RedisTestSupport.kill(admin, appA)).isEqualTo(2);
        StepVerifier.create(a.acquire("after", LockOptions.exclusive().timeout(TIMEOUT)))
                .as("an acquire right after a kill succeeds").expectNextCount(1).verifyComplete();
        assertThat(new String(admin.sync().get(prefix + "epoch").getBytes(StandardCharsets.US_ASCII),
                StandardCharsets.US_ASCII)).isNotEmpty();
    }
}
