package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.servers.RedisSentinelProcess;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@code SENTINEL FAILOVER} while a lock is held and waited for and three services contend for another name, on a
 * Sentinel deployment of the test's own: no two holders at once, fencing tokens never go backwards, the waiter is
 * granted or times out as asked, and the services grant locks on the new master.
 */
class RedisSentinelFailoverTest {

    private RedisSentinelProcess sentinel;
    private RedisClient client;
    private final List<Runnable> cleanup = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        RedisSentinelProcess.assumeExecutable();
        sentinel = RedisSentinelProcess.start();
        client = RedisClient.create();
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).run();
        }
        if (sentinel != null) {
            TestRedis.shutdown(client);
            sentinel.close();
        }
    }

    private DistributedLockService service(int i) {
        RedisLockBackend backend = RedisLockBackend.create(client, sentinel.uri("rl-sentinel-" + i),
                RedisLockConfig.builder().keyPrefix("rl-sentinel-failover:").restartGrace(Duration.ZERO).build());
        DistributedLockService service = DistributedLockService.builder(backend).lease(Duration.ofSeconds(3))
                .renewEvery(Duration.ofMillis(300)).pollInterval(Duration.ofMillis(200)).build();
        cleanup.add(() -> {
            service.disposeLater().block(Duration.ofSeconds(10));
            backend.close().block(Duration.ofSeconds(10));
        });
        return service;
    }

    @Test
    void failoverKeepsExclusionAndFencingAndGrantsOnTheNewMaster() throws Exception {
        List<DistributedLockService> services = List.of(service(0), service(1), service(2));
        LockHandle held = services.get(0).acquire("held").block(Duration.ofSeconds(10));
        CompletableFuture<LockHandle> waiter = services.get(1)
                .acquire("held", LockOptions.exclusive().timeout(Duration.ofSeconds(20))).toFuture();

        AtomicBoolean running = new AtomicBoolean(true);
        AtomicBoolean failedOver = new AtomicBoolean();
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        AtomicLong afterFailover = new AtomicLong();
        List<Long> tokens = new CopyOnWriteArrayList<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        CompletableFuture<Long> work = Flux.range(0, Integer.MAX_VALUE)
                .takeWhile(i -> running.get())
                .flatMap(i -> services.get(i % services.size())
                        .withLock("counter", LockOptions.exclusive().timeout(Duration.ofSeconds(15)),
                                h -> Mono.fromRunnable(() -> {
                                    if (inside.incrementAndGet() != 1) {
                                        violations.incrementAndGet();
                                    }
                                    tokens.add(h.fencingToken());   // inside the critical section: in grant order
                                    if (failedOver.get()) {
                                        afterFailover.incrementAndGet();
                                    }
                                }).then(Mono.delay(Duration.ofMillis(2)))
                                        .then(Mono.fromRunnable(inside::decrementAndGet)).thenReturn(1))
                        .onErrorResume(e -> {
                            errors.add(e);
                            return Mono.empty();
                        }), 6)
                .count().toFuture();

        Thread.sleep(1000);   // contention before the failover
        int before = sentinel.masterPort();
        int after = sentinel.failover();
        failedOver.set(true);
        Thread.sleep(4000);   // contention on the new master
        held.release().block(Duration.ofSeconds(10));
        running.set(false);
        long done = work.get(60, TimeUnit.SECONDS);

        System.out.printf("sentinel failover %d -> %d: %d bodies, %d after the failover, errors %s%n", before, after,
                done, afterFailover.get(), errors);
        assertThat(after).isNotEqualTo(before);
        assertThat(violations.get()).as("bodies that overlapped another").isZero();
        for (int i = 1; i < tokens.size(); i++) {
            assertThat(tokens.get(i)).as("fencing token of grant %d", i).isGreaterThan(tokens.get(i - 1));
        }
        assertThat(errors).allMatch(e -> e instanceof LockTimeoutException);
        assertThat(afterFailover.get()).as("bodies run on the new master").isPositive();
        try {
            LockHandle next = waiter.get(30, TimeUnit.SECONDS);
            assertThat(next.fencingToken()).isGreaterThan(held.fencingToken());
            next.release().block(Duration.ofSeconds(10));
        } catch (java.util.concurrent.ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(LockTimeoutException.class);
        }
        for (DistributedLockService s : services) {
            LockHandle h = s.acquire("fresh", LockOptions.exclusive().timeout(Duration.ofSeconds(5)))
                    .block(Duration.ofSeconds(6));
            assertThat(h.isHeld()).isTrue();
            h.release().block(Duration.ofSeconds(5));
        }
    }
}
