package dev.reactivelocks.postgres;

import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.contract.WaitQueueContract;
import io.r2dbc.pool.ConnectionPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The rules of the SPI ({@link WaitQueueContract}), kept by {@link PostgresLockBackend} on the real server. Shown in
 * the testing guide as the way a backend runs them.
 */
// tag::backend-contract[]
class PostgresLockBackendContractTest extends WaitQueueContract {

    private static ConnectionPool factory;
    private static PostgresLockConfig config;
    private static PostgresLockBackend backend;

    @BeforeAll
    static void setUp() {
        factory = PostgresTestSupport.pool(PostgresTestSupport.factory("rl-backend-contract"));
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("contract")).build();
        backend = PostgresLockBackend.create(factory, config);
    }

    @AfterAll
    static void tearDown() {
        backend.close().block(WAIT);
        PostgresTestSupport.dropSchema(factory, config);
        factory.dispose();
    }

    @Override
    protected LockBackend backend() {
        return backend;
    }
}
// end::backend-contract[]
