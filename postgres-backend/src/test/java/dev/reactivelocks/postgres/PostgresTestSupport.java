package dev.reactivelocks.postgres;

import dev.reactivelocks.testkit.servers.TestPostgres;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Statement;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The test database: the PostgreSQL server of this JVM ({@link TestPostgres}: {@code REACTIVE_LOCKS_TEST_POSTGRES},
 * else 127.0.0.1:5432, else an embedded server), and helpers for tables and connections.
 */
final class PostgresTestSupport {

    private PostgresTestSupport() {
    }

    /** A connection factory whose connections carry {@code applicationName}, after checking the server is up. */
    static PostgresqlConnectionFactory factory(String applicationName) {
        return TestPostgres.get().connectionFactory(applicationName);
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

    /**
     * Another session takes the decision lock of {@code name} (the advisory lock the functions take) and sits
     * in its transaction, as a frozen client of an earlier version would.
     *
     * @return once the lock is taken: ends the transaction (commits) when disposed
     */
    static Disposable holdNameLock(ConnectionFactory factory, PostgresLockConfig config, String name) {
        int objectKey = ByteBuffer.wrap(PostgresLockBackend.key(name)).getInt();
        return inOpenTransaction(factory, c -> c.createStatement("SELECT pg_advisory_xact_lock($1, $2)")
                .bind(0, new PostgresLockSchema(config).tableKey()).bind(1, objectKey));
    }

    /**
     * Another session runs {@code statement} in a transaction and sits in it, keeping the locks it took.
     *
     * @return once the statement ran: ends the transaction (commits) when disposed
     */
    static Disposable inOpenTransaction(ConnectionFactory factory, Function<Connection, Statement> statement) {
        Sinks.Empty<Void> finish = Sinks.empty();
        Sinks.Empty<Void> ran = Sinks.empty();
        Disposable holder = Mono.usingWhen(factory.create(), c -> Mono.from(c.beginTransaction())
                        .thenMany(statement.apply(c).execute())
                        .flatMap(Result::getRowsUpdated)
                        .then(Mono.fromRunnable(ran::tryEmitEmpty))
                        .then(finish.asMono())
                        .then(Mono.from(c.commitTransaction())),
                Connection::close).subscribe();
        ran.asMono().block(Duration.ofSeconds(30));
        return () -> {
            finish.tryEmitEmpty();
            holder.dispose();
        };
    }

    /** Terminates the server processes of every connection opened under {@code applicationName}. */
    static int terminate(ConnectionFactory admin, String applicationName) {
        return query(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                + " WHERE application_name = $1 AND pid <> pg_backend_pid()", Boolean.class, applicationName).size();
    }
}
