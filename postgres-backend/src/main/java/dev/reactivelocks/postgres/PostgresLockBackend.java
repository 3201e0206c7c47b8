package dev.reactivelocks.postgres;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.LockBackend;
import io.r2dbc.postgresql.api.PostgresqlConnection;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcBadGrammarException;
import io.r2dbc.spi.R2dbcPermissionDeniedException;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Statement;
import io.r2dbc.spi.Wrapped;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.util.retry.Retry;

/**
 * A {@link LockBackend} on PostgreSQL through R2DBC: the STRONG store of
 * {@link dev.reactivelocks.distributed.DistributedLockService}.
 *
 * <pre>{@code
 * ConnectionFactory pool = new ConnectionPool(ConnectionPoolConfiguration.builder(
 *         ConnectionFactories.get("r2dbc:postgresql://app@db:5432/app")).maxSize(8).build());
 * LockBackend pg = PostgresLockBackend.create(pool, PostgresLockConfig.defaults());
 * LockService locks = DistributedLockService.builder(pg).lease(Duration.ofSeconds(30)).build();
 * }</pre>
 *
 * <p><b>Schema</b>: one row per grant, {@code (lock_key, token, mode, fencing, expires_at, acquired_at,
 * name)}, keyed by {@code (lock_key, token)} where {@code lock_key} is the SHA-256 of the name's UTF-16
 * code units: names of any length and characters (quotes, NUL, megabytes) are stored safely and never
 * collide. {@code name} keeps the UTF-8 bytes for people reading the table. Created on first use when
 * {@link PostgresLockConfig#createTable()} is on. Only parameterized SQL touches lock names.
 *
 * <p><b>Atomicity</b>: acquisition and renewal run in a short transaction that first takes a
 * transaction-scoped advisory lock on the name's key (released at commit; waiting for it and idling in the
 * transaction are bounded by the lease through {@code lock_timeout} and
 * {@code idle_in_transaction_session_timeout}, set for that transaction only), then decides in one statement:
 * expired rows of other owners are deleted, an exclusive request needs no live row, a shared request no
 * live exclusive row. Release is one compare-and-delete statement on {@code (lock_key, token)} that
 * notifies the channel {@code <table>_released} with the hexadecimal key.
 * Expiry is judged by {@code statement_timestamp()} of the server, never by the clients' clocks.
 *
 * <p><b>Durability</b>: grants and renewals commit synchronously (the server's {@code synchronous_commit}
 * setting applies), so a lease and its fencing token survive a server crash once acquired. A release commits
 * with {@code synchronous_commit = off} for its own transaction: it does not wait for its WAL flush (most of
 * its cost on an uncontended lock). Should the server crash in the few hundred milliseconds before that
 * flush, the released lease comes back and blocks the name until it expires, as if its holder had died;
 * exclusion is never weakened, because a later grant's synchronous commit flushes the release before it.
 *
 * <p><b>Fencing tokens</b> come from the sequence {@code <table>_fencing} ({@code CACHE 1}: per-session
 * caches would break the order), drawn inside the advisory lock, so they increase strictly per name across
 * all clients, takeovers included.
 *
 * <p><b>Wake-ups</b>: {@link #releases()} holds one connection of the factory in {@code LISTEN} (when the
 * factory's connections are PostgreSQL connections, pooled or not); it is opened at the first subscription,
 * shared by all subscribers, reopened after a failure, and emits {@link LockBackend#ANY_RELEASE} each time
 * it (re)starts listening. With a pool, size it for one connection more than the lock traffic needs.
 *
 * <p><b>Threading</b>: nothing blocks; results are signalled on the driver's event loop.
 */
public final class PostgresLockBackend implements LockBackend {

    private static final HexFormat HEX = HexFormat.of();

    private final ConnectionFactory connectionFactory;
    private final PostgresLockConfig config;
    private final int tableKey;
    private final Mono<Void> ready;
    private final Sinks.Empty<Void> closing = Sinks.empty();
    private final Flux<String> releases;
    private final String acquireSql;
    private final String renewSql;
    private final String releaseSql;

    private PostgresLockBackend(ConnectionFactory connectionFactory, PostgresLockConfig config) {
        this.connectionFactory = connectionFactory;
        this.config = config;
        this.tableKey = config.table().hashCode();
        String t = config.table();
        this.acquireSql = "WITH mine AS ("
                + " UPDATE " + t + " SET expires_at = statement_timestamp() + $4::float8 * interval '1 millisecond'"
                + " WHERE lock_key = $1 AND token = $2 RETURNING fencing, mode),"
                + " expired AS ("
                + " DELETE FROM " + t + " WHERE lock_key = $1 AND token <> $2 AND expires_at <= statement_timestamp()),"
                + " granted AS ("
                + " INSERT INTO " + t + " (lock_key, token, mode, fencing, expires_at, acquired_at, name)"
                + " SELECT $1, $2, $3, nextval('" + config.sequence() + "'),"
                + " statement_timestamp() + $4::float8 * interval '1 millisecond', statement_timestamp(), $5"
                + " WHERE NOT EXISTS (SELECT 1 FROM mine)"
                + " AND NOT EXISTS (SELECT 1 FROM " + t + " WHERE lock_key = $1 AND token <> $2"
                + " AND expires_at > statement_timestamp() AND ($3 = 'EXCLUSIVE' OR mode = 'EXCLUSIVE'))"
                + " RETURNING fencing, mode)"
                + " SELECT fencing, mode FROM mine UNION ALL SELECT fencing, mode FROM granted";
        this.renewSql = "UPDATE " + t + " SET expires_at = statement_timestamp() + $3::float8 * interval '1 millisecond'"
                + " WHERE lock_key = $1 AND token = $2 AND expires_at > statement_timestamp() RETURNING fencing";
        // The release commits without waiting for its WAL flush (for this statement's transaction only): losing
        // it in a server crash brings back a lease that then expires, while any later grant's synchronous commit
        // flushes the release before it.
        this.releaseSql = "WITH released AS (DELETE FROM " + t + " WHERE lock_key = $1 AND token = $2 RETURNING lock_key)"
                + " SELECT pg_notify($3, encode(lock_key, 'hex')), set_config('synchronous_commit', 'off', true)"
                + " FROM released";
        Mono<Void> schema = config.createTable() ? createSchema() : Mono.empty();
        this.ready = schema.cache(v -> Duration.ofMillis(Long.MAX_VALUE), error -> Duration.ZERO,
                () -> Duration.ofMillis(Long.MAX_VALUE));
        this.releases = listen().takeUntilOther(closing.asMono()).publish().refCount(1);
    }

    /**
     * A backend on {@code connectionFactory} (normally an {@code io.r2dbc.pool.ConnectionPool}). Nothing is
     * opened before the first use; the table is then created if missing and configured so.
     *
     * @param connectionFactory the R2DBC connection factory of the database shared by all clients
     * @param config table and schema creation
     * @return a new backend; {@link #close()} it when done
     */
    public static PostgresLockBackend create(ConnectionFactory connectionFactory, PostgresLockConfig config) {
        Objects.requireNonNull(connectionFactory, "connectionFactory");
        Objects.requireNonNull(config, "config");
        return new PostgresLockBackend(connectionFactory, config);
    }

    /**
     * A backend with {@link PostgresLockConfig#defaults()}.
     *
     * @param connectionFactory the R2DBC connection factory
     * @return a new backend
     */
    public static PostgresLockBackend create(ConnectionFactory connectionFactory) {
        return create(connectionFactory, PostgresLockConfig.defaults());
    }

    /**
     * Deletes the rows of leases that expired more than {@code olderThan} ago (by the database clock).
     * Expired rows are harmless (every acquisition of a name ignores and removes them), but names that are
     * never locked again leave theirs behind; run this periodically to keep the table small.
     *
     * @param connectionFactory the R2DBC connection factory
     * @param config the configuration naming the table
     * @param olderThan how long a lease must have been expired, zero or positive
     * @return a cold {@code Mono} of the number of rows deleted
     */
    public static Mono<Long> purgeExpired(ConnectionFactory connectionFactory, PostgresLockConfig config,
                                          Duration olderThan) {
        Objects.requireNonNull(connectionFactory, "connectionFactory");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(olderThan, "olderThan");
        if (olderThan.isNegative()) {
            throw new IllegalArgumentException("olderThan must be >= 0, was " + olderThan);
        }
        String sql = "DELETE FROM " + config.table()
                + " WHERE expires_at < statement_timestamp() - $1::float8 * interval '1 millisecond'";
        return Mono.usingWhen(connectionFactory.create(),
                c -> Flux.from(c.createStatement(sql).bind(0, (double) olderThan.toMillis()).execute())
                        .flatMap(Result::getRowsUpdated)
                        .reduce(0L, Long::sum),
                Connection::close);
    }

    /** @return the configuration */
    public PostgresLockConfig config() {
        return config;
    }

    @Override
    public Mono<BackendLease> tryAcquire(String name, LockMode mode, String token, Duration lease) {
        byte[] key = key(name);
        return ready.then(transaction(c -> advisoryLock(c, key, lease)
                        .then(Flux.from(c.createStatement(acquireSql)
                                        .bind(0, key).bind(1, token).bind(2, mode.name())
                                        .bind(3, (double) lease.toMillis())
                                        .bind(4, name.getBytes(StandardCharsets.UTF_8))
                                        .execute())
                                .flatMap(r -> r.map((row, md) -> BackendLease.of(name,
                                        LockMode.valueOf(Objects.requireNonNull(row.get("mode", String.class))),
                                        token, Objects.requireNonNull(row.get("fencing", Long.class)))))
                                .next()
                                .map(Optional::of)
                                .defaultIfEmpty(Optional.empty()))))
                .flatMap(Mono::justOrEmpty)
                .onErrorMap(e -> translate(name, e));
    }

    @Override
    public Mono<Boolean> renew(String name, String token, Duration lease) {
        byte[] key = key(name);
        return ready.then(transaction(c -> advisoryLock(c, key, lease)
                        .then(Flux.from(c.createStatement(renewSql)
                                        .bind(0, key).bind(1, token).bind(2, (double) lease.toMillis())
                                        .execute())
                                .flatMap(r -> r.map((row, md) -> Boolean.TRUE))
                                .hasElements())))
                .onErrorMap(e -> translate(name, e));
    }

    @Override
    public Mono<Boolean> release(String name, String token) {
        byte[] key = key(name);
        return ready.then(Mono.usingWhen(connectionFactory.create(),
                        c -> Flux.from(c.createStatement(releaseSql)
                                        .bind(0, key).bind(1, token).bind(2, config.channel())
                                        .execute())
                                .flatMap(r -> r.map((row, md) -> Boolean.TRUE))
                                .hasElements(),
                        Connection::close))
                .onErrorMap(e -> translate(name, e));
    }

    @Override
    public Flux<String> releases() {
        return releases;
    }

    /** @return the lower-case hexadecimal SHA-256 of the name's UTF-16 code units, as notified */
    @Override
    public String signalKey(String name) {
        return HEX.formatHex(key(name));
    }

    /** Stops listening for releases. Leases stay in the table. */
    @Override
    public Mono<Void> close() {
        return Mono.fromRunnable(closing::tryEmitEmpty);
    }

    @Override
    public String toString() {
        return "PostgresLockBackend{table=" + config.table() + "}";
    }

    static byte[] key(String name) {
        ByteBuffer utf16 = ByteBuffer.allocate(name.length() * 2);
        for (int i = 0; i < name.length(); i++) {
            utf16.putChar(name.charAt(i));
        }
        try {
            return MessageDigest.getInstance("SHA-256").digest(utf16.array());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    /**
     * Serializes the decisions about one name until commit. The same statement bounds, for this transaction
     * only, how long it may wait for that lock and how long it may sit idle (a frozen client must not keep
     * the name locked): both by the lease, at least one second.
     */
    private Mono<Void> advisoryLock(Connection c, byte[] key, Duration lease) {
        int objectKey = ByteBuffer.wrap(key).getInt();
        String limit = Long.toString(Math.max(1000, lease.toMillis()));
        return Flux.from(c.createStatement("SELECT set_config('lock_timeout', $3, true),"
                                + " set_config('idle_in_transaction_session_timeout', $3, true),"
                                + " pg_advisory_xact_lock($1, $2)")
                        .bind(0, tableKey).bind(1, objectKey).bind(2, limit).execute())
                .flatMap(r -> r.map((row, md) -> Boolean.TRUE))
                .then();
    }

    private Mono<Void> createSchema() {
        String t = config.table();
        return transaction(c -> Flux.from(c.createStatement("SELECT pg_advisory_xact_lock($1, 0)")
                                .bind(0, tableKey).execute())
                        .flatMap(r -> r.map((row, md) -> Boolean.TRUE))
                        .thenMany(execute(c, "CREATE SEQUENCE IF NOT EXISTS " + config.sequence() + " CACHE 1"))
                        .thenMany(execute(c, "CREATE TABLE IF NOT EXISTS " + t + " ("
                                + "lock_key bytea NOT NULL, "
                                + "token text NOT NULL, "
                                + "mode text NOT NULL CHECK (mode IN ('EXCLUSIVE', 'SHARED')), "
                                + "fencing bigint NOT NULL, "
                                + "expires_at timestamptz NOT NULL, "
                                + "acquired_at timestamptz NOT NULL, "
                                + "name bytea NOT NULL, "
                                + "PRIMARY KEY (lock_key, token))"))
                        .thenMany(execute(c, "CREATE INDEX IF NOT EXISTS " + config.index() + " ON " + t + " (expires_at)"))
                        .then(Mono.just(Boolean.TRUE)))
                .onErrorMap(e -> translate(config.table(), e))
                .then();
    }

    private static Flux<Long> execute(Connection c, String sql) {
        Statement statement = c.createStatement(sql);
        return Flux.from(statement.execute()).flatMap(Result::getRowsUpdated);
    }

    /** Runs {@code body} (which must emit one value) in a transaction: commit on success, else rollback. */
    private <T> Mono<T> transaction(Function<Connection, Mono<T>> body) {
        return Mono.usingWhen(connectionFactory.create(),
                c -> Mono.from(c.beginTransaction())
                        .then(Mono.defer(() -> body.apply(c)))
                        .flatMap(value -> Mono.from(c.commitTransaction()).thenReturn(value)),
                Connection::close,
                (c, error) -> rollbackAndClose(c),
                PostgresLockBackend::rollbackAndClose);
    }

    private static Mono<Void> rollbackAndClose(Connection c) {
        return Mono.from(c.rollbackTransaction()).onErrorResume(e -> Mono.empty())
                .then(Mono.from(c.close()).onErrorResume(e -> Mono.empty()));
    }

    /** Misconfiguration is permanent ({@code LockException}); everything else is left transient. */
    private Throwable translate(String name, Throwable error) {
        if (error instanceof R2dbcBadGrammarException || error instanceof R2dbcPermissionDeniedException) {
            LockConfigurationException e = new LockConfigurationException(name, "Lock '" + name
                    + "': the PostgreSQL lock table '" + config.table() + "' is not usable (" + error.getMessage()
                    + "); create it or enable PostgresLockConfig.createTable");
            e.addSuppressed(error);
            return e;
        }
        return error;
    }

    /**
     * One connection in LISTEN for as long as there are subscribers: emits ANY_RELEASE once listening,
     * then the keys of released locks; reopened when the connection fails or ends.
     */
    private Flux<String> listen() {
        return Flux.usingWhen(connectionFactory.create(),
                        c -> {
                            PostgresqlConnection pg = unwrap(c);
                            if (pg == null) {
                                return Flux.<String>never();
                            }
                            Flux<String> notifications = pg.getNotifications()
                                    .map(n -> {
                                        String p = n.getParameter();
                                        return p == null ? ANY_RELEASE : p;
                                    });
                            Mono<String> listening = Flux.from(pg.createStatement("LISTEN " + config.channel()).execute())
                                    .flatMap(Result::getRowsUpdated)
                                    .then(Mono.just(ANY_RELEASE));
                            return Flux.merge(notifications, listening);
                        },
                        Connection::close,
                        (c, error) -> Mono.from(c.close()).onErrorResume(e -> Mono.empty()),
                        c -> Mono.from(c.close()).onErrorResume(e -> Mono.empty()))
                .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(2)))
                .repeatWhen(ended -> ended.delayElements(Duration.ofMillis(100)));
    }

    private static @Nullable PostgresqlConnection unwrap(Connection c) {
        Object current = c;
        for (int i = 0; i < 8 && current != null; i++) {
            if (current instanceof PostgresqlConnection pg) {
                return pg;
            }
            current = current instanceof Wrapped<?> w ? w.unwrap() : null;
        }
        return null;
    }
}
