package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/**
 * A server that accepts connections and never answers (a hung node, a port forwarded to nothing): the backend's
 * first operations fail within the command timeout with an error naming the server, whatever Lettuce's own
 * timeouts are (here a minute, longer than the liveness bound of these tests).
 */
class RedisSilentServerTest {

    private static final Duration BOUND = Duration.ofSeconds(10);
    private static final Duration LETTUCE_TIMEOUT = Duration.ofMinutes(1);
    private static final RedisLockConfig CONFIG = RedisLockConfig.builder().keyPrefix("rl-silent-redis:")
            .commandTimeout(Duration.ofMillis(500)).build();

    private ServerSocket silent;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private Thread acceptor;
    private RedisURI uri;

    @BeforeEach
    void listen() throws IOException {
        silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(() -> {
            try {
                while (true) {
                    accepted.add(silent.accept());   // and never read from or written to
                }
            } catch (IOException closed) {
                // the test is over
            }
        }, "rl-silent-acceptor");
        acceptor.start();
        uri = RedisURI.builder().withHost("127.0.0.1").withPort(silent.getLocalPort()).withTimeout(LETTUCE_TIMEOUT)
                .build();
    }

    @AfterEach
    void stop() throws Exception {
        silent.close();
        acceptor.join();
        for (Socket s : accepted) {
            s.close();
        }
    }

    @Test
    void theFirstAcquisitionOnASilentClusterSeedFailsWithinTheCommandTimeout() {
        RedisClusterClient client = RedisClusterClient.create(uri);
        client.setOptions(ClusterClientOptions.builder().socketOptions(socketOptions())
                .timeoutOptions(TimeoutOptions.enabled(LETTUCE_TIMEOUT)).build());
        RedisLockBackend backend = RedisLockBackend.create(client, CONFIG);
        try {
            StepVerifier.create(backend.tryAcquire("a", LockMode.EXCLUSIVE, "t1", Duration.ofSeconds(30)))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(RedisCommandTimeoutException.class)
                            .hasMessage("Redis Cluster (the client's seed nodes; no topology loaded yet) did not"
                                    + " answer INFO within 500ms; the connection is suspected to be stalled"))
                    .verify(BOUND);
            StepVerifier.create(backend.acquireOrQueue("a", LockMode.EXCLUSIVE, "t2", Duration.ofSeconds(30),
                            Duration.ofSeconds(30)))
                    .expectError(RedisCommandTimeoutException.class)
                    .verify(BOUND);
        } finally {
            backend.close().block(BOUND);
            TestRedis.shutdown(client);
        }
    }

    @Test
    void theFirstOperationsOnASilentServerFailWithinTheCommandTimeout() {
        RedisClient client = RedisClient.create();
        client.setOptions(ClientOptions.builder().socketOptions(socketOptions())
                .timeoutOptions(TimeoutOptions.enabled(LETTUCE_TIMEOUT)).build());
        RedisLockBackend backend = RedisLockBackend.create(client, uri, CONFIG);
        String server = "Redis at 127.0.0.1:" + silent.getLocalPort();
        try {
            StepVerifier.create(backend.locks(""))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(RedisCommandTimeoutException.class)
                            .hasMessage(server + " did not answer SCAN within 500ms; the connection is suspected to"
                                    + " be stalled"))
                    .verify(BOUND);
            StepVerifier.create(backend.tryAcquire("a", LockMode.EXCLUSIVE, "t1", Duration.ofSeconds(30)))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(RedisCommandTimeoutException.class)
                            .hasMessage(server + " did not answer acquire.lua within 500ms; the connection is"
                                    + " suspected to be stalled"))
                    .verify(BOUND);
        } finally {
            backend.close().block(BOUND);
            TestRedis.shutdown(client);
        }
    }

    private static SocketOptions socketOptions() {
        return SocketOptions.builder().connectTimeout(LETTUCE_TIMEOUT).build();
    }
}
