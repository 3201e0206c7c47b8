package dev.reactivelocks.postgres;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.HandOff;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.spi.Permits;
import dev.reactivelocks.spi.StoredLease;
import dev.reactivelocks.spi.StoredLock;
import io.r2dbc.postgresql.api.PostgresqlConnection;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcBadGrammarException;
import io.r2dbc.spi.R2dbcException;
import io.r2dbc.spi.R2dbcPermissionDeniedException;
import io.r2dbc.spi.R2dbcTransientResourceException;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.RowMetadata;
import io.r2dbc.spi.Statement;
import io.r2dbc.spi.Wrapped;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
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
 * collide. {@code name} keeps the UTF-8 bytes for people reading the table (half a surrogate pair as the
 * three bytes of its code unit). Waiters wait in the unlogged
 * table {@code <table>_queue}; the work is done by server-side functions (see
 * {@link PostgresLockConfig#ddl()}), created or replaced on first use when
 * {@link PostgresLockConfig#createTable()} is on. Only parameterized SQL touches lock names.
 *
 * <p><b>Atomicity</b>: every operation is one statement, one round trip and one transaction: a function
 * that first takes a transaction-scoped advisory lock on the name's key (released at commit; the wait for
 * it is bounded through {@code lock_timeout}: by nine tenths of the lease, at least one second and at most
 * about 24.8 days; five seconds for a release), then decides with fresh snapshots: expired rows of other
 * owners are deleted, an exclusive request needs no live row, a shared request no live exclusive row. Release is a
 * compare-and-delete on {@code (lock_key, token)}.
 * Expiry is judged by the server's clock, never by the clients' clocks.
 *
 * <p><b>Fairness</b>: {@link #acquireOrQueue} grants in queue order across all clients of the table. A
 * request that cannot be granted gets a queue entry at the tail of its name's queue (or keeps its place);
 * a request is granted only when it is compatible with the live leases and with every live entry ahead of
 * it, so {@link #tryAcquire} never barges past queued waiters. An entry lives {@code keepQueued} after its
 * token's last call: the entry of a waiter that died stops blocking the queue after that time.
 *
 * <p><b>Durability</b>: grants and renewals commit synchronously (the server's {@code synchronous_commit}
 * setting applies), so a lease and its fencing token survive a server crash once acquired. A transaction
 * that grants nothing (a release that hands nothing off, a busy or queued answer) commits with
 * {@code synchronous_commit = off} for itself: it does not wait for its WAL flush (most of the cost of an
 * uncontended release), and the next statement on the name, which waits for the name's lock, does not wait
 * for that flush either. Should the server crash in the few hundred milliseconds before that
 * flush, the released lease comes back and blocks the name until it expires, as if its holder had died;
 * exclusion is never weakened, because a later grant's synchronous commit flushes the release before it.
 * Queue entries are not written to the WAL at all and are lost in a crash: their waiters are queued again
 * at their next call.
 *
 * <p><b>Fencing tokens</b> come from the sequence {@code <table>_fencing} ({@code CACHE 1}: per-session
 * caches would break the order), drawn inside the advisory lock, so they increase strictly per name across
 * all clients, takeovers included. The sequence starts at the database clock's microseconds since 1970, so
 * tokens keep increasing over a table dropped and created again.
 *
 * <p><b>Hand-offs</b>: when a release, a dropped queue entry or a dropped expired lease lets queued requests
 * through, the same transaction grants them (see {@link LockBackend#handOffs()}) and notifies the channel
 * {@code <name>_released} ({@code <name>}: the table's name without its schema, so that every spelling of the
 * table hears it) once per grant, with {@code =fencing:mode:token} as payload: the waiter takes
 * the lock without another round trip, so a hand-off between services costs one statement. A release
 * that lets nobody through notifies nothing. {@link #releases()} and {@link #handOffs()} share one
 * connection of the factory in {@code LISTEN} (when the factory's connections are PostgreSQL connections,
 * pooled or not); it is opened at the first subscription, shared by all subscribers, reopened after a
 * failure, and {@link #releases()} emits {@link LockBackend#ANY_RELEASE} each time it (re)starts listening,
 * so that waiters ask again for what they may have missed. During a rolling upgrade from a version that
 * notified tokens only, entries queued by the older version are woken rather than granted, and older
 * waiters find a hand-off at their next poll.
 *
 * <p><b>Connections</b>: a backend runs its operations on at most {@link PostgresLockConfig#maxConnections()}
 * connections of the factory at once, whatever the number of services and waiters on it; the other
 * operations wait their turn in the backend (first come first served, no thread blocked), and a connection
 * serves the operations queued meanwhile before it is closed (returned to the pool). So a factory that
 * opens a connection per call (not a pool) works too: one connection per burst, never more than
 * {@code maxConnections} at once. With a pool, size it for {@code maxConnections} plus one (the
 * {@code LISTEN} connection). While it listens, the {@code LISTEN} connection is also where operations run
 * first, one at a time; the other connections serve only operations that overlap. So the usual operation
 * takes no connection from the factory, and a waiter granted by a notification releases on the connection,
 * and from the event-loop thread, that delivered the grant.
 *
 * <p><b>Cost</b>: every operation is a few index look-ups in the database, whatever the number of
 * waiters queued for the name (see {@link PostgresLockConfig#ddl()}): a queued waiter's periodic call
 * refreshes its own entry and looks at most at the head of the queue.
 *
 * <p><b>Closing</b>: close the backend (after disposing its services) before the connection pool. Once the
 * pool is disposed (the factory is, or wraps, a disposed {@link Disposable}), every operation fails at once
 * with a {@link LockConfigurationException}, which services do not retry, instead of a transient error
 * that an acquisition without a timeout would retry for ever.
 *
 * <p><b>Threading</b>: nothing blocks; results are signalled on the driver's event loop.
 */
public final class PostgresLockBackend implements LockBackend {

    private static final HexFormat HEX = HexFormat.of();
    /** The SQLSTATE of a schema that does not exist, which the driver reports as a transient resource error. */
    private static final String INVALID_SCHEMA_NAME = "3F000";
    /** The SQLSTATE of a lock wait that {@code lock_timeout} ended ({@code lock_not_available}). */
    private static final String LOCK_NOT_AVAILABLE = "55P03";
    /**
     * Bounds each wait of the schema creation for a lock: for the advisory lock that serializes it, and for
     * the locks of the objects it changes (an index or a column added to a table of an earlier version, a
     * function that another transaction is replacing). Without it, the creation waited for as long as another
     * transaction held such a lock, and an {@code ALTER TABLE} waiting for the table made every client's
     * calls on the table wait behind it.
     */
    private static final Duration SCHEMA_LOCK_TIMEOUT = Duration.ofSeconds(5);
    /** Never used itself: copied for each key. Null if the provider's digest cannot be copied. */
    private static final @Nullable MessageDigest SHA_256 = cloneableSha256();

    private final ConnectionFactory connectionFactory;
    /** The pool among {@link #connectionFactory} and the factories it wraps, if any: disposed, it gives nothing. */
    private final @Nullable Disposable pool;
    private final PostgresLockConfig config;
    private final PostgresLockSchema schema;
    /** Runs the operations on at most {@link PostgresLockConfig#maxConnections()} connections at once. */
    private final ConnectionLanes lanes;
    private final Mono<Void> ready;
    /** Set once {@link #ready} completed: the operations then skip it. */
    private volatile boolean schemaReady;
    private final Sinks.Empty<Void> closing = Sinks.empty();
    /** The channel's payloads while listening, parsed once; {@link LockBackend#ANY_RELEASE} each time it starts. */
    private final Flux<Notification> notifications;

    private PostgresLockBackend(ConnectionFactory connectionFactory, PostgresLockConfig config) {
        this.connectionFactory = connectionFactory;
        this.pool = pool(connectionFactory);
        this.config = config;
        this.schema = new PostgresLockSchema(config);
        this.lanes = new ConnectionLanes(connectionFactory, config.maxConnections());
        Mono<Void> create = (config.createTable() ? createSchema() : Mono.<Void>empty())
                .doOnSuccess(done -> schemaReady = true);
        this.ready = create.cache(v -> Duration.ofMillis(Long.MAX_VALUE), error -> Duration.ZERO,
                () -> Duration.ofMillis(Long.MAX_VALUE));
        this.notifications = listen().map(Notification::parse).takeUntilOther(closing.asMono()).publish().refCount(1);
    }

    /**
     * A backend on {@code connectionFactory} (normally an {@code io.r2dbc.pool.ConnectionPool}). Nothing is
     * opened before the first use; the schema objects are then created if missing and configured so.
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
     * Deletes the rows of leases, and the queue entries, that expired more than {@code olderThan} ago (by
     * the database clock). Expired rows are harmless (every acquisition of a name ignores and removes them),
     * but names that are never locked again leave theirs behind; run this periodically to keep the tables
     * small.
     *
     * @param connectionFactory the R2DBC connection factory
     * @param config the configuration naming the table
     * @param olderThan how long a lease must have been expired, zero or positive
     * @return a cold {@code Mono} of the number of lease rows deleted
     */
    public static Mono<Long> purgeExpired(ConnectionFactory connectionFactory, PostgresLockConfig config,
                                          Duration olderThan) {
        Objects.requireNonNull(connectionFactory, "connectionFactory");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(olderThan, "olderThan");
        if (olderThan.isNegative()) {
            throw new IllegalArgumentException("olderThan must be >= 0, was " + olderThan);
        }
        String before = "statement_timestamp() - $1::float8 * interval '1 millisecond'";
        String sql = "WITH queue AS (DELETE FROM " + config.queue() + " WHERE expires_at < " + before + ")"
                + " DELETE FROM " + config.table() + " WHERE expires_at < " + before;
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
        return acquire(name, mode, 0, token, lease, Duration.ZERO);
    }

    /**
     * {@inheritDoc}
     *
     * @return {@code true}: a permit is a shared lease row that records the name's permits, counted under the
     *         name's advisory lock
     */
    @Override
    public boolean countsPermits() {
        return true;
    }

    @Override
    public Mono<BackendLease> tryAcquirePermit(String name, int permits, String token, Duration lease) {
        return acquire(name, LockMode.SHARED, Permits.check(permits), token, lease, Duration.ZERO);
    }

    @Override
    public Mono<BackendLease> acquireOrQueuePermit(String name, int permits, String token, Duration lease,
                                                   Duration keepQueued) {
        checkKeepQueued(keepQueued);
        return acquire(name, LockMode.SHARED, Permits.check(permits), token, lease, keepQueued);
    }

    private static void checkKeepQueued(Duration keepQueued) {
        if (keepQueued.isNegative() || keepQueued.isZero()) {
            throw new IllegalArgumentException("keepQueued must be > 0, was " + keepQueued);
        }
    }

    /**
     * Grants as {@link #tryAcquire}, or appends {@code token} to the name's queue in the table (keeping its
     * place when queued already). A queued token is granted when it is compatible with the live leases and
     * with the entries ahead of it; its entry lives {@code keepQueued} after this call.
     */
    @Override
    public Mono<BackendLease> acquireOrQueue(String name, LockMode mode, String token, Duration lease,
                                            Duration keepQueued) {
        checkKeepQueued(keepQueued);
        return acquire(name, mode, 0, token, lease, keepQueued);
    }

    /** One call of the acquire function; {@code keepQueued} zero: never queue; {@code permits} 0: a plain lock. */
    private Mono<BackendLease> acquire(String name, LockMode mode, int permits, String token, Duration lease,
                                       Duration keepQueued) {
        return call(name, schema.acquireSql(), s -> s.bind(1, token).bind(2, mode.name())
                        .bind(3, (double) lease.toMillis())
                        .bind(4, StoredNames.bytes(name))
                        .bind(5, (double) keepQueued.toMillis())
                        .bind(6, permits),
                (row, md) -> lease(name, token, row))
                .onErrorMap(e -> e instanceof R2dbcException r
                                && PostgresLockSchema.PERMITS_DISAGREE.equals(r.getSqlState()),
                        e -> disagreement(name, mode, permits, e));
    }

    /** The lease in a {@code (fencing, mode)} row. */
    private static BackendLease lease(String name, String token, Row row) {
        return BackendLease.of(name, LockMode.valueOf(Objects.requireNonNull(row.get("mode", String.class))),
                token, Objects.requireNonNull(row.get("fencing", Long.class)));
    }

    private static LockConfigurationException disagreement(String name, LockMode mode, int permits, Throwable e) {
        String inUse = e.getMessage() == null ? "-1" : e.getMessage().trim();
        LockConfigurationException error = Permits.disagreement(name, mode, permits, Integer.parseInt(inUse));
        error.addSuppressed(e);
        return error;
    }

    @Override
    public Mono<Boolean> renew(String name, String token, Duration lease) {
        return call(name, schema.renewSql(), s -> s.bind(1, token).bind(2, (double) lease.toMillis()),
                (row, md) -> row.get(0, Boolean.class), true)
                .defaultIfEmpty(Boolean.FALSE);
    }

    /**
     * {@inheritDoc}
     *
     * <p>One call of the {@code <table>_downgrade} function: under the name's advisory lock, the lease row
     * becomes {@code SHARED} with the next value of the sequence, and the queued shared requests at the head
     * are handed the lock in the same transaction. Tables created by an earlier version get the function
     * when the schema is created again ({@link PostgresLockConfig#ddl()}).
     */
    @Override
    public Mono<BackendLease> downgrade(String name, String token, Duration lease) {
        return call(name, schema.downgradeSql(), s -> s.bind(1, token).bind(2, (double) lease.toMillis()),
                (row, md) -> lease(name, token, row));
    }

    @Override
    public Mono<Boolean> release(String name, String token) {
        return call(name, schema.releaseSql(), s -> s.bind(1, token), (row, md) -> row.get(0, Boolean.class),
                true).defaultIfEmpty(Boolean.FALSE);
    }

    /**
     * {@inheritDoc}
     *
     * <p>One read-only statement (a sequential scan of the lease table, which holds only held and recently
     * expired leases), judged by the database clock. Grant times are the database's ({@code acquired_at}).
     * Names are decoded from their stored UTF-8 bytes, halves of surrogate pairs included. The schema objects
     * are created first when {@link PostgresLockConfig#createTable()} says so; with a missing table the
     * {@code Flux} errors with {@link LockConfigurationException}.
     */
    @Override
    public Flux<StoredLock> locks(String namePrefix) {
        Objects.requireNonNull(namePrefix, "namePrefix");
        return inspection(namePrefix, schema.inspectSql(false), StoredNames.prefixBytes(namePrefix))
                .filter(lock -> lock.name().startsWith(namePrefix));
    }

    /** {@inheritDoc} Looks the name up by its key (the primary key's index). */
    @Override
    public Mono<StoredLock> inspect(String name) {
        Objects.requireNonNull(name, "name");
        return inspection(name, schema.inspectSql(true), key(name)).next().map(lock -> lock.name().equals(name)
                ? lock : StoredLock.of(name, lock.leases(), lock.waiting().orElse(0)));
    }

    private Flux<StoredLock> inspection(String name, String sql, byte[] parameter) {
        return whenReady(lanes.run(c -> autoCommit(c, () -> c.createStatement(sql).bind(0, parameter).execute())
                        .concatMap(r -> r.map((row, md) -> new InspectedRow(
                                ByteBuffer.wrap(Objects.requireNonNull(row.get("lock_key", byte[].class))),
                                StoredNames.name(Objects.requireNonNull(row.get("name", byte[].class))),
                                StoredLease.of(LockMode.valueOf(Objects.requireNonNull(row.get("mode", String.class))),
                                        Objects.requireNonNull(row.get("token", String.class)),
                                        Objects.requireNonNull(row.get("fencing", Long.class)),
                                        Objects.requireNonNull(row.get("expires_at", Instant.class)),
                                        row.get("acquired_at", Instant.class)),
                                Objects.requireNonNull(row.get("waiting", Long.class)))))
                        .collectList()))
                .onErrorMap(e -> translate(name, e))
                .flatMapIterable(PostgresLockBackend::byName);
    }

    /** One row of the inspection: a live lease and the live queue entries of its name. */
    private record InspectedRow(ByteBuffer key, String name, StoredLease lease, long waiting) {
    }

    /** Groups consecutive rows of one name, by key (the query orders them by key). */
    private static List<StoredLock> byName(List<InspectedRow> rows) {
        List<StoredLock> out = new ArrayList<>();
        int start = 0;
        for (int i = 1; i <= rows.size(); i++) {
            if (i == rows.size() || !rows.get(i).key().equals(rows.get(start).key())) {
                List<StoredLease> leases = new ArrayList<>();
                rows.subList(start, i).forEach(r -> leases.add(r.lease()));
                out.add(StoredLock.of(rows.get(start).name(), leases, (int) rows.get(start).waiting()));
                start = i;
            }
        }
        return out;
    }

    /**
     * Runs one statement, in a transaction of its own (auto-commit, switched on if a pooled connection had
     * it off), whose first parameter is the name's key, after the schema is ready and once fewer than
     * {@link PostgresLockConfig#maxConnections()} operations are running; emits the first row mapped, if any.
     */
    private <T> Mono<T> call(String name, String sql, UnaryOperator<Statement> binder,
                             BiFunction<Row, RowMetadata, @Nullable T> mapper) {
        return call(name, sql, binder, mapper, false);
    }

    /**
     * One statement on the name's key, in auto-commit; {@code first}: ahead of the queued operations
     * ({@link ConnectionLanes#runFirst}), for the renewals and releases that a burst of acquisitions must not delay.
     */
    private <T> Mono<T> call(String name, String sql, UnaryOperator<Statement> binder,
                             BiFunction<Row, RowMetadata, @Nullable T> mapper, boolean first) {
        byte[] key = key(name);
        Function<Connection, Mono<T>> work = c -> autoCommit(c,
                        () -> binder.apply(c.createStatement(sql).bind(0, key)).execute())
                .concatMap(r -> r.map(mapper), 0) // one result: no prefetch queue to allocate
                .next();
        return whenReady(first ? lanes.runFirst(work) : lanes.run(work)).onErrorMap(e -> translate(name, e));
    }

    /**
     * {@code operation} once the schema is ready (at once after the first success); an error at once if the
     * pool is disposed, even while a connection taken from it earlier (the listening one) is still open: the
     * operations of a backend whose pool is gone fail alike, whichever connection would have served them.
     */
    private <T> Mono<T> whenReady(Mono<T> operation) {
        Mono<T> whenReady = schemaReady ? operation : ready.then(operation);
        return pool == null ? whenReady
                : Mono.defer(() -> factoryClosed() ? Mono.error(new FactoryClosed()) : whenReady);
    }

    /** Whether the pool is disposed: no connection will ever come from it. */
    private boolean factoryClosed() {
        return pool != null && pool.isDisposed();
    }

    /** The {@link Disposable} pool among {@code factory} and the factories it wraps, or null. */
    private static @Nullable Disposable pool(ConnectionFactory factory) {
        Object current = factory;
        for (int i = 0; i < 8 && current != null; i++) {
            if (current instanceof Disposable d) {
                return d;
            }
            current = current instanceof Wrapped<?> w ? w.unwrap() : null;
        }
        return null;
    }

    /** Executes the statement in auto-commit, switched on first if a pooled connection had it off. */
    private static Flux<Result> autoCommit(Connection c, Supplier<Publisher<? extends Result>> execute) {
        return c.isAutoCommit() ? Flux.from(execute.get())
                : Mono.from(c.setAutoCommit(true)).thenMany(Flux.defer(() -> Flux.from(execute.get())));
    }

    /** {@inheritDoc} A hand-off is emitted as its token, after {@link #handOffs()} emitted it. */
    @Override
    public Flux<String> releases() {
        return notifications.map(Notification::wake);
    }

    /**
     * {@inheritDoc}
     *
     * <p>A hand-off is durable when announced: the transaction that grants it commits synchronously.
     */
    @Override
    public Flux<HandOff> handOffs() {
        return notifications.filter(n -> n.handOff != null).map(n -> Objects.requireNonNull(n.handOff));
    }

    /** A notification: the token (or key) to wake, and the grant when it announces a hand-off. */
    private record Notification(String wake, @Nullable HandOff handOff) {

        /** Parses a token, a key, {@link LockBackend#ANY_RELEASE}, or a {@link HandOff#signal()}. */
        static Notification parse(String payload) {
            HandOff handOff = HandOff.fromSignal(payload);
            return new Notification(handOff == null ? payload : handOff.token(), handOff);
        }
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
        return sha256().digest(utf16.array());
    }

    /** A new SHA-256 digest: a copy of {@link #SHA_256} where the provider allows it (a look-up costs more). */
    private static MessageDigest sha256() {
        try {
            return SHA_256 != null ? (MessageDigest) SHA_256.clone() : MessageDigest.getInstance("SHA-256");
        } catch (CloneNotSupportedException | NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    private static @Nullable MessageDigest cloneableSha256() {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.clone();
            return digest;
        } catch (CloneNotSupportedException | NoSuchAlgorithmException e) {
            return null;
        }
    }

    /**
     * Creates the schema objects in one transaction, under the table's advisory lock, each wait for a lock
     * bounded by {@link #SCHEMA_LOCK_TIMEOUT} (for this transaction only), as an operation of the lanes: on the
     * listening connection when it is free, so that a pool of one connection, which the listening connection
     * holds, does not wait for a second one forever.
     */
    private Mono<Void> createSchema() {
        return lanes.run(c -> transaction(c, () -> execute(c, "SET LOCAL lock_timeout = "
                                + SCHEMA_LOCK_TIMEOUT.toMillis())
                        .thenMany(Flux.from(c.createStatement("SELECT pg_advisory_xact_lock($1, 0)")
                                .bind(0, schema.tableKey()).execute()))
                        .flatMap(r -> r.map((row, md) -> Boolean.TRUE))
                        .thenMany(Flux.fromIterable(schema.statements()).concatMap(sql -> execute(c, sql)))
                        .then(Mono.just(Boolean.TRUE))))
                .onErrorMap(PostgresLockBackend::permanent, SchemaNotCreated::new)
                .onErrorMap(PostgresLockBackend::lockTimedOut, SchemaBlocked::new)
                .then();
    }

    private static Flux<Long> execute(Connection c, String sql) {
        Statement statement = c.createStatement(sql);
        return Flux.from(statement.execute()).flatMap(Result::getRowsUpdated);
    }

    /**
     * Runs {@code body} (which must emit one value) in a transaction on {@code c}: commit on success, else
     * rollback, so that the connection goes back to the lanes outside any transaction.
     */
    private static <T> Mono<T> transaction(Connection c, Supplier<Mono<T>> body) {
        return Mono.from(c.beginTransaction())
                .then(Mono.defer(body))
                .flatMap(value -> Mono.from(c.commitTransaction()).thenReturn(value))
                .onErrorResume(error -> Mono.from(c.rollbackTransaction()).onErrorResume(e -> Mono.empty())
                        .then(Mono.error(error)));
    }

    /**
     * Misconfiguration, and a disposed pool, are permanent ({@code LockException}) and name the lock of the
     * call; a lock wait ended by {@code lock_timeout} is transient, and says which table; everything else is
     * left transient as it is.
     */
    private Throwable translate(String name, Throwable error) {
        if (error instanceof SchemaNotCreated failed) {
            Throwable cause = Objects.requireNonNull(failed.getCause());
            LockConfigurationException e = new LockConfigurationException(name, "Lock '" + name
                    + "': the PostgreSQL lock table '" + config.table() + "' could not be created ("
                    + cause.getMessage() + "); create its schema objects with PostgresLockConfig.ddl() as a role"
                    + " that may, and set PostgresLockConfig.createTable(false)");
            e.addSuppressed(cause);
            return e;
        }
        if (error instanceof FactoryClosed || factoryClosed()) {
            LockConfigurationException e = new LockConfigurationException(name, "Lock '" + name + "': the R2DBC"
                    + " connection factory is closed, so the PostgreSQL lock table '" + config.table() + "' cannot be"
                    + " reached; dispose the lock services and close their backend before the connection pool");
            if (!(error instanceof FactoryClosed)) {
                e.addSuppressed(error);
            }
            return e;
        }
        if (error instanceof SchemaBlocked blocked) {
            Throwable cause = Objects.requireNonNull(blocked.getCause());
            return new R2dbcTransientResourceException("Lock '" + name + "': the PostgreSQL lock table '"
                    + config.table() + "' could not be created or brought up to date: another transaction held a"
                    + " lock it needs (on the table, its queue table or its functions; see pg_locks) for "
                    + SCHEMA_LOCK_TIMEOUT.toSeconds() + " s (" + cause.getMessage() + "); tried again at the next"
                    + " call", LOCK_NOT_AVAILABLE, cause);
        }
        if (lockTimedOut(error)) {
            return new R2dbcTransientResourceException("Lock '" + name + "': another transaction held a lock on"
                    + " the PostgreSQL lock table '" + config.table() + "' or on the name for longer than the"
                    + " call's lock_timeout (nine tenths of the lease, at least one second; five seconds for a"
                    + " release) ("
                    + error.getMessage() + ")", LOCK_NOT_AVAILABLE, error);
        }
        if (permanent(error)) {
            LockConfigurationException e = new LockConfigurationException(name, "Lock '" + name
                    + "': the PostgreSQL lock table '" + config.table() + "' is not usable (" + error.getMessage()
                    + (config.createTable() ? ")" : "); create it or enable PostgresLockConfig.createTable"));
            e.addSuppressed(error);
            return e;
        }
        return error;
    }

    /**
     * Whether {@code error} comes from the schema, which no retry changes: a missing or unusable object
     * (the driver's bad grammar), a missing privilege, or a missing schema ({@code invalid_schema_name}).
     */
    private static boolean permanent(Throwable error) {
        return error instanceof R2dbcBadGrammarException || error instanceof R2dbcPermissionDeniedException
                || error instanceof R2dbcException r && INVALID_SCHEMA_NAME.equals(r.getSqlState());
    }

    /** The pool was found disposed before the operation ran. Never reaches a caller. */
    @SuppressWarnings("serial") // never serialized
    private static final class FactoryClosed extends RuntimeException {
        FactoryClosed() {
            super("the connection factory is closed", null, false, false);
        }
    }

    /** Whether {@code error} ended a wait for a lock ({@code lock_timeout}): another transaction held it. */
    private static boolean lockTimedOut(Throwable error) {
        return error instanceof R2dbcException r && LOCK_NOT_AVAILABLE.equals(r.getSqlState());
    }

    /**
     * The schema creation waited {@link #SCHEMA_LOCK_TIMEOUT} for a lock held by another transaction, shared
     * by the calls that waited for that attempt; each call turns it into its own transient error, and the
     * next call tries again. Never reaches a caller.
     */
    @SuppressWarnings("serial") // never serialized
    private static final class SchemaBlocked extends RuntimeException {
        SchemaBlocked(Throwable cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /**
     * A permanent failure to create the schema objects, shared by the calls that waited for that attempt;
     * each call turns it into its own {@link LockConfigurationException}. Never reaches a caller.
     */
    @SuppressWarnings("serial") // never serialized
    private static final class SchemaNotCreated extends RuntimeException {
        SchemaNotCreated(Throwable cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /**
     * One connection in LISTEN for as long as there are subscribers: emits ANY_RELEASE once listening,
     * then the keys of released locks; reopened when the connection fails or ends. Once listening, it is
     * also the lanes' home connection: the operations run on it first.
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
                                    .then(Mono.fromRunnable(() -> lanes.attach(c)))
                                    .then(Mono.just(ANY_RELEASE));
                            return Flux.merge(notifications, listening);
                        },
                        this::stopListening,
                        (c, error) -> stopListening(c),
                        this::stopListening)
                .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(2))
                        .filter(error -> !factoryClosed()))
                .repeatWhen(ended -> ended.delayElements(Duration.ofMillis(100)));
    }

    /** The operations stop using {@code c}, then it is closed. */
    private Mono<Void> stopListening(Connection c) {
        return lanes.detach(c).then(Mono.from(c.close()).onErrorResume(e -> Mono.empty()));
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
