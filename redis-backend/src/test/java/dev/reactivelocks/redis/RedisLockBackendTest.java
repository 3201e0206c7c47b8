package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * What {@link RedisLockBackend} does beyond the SPI rules ({@link RedisLockBackendContractTest}): its keys and their
 * lifetimes, the Redis clock, purging, the restart grace, configuration errors and borrowed connections, against
 * the real server.
 */
class RedisLockBackendTest {

    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration TIMEOUT = RedisTestSupport.TIMEOUT;

    private static RedisClient client;
    private static RedisURI uri;
    private static String prefix;
    private static RedisLockBackend backend;
    private static StatefulRedisConnection<byte[], byte[]> raw;

    @BeforeAll
    static void setUp() {
        client = RedisTestSupport.client();
        uri = RedisTestSupport.uri("rl-backend-test");
        prefix = RedisTestSupport.uniquePrefix("backend");
        backend = RedisLockBackend.create(client, uri,
                RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO).build());
        raw = client.connect(ByteArrayCodec.INSTANCE, uri);
    }

    @AfterAll
    static void tearDown() {
        backend.close().block(TIMEOUT);
        raw.close();
        RedisTestSupport.deleteKeys(client, uri, prefix);
        TestRedis.shutdown(client);
    }

    private static BackendLease acquire(String name, LockMode mode, String token) {
        return backend.tryAcquire(name, mode, token, LEASE).block(TIMEOUT);
    }

    private static byte[] key(String kind, String name) {
        return RedisTestSupport.key(prefix, name, kind).getBytes(StandardCharsets.UTF_8);
    }


    @Test
    void theLastReleaseDeletesTheKey() {
        acquire("cad", LockMode.EXCLUSIVE, "owner");
        assertThat(backend.release("cad", "owner").block(TIMEOUT)).isTrue();
        assertThat(raw.sync().exists(key("lock", "cad"))).as("last lease gone: key deleted").isZero();
    }

    @Test
    void anAcquireRepeatedWithTheSameTokenKeepsOneEntry() {
        acquire("idem", LockMode.EXCLUSIVE, "tok");
        acquire("idem", LockMode.EXCLUSIVE, "tok");
        assertThat(raw.sync().hlen(key("lock", "idem"))).isEqualTo(1L);
    }

    @Test
    void aTakenOverLeaseLeavesOnlyTheEntryOfItsNewOwner() {
        backend.tryAcquire("exp", LockMode.EXCLUSIVE, "old", Duration.ofSeconds(1)).block(TIMEOUT);
        assertThat(Mono.delay(Duration.ofMillis(1500))
                .then(backend.tryAcquire("exp", LockMode.EXCLUSIVE, "new", LEASE)).block(TIMEOUT)).isNotNull();
        assertThat(raw.sync().hkeys(key("lock", "exp"))).extracting(b -> new String(b, StandardCharsets.US_ASCII))
                .containsExactly("new");
    }


    @Test
    void leaseTimesComeFromTheRedisClockAndTheKeyExpiresWithTheLastLease() {
        backend.tryAcquire("clock", LockMode.EXCLUSIVE, "clk", Duration.ofMillis(1500)).block(TIMEOUT);
        List<byte[]> time = raw.sync().time();
        long serverNow = Long.parseLong(new String(time.get(0), StandardCharsets.US_ASCII)) * 1000
                + Long.parseLong(new String(time.get(1), StandardCharsets.US_ASCII)) / 1000;
        String entry = new String(raw.sync().hget(key("lock", "clock"), "clk".getBytes(StandardCharsets.US_ASCII)),
                StandardCharsets.US_ASCII);
        long expiresAt = Long.parseLong(entry.substring(entry.lastIndexOf(':') + 1));
        // counted from the server clock rounded up to the next millisecond
        assertThat(expiresAt - serverNow).isBetween(1000L, 1501L);
        assertThat(raw.sync().pttl(key("lock", "clock"))).isBetween(1000L, 1501L);
        assertThat(raw.sync().pttl(key("fence", "clock"))).as("the fencing key lives one lease").isBetween(1000L, 1501L);
        Mono.delay(Duration.ofMillis(1700)).block(TIMEOUT);
        assertThat(raw.sync().exists(key("lock", "clock"))).as("gone by TTL").isZero();
        assertThat(raw.sync().exists(key("fence", "clock"))).as("the fencing key expires one lease after the grant")
                .isZero();
    }

    /** The Redis server clock in microseconds. */
    private static long serverMicros() {
        List<byte[]> time = raw.sync().time();
        return Long.parseLong(new String(time.get(0), StandardCharsets.US_ASCII)) * 1_000_000
                + Long.parseLong(new String(time.get(1), StandardCharsets.US_ASCII));
    }

    /** The expiry (Redis clock, ms) stored at the end of the field {@code token} of the hash {@code kind}. */
    private static long storedExpiry(String kind, String name, String token) {
        String v = new String(raw.sync().hget(key(kind, name), token.getBytes(StandardCharsets.US_ASCII)),
                StandardCharsets.US_ASCII);
        String[] f = v.split(":");
        return Long.parseLong(kind.equals("lock") ? f[2] : f[1]);
    }

    /**
     * The service counts a lease from the moment it sent the call (its local view of the lease ends no later than
     * the store's): the stored lease, a renewed one, a downgraded one and a queue entry (whose end is that of a
     * hand-off's lease) end no earlier than the time the call was sent plus the duration asked for, however the
     * server clock and the duration fall between milliseconds.
     */
    @Test
    void storedLeasesAndEntriesEndNoEarlierThanAskedFromTheMomentTheCallWasSent() {
        Duration lease = LEASE.plusNanos(999_999);
        Duration keep = Duration.ofMillis(5000).plusNanos(999_999);
        for (int i = 0; i < 10; i++) {
            String name = "round-" + i;
            long sent = serverMicros();
            backend.tryAcquire(name, LockMode.EXCLUSIVE, "holder", lease).block(TIMEOUT);
            assertThat(storedExpiry("lock", name, "holder") * 1000).as("lease").isGreaterThanOrEqualTo(sent
                    + lease.toNanos() / 1000);
            sent = serverMicros();
            backend.acquireOrQueue(name, LockMode.EXCLUSIVE, "waiter", lease, keep).block(TIMEOUT);
            assertThat(storedExpiry("waiter", name, "waiter") * 1000).as("queue entry").isGreaterThanOrEqualTo(sent
                    + keep.toNanos() / 1000);
            sent = serverMicros();
            backend.renew(name, "holder", lease).block(TIMEOUT);
            assertThat(storedExpiry("lock", name, "holder") * 1000).as("renewed").isGreaterThanOrEqualTo(sent
                    + lease.toNanos() / 1000);
            sent = serverMicros();
            backend.downgrade(name, "holder", lease).block(TIMEOUT);
            assertThat(storedExpiry("lock", name, "holder") * 1000).as("downgraded").isGreaterThanOrEqualTo(sent
                    + lease.toNanos() / 1000);
            backend.release(name, "waiter").block(TIMEOUT);
            backend.release(name, "holder").block(TIMEOUT);
        }
    }

    @Test
    void fencingTokensFollowTheServerClockAndSurviveALostCounter() {
        long last = acquire("fence", LockMode.EXCLUSIVE, "t0").fencingToken();
        backend.release("fence", "t0").block(TIMEOUT);
        List<byte[]> time = raw.sync().time();
        long micros = Long.parseLong(new String(time.get(0), StandardCharsets.US_ASCII)) * 1_000_000
                + Long.parseLong(new String(time.get(1), StandardCharsets.US_ASCII));
        assertThat(last).as("at least the server time in microseconds").isBetween(micros - 60_000_000, micros);
        raw.sync().del(key("fence", "fence"));   // as if the counter was lost
        assertThat(acquire("fence", LockMode.EXCLUSIVE, "after").fencingToken()).isGreaterThan(last);
    }

    @Test
    void namesOfAnyCharactersAndLengthMakeReadableKeysAndDecodeBack() {
        String quotes = "it's \"quoted\" * ? [x] \\ ; --";
        String nul1 = "a\u0000b";
        String nul2 = "a\u0000c";
        String emoji = "lock-\uD83D\uDD12-\u00e9";
        String lone1 = "lone-\uD800";
        String lone2 = "lone-\uDBFF";
        String huge = "x".repeat(10 * 1024) + "\u0000" + "y".repeat(100);
        String hugeTwin = "x".repeat(10 * 1024) + "\u0000" + "y".repeat(99) + "z";
        String brace = "}starts-with-a-brace";   // would be an empty hash tag
        String tilde = "~starts-with-the-escape";
        String both = "~}";
        List<String> names = List.of(quotes, nul1, nul2, emoji, lone1, lone2, huge, hugeTwin, brace, tilde, both);
        for (String name : names) {   // kept apart: LockBackendContract.namesOfAnyCharactersAndLengthAreKeptApart
            assertThat(acquire(name, LockMode.EXCLUSIVE, "first")).as("free: %s", name.length()).isNotNull();
        }
        for (String name : List.of(quotes, emoji, huge)) {
            assertThat(raw.sync().exists(key("lock", name))).as("readable UTF-8 key").isEqualTo(1L);
        }
        assertThat(backend.leases().map(RedisLeaseInfo::name).collectList().block(TIMEOUT))
                .as("names decode back").containsAll(names);
        assertThat(backend.signalKey(huge)).hasSize(64).isNotEqualTo(backend.signalKey(hugeTwin));
        assertThat(backend.signalKey(lone1)).isNotEqualTo(backend.signalKey(lone2));
        for (String name : names) {
            assertThat(backend.release(name, "first").block(TIMEOUT)).isTrue();
        }
    }

    @Test
    void leasesReportWhatExistsAndPurgeRemovesOnlyExpiredLeases() {
        String p = RedisTestSupport.uniquePrefix("purge");
        RedisLockBackend b = RedisLockBackend.create(client, uri,
                RedisLockConfig.builder().keyPrefix(p).restartGrace(Duration.ZERO).build());
        try {
            BackendLease live = b.tryAcquire("doc", LockMode.SHARED, "live", LEASE).block(TIMEOUT);
            b.tryAcquire("doc", LockMode.SHARED, "dead", Duration.ofMillis(1)).block(TIMEOUT);
            b.tryAcquire("gone", LockMode.EXCLUSIVE, "g", Duration.ofMillis(1)).block(TIMEOUT);
            List<RedisLeaseInfo> seen = Mono.delay(Duration.ofMillis(100)).thenMany(b.leases()).collectList().block(TIMEOUT);
            assertThat(seen).extracting(RedisLeaseInfo::name, RedisLeaseInfo::token, RedisLeaseInfo::isLive)
                    .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("doc", "live", true),
                            org.assertj.core.groups.Tuple.tuple("doc", "dead", false));
            RedisLeaseInfo info = seen.stream().filter(RedisLeaseInfo::isLive).findFirst().orElseThrow();
            assertThat(info.mode()).isEqualTo(LockMode.SHARED);
            assertThat(info.fencingToken()).isEqualTo(live.fencingToken());
            assertThat(info.remaining()).isBetween(LEASE.dividedBy(2), LEASE.plusMillis(1));
            assertThat(b.purgeExpired().block(TIMEOUT)).isEqualTo(1L);
            assertThat(b.purgeExpired().block(TIMEOUT)).isZero();
            assertThat(b.leases().map(RedisLeaseInfo::token).collectList().block(TIMEOUT)).containsExactly("live");
        } finally {
            b.close().block(TIMEOUT);
            RedisTestSupport.deleteKeys(client, uri, p);
        }
    }

    @Test
    void aNewOrWipedPrefixGrantsNothingDuringTheRestartGrace() {
        String p = RedisTestSupport.uniquePrefix("grace");
        RedisLockBackend b = RedisLockBackend.create(client, uri, RedisLockConfig.builder().keyPrefix(p).build());
        try {
            assertThat(b.tryAcquire("g", LockMode.EXCLUSIVE, "t1", Duration.ofMillis(800)).block(TIMEOUT)).isNull();
            assertThat(Mono.delay(Duration.ofMillis(300)).then(b.tryAcquire("g", LockMode.EXCLUSIVE, "t1",
                    Duration.ofMillis(800))).block(TIMEOUT)).as("still within one lease").isNull();
            assertThat(Mono.delay(Duration.ofMillis(700)).then(b.tryAcquire("g", LockMode.EXCLUSIVE, "t1",
                    Duration.ofMillis(800))).block(TIMEOUT)).as("after one lease").isNotNull();
            assertThat(raw.sync().ttl((p + "epoch").getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1L);
        } finally {
            b.close().block(TIMEOUT);
            RedisTestSupport.deleteKeys(client, uri, p);
        }
    }

    @Test
    void aKeyOfAnotherTypeUnderThePrefixIsAPermanentConfigurationError() {
        raw.sync().set(key("lock", "string"), "not a hash".getBytes(StandardCharsets.US_ASCII));
        StepVerifier.create(backend.tryAcquire("string", LockMode.EXCLUSIVE, "t", LEASE))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                        .hasMessageStartingWith("Lock 'string': Redis refused the lock script under key prefix '"
                                + prefix + "' (")
                        // Redis 7 reports the script's error as is; 6.2 wraps it in "ERR Error running script"
                        .hasMessageContaining("WRONGTYPE Operation against a key holding the wrong kind of value"))
                .verify(TIMEOUT);
    }

    @Test
    void prefixesAreValidatedBecauseTheyArePatterns() {
        assertThatThrownBy(() -> RedisLockConfig.builder().keyPrefix("locks:*"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("keyPrefix must be 1 to 200 printable ASCII characters without spaces and without"
                        + " * ? [ ] \\ { }, was 'locks:*'");
        assertThatThrownBy(() -> RedisLockConfig.builder().restartGrace(Duration.ofMillis(-1)))
                .hasMessage("restartGrace must be >= 0, was PT-0.001S");
        assertThat(RedisLockConfig.defaults().keyPrefix()).isEqualTo("reactivelocks:");
        assertThat(RedisLockConfig.defaults().restartGrace()).isNull();
    }


    @Test
    void aBackendOnTheCallersConnectionsLeavesThemOpen() {
        StatefulRedisPubSubConnection<byte[], byte[]> subscriptions = client.connectPubSub(ByteArrayCodec.INSTANCE, uri);
        RedisLockBackend given = RedisLockBackend.create(raw, subscriptions,
                RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO).build());
        try {
            BackendLease lease = given.tryAcquire("given", LockMode.EXCLUSIVE, "g", LEASE).block(TIMEOUT);
            assertThat(acquire("given", LockMode.EXCLUSIVE, "other")).as("same keys as the other backend").isNull();
            assertThat(given.acquireOrQueue("given", LockMode.EXCLUSIVE, "gw", LEASE, LEASE).block(TIMEOUT)).isNull();
            StepVerifier.create(given.releases().filter(k -> !k.isEmpty()).next())
                    .expectSubscription()
                    .expectNoEvent(Duration.ofMillis(300))
                    .then(() -> given.release("given", "g").subscribe())
                    .expectNext("gw")
                    .verifyComplete();
            given.release("given", "gw").block(TIMEOUT);
            assertThat(lease.fencingToken()).isPositive();
            given.close().block(TIMEOUT);
            assertThat(raw.isOpen()).isTrue();
            assertThat(subscriptions.isOpen()).isTrue();
            assertThat(subscriptions.sync().pubsubChannels()).as("unsubscribed on close")
                    .noneMatch(ch -> new String(ch, StandardCharsets.US_ASCII).startsWith(prefix));
        } finally {
            subscriptions.close();
        }
    }

    @Test
    void scriptsRunFromTheirDigestOnceLoaded() {
        acquire("sha", LockMode.EXCLUSIVE, "s");
        Map<String, Boolean> loaded = Map.of(
                LuaScripts.ACQUIRE.sha, raw.sync().scriptExists(LuaScripts.ACQUIRE.sha).get(0),
                LuaScripts.RELEASE.sha, raw.sync().scriptExists(LuaScripts.RELEASE.sha).get(0));
        assertThat(loaded).containsValues(true).doesNotContainValue(false);
    }
}
