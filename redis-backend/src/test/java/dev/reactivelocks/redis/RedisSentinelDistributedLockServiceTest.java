package dev.reactivelocks.redis;

import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.contract.DistributedLockServiceContract;
import dev.reactivelocks.testkit.contract.WaitQueueContract;
import dev.reactivelocks.testkit.servers.RedisSentinelProcess;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;

/**
 * {@link DistributedLockService} over a Sentinel deployment started for the tests (a master, a replica and a
 * sentinel, {@link RedisSentinelProcess}): the {@link DistributedLockServiceContract} with two services, each
 * reaching the master through a {@code redis-sentinel://} URI, and the SPI rules ({@link WaitQueueContract}).
 */
class RedisSentinelDistributedLockServiceTest extends DistributedLockServiceContract {

    private static RedisSentinelProcess sentinel;
    private static RedisClient client;
    private static StatefulRedisConnection<String, String> admin;
    private static final String PREFIX = RedisTestSupport.uniquePrefix("sentinel");
    private static final RedisLockConfig CONFIG = RedisLockConfig.builder().keyPrefix(PREFIX)
            .restartGrace(Duration.ZERO).build();

    @BeforeAll
    static void setUp() throws Exception {
        RedisSentinelProcess.assumeExecutable();
        sentinel = RedisSentinelProcess.start();
        client = RedisClient.create();
        admin = client.connect(sentinel.uri("rl-sentinel-admin"));
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (sentinel != null) {   // the servers go with their keys
            admin.close();
            TestRedis.shutdown(client);
            sentinel.close();
        }
    }

    /** Redis records no grant times. */
    @Override
    protected boolean storeRecordsGrantTimes() {
        return false;
    }

    @Override
    protected LockBackend newBackend(String clientName) {
        return RedisLockBackend.create(client, sentinel.uri(clientName), CONFIG);
    }

    @Override
    protected long liveLeases(String name) {
        return RedisTestSupport.liveLeases(admin, PREFIX, name);
    }

    /** The rules of the SPI, kept by the backend through the sentinel's URI. */
    @Nested
    class Backend extends WaitQueueContract {

        private RedisLockBackend backend;

        @AfterEach
        void closeBackend() {
            if (backend != null) {
                backend.close().block(WAIT);
            }
        }

        @Override
        protected LockBackend backend() {
            if (backend == null) {
                backend = RedisLockBackend.create(client, sentinel.uri("rl-sentinel-backend"), CONFIG);
            }
            return backend;
        }
    }
}
