package dev.reactivelocks.redis;

import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.contract.WaitQueueContract;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The rules of the SPI ({@link WaitQueueContract}), kept by {@link RedisLockBackend} on a standalone server. */
class RedisLockBackendContractTest extends WaitQueueContract {

    private static RedisClient client;
    private static RedisURI uri;
    private static String prefix;
    private static RedisLockBackend backend;

    @BeforeAll
    static void setUp() {
        client = RedisTestSupport.client();
        uri = RedisTestSupport.uri("rl-backend-contract");
        prefix = RedisTestSupport.uniquePrefix("contract");
        backend = RedisLockBackend.create(client, uri,
                RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO).build());
    }

    @AfterAll
    static void tearDown() {
        backend.close().block(WAIT);
        RedisTestSupport.deleteKeys(client, uri, prefix);
        TestRedis.shutdown(client);
    }

    @Override
    protected LockBackend backend() {
        return backend;
    }
}
