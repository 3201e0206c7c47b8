package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.servers.RedisClusterProcess;
import dev.reactivelocks.testkit.servers.RedisSentinelProcess;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/** The Redis set-up shown in docs/src/main/asciidoc/redis.adoc, executed. */
class RedisSetupExampleTest {

    @Test
    void theGuideShowsTheseSamplesVerbatim() throws IOException {
        String source = Files.readString(Path.of("src/test/java/dev/reactivelocks/redis/RedisSetupExampleTest.java"));
        for (String tag : List.of("redis-setup", "redis-cluster-setup", "redis-sentinel-setup")) {
            String region = source.substring(source.indexOf('\n', source.indexOf("// tag::" + tag + "[]")) + 1,
                    source.indexOf("        // end::" + tag + "[]"));
            String sample = region.lines().map(l -> l.length() >= 8 ? l.substring(8) : l.strip())
                    .collect(Collectors.joining("\n"));
            assertThat(Files.readString(Path.of("../docs/src/main/asciidoc/redis.adoc"))).as(tag).contains(sample);
        }
    }

    @Test
    void setUpAsDocumented() {
        String url = TestRedis.get().url();   // the test server; fails naming the cause when there is none
        String prefix = RedisTestSupport.uniquePrefix("docs");
        // tag::redis-setup[]
        RedisClient client = RedisClient.create();
        RedisLockConfig config = RedisLockConfig.builder()
                .keyPrefix(prefix)   // default "reactivelocks:"
                .build();
        RedisLockBackend backend = RedisLockBackend.create(client, RedisURI.create(url), config);   // "redis://host:6379"
        LockService locks = DistributedLockService.builder(backend)
                .lease(Duration.ofSeconds(2))
                .renewEvery(Duration.ofMillis(500))
                .build();

        Mono<List<RedisLeaseInfo>> existing = backend.leases().collectList();   // what is stored now
        Mono<Long> purged = backend.purgeExpired();                              // expired shared leases
        // end::redis-setup[]
        try {
            // the prefix is new: the first grant waits the restart grace (one lease)
            assertThat(locks.withLock("docs", Mono.just("done")).block(Duration.ofSeconds(15))).isEqualTo("done");
            assertThat(existing.block(Duration.ofSeconds(15))).isEmpty();
            assertThat(purged.block(Duration.ofSeconds(15))).isZero();
        } finally {
            locks.disposeLater().block(Duration.ofSeconds(15));
            backend.close().block(Duration.ofSeconds(15));
            RedisTestSupport.deleteKeys(client, RedisTestSupport.uri("rl-docs"), prefix);
            TestRedis.shutdown(client);
        }
    }

    @Test
    void clusterSetUpAsDocumented() {
        List<RedisURI> seeds = RedisClusterProcess.shared().uris("rl-docs-cluster");   // the local test cluster
        String prefix = RedisTestSupport.uniquePrefix("docs-cluster");
        // tag::redis-cluster-setup[]
        RedisClusterClient client = RedisClusterClient.create(seeds);   // some nodes of the cluster
        client.setOptions(ClusterClientOptions.builder()
                .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                        .enableAllAdaptiveRefreshTriggers()         // follow a failover at once
                        .enablePeriodicRefresh(Duration.ofSeconds(30))
                        .build())
                .build());
        RedisLockBackend backend = RedisLockBackend.create(client,
                RedisLockConfig.builder().keyPrefix(prefix).build());
        LockService locks = DistributedLockService.builder(backend)
                .lease(Duration.ofSeconds(2))
                .renewEvery(Duration.ofMillis(500))
                .build();
        // end::redis-cluster-setup[]
        // the slot is new: the first grant waits the restart grace (one lease)
        grantOnceThenClose(locks, backend, () -> {
            RedisClusterSupport.deleteKeys(client, prefix);
            RedisClusterSupport.shutdown(client);
        });
    }

    private static void grantOnceThenClose(LockService locks, RedisLockBackend backend, Runnable cleanup) {
        try {
            assertThat(locks.withLock("docs", Mono.just("done")).block(Duration.ofSeconds(15))).isEqualTo("done");
        } finally {
            locks.disposeLater().block(Duration.ofSeconds(15));
            backend.close().block(Duration.ofSeconds(15));
            cleanup.run();
        }
    }

    @Test
    void sentinelSetUpAsDocumented() throws Exception {
        RedisSentinelProcess.assumeExecutable();
        RedisSentinelProcess deployment = RedisSentinelProcess.start();   // a local master, replica and sentinel
        String sentinels = deployment.url();
        String prefix = RedisTestSupport.uniquePrefix("docs-sentinel");
        // tag::redis-sentinel-setup[]
        RedisClient client = RedisClient.create();
        RedisLockConfig config = RedisLockConfig.builder()
                .keyPrefix(prefix)
                .commandTimeout(Duration.ofSeconds(2))   // longer: a transient error, and a new connection
                .probeInterval(Duration.ofSeconds(1))    // PING, also while no lock is asked for
                .build();
        RedisLockBackend backend = RedisLockBackend.create(client, RedisURI.create(sentinels), config);   // "redis-sentinel://s1,s2,s3#mymaster"
        LockService locks = DistributedLockService.builder(backend).lease(Duration.ofSeconds(3)).build();
        // end::redis-sentinel-setup[]
        grantOnceThenClose(locks, backend, () -> {
            TestRedis.shutdown(client);
            try {
                deployment.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }
}
