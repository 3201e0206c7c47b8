package dev.reactivelocks.benchmarks;

import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.redis.RedisLockBackend;
import dev.reactivelocks.redis.RedisLockConfig;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.function.BiFunction;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.redisson.Redisson;
import org.redisson.api.RLockReactive;
import org.redisson.api.RedissonClient;
import org.redisson.api.RedissonReactiveClient;
import org.redisson.config.Config;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.integration.redis.util.RedisLockRegistry;
import reactor.core.publisher.Mono;

/**
 * Comparison 5 (Redis part): the local Redis at 127.0.0.1:6379 (database 0).
 *
 * <p>Hand-offs ({@link Contention}): {@code *_handoff8} is 8 contenders on one name, one per simulated
 * process (its own client), {@value #BUDGET_8} grants per invocation; {@code *_handoff64x4} is 4 processes ×
 * 64 names (4 contenders per name), {@value #BUDGET_64X4} grants per invocation. The primary score is grants
 * per second, the secondary {@code ownerChanges} the grants that went to another contender than the name's
 * previous holder (the true hand-offs); grants per contender are recorded for fairness.
 * <ul>
 *   <li>ours: one {@code DistributedLockService} over its own {@code RedisLockBackend} per process (two
 *       connections each: commands and pub/sub), all on one Lettuce {@code RedisClient};
 *       {@code withLock(name, criticalSection)}, lease 30 s renewed every 10 s (Redisson's watchdog
 *       defaults);</li>
 *   <li>Redisson {@code RLock} / {@code RFairLock}: one {@code RedissonClient} per process (pool of 4
 *       command connections, 1 subscription connection carrying up to {@value #SUBSCRIPTIONS} channels, so one
 *       per name, subscription timeout 30 s), all on one shared 2-thread Netty event loop group
 *       (as Lettuce's default), reactive API {@code lock(threadId).then(unlock(threadId))} with the
 *       watchdog (no lease time), a thread id per contender;</li>
 *   <li>Spring Integration {@code RedisLockRegistry} in {@code SPIN_LOCK} and {@code PUB_SUB_LOCK} mode
 *       ({@link SpringRedisLocks}): one {@code LettuceConnectionFactory} and registry per process, each
 *       contender on its own platform thread ({@link ContenderThreads}) looping {@code lock()} /
 *       {@code unlock()}.</li>
 * </ul>
 * Every trial uses key names with a fresh random id, our backend with {@code restartGrace(Duration.ZERO)}
 * (a fresh prefix would otherwise wait one lease before its first grant), and deletes the keys with that
 * id (and only those) at its end. Uncontended: one caller's acquire + release, blocking on the result.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class RedisBenchmark {

    static final String HOST = "127.0.0.1";
    static final int PORT = 6379;
    static final Duration LEASE = Duration.ofSeconds(30);
    static final Duration RENEW = Duration.ofSeconds(10);
    /** The command timeout of every client (ours, Redisson, Spring's Lettuce connection factory). */
    static final Duration TIMEOUT = Duration.ofSeconds(10);
    /** Redisson's channels per subscription connection: one per name a client waits on (default 5). */
    static final int SUBSCRIPTIONS = 64;
    /**
     * How long Redisson may take to subscribe to a name's channel (default 7.5 s, which 64 names per client
     * exceeded on a loaded machine and failed the benchmark).
     */
    static final Duration SUBSCRIPTION_TIMEOUT = Duration.ofSeconds(30);
    static final int BUDGET_8 = 500;
    static final int BUDGET_64X4 = 2_048;

    /** A fresh id for the key names of one trial: {@code rlbench-<random>}. */
    static String runId() {
        return "rlbench-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static RedisClient lettuce() {
        return RedisClient.create();
    }

    static RedisURI uri() {
        return RedisURI.builder().withHost(HOST).withPort(PORT).withTimeout(TIMEOUT).build();
    }

    static LockService ours(RedisClient client, String runId, List<RedisLockBackend> backends) {
        RedisLockBackend backend = RedisLockBackend.create(client, uri(), RedisLockConfig.builder()
                .keyPrefix(runId + ":").restartGrace(Duration.ZERO).build());
        backends.add(backend);
        return DistributedLockService.builder(backend).lease(LEASE).renewEvery(RENEW).build();
    }

    static RedissonClient redisson(EventLoopGroup group) {
        Config config = new Config();
        config.setEventLoopGroup(group);
        config.setThreads(2);
        config.useSingleServer().setAddress("redis://" + HOST + ":" + PORT)
                .setConnectionMinimumIdleSize(1).setConnectionPoolSize(4)
                .setSubscriptionConnectionMinimumIdleSize(1).setSubscriptionConnectionPoolSize(1)
                .setSubscriptionsPerConnection(SUBSCRIPTIONS).setSubscriptionTimeout((int) SUBSCRIPTION_TIMEOUT.toMillis())
                .setTimeout((int) TIMEOUT.toMillis());
        return Redisson.create(config);
    }

    static EventLoopGroup eventLoops() {
        return new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    /** {@link #deleteKeys(RedisClient, String)} through a client of its own. */
    static void deleteKeys(String runId) {
        RedisClient client = lettuce();
        try {
            deleteKeys(client, runId);
        } finally {
            client.shutdown();
        }
    }

    /** Deletes the keys whose names contain {@code runId} (ours, Redisson's and Spring's), nothing else. */
    static void deleteKeys(RedisClient client, String runId) {
        try (StatefulRedisConnection<String, String> c = client.connect(uri())) {
            ScanCursor cursor = ScanCursor.INITIAL;
            ScanArgs match = ScanArgs.Builder.matches("*" + runId + "*").limit(500);
            do {
                KeyScanCursor<String> page = c.sync().scan(cursor, match);
                if (!page.getKeys().isEmpty()) {
                    c.sync().del(page.getKeys().toArray(new String[0]));
                }
                cursor = page;
            } while (!cursor.isFinished());
        }
    }

    public static class Ours extends Contention {
        final String runId = runId();
        RedisClient client;
        final List<RedisLockBackend> backends = new ArrayList<>();
        final List<LockService> services = new ArrayList<>();

        public Ours() {
            this(8, 1, BUDGET_8);
        }

        Ours(int processes, int names, int budget) {
            super(processes, names, budget);
        }

        @Override
        void open() {
            client = lettuce();
            for (int i = 0; i < processes; i++) {
                services.add(ours(client, runId, backends));
            }
        }

        @Override
        Mono<?> step(int c) {
            return services.get(c / names).withLock(name(runId + "-orders", c), criticalSection(c));
        }

        @Override
        void close() {
            for (LockService s : services) {
                s.disposeLater().block(Duration.ofSeconds(30));
            }
            for (RedisLockBackend b : backends) {
                b.close().block(Duration.ofSeconds(30));
            }
            deleteKeys(client, runId);
            client.shutdown();
        }
    }

    public static class Ours64x4 extends Ours {
        public Ours64x4() {
            super(4, 64, BUDGET_64X4);
        }
    }

    /** Redisson {@code RLock} or {@code RFairLock}, one client per process. */
    public abstract static class RedissonContenders extends Contention {
        final String runId = runId();
        final BiFunction<RedissonReactiveClient, String, RLockReactive> lockType;
        EventLoopGroup group;
        final List<RedissonClient> clients = new ArrayList<>();

        RedissonContenders(int processes, int names, int budget,
                           BiFunction<RedissonReactiveClient, String, RLockReactive> lockType) {
            super(processes, names, budget);
            this.lockType = lockType;
        }

        @Override
        void open() {
            group = eventLoops();
            for (int i = 0; i < processes; i++) {
                clients.add(redisson(group));
            }
        }

        @Override
        Mono<?> step(int c) {
            RLockReactive lock = lockType.apply(clients.get(c / names).reactive(), name(runId + "-orders", c));
            return lockUnlock(lock, 1_000L + c, criticalSection(c));
        }

        @Override
        void close() throws Exception {
            clients.forEach(RedissonClient::shutdown);
            deleteKeys(runId);
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    /** Lock, run {@code body}, unlock (also when the body failed): what {@code withLock} does for ours. */
    static Mono<Integer> lockUnlock(RLockReactive lock, long threadId, Mono<Integer> body) {
        return Mono.usingWhen(lock.lock(threadId).thenReturn(threadId), id -> body, id -> lock.unlock(id));
    }

    public static class RedissonLock extends RedissonContenders {
        public RedissonLock() {
            super(8, 1, BUDGET_8, RedissonReactiveClient::getLock);
        }
    }

    public static class RedissonLock64x4 extends RedissonContenders {
        public RedissonLock64x4() {
            super(4, 64, BUDGET_64X4, RedissonReactiveClient::getLock);
        }
    }

    public static class RedissonFairLock extends RedissonContenders {
        public RedissonFairLock() {
            super(8, 1, BUDGET_8, RedissonReactiveClient::getFairLock);
        }
    }

    public static class RedissonFairLock64x4 extends RedissonContenders {
        public RedissonFairLock64x4() {
            super(4, 64, BUDGET_64X4, RedissonReactiveClient::getFairLock);
        }
    }

    /** Spring Integration {@code RedisLockRegistry}, one connection factory and registry per process. */
    public abstract static class SpringRedis extends Contention {
        final String runId = runId();
        final RedisLockRegistry.RedisLockType type;
        ClientResources resources;
        final List<LettuceConnectionFactory> factories = new ArrayList<>();
        final List<RedisLockRegistry> registries = new ArrayList<>();
        ContenderThreads threads;

        SpringRedis(int processes, int names, int budget, RedisLockRegistry.RedisLockType type) {
            super(processes, names, budget);
            this.type = type;
        }

        @Override
        void open() {
            resources = DefaultClientResources.create();
            for (int i = 0; i < processes; i++) {
                LettuceConnectionFactory factory = SpringRedisLocks.connectionFactory(resources);
                factories.add(factory);
                registries.add(SpringRedisLocks.registry(factory, runId + "-registry", type));
            }
            threads = new ContenderThreads("redis-lock-registry", contenders());
        }

        @Override
        Mono<?> step(int c) {
            Lock lock = registries.get(c / names).obtain(name("orders", c));
            return threads.step(this, c, lock);
        }

        @Override
        void close() throws Exception {
            threads.close();
            registries.forEach(RedisLockRegistry::destroy);
            factories.forEach(LettuceConnectionFactory::destroy);
            deleteKeys(runId);
            resources.shutdown(0, 2, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
        }
    }

    public static class SpringRedisSpin extends SpringRedis {
        public SpringRedisSpin() {
            super(8, 1, BUDGET_8, RedisLockRegistry.RedisLockType.SPIN_LOCK);
        }
    }

    public static class SpringRedisSpin64x4 extends SpringRedis {
        public SpringRedisSpin64x4() {
            super(4, 64, BUDGET_64X4, RedisLockRegistry.RedisLockType.SPIN_LOCK);
        }
    }

    public static class SpringRedisPubSub extends SpringRedis {
        public SpringRedisPubSub() {
            super(8, 1, BUDGET_8, RedisLockRegistry.RedisLockType.PUB_SUB_LOCK);
        }
    }

    public static class SpringRedisPubSub64x4 extends SpringRedis {
        public SpringRedisPubSub64x4() {
            super(4, 64, BUDGET_64X4, RedisLockRegistry.RedisLockType.PUB_SUB_LOCK);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_8)
    public void ours_handoff8(Ours s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_8)
    public void redissonLock_handoff8(RedissonLock s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_8)
    public void redissonFairLock_handoff8(RedissonFairLock s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_8)
    public void springRedisLockRegistrySpin_handoff8(SpringRedisSpin s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_8)
    public void springRedisLockRegistryPubSub_handoff8(SpringRedisPubSub s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_64X4)
    public void ours_handoff64x4(Ours64x4 s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_64X4)
    public void redissonLock_handoff64x4(RedissonLock64x4 s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_64X4)
    public void redissonFairLock_handoff64x4(RedissonFairLock64x4 s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_64X4)
    public void springRedisLockRegistrySpin_handoff64x4(SpringRedisSpin64x4 s, OwnerChanges changes)
            throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_64X4)
    public void springRedisLockRegistryPubSub_handoff64x4(SpringRedisPubSub64x4 s, OwnerChanges changes)
            throws Exception {
        changes.ownerChanges += s.round();
    }

    /** Uncontended acquire + release latency, one caller, one name per candidate. */
    @State(Scope.Thread)
    public static class Single {
        final String runId = runId();
        RedisClient lettuce;
        final List<RedisLockBackend> backends = new ArrayList<>();
        LockService service;
        Mono<Integer> oursStep;
        EventLoopGroup group;
        RedissonClient redisson;
        Mono<Integer> redissonLockStep;
        Mono<Integer> redissonFairLockStep;

        @Setup(Level.Trial)
        public void setUp() {
            lettuce = lettuce();
            service = ours(lettuce, runId, backends);
            oursStep = service.withLock(runId + "-single", Mono.just(1));
            group = eventLoops();
            redisson = redisson(group);
            BiFunction<RLockReactive, Long, Mono<Integer>> step = (lock, id) -> lockUnlock(lock, id, Mono.just(1));
            redissonLockStep = step.apply(redisson.reactive().getLock(runId + "-single-lock"), 1_000L);
            redissonFairLockStep = step.apply(redisson.reactive().getFairLock(runId + "-single-fair"), 1_000L);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            service.disposeLater().block(Duration.ofSeconds(30));
            backends.forEach(b -> b.close().block(Duration.ofSeconds(30)));
            redisson.shutdown();
            deleteKeys(lettuce, runId);
            lettuce.shutdown();
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Integer ours_uncontended(Single s) {
        return s.oursStep.block(Duration.ofSeconds(30));
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Integer redissonLock_uncontended(Single s) {
        return s.redissonLockStep.block(Duration.ofSeconds(30));
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Integer redissonFairLock_uncontended(Single s) {
        return s.redissonFairLockStep.block(Duration.ofSeconds(30));
    }

    /** {@code RedisLockRegistry} uncontended, both modes on one connection factory, one caller. */
    @State(Scope.Thread)
    public static class SpringRedisSingle {
        final String runId = runId();
        ClientResources resources;
        LettuceConnectionFactory factory;
        RedisLockRegistry spinRegistry;
        RedisLockRegistry pubSubRegistry;
        Lock spin;
        Lock pubSub;

        @Setup(Level.Trial)
        public void setUp() {
            resources = DefaultClientResources.create();
            factory = SpringRedisLocks.connectionFactory(resources);
            spinRegistry = SpringRedisLocks.registry(factory, runId + "-spin", RedisLockRegistry.RedisLockType.SPIN_LOCK);
            pubSubRegistry = SpringRedisLocks.registry(factory, runId + "-pubsub",
                    RedisLockRegistry.RedisLockType.PUB_SUB_LOCK);
            spin = spinRegistry.obtain("single");
            pubSub = pubSubRegistry.obtain("single");
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            spinRegistry.destroy();
            pubSubRegistry.destroy();
            factory.destroy();
            deleteKeys(runId);
            resources.shutdown(0, 2, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void springRedisLockRegistrySpin_uncontended(SpringRedisSingle s) {
        s.spin.lock();
        s.spin.unlock();
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void springRedisLockRegistryPubSub_uncontended(SpringRedisSingle s) {
        s.pubSub.lock();
        s.pubSub.unlock();
    }
}
