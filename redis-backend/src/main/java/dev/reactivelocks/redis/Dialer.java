package dev.reactivelocks.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.event.ClusterTopologyChangedEvent;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;

/**
 * How one client opens the backend's connections: the caller's client ({@code shutdown} null), or a client of the
 * backend's own, which the backend shuts down ({@code shutdown}); {@code fresh} builds a client of the backend's
 * own with new client resources, to move to when this one is wedged.
 *
 * @param connect opens a command connection
 * @param subscriptions opens a pub/sub connection
 * @param topologyChanges the client's cluster topology change events; never on a standalone server
 * @param shutdown shuts the client and its resources down, when the backend owns them
 * @param fresh builds a client of the backend's own with new client resources and this client's options
 * @param server names the server for error messages: its address, or the cluster's masters once known
 */
record Dialer<C>(Supplier<CompletionStage<C>> connect,
                 Supplier<CompletionStage<? extends StatefulRedisPubSubConnection<byte[], byte[]>>> subscriptions,
                 Flux<Object> topologyChanges,
                 @Nullable Supplier<CompletionStage<Void>> shutdown,
                 Supplier<Dialer<C>> fresh,
                 Supplier<String> server) {

    /** Connections to a standalone server (or through Sentinel) at {@code uri}. */
    static Dialer<StatefulRedisConnection<byte[], byte[]>> standalone(RedisClient client, RedisURI uri,
                                                                     boolean owned) {
        return new Dialer<>(() -> client.connectAsync(Connections.CODEC, uri),
                () -> client.connectPubSubAsync(Connections.CODEC, uri), Flux.never(),
                owned ? client::shutdownAsync : null,
                () -> {
                    RedisClient own = RedisClient.create();   // creates, and on shutdown closes, its own resources
                    own.setOptions(client.getOptions());
                    return standalone(own, uri, true);
                },
                () -> "Redis at " + address(uri));
    }

    /** {@code host:port}, the socket's path, or the master's name and the Sentinels (never the credentials). */
    static String address(RedisURI uri) {
        if (uri.getSocket() != null) {
            return uri.getSocket();
        }
        if (!uri.getSentinels().isEmpty()) {
            StringJoiner sentinels = new StringJoiner(", ");
            for (RedisURI sentinel : uri.getSentinels()) {
                sentinels.add(address(sentinel));
            }
            return "master '" + uri.getSentinelMasterId() + "' of Sentinel " + sentinels;
        }
        return uri.getHost() + ":" + uri.getPort();
    }

    /**
     * Connections to a Redis Cluster. A new client is seeded with the nodes of this client's current topology (their
     * URIs carry the credentials and settings of the URIs the client was created with).
     */
    static Dialer<StatefulRedisClusterConnection<byte[], byte[]>> cluster(RedisClusterClient client, boolean owned) {
        // set once a topology was loaded: until then reading the client's topology would block to load it
        AtomicBoolean loaded = new AtomicBoolean();
        // connectAsync needs the topology: load it (without blocking) first
        Supplier<CompletionStage<Void>> refresh = () -> client.refreshPartitionsAsync().thenRun(() -> loaded.set(true));
        return new Dialer<>(
                () -> refresh.get().thenCompose(v -> client.connectAsync(Connections.CODEC)),
                () -> refresh.get().thenCompose(v -> client.connectPubSubAsync(Connections.CODEC)),
                client.getResources().eventBus().get().filter(ClusterTopologyChangedEvent.class::isInstance)
                        .cast(Object.class),
                owned ? client::shutdownAsync : null,
                () -> {
                    List<RedisURI> seeds = new ArrayList<>();
                    for (RedisClusterNode node : client.getPartitions()) {   // loaded by the first connection
                        seeds.add(node.getUri());
                    }
                    RedisClusterClient own = RedisClusterClient.create(seeds);   // with resources of its own
                    ClientOptions options = client.getOptions();
                    if (options instanceof ClusterClientOptions clusterOptions) {
                        own.setOptions(clusterOptions);
                    }
                    return cluster(own, true);
                },
                // Lettuce does not tell a client's seed nodes
                () -> loaded.get() ? "Redis Cluster at " + masters(client)
                        : "Redis Cluster (the client's seed nodes; no topology loaded yet)");
    }

    private static String masters(RedisClusterClient client) {
        StringJoiner masters = new StringJoiner(", ");
        for (RedisClusterNode node : client.getPartitions()) {
            if (node.getRole().isUpstream()) {
                masters.add(address(node.getUri()));
            }
        }
        return masters.toString();
    }
}
