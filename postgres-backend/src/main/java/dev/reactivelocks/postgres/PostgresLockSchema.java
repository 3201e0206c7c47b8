package dev.reactivelocks.postgres;

import java.util.List;

/**
 * The schema objects of one lock table and the statements that call them.
 *
 * <p>Three {@code VOLATILE} PL/pgSQL functions do the work, each in one round trip and one implicit
 * transaction: they first take a transaction-scoped advisory lock on the name's key, and every statement
 * after it takes a fresh snapshot, so it sees whatever was committed under that lock before (a single SQL
 * statement could not: its snapshot is taken before it waits for the lock).
 *
 * <pre>
 *  acquire(key, token, mode, lease, name, keep)          keep = 0: never queue (tryAcquire)
 *    lock name ─► the name has no lease row and no entry ──► insert the lease (next fencing value), return it
 *    otherwise ─► drop expired leases
 *      ├─ token holds a live lease ─────────► extend it, leave the queue, return it
 *      │  (an expired one is dropped above: a hand-off may have granted the name past it)
 *      ├─ no live conflicting lease and
 *      │  no conflicting entry ahead ─────────► insert the lease (next fencing value), leave the queue, return it
 *      │  (the head of the queue, or of its exclusive entries; expired entries met there are dropped)
 *      └─ otherwise, keep &gt; 0 ──────────────► enqueue at the tail or keep the place, entry lives keep ms
 *    anything expired was dropped ─► pass(key)
 *  release(key, token)      lock name ─► delete the lease and the queue entry of token ─► pass(key) if
 *                           anything was deleted and the name has entries
 *  renew(key, token, lease) lock name ─► extend the live lease of token
 *  downgrade(key, token, lease)
 *                           lock name ─► the live lease of token: EXCLUSIVE becomes SHARED with the next
 *                           fencing value (SHARED stays as is), extended ─► pass(key); no live lease: no row
 *  pass(key)                drop expired leases; hand the lock off to the entries that acquire would
 *                           grant now: grant each (next fencing value, the lease ends when the entry
 *                           would have expired),
 *                           delete the entry, notify {@code =fencing:mode:token}; dropping the expired
 *                           entries met on the way. An entry without a name (queued by an earlier
 *                           version) is only woken: its token is notified.
 * </pre>
 *
 * A transaction that grants commits synchronously; one that grants nothing (a release, a busy or queued
 * answer) does not wait for its WAL flush (see {@link PostgresLockBackend}).
 *
 * "Ahead" is every live entry with a smaller ticket, or every live entry for a token that is not queued;
 * an exclusive request conflicts with every lease and entry, a shared one with exclusive ones only. No
 * function reads a name's whole queue: each call is a few index look-ups, plus one deletion per expired
 * entry it meets (each entry is deleted once), so a waiter's periodic refresh costs the same with ten or
 * ten thousand waiters queued.
 */
final class PostgresLockSchema {

    /** Payloads of at most this many bytes are tokens; longer tokens are signalled as "any release". */
    private static final int MAX_PAYLOAD = 7999;

    /** Starts the payload of a hand-off, {@code =fencing:E|S:token}; never the first character of a token we make. */
    static final char HAND_OFF = '=';

    /** The SQLSTATE of a request whose permits disagree with those of the name's live leases. */
    static final String PERMITS_DISAGREE = "RL001";

    /** Room for the hand-off prefix: '=', a bigint, ':', the mode letter, ':'. */
    private static final int HAND_OFF_PREFIX = 24;

    /**
     * Plans of the functions' statements: plain index scans only. Every statement looks up one name, and
     * the tables churn (a row in and out per grant and per queued request): a plain index scan marks the
     * index entries of dead rows, so later scans and page splits skip or remove them before any vacuum,
     * while a bitmap scan (which the planner picks for these look-ups on a table without statistics, such
     * as a new one, or one autovacuum has not analysed yet) visits every dead row of the name again,
     * each time, until the table is vacuumed.
     */
    private static final String SCANS = " SET enable_bitmapscan = off";

    /** The largest {@code lock_timeout} the server takes, in milliseconds: a 32-bit integer. */
    private static final int MAX_LOCK_TIMEOUT = Integer.MAX_VALUE;

    /**
     * Bounds the wait for the name's lock by nine tenths of the lease, at least one second (a frozen client
     * must not stall all) and at most {@code lock_timeout}'s largest value, {@value #MAX_LOCK_TIMEOUT} ms
     * (about 24.8 days): a longer lease would make {@code set_config} fail, and with it every call. Shorter
     * than the lease, because a lock service stops waiting for a call's answer after the lease: with the
     * lease itself, its own "no answer" came first and the error naming the table never reached it.
     */
    private static final String BOUND_WAIT = " PERFORM set_config('lock_timeout', least(greatest(1000, p_lease * 0.9), "
            + MAX_LOCK_TIMEOUT + ")::bigint::text, true);";

    /**
     * Bounds a release's wait for the name's lock (a release has no lease to bound it by): five seconds,
     * far beyond what the name's other calls hold it, and short enough that a release stuck behind a frozen
     * transaction on the name gives its connection back (the service retries it a few times, then lets the
     * lease expire) instead of holding it forever.
     */
    private static final String BOUND_RELEASE_WAIT = " PERFORM set_config('lock_timeout', '5000', true);";

    /**
     * Lets the calling transaction commit without waiting for its WAL flush: one that grants nothing (a
     * release, a busy answer, a queue entry). What it may lose in a server crash is harmless: a released
     * lease comes back and expires, a dropped expired lease comes back expired, queue entries are unlogged;
     * and every later grant's synchronous commit flushes it first. It no longer makes the next statement
     * on the name, which waits for the name's lock, wait for its flush too.
     */
    private static final String NO_FLUSH_WAIT = " PERFORM set_config('synchronous_commit', 'off', true);";

    private final PostgresLockConfig config;
    private final int tableKey;

    // The statements of the operations, built once: they run once per operation.
    private final String acquireSql;
    private final String renewSql;
    private final String downgradeSql;
    private final String releaseSql;

    PostgresLockSchema(PostgresLockConfig config) {
        this.config = config;
        this.tableKey = config.localName("").hashCode();
        this.acquireSql = "SELECT fencing, mode FROM " + function("acquire") + "($1, $2, $3, $4, $5, $6, $7)";
        this.renewSql = "SELECT " + function("renew") + "($1, $2, $3)";
        this.downgradeSql = "SELECT fencing, mode FROM " + function("downgrade") + "($1, $2, $3)";
        this.releaseSql = "SELECT " + function("release") + "($1, $2)";
    }

    /**
     * {@code (fencing, mode)} of the grant, or no row; binds key, token, mode, lease ms, name, keep ms, permits
     * (0: a plain lock). Fails with SQLSTATE {@link #PERMITS_DISAGREE} (message: the permits in use, 0 for plain
     * shared leases) when a shared request disagrees with the live shared leases on the permits.
     */
    String acquireSql() {
        return acquireSql;
    }

    /** Whether the live lease was extended; binds key, token, lease ms. */
    String renewSql() {
        return renewSql;
    }

    /** {@code (fencing, mode)} of the shared lease, or no row; binds key, token, lease ms. */
    String downgradeSql() {
        return downgradeSql;
    }

    /** Whether a lease was deleted; binds key, token. */
    String releaseSql() {
        return releaseSql;
    }

    /**
     * The live leases, with the live entries queued for their name, of one name ({@code byKey}: binds the
     * name's key) or of the names whose UTF-8 bytes start with a prefix (binds the prefix's bytes), in name
     * then grant order. Read-only: a snapshot at one statement, judged by the database clock.
     */
    String inspectSql(boolean byKey) {
        return "SELECT l.lock_key, l.name, l.mode, l.token, l.fencing, l.expires_at, l.acquired_at,"
                + " (SELECT count(*) FROM " + config.queue() + " a WHERE a.lock_key = l.lock_key"
                + " AND a.expires_at > n.now) AS waiting"
                + " FROM " + config.table() + " l, (SELECT clock_timestamp() AS now) n"
                + " WHERE l.expires_at > n.now AND "
                + (byKey ? "l.lock_key = $1" : "substring(l.name from 1 for octet_length($1::bytea)) = $1::bytea")
                + " ORDER BY l.lock_key, l.fencing";
    }

    /**
     * The advisory lock of the schema objects, which serializes their creation by concurrent clients, and the
     * first half of every name's lock: the hash of the table's name without its schema, so that every
     * spelling of one table ({@code locks} found through the {@code search_path}, {@code public.locks}) has
     * the same key. The functions are one set of objects whichever spelling created them, and each client
     * replaces them at its start: a key taken from the spelling changed with each replacement, and a call of
     * the replaced functions took another lock than a call still deciding under the old ones, so both could
     * grant the name. Tables of one name in different schemas share the key: their calls on names whose keys
     * share their first four bytes serialize, each for its own short transaction, as such names of one table do.
     */
    int tableKey() {
        return tableKey;
    }

    /** @return the statements creating every object, in order, each harmless when run again */
    List<String> statements() {
        String t = config.table();
        String q = config.queue();
        return List.of(
                createSequence(),
                "CREATE TABLE IF NOT EXISTS " + t + " ("
                        + "lock_key bytea NOT NULL, "
                        + "token text NOT NULL, "
                        + "mode text NOT NULL CHECK (mode IN ('EXCLUSIVE', 'SHARED')), "
                        + "fencing bigint NOT NULL, "
                        + "expires_at timestamptz NOT NULL, "
                        + "acquired_at timestamptz NOT NULL, "
                        + "name bytea NOT NULL, "
                        + "permits integer, "
                        + "PRIMARY KEY (lock_key, token))",
                createIndex("_expires", t + " (expires_at)"),
                "CREATE UNLOGGED TABLE IF NOT EXISTS " + q + " ("
                        + "lock_key bytea NOT NULL, "
                        + "token text NOT NULL, "
                        + "mode text NOT NULL, "
                        + "ticket bigint NOT NULL, "
                        + "expires_at timestamptz NOT NULL, "
                        + "name bytea, "
                        + "permits integer, "
                        + "PRIMARY KEY (lock_key, token))",
                addColumn(q, "name", "bytea"),
                addColumn(q, "permits", "integer"),
                addColumn(t, "permits", "integer"),
                createIndex("_queue_order", q + " (lock_key, ticket)"),
                createIndex("_queue_exclusive", q + " (lock_key, ticket) WHERE mode = 'EXCLUSIVE'"),
                passFunction(),
                acquireFunction(),
                renewFunction(),
                releaseFunction(),
                downgradeFunction());
    }

    /**
     * Creates the fencing sequence, when missing, starting at the database clock's microseconds since 1970:
     * a sequence created again (after {@link PostgresLockConfig#dropDdl()}) goes on above every token the
     * dropped one handed out (as long as that one drew fewer than one per microsecond of its life), so a
     * resource fenced by an earlier grant accepts the next. {@code CACHE 1}: per-session caches would break
     * the order.
     */
    private String createSequence() {
        return "DO $do$ BEGIN EXECUTE 'CREATE SEQUENCE IF NOT EXISTS " + config.sequence() + " CACHE 1 START '"
                + " || (extract(epoch FROM clock_timestamp()) * 1000000)::bigint; END $do$";
    }

    /**
     * Creates the index {@code <table><suffix>} {@code ON <definition>} unless it exists. {@code CREATE INDEX IF
     * NOT EXISTS} alone takes the table's share lock before it looks: it waited behind every transaction
     * writing the table, and every write of every client queued behind it, at each start of a backend.
     */
    private String createIndex(String suffix, String definition) {
        String index = config.localName(suffix);
        return "DO $do$ BEGIN IF to_regclass('" + config.qualified(index) + "') IS NULL THEN"
                + " CREATE INDEX IF NOT EXISTS " + index + " ON " + definition + "; END IF; END $do$";
    }

    /**
     * Adds a column that tables made by earlier versions lack, without locking a table that has it (an
     * {@code ALTER TABLE} would take its exclusive lock, and wait behind every transaction using it).
     */
    private static String addColumn(String table, String column, String type) {
        return "DO $do$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '" + table + "'::regclass"
                + " AND attname = '" + column + "' AND NOT attisdropped) THEN"
                + " ALTER TABLE " + table + " ADD COLUMN " + column + " " + type + "; END IF; END $do$";
    }

    /** @return the statements dropping every object */
    List<String> dropStatements() {
        return List.of(
                "DROP FUNCTION IF EXISTS " + function("acquire") + "(bytea, text, text, float8, bytea, float8, integer)",
                "DROP FUNCTION IF EXISTS " + function("acquire") + "(bytea, text, text, float8, bytea, float8)",
                "DROP FUNCTION IF EXISTS " + function("renew"),
                "DROP FUNCTION IF EXISTS " + function("release"),
                "DROP FUNCTION IF EXISTS " + function("downgrade"),
                "DROP FUNCTION IF EXISTS " + function("pass"),
                "DROP FUNCTION IF EXISTS " + function("wake"),
                "DROP FUNCTION IF EXISTS " + function("admits"),
                "DROP TABLE IF EXISTS " + config.queue(),
                "DROP TABLE IF EXISTS " + config.table(),
                "DROP SEQUENCE IF EXISTS " + config.sequence());
    }

    private String function(String verb) {
        return config.table() + "_" + verb;
    }

    /**
     * Hands the lock off to the queued requests that may be granted now, except {@code p_except}'s, and
     * returns how many it granted: it drops the name's expired leases (as an acquisition does: the grants it
     * makes take them over, so their old owners' renewals and releases find nothing and report the loss),
     * then one look at the live leases and one walk of the entries in ticket order,
     * which deletes the expired entries it meets and ends at the first live request that must wait (nothing
     * behind it can pass an exclusive entry, or a refused exclusive one). Each request it passes gets a lease
     * that ends when its entry would have (the waiter renews it) and a notification carrying the grant; an
     * entry queued by an earlier version (no name) or with a token too long for a payload is only woken.
     * {@code min(mode)} is the strongest mode of a set, {@code 'EXCLUSIVE' < 'SHARED'}. It reads as many
     * entries as it grants, wakes or deletes, plus one.
     */
    private String passFunction() {
        String t = config.table();
        String q = config.queue();
        return "CREATE OR REPLACE FUNCTION " + function("pass")
                + "(p_key bytea, p_now timestamptz, p_except text) RETURNS integer LANGUAGE plpgsql VOLATILE"
                + SCANS + " AS $fn$"
                + " DECLARE v_leases text; v_holders bigint; v_ahead text; v_granted integer := 0; v_fencing bigint;"
                + " w record;"
                + " BEGIN"
                + " DELETE FROM " + t + " WHERE lock_key = p_key AND expires_at <= p_now;"
                + " SELECT min(l.mode), count(*) INTO v_leases, v_holders FROM " + t + " l"
                + " WHERE l.lock_key = p_key AND l.expires_at > p_now;"
                + " FOR w IN SELECT a.token, a.mode, a.expires_at, a.name, a.permits FROM " + q + " a"
                + " WHERE a.lock_key = p_key ORDER BY a.ticket LOOP"
                + " EXIT WHEN v_leases = 'EXCLUSIVE' OR v_ahead = 'EXCLUSIVE';"
                + " IF w.expires_at <= p_now AND w.token IS DISTINCT FROM p_except THEN"
                + " DELETE FROM " + q + " WHERE lock_key = p_key AND token = w.token AND expires_at <= p_now;"
                + " CONTINUE;"
                + " END IF;"
                + " EXIT WHEN w.mode = 'EXCLUSIVE' AND (v_leases IS NOT NULL OR v_ahead IS NOT NULL);"
                + " EXIT WHEN w.permits IS NOT NULL AND v_holders >= w.permits;"
                + " IF w.token IS DISTINCT FROM p_except THEN"
                + " IF w.name IS NOT NULL AND octet_length(w.token) <= " + (MAX_PAYLOAD - HAND_OFF_PREFIX) + " THEN"
                + " DELETE FROM " + q + " WHERE lock_key = p_key AND token = w.token;"
                + " DELETE FROM " + t + " WHERE lock_key = p_key AND token = w.token;"
                + " INSERT INTO " + t + " (lock_key, token, mode, fencing, expires_at, acquired_at, name, permits)"
                + " VALUES (p_key, w.token, w.mode, nextval('" + config.sequence() + "'), w.expires_at, p_now, w.name,"
                + " w.permits)"
                + " RETURNING fencing INTO v_fencing;"
                + " v_granted := v_granted + 1;"
                + " PERFORM pg_notify('" + config.channel() + "', '" + HAND_OFF + "' || v_fencing || ':'"
                + " || left(w.mode, 1) || ':' || w.token);"
                + " ELSE"
                + " PERFORM pg_notify('" + config.channel() + "',"
                + " CASE WHEN octet_length(w.token) <= " + MAX_PAYLOAD + " THEN w.token ELSE '' END);"
                + " END IF;"
                + " END IF;"
                + " v_ahead := least(v_ahead, w.mode);"
                + " v_holders := v_holders + 1;"
                + " END LOOP;"
                + " RETURN v_granted;"
                + " END $fn$";
    }

    /**
     * A queued waiter's refresh while a live lease conflicts (the common call: each waiter repeats it every
     * poll interval) extends its own live entry and returns, without the name's lock: it never grants, and
     * the entry it extends is live, so a decision taken concurrently under the lock sees it live either
     * way. Every other call decides under the name's lock.
     *
     * <p>The uncontended call, on a name with neither a lease row (live or expired) nor a queue entry, is
     * granted by one statement under the name's lock: one look-up in each table's primary key, then the
     * insertion. What the full decision below would do there is the same (nothing to extend, drop or pass,
     * nobody ahead), in six statements more. A name with any row takes the full decision.
     *
     * <p>Decides with index look-ups only, whatever the queue length: the token's own lease and entry by
     * primary key; while a live lease conflicts nothing else; otherwise the first entry of the queue (an
     * exclusive request passes when it is that entry, or when nothing is queued) or the first exclusive
     * entry (a shared request passes when it is behind the token's ticket, or when there is none), deleting
     * the expired entries met at that head first; the tail's ticket by a backward index scan.
     */
    private String acquireFunction() {
        String t = config.table();
        String q = config.queue();
        return "CREATE OR REPLACE FUNCTION " + function("acquire")
                + "(p_key bytea, p_token text, p_mode text, p_lease float8, p_name bytea, p_keep float8,"
                + " p_permits integer)"
                + " RETURNS TABLE (fencing bigint, mode text) LANGUAGE plpgsql VOLATILE"
                + SCANS + " AS $fn$"
                + " #variable_conflict use_column\n"
                + " DECLARE v_now timestamptz; v_ticket bigint; v_dropped bigint; v_pass boolean; v_head record;"
                + " v_other integer; v_granted integer := 0;"
                + " BEGIN"
                + " v_now := clock_timestamp();"
                + " IF p_keep > 0 THEN"
                + " UPDATE " + q + " SET expires_at = v_now + p_keep * interval '1 millisecond'"
                + " WHERE lock_key = p_key AND token = p_token AND expires_at > v_now;"
                + " IF FOUND AND (EXISTS (SELECT 1 FROM " + t + " l WHERE l.lock_key = p_key AND l.token <> p_token"
                + " AND l.expires_at > v_now AND (p_mode = 'EXCLUSIVE' OR l.mode = 'EXCLUSIVE'))"
                + " OR (p_permits > 0 AND " + holders(t, "p_permits") + " >= p_permits)) THEN"
                + NO_FLUSH_WAIT
                + " RETURN;"
                + " END IF;"
                + " END IF;"
                + BOUND_WAIT + lockName()
                + " v_now := clock_timestamp();"
                + " RETURN QUERY " + insertLease("SELECT ", "")
                + " WHERE NOT EXISTS (SELECT 1 FROM " + t + " l WHERE l.lock_key = p_key)"
                + " AND NOT EXISTS (SELECT 1 FROM " + q + " a WHERE a.lock_key = p_key)"
                + " RETURNING fencing, mode;"
                + " IF FOUND THEN RETURN; END IF;"
                + " RETURN QUERY UPDATE " + t + " SET expires_at = v_now + p_lease * interval '1 millisecond'"
                + " WHERE lock_key = p_key AND token = p_token AND expires_at > v_now RETURNING fencing, mode;"
                + " IF FOUND THEN"
                + " DELETE FROM " + q + " WHERE lock_key = p_key AND token = p_token;"
                + " RETURN;"
                + " END IF;"
                + " DELETE FROM " + t + " WHERE lock_key = p_key AND expires_at <= v_now;"
                + " GET DIAGNOSTICS v_dropped = ROW_COUNT;"
                + " IF p_mode = 'SHARED' THEN"
                + " SELECT coalesce(l.permits, 0) INTO v_other FROM " + t + " l WHERE l.lock_key = p_key"
                + " AND l.mode = 'SHARED' AND coalesce(l.permits, 0) <> p_permits LIMIT 1;"
                + " IF FOUND THEN"
                + " RAISE EXCEPTION USING ERRCODE = '" + PERMITS_DISAGREE + "', MESSAGE = v_other::text;"
                + " END IF;"
                + " END IF;"
                + " SELECT ticket INTO v_ticket FROM " + q + " WHERE lock_key = p_key AND token = p_token;"
                + " v_pass := NOT EXISTS (SELECT 1 FROM " + t + " l WHERE l.lock_key = p_key"
                + " AND l.expires_at > v_now AND (p_mode = 'EXCLUSIVE' OR l.mode = 'EXCLUSIVE'));"
                + " IF v_pass AND p_permits > 0 THEN"
                + " v_pass := " + holders(t, "p_permits") + " + (SELECT count(*) FROM (SELECT 1 FROM " + q + " a"
                + " WHERE a.lock_key = p_key AND a.expires_at > v_now AND a.token <> p_token"
                + " AND (v_ticket IS NULL OR a.ticket < v_ticket) LIMIT p_permits) c) < p_permits;"
                + " END IF;"
                + " WHILE v_pass LOOP"
                + " IF p_mode = 'EXCLUSIVE' THEN"
                + " SELECT a.token, a.ticket, a.expires_at INTO v_head FROM " + q + " a"
                + " WHERE a.lock_key = p_key ORDER BY a.ticket LIMIT 1;"
                + " ELSE"
                + " SELECT a.token, a.ticket, a.expires_at INTO v_head FROM " + q + " a"
                + " WHERE a.lock_key = p_key AND a.mode = 'EXCLUSIVE' ORDER BY a.ticket LIMIT 1;"
                + " END IF;"
                + " IF NOT FOUND THEN EXIT; END IF;"
                + " IF v_head.expires_at > v_now OR v_head.token = p_token THEN"
                + " v_pass := v_head.token = p_token OR (p_mode = 'SHARED' AND v_head.ticket > v_ticket);"
                + " EXIT;"
                + " END IF;"
                + " DELETE FROM " + q + " WHERE lock_key = p_key AND token = v_head.token AND expires_at <= v_now;"
                + " v_dropped := v_dropped + 1;"
                + " END LOOP;"
                + " IF v_pass THEN"
                + " DELETE FROM " + q + " WHERE lock_key = p_key AND token = p_token;"
                + " RETURN QUERY " + insertLease("VALUES (", ")")
                + " RETURNING fencing, mode;"
                + " ELSIF p_keep > 0 THEN"
                + " INSERT INTO " + q + " (lock_key, token, mode, ticket, expires_at, name, permits)"
                + " SELECT p_key, p_token, p_mode, coalesce(max(ticket), 0) + 1,"
                + " v_now + p_keep * interval '1 millisecond', p_name, nullif(p_permits, 0) FROM " + q
                + " WHERE lock_key = p_key"
                + " ON CONFLICT (lock_key, token) DO UPDATE SET expires_at = excluded.expires_at, name = excluded.name,"
                + " permits = excluded.permits;"
                + " END IF;"
                + " IF v_dropped > 0 THEN v_granted := " + function("pass") + "(p_key, v_now, p_token); END IF;"
                + " IF v_pass IS NOT TRUE AND v_granted = 0 THEN" + NO_FLUSH_WAIT + " END IF;"
                + " END $fn$";
    }

    /**
     * Inserts the token's lease with the next fencing value, for {@code p_lease} ms from {@code v_now}:
     * {@code INSERT ... <open> values <close>}, where {@code open} is {@code "VALUES ("} or {@code "SELECT "}.
     */
    private String insertLease(String open, String close) {
        return "INSERT INTO " + config.table() + " (lock_key, token, mode, fencing, expires_at, acquired_at, name,"
                + " permits) " + open + "p_key, p_token, p_mode, nextval('" + config.sequence() + "'),"
                + " v_now + p_lease * interval '1 millisecond', v_now, p_name, nullif(p_permits, 0)" + close;
    }

    /** How many live leases of the name other than the token's, counting at most {@code limit}. */
    private static String holders(String table, String limit) {
        return "(SELECT count(*) FROM (SELECT 1 FROM " + table + " l WHERE l.lock_key = p_key AND l.token <> p_token"
                + " AND l.expires_at > v_now LIMIT " + limit + ") h)";
    }

    private String renewFunction() {
        return "CREATE OR REPLACE FUNCTION " + function("renew")
                + "(p_key bytea, p_token text, p_lease float8) RETURNS boolean LANGUAGE plpgsql VOLATILE"
                + SCANS + " AS $fn$"
                + " DECLARE v_now timestamptz;"
                + " BEGIN"
                + BOUND_WAIT + lockName()
                + " v_now := clock_timestamp();"
                + " UPDATE " + config.table() + " SET expires_at = v_now + p_lease * interval '1 millisecond'"
                + " WHERE lock_key = p_key AND token = p_token AND expires_at > v_now;"
                + " RETURN FOUND;"
                + " END $fn$";
    }

    /**
     * A release that grants nothing commits without waiting for its WAL flush (for this transaction only):
     * losing it in a server crash brings back a lease that then expires, while any later grant's synchronous
     * commit flushes the release before it. A release that hands the lock off commits synchronously, like
     * every grant. Queue entries live in an unlogged table and never wait for a flush. Nothing is notified
     * when nobody is queued: then {@code pass} is not called at all (it would grant nothing).
     */
    private String releaseFunction() {
        return "CREATE OR REPLACE FUNCTION " + function("release")
                + "(p_key bytea, p_token text) RETURNS boolean LANGUAGE plpgsql VOLATILE"
                + SCANS + " AS $fn$"
                + " DECLARE v_now timestamptz; v_released bigint; v_left bigint; v_granted integer := 0;"
                + " BEGIN"
                + BOUND_RELEASE_WAIT + lockName()
                + " v_now := clock_timestamp();"
                + " DELETE FROM " + config.table() + " WHERE lock_key = p_key AND token = p_token;"
                + " GET DIAGNOSTICS v_released = ROW_COUNT;"
                + " DELETE FROM " + config.queue() + " WHERE lock_key = p_key AND token = p_token;"
                + " GET DIAGNOSTICS v_left = ROW_COUNT;"
                + " IF v_released + v_left > 0 AND EXISTS (SELECT 1 FROM " + config.queue() + " a"
                + " WHERE a.lock_key = p_key) THEN"
                + " v_granted := " + function("pass") + "(p_key, v_now, NULL);"
                + " END IF;"
                + " IF v_granted = 0 THEN" + NO_FLUSH_WAIT + " END IF;"
                + " RETURN v_released > 0;"
                + " END $fn$";
    }

    /**
     * Turns the token's live exclusive lease into a shared one under the name's lock, so no other grant of
     * the name comes between the two modes, then lets through the queued requests {@code pass} admits now
     * (the shared requests at the head; a queued exclusive request and everything behind it keep waiting).
     * A shared lease is only extended, so a retried call returns the same grant. The grant commits
     * synchronously, like every grant.
     */
    private String downgradeFunction() {
        return "CREATE OR REPLACE FUNCTION " + function("downgrade")
                + "(p_key bytea, p_token text, p_lease float8)"
                + " RETURNS TABLE (fencing bigint, mode text) LANGUAGE plpgsql VOLATILE"
                + SCANS + " AS $fn$"
                + " #variable_conflict use_column\n"
                + " DECLARE v_now timestamptz;"
                + " BEGIN"
                + BOUND_WAIT + lockName()
                + " v_now := clock_timestamp();"
                + " RETURN QUERY UPDATE " + config.table() + " SET mode = 'SHARED',"
                + " fencing = CASE WHEN mode = 'EXCLUSIVE' THEN nextval('" + config.sequence() + "') ELSE fencing END,"
                + " expires_at = v_now + p_lease * interval '1 millisecond'"
                + " WHERE lock_key = p_key AND token = p_token AND expires_at > v_now RETURNING fencing, mode;"
                + " IF FOUND THEN PERFORM " + function("pass") + "(p_key, v_now, NULL); END IF;"
                + " END $fn$";
    }

    /**
     * Takes the name's advisory lock until commit. The key is {@link #tableKey()} and the first four bytes of
     * the name's key (as earlier versions of this backend took it in their own transactions, with the hash of
     * the table as spelled: the same for a table named without its schema).
     */
    private String lockName() {
        return " PERFORM pg_advisory_xact_lock(" + tableKey + ","
                + " ('x' || encode(substring(p_key FROM 1 FOR 4), 'hex'))::bit(32)::int);";
    }
}
