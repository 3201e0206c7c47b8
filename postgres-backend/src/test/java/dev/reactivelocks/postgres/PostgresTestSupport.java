package dev.reactivelocks.postgres;

import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Result;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** The test database: PostgreSQL on 127.0.0.1:5432, database {@code test}, user {@code postgres}, trust. */
final class PostgresTestSupport {

    static final String HOW_TO_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";

    private PostgresTestSupport() {
    }

    /** A connection factory whose connections carry {@code applicationName}, after checking the server is up. */
    static PostgresqlConnectionFactory factory(String applicationName) {
        return factory(applicationName, 5432);
    }

    static PostgresqlConnectionFactory factory(String applicationName, int port) {
        PostgresqlConnectionFactory factory = new PostgresqlConnectionFactory(PostgresqlConnectionConfiguration.builder()
                .host("127.0.0.1").port(port).username("postgres").database("test")
                .applicationName(applicationName)
                .connectTimeout(Duration.ofSeconds(5))
                .build());
        try {
            Mono.usingWhen(factory.create(), c -> Mono.from(c.createStatement("SELECT 1").execute()), c -> c.close())
                    .block(Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            throw new AssertionError("PostgreSQL is not reachable at r2dbc:postgresql://postgres@127.0.0.1:" + port + "/test ("
                    + e + "). These tests need it; start it with: " + HOW_TO_START, e);
        }
        return factory;
    }

    static ConnectionPool pool(ConnectionFactory factory) {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(factory)
                .initialSize(0).maxSize(8)
                .maxAcquireTime(Duration.ofSeconds(10))
                .build());
    }

    static String uniqueTable(String prefix) {
        return "rl_" + prefix + "_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
    }

    static void dropSchema(ConnectionFactory factory, PostgresLockConfig config) {
        run(factory, config.dropDdl().toArray(String[]::new));
    }

    static void run(ConnectionFactory factory, String... sql) {
        Mono.usingWhen(factory.create(),
                c -> Flux.fromArray(sql).concatMap(s -> Flux.from(c.createStatement(s).execute())
                        .flatMap(Result::getRowsUpdated)).then(),
                Connection::close).block(Duration.ofSeconds(30));
    }

    static <T> List<T> query(ConnectionFactory factory, String sql, Class<T> type, Object... params) {
        return Mono.usingWhen(factory.create(), c -> {
            var statement = c.createStatement(sql);
            for (int i = 0; i < params.length; i++) {
                statement.bind(i, params[i]);
            }
            return Flux.from(statement.execute()).flatMap(r -> r.map((row, md) -> row.get(0, type))).collectList();
        }, Connection::close).block(Duration.ofSeconds(30));
    }

    /** Terminates the server processes of every connection opened under {@code applicationName}. */
    static int terminate(ConnectionFactory admin, String applicationName) {
        return query(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                + " WHERE application_name = $1 AND pid <> pg_backend_pid()", Boolean.class, applicationName).size();
    }
}
