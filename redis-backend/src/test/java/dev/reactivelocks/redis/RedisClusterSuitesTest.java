package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.contract.HeldByNobodyRaces;
import dev.reactivelocks.testkit.contract.QueueDrain;
import dev.reactivelocks.testkit.contract.WaitQueueContract;
import dev.reactivelocks.testkit.servers.RedisClusterProcess;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The suites that the standalone server runs, on the local Redis Cluster ({@link RedisClusterProcess#shared()}):
 * the core {@link dev.reactivelocks.testkit.contract.LockServiceContract}, the SPI rules ({@link WaitQueueContract}), the
 * held-by-nobody races and the drain of a long wait queue.
 */
class RedisClusterSuitesTest {

    private static RedisClusterProcess cluster;
    private static RedisClusterClient client;
    private static String prefix;

    @BeforeAll
    static void setUp() {
        cluster = RedisClusterProcess.shared();
        client = RedisClusterSupport.client(cluster, "rl-cluster-suites");
        prefix = RedisTestSupport.uniquePrefix("cluster-suites");
    }

    @AfterAll
    static void tearDown() {
        if (client != null) {
            RedisClusterSupport.deleteKeys(client, prefix);
            RedisClusterSupport.shutdown(client);
        }
    }

    private static RedisLockConfig config() {
        return RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO).build();
    }

    /** The core contract, run by {@link DistributedLockService} over the cluster. */
    @Nested
    class Contract extends RedisLockServiceContract {

        @Override
        protected RedisLockBackend newBackend() {
            return RedisLockBackend.create(client, config());
        }
    }

    /** The rules of the SPI, kept by the backend on the cluster. */
    @Nested
    class Backend extends WaitQueueContract {

        private RedisLockBackend backend;

        @AfterEach
        void closeBackend() {
            if (backend != null) {
                backend.close().block(RedisTestSupport.TIMEOUT);
            }
        }

        @Override
        protected LockBackend backend() {
            if (backend == null) {
                backend = RedisLockBackend.create(client, config());
            }
            return backend;
        }

        /** Names with hash tags of their own: every key of a name stays in one slot, whatever the braces. */
        @Override
        protected List<String> awkwardNames() {
            List<String> names = new ArrayList<>(super.awkwardNames());
            names.addAll(List.of("{tag}", "a{tag}b", "{}", "a}b", "{{}}", "x{", "}{"));
            return names;
        }
    }

    /** No name is left held by nobody by a grant racing its subscriber giving up, on the cluster. */
    @Nested
    class HeldByNobody {

        private final HeldByNobodyRaces races = new HeldByNobodyRaces();
        private RedisLockBackend backend;
        private DistributedLockService locks;

        @AfterEach
        void tearDown() {
            races.close();
            locks.disposeLater().block(RedisTestSupport.TIMEOUT);
            backend.close().block(RedisTestSupport.TIMEOUT);
        }

        private void run(int iterations) {
            backend = RedisLockBackend.create(client, config());
            locks = DistributedLockService.builder(backend).lease(Duration.ofMinutes(2)).build();
            assertThat(races.run(locks, iterations, HeldByNobodyRaces.Pattern.values())).isEmpty();
        }

        @Test
        void clusterLeavesNoNameHeldByNobody() {
            run(2_000);
        }

        @Test
        @Tag("loops")
        void clusterLeavesNoNameHeldByNobody_loop() {
            run(1_000_000);
        }
    }

    /** Services queued on one name drain completely and in queue order, on the cluster. */
    @Nested
    class Drain {

        private List<String> queued(StatefulRedisClusterConnection<byte[], byte[]> raw, String name) {
            List<String> tokens = new ArrayList<>();
            raw.sync().zrange(RedisTestSupport.key(prefix, name, "wait").getBytes(StandardCharsets.UTF_8), 0, -1)
                    .forEach(t -> tokens.add(new String(t, StandardCharsets.US_ASCII)));
            return tokens;
        }

        private void drain(int services, Duration pollInterval, Duration bound) {
            RedisLockBackend backend = RedisLockBackend.create(client, config());
            try (StatefulRedisClusterConnection<byte[], byte[]> raw = client.connect(ByteArrayCodec.INSTANCE)) {
                QueueDrain drain = new QueueDrain(backend, Duration.ofSeconds(10), pollInterval, bound);
                String name = RedisTestSupport.uniqueName("drain");
                QueueDrain.Result result = drain.acrossServices(name, services, () -> queued(raw, name));
                System.out.println("Redis Cluster, " + services + " services x 1 waiter: " + result);
                assertThat(result.granted()).as(result.toString()).isEqualTo(services);
                assertThat(result.maxDisplacement()).as(result.toString()).isZero();
            } finally {
                backend.close().block(RedisTestSupport.TIMEOUT);
            }
        }

        @Test
        void servicesDrainInQueueOrder() {
            drain(300, Duration.ofSeconds(1), Duration.ofMinutes(2));
        }

        @Test
        @Tag("loops")
        void tenThousandServicesDrainInQueueOrder_loop() {
            drain(10_000, Duration.ofSeconds(5), Duration.ofMinutes(10));
        }
    }
}
