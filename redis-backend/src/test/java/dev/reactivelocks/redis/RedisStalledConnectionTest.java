package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockUnavailableException;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.testkit.servers.RedisServerProcess;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/**
 * A server that stops answering without closing its connections ({@code SIGSTOP}, as a hung server or a
 * silent network): commands fail with a transient error after the command timeout; once the server answers
 * again the backend works on new connections (its own) or on the same ones (the caller's).
 */
class RedisStalledConnectionTest {

    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final RedisLockConfig CONFIG = RedisLockConfig.builder().keyPrefix("rl-stall:")
            .restartGrace(Duration.ZERO).commandTimeout(Duration.ofMillis(500)).probeInterval(Duration.ofMillis(200))
            .build();

    private RedisServerProcess server;
    private RedisClient client;
    private StatefulRedisConnection<String, String> admin;

    @BeforeEach
    void startServer() throws Exception {
        server = RedisServerProcess.start();
        client = RedisClient.create();
        admin = client.connect(server.uri("rl-admin"));
    }

    @AfterEach
    void stopServer() throws Exception {
        signal("CONT");
        admin.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        server.close();
    }

    private void signal(String signal) throws Exception {
        assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(server.pid())).start().waitFor()).isZero();
    }

    @Test
    void stalledConnectionsOfTheBackendAreReplaced() throws Exception {
        RedisLockBackend backend = RedisLockBackend.create(client, server.uri("rl-stall-own"), CONFIG);
        DistributedLockService service = DistributedLockService.builder(backend).build();
        try {
            StepVerifier.create(backend.releases().take(1)).expectNext(dev.reactivelocks.spi.LockBackend.ANY_RELEASE).thenCancel().verify(WAIT);
            backend.releases().subscribe();
            assertThat(backend.tryAcquire("a", LockMode.EXCLUSIVE, "t1", Duration.ofSeconds(30)).block(WAIT)).isNotNull();
            List<Long> before = RedisTestSupport.clientIds(admin, "rl-stall-own");
            assertThat(before).hasSize(2);   // commands and pub/sub

            signal("STOP");
            StepVerifier.create(backend.tryAcquire("b", LockMode.EXCLUSIVE, "t2", Duration.ofSeconds(30)))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(RedisCommandTimeoutException.class)
                            .hasMessage("Redis did not answer acquire.lua within 500ms; the connection is suspected"
                                    + " to be stalled"))
                    .verify(WAIT);
            StepVerifier.create(service.tryAcquire("c"))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockUnavailableException.class)
                            .hasMessageContaining("Redis did not answer acquire.lua within 500ms"))
                    .verify(WAIT);
            signal("CONT");

            BackendLease lease = backend.tryAcquire("d", LockMode.EXCLUSIVE, "t4", Duration.ofSeconds(30)).block(WAIT);
            assertThat(lease).isNotNull();
            List<Long> after = new ArrayList<>(RedisTestSupport.clientIds(admin, "rl-stall-own"));
            after.retainAll(before);
            assertThat(after).as("connections of before the stall still open").isEmpty();
        } finally {
            service.disposeLater().block(WAIT);
            backend.close().block(WAIT);
        }
    }

    @Test
    void stalledConnectionsOfTheCallerAreKept() throws Exception {
        StatefulRedisConnection<byte[], byte[]> commands = client.connect(ByteArrayCodec.INSTANCE,
                server.uri("rl-stall-given"));
        StatefulRedisPubSubConnection<byte[], byte[]> subscriptions = client.connectPubSub(ByteArrayCodec.INSTANCE,
                server.uri("rl-stall-given"));
        RedisLockBackend backend = RedisLockBackend.create(commands, subscriptions, CONFIG);
        try {
            List<Long> before = RedisTestSupport.clientIds(admin, "rl-stall-given");
            signal("STOP");
            StepVerifier.create(backend.tryAcquire("b", LockMode.EXCLUSIVE, "t2", Duration.ofSeconds(30)))
                    .expectError(RedisCommandTimeoutException.class)
                    .verify(WAIT);
            signal("CONT");
            assertThat(backend.tryAcquire("d", LockMode.EXCLUSIVE, "t4", Duration.ofSeconds(30)).block(WAIT))
                    .isNotNull();
            assertThat(RedisTestSupport.clientIds(admin, "rl-stall-given")).isEqualTo(before);
            assertThat(commands.isOpen()).isTrue();
        } finally {
            backend.close().block(WAIT);
            commands.close();
            subscriptions.close();
        }
    }
}
