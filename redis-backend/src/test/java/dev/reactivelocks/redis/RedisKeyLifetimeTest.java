package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.testkit.servers.RedisServerProcess;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.KeyScanArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanStream;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Issue 17: a name's keys do not outlive its last holder and waiter by more than a bound (one lease, or the
 * waiter's {@code keepQueued} if longer), and fencing tokens still increase per name after its keys are gone.
 * Before, each name ever locked left its fencing counter behind forever. Runs on a server of its own so that it can
 * count every key ({@code DBSIZE}, expired keys not yet reclaimed included).
 */
class RedisKeyLifetimeTest {

    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    private RedisServerProcess server;
    private RedisClient client;
    private StatefulRedisConnection<String, String> admin;
    private RedisLockBackend backend;

    @BeforeEach
    void startServer() throws Exception {
        server = RedisServerProcess.start();
        client = RedisClient.create();
        admin = client.connect(server.uri("rl-lifetime-admin"));
        backend = RedisLockBackend.create(client, server.uri("rl-lifetime"),
                RedisLockConfig.builder().keyPrefix("lifetime:").restartGrace(Duration.ZERO).build());
    }

    @AfterEach
    void stopServer() throws Exception {
        backend.close().block(TIMEOUT);
        admin.close();
        TestRedis.shutdown(client);
        server.close();
    }

    /**
     * Locks each name once, in one of four ways: acquired and released; acquired by a holder that vanishes (its
     * lease expires); shared by two holders of which one releases; held while a waiter queues and vanishes.
     */
    private Mono<Long> lockOnce(int i, Duration lease) {
        String name = "order-" + i;
        String token = "t" + i;
        return switch (i % 4) {
            case 0 -> backend.tryAcquire(name, LockMode.EXCLUSIVE, token, lease)
                    .flatMap(l -> backend.release(name, token).thenReturn(l.fencingToken()));
            case 1 -> backend.tryAcquire(name, LockMode.EXCLUSIVE, token, lease).map(BackendLease::fencingToken);
            case 2 -> backend.tryAcquire(name, LockMode.SHARED, token, lease)
                    .flatMap(l -> backend.tryAcquire(name, LockMode.SHARED, token + "b", lease)
                            .then(backend.release(name, token)).thenReturn(l.fencingToken()));
            default -> backend.tryAcquire(name, LockMode.EXCLUSIVE, token, lease)
                    .flatMap(l -> backend.acquireOrQueue(name, LockMode.EXCLUSIVE, token + "w", lease, lease)
                            .then(backend.release(name, token)).thenReturn(l.fencingToken()));
        };
    }

    private long keysByScan() {
        Long n = ScanStream.scan(admin.reactive(), KeyScanArgs.Builder.limit(1000).match("lifetime:{*")).count()
                .block(TIMEOUT);
        return n == null ? 0 : n;
    }

    /**
     * Locks {@code names} names once each with {@code lease} (and {@code keepQueued}), which must outlast the
     * locking, then counts the keys left one lease after the last call.
     */
    private void namesLeaveAtMostOnePercentOfTheirKeys(int names, Duration lease) {
        Map<Integer, Long> tokens = new ConcurrentHashMap<>();
        long started = System.nanoTime();
        Flux.range(0, names).flatMap(i -> lockOnce(i, lease).doOnNext(t -> tokens.put(i, t)), 64).blockLast(TIMEOUT);
        long lockedAt = System.nanoTime();
        long created = keysByScan();
        assertThat(tokens).hasSize(names);

        Duration bound = lease;
        Mono.delay(bound.plusMillis(100).minusNanos(System.nanoTime() - lockedAt)).block();
        long logical = keysByScan();
        long physical = admin.sync().dbsize() - 1;   // the epoch key stays
        long reclaimedAt = System.nanoTime();
        while (physical > names / 100 && System.nanoTime() - reclaimedAt < Duration.ofSeconds(30).toNanos()) {
            Mono.delay(Duration.ofMillis(100)).block();
            physical = admin.sync().dbsize() - 1;
        }
        System.out.printf("Redis key lifetime: %d names locked once in %d ms, %d keys then; one lease (%d ms) after"
                        + " the last call %d keys (SCAN), %d stored (DBSIZE, %d ms later)%n", names,
                (lockedAt - started) / 1_000_000, created, lease.toMillis(), logical, physical,
                (System.nanoTime() - reclaimedAt) / 1_000_000);
        assertThat(created).as("keys while the names were held or waited for (the locking outlasted the lease?)")
                .isGreaterThan(names);
        assertThat(logical).as("keys left one bound after the last holder and waiter").isLessThanOrEqualTo(names / 100);
        assertThat(physical).as("and reclaimed by Redis's expiry").isLessThanOrEqualTo(names / 100);

        for (int i = 0; i < Math.min(names, 400); i++) {
            String name = "order-" + i;
            BackendLease again = backend.tryAcquire(name, LockMode.EXCLUSIVE, "again" + i, lease).block(TIMEOUT);
            assertThat(again.fencingToken()).as("a larger token once the keys of %s are gone", name)
                    .isGreaterThan(tokens.get(i));
        }
    }

    @Test
    void fiveThousandNamesLeaveAtMostOnePercentOfTheirKeys() {
        namesLeaveAtMostOnePercentOfTheirKeys(5_000, Duration.ofSeconds(5));
    }

    @Test
    @Tag("loops")
    void aHundredThousandNamesLeaveAtMostOnePercentOfTheirKeys_loop() {
        namesLeaveAtMostOnePercentOfTheirKeys(100_000, Duration.ofSeconds(60));
    }
}
