package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Long run (profile {@code -Ploops}): four services with their own connections hammer one name, shared and
 * exclusive, while their connections are killed at random ({@code CLIENT KILL}); exclusion must hold
 * throughout and every body must finish.
 */
@Tag("loops")
class RedisExclusionStressTest {

    @Test
    void exclusionHoldsUnderClientKills_loop() {
        RedisClient client = RedisTestSupport.client();
        StatefulRedisConnection<String, String> admin = client.connect(RedisTestSupport.uri("rl-stress-admin"));
        RedisLockConfig config = RedisLockConfig.builder().keyPrefix(RedisTestSupport.uniquePrefix("stress"))
                .restartGrace(Duration.ZERO).build();
        List<Runnable> cleanup = new ArrayList<>();
        List<DistributedLockService> services = new ArrayList<>();
        List<String> apps = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String app = "rl-stress-" + i + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffL);
            RedisLockBackend backend = RedisLockBackend.create(client, RedisTestSupport.uri(app), config);
            DistributedLockService s = DistributedLockService.builder(backend).lease(Duration.ofSeconds(3))
                    .renewEvery(Duration.ofMillis(300)).pollInterval(Duration.ofMillis(200)).build();
            services.add(s);
            apps.add(app);
            cleanup.add(() -> {
                s.disposeLater().block(Duration.ofSeconds(10));
                backend.close().block(Duration.ofSeconds(10));
            });
        }
        AtomicInteger exclusive = new AtomicInteger();
        AtomicInteger shared = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        Disposable chaos = Flux.interval(Duration.ofMillis(300), Schedulers.boundedElastic())
                .doOnNext(i -> RedisTestSupport.kill(admin, apps.get((int) (i % apps.size()))))
                .subscribe(null, e -> { });
        try {
            long done = Flux.range(0, 2000).flatMap(i -> {
                DistributedLockService s = services.get(i % services.size());
                boolean write = i % 3 == 0;
                return s.withLock("stress", (write ? LockOptions.exclusive() : LockOptions.shared())
                                .timeout(Duration.ofSeconds(60)), h -> Mono.fromRunnable(() -> {
                            if (write) {
                                if (exclusive.incrementAndGet() != 1 || shared.get() != 0) {
                                    violations.incrementAndGet();
                                }
                            } else if (shared.incrementAndGet() < 1 || exclusive.get() != 0) {
                                violations.incrementAndGet();
                            }
                        }).then(Mono.delay(Duration.ofMillis(1))).then(Mono.fromRunnable(() -> {
                            if (write) {
                                exclusive.decrementAndGet();
                            } else {
                                shared.decrementAndGet();
                            }
                        })).thenReturn(1))
                        .onErrorResume(e -> Mono.empty());
            }, 24).count().block(Duration.ofMinutes(5));
            assertThat(violations.get()).isZero();
            assertThat(done).as("bodies completed").isGreaterThan(1900);
        } finally {
            chaos.dispose();
            for (int i = cleanup.size() - 1; i >= 0; i--) {
                cleanup.get(i).run();
            }
            admin.close();
            RedisTestSupport.deleteKeys(client, RedisTestSupport.uri("rl-stress-admin"), config.keyPrefix());
            client.shutdown();
        }
    }
}
