package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.servers.TestPostgres;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactories;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/** The PostgreSQL set-up shown in docs/src/main/asciidoc/distributed-locks.adoc, executed. */
class PostgresSetupExampleTest {

    @Test
    void theGuideShowsThisSampleVerbatim() throws java.io.IOException {
        String source = java.nio.file.Files.readString(java.nio.file.Path.of(
                "src/test/java/dev/reactivelocks/postgres/PostgresSetupExampleTest.java"));
        String region = source.substring(source.indexOf('\n', source.indexOf("// tag::" + "postgres-setup[]")) + 1,
                source.indexOf("        // end::" + "postgres-setup[]"));
        String sample = region.lines().map(l -> l.length() >= 8 ? l.substring(8) : l.strip())
                .collect(java.util.stream.Collectors.joining("\n"));
        String guide = java.nio.file.Files.readString(java.nio.file.Path.of("../docs/src/main/asciidoc/distributed-locks.adoc"));
        assertThat(guide).contains(sample);
    }

    @Test
    void setUpAsDocumented() {
        String url = TestPostgres.get().r2dbcUrl();   // the test server; fails naming the cause when there is none
        String table = PostgresTestSupport.uniqueTable("docs");
        // tag::postgres-setup[]
        ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration.builder(
                        ConnectionFactories.get(url))   // e.g. "r2dbc:postgresql://app:secret@db:5432/app"
                .maxSize(8)
                .build());
        PostgresLockConfig config = PostgresLockConfig.builder().table(table).build();   // created if missing
        PostgresLockBackend backend = PostgresLockBackend.create(pool, config);
        LockService locks = DistributedLockService.builder(backend)
                .lease(Duration.ofSeconds(30))
                .renewEvery(Duration.ofSeconds(10))
                .build();

        Mono<Long> purged = PostgresLockBackend.purgeExpired(pool, config, Duration.ofHours(1));   // e.g. hourly
        // end::postgres-setup[]
        try {
            assertThat(locks.withLock("docs", Mono.just("done")).block(Duration.ofSeconds(15))).isEqualTo("done");
            assertThat(purged.block(Duration.ofSeconds(15))).isZero();
        } finally {
            locks.disposeLater().block(Duration.ofSeconds(15));
            backend.close().block(Duration.ofSeconds(15));
            PostgresTestSupport.dropSchema(pool, config);
            pool.disposeLater().block(Duration.ofSeconds(15));
        }
    }
}
