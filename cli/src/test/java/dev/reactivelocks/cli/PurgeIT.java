package dev.reactivelocks.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.postgres.PostgresLockBackend;
import dev.reactivelocks.postgres.PostgresLockConfig;
import dev.reactivelocks.testkit.servers.TestPostgres;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@code reactive-locks purge} from the real jar against the test servers ({@link TestPostgres}, {@link TestRedis}:
 * configured, local or embedded), on a table and a key prefix of its own.
 */
@Timeout(90)
class PurgeIT {

    private static final String URL = TestPostgres.get().url();
    private static final String REDIS_URL = TestRedis.get().url();
    private static final Duration BLOCK = Duration.ofSeconds(20);

    @TempDir
    Path work;

    private final String table = "cli_purge_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12)
            .toLowerCase(Locale.ROOT);
    private final ConnectionFactory factory = TestPostgres.get().connectionFactory("cli-purge-it");

    @AfterEach
    void dropTable() {
        execute(PostgresLockConfig.builder().table(table).build().dropDdl().toArray(String[]::new));
    }

    @Test
    void purgeDeletesTheLeasesExpiredLongerAgoThanOlderThanAndKeepsTheOthers() throws Exception {
        PostgresLockConfig config = PostgresLockConfig.builder().table(table).build();
        PostgresLockBackend backend = PostgresLockBackend.create(factory, config);
        try {
            for (String name : List.of("live", "expired-long-ago-1", "expired-long-ago-2", "expired-just-now")) {
                assertThat(backend.tryAcquire(name, LockMode.EXCLUSIVE, "token-" + name, Duration.ofMinutes(10))
                        .block(BLOCK)).as("lease of %s", name).isNotNull();
            }
        } finally {
            backend.close().block(BLOCK);
        }
        execute("UPDATE " + table + " SET expires_at = statement_timestamp() - interval '2 hours'"
                        + " WHERE token IN ('token-expired-long-ago-1', 'token-expired-long-ago-2')",
                "UPDATE " + table + " SET expires_at = statement_timestamp() - interval '1 minute'"
                        + " WHERE token = 'token-expired-just-now'");

        CliJar.Result result = CliJar.run(work, "purge", "--table", table, "--older-than", "1h", URL);

        assertThat(result.stderr()).isEmpty();
        assertThat(result.exitCode()).isEqualTo(0);
        assertThat(result.stdout()).isEqualTo("purged 2 expired leases from table " + table + "\n");
        assertThat(tokens()).containsExactly("token-expired-just-now", "token-live");
    }

    /**
     * Runs {@code test} on a Redis backend under a new prefix where the name "shared" has a live shared lease
     * ("token-long", ten minutes) and one that Redis reports expired ("token-short").
     */
    private void withAnExpiredSharedLease(RedisTest test) throws Exception {
        String prefix = "cli-purge-" + UUID.randomUUID() + ":";
        io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create();
        dev.reactivelocks.redis.RedisLockBackend backend = dev.reactivelocks.redis.RedisLockBackend.create(client,
                TestRedis.get().uri("cli-purge-it"),
                dev.reactivelocks.redis.RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO)
                        .build());
        try {
            assertThat(backend.tryAcquire("shared", LockMode.SHARED, "token-short", Duration.ofMillis(100))
                    .block(BLOCK)).isNotNull();
            assertThat(backend.tryAcquire("shared", LockMode.SHARED, "token-long", Duration.ofMinutes(10))
                    .block(BLOCK)).isNotNull();
            // the short lease expires by the Redis clock; wait until Redis itself reports it expired
            long deadline = System.nanoTime() + BLOCK.toNanos();
            while (backend.leases().filter(l -> l.token().equals("token-short") && !l.isLive()).hasElements()
                    .block(BLOCK) != Boolean.TRUE && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            test.run(backend, prefix);
            backend.release("shared", "token-long").block(BLOCK);
        } finally {
            backend.close().block(BLOCK);
            TestRedis.shutdown(client);
        }
    }

    private interface RedisTest {
        void run(dev.reactivelocks.redis.RedisLockBackend backend, String prefix) throws Exception;
    }

    @Test
    void purgeOfARedisBackendDeletesExpiredSharedLeasesAndKeepsLiveOnes() throws Exception {
        withAnExpiredSharedLease((backend, prefix) -> {
            CliJar.Result result = CliJar.run(work, "purge", "--key-prefix", prefix, REDIS_URL);

            assertThat(result.stderr()).isEmpty();
            assertThat(result.exitCode()).isEqualTo(0);
            assertThat(result.stdout()).isEqualTo("purged 1 expired lease under key prefix " + prefix + "\n");
            assertThat(backend.leases().map(l -> l.token()).collectList().block(BLOCK)).containsExactly("token-long");
        });
    }

    @Test
    void purgeOfRedisWithOlderThanKeepsLeasesThatExpiredMoreRecently() throws Exception {
        withAnExpiredSharedLease((backend, prefix) -> {
            CliJar.Result recent = CliJar.run(work, "purge", "--older-than", "1h", "--key-prefix", prefix, REDIS_URL);
            assertThat(recent.stderr()).isEmpty();
            assertThat(recent.exitCode()).isEqualTo(0);
            assertThat(recent.stdout()).isEqualTo("purged 0 expired leases under key prefix " + prefix + "\n");
            assertThat(backend.leases().map(l -> l.token()).collectList().block(BLOCK))
                    .containsExactlyInAnyOrder("token-long", "token-short");

            CliJar.Result old = CliJar.run(work, "purge", "--older-than", "50ms", "--key-prefix", prefix, REDIS_URL);
            assertThat(old.exitCode()).isEqualTo(0);
            assertThat(old.stdout()).isEqualTo("purged 1 expired lease under key prefix " + prefix + "\n");
            assertThat(backend.leases().map(l -> l.token()).collectList().block(BLOCK)).containsExactly("token-long");
        });
    }

    @Test
    void purgeOfAnUnreachableRedisFailsWithExitCode1AndHidesItsPassword() throws Exception {
        CliJar.Result unreachable = CliJar.run(work, "purge", "redis://s3cret@127.0.0.1:1");
        assertThat(unreachable.exitCode()).isEqualTo(1);
        assertThat(unreachable.stderr()).startsWith("reactive-locks purge: cannot purge expired leases under key"
                + " prefix 'reactivelocks:' of redis://***@127.0.0.1:1: ").doesNotContain("s3cret");
    }

    /**
     * Netty took its machine id from a network interface's hardware address and, on a machine with none
     * (only loopback), logged a warning on standard error on every run. The jar's {@code main} sets the id
     * before Netty loads, unless the user did: Netty's debug log says which value it took and from where.
     */
    @Test
    void nettyTakesTheMachineIdFromTheToolOrTheUserAndProbesNoNetworkInterface() throws Exception {
        Path logging = Files.writeString(work.resolve("logging.properties"), String.join("\n",
                "handlers=java.util.logging.ConsoleHandler",
                "java.util.logging.ConsoleHandler.level=FINE",
                "io.netty.channel.DefaultChannelId.level=FINE",
                "io.netty.util.internal.MacAddressUtil.level=FINE"));
        String options = "-Djava.util.logging.config.file=" + logging;

        CliJar.Result tool = CliJar.run(work, Map.of("JAVA_TOOL_OPTIONS", options), "purge", "redis://127.0.0.1:1");
        assertThat(tool.exitCode()).isEqualTo(1);
        assertThat(tool.stderr())
                .containsPattern("-Dio\\.netty\\.machineId: [0-9a-f]{2}(:[0-9a-f]{2}){7} \\(user-set\\)")
                .doesNotContain("machineId: auto-detected", "hardware address")
                .doesNotContainPattern("machineId: .* \\(auto-detected\\)");

        CliJar.Result user = CliJar.run(work,
                Map.of("JAVA_TOOL_OPTIONS", options + " -Dio.netty.machineId=02-00-5e-10-00-01"),
                "purge", "redis://127.0.0.1:1");
        assertThat(user.exitCode()).isEqualTo(1);
        assertThat(user.stderr()).contains("-Dio.netty.machineId: 02-00-5e-10-00-01 (user-set)");
    }

    @Test
    void purgeOfAnUnreachableDatabaseFailsWithExitCode1AndHidesThePassword() throws Exception {
        CliJar.Result result = CliJar.run(work, "purge", "postgresql://postgres:s3cret@127.0.0.1:1/test");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.stdout()).isEmpty();
        assertThat(result.stderr()).startsWith("reactive-locks purge: cannot purge expired leases from table"
                + " 'reactive_locks' of postgresql://postgres:***@127.0.0.1:1/test: ").doesNotContain("s3cret");
    }

    private List<String> tokens() {
        return Mono.usingWhen(factory.create(),
                c -> Flux.from(c.createStatement("SELECT token FROM " + table + " ORDER BY token").execute())
                        .flatMap(r -> r.map((row, md) -> row.get(0, String.class)))
                        .collectList(),
                Connection::close).block(BLOCK);
    }

    private void execute(String... statements) {
        Mono.usingWhen(factory.create(),
                c -> Flux.fromArray(statements)
                        .concatMap(sql -> Flux.from(c.createStatement(sql).execute()).flatMap(Result::getRowsUpdated))
                        .then(),
                Connection::close).block(BLOCK);
    }
}
