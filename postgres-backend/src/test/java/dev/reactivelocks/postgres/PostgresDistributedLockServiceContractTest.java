package dev.reactivelocks.postgres;

import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.contract.LockServiceContract;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/** The core contract, run by {@link DistributedLockService} over PostgreSQL. */
class PostgresDistributedLockServiceContractTest extends LockServiceContract {

    private static PostgresqlConnectionFactory factory;
    private static ConnectionPool pool;
    private static PostgresLockConfig config;
    private PostgresLockBackend backend;

    @BeforeAll
    static void setUp() {
        factory = PostgresTestSupport.factory("rl-contract");
        pool = PostgresTestSupport.pool(factory);
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("contract")).build();
        // the schema exists before the first test, whose 2-second leases must not pay for creating it
        PostgresLockBackend warmUp = PostgresLockBackend.create(pool, config);
        warmUp.release("warm-up", "none").then(warmUp.close()).block(WAIT);
    }

    @AfterAll
    static void tearDown() {
        pool.disposeLater().block(WAIT);
        PostgresTestSupport.dropSchema(factory, config);
    }

    @AfterEach
    void closeBackend() {
        backend.close().block(WAIT);
        PostgresTestSupport.run(factory, "DELETE FROM " + config.table());
    }

    @Override
    protected LockService createService() {
        backend = PostgresLockBackend.create(pool, config);
        return DistributedLockService.builder(backend)
                .lease(Duration.ofSeconds(2)).renewEvery(Duration.ofMillis(500)).build();
    }

    @Override
    protected Duration quietPeriod() {
        return Duration.ofMillis(300);
    }

    @Override
    protected int raceIterations() {
        return 25;
    }

    @Override
    protected int contentionOps() {
        return 40;
    }
}
