package dev.reactivelocks.spring;

import dev.reactivelocks.redis.RedisLockBackend;
import dev.reactivelocks.redis.RedisLockConfig;
import dev.reactivelocks.spi.LockBackend;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.util.ClassUtils;
import reactor.core.publisher.Mono;

/**
 * The Redis backend, loaded only with type=redis. With {@code reactive-locks.redis.url} it connects there through
 * the application's Lettuce {@link RedisClient} bean, or through a client of its own when there is none. Without
 * it, it connects to the server of the application's Spring Data Redis {@code LettuceConnectionFactory}, through
 * that factory's client. Either way the backend opens its own two connections, without blocking.
 */
final class RedisBackends {

    private static final String FACTORY = "org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory";
    private static final boolean SPRING_DATA_REDIS = ClassUtils.isPresent(FACTORY, RedisBackends.class.getClassLoader());

    private RedisBackends() {
    }

    /** @param backend the backend; @param close closes the backend, then the client if this class created it */
    record Created(LockBackend backend, Mono<Void> close) {
    }

    static Created create(ReactiveLocksProperties props, ConfigurableListableBeanFactory beans, String serviceBean) {
        ReactiveLocksProperties.Redis r = props.getRedis();
        RedisLockConfig config = config(r);
        String url = r.getUrl();
        if (url != null && !url.isBlank()) {
            RedisURI uri = uri(url);
            RedisClient shared = Beans.optional(beans, RedisClient.class, serviceBean);
            RedisClient client = shared != null ? shared : RedisClient.create();
            RedisLockBackend backend = RedisLockBackend.create(client, uri, config);
            Mono<Void> close = shared != null
                    ? backend.close()
                    : backend.close().then(Mono.fromCompletionStage(() -> client.shutdownAsync(0, 2, TimeUnit.SECONDS)));
            return new Created(backend, close);
        }
        LettuceConnectionFactories.Target factory =
                SPRING_DATA_REDIS ? LettuceConnectionFactories.target(beans, serviceBean) : null;
        if (factory == null) {
            throw new LockConfigurationPropertyException(LockServiceFactory.P + "redis.url",
                    "is required with reactive-locks.type=redis when the application has no Spring Data Redis "
                            + "LettuceConnectionFactory bean",
                    "Set reactive-locks.redis.url to the Redis server shared by every service that must be "
                            + "excluded, e.g. redis://127.0.0.1:6379, or define a LettuceConnectionFactory bean "
                            + "(spring-boot-starter-data-redis does, from spring.data.redis.*).");
        }
        RedisLockBackend backend = RedisLockBackend.create(factory.client(), factory.uri(), config);
        return new Created(backend, backend.close());
    }

    /**
     * @throws LockConfigurationPropertyException when {@code url} is not a Redis URI; its message never contains
     *         the URI's user information (a password), which the parser's messages repeat
     */
    private static RedisURI uri(String url) {
        try {
            return RedisURI.create(url);
        } catch (IllegalArgumentException e) {
            String problem = String.valueOf(e.getCause() instanceof URISyntaxException syntax
                    ? syntax.getReason() + " at index " + syntax.getIndex() : e.getMessage());
            throw new LockConfigurationPropertyException(LockServiceFactory.P + "redis.url",
                    "is not a Redis URI: " + problem.replace(url, withoutUserInfo(url)),
                    "Use the form redis://[[user]:password@]host:port[/database].");
        }
    }

    /** @return {@code url} with whatever lies between the scheme and the last {@code @} masked */
    static String withoutUserInfo(String url) {
        int start = url.indexOf("://");
        int at = url.lastIndexOf('@');
        return start < 0 || at < start ? url : url.substring(0, start + 3) + "****" + url.substring(at);
    }

    private static RedisLockConfig config(ReactiveLocksProperties.Redis r) {
        RedisLockConfig.Builder config = RedisLockConfig.builder();
        if (r.getKeyPrefix() != null) {
            try {
                config.keyPrefix(r.getKeyPrefix());
            } catch (IllegalArgumentException e) {
                throw new LockConfigurationPropertyException(LockServiceFactory.P + "redis.key-prefix",
                        e.getMessage(), "Use 1 to 200 printable ASCII characters, e.g. myapp:locks:.", e);
            }
        }
        Duration grace = r.getRestartGrace();
        if (grace != null) {
            if (grace.isNegative()) {
                throw new LockConfigurationPropertyException(LockServiceFactory.P + "redis.restart-grace",
                        "must be >= 0, was " + grace,
                        "Set reactive-locks.redis.restart-grace to at least the lease, or remove it.");
            }
            config.restartGrace(grace);
        }
        return config.build();
    }
}
