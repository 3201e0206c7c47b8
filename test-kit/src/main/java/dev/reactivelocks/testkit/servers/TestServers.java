package dev.reactivelocks.testkit.servers;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension that gives tests the PostgreSQL and Redis servers of {@link TestPostgres} and
 * {@link TestRedis} (configured, local or embedded, found once per JVM). With
 * {@code @ExtendWith(TestServers.class)} on a test class, constructors, test methods and lifecycle methods
 * (including {@code @BeforeAll}) may declare parameters of these types:
 * <ul>
 *   <li>{@link TestPostgres}, {@link TestRedis}: the server, its address and URLs;</li>
 *   <li>{@code io.r2dbc.spi.ConnectionFactory} or {@code io.r2dbc.postgresql.PostgresqlConnectionFactory}: a
 *       connection factory for the PostgreSQL server whose connections carry the test class's simple name as
 *       application name;</li>
 *   <li>{@code io.lettuce.core.RedisURI}: a URI of the Redis server whose connections carry the test class's
 *       simple name as client name;</li>
 *   <li>{@code io.lettuce.core.RedisClient}: a client shared by the tests of the class, shut down after them
 *       (by a Jupiter older than 5.13 too).</li>
 * </ul>
 * Only the server a test asks for is looked for or started. The PostgreSQL types need
 * {@code org.postgresql:r2dbc-postgresql} on the test class path, the Redis types {@code io.lettuce:lettuce-core}.
 * A server that cannot be found fails the test with the reason (see {@link TestPostgres#get()}).
 */
public final class TestServers implements ParameterResolver {

    /** Creates the extension; JUnit does this for {@code @ExtendWith(TestServers.class)}. */
    public TestServers() {
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        String type = parameter.getParameter().getType().getName();
        return switch (type) {
            case "dev.reactivelocks.testkit.servers.TestPostgres", "dev.reactivelocks.testkit.servers.TestRedis",
                 "io.r2dbc.spi.ConnectionFactory", "io.r2dbc.postgresql.PostgresqlConnectionFactory",
                 "io.lettuce.core.RedisURI", "io.lettuce.core.RedisClient" -> true;
            default -> false;
        };
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        String type = parameter.getParameter().getType().getName();
        String name = context.getRequiredTestClass().getSimpleName();
        try {
            return switch (type) {
                case "dev.reactivelocks.testkit.servers.TestPostgres" -> TestPostgres.get();
                case "io.r2dbc.spi.ConnectionFactory", "io.r2dbc.postgresql.PostgresqlConnectionFactory" ->
                        TestPostgres.get().connectionFactory(name);
                case "dev.reactivelocks.testkit.servers.TestRedis" -> TestRedis.get();
                case "io.lettuce.core.RedisURI" -> TestRedis.get().uri(name);
                case "io.lettuce.core.RedisClient" -> RedisClients.forClass(context);
                default -> throw new ParameterResolutionException("unsupported parameter type " + type);
            };
        } catch (AssertionError e) {
            throw new ParameterResolutionException(e.getMessage(), e);
        }
    }

    /** Lettuce types, loaded only when a test asks for a Redis client. */
    private static final class RedisClients {

        static Object forClass(ExtensionContext context) {
            TestRedis.get();
            ExtensionContext classContext = context.getTestMethod().isPresent() ? context.getParent().orElse(context) : context;
            return classContext.getStore(ExtensionContext.Namespace.create(TestServers.class))
                    .getOrComputeIfAbsent(ClientResource.class, k -> new ClientResource(), ClientResource.class).client;
        }
    }

    /**
     * The Redis client of a test class, shut down when JUnit closes the class's store. Jupiter 5.13 and later
     * close a stored {@code AutoCloseable}, and close a value that is both only as one; Jupiter before 5.13
     * closes only a {@code CloseableResource} (deprecated since 5.13, still there in 6), and would leave the
     * client and its threads running until the JVM ends. Shut down once however often it is closed.
     */
    @SuppressWarnings("deprecation") // CloseableResource: the only store value Jupiter before 5.13 closes
    static final class ClientResource implements AutoCloseable, ExtensionContext.Store.CloseableResource {

        final io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create();
        private final AtomicInteger closes = new AtomicInteger();

        @Override
        public void close() {
            if (closes.getAndIncrement() == 0) {
                TestRedis.shutdown(client);
            }
        }

        /** How often {@link #close()} was called. */
        int closes() {
            return closes.get();
        }
    }
}
