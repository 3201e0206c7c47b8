package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.HandOff;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The wait queue of {@link RedisLockBackend} across processes: each service has its own backend and
 * connections, as separate processes would. Waiters here are woken by pub/sub; their fallback poll is
 * long, so that a queue entry (kept for three polls) never expires while its waiter is alive, however slow
 * the machine.
 */
class RedisWaitQueueTest {

    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofSeconds(5);
    private static final Duration TIMEOUT = RedisTestSupport.TIMEOUT;

    private static RedisClient client;
    private static StatefulRedisConnection<byte[], byte[]> raw;
    private static String prefix;

    private final List<Runnable> cleanup = new ArrayList<>();
    private final List<String> messages = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void setUp() {
        client = RedisTestSupport.client();
        raw = client.connect(ByteArrayCodec.INSTANCE, RedisTestSupport.uri("rl-queue-admin"));
        prefix = RedisTestSupport.uniquePrefix("queue");
    }

    @AfterAll
    static void tearDown() {
        raw.close();
        RedisTestSupport.deleteKeys(client, RedisTestSupport.uri("rl-queue-admin"), prefix);
        TestRedis.shutdown(client);
    }

    @AfterEach
    void close() {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).run();
        }
    }

    private RedisLockBackend backend() {
        RedisLockBackend backend = RedisLockBackend.create(client, RedisTestSupport.uri("rl-queue"),
                RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO).build());
        cleanup.add(() -> backend.close().block(TIMEOUT));
        return backend;
    }

    private DistributedLockService service(RedisLockBackend backend, Duration pollInterval) {
        DistributedLockService service = DistributedLockService.builder(backend).lease(LEASE)
                .pollInterval(pollInterval).build();
        cleanup.add(() -> service.disposeLater().block(TIMEOUT));
        return service;
    }

    private DistributedLockService service() {
        return service(backend(), POLL);
    }

    /** Records "channel message" of every wake-up published under the prefix, in publication order. */
    private void observeWakeUps() {
        StatefulRedisPubSubConnection<byte[], byte[]> c = client.connectPubSub(ByteArrayCodec.INSTANCE,
                RedisTestSupport.uri("rl-queue-observer"));
        cleanup.add(c::close);
        c.addListener(new RedisPubSubAdapter<>() {
            @Override
            public void message(byte[] pattern, byte[] channel, byte[] message) {
                messages.add(ascii(channel).substring(prefix.length()) + " " + ascii(message));
            }
        });
        c.sync().psubscribe(ascii(prefix + "wake:*"));
    }

    /** Publishes a marker and waits for it: every wake-up published before has then been recorded. */
    private List<String> wakeUpsSoFar() {
        raw.sync().publish(ascii(prefix + "wake:marker"), ascii("marker"));
        await(() -> messages.contains("wake:marker marker"));
        List<String> out = new ArrayList<>(messages);
        out.removeIf(m -> m.startsWith("wake:marker "));
        return out;
    }

    private static String ascii(byte[] bytes) {
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** Waits on the test thread (the condition may call Redis synchronously) for at most {@link #TIMEOUT}. */
    private static void await(BooleanSupplier condition) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() - deadline).as("condition still false after " + TIMEOUT).isNegative();
            Mono.delay(Duration.ofMillis(20)).block();
        }
    }

    private static List<String> queued(String name) {
        List<String> tokens = new ArrayList<>();
        raw.sync().zrange(ascii(RedisTestSupport.key(prefix, name, "wait")), 0, -1).forEach(t -> tokens.add(ascii(t)));
        return tokens;
    }

    private static void awaitQueued(String name, int entries) {
        await(() -> queued(name).size() == entries);
    }

    private static LockHandle acquire(DistributedLockService s, String name) {
        return s.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
    }

    /** Once nothing is held or queued, only the name's fencing key stays (until one lease after the last grant). */
    private static void assertNothingLeftBut(String name) {
        List<String> keys = new ArrayList<>();
        RedisTestSupport.keys(raw, prefix).forEach(k -> keys.add(ascii(k).substring(prefix.length())));
        assertThat(keys).filteredOn(k -> k.startsWith("{" + name + "}:")).containsExactly("{" + name + "}:fence");
    }

    @Test
    void waitersOfDifferentProcessesAreGrantedInTheOrderTheyQueuedEachWokenByOneMessage() {
        observeWakeUps();
        DistributedLockService a = service();
        DistributedLockService b = service();
        DistributedLockService c = service();
        String name = RedisTestSupport.uniqueName("fifo");
        LockHandle held = acquire(a, name);
        List<String> order = new CopyOnWriteArrayList<>();
        List<Disposable> waiters = new ArrayList<>();
        for (DistributedLockService s : List.of(b, c, a)) {
            String who = s == a ? "a" : s == b ? "b" : "c";
            waiters.add(s.acquire(name, LockOptions.exclusive().timeout(TIMEOUT))
                    .flatMap(h -> {
                        order.add(who);
                        return h.release();
                    })
                    .subscribe());
            if (s != a) {   // a's waiter reaches Redis once a's holder is gone
                awaitQueued(name, waiters.size());
            }
        }
        List<String> tokens = queued(name);

        held.release().block(TIMEOUT);
        await(() -> order.size() == 3);
        assertThat(order).as("a released and asked again at once, yet was queued behind b and c")
                .containsExactly("b", "c", "a");
        List<String> wakeUps = wakeUpsSoFar();
        assertThat(wakeUps).as("one message per hand-off, to the next waiter only").hasSize(3);
        assertThat(wakeUps.subList(0, 2)).extracting(m -> HandOff.fromSignal(m.substring(m.indexOf(' ') + 1)))
                .as("each message hands the lock to the next waiter").doesNotContainNull()
                .extracting(HandOff::token).containsExactlyElementsOf(tokens);
        assertThat(wakeUps).extracting(m -> m.substring(0, m.indexOf(' '))).doesNotHaveDuplicates();
        waiters.forEach(Disposable::dispose);
        assertNothingLeftBut(name);
    }

    /**
     * The release hands the lock to the dead waiter at the head: its lease lives as long as its entry would
     * have, by the Redis clock, then the next waiter takes the lock.
     */
    @Test
    void theEntryOfADeadWaiterBlocksUntilItExpiresByTheRedisClock() {
        RedisLockBackend backendA = backend();
        DistributedLockService a = service(backendA, POLL);
        DistributedLockService b = service(backend(), Duration.ofMillis(100));
        String name = RedisTestSupport.uniqueName("dead");
        LockHandle held = acquire(a, name);
        assertThat(backendA.acquireOrQueue(name, LockMode.EXCLUSIVE, "dead", LEASE, Duration.ofMinutes(1))
                .block(TIMEOUT)).as("queued, then never asks again").isNull();
        List<LockHandle> granted = new CopyOnWriteArrayList<>();
        Disposable waiter = b.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).subscribe(granted::add);
        cleanup.add(waiter::dispose);
        awaitQueued(name, 2);

        held.release().block(TIMEOUT);
        Mono.delay(Duration.ofMillis(500)).block(TIMEOUT);
        assertThat(granted).as("behind the dead waiter's hand-off").isEmpty();
        assertThat(queued(name)).as("the dead waiter left the queue with the hand-off").hasSize(1);
        byte[] lock = ascii(RedisTestSupport.key(prefix, name, "lock"));
        String handedOff = new String(raw.sync().hget(lock, ascii("dead")), StandardCharsets.US_ASCII);
        // the hand-off's expiry, as if the minute of its entry had passed
        raw.sync().hset(lock, ascii("dead"), ascii(handedOff.substring(0, handedOff.lastIndexOf(':')) + ":1"));
        await(() -> granted.size() == 1);
        assertThat(queued(name)).isEmpty();
        granted.get(0).release().block(TIMEOUT);
        assertNothingLeftBut(name);
    }

    @Test
    void anEntryExpiresKeepQueuedAfterTheLastCallOfItsWaiter() {
        RedisLockBackend backend = backend();
        String name = RedisTestSupport.uniqueName("expiry");
        assertThat(backend.tryAcquire(name, LockMode.EXCLUSIVE, "holder", LEASE).block(TIMEOUT)).isNotNull();
        assertThat(backend.acquireOrQueue(name, LockMode.EXCLUSIVE, "gone", LEASE, Duration.ofMillis(200))
                .block(TIMEOUT)).isNull();
        await(() -> raw.sync().exists(ascii(RedisTestSupport.key(prefix, name, "wait")), ascii(RedisTestSupport.key(prefix, name, "waiter")),
                ascii(RedisTestSupport.key(prefix, name, "waitx"))) == 0);
        assertThat(backend.release(name, "holder").block(TIMEOUT)).isTrue();
        assertNothingLeftBut(name);
    }

    @Test
    void cancelledAndTimedOutWaitersLeaveTheQueueAtOnce() {
        DistributedLockService a = service();
        DistributedLockService b = service();
        DistributedLockService c = service();
        DistributedLockService d = service();
        String name = RedisTestSupport.uniqueName("leave");
        LockHandle held = acquire(a, name);
        Disposable cancelled = b.acquire(name).subscribe();
        awaitQueued(name, 1);
        List<LockHandle> granted = new CopyOnWriteArrayList<>();
        Disposable patient = d.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).subscribe(granted::add);
        cleanup.add(patient::dispose);
        awaitQueued(name, 2);
        String patientToken = queued(name).get(1);
        List<Throwable> timedOut = new CopyOnWriteArrayList<>();
        c.acquire(name, LockOptions.exclusive().timeout(Duration.ofSeconds(3))).subscribe(null, timedOut::add);
        await(() -> queued(name).size() == 3 || !timedOut.isEmpty());

        cancelled.dispose();
        await(() -> !timedOut.isEmpty());
        await(() -> queued(name).equals(List.of(patientToken)));
        held.release().block(TIMEOUT);
        await(() -> granted.size() == 1);
        granted.get(0).release().block(TIMEOUT);
        assertNothingLeftBut(name);
    }

    @Test
    void sharedWaitersAtTheHeadAreGrantedTogetherAndAWriterAfterThem() {
        DistributedLockService a = service();
        DistributedLockService b = service();
        DistributedLockService c = service();
        DistributedLockService d = service();
        String name = RedisTestSupport.uniqueName("shared");
        LockHandle writer = acquire(a, name);
        List<LockHandle> readers = new CopyOnWriteArrayList<>();
        List<LockHandle> writers = new CopyOnWriteArrayList<>();
        cleanup.add(b.acquire(name, LockOptions.shared().timeout(TIMEOUT)).subscribe(readers::add)::dispose);
        awaitQueued(name, 1);
        cleanup.add(c.acquire(name, LockOptions.shared().timeout(TIMEOUT)).subscribe(readers::add)::dispose);
        awaitQueued(name, 2);
        cleanup.add(d.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).subscribe(writers::add)::dispose);
        awaitQueued(name, 3);

        writer.release().block(TIMEOUT);
        await(() -> readers.size() == 2);
        assertThat(writers).isEmpty();
        assertThat(a.tryAcquire(name, LockOptions.shared()).blockOptional(TIMEOUT))
                .as("a reader does not pass the queued writer").isEmpty();
        Flux.fromIterable(readers).concatMap(LockHandle::release).blockLast(TIMEOUT);
        await(() -> writers.size() == 1);
        writers.get(0).release().block(TIMEOUT);
        assertNothingLeftBut(name);
    }
}
