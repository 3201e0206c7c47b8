package dev.reactivelocks.spring;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.data.redis.connection.RedisConfiguration;
import org.springframework.data.redis.connection.RedisSentinelConfiguration;
import org.springframework.data.redis.connection.RedisSocketConfiguration;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConverters;
import org.springframework.data.redis.connection.lettuce.RedisCredentialsProviderFactory;
import org.springframework.util.StringUtils;

/**
 * The Lettuce client and server address of a Spring Data Redis {@link LettuceConnectionFactory}, for a backend
 * that opens its own connections with them (never blocking: {@code connectAsync}). The address is built from the
 * factory's public configuration the way the factory builds its own: host and port, Unix socket or Sentinel
 * master, database, user and password (or credentials provider), client name, TLS and command timeout. Loaded
 * only when Spring Data Redis is on the classpath.
 */
final class LettuceConnectionFactories {

    private LettuceConnectionFactories() {
    }

    /** @param client the factory's client (it stays the factory's); @param uri the server it connects to */
    record Target(RedisClient client, RedisURI uri) {
    }

    /**
     * @return the client and server of the application's only (or primary) {@link LettuceConnectionFactory}, which
     *         is recorded as a dependency of {@code serviceBean}; null when there is none
     * @throws LockConfigurationPropertyException when the factory is for a Redis Cluster
     */
    static @Nullable Target target(ConfigurableListableBeanFactory beans, String serviceBean) {
        LettuceConnectionFactory factory = Beans.optional(beans, LettuceConnectionFactory.class, serviceBean);
        return factory == null ? null : target(factory);
    }

    /** @param factory an initialised factory; started here if the application switched off its early start */
    private static Target target(LettuceConnectionFactory factory) {
        if (factory.isClusterAware()) {
            throw new LockConfigurationPropertyException(LockServiceFactory.P + "redis.url",
                    "is required with reactive-locks.type=redis: the application's LettuceConnectionFactory is for "
                            + "a Redis Cluster, which the Redis lock backend does not support",
                    "Set reactive-locks.redis.url to a standalone or Sentinel-managed Redis server shared by every "
                            + "service that must be excluded, e.g. redis://127.0.0.1:6379.");
        }
        if (!factory.isRunning()) {
            factory.start();   // creates the client; connects only with eager initialisation, on this thread
        }
        AbstractRedisClient client = factory.getRequiredNativeClient();
        return new Target((RedisClient) client, uri(factory));
    }

    private static RedisURI uri(LettuceConnectionFactory factory) {
        LettuceClientConfiguration client = factory.getClientConfiguration();
        RedisSentinelConfiguration sentinel = factory.getSentinelConfiguration();
        if (sentinel != null) {
            RedisURI uri = LettuceConverters.sentinelConfigurationToRedisURI(sentinel);
            Consumer<RedisURI> settings = u -> {
                client.getClientName().ifPresent(u::setClientName);
                u.setSsl(client.isUseSsl());
                u.setVerifyPeer(client.getVerifyMode());
                u.setStartTls(client.isStartTls());
                u.setTimeout(client.getCommandTimeout());
            };
            settings.accept(uri);
            uri.getSentinels().forEach(settings);
            uri.setDatabase(factory.getDatabase());
            client.getRedisCredentialsProviderFactory().ifPresent(credentials -> {
                uri.setCredentialsProvider(credentials.createCredentialsProvider(sentinel));
                uri.getSentinels().forEach(s ->
                        s.setCredentialsProvider(credentials.createSentinelCredentialsProvider(sentinel)));
            });
            return uri;
        }
        RedisSocketConfiguration socket = factory.getSocketConfiguration();
        RedisConfiguration.WithAuthentication server;
        RedisURI.Builder builder;
        if (socket != null) {
            server = socket;
            builder = RedisURI.Builder.socket(socket.getSocket());
        } else {
            RedisStandaloneConfiguration standalone = factory.getStandaloneConfiguration();
            server = standalone;
            builder = RedisURI.Builder.redis(standalone.getHostName(), standalone.getPort())
                    .withSsl(client.isUseSsl())
                    .withVerifyPeer(client.getVerifyMode())
                    .withStartTls(client.isStartTls());
            client.getClientName().ifPresent(builder::withClientName);
        }
        String username = server.getUsername();
        if (StringUtils.hasText(username)) {
            builder.withAuthentication(username, new String(server.getPassword().toOptional().orElse(new char[0])));
        } else {
            server.getPassword().toOptional().ifPresent(builder::withPassword);
        }
        RedisCredentialsProviderFactory credentials = client.getRedisCredentialsProviderFactory().orElse(null);
        if (credentials != null) {
            builder.withAuthentication(credentials.createCredentialsProvider((RedisConfiguration) server));
        }
        return builder.withDatabase(factory.getDatabase()).withTimeout(client.getCommandTimeout()).build();
    }
}
