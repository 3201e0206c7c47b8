package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.contract.HeldByNobodyRaces;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * No name is left held by nobody by a grant racing its subscriber giving up, over Redis. Leases are two
 * minutes long, so a leaked grant cannot hide behind lease expiry.
 */
class RedisHeldByNobodyRaceTest {

    /**
     * Races in the default build: each takes a few round trips to Redis, so this many keep the class within
     * the build's time budget; {@code -Ploops} runs a million. Each pattern still races hundreds of times.
     */
    private static final int RACES = 5_000;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private RedisClient client;
    private RedisURI uri;
    private RedisLockConfig config;
    private RedisLockBackend backend;
    private DistributedLockService locks;
    private final HeldByNobodyRaces races = new HeldByNobodyRaces();

    @BeforeEach
    void setUp() {
        client = RedisTestSupport.client();
        uri = RedisTestSupport.uri("rl-nobody");
        config = RedisLockConfig.builder().keyPrefix(RedisTestSupport.uniquePrefix("nobody"))
                .restartGrace(Duration.ZERO).build();
        backend = RedisLockBackend.create(client, uri, config);
        locks = DistributedLockService.builder(backend).lease(Duration.ofMinutes(2)).build();
    }

    @AfterEach
    void tearDown() {
        races.close();
        locks.disposeLater().block(WAIT);
        backend.close().block(WAIT);
        RedisTestSupport.deleteKeys(client, uri, config.keyPrefix());
        TestRedis.shutdown(client);
    }

    @Test
    void redisLeavesNoNameHeldByNobody() {
        assertThat(races.run(locks, RACES, HeldByNobodyRaces.Pattern.values())).isEmpty();
    }

    @Test
    @Tag("loops")
    void redisLeavesNoNameHeldByNobody_loop() {
        assertThat(races.run(locks, 1_000_000, HeldByNobodyRaces.Pattern.values())).isEmpty();
    }
}
