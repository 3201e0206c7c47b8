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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/** Where a backend's connections come from, and who closes them. */
interface Connections {

    ByteArrayCodec CODEC = ByteArrayCodec.INSTANCE;

    /** The connection for the scripts, opened at the first call and then kept. */
    Mono<RedisClusterReactiveCommands<byte[], byte[]>> commands();

    /** A pub/sub connection for the wake channels; a cluster one on a cluster. */
    Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions();

    /**
     * Gives back a connection of {@link #openSubscriptions()}: closes it, or unsubscribes {@code channel};
     * {@code stalled}: it stopped answering (the backend replaces its own).
     */
    Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel, boolean stalled);

    /** Whether the server is a Redis Cluster. */
    boolean cluster();

    /** Emits when the client saw the cluster topology change; never on a standalone server. */
    Flux<Object> topologyChanges();

    /**
     * Closes {@code c}. Giving up on the returned {@code Mono} leaves Lettuce's close future alone (Lettuce hands the
     * same future to every caller of {@code closeAsync}, the client's shutdown among them).
     */
    static Mono<Void> closing(StatefulConnection<?, ?> c) {
        return Mono.fromCompletionStage(() -> c.closeAsync().thenApply(v -> v));
    }

    /**
     * Reports that {@code commands} (from {@link #commands()}) stopped completing commands: a connection the
     * backend opened is replaced; one of the caller is kept.
     */
    void stalled(RedisClusterReactiveCommands<byte[], byte[]> commands);

    /** Closes the connections the backend opened. */
    Mono<Void> close();

    /**
     * Connections opened (without blocking) by the backend with a client of the caller, and closed by it.
     *
     * <p>Healing: a command connection reported {@link #stalled} is replaced by a new one at the next command,
     * and closed. When closing a stalled connection does not complete within the command timeout either, its
     * endpoint is wedged (and an event loop of the client may be with it): the backend then opens its later
     * connections with a client of its own, with new client resources (standalone and Sentinel only; a
     * cluster client's topology cannot be copied), and shuts that client down on {@link #close()}.
     */
    final class Opened<C extends StatefulConnection<byte[], byte[]>> implements Connections {
        private final AtomicReference<Dialer<C>> dialer;
        private final Function<C, RedisClusterReactiveCommands<byte[], byte[]>> reactive;
        private final AtomicReference<Mono<C>> current = new AtomicReference<>();
        private final AtomicReference<@Nullable C> opened = new AtomicReference<>();
        private final AtomicBoolean ownClient = new AtomicBoolean();
        private final boolean cluster;
        private final Flux<Object> topologyChanges;
        private final Duration timeout;

        private Opened(Dialer<C> dialer, Function<C, RedisClusterReactiveCommands<byte[], byte[]>> reactive,
                       boolean cluster, Flux<Object> topologyChanges, Duration timeout) {
            this.dialer = new AtomicReference<>(dialer);
            this.reactive = reactive;
            this.cluster = cluster;
            this.topologyChanges = topologyChanges;
            this.timeout = timeout;
            current.set(connect());
        }

        static Connections standalone(RedisClient client, RedisURI uri, Duration timeout) {
            return new Opened<StatefulRedisConnection<byte[], byte[]>>(Dialer.standalone(client, uri),
                    StatefulRedisConnection::reactive, false, Flux.never(), timeout);
        }

        static Connections cluster(RedisClusterClient client, Duration timeout) {
            // connectAsync needs the topology: load it (without blocking) first
            Dialer<StatefulRedisClusterConnection<byte[], byte[]>> dialer = new Dialer<>(
                    () -> client.refreshPartitionsAsync().thenCompose(v -> client.connectAsync(CODEC)),
                    () -> client.refreshPartitionsAsync().thenCompose(v -> client.connectPubSubAsync(CODEC)), null, null);
            return new Opened<>(dialer, StatefulRedisClusterConnection::reactive, true,
                    client.getResources().eventBus().get().filter(ClusterTopologyChangedEvent.class::isInstance)
                            .cast(Object.class), timeout);
        }

        private Mono<C> connect() {
            return Mono.defer(() -> Mono.fromCompletionStage(dialer.get().connect))
                    .doOnNext(opened::set)
                    .cache(v -> Duration.ofMillis(Long.MAX_VALUE), error -> Duration.ZERO, () -> Duration.ZERO);
        }

        @Override
        public Mono<RedisClusterReactiveCommands<byte[], byte[]>> commands() {
            return Mono.defer(current::get).map(reactive);
        }

        @Override
        public void stalled(RedisClusterReactiveCommands<byte[], byte[]> commands) {
            Mono<C> was = current.get();
            C c = opened.get();
            if (c != null && reactive.apply(c) == commands && current.compareAndSet(was, connect())) {
                opened.compareAndSet(c, null);
                retire(c);
            }
        }

        /** Closes a connection that stopped answering; when even that does not complete, its endpoint is wedged. */
        private void retire(StatefulConnection<byte[], byte[]> c) {
            closing(c).timeout(timeout)
                    .subscribe(null, e -> {
                        Dialer<C> d = dialer.get();
                        if (d.fresh != null && ownClient.compareAndSet(false, true)) {
                            // creating client resources reads system properties and files: off the event loops
                            Mono.fromCallable(d.fresh::get).subscribeOn(Schedulers.boundedElastic())
                                    .subscribe(dialer::set, error -> ownClient.set(false));
                        }
                    });
        }

        @Override
        public Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions() {
            return Mono.defer(() -> Mono.fromCompletionStage(dialer.get().subscriptions)).map(c -> c);
        }

        @Override
        public Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel,
                                             boolean stalled) {
            return stalled ? Mono.fromRunnable(() -> retire(c)) : closing(c).onErrorResume(e -> Mono.empty());
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
                current.set(Mono.error(new IllegalStateException("the Redis lock backend is closed")));
                C c = opened.getAndSet(null);
                Mono<Void> closed = c == null ? Mono.empty()
                        : closing(c).timeout(timeout).onErrorResume(e -> Mono.empty());
                Supplier<CompletionStage<Void>> shutdown = dialer.get().shutdown;
                return shutdown == null ? closed : closed.then(Mono.fromCompletionStage(() -> shutdown.get()
                                .thenApply(v -> v)).timeout(timeout).onErrorResume(e -> Mono.empty()));
            });
        }
    }

    /**
     * How connections are opened: with the caller's client, or with a client of the backend's own
     * ({@code shutdown} set), and how to get such a client with new resources ({@code fresh}, when possible).
     */
    record Dialer<C>(Supplier<CompletionStage<C>> connect,
                     Supplier<CompletionStage<? extends StatefulRedisPubSubConnection<byte[], byte[]>>> subscriptions,
                     @Nullable Supplier<CompletionStage<Void>> shutdown,
                     @Nullable Supplier<Dialer<C>> fresh) {

        static Dialer<StatefulRedisConnection<byte[], byte[]>> standalone(RedisClient client, RedisURI uri) {
            return new Dialer<>(() -> client.connectAsync(CODEC, uri), () -> client.connectPubSubAsync(CODEC, uri), null,
                    () -> {
                        RedisClient own = RedisClient.create();   // owns its new client resources
                        own.setOptions(client.getOptions());
                        Dialer<StatefulRedisConnection<byte[], byte[]>> d = standalone(own, uri);
                        return new Dialer<>(d.connect, d.subscriptions, own::shutdownAsync, null);
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
        public void stalled(RedisClusterReactiveCommands<byte[], byte[]> commands) {
            // the caller's connection: the timed-out command failed, the connection stays the caller's
        }

        @Override
        public Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions() {
            return Mono.just(subscriptions);
        }

        @Override
        public Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel,
                                             boolean stalled) {
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
