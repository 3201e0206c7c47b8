package dev.reactivelocks.testkit.servers;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * The Redis server of this test JVM, found once and shared by every test that asks:
 * <ol>
 *   <li><b>Configured</b>: the Redis URI in the environment variable {@value #VARIABLE}, e.g.
 *       {@code redis://:secret@cache:6380/2}, when it is set. If that server does not answer {@code PING},
 *       {@link #get()} fails with a message naming the variable; there is no fallback.</li>
 *   <li><b>Local</b>: otherwise {@code redis://127.0.0.1:6379}, when it accepts a connection within half a second
 *       and answers {@code PING}.</li>
 *   <li><b>Embedded</b>: otherwise a {@link RedisServerProcess} started for this JVM: the {@code redis-server} on the
 *       {@code PATH}, else the Redis 6.2 bundled in {@code com.github.codemonstur:embedded-redis}; a free port of
 *       127.0.0.1, no persistence, stopped when the JVM ends, also when the JVM is killed.</li>
 * </ol>
 * The first {@code get()} prints one line saying which server is used and why. Tests share the server: each one
 * should work under a key prefix of its own and delete its keys afterwards.
 *
 * <p><b>Threading</b>: {@code get()} blocks while it looks and starts (the first call); call it from the test
 * thread, e.g. in {@code @BeforeAll}, never from a Reactor thread.
 */
public final class TestRedis {

    /** The environment variable that names the server: a Redis URI ({@code redis://}, {@code rediss://}). */
    public static final String VARIABLE = "REACTIVE_LOCKS_TEST_REDIS";
    /** The local default, used when the variable is not set and it answers. */
    public static final String LOCAL_URL = "redis://127.0.0.1:6379";

    private static final OncePerJvm<TestRedis> SERVER =
            new OncePerJvm<>("Redis", () -> find(System.getenv(VARIABLE)), TestRedis::description);
    private static @Nullable RedisServerProcess embedded;   // referenced until the JVM ends

    private final ServerSource source;
    private final String url;
    private final RedisURI base;
    private final String description;

    private TestRedis(ServerSource source, String url, String description) {
        this.source = source;
        this.url = url;
        this.base = RedisURI.create(url);
        this.description = description;
    }

    /**
     * The server of this JVM, looked for (and, if needed, started) on the first call.
     *
     * @throws AssertionError when {@value #VARIABLE} names a server that does not answer, or when no embedded
     *     server could be started; later calls fail the same way
     */
    public static TestRedis get() {
        return SERVER.get();
    }

    static TestRedis find(@Nullable String configured) {
        if (configured != null && !configured.isBlank()) {
            RedisURI uri;
            try {
                uri = RedisURI.create(configured);
            } catch (IllegalArgumentException e) {
                throw new AssertionError(VARIABLE + " is not a Redis URI (" + e.getMessage()
                        + "); expected e.g. redis://:secret@host:6379/0");
            }
            String problem = problem(uri, Duration.ofSeconds(10));
            if (problem != null) {
                throw new AssertionError(VARIABLE + "=" + ServerSupport.redacted(configured) + " does not answer ("
                        + problem + "); start that server, or unset " + VARIABLE + " to use a local or embedded one");
            }
            return new TestRedis(ServerSource.CONFIGURED, configured,
                    "configured " + ServerSupport.redacted(configured) + " (from " + VARIABLE + ")");
        }
        String why;
        if (!ServerSupport.accepts("127.0.0.1", 6379, ServerSupport.LOCAL_CONNECT_TIMEOUT)) {
            why = "nothing at 127.0.0.1:6379";
        } else {
            String problem = problem(RedisURI.create(LOCAL_URL), Duration.ofSeconds(5));
            if (problem == null) {
                return new TestRedis(ServerSource.LOCAL, LOCAL_URL, "local " + LOCAL_URL + " (it answered)");
            }
            why = LOCAL_URL + " refused: " + problem;
        }
        try {
            RedisServerProcess server = RedisServerProcess.start();
            embedded = server;
            return new TestRedis(ServerSource.EMBEDDED, "redis://127.0.0.1:" + server.port(), "embedded, "
                    + RedisServerProcess.executableDescription() + ", on port " + server.port() + " (" + why + ")");
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new AssertionError("no Redis for the tests: " + why + ", and the embedded server did not start: "
                    + e.getMessage() + ". Set " + VARIABLE + " to a Redis URI, e.g. " + LOCAL_URL, e);
        }
    }

    /**
     * Shuts {@code client} down (no quiet period, at most two seconds for its threads), and waits for that at
     * most fifteen seconds: Lettuce's own {@code shutdown()} waits without bound for the client's connections
     * to close, and a test's clean-up must not hang the build when one never does (seen once with a cluster
     * client). A client still shutting down then is reported on standard error and left to the JVM's end; its
     * threads are daemons.
     *
     * @param client a Lettuce {@code RedisClient} or {@code RedisClusterClient}
     */
    public static void shutdown(AbstractRedisClient client) {
        try {
            client.shutdownAsync(0, 2, TimeUnit.SECONDS).get(15, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            System.err.println("reactive-locks test kit: " + client + " did not shut down within 15 s;"
                    + " left to the JVM's end");
        } catch (ExecutionException e) {
            throw new IllegalStateException("shutting " + client + " down failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while shutting " + client + " down", e);
        }
    }

    /** Why {@code PING} fails there, or null when it works. */
    private static @Nullable String problem(RedisURI uri, Duration timeout) {
        RedisURI probe = RedisURI.builder(uri).withTimeout(timeout).withClientName("reactive-locks-probe").build();
        RedisClient client = RedisClient.create();
        try (StatefulRedisConnection<String, String> c = client.connect(probe)) {
            c.sync().ping();
            return null;
        } catch (RuntimeException e) {
            return ServerSupport.describe(e);
        } finally {
            shutdown(client);
        }
    }

    /**
     * A URI of this server whose connections are named {@code clientName} (visible in {@code CLIENT LIST}, e.g.
     * to kill them), with a ten-second command timeout; password, database and TLS as configured.
     */
    public RedisURI uri(String clientName) {
        return RedisURI.builder(base).withClientName(clientName).withTimeout(Duration.ofSeconds(10)).build();
    }

    /** The URI of this server as text, password included (as the command line's {@code purge} takes it). */
    public String url() {
        return url;
    }

    /** Where the server came from. */
    public ServerSource source() {
        return source;
    }

    /** The server's host name or address. */
    public String host() {
        return base.getHost();
    }

    /** The server's TCP port. */
    public int port() {
        return base.getPort();
    }

    /** Which server this is and why it was chosen, password hidden, as printed by the first {@link #get()}. */
    public String description() {
        return description;
    }

    @Override
    public String toString() {
        return "TestRedis[" + description() + "]";
    }
}
