package dev.reactivelocks.spring;

import dev.reactivelocks.redis.RedisLockBackend;
import dev.reactivelocks.redis.RedisLockConfig;
import dev.reactivelocks.spi.LockBackend;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.util.concurrent.TimeUnit;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import reactor.core.publisher.Mono;

/**
 * The Redis backend through the application's Lettuce {@link RedisClient} bean, or through a client of its own
 * when there is none; loaded only with type=redis.
 */
final class RedisBackends {

    private RedisBackends() {
    }

    /** @param backend the backend; @param close closes the backend, then the client if this class created it */
    record Created(LockBackend backend, Mono<Void> close) {
    }

    static Created create(ReactiveLocksProperties props, ConfigurableListableBeanFactory beans, String serviceBean) {
        ReactiveLocksProperties.Redis r = props.getRedis();
        String url = r.getUrl();
        if (url == null || url.isBlank()) {
            throw new LockConfigurationPropertyException(LockServiceFactory.P + "redis.url",
                    "is required with reactive-locks.type=redis",
                    "Set reactive-locks.redis.url to the Redis server shared by every service that must be "
                            + "excluded, e.g. redis://127.0.0.1:6379.");
        }
        RedisURI uri;
        try {
            uri = RedisURI.create(url);
        } catch (IllegalArgumentException e) {
            throw new LockConfigurationPropertyException(LockServiceFactory.P + "redis.url",
                    "is not a Redis URI: " + e.getMessage(), "Use the form redis://host:port[/database].", e);
        }
        RedisLockConfig.Builder config = RedisLockConfig.builder();
        if (r.getKeyPrefix() != null) {
            try {
                config.keyPrefix(r.getKeyPrefix());
            } catch (IllegalArgumentException e) {
                throw new LockConfigurationPropertyException(LockServiceFactory.P + "redis.key-prefix",
                        e.getMessage(), "Use 1 to 200 printable ASCII characters, e.g. myapp:locks:.", e);
            }
        }
        RedisClient shared = Beans.optional(beans, RedisClient.class, serviceBean);
        RedisClient client = shared != null ? shared : RedisClient.create();
        RedisLockBackend backend = RedisLockBackend.create(client, uri, config.build());
        Mono<Void> close = shared != null
                ? backend.close()
                : backend.close().then(Mono.fromCompletionStage(() -> client.shutdownAsync(0, 2, TimeUnit.SECONDS)));
        return new Created(backend, close);
    }
}
