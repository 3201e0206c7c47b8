package dev.reactivelocks.postgres;

import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Configuration of a {@link PostgresLockBackend}: which table holds the leases and whether the backend
 * creates it. Immutable; build with {@link #builder()}, start from {@link #defaults()}.
 *
 * <pre>{@code
 * PostgresLockConfig config = PostgresLockConfig.builder().table("billing.locks").build();
 * }</pre>
 *
 * <p>The backend uses the table {@code <table>}, the sequence {@code <table>_fencing}, the index
 * {@code <table>_expires}, the unlogged wait-queue table {@code <table>_queue} with its indexes
 * {@code <table>_queue_order} and {@code <table>_queue_exclusive}, the functions {@code <table>_acquire},
 * {@code _renew}, {@code _release}, {@code _downgrade} and {@code _pass}, and the notification channel
 * {@code <name>_released}, {@code <name>} being the table's name without its schema: every spelling of one
 * table ({@code locks} found through the {@code search_path}, {@code public.locks}) then uses the same channel
 * and the same advisory locks, whichever client created the functions. {@link #ddl()} lists the statements
 * that create them, {@link #dropDdl()} those that remove them (and the functions {@code <table>_wake} and
 * {@code <table>_admits} of earlier versions).
 */
public final class PostgresLockConfig {

    /** Lower-case SQL identifiers, optionally schema-qualified; never quoted, never user data. */
    private static final Pattern TABLE = Pattern.compile("([a-z_][a-z0-9_]{0,39}\\.)?[a-z_][a-z0-9_]{0,39}");
    /**
     * The key words PostgreSQL reserves (also those that may only name functions and types): no table or
     * schema may be named so without quotes. As of PostgreSQL 17.
     */
    private static final Set<String> RESERVED = Set.of(("all analyse analyze and any array as asc asymmetric"
            + " authorization binary both case cast check collate collation column concurrently constraint create"
            + " cross current_catalog current_date current_role current_schema current_time current_timestamp"
            + " current_user default deferrable desc distinct do else end except false fetch for foreign freeze"
            + " from full grant group having ilike in initially inner intersect into is isnull join lateral leading"
            + " left like limit localtime localtimestamp natural not notnull null offset on only or order outer"
            + " overlaps placing primary references returning right select session_user similar some symmetric"
            + " system_user table tablesample then to trailing true union unique user using variadic verbose when"
            + " where window with").split(" "));
    private static final PostgresLockConfig DEFAULTS = new Builder().build();

    private final String table;
    /** Computed once: the backend asks for it each time it starts listening, on the driver's thread. */
    private final String channel;
    private final boolean createTable;
    private final int maxConnections;

    private PostgresLockConfig(Builder b) {
        this.table = b.table;
        this.channel = localName(b.table, "_released");
        this.createTable = b.createTable;
        this.maxConnections = b.maxConnections;
    }

    /** @return the defaults: table {@code reactive_locks}, created when missing, at most 8 operations at once */
    public static PostgresLockConfig defaults() {
        return DEFAULTS;
    }

    /** @return a builder starting from the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder starting from this configuration */
    public Builder toBuilder() {
        return new Builder().table(table).createTable(createTable).maxConnections(maxConnections);
    }

    /** @return the lease table, possibly schema-qualified */
    public String table() {
        return table;
    }

    /** @return whether the backend creates its table, sequence, index, queue table and functions when missing */
    public boolean createTable() {
        return createTable;
    }

    /** @return how many operations of one backend run at once, each on a connection of the factory */
    public int maxConnections() {
        return maxConnections;
    }

    /**
     * The statements that create every schema object of this configuration, as the backend runs them when
     * {@link #createTable()} is on. Each is harmless when run again ({@code IF NOT EXISTS},
     * {@code CREATE OR REPLACE FUNCTION}); with {@code createTable(false)}, run them in a migration, again
     * after upgrading this library. The role of the backend needs {@code SELECT}, {@code INSERT},
     * {@code UPDATE}, {@code DELETE} on both tables, {@code USAGE} on the sequence and {@code EXECUTE} on the
     * functions.
     *
     * @return the DDL statements, in order
     */
    public List<String> ddl() {
        return new PostgresLockSchema(this).statements();
    }

    /**
     * The statements that remove every schema object of this configuration (functions, both tables, the
     * sequence), each harmless when the object is already gone. Removing them drops every lease and queue
     * entry: run them only when no client uses this table any more.
     *
     * @return the DDL statements, in order
     */
    public List<String> dropDdl() {
        return new PostgresLockSchema(this).dropStatements();
    }

    String sequence() {
        return table + "_fencing";
    }

    String queue() {
        return table + "_queue";
    }

    /** {@code name} in the table's schema: qualified as the table is. */
    String qualified(String name) {
        int dot = table.indexOf('.');
        return dot < 0 ? name : table.substring(0, dot + 1) + name;
    }

    /** The table's name without its schema, then {@code suffix}: the name of one of its indexes. */
    String localName(String suffix) {
        return localName(table, suffix);
    }

    private static String localName(String table, String suffix) {
        return table.substring(table.indexOf('.') + 1) + suffix;
    }

    /**
     * The notification channel: {@code <name>_released}, where {@code <name>} is the table's name without its
     * schema (at most 40 characters: always a whole identifier). The functions notify the channel of the
     * client that created them last, and every spelling of one table ({@code locks}, {@code public.locks})
     * must listen where they notify: a channel taken from the spelling left a client that spelled it otherwise
     * deaf to the hand-offs to its waiters, which then waited for their next poll. Clients of tables of one
     * name in different schemas share the channel, and each ignores the tokens of the others' waiters.
     */
    String channel() {
        return channel;
    }

    @Override
    public String toString() {
        return "PostgresLockConfig{table=" + table + ", createTable=" + createTable + ", maxConnections="
                + maxConnections + "}";
    }

    /** Builds a {@link PostgresLockConfig}. Not thread-safe. */
    public static final class Builder {

        private String table = "reactive_locks";
        private boolean createTable = true;
        private int maxConnections = 8;

        private Builder() {
        }

        /**
         * The table that holds the leases: a lower-case identifier ({@code [a-z_][a-z0-9_]*}, at most 40
         * characters, not a reserved word of PostgreSQL such as {@code order} or {@code user}), optionally
         * qualified by a schema named likewise. Services that must exclude each other use the same table, with or
         * without its schema (the advisory locks and the channel are those of the table's name without it).
         * Defaults to {@code reactive_locks}.
         *
         * @param table the table name
         * @return this builder
         * @throws IllegalArgumentException if the name is not such an identifier
         */
        public Builder table(String table) {
            Objects.requireNonNull(table, "table");
            if (!TABLE.matcher(table).matches()) {
                throw new IllegalArgumentException("table must be a lower-case identifier [schema.]name matching "
                        + TABLE.pattern() + ", was '" + table + "'");
            }
            for (String part : table.split("\\.")) {
                if (RESERVED.contains(part)) {
                    throw new IllegalArgumentException("table must not be a reserved word of PostgreSQL ('" + part
                            + "' would need quotes), was '" + table + "'");
                }
            }
            this.table = table;
            return this;
        }

        /**
         * Whether the backend creates its schema objects when missing (on first use), or replaces its
         * functions with this version's. Turn it off when the schema is managed by migrations, which then run
         * {@link PostgresLockConfig#ddl()}. Defaults to {@code true}.
         *
         * @param createTable whether to create the schema objects
         * @return this builder
         */
        public Builder createTable(boolean createTable) {
            this.createTable = createTable;
            return this;
        }

        /**
         * How many connections of the factory one backend uses at once for its operations (acquire, renew,
         * release), whatever the number of its services and waiters; further operations wait their turn,
         * first come first served, without blocking a thread, and a connection serves the operations queued
         * meanwhile before it is closed. One more connection listens for wake-ups, and runs operations first
         * while it is not busy with one. With a pool, size the pool
         * for one connection more; a factory that opens a connection per call (not a pool) then opens one per
         * burst of operations, never more than this many at once. Defaults to 8.
         *
         * @param maxConnections the bound, {@code >= 1}
         * @return this builder
         * @throws IllegalArgumentException if {@code maxConnections < 1}
         */
        public Builder maxConnections(int maxConnections) {
            if (maxConnections < 1) {
                throw new IllegalArgumentException("maxConnections must be >= 1, was " + maxConnections);
            }
            this.maxConnections = maxConnections;
            return this;
        }

        /** @return the configuration */
        public PostgresLockConfig build() {
            return new PostgresLockConfig(this);
        }
    }
}
