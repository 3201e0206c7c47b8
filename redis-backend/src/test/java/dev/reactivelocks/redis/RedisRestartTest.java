package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.servers.RedisServerProcess;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a Redis restart without persistence does to held locks, on a {@code redis-server} that the test
 * starts on a free port and kills by its pid (the shared server is not touched): holders learn the loss at
 * their next renewal, nobody is granted a lost lock before its holder knows, and fencing tokens keep growing
 * although the counters were wiped.
 */
class RedisRestartTest {

    private static final Duration LEASE = Duration.ofMillis(1500);
    private static final Duration RENEW = Duration.ofMillis(300);
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private RedisServerProcess server;
    private RedisClient client;
    private final List<Runnable> cleanup = new ArrayList<>();

    @BeforeEach
    void startServer() throws Exception {
        server = RedisServerProcess.start();
        client = RedisClient.create();
    }

    @AfterEach
    void stopServer() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).run();
        }
        TestRedis.shutdown(client);
        server.close();
    }

    private DistributedLockService service(String clientName, RedisLockConfig config) {
        RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(server.port()).withClientName(clientName)
                .withTimeout(Duration.ofSeconds(5)).build();
        RedisLockBackend backend = RedisLockBackend.create(client, uri, config);
        DistributedLockService service = DistributedLockService.builder(backend)
                .lease(LEASE).renewEvery(RENEW).pollInterval(Duration.ofMillis(100)).build();
        cleanup.add(() -> {
            service.disposeLater().block(TIMEOUT);
            backend.close().block(TIMEOUT);
        });
        return service;
    }

    @Test
    void afterARestartHoldersLoseTheLockBeforeAnyoneElseIsGrantedAndTokensKeepGrowing()
            throws Exception {
        RedisLockConfig config = RedisLockConfig.defaults();   // restart grace: one lease
        DistributedLockService a = service("rl-restart-a", config);
        DistributedLockService b = service("rl-restart-b", config);
        LockHandle held = a.acquire("job", LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
        LockHandle shared = a.acquire("doc", LockOptions.shared().timeout(TIMEOUT)).block(TIMEOUT);
        long before = Math.max(held.fencingToken(), shared.fencingToken());

        AtomicLong lostAt = new AtomicLong();
        held.lost().subscribe(null, null, () -> lostAt.set(System.nanoTime()));
        AtomicBoolean holderStillBelieved = new AtomicBoolean();
        AtomicLong grantedAt = new AtomicLong();
        CompletableFuture<LockHandle> waiter = b.acquire("job", LockOptions.exclusive().timeout(TIMEOUT))
                .doOnNext(h -> {
                    grantedAt.set(System.nanoTime());
                    holderStillBelieved.set(held.isHeld());
                })
                .toFuture();

        server.restart();   // SIGKILL, then a fresh server with no data on the same port

        held.lost().block(TIMEOUT);
        shared.lost().block(TIMEOUT);
        LockHandle next = waiter.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(holderStillBelieved).as("the old holder knew it had lost the lock").isFalse();
        assertThat(grantedAt.get()).isGreaterThan(lostAt.get());
        assertThat(next.fencingToken()).as("larger than every token handed out before the restart")
                .isGreaterThan(before);
        LockHandle again = a.acquire("doc", LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
        assertThat(again.fencingToken()).isGreaterThan(before);
        next.release().block(TIMEOUT);
        again.release().block(TIMEOUT);
    }

    @Test
    void withoutTheGraceANewHolderMayBeGrantedWhileTheOldOneStillBelievesItHoldsTheLock() throws Exception {
        RedisLockConfig config = RedisLockConfig.builder().restartGrace(Duration.ZERO).build();
        DistributedLockService a = service("rl-nograce-a", config);
        DistributedLockService b = service("rl-nograce-b", config);
        LockHandle held = a.acquire("job", LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
        server.restart();
        LockHandle other = b.acquire("job", LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
        // this is the window the default grace closes: both handles can be "held" at once here
        assertThat(other.fencingToken()).as("fencing still tells them apart").isGreaterThan(held.fencingToken());
        held.lost().block(TIMEOUT);
        assertThat(held.isHeld()).isFalse();
        assertThat(other.isHeld()).isTrue();
        other.release().block(TIMEOUT);
    }
}
