package dev.reactivelocks.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import io.lettuce.core.cluster.event.ClusterTopologyChangedEvent;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Where a backend's connections come from, and who closes them. */
interface Connections {

    ByteArrayCodec CODEC = ByteArrayCodec.INSTANCE;

    /** The connection for the scripts, opened at the first call and then kept. */
    Mono<RedisClusterReactiveCommands<byte[], byte[]>> commands();

    /** A pub/sub connection for the wake channels; a cluster one on a cluster. */
    Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions();

    /** Gives back a connection of {@link #openSubscriptions()}: closes it, or unsubscribes {@code channel}. */
    Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel);

    /** Whether the server is a Redis Cluster. */
    boolean cluster();

    /** Emits when the client saw the cluster topology change; never on a standalone server. */
    Flux<Object> topologyChanges();

    /** Closes the connections the backend opened. */
    Mono<Void> close();

    /** Connections opened (without blocking) by the backend with a client of the caller, and closed by it. */
    final class Opened<C extends StatefulConnection<byte[], byte[]>> implements Connections {
        private final AtomicReference<@Nullable C> opened = new AtomicReference<>();
        private final Mono<RedisClusterReactiveCommands<byte[], byte[]>> commands;
        private final Supplier<CompletionStage<? extends StatefulRedisPubSubConnection<byte[], byte[]>>> subscriptions;
        private final boolean cluster;
        private final Flux<Object> topologyChanges;

        private Opened(Supplier<CompletionStage<C>> connect, Function<C, RedisClusterReactiveCommands<byte[], byte[]>> reactive,
                       Supplier<CompletionStage<? extends StatefulRedisPubSubConnection<byte[], byte[]>>> subscriptions,
                       boolean cluster, Flux<Object> topologyChanges) {
            this.commands = Mono.fromCompletionStage(connect)
                    .doOnNext(opened::set)
                    .map(reactive)
                    .cache(v -> Duration.ofMillis(Long.MAX_VALUE), error -> Duration.ZERO, () -> Duration.ZERO);
            this.subscriptions = subscriptions;
            this.cluster = cluster;
            this.topologyChanges = topologyChanges;
        }

        static Connections standalone(RedisClient client, RedisURI uri) {
            return new Opened<StatefulRedisConnection<byte[], byte[]>>(() -> client.connectAsync(CODEC, uri),
                    StatefulRedisConnection::reactive, () -> client.connectPubSubAsync(CODEC, uri), false, Flux.never());
        }

        static Connections cluster(RedisClusterClient client) {
            // connectAsync needs the topology: load it (without blocking) first
            return new Opened<StatefulRedisClusterConnection<byte[], byte[]>>(
                    () -> client.refreshPartitionsAsync().thenCompose(v -> client.connectAsync(CODEC)),
                    StatefulRedisClusterConnection::reactive,
                    () -> client.refreshPartitionsAsync().thenCompose(v -> client.connectPubSubAsync(CODEC)), true,
                    client.getResources().eventBus().get().filter(ClusterTopologyChangedEvent.class::isInstance)
                            .cast(Object.class));
        }

        @Override
        public Mono<RedisClusterReactiveCommands<byte[], byte[]>> commands() {
            return commands;
        }

        @Override
        public Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions() {
            return Mono.fromCompletionStage(subscriptions).map(c -> c);
        }

        @Override
        public Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel) {
            return Mono.fromCompletionStage(c::closeAsync).onErrorResume(e -> Mono.empty());
        }

        @Override
        public boolean cluster() {
            return cluster;
        }

        @Override
        public Flux<Object> topologyChanges() {
            return topologyChanges;
        }

        @Override
        public Mono<Void> close() {
            return Mono.defer(() -> {
                C c = opened.getAndSet(null);
                return c == null ? Mono.empty() : Mono.fromCompletionStage(c::closeAsync).onErrorResume(e -> Mono.empty());
            });
        }
    }

    /** Connections to a standalone server owned by the caller. */
    final class Given implements Connections {
        private final Mono<RedisClusterReactiveCommands<byte[], byte[]>> commands;
        private final StatefulRedisPubSubConnection<byte[], byte[]> subscriptions;

        Given(StatefulRedisConnection<byte[], byte[]> commands, StatefulRedisPubSubConnection<byte[], byte[]> subscriptions) {
            this.commands = Mono.just(commands.reactive());
            this.subscriptions = subscriptions;
        }

        @Override
        public Mono<RedisClusterReactiveCommands<byte[], byte[]>> commands() {
            return commands;
        }

        @Override
        public Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions() {
            return Mono.just(subscriptions);
        }

        @Override
        public Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel) {
            return c.reactive().unsubscribe(channel).onErrorResume(e -> Mono.empty());
        }

        @Override
        public boolean cluster() {
            return false;
        }

        @Override
        public Flux<Object> topologyChanges() {
            return Flux.never();
        }

        @Override
        public Mono<Void> close() {
            return Mono.empty();
        }
    }
}
