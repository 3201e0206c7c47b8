package dev.reactivelocks.benchmarks;

import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.postgres.PostgresLockBackend;
import dev.reactivelocks.postgres.PostgresLockConfig;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Comparison 5 (PostgreSQL part): the local PostgreSQL at 127.0.0.1:5432 (user postgres, database test).
 *
 * <p>Hand-offs: {@value Contenders#CONTENDERS} contenders on one name, each its own
 * {@code DistributedLockService} over its own {@code PostgresLockBackend} (as 8 processes would be), all on
 * one R2DBC pool; each loops {@code withLock(name, Mono.just(1))}; {@value Contenders#BUDGET} hand-offs per
 * invocation, grants per contender recorded for fairness. Baseline: {@value Contenders#CONTENDERS}
 * connections looping {@code SELECT pg_advisory_lock(k)} / {@code SELECT pg_advisory_unlock(k)}.
 * Uncontended: one acquire + release, ours versus advisory lock + unlock on one connection.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class PostgresBenchmark {

    static final String NAME = "bench-orders";
    static final long ADVISORY_KEY = 0x5EED_0001L;

    static PostgresqlConnectionFactory factory() {
        return new PostgresqlConnectionFactory(PostgresqlConnectionConfiguration.builder()
                .host("127.0.0.1").port(5432).username("postgres").database("test")
                .applicationName("reactive-locks-benchmarks").connectTimeout(Duration.ofSeconds(5)).build());
    }

    @State(Scope.Benchmark)
    public abstract static class Contenders {
        static final int CONTENDERS = 8;
        static final int BUDGET = 200;

        final AtomicInteger budget = new AtomicInteger();
        final int[] grants = new int[CONTENDERS];
        final Fairness fairness = new Fairness(CONTENDERS);
        final List<AsyncLoop> loops = new ArrayList<>();
        volatile CountDownLatch done = new CountDownLatch(0);
        volatile @Nullable Throwable failure;
        String benchmark = "";

        @Setup(Level.Trial)
        public void setUpTrial(BenchmarkParams params) throws Exception {
            benchmark = BenchmarkMain.shortName(params.getBenchmark());
            open();
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

        abstract void open() throws Exception;

        abstract Mono<?> step(int contender);

        abstract void close() throws Exception;

        final void setUpLoops() {
            for (int i = 0; i < CONTENDERS; i++) {
                int id = i;
                loops.add(new AsyncLoop() {
                    @Override
                    protected boolean startOne() {
                        if (budget.getAndDecrement() <= 0) {
                            return false;
                        }
                        step(id).subscribe(v -> { }, Contenders.this::fail, () -> {
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
        ConnectionPool pool;
        final List<PostgresLockBackend> backends = new ArrayList<>();
        final List<LockService> services = new ArrayList<>();
        final List<Mono<Integer>> steps = new ArrayList<>();

        @Override
        void open() {
            pool = new ConnectionPool(ConnectionPoolConfiguration.builder(factory())
                    .initialSize(0).maxSize(2 * CONTENDERS + 2).maxAcquireTime(Duration.ofSeconds(10)).build());
            PostgresLockConfig config = PostgresLockConfig.builder().table("rl_benchmarks").build();
            for (int i = 0; i < CONTENDERS; i++) {
                PostgresLockBackend backend = PostgresLockBackend.create(pool, config);
                LockService service = DistributedLockService.builder(backend).build();
                backends.add(backend);
                services.add(service);
                steps.add(service.withLock(NAME, Mono.just(1)));
            }
            setUpLoops();
        }

        @Override
        Mono<?> step(int contender) {
            return steps.get(contender);
        }

        @Override
        void close() {
            for (LockService s : services) {
                s.disposeLater().block(Duration.ofSeconds(30));
            }
            for (PostgresLockBackend b : backends) {
                b.close().block(Duration.ofSeconds(30));
            }
            pool.disposeLater().block(Duration.ofSeconds(30));
        }
    }

    public static class Advisory extends Contenders {
        final List<Connection> connections = new ArrayList<>();
        final List<Mono<Void>> steps = new ArrayList<>();

        @Override
        void open() {
            PostgresqlConnectionFactory factory = factory();
            for (int i = 0; i < CONTENDERS; i++) {
                Connection c = Mono.from(factory.create()).block(Duration.ofSeconds(10));
                connections.add(c);
                steps.add(advisoryLockUnlock(c));
            }
            setUpLoops();
        }

        @Override
        Mono<?> step(int contender) {
            return steps.get(contender);
        }

        @Override
        void close() {
            for (Connection c : connections) {
                Mono.from(c.close()).block(Duration.ofSeconds(10));
            }
        }
    }

    static Mono<Void> advisoryLockUnlock(Connection c) {
        return Flux.from(c.createStatement("SELECT pg_advisory_lock(" + ADVISORY_KEY + ")").execute())
                .flatMap(r -> r.map((row, meta) -> 1))
                .thenMany(Flux.from(c.createStatement("SELECT pg_advisory_unlock(" + ADVISORY_KEY + ")").execute())
                        .flatMap(r -> r.map((row, meta) -> row.get(0, Boolean.class))))
                .doOnNext(unlocked -> {
                    if (!unlocked) {
                        throw new IllegalStateException("pg_advisory_unlock returned false");
                    }
                })
                .then();
    }

    @Benchmark
    @OperationsPerInvocation(Contenders.BUDGET)
    public void ours_handoff8(Ours s) throws Exception {
        s.round();
    }

    @Benchmark
    @OperationsPerInvocation(Contenders.BUDGET)
    public void pgAdvisoryLock_handoff8(Advisory s) throws Exception {
        s.round();
    }

    /** Uncontended acquire + release latency, one caller. */
    @State(Scope.Thread)
    public static class Single {
        ConnectionPool pool;
        PostgresLockBackend backend;
        LockService service;
        Mono<Integer> oursStep;
        Connection connection;
        Mono<Void> advisoryStep;

        @Setup(Level.Trial)
        public void setUp() {
            pool = new ConnectionPool(ConnectionPoolConfiguration.builder(factory())
                    .initialSize(0).maxSize(4).maxAcquireTime(Duration.ofSeconds(10)).build());
            backend = PostgresLockBackend.create(pool, PostgresLockConfig.builder().table("rl_benchmarks").build());
            service = DistributedLockService.builder(backend).build();
            oursStep = service.withLock(NAME + "-single", Mono.just(1));
            connection = Mono.from(factory().create()).block(Duration.ofSeconds(10));
            advisoryStep = advisoryLockUnlock(connection);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            service.disposeLater().block(Duration.ofSeconds(30));
            backend.close().block(Duration.ofSeconds(30));
            pool.disposeLater().block(Duration.ofSeconds(30));
            Mono.from(connection.close()).block(Duration.ofSeconds(10));
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
    public void pgAdvisoryLock_uncontended(Single s) {
        s.advisoryStep.block(Duration.ofSeconds(30));
    }
}
