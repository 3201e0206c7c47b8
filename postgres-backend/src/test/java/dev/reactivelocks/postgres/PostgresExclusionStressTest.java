package dev.reactivelocks.postgres;

import dev.reactivelocks.testkit.contract.ExclusionUnderChaos;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Long run (profile {@code -Ploops}): four services with their own pools hammer one name, shared and
 * exclusive, while their connections are terminated at random; exclusion must hold throughout.
 */
@Tag("loops")
class PostgresExclusionStressTest {

    @Test
    void exclusionHoldsUnderConnectionTerminations_loop() {
        PostgresqlConnectionFactory admin = PostgresTestSupport.factory("rl-stress-admin");
        PostgresLockConfig config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("stress")).build();
        List<ConnectionPool> pools = new CopyOnWriteArrayList<>();
        try {
            ExclusionUnderChaos.run(app -> {
                ConnectionPool pool = PostgresTestSupport.pool(PostgresTestSupport.factory(app));
                pools.add(pool);
                return PostgresLockBackend.create(pool, config);
            }, app -> PostgresTestSupport.terminate(admin, app), Duration.ofMillis(700), 600, 501, Duration.ofMillis(2));
        } finally {
            pools.forEach(pool -> pool.disposeLater().block(Duration.ofSeconds(10)));
            PostgresTestSupport.dropSchema(admin, config);
        }
    }
}
