package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.servers.RedisServerProcess;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/**
 * A server that refuses the backend's credentials, on a {@code redis-server} of the test's own that requires a
 * password (the shared server is not touched): the refusal comes with the connection's failure, and no retry can
 * cure it, so acquisitions fail at once with a configuration error, which never repeats the password.
 */
class RedisAuthenticationTest {

    private static final Duration TIMEOUT = RedisTestSupport.TIMEOUT;
    private static final String PASSWORD = "right-pw-0815";
    private static final String WRONG = "wrong-pw-4711";

    private RedisServerProcess server;
    private RedisClient client;

    @BeforeEach
    void startServer() throws Exception {
        server = RedisServerProcess.start();
        client = RedisClient.create();
        try (StatefulRedisConnection<String, String> admin = client.connect(server.uri("rl-admin"))) {
            admin.sync().configSet("requirepass", PASSWORD);
        }
    }

    @AfterEach
    void stopServer() throws Exception {
        TestRedis.shutdown(client);
        server.close();
    }

    private void refused(RedisURI uri, String refusal) {
        RedisLockBackend backend = RedisLockBackend.create(client, uri,
                RedisLockConfig.builder().restartGrace(Duration.ZERO).build());
        DistributedLockService service = DistributedLockService.builder(backend).build();
        try {
            StepVerifier.create(service.acquire("job"))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                            .hasMessageStartingWith("Lock 'job': Redis refused the lock script under key prefix"
                                    + " 'reactivelocks:' (" + refusal)
                            .hasMessageNotContaining(WRONG).hasMessageNotContaining(PASSWORD))
                    .verify(TIMEOUT);
        } finally {
            service.disposeLater().block(TIMEOUT);
            backend.close().block(TIMEOUT);
        }
    }

    @Test
    void aWrongPasswordFailsAcquisitionsAtOnceAsAConfigurationError() {
        refused(RedisURI.builder().withHost("127.0.0.1").withPort(server.port()).withPassword(WRONG.toCharArray())
                .build(), "WRONGPASS");
    }

    @Test
    void aMissingPasswordFailsAcquisitionsAtOnceAsAConfigurationError() {
        refused(RedisURI.builder().withHost("127.0.0.1").withPort(server.port()).build(), "NOAUTH");
    }
}
