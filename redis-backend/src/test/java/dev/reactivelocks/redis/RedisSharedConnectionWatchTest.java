package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.test.subscriber.TestSubscriber;

/**
 * A transaction of the caller's own on the command connection it shares with the backend
 * ({@link RedisLockBackend#create(StatefulRedisConnection, StatefulRedisPubSubConnection, RedisLockConfig)}),
 * whose {@code EXEC} Redis aborts because another client changed a key the caller {@code WATCH}es: as the guide
 * ({@code redis.adoc}, "Transactions on a connection you share with the backend") says of a discarded
 * transaction, the backend's scripts sent meanwhile joined it and never ran, and each reads as an answer.
 */
class RedisSharedConnectionWatchTest {

    private static final Duration TIMEOUT = RedisTestSupport.TIMEOUT;
    private static final String CLIENT_NAME = "rl_cause_shared";
    /** The lease of the lock released inside the transaction: it stays in Redis that long. */
    private static final Duration SHORT_LEASE = Duration.ofSeconds(3);

    private RedisClient client;
    private RedisURI uri;
    private String prefix;
    private StatefulRedisConnection<byte[], byte[]> commands;
    private StatefulRedisPubSubConnection<byte[], byte[]> subscriptions;
    private StatefulRedisConnection<String, String> other;
    private RedisLockBackend backend;
    private DistributedLockService service;

    @BeforeEach
    void setUp() {
        client = RedisTestSupport.client();
        uri = RedisTestSupport.uri(CLIENT_NAME);
        prefix = "rl_cause_" + RedisTestSupport.uniquePrefix("watch");
        commands = client.connect(ByteArrayCodec.INSTANCE, uri);
        subscriptions = client.connectPubSub(ByteArrayCodec.INSTANCE, uri);
        other = client.connect(RedisTestSupport.uri("rl_cause_other"));
        // no health PINGs and no renewals within the transaction: only the operations of the test join it
        backend = RedisLockBackend.create(commands, subscriptions, RedisLockConfig.builder().keyPrefix(prefix)
                .restartGrace(Duration.ZERO).probeInterval(Duration.ofHours(1)).build());
        service = DistributedLockService.builder(backend).lease(Duration.ofSeconds(30))
                .renewEvery(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).build();
    }

    @AfterEach
    void tearDown() {
        service.disposeLater().block(TIMEOUT);
        backend.close().block(TIMEOUT);
        commands.close();
        subscriptions.close();
        other.close();
        RedisTestSupport.deleteKeys(client, uri, prefix);
        client.shutdown();
    }

    @Test
    void anExecAbortedByWatchRunsNoneOfTheBackendsScriptsQueuedInItsTransaction() throws Exception {
        String watched = prefix + "watched";
        String own = prefix + "own";
        LockHandle held = service.acquire("held", LockOptions.exclusive().lease(SHORT_LEASE)).block(TIMEOUT);

        assertThat(commands.sync().watch(bytes(watched))).isEqualTo("OK");
        assertThat(commands.sync().multi()).isEqualTo("OK");
        RedisFuture<String> ownSet = commands.async().set(bytes(own), bytes("mine"));
        TestSubscriber<Void> release = TestSubscriber.create();
        held.release().subscribe(release);
        TestSubscriber<LockHandle> tried = TestSubscriber.create();
        service.tryAcquire("free").subscribe(tried);
        TestSubscriber<LockHandle> waited = TestSubscriber.create();
        service.acquire("waited", LockOptions.exclusive().timeout(TIMEOUT)).subscribe(waited);
        awaitQueuedInTransaction(4);   // the caller's SET and the three scripts
        other.sync().set(watched, "changed by another client");

        TransactionResult result = commands.sync().exec();

        assertThat(result.wasDiscarded()).as("aborted by WATCH").isTrue();
        assertThat(result).isEmpty();
        assertThat(ownSet.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("completed without a reply").isNull();
        assertThat(other.sync().get(own)).as("the caller's SET did not run").isNull();
        // a release reads as "nothing to release" (lost() completes) while the lease stays in Redis
        release.block(TIMEOUT);
        assertThat(release.isTerminatedComplete()).isTrue();
        StepVerifier.create(held.lost()).expectComplete().verify(TIMEOUT);
        assertThat(leases("held")).as("the release did not run").isEqualTo(1);
        // a tryAcquire reads as "busy" although the lock is free
        tried.block(TIMEOUT);
        assertThat(tried.isTerminatedComplete()).isTrue();
        assertThat(tried.getReceivedOnNext()).isEmpty();
        assertThat(leases("free")).isZero();
        // a waiting acquisition reads "busy" too, and its next attempt, outside the transaction, is granted
        waited.block(TIMEOUT);
        assertThat(waited.getReceivedOnNext()).hasSize(1);
        waited.getReceivedOnNext().get(0).release().block(TIMEOUT);

        assertThat(service.tryAcquire("held").blockOptional(TIMEOUT)).as("held in Redis until its lease ends")
                .isEmpty();
        LockHandle afterExpiry = Mono.defer(() -> service.tryAcquire("held"))
                .repeatWhenEmpty(Integer.MAX_VALUE, attempts -> attempts.delayElements(Duration.ofMillis(100)))
                .block(SHORT_LEASE.plus(TIMEOUT));
        afterExpiry.release().block(TIMEOUT);
        LockHandle free = service.tryAcquire("free").block(TIMEOUT);
        assertThat(free).as("free once the transaction ended").isNotNull();
        free.release().block(TIMEOUT);
        assertThat(leases("held") + leases("free") + leases("waited")).as("no lock left held").isZero();
    }

    /** Waits until Redis has queued {@code count} commands in the transaction of the shared connection. */
    private void awaitQueuedInTransaction(long count) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (queuedInTransaction() < count) {
            assertThat(System.nanoTime()).as("queued in time").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /** The {@code multi} field of the shared command connection in {@code CLIENT LIST}: commands queued, -1 outside. */
    private long queuedInTransaction() {
        for (String line : other.sync().clientList().split("\n")) {
            if (line.contains(" name=" + CLIENT_NAME + " ") && line.contains(" sub=0 ")) {
                for (String field : line.trim().split(" ")) {
                    if (field.startsWith("multi=")) {
                        return Long.parseLong(field.substring("multi=".length()));
                    }
                }
            }
        }
        throw new AssertionError("no command connection named " + CLIENT_NAME);
    }

    private long leases(String name) {
        return RedisTestSupport.liveLeases(other, prefix, name);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
