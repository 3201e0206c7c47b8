package dev.reactivelocks.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.postgres.PostgresLockBackend;
import dev.reactivelocks.postgres.PostgresLockConfig;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
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
import org.springframework.integration.jdbc.lock.JdbcLockRegistry;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Comparison 5 (PostgreSQL part): the local PostgreSQL at 127.0.0.1:5432 (user postgres, database test).
 *
 * <p>Hand-offs ({@link Contention}): {@code *_handoff8} is 8 contenders on one name, one per simulated
 * process, {@value #BUDGET_8} grants per invocation; {@code *_handoff64x4} is 4 processes × 64 names (4
 * contenders per name), {@value #BUDGET_64X4} grants per invocation, every candidate on
 * {@value #POOL_64X4} connections per process. The primary score is grants per second, the secondary
 * {@code ownerChanges} the grants that went to another contender than the name's previous holder (the true
 * hand-offs); grants per contender are recorded for fairness.
 * <ul>
 *   <li>ours: one {@code DistributedLockService} over its own {@code PostgresLockBackend} per process, all on
 *       one R2DBC pool ({@value #OURS_POOL_8} connections with one name); each contender loops
 *       {@code withLock(name, criticalSection)};</li>
 *   <li>session {@code pg_advisory_lock(k)} / {@code pg_advisory_unlock(k)}: with one name, one connection per
 *       contender; with 64 names, an R2DBC pool per process, a connection held from lock to unlock (a session
 *       lock needs it);</li>
 *   <li>Spring Integration {@code JdbcLockRegistry} ({@link SpringJdbcLocks}): one registry, repository and
 *       HikariCP pool per process ({@value #JDBC_POOL_8} connections each with one name), each contender on
 *       its own platform thread ({@link ContenderThreads}) looping {@code lock()} / {@code unlock()}.</li>
 * </ul>
 * Uncontended: one caller's acquire + release, ours versus advisory lock + unlock on one connection and
 * {@code JdbcLockRegistry}. {@code durableCommit}: a one-row autocommit {@code INSERT} on one JDBC connection
 * ({@code durableCommit_r2dbc}: on one R2DBC connection), into a table of its own dropped at the end of the
 * trial; what a hand-off would reach if it cost one commit.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class PostgresBenchmark {

    static final String NAME = "bench-orders";
    static final long ADVISORY_KEY = 0x5EED_0001L;
    static final int BUDGET_8 = 200;
    static final int BUDGET_64X4 = 1_024;
    static final int OURS_POOL_8 = 18;
    static final int JDBC_POOL_8 = 2;
    static final int POOL_64X4 = 8;
    /**
     * Warm-up iterations of the uncontended rows: ours reaches its steady state only after about seven of
     * two seconds (the JIT compiles the driver's and our path late), so the class's five left it 10-20 %
     * slow; every candidate of that shape gets the same.
     */
    static final int UNCONTENDED_WARMUPS = 10;

    static PostgresqlConnectionFactory factory() {
        return new PostgresqlConnectionFactory(PostgresqlConnectionConfiguration.builder()
                .host("127.0.0.1").port(5432).username("postgres").database("test")
                .applicationName("reactive-locks-benchmarks").connectTimeout(Duration.ofSeconds(5)).build());
    }

    static ConnectionPool pool(int maxSize) {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(factory())
                .initialSize(0).maxSize(maxSize).maxAcquireTime(Duration.ofSeconds(10)).build());
    }

    /** A fresh id for one trial's names (a JDBC region, a table). */
    static String runId() {
        return "rlbench_" + UUID.randomUUID().toString().substring(0, 8);
    }

    public static class Ours extends Contention {
        ConnectionPool pool;
        final List<PostgresLockBackend> backends = new ArrayList<>();
        final List<LockService> services = new ArrayList<>();

        public Ours() {
            this(8, 1, BUDGET_8);
        }

        Ours(int processes, int names, int budget) {
            super(processes, names, budget);
        }

        @Override
        void open() {
            pool = pool(names == 1 ? OURS_POOL_8 : POOL_64X4 * processes);
            PostgresLockConfig config = PostgresLockConfig.builder().table("rl_benchmarks").build();
            for (int i = 0; i < processes; i++) {
                PostgresLockBackend backend = PostgresLockBackend.create(pool, config);
                backends.add(backend);
                services.add(DistributedLockService.builder(backend).build());
            }
        }

        @Override
        Mono<?> step(int c) {
            return services.get(c / names).withLock(name(NAME, c), criticalSection(c));
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

    public static class Ours64x4 extends Ours {
        public Ours64x4() {
            super(4, 64, BUDGET_64X4);
        }
    }

    public static class Advisory extends Contention {
        final List<Connection> connections = new ArrayList<>();
        final List<ConnectionPool> pools = new ArrayList<>();

        public Advisory() {
            this(8, 1, BUDGET_8);
        }

        Advisory(int processes, int names, int budget) {
            super(processes, names, budget);
        }

        @Override
        void open() {
            PostgresqlConnectionFactory factory = factory();
            for (int i = 0; i < processes; i++) {
                if (names == 1) {
                    connections.add(Mono.from(factory.create()).block(Duration.ofSeconds(10)));
                } else {
                    pools.add(pool(POOL_64X4));
                }
            }
        }

        @Override
        Mono<?> step(int c) {
            long key = ADVISORY_KEY + c % names;
            if (names == 1) {
                return advisoryLockUnlock(connections.get(c), key, criticalSection(c));
            }
            return Mono.usingWhen(pools.get(c / names).create(),
                    connection -> advisoryLockUnlock(connection, key, criticalSection(c)), Connection::close);
        }

        @Override
        void close() {
            for (Connection c : connections) {
                Mono.from(c.close()).block(Duration.ofSeconds(10));
            }
            for (ConnectionPool p : pools) {
                p.disposeLater().block(Duration.ofSeconds(30));
            }
        }
    }

    public static class Advisory64x4 extends Advisory {
        public Advisory64x4() {
            super(4, 64, BUDGET_64X4);
        }
    }

    /** Session advisory lock {@code key}, {@code body}, unlock (which must report that the lock was held). */
    static Mono<Boolean> advisoryLockUnlock(Connection c, long key, Mono<?> body) {
        return Flux.from(c.createStatement("SELECT pg_advisory_lock(" + key + ")").execute())
                .flatMap(r -> r.map((row, meta) -> 1))
                .then(body)
                .thenMany(Flux.from(c.createStatement("SELECT pg_advisory_unlock(" + key + ")").execute())
                        .flatMap(r -> r.map((row, meta) -> row.get(0, Boolean.class))))
                .single()
                .doOnNext(unlocked -> {
                    if (!unlocked) {
                        throw new IllegalStateException("pg_advisory_unlock returned false");
                    }
                });
    }

    public static class SpringJdbc extends Contention {
        final String region = runId();
        final List<HikariDataSource> dataSources = new ArrayList<>();
        final List<JdbcLockRegistry> registries = new ArrayList<>();
        ContenderThreads threads;

        public SpringJdbc() {
            this(8, 1, BUDGET_8);
        }

        SpringJdbc(int processes, int names, int budget) {
            super(processes, names, budget);
        }

        @Override
        void open() throws SQLException {
            for (int i = 0; i < processes; i++) {
                HikariDataSource dataSource = SpringJdbcLocks.dataSource(region + "-" + i,
                        names == 1 ? JDBC_POOL_8 : POOL_64X4);
                dataSources.add(dataSource);
                registries.add(SpringJdbcLocks.registry(dataSource, region));
            }
            SpringJdbcLocks.createTable(dataSources.get(0));
            threads = new ContenderThreads("jdbc-lock-registry", contenders());
        }

        @Override
        Mono<?> step(int c) {
            Lock lock = registries.get(c / names).obtain(name(NAME, c));
            return threads.step(this, c, lock);
        }

        @Override
        void close() throws Exception {
            threads.close();
            SpringJdbcLocks.deleteRegion(dataSources.get(0), region);
            dataSources.forEach(HikariDataSource::close);
        }
    }

    public static class SpringJdbc64x4 extends SpringJdbc {
        public SpringJdbc64x4() {
            super(4, 64, BUDGET_64X4);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_8)
    public void ours_handoff8(Ours s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_8)
    public void pgAdvisoryLock_handoff8(Advisory s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_8)
    public void springJdbcLockRegistry_handoff8(SpringJdbc s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_64X4)
    public void ours_handoff64x4(Ours64x4 s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_64X4)
    public void pgAdvisoryLock_handoff64x4(Advisory64x4 s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    @Benchmark
    @OperationsPerInvocation(BUDGET_64X4)
    public void springJdbcLockRegistry_handoff64x4(SpringJdbc64x4 s, OwnerChanges changes) throws Exception {
        changes.ownerChanges += s.round();
    }

    /** Uncontended acquire + release latency, one caller. */
    @State(Scope.Thread)
    public static class Single {
        ConnectionPool pool;
        PostgresLockBackend backend;
        LockService service;
        Mono<Integer> oursStep;
        Connection connection;
        Mono<Boolean> advisoryStep;

        @Setup(Level.Trial)
        public void setUp() {
            pool = pool(4);
            backend = PostgresLockBackend.create(pool, PostgresLockConfig.builder().table("rl_benchmarks").build());
            service = DistributedLockService.builder(backend).build();
            oursStep = service.withLock(NAME + "-single", Mono.just(1));
            connection = Mono.from(factory().create()).block(Duration.ofSeconds(10));
            advisoryStep = advisoryLockUnlock(connection, ADVISORY_KEY, Mono.just(1));
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            service.disposeLater().block(Duration.ofSeconds(30));
            backend.close().block(Duration.ofSeconds(30));
            pool.disposeLater().block(Duration.ofSeconds(30));
            Mono.from(connection.close()).block(Duration.ofSeconds(10));
        }
    }

    @Warmup(iterations = UNCONTENDED_WARMUPS, time = 2)
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Integer ours_uncontended(Single s) {
        return s.oursStep.block(Duration.ofSeconds(30));
    }

    @Warmup(iterations = UNCONTENDED_WARMUPS, time = 2)
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Boolean pgAdvisoryLock_uncontended(Single s) {
        return s.advisoryStep.block(Duration.ofSeconds(30));
    }

    /** {@code JdbcLockRegistry} uncontended: one registry on a pool of 2 connections, one caller. */
    @State(Scope.Thread)
    public static class SpringJdbcSingle {
        final String region = runId();
        HikariDataSource dataSource;
        Lock lock;

        @Setup(Level.Trial)
        public void setUp() throws SQLException {
            dataSource = SpringJdbcLocks.dataSource(region, 2);
            SpringJdbcLocks.createTable(dataSource);
            lock = SpringJdbcLocks.registry(dataSource, region).obtain(NAME + "-single");
        }

        @TearDown(Level.Trial)
        public void tearDown() throws SQLException {
            SpringJdbcLocks.deleteRegion(dataSource, region);
            dataSource.close();
        }
    }

    @Warmup(iterations = UNCONTENDED_WARMUPS, time = 2)
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void springJdbcLockRegistry_uncontended(SpringJdbcSingle s) {
        s.lock.lock();
        s.lock.unlock();
    }

    /**
     * One-row autocommit inserts into a table of this trial ({@code rlbench_<id>_commit (v bigint)}, no index),
     * through JDBC and through R2DBC, each on one connection.
     */
    @State(Scope.Thread)
    public static class Commit {
        final String table = runId() + "_commit";
        java.sql.Connection jdbc;
        PreparedStatement insert;
        Connection r2dbc;
        Mono<Long> r2dbcInsert;
        long value;

        @Setup(Level.Trial)
        public void setUp() throws SQLException {
            jdbc = DriverManager.getConnection(SpringJdbcLocks.URL, SpringJdbcLocks.USER, "");
            jdbc.setAutoCommit(true);
            try (Statement s = jdbc.createStatement()) {
                s.execute("CREATE TABLE " + table + " (v bigint NOT NULL)");
            }
            insert = jdbc.prepareStatement("INSERT INTO " + table + " (v) VALUES (?)");
            r2dbc = Mono.from(factory().create()).block(Duration.ofSeconds(10));
            r2dbcInsert = Mono.defer(() -> Flux.from(r2dbc.createStatement("INSERT INTO " + table + " (v) VALUES ($1)")
                            .bind("$1", ++value).execute())
                    .flatMap(r -> r.getRowsUpdated())
                    .single());
        }

        @TearDown(Level.Trial)
        public void tearDown() throws SQLException {
            Mono.from(r2dbc.close()).block(Duration.ofSeconds(10));
            insert.close();
            try (Statement s = jdbc.createStatement()) {
                s.execute("DROP TABLE " + table);
            }
            jdbc.close();
        }
    }

    /** One durable commit per operation (JDBC): the bound of a hand-off that costs one commit. */
    @Benchmark
    public int durableCommit(Commit s) throws SQLException {
        s.insert.setLong(1, ++s.value);
        return s.insert.executeUpdate();
    }

    /** {@link #durableCommit} through R2DBC. */
    @Benchmark
    public Long durableCommit_r2dbc(Commit s) {
        return s.r2dbcInsert.block(Duration.ofSeconds(30));
    }
}
