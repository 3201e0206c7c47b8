package dev.reactivelocks.testkit.servers;

import dev.reactivelocks.testkit.EngineTestKitCase;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two tests and an {@code @AfterAll} method that take the class's {@link RedisClient} from {@link TestServers};
 * records what they saw for {@link RedisClientCaseMain}, and the store value that holds the client.
 */
@EngineTestKitCase
@ExtendWith(TestServers.class)
class RedisClientCase {

    /** The clients the tests and the {@code @AfterAll} method were given. */
    static final List<RedisClient> CLIENTS = new ArrayList<>();
    /** What a {@code PING} through the client answered in {@code @AfterAll}. */
    static String ping = "not run";
    /** The store value holding the client, taken after {@code @AfterAll}, before JUnit closes the store. */
    static TestServers.ClientResource resource;
    /** How often {@link #resource} had been closed then. */
    static int closesBeforeTheStoreWasClosed = -1;

    @RegisterExtension
    static final AfterAllCallback STORE = context -> {
        resource = context.getStore(ExtensionContext.Namespace.create(TestServers.class))
                .get(TestServers.ClientResource.class, TestServers.ClientResource.class);
        closesBeforeTheStoreWasClosed = resource.closes();
    };

    @Test
    void first(RedisClient client) {
        CLIENTS.add(client);
    }

    @Test
    void second(RedisClient client) {
        CLIENTS.add(client);
    }

    @AfterAll
    static void stillOpen(RedisClient client, RedisURI uri) {
        CLIENTS.add(client);
        try (StatefulRedisConnection<String, String> c = client.connect(uri)) {
            ping = c.sync().ping();
        }
    }
}
