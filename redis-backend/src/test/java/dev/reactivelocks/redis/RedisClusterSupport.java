package dev.reactivelocks.redis;

import dev.reactivelocks.testkit.servers.RedisClusterProcess;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.KeyScanArgs;
import io.lettuce.core.ScanStream;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * Clients of a local Redis Cluster ({@link RedisClusterProcess}: three masters, three replicas, started by the
 * tests): one {@link RedisClusterClient} per service, as separate processes would have, on shared client resources,
 * with the topology refresh that the backend's documentation asks for.
 */
final class RedisClusterSupport {

    private static ClientResources resources;

    private RedisClusterSupport() {
    }

    static synchronized ClientResources resources() {
        if (resources == null) {
            resources = DefaultClientResources.create();
        }
        return resources;
    }

    /** A client of {@code cluster} whose connections are named {@code clientName}; the caller shuts it down. */
    static RedisClusterClient client(RedisClusterProcess cluster, String clientName) {
        RedisClusterClient client = RedisClusterClient.create(resources(), cluster.uris(clientName));
        client.setOptions(ClusterClientOptions.builder()
                .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                        .enableAllAdaptiveRefreshTriggers()
                        .adaptiveRefreshTriggersTimeout(Duration.ofMillis(200))
                        .enablePeriodicRefresh(Duration.ofSeconds(1))
                        .build())
                .build());
        return client;
    }

    /** The keys under {@code prefix} on every master. */
    static List<byte[]> keys(StatefulRedisClusterConnection<byte[], byte[]> c, String prefix) {
        return ScanStream.scan(c.reactive(), KeyScanArgs.Builder.limit(500)
                        .match((prefix + "*").getBytes(StandardCharsets.US_ASCII)))
                .collectList().block(RedisTestSupport.TIMEOUT);
    }

    /** Deletes every key under {@code prefix} on every master. */
    static void deleteKeys(RedisClusterClient client, String prefix) {
        try (StatefulRedisClusterConnection<byte[], byte[]> c = client.connect(ByteArrayCodec.INSTANCE)) {
            for (byte[] key : keys(c, prefix)) {
                c.sync().del(key);
            }
        }
    }

    static void shutdown(RedisClusterClient client) {
        TestRedis.shutdown(client);
    }
}
