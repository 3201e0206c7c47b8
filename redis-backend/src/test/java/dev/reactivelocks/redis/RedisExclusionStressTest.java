package dev.reactivelocks.redis;

import dev.reactivelocks.testkit.contract.ExclusionUnderChaos;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Long run (profile {@code -Ploops}): four services with their own connections hammer one name, shared and
 * exclusive, while their connections are killed at random ({@code CLIENT KILL}); exclusion must hold
 * throughout and nearly every body must finish.
 *
 * <p>Under this rate of {@code CLIENT KILL}, Lettuce 7.7 can wedge a connection's endpoint for good (a thread
 * spins in {@code SharedLock.incrementWriters} while the endpoint is stuck in exclusive mode; Lettuce issues 3804
 * and 3880). The backend's command timeout and health probe notice it and replace the connection, and move to a
 * client of its own with new resources when the replacement stalls too or the connection cannot even be closed
 * (see {@link RedisConnectionHealingTest} and {@link RedisWedgedClientTest}).
 */
@Tag("loops")
class RedisExclusionStressTest {

    @Test
    void exclusionHoldsUnderClientKills_loop() {
        RedisClient client = RedisTestSupport.client();
        StatefulRedisConnection<String, String> admin = client.connect(RedisTestSupport.uri("rl-stress-admin"));
        RedisLockConfig config = RedisLockConfig.builder().keyPrefix(RedisTestSupport.uniquePrefix("stress"))
                .restartGrace(Duration.ZERO).build();
        try {
            ExclusionUnderChaos.run(app -> RedisLockBackend.create(client, RedisTestSupport.uri(app), config),
                    app -> RedisTestSupport.kill(admin, app), Duration.ofMillis(300), 2000, 1901, Duration.ofMillis(1));
        } finally {
            admin.close();
            RedisTestSupport.deleteKeys(client, RedisTestSupport.uri("rl-stress-admin"), config.keyPrefix());
            TestRedis.shutdown(client);
        }
    }
}
