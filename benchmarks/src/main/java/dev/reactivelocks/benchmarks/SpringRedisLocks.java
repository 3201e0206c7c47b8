package dev.reactivelocks.benchmarks;

import io.lettuce.core.resource.ClientResources;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.integration.redis.util.RedisLockRegistry;

/**
 * Spring Integration's {@code RedisLockRegistry}, the blocking Redis peer, set up as an application would
 * without a Spring context: a {@code LettuceConnectionFactory} (Spring Data Redis, its shared native
 * connection) per simulated process, all on one Lettuce {@code ClientResources} as ours share one
 * {@code RedisClient}, and a registry with its defaults (lock expiry 60 s, 100 ms between tries in spin mode)
 * in the given {@link RedisLockRegistry.RedisLockType}. Keys are {@code <registryKey>:<name>}.
 */
final class SpringRedisLocks {

    private SpringRedisLocks() {
    }

    static LettuceConnectionFactory connectionFactory(ClientResources resources) {
        LettuceClientConfiguration client = LettuceClientConfiguration.builder()
                .clientResources(resources).commandTimeout(RedisBenchmark.TIMEOUT).build();
        LettuceConnectionFactory factory = new LettuceConnectionFactory(
                new RedisStandaloneConfiguration(RedisBenchmark.HOST, RedisBenchmark.PORT), client);
        factory.afterPropertiesSet();
        factory.start();
        return factory;
    }

    static RedisLockRegistry registry(LettuceConnectionFactory factory, String registryKey,
                                      RedisLockRegistry.RedisLockType type) {
        RedisLockRegistry registry = new RedisLockRegistry(factory, registryKey);
        registry.setRedisLockType(type);
        return registry;
    }
}
