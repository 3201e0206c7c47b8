package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.HandOff;
import dev.reactivelocks.testkit.servers.RedisServerProcess;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;

/**
 * What one hand-off costs the server, counted with {@code CONFIG RESETSTAT} and {@code INFO commandstats} on a
 * {@code redis-server} that the test starts for itself (nobody else's commands are counted): the {@code EVALSHA}
 * of the release plus every command the script runs ({@code redis.call}, the {@code PUBLISH} included), from the
 * release until the next waiter is granted, with one holder and 8 contenders queued on one name, round after round
 * (each released token queues again at the tail, as contenders do).
 */
class RedisHandOffCostTest {

    /** The bound on the commands of one hand-off: release, grant and announcement of the next waiter. */
    static final int MAX_COMMANDS_PER_HAND_OFF = 12;
    /** The bound on a release with nobody queued. */
    static final int MAX_COMMANDS_PER_UNCONTENDED_RELEASE = 5;

    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration KEEP_QUEUED = Duration.ofSeconds(20);
    private static final Duration TIMEOUT = Duration.ofSeconds(15);
    private static final int QUEUED = 8;
    private static final int ROUNDS = 20;

    private RedisServerProcess server;
    private RedisClient client;
    private StatefulRedisConnection<String, String> admin;
    private RedisLockBackend backend;

    @BeforeEach
    void start() throws Exception {
        server = RedisServerProcess.start();
        client = RedisClient.create();
        admin = client.connect(server.uri("rl-cost-admin"));
        // no restart grace (a fresh server), and no PING of the command connection while counting
        RedisLockConfig config = RedisLockConfig.builder().keyPrefix("rl-cost:").restartGrace(Duration.ZERO)
                .probeInterval(Duration.ofHours(1)).build();
        backend = RedisLockBackend.create(client, server.uri("rl-cost"), config);
        // loads the scripts (EVAL after NOSCRIPT), so that the counted calls are the steady state's EVALSHA
        assertThat(backend.tryAcquire("warm-up", LockMode.EXCLUSIVE, "w", LEASE).block(TIMEOUT)).isNotNull();
        assertThat(backend.release("warm-up", "w").block(TIMEOUT)).isTrue();
    }

    @AfterEach
    void stop() throws Exception {
        backend.close().block(TIMEOUT);
        admin.close();
        TestRedis.shutdown(client);
        server.close();
    }

    @Test
    void aHandOffWithEightContendersQueuedCostsAtMostTwelveCommands() throws Exception {
        BlockingQueue<HandOff> handOffs = new LinkedBlockingQueue<>();
        CompletableFuture<String> subscribed = backend.releases().next().toFuture();
        Disposable listening = backend.handOffs().subscribe(handOffs::add);
        try {
            subscribed.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);   // the wake channel is subscribed
            String name = "orders";
            String holder = "t0";
            BackendLease first = backend.tryAcquire(name, LockMode.EXCLUSIVE, holder, LEASE).block(TIMEOUT);
            assertThat(first).isNotNull();
            long fencing = first.fencingToken();
            Deque<String> queue = new ArrayDeque<>();
            for (int i = 1; i <= QUEUED; i++) {
                queue(name, "t" + i);
                queue.add("t" + i);
            }
            for (int round = 0; round < ROUNDS; round++) {
                String next = queue.remove();
                String releasing = holder;
                Map<String, Long> calls = countCommands(() -> assertThat(backend.release(name, releasing)
                        .block(TIMEOUT)).isTrue());
                HandOff granted = handOffs.poll(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                assertThat(granted).as("hand-off of round %d", round).isNotNull();
                assertThat(granted.token()).isEqualTo(next);
                assertThat(granted.fencingToken()).isGreaterThan(fencing);
                fencing = granted.fencingToken();
                assertThat(calls.values().stream().mapToLong(Long::longValue).sum())
                        .as("commands of hand-off %d: %s", round, calls)
                        .isLessThanOrEqualTo(MAX_COMMANDS_PER_HAND_OFF);
                assertThat(calls).as("commands of hand-off %d", round).containsEntry("evalsha", 1L)
                        .containsEntry("publish", 1L).doesNotContainKey("eval");
                queue(name, holder);   // the released contender queues again, at the tail
                queue.add(holder);
                holder = next;
                assertThat(handOffs).isEmpty();
            }
        } finally {
            listening.dispose();
        }
    }

    @Test
    void aReleaseWithNobodyQueuedCostsAtMostFiveCommands() throws Exception {
        for (int round = 0; round < 5; round++) {
            String token = "u" + round;
            assertThat(backend.tryAcquire("solo", LockMode.EXCLUSIVE, token, LEASE).block(TIMEOUT)).isNotNull();
            Map<String, Long> calls = countCommands(() -> assertThat(backend.release("solo", token).block(TIMEOUT))
                    .isTrue());
            assertThat(calls.values().stream().mapToLong(Long::longValue).sum()).as("commands: %s", calls)
                    .isLessThanOrEqualTo(MAX_COMMANDS_PER_UNCONTENDED_RELEASE);
            assertThat(admin.sync().exists("rl-cost:{solo}:lock")).isZero();
        }
    }

    private void queue(String name, String token) {
        assertThat(backend.acquireOrQueue(name, LockMode.EXCLUSIVE, token, LEASE, KEEP_QUEUED).block(TIMEOUT))
                .as("%s queues", token).isNull();
    }

    /** The commands the server ran during {@code action}, by name (lower case), the counting commands left out. */
    private Map<String, Long> countCommands(Runnable action) {
        admin.sync().configResetstat();
        action.run();
        Map<String, Long> calls = new TreeMap<>();
        for (String line : admin.sync().info("commandstats").split("\r?\n")) {
            if (line.startsWith("cmdstat_")) {
                String command = line.substring("cmdstat_".length(), line.indexOf(':'));
                long n = Long.parseLong(line.substring(line.indexOf("calls=") + 6, line.indexOf(',')));
                if (!command.startsWith("config") && !command.equals("info")) {   // Redis 7: config|resetstat
                    calls.put(command, n);
                }
            }
        }
        return calls;
    }
}
