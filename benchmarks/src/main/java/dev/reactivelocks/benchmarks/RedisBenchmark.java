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
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import org.jspecify.annotations.Nullable;
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
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.redisson.Redisson;
import org.redisson.api.RLockReactive;
import org.redisson.api.RedissonClient;
import org.redisson.api.RedissonReactiveClient;
import org.redisson.config.Config;
import reactor.core.publisher.Mono;

/**
 * Comparison 5 (Redis part): the local Redis at 127.0.0.1:6379 (database 0).
 *
 * <p>Hand-offs: {@value Contenders#CONTENDERS} contenders on one name, each its own client as 8 processes
 * would be, each looping lock → release; {@value Contenders#BUDGET} hand-offs per invocation, grants per
 * contender recorded for fairness.
 * <ul>
 *   <li>ours: one {@code DistributedLockService} over its own {@code RedisLockBackend} per contender (two
 *       connections each: commands and pub/sub), all on one Lettuce {@code RedisClient};
 *       {@code withLock(name, Mono.just(1))}, lease 30 s renewed every 10 s (Redisson's watchdog
 *       defaults);</li>
 *   <li>Redisson {@code RLock} / {@code RFairLock}: one {@code RedissonClient} per contender (pool of 4
 *       command connections, 1 subscription connection), all on one shared 2-thread Netty event loop group
 *       (as Lettuce's default), reactive API {@code lock(threadId).then(unlock(threadId))} with the
 *       watchdog (no lease time).</li>
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

    /** A fresh id for the key names of one trial: {@code rlbench-<random>}. */
    static String runId() {
        return "rlbench-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static RedisClient lettuce() {
        return RedisClient.create();
    }

    static RedisURI uri() {
        return RedisURI.builder().withHost(HOST).withPort(PORT).withTimeout(Duration.ofSeconds(10)).build();
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
                .setSubscriptionConnectionMinimumIdleSize(1).setSubscriptionConnectionPoolSize(1);
        return Redisson.create(config);
    }

    static EventLoopGroup eventLoops() {
        return new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    /** Deletes the keys whose names contain {@code runId} (ours and Redisson's), nothing else. */
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

    @State(Scope.Benchmark)
    public abstract static class Contenders {
        static final int CONTENDERS = 8;
        static final int BUDGET = 500;

        final AtomicInteger budget = new AtomicInteger();
        final AtomicInteger inside = new AtomicInteger();
        final int[] grants = new int[CONTENDERS];
        final Fairness fairness = new Fairness(CONTENDERS);
        final List<AsyncLoop> loops = new ArrayList<>();
        final List<Mono<?>> steps = new ArrayList<>();
        final String runId = runId();
        final String name = runId + "-orders";
        volatile CountDownLatch done = new CountDownLatch(0);
        volatile @Nullable Throwable failure;
        String benchmark = "";

        @Setup(Level.Trial)
        public void setUpTrial(BenchmarkParams params) throws Exception {
            benchmark = BenchmarkMain.shortName(params.getBenchmark());
            open();
            for (int i = 0; i < CONTENDERS; i++) {
                int id = i;
                loops.add(new AsyncLoop() {
                    @Override
                    protected boolean startOne() {
                        if (budget.getAndDecrement() <= 0) {
                            return false;
                        }
                        steps.get(id).subscribe(v -> { }, Contenders.this::fail, () -> {
                            grants[id]++;
                            next();
                        });
                        return true;
                    }

                    @Override
                    protected void finished() {
                        done.countDown();
                    }
                });
            }
        }

        @Setup(Level.Iteration)
        public void setUpIteration(IterationParams params) {
            fairness.startIteration(params);
            Arrays.fill(grants, 0);
        }

        @TearDown(Level.Iteration)
        public void tearDownIteration() {
            fairness.endIteration(grants);
        }

        @TearDown(Level.Trial)
        public void tearDownTrial() throws Exception {
            fairness.write(benchmark);
            close();
        }

        /** Opens the clients and adds one step per contender to {@link #steps}. */
        abstract void open() throws Exception;

        abstract void close() throws Exception;

        /** The critical section: checks that it is alone (a lock that let two in fails the benchmark). */
        final Mono<Integer> criticalSection() {
            return Mono.fromCallable(() -> {
                if (inside.incrementAndGet() != 1) {
                    throw new IllegalStateException(benchmark + ": two contenders inside the critical section");
                }
                inside.decrementAndGet();
                return 1;
            });
        }

        final void round() throws Exception {
            budget.set(BUDGET);
            done = new CountDownLatch(CONTENDERS);
            loops.forEach(AsyncLoop::next);
            if (!done.await(120, TimeUnit.SECONDS)) {
                throw new IllegalStateException(benchmark + ": round did not finish in 120s");
            }
            Throwable f = failure;
            if (f != null) {
                throw new IllegalStateException(benchmark + " failed", f);
            }
        }

        final void fail(Throwable e) {
            failure = e;
            while (done.getCount() > 0) {
                done.countDown();
            }
        }
    }

    public static class Ours extends Contenders {
        RedisClient client;
        final List<RedisLockBackend> backends = new ArrayList<>();
        final List<LockService> services = new ArrayList<>();

        @Override
        void open() {
            client = lettuce();
            for (int i = 0; i < CONTENDERS; i++) {
                LockService service = ours(client, runId, backends);
                services.add(service);
                steps.add(service.withLock(name, criticalSection()));
            }
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

    /** Redisson {@code RLock} or {@code RFairLock}, one client per contender. */
    public abstract static class RedissonContenders extends Contenders {
        EventLoopGroup group;
        final List<RedissonClient> clients = new ArrayList<>();

        abstract RLockReactive lock(RedissonReactiveClient client, String name);

        @Override
        void open() {
            group = eventLoops();
            for (int i = 0; i < CONTENDERS; i++) {
                RedissonClient client = redisson(group);
                clients.add(client);
                RLockReactive lock = lock(client.reactive(), name);
                long threadId = 1_000 + i;
                steps.add(lockUnlock(lock, threadId, criticalSection()));
            }
        }

        @Override
        void close() throws Exception {
            clients.forEach(RedissonClient::shutdown);
            RedisClient client = lettuce();
            try {
                deleteKeys(client, runId);
            } finally {
                client.shutdown();
            }
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    /** Lock, run {@code body}, unlock (also when the body failed): what {@code withLock} does for ours. */
    static Mono<Integer> lockUnlock(RLockReactive lock, long threadId, Mono<Integer> body) {
        return Mono.usingWhen(lock.lock(threadId).thenReturn(threadId), id -> body, id -> lock.unlock(id));
    }

    public static class RedissonLock extends RedissonContenders {
        @Override
        RLockReactive lock(RedissonReactiveClient client, String name) {
            return client.getLock(name);
        }
    }

    public static class RedissonFairLock extends RedissonContenders {
        @Override
        RLockReactive lock(RedissonReactiveClient client, String name) {
            return client.getFairLock(name);
        }
    }

    @Benchmark
    @OperationsPerInvocation(Contenders.BUDGET)
    public void ours_handoff8(Ours s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Contenders.BUDGET)
    public void redissonLock_handoff8(RedissonLock s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Contenders.BUDGET)
    public void redissonFairLock_handoff8(RedissonFairLock s) throws Exception {
        s.round();
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
}
