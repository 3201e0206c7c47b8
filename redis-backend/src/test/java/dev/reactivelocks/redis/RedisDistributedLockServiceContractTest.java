package dev.reactivelocks.redis;

import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The core contract, run by {@link DistributedLockService} over Redis. */
class RedisDistributedLockServiceContractTest extends RedisLockServiceContract {

    private static RedisClient client;
    private static RedisURI uri;
    private static RedisLockConfig config;

    @BeforeAll
    static void setUp() {
        client = RedisTestSupport.client();
        uri = RedisTestSupport.uri("rl-contract");
        config = RedisLockConfig.builder().keyPrefix(RedisTestSupport.uniquePrefix("contract"))
                .restartGrace(Duration.ZERO).build();
    }

    @AfterAll
    static void tearDown() {
        RedisTestSupport.deleteKeys(client, uri, config.keyPrefix());
        TestRedis.shutdown(client);
    }

    @Override
    protected RedisLockBackend newBackend() {
        return RedisLockBackend.create(client, uri, config);
    }
}
