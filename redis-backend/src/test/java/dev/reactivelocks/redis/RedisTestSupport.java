package dev.reactivelocks.redis;

import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.KeyScanArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanStream;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The shared test server: the Redis server of this JVM ({@link TestRedis}: {@code REACTIVE_LOCKS_TEST_REDIS}, else
 * 127.0.0.1:6379, else an embedded server). Tests touch only keys under their own unique prefix and delete them
 * afterwards.
 */
final class RedisTestSupport {

    static final Duration TIMEOUT = Duration.ofSeconds(15);

    private RedisTestSupport() {
    }

    /** A URI of the test server whose connections are named {@code clientName}. */
    static RedisURI uri(String clientName) {
        return TestRedis.get().uri(clientName);
    }

    /** A new client, after checking that the test server answers. */
    static RedisClient client() {
        TestRedis.get();
        return RedisClient.create();
    }

    static String uniquePrefix(String test) {
        return "rltest:" + test + ":" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL) + ":";
    }

    static String uniqueName(String base) {
        return base + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
    }

    /** The key of {@code kind} ({@code lock}, {@code wait}, {@code fence}, ...) of a name not starting with } or ~. */
    static String key(String prefix, String name, String kind) {
        return prefix + "{" + name + "}:" + kind;
    }

    /** How many leases (live, or expired and not yet removed) the lock hash of {@code name} holds. */
    static long liveLeases(StatefulRedisConnection<String, String> admin, String prefix, String name) {
        return orZero(admin.sync().hlen(key(prefix, name, "lock")));
    }

    /** A count that Redis may answer as null, as a number. */
    static long orZero(Long count) {
        return count == null ? 0 : count;
    }

    /** Deletes every key under {@code prefix} (which has no glob characters). */
    static long deleteKeys(RedisClient client, RedisURI uri, String prefix) {
        try (StatefulRedisConnection<byte[], byte[]> c = client.connect(ByteArrayCodec.INSTANCE, uri)) {
            List<byte[]> keys = keys(c, prefix);
            return keys.isEmpty() ? 0 : c.sync().del(keys.toArray(new byte[0][]));
        }
    }

    static List<byte[]> keys(StatefulRedisConnection<byte[], byte[]> c, String prefix) {
        List<byte[]> keys = ScanStream.scan(c.reactive(), KeyScanArgs.Builder.limit(500)
                        .match((prefix + "*").getBytes(StandardCharsets.US_ASCII)))
                .collectList().block(TIMEOUT);
        return keys == null ? new ArrayList<>() : keys;
    }

    /** The ids of the server's clients whose name is {@code clientName} (from {@code CLIENT LIST}). */
    static List<Long> clientIds(StatefulRedisConnection<String, String> admin, String clientName) {
        List<Long> ids = new ArrayList<>();
        for (String line : admin.sync().clientList().split("\n")) {
            long id = -1;
            String name = null;
            for (String field : line.trim().split(" ")) {
                if (field.startsWith("id=")) {
                    id = Long.parseLong(field.substring(3));
                } else if (field.startsWith("name=")) {
                    name = field.substring(5);
                }
            }
            if (clientName.equals(name)) {
                ids.add(id);
            }
        }
        return ids;
    }

    /** Kills the server's connections of {@code clientName}; returns how many. */
    static int kill(StatefulRedisConnection<String, String> admin, String clientName) {
        List<Long> ids = clientIds(admin, clientName);
        for (long id : ids) {
            admin.sync().clientKill(io.lettuce.core.KillArgs.Builder.id(id));
        }
        return ids.size();
    }
}
