package dev.reactivelocks.redis;

import dev.reactivelocks.LockService;
import dev.reactivelocks.contract.LockServiceContract;
import dev.reactivelocks.distributed.DistributedLockService;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/** The core contract, run by {@link DistributedLockService} over Redis. */
class RedisDistributedLockServiceContractTest extends LockServiceContract {

    private static RedisClient client;
    private static RedisURI uri;
    private static RedisLockConfig config;
    private RedisLockBackend backend;

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
        client.shutdown();
    }

    @AfterEach
    void closeBackend() {
        backend.close().block(WAIT);
    }

    @Override
    protected LockService createService() {
        backend = RedisLockBackend.create(client, uri, config);
        return DistributedLockService.builder(backend)
                .lease(Duration.ofSeconds(2)).renewEvery(Duration.ofMillis(500)).build();
    }

    /** Redis records no grant times. */
    @Override
    public boolean inspectionReportsHeldSince() {
        return false;
    }

    @Override
    protected Duration quietPeriod() {
        return Duration.ofMillis(300);
    }

    @Override
    protected int raceIterations() {
        return 40;
    }

    @Override
    protected int contentionOps() {
        return 60;
    }
}
