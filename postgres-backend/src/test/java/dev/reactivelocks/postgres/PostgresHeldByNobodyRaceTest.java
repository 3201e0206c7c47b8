package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.contract.HeldByNobodyRaces;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * No name is left held by nobody by a grant racing its subscriber giving up, over PostgreSQL. Leases are
 * two minutes long, so a leaked grant cannot hide behind lease expiry.
 */
class PostgresHeldByNobodyRaceTest {

    /**
     * Races in the default build: each takes a few round trips to PostgreSQL, so this many keep the class within
     * the build's time budget; {@code -Ploops} runs a million. Each pattern still races hundreds of times.
     */
    private static final int RACES = 3_000;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private PostgresqlConnectionFactory factory;
    private ConnectionPool pool;
    private PostgresLockConfig config;
    private PostgresLockBackend backend;
    private DistributedLockService locks;
    private final HeldByNobodyRaces races = new HeldByNobodyRaces();

    @BeforeEach
    void setUp() {
        factory = PostgresTestSupport.factory("rl-nobody");
        pool = PostgresTestSupport.pool(factory);
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("nobody")).build();
        backend = PostgresLockBackend.create(pool, config);
        locks = DistributedLockService.builder(backend).lease(Duration.ofMinutes(2)).build();
    }

    @AfterEach
    void tearDown() {
        races.close();
        locks.disposeLater().block(WAIT);
        backend.close().block(WAIT);
        pool.disposeLater().block(WAIT);
        PostgresTestSupport.dropSchema(factory, config);
    }

    @Test
    void postgresLeavesNoNameHeldByNobody() {
        assertThat(races.run(locks, RACES, HeldByNobodyRaces.Pattern.values())).isEmpty();
    }

    @Test
    @Tag("loops")
    void postgresLeavesNoNameHeldByNobody_loop() {
        assertThat(races.run(locks, 1_000_000, HeldByNobodyRaces.Pattern.values())).isEmpty();
    }
}
