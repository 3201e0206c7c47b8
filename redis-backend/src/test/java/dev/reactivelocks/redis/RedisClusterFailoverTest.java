package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.servers.RedisClusterProcess;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * Masters of a Redis Cluster fail over while locks are held and waited for, on a cluster of its own (three masters,
 * three replicas): first a manual failover ({@code CLUSTER FAILOVER} on a replica, which loses nothing), then a
 * master killed with {@code SIGKILL} while its replica was frozen, so that the grants made meanwhile are lost.
 * Three services, each with its own cluster client, lock six names (two per master) in loops throughout.
 *
 * <p>Checked: every acquisition ends granted or timed out as asked (none hangs, no other error); fencing tokens
 * never go backwards on any name; two exclusive holders of a name overlap only when the earlier grant was lost
 * with the killed master, and its holder is then told by {@code lost()}; every name is granted again after each
 * failover.
 */
class RedisClusterFailoverTest {

    private static final Duration LEASE = Duration.ofSeconds(2);
    private static final Duration RENEW = Duration.ofMillis(400);
    private static final Duration ACQUIRE_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private RedisClusterProcess cluster;
    private final List<Runnable> cleanup = new ArrayList<>();
    private final Ledger ledger = new Ledger();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Set<Long> pending = ConcurrentHashMap.newKeySet();
    private final AtomicLong attempts = new AtomicLong();
    private final AtomicInteger timeouts = new AtomicInteger();
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();
    private String prefix;

    @BeforeEach
    void startCluster() throws Exception {
        RedisClusterProcess.assumeExecutable();
        cluster = RedisClusterProcess.start();
        prefix = RedisTestSupport.uniquePrefix("failover");
    }

    @AfterEach
    void stopCluster() throws Exception {
        running.set(false);
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).run();
        }
        cluster.close();
    }

    private DistributedLockService service(String clientName) {
        return service(clientName, Duration.ofMillis(200));
    }

    private DistributedLockService service(String clientName, Duration pollInterval) {
        RedisClusterClient client = RedisClusterSupport.client(cluster, clientName);
        RedisLockBackend backend = RedisLockBackend.create(client,
                RedisLockConfig.builder().keyPrefix(prefix).restartGrace(Duration.ZERO).build());
        DistributedLockService service = DistributedLockService.builder(backend).lease(LEASE).renewEvery(RENEW)
                .pollInterval(pollInterval).build();
        cleanup.add(() -> {
            service.disposeLater().block(TIMEOUT);
            backend.close().block(TIMEOUT);
            RedisClusterSupport.shutdown(client);
        });
        return service;
    }

    private int masterOf(String name) {
        return cluster.masterOf(SlotHash.getSlot(RedisTestSupport.key(prefix, name, "lock")));
    }

    /** {@code count} names whose keys are on the master on {@code port}. */
    private List<String> namesOn(int port, String base, int count) {
        List<String> names = new ArrayList<>();
        for (int i = 0; names.size() < count; i++) {
            if (masterOf(base + i) == port) {
                names.add(base + i);
            }
        }
        return names;
    }

    /** Acquires {@code name} over and over until stopped: holds each grant 50 ms. */
    private Disposable loop(DistributedLockService s, String name) {
        return Mono.defer(() -> {
                    long id = attempts.incrementAndGet();
                    pending.add(id);
                    return s.acquire(name, LockOptions.exclusive().timeout(ACQUIRE_TIMEOUT))
                            .flatMap(h -> {
                                ledger.granted(h);
                                return Mono.delay(Duration.ofMillis(50)).then(Mono.defer(() -> {
                                    ledger.gone(h);
                                    return h.release();
                                }));
                            })
                            .onErrorResume(LockTimeoutException.class, e -> {
                                timeouts.incrementAndGet();
                                return Mono.empty();
                            })
                            .onErrorResume(e -> {
                                errors.add(e);
                                return Mono.empty();
                            })
                            .doFinally(signal -> pending.remove(id));
                })
                .repeat(running::get)
                .subscribe();
    }

    /** A release on {@code name} wakes the waiter of {@code sleeper}, which never polls: pub/sub works. */
    private void wakeUpReaches(DistributedLockService holder, DistributedLockService sleeper, String name) {
        LockHandle held = holder.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
        Mono<LockHandle> waiting = sleeper.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).cache();
        waiting.subscribe(null, errors::add);
        Mono.delay(Duration.ofMillis(500)).block();
        held.release().block(TIMEOUT);
        LockHandle woken = waiting.block(Duration.ofSeconds(10));
        assertThat(woken.fencingToken()).isGreaterThan(held.fencingToken());
        woken.release().block(TIMEOUT);
    }

    private void awaitGrantsOfEveryName(List<String> names, int after) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!names.stream().allMatch(n -> ledger.grantsSince(n, after) > 0)) {
            assertThat(System.nanoTime()).as("every name granted again within %s", TIMEOUT).isLessThan(deadline);
            Mono.delay(Duration.ofMillis(50)).block();
        }
    }

    @Test
    void locksSurviveAManualFailoverAndAKilledMasterReportsItsLostGrants() throws Exception {
        List<Integer> ports = cluster.ports();
        int manual = ports.get(0);
        int killed = ports.get(1);
        List<String> names = new ArrayList<>();
        names.addAll(namesOn(ports.get(0), "m", 2));
        names.addAll(namesOn(ports.get(1), "k", 2));
        names.addAll(namesOn(ports.get(2), "s", 2));
        List<DistributedLockService> services = List.of(service("rl-fo-a"), service("rl-fo-b"), service("rl-fo-c"));
        DistributedLockService sleeper = service("rl-fo-sleeper", Duration.ofMinutes(5));
        String wakeManual = namesOn(manual, "wake", 1).get(0);
        String wakeKilled = namesOn(killed, "wake", 1).get(0);
        wakeUpReaches(services.get(0), sleeper, wakeManual);
        for (DistributedLockService s : services) {
            for (String name : names) {
                Disposable d = loop(s, name);
                cleanup.add(d::dispose);
            }
        }
        awaitGrantsOfEveryName(names, 0);

        // a manual failover: the replica catches up before it takes over, nothing is lost
        int mark = ledger.size();
        cluster.failover(cluster.replicaOf(manual));
        awaitGrantsOfEveryName(names, mark);
        wakeUpReaches(services.get(0), sleeper, wakeManual);
        int afterManual = ledger.size();

        // a crash: the replica is frozen, so what the master grants now is lost with it
        int replica = cluster.replicaOf(killed);
        cluster.pause(replica);
        String probeName = namesOn(killed, "probe", 1).get(0);
        LockHandle probe = services.get(0).acquire(probeName, LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
        ledger.granted(probe);
        AtomicLong lostAt = new AtomicLong();
        probe.lost().subscribe(null, null, () -> {
            lostAt.set(System.nanoTime());
            ledger.gone(probe);
        });
        Mono<LockHandle> waiter = services.get(1).acquire(probeName, LockOptions.exclusive().timeout(TIMEOUT))
                .doOnNext(ledger::granted).cache();
        waiter.subscribe(null, errors::add);
        Mono.delay(Duration.ofMillis(300)).block();
        mark = ledger.size();
        cluster.kill(killed);
        cluster.resume(replica);
        cluster.awaitHealthy();

        StepVerifier.create(probe.lost()).as("the lost grant is reported").expectComplete().verify(TIMEOUT);
        LockHandle next = waiter.block(TIMEOUT);
        assertThat(next.fencingToken()).as("granted again after the crash, with a larger token")
                .isGreaterThan(probe.fencingToken());
        next.release().block(TIMEOUT);
        awaitGrantsOfEveryName(names, mark);
        wakeUpReaches(services.get(0), sleeper, wakeKilled);

        running.set(false);
        long deadline = System.nanoTime() + ACQUIRE_TIMEOUT.plus(TIMEOUT).toNanos();
        while (!pending.isEmpty() && System.nanoTime() < deadline) {
            Mono.delay(Duration.ofMillis(50)).block();
        }
        System.out.println("Redis Cluster failovers: " + attempts.get() + " acquisitions, " + ledger.size()
                + " grants (" + afterManual + " before the crash), " + timeouts.get() + " timed out, overlaps: "
                + ledger.overlaps);
        assertThat(pending).as("every acquisition was granted or timed out").isEmpty();
        assertThat(errors).as("no other outcome").isEmpty();
        assertThat(ledger.backwards()).as("fencing tokens never go backwards").isEmpty();
        assertThat(ledger.overlaps).as("two holders at once only after a lost grant, which its holder is told")
                .allSatisfy(o -> assertThat(o.earlier.isHeld()).as(o.toString()).isFalse())
                .allSatisfy(o -> assertThat(o.later.fencingToken()).isGreaterThan(o.earlier.fencingToken()));
        assertThat(ledger.overlaps).as("no overlap on the names that only failed over manually or never")
                .allSatisfy(o -> assertThat(masterPortBefore(o.earlier.name(), killed, ports)).isEqualTo(killed));
    }

    /** The port that served the name before the crash: names were chosen by their original master. */
    private static int masterPortBefore(String name, int killed, List<Integer> ports) {
        return name.startsWith("k") || name.startsWith("probe") ? killed : -1;
    }

    /** Who holds each name, as the services see it, in grant order. */
    private static final class Ledger {
        record Overlap(LockHandle earlier, LockHandle later) {
            @Override
            public String toString() {
                return earlier.name() + ": " + later.fencingToken() + " granted while " + earlier.fencingToken()
                        + " was held";
            }
        }

        private final Map<String, LockHandle> holders = new HashMap<>();
        private final List<LockHandle> grants = new ArrayList<>();
        final List<Overlap> overlaps = new CopyOnWriteArrayList<>();

        synchronized void granted(LockHandle h) {
            LockHandle before = holders.put(h.name(), h);
            if (before != null) {
                overlaps.add(new Overlap(before, h));
            }
            grants.add(h);
        }

        synchronized void gone(LockHandle h) {
            holders.remove(h.name(), h);
        }

        synchronized int size() {
            return grants.size();
        }

        synchronized long grantsSince(String name, int index) {
            return grants.subList(index, grants.size()).stream().filter(h -> h.name().equals(name)).count();
        }

        /** The grants whose token is not larger than the previous token of the same name. */
        synchronized List<String> backwards() {
            Map<String, Long> last = new HashMap<>();
            List<String> out = new ArrayList<>();
            for (LockHandle h : grants) {
                Long before = last.put(h.name(), h.fencingToken());
                if (before != null && before >= h.fencingToken()) {
                    out.add(h.name() + ": " + h.fencingToken() + " after " + before);
                }
            }
            return out;
        }
    }
}
