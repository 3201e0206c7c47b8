package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * {@link RedisLockBackend#close()} and the last subscriber of {@link RedisLockBackend#releases()} leaving while the
 * backend's connections are still being opened: the connections that open late are closed, none stays open on the
 * caller's client. A lock service whose backend was closed before it was disposed fails its acquisitions instead of
 * retrying them for ever.
 */
class RedisBackendCloseTest {

    private static final Duration TIMEOUT = RedisTestSupport.TIMEOUT;
    private static final int ROUNDS = 20;

    private static RedisClient client;
    private static StatefulRedisConnection<String, String> admin;
    private static String prefix;

    @BeforeAll
    static void setUp() {
        client = RedisTestSupport.client();
        admin = client.connect(RedisTestSupport.uri("rl-close-admin"));
        prefix = RedisTestSupport.uniquePrefix("close");
    }

    @AfterAll
    static void tearDown() {
        admin.close();
        RedisTestSupport.deleteKeys(client, RedisTestSupport.uri("rl-close-admin"), prefix);
        TestRedis.shutdown(client);
    }

    private static RedisLockBackend backend(RedisURI uri) {
        return RedisLockBackend.create(client, uri,
                RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO).build());
    }

    /** Waits until the server has no connection named {@code clientName} any more, or gives up after a while. */
    private static List<Long> connectionsLeft(String clientName) {
        List<Long> left = RedisTestSupport.clientIds(admin, clientName);
        for (int i = 0; i < 50 && !left.isEmpty(); i++) {
            Mono.delay(Duration.ofMillis(100)).block(TIMEOUT);
            left = RedisTestSupport.clientIds(admin, clientName);
        }
        return left;
    }

    @Test
    void aBackendClosedWhileItsCommandConnectionOpensLeavesNoConnectionOpen() {
        String clientName = RedisTestSupport.uniqueName("rl-close-commands");
        RedisURI uri = RedisTestSupport.uri(clientName);
        for (int i = 0; i < ROUNDS; i++) {
            RedisLockBackend backend = backend(uri);
            backend.tryAcquire("c" + i, LockMode.EXCLUSIVE, "t" + i, Duration.ofSeconds(1)).subscribe(null, e -> { });
            backend.close().block(TIMEOUT);
        }
        assertThat(connectionsLeft(clientName)).as("command connections left open after close()").isEmpty();
    }

    @Test
    void aBackendClosedWhileItsPubSubConnectionOpensLeavesNoConnectionOpen() {
        String clientName = RedisTestSupport.uniqueName("rl-close-pubsub");
        RedisURI uri = RedisTestSupport.uri(clientName);
        for (int i = 0; i < ROUNDS; i++) {
            RedisLockBackend backend = backend(uri);
            Disposable listening = backend.releases().subscribe(null, e -> { });
            backend.close().block(TIMEOUT);
            listening.dispose();
        }
        assertThat(connectionsLeft(clientName)).as("pub/sub connections left open after close()").isEmpty();
    }

    @Test
    void theLastListenerLeavingWhileThePubSubConnectionOpensLeavesNoConnectionOpen() {
        String clientName = RedisTestSupport.uniqueName("rl-leave-pubsub");
        RedisURI uri = RedisTestSupport.uri(clientName);
        RedisLockBackend backend = backend(uri);
        try {
            for (int i = 0; i < ROUNDS; i++) {
                backend.releases().subscribe(null, e -> { }).dispose();
            }
            assertThat(connectionsLeft(clientName)).as("pub/sub connections left open by listeners that left")
                    .isEmpty();
        } finally {
            backend.close().block(TIMEOUT);
        }
    }

    @Test
    void acquisitionsThroughAClosedBackendFailInsteadOfRetryingForever() {
        RedisURI uri = RedisTestSupport.uri(RedisTestSupport.uniqueName("rl-closed"));
        RedisLockBackend other = backend(uri);
        RedisLockBackend closed = backend(uri);
        DistributedLockService holder = DistributedLockService.builder(other).lease(Duration.ofSeconds(5)).build();
        DistributedLockService service = DistributedLockService.builder(closed).lease(Duration.ofSeconds(5)).build();
        try {
            LockHandle held = holder.acquire("busy").block(TIMEOUT);
            StepVerifier.create(service.acquire("busy"))
                    .expectSubscription()
                    .expectNoEvent(Duration.ofMillis(300))   // queued behind the holder
                    .then(() -> closed.close().block(TIMEOUT))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                            .hasMessage("Lock 'busy': the Redis lock backend is closed (close it after the lock"
                                    + " services that use it are disposed)"))
                    .verify(TIMEOUT);
            StepVerifier.create(service.acquire("free"))
                    .expectError(LockConfigurationException.class)
                    .verify(TIMEOUT);
            held.release().block(TIMEOUT);
        } finally {
            service.disposeLater().block(TIMEOUT);
            holder.disposeLater().block(TIMEOUT);
            other.close().block(TIMEOUT);
            closed.close().block(TIMEOUT);
        }
    }
}
