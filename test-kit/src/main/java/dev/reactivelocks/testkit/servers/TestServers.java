package dev.reactivelocks.testkit.servers;

import java.time.Duration;
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
 *   <li>{@code io.lettuce.core.RedisClient}: a client shared by the tests of the class, shut down after them.</li>
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

    private static final class ClientResource implements AutoCloseable {

        final io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create();

        @Override
        public void close() {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(5));
        }
    }
}
