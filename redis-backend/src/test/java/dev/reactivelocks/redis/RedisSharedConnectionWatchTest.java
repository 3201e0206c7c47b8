package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.servers.TestRedis;
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
import reactor.test.subscriber.TestSubscriber;

/**
 * A transaction of the caller's own on the command connection it shares with the backend
 * ({@link RedisLockBackend#create(StatefulRedisConnection, StatefulRedisPubSubConnection, RedisLockConfig)}) that
 * ends in a {@code DISCARD}, or in an {@code EXEC} that Redis aborts because another client changed a key the caller
 * {@code WATCH}es: as the guide ({@code redis.adoc}, "Transactions on a connection you share with the backend")
 * says, the backend's scripts sent meanwhile joined it and never ran. A release or a renewal among them fails with a
 * transient error and is retried outside the transaction: the release frees the lock (no false {@code lost()}), the
 * renewal extends the lease (no false loss).
 */
class RedisSharedConnectionWatchTest {

    private static final Duration TIMEOUT = RedisTestSupport.TIMEOUT;
    private static final String CLIENT_NAME = "rl_noreply_shared";
    /** The lease of the locks released inside a transaction: longer than any wait of the tests. */
    private static final Duration LEASE = Duration.ofSeconds(30);
    /** The lease of the lock renewed inside a transaction: renewed every two seconds, a third of it. */
    private static final Duration RENEWED_LEASE = Duration.ofSeconds(6);

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
        prefix = "rl_noreply_" + RedisTestSupport.uniquePrefix("watch");
        commands = client.connect(ByteArrayCodec.INSTANCE, uri);
        subscriptions = client.connectPubSub(ByteArrayCodec.INSTANCE, uri);
        other = client.connect(RedisTestSupport.uri("rl_noreply_other"));
        // no health PINGs and no renewals within the transaction: only the operations of the test join it
        backend = RedisLockBackend.create(commands, subscriptions, config());
        service = DistributedLockService.builder(backend).lease(LEASE)
                .renewEvery(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).build();
    }

    private RedisLockConfig config() {
        return RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO)
                .probeInterval(Duration.ofHours(1)).build();
    }

    @AfterEach
    void tearDown() {
        service.disposeLater().block(TIMEOUT);
        backend.close().block(TIMEOUT);
        commands.close();
        subscriptions.close();
        other.close();
        RedisTestSupport.deleteKeys(client, uri, prefix);
        TestRedis.shutdown(client);
    }

    @Test
    void aReleaseQueuedInAnExecAbortedByWatchIsRetriedAfterItAndHandsTheLockOff() throws Exception {
        String watched = prefix + "watched";
        String own = prefix + "own";
        LockHandle held = service.acquire("held").block(TIMEOUT);
        TestSubscriber<Void> heldLost = TestSubscriber.create();
        held.lost().subscribe(heldLost);
        // a waiter of another process, queued in Redis before the transaction: granted only by a release, as
        // it gives up long before the lease would expire
        RedisLockBackend elsewhere = RedisLockBackend.create(client, uri, config());
        DistributedLockService otherService = DistributedLockService.builder(elsewhere).lease(LEASE).build();
        try {
            TestSubscriber<LockHandle> next = TestSubscriber.create();
            otherService.acquire("held", LockOptions.exclusive().timeout(TIMEOUT)).subscribe(next);
            awaitQueuedInRedis("held");

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
            // the release is retried outside the transaction: it releases, and hands the lock to the waiter
            release.block(TIMEOUT);
            assertThat(release.isTerminatedComplete()).isTrue();
            assertThat(heldLost.isTerminated()).as("lost() of the released lock").isFalse();
            next.block(TIMEOUT);
            assertThat(next.getReceivedOnNext()).as("the waiter of the other process is granted").hasSize(1);
            assertThat(leases("held")).as("the waiter's lease only").isEqualTo(1);
            next.getReceivedOnNext().get(0).release().block(TIMEOUT);
            // a tryAcquire reads as "busy" although the lock is free
            tried.block(TIMEOUT);
            assertThat(tried.isTerminatedComplete()).isTrue();
            assertThat(tried.getReceivedOnNext()).isEmpty();
            assertThat(leases("free")).isZero();
            // a waiting acquisition reads "busy" too, and its next attempt, outside the transaction, is granted
            waited.block(TIMEOUT);
            assertThat(waited.getReceivedOnNext()).hasSize(1);
            waited.getReceivedOnNext().get(0).release().block(TIMEOUT);
        } finally {
            otherService.disposeLater().block(TIMEOUT);
            elsewhere.close().block(TIMEOUT);
        }

        LockHandle free = service.tryAcquire("free").block(TIMEOUT);
        assertThat(free).as("free once the transaction ended").isNotNull();
        free.release().block(TIMEOUT);
        assertThat(leases("held") + leases("free") + leases("waited")).as("no lock left held").isZero();
    }

    @Test
    void aReleaseAndARenewalQueuedInADiscardedTransactionAreRetriedAfterIt() throws Exception {
        LockHandle held = service.acquire("held").block(TIMEOUT);
        TestSubscriber<Void> heldLost = TestSubscriber.create();
        held.lost().subscribe(heldLost);
        LockHandle renewed = service.acquire("renewed", LockOptions.exclusive().lease(RENEWED_LEASE)).block(TIMEOUT);
        TestSubscriber<Void> renewedLost = TestSubscriber.create();
        renewed.lost().subscribe(renewedLost);

        assertThat(commands.sync().multi()).isEqualTo("OK");
        awaitQueuedInTransaction(1);   // the first renewal of "renewed", a third of its lease after the grant
        TestSubscriber<Void> release = TestSubscriber.create();
        held.release().subscribe(release);
        awaitQueuedInTransaction(2);   // and the release, both well within the command timeout
        assertThat(commands.sync().discard()).isEqualTo("OK");

        // the release is retried outside the transaction: the lock is free at once, and was not lost
        release.block(TIMEOUT);
        assertThat(release.isTerminatedComplete()).isTrue();
        assertThat(heldLost.isTerminated()).as("lost() of the released lock").isFalse();
        assertThat(leases("held")).isZero();
        LockHandle again = service.tryAcquire("held").block(TIMEOUT);
        assertThat(again).as("free right after the DISCARD").isNotNull();
        again.release().block(TIMEOUT);
        // the renewal failed with a transient error, and its retry extended the lease
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (renewed.isHeld() && (service.lastRenewalFailure() == null || service.failingRenewalCount() > 0)) {
            assertThat(System.nanoTime()).as("renewal retried in time").isLessThan(deadline);
            Thread.sleep(10);
        }
        assertThat(renewed.isHeld()).as("not lost by the discarded renewal").isTrue();
        assertThat(renewedLost.isTerminated()).isFalse();
        assertThat(service.lastRenewalFailure()).hasMessage("Lock 'renewed': Redis did not run renew.lua (its"
                + " command completed without a reply, as a command queued in a transaction of the caller on the"
                + " shared command connection does when the transaction is discarded or its EXEC aborted by WATCH)");
        assertThat(leases("renewed")).isEqualTo(1);
        renewed.release().block(TIMEOUT);
        assertThat(leases("held") + leases("renewed")).as("no lock left held").isZero();
    }

    /** Waits until the wait queue of {@code name} in Redis holds an entry. */
    private void awaitQueuedInRedis(String name) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (RedisTestSupport.orZero(other.sync().zcard(RedisTestSupport.key(prefix, name, "wait"))) == 0) {
            assertThat(System.nanoTime()).as("queued in time").isLessThan(deadline);
            Thread.sleep(10);
        }
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
