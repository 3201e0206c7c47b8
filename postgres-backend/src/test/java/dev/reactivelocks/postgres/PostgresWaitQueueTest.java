package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.BackendLease;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * The wait queue of {@link PostgresLockBackend}: order across backends (as across processes), wake-ups
 * addressed to the next waiter only, entries that expire or leave, and nothing left in the tables.
 */
class PostgresWaitQueueTest {

    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration KEEP = Duration.ofSeconds(30);
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private static PostgresqlConnectionFactory admin;
    private static PostgresLockConfig config;
    private static PostgresLockBackend backend;

    private final List<Runnable> cleanup = new ArrayList<>();
    private String name;

    @BeforeAll
    static void createTable() {
        admin = PostgresTestSupport.factory("rl-queue-admin");
        config = PostgresLockConfig.builder().table(PostgresTestSupport.uniqueTable("queue")).build();
        backend = backend("rl-queue-backend");
    }

    @AfterAll
    static void dropTable() {
        PostgresTestSupport.dropSchema(admin, config);
    }

    @BeforeEach
    void uniqueName() {
        name = "queue-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    }

    @AfterEach
    void tearDown() {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).run();
        }
    }

    @AfterAll
    static void closeBackend() {
        backend.close().block(TIMEOUT);
    }

    private static PostgresLockBackend backend(String applicationName) {
        return PostgresLockBackend.create(PostgresTestSupport.pool(PostgresTestSupport.factory(applicationName)),
                config);
    }

    /** A service over its own pool and backend, as another process would have. */
    private DistributedLockService service(String applicationName) {
        ConnectionPool pool = PostgresTestSupport.pool(PostgresTestSupport.factory(applicationName));
        PostgresLockBackend own = PostgresLockBackend.create(pool, config);
        DistributedLockService service = DistributedLockService.builder(own)
                .lease(Duration.ofSeconds(10)).renewEvery(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(300))
                .build();
        cleanup.add(() -> {
            service.disposeLater().block(TIMEOUT);
            own.close().block(TIMEOUT);
            pool.disposeLater().block(TIMEOUT);
        });
        return service;
    }

    /** One call of {@code acquireOrQueue} for this test's name; tokens are unique per test. */
    private @Nullable BackendLease queue(String token, LockMode mode, Duration keep) {
        return backend.acquireOrQueue(name, mode, token(token), LEASE, keep).block(TIMEOUT);
    }

    private void release(String token) {
        backend.release(name, token(token)).block(TIMEOUT);
    }

    private String token(String label) {
        return name + ":" + label;
    }

    /**
     * This test's signals, by label, starting with "listening" when the listener is up (no signal is missed
     * from then on).
     */
    private Flux<String> signals() {
        return backend.releases().filter(k -> k.isEmpty() || k.startsWith(name))
                .map(k -> k.isEmpty() ? "listening" : k.substring(name.length() + 1));
    }

    private List<String> queued() {
        return PostgresTestSupport.query(admin, "SELECT token FROM " + config.queue() + " WHERE lock_key = $1"
                + " ORDER BY ticket", String.class, (Object) PostgresLockBackend.key(name));
    }

    private long leases() {
        return PostgresTestSupport.query(admin, "SELECT count(*) FROM " + config.table() + " WHERE lock_key = $1",
                Long.class, (Object) PostgresLockBackend.key(name)).get(0);
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting for: " + what).isLessThan(deadline);
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** Sends {@code label} as a token signal; it arrives after every signal committed before. */
    private void marker(String label) {
        PostgresTestSupport.query(admin, "SELECT count(*) FROM (SELECT pg_notify($1, $2)) n", Long.class,
                config.channel(), token(label));
    }

    /**
     * A call repeated with the token of a grant whose answer was lost (the service retries with the same
     * token) must not bring its lease back once it expired: a hand-off may have granted the name meanwhile,
     * past the expired row.
     */
    @Test
    void aRepeatedCallNeverRevivesAnExpiredLeaseThatAHandOffWentPast() {
        assertThat(queue("holder", LockMode.EXCLUSIVE, KEEP)).isNotNull();
        assertThat(queue("writer", LockMode.EXCLUSIVE, KEEP)).isNull();
        assertThat(queue("reader", LockMode.SHARED, KEEP)).isNull();
        PostgresTestSupport.run(admin, "UPDATE " + config.table() + " SET expires_at = now() - interval '1 second'"
                + " WHERE token = '" + token("holder") + "'");
        release("writer");   // leaves the queue: the reader behind it is handed the lock, the holder's lease expired
        assertThat(queue("reader", LockMode.SHARED, KEEP)).as("handed off").isNotNull();

        BackendLease revived = queue("holder", LockMode.EXCLUSIVE, KEEP);
        assertThat(revived).as("an exclusive grant beside the reader's shared lease").isNull();
        assertThat(backend.tryAcquire(name, LockMode.EXCLUSIVE, token("holder"), LEASE).block(TIMEOUT)).isNull();
        release("reader");
        release("holder");
    }

    /**
     * A hand-off that goes past an expired lease takes the lock over as an acquisition does: the old owner's
     * release then finds no lease, so its service reports the loss ({@code lost()}) instead of a clean release.
     */
    @Test
    void anExpiredLeaseThatAHandOffWentPastIsGoneForItsOldOwner() {
        assertThat(queue("holder", LockMode.EXCLUSIVE, KEEP)).isNotNull();
        assertThat(queue("writer", LockMode.EXCLUSIVE, KEEP)).isNull();
        assertThat(queue("reader", LockMode.SHARED, KEEP)).isNull();
        PostgresTestSupport.run(admin, "UPDATE " + config.table() + " SET expires_at = now() - interval '1 second'"
                + " WHERE token = '" + token("holder") + "'");
        release("writer");   // the reader is handed the lock past the holder's expired lease
        assertThat(backend.release(name, token("holder")).block(TIMEOUT)).as("taken over").isFalse();
        assertThat(backend.release(name, token("reader")).block(TIMEOUT)).as("the reader's lease").isTrue();
        assertThat(leases()).isZero();
    }

    @Test
    void waitersOfSeparateServicesAreGrantedInTheOrderTheyQueuedWithIncreasingFencing() {
        DistributedLockService holderService = service("rl-queue-holder");
        LockHandle holder = holderService.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
        List<Integer> order = new CopyOnWriteArrayList<>();
        List<Long> fencing = new CopyOnWriteArrayList<>();
        List<Mono<Integer>> waits = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int id = i;
            DistributedLockService s = service("rl-queue-w" + i);
            Mono<Integer> wait = s.withLock(name, LockOptions.exclusive().timeout(TIMEOUT), h -> {
                order.add(id);
                fencing.add(h.fencingToken());
                return Mono.just(id);
            }).cache();
            wait.subscribe(v -> { }, e -> { });
            waits.add(wait);
            await("waiter " + i + " queued", () -> queued().size() == id + 1);
        }
        holder.release().block(TIMEOUT);
        waits.forEach(w -> w.block(TIMEOUT));
        assertThat(order).containsExactly(0, 1, 2, 3);
        assertThat(fencing).isSorted().doesNotHaveDuplicates().allMatch(f -> f > holder.fencingToken());
        assertThat(queued()).isEmpty();
        assertThat(leases()).isZero();
    }

    @Test
    void aReleaseWakesOnlyTheHeadOfTheQueue() {
        assertThat(queue("holder", LockMode.EXCLUSIVE, KEEP)).isNotNull();
        assertThat(queue("first", LockMode.EXCLUSIVE, KEEP)).isNull();
        assertThat(queue("second", LockMode.EXCLUSIVE, KEEP)).isNull();
        StepVerifier.create(signals())
                .expectNext("listening")
                .then(() -> release("holder"))
                .expectNext("first")
                .then(() -> marker("end"))
                .expectNext("end")
                .then(() -> assertThat(queue("second", LockMode.EXCLUSIVE, KEEP)).as("not before the head").isNull())
                .then(() -> assertThat(queue("first", LockMode.EXCLUSIVE, KEEP)).isNotNull())
                .then(() -> release("first"))
                .expectNext("second")
                .thenCancel()
                .verify(TIMEOUT);
        assertThat(queue("second", LockMode.EXCLUSIVE, KEEP)).isNotNull();
        release("second");
        assertThat(queued()).isEmpty();
        assertThat(leases()).isZero();
    }

    @Test
    void aReleaseWakesTheSharedRunAtTheHeadUpToTheFirstExclusive() {
        List<String> waiters = List.of("s1", "s2", "x3", "s4");
        assertThat(queue("holder", LockMode.EXCLUSIVE, KEEP)).isNotNull();
        for (String label : waiters) {
            assertThat(queue(label, label.startsWith("s") ? LockMode.SHARED : LockMode.EXCLUSIVE, KEEP)).isNull();
        }
        StepVerifier.create(signals())
                .expectNext("listening")
                .then(() -> release("holder"))
                .recordWith(ArrayList::new)
                .expectNextCount(2)
                .consumeRecordedWith(woken -> assertThat(woken).containsExactlyInAnyOrder("s1", "s2"))
                .then(() -> marker("end"))
                .expectNext("end")
                .thenCancel()
                .verify(TIMEOUT);
        assertThat(queue("s4", LockMode.SHARED, KEEP)).as("shared behind a queued exclusive waits").isNull();
        assertThat(queue("s2", LockMode.SHARED, KEEP)).isNotNull();
        assertThat(queue("s1", LockMode.SHARED, KEEP)).isNotNull();
        waiters.forEach(this::release);
        assertThat(queued()).isEmpty();
        assertThat(leases()).isZero();
    }

    /**
     * Newcomers asking for a free name at once, from two backends (as from two processes): the first to take
     * the name's lock is granted at once, every other one finds its lease and queues; each release then hands
     * the lock to the next, with a larger fencing token.
     */
    @Test
    void newcomersRacingForAFreeNameGetOneGrantAndQueueTheRest() {
        PostgresLockBackend rival = rival();
        List<Mono<Optional<BackendLease>>> calls = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            PostgresLockBackend on = i % 2 == 0 ? backend : rival;
            calls.add(on.acquireOrQueue(name, LockMode.EXCLUSIVE, token("n" + i), LEASE, KEEP)
                    .map(Optional::of).defaultIfEmpty(Optional.empty()));
        }
        List<Optional<BackendLease>> answers = Flux.merge(calls).collectList().block(TIMEOUT);

        List<BackendLease> granted = answers.stream().flatMap(Optional::stream).toList();
        assertThat(granted).as("one grant").hasSize(1);
        assertThat(queued()).as("the others queued").hasSize(5).doesNotContain(granted.get(0).token());
        long fencing = granted.get(0).fencingToken();
        String holder = granted.get(0).token();
        while (!queued().isEmpty()) {
            String next = queued().get(0);
            backend.release(name, holder).block(TIMEOUT);
            BackendLease handedOff = backend.acquireOrQueue(name, LockMode.EXCLUSIVE, next, LEASE, KEEP).block(TIMEOUT);
            assertThat(handedOff).as("the head of the queue holds the lock").isNotNull();
            assertThat(handedOff.fencingToken()).isGreaterThan(fencing);
            fencing = handedOff.fencingToken();
            holder = next;
        }
        backend.release(name, holder).block(TIMEOUT);
        assertThat(leases()).isZero();
    }

    /**
     * A release handing the lock off to the queued waiter, raced by a newcomer on another backend at jittered
     * instants: whichever runs first, the newcomer finds the holder's lease or the waiter's, so it queues and
     * never takes the lock past the waiter; the waiter holds it, with a larger fencing token than the holder.
     */
    @Test
    void aNewcomerRacingAHandOffNeverBargesPastTheWaiter() {
        PostgresLockBackend rival = rival();
        for (int i = 0; i < 30; i++) {
            String round = name + "-" + i;
            String holder = round + ":holder";
            String waiter = round + ":waiter";
            String newcomer = round + ":newcomer";
            BackendLease held = backend.acquireOrQueue(round, LockMode.EXCLUSIVE, holder, LEASE, KEEP).block(TIMEOUT);
            assertThat(held).isNotNull();
            assertThat(backend.acquireOrQueue(round, LockMode.EXCLUSIVE, waiter, LEASE, KEEP).block(TIMEOUT)).isNull();
            long jitter = ThreadLocalRandom.current().nextLong(2_000_000);
            Mono<Boolean> release = backend.release(round, holder);
            Mono<Optional<BackendLease>> barge = Mono.delay(Duration.ofNanos(jitter))
                    .then(rival.acquireOrQueue(round, LockMode.EXCLUSIVE, newcomer, LEASE, KEEP))
                    .map(Optional::of).defaultIfEmpty(Optional.empty());
            Optional<BackendLease> newcomerAnswer = Mono.zip(release, barge).block(TIMEOUT).getT2();

            assertThat(newcomerAnswer).as("round %d: the newcomer queued", i).isEmpty();
            BackendLease handedOff = backend.acquireOrQueue(round, LockMode.EXCLUSIVE, waiter, LEASE, KEEP)
                    .block(TIMEOUT);
            assertThat(handedOff).as("round %d: the waiter holds the lock", i).isNotNull();
            assertThat(handedOff.fencingToken()).isGreaterThan(held.fencingToken());
            backend.release(round, waiter).block(TIMEOUT);
            BackendLease last = rival.acquireOrQueue(round, LockMode.EXCLUSIVE, newcomer, LEASE, KEEP).block(TIMEOUT);
            assertThat(last).as("round %d: the newcomer is next", i).isNotNull();
            assertThat(last.fencingToken()).isGreaterThan(handedOff.fencingToken());
            rival.release(round, newcomer).block(TIMEOUT);
        }
    }

    /**
     * A newcomer that finds no live lease, but an expired one and a live waiter, does not take the free lock:
     * it queues behind the waiter, which dropping the expired lease lets through.
     */
    @Test
    void aNewcomerQueuesBehindTheWaiterOfAnExpiredLease() {
        BackendLease expiring = backend.acquireOrQueue(name, LockMode.EXCLUSIVE, token("holder"),
                Duration.ofMillis(300), KEEP).block(TIMEOUT);
        assertThat(expiring).isNotNull();
        assertThat(queue("waiter", LockMode.EXCLUSIVE, KEEP)).isNull();
        await("the holder's lease expired", () -> liveLeases() == 0);

        assertThat(queue("newcomer", LockMode.EXCLUSIVE, KEEP)).as("the newcomer queued").isNull();
        BackendLease granted = queue("waiter", LockMode.EXCLUSIVE, KEEP);
        assertThat(granted).as("the waiter holds the lock").isNotNull();
        assertThat(granted.fencingToken()).isGreaterThan(expiring.fencingToken());
        assertThat(queued()).containsExactly(token("newcomer"));
        release("waiter");
        assertThat(queue("newcomer", LockMode.EXCLUSIVE, KEEP)).isNotNull();
        release("newcomer");
        assertThat(queued()).isEmpty();
        assertThat(leases()).isZero();
    }

    /** A second backend on a pool of its own, closed after the test. */
    private PostgresLockBackend rival() {
        ConnectionPool pool = PostgresTestSupport.pool(PostgresTestSupport.factory("rl-queue-rival"));
        PostgresLockBackend rival = PostgresLockBackend.create(pool, config);
        cleanup.add(() -> {
            rival.close().block(TIMEOUT);
            pool.disposeLater().block(TIMEOUT);
        });
        return rival;
    }

    private long liveLeases() {
        return PostgresTestSupport.query(admin, "SELECT count(*) FROM " + config.table() + " WHERE lock_key = $1"
                + " AND expires_at > clock_timestamp()", Long.class, (Object) PostgresLockBackend.key(name)).get(0);
    }

    @Test
    void tryAcquireDoesNotBargePastQueuedWaiters() {
        assertThat(queue("holder", LockMode.SHARED, KEEP)).isNotNull();
        assertThat(queue("writer", LockMode.EXCLUSIVE, KEEP)).isNull();
        StepVerifier.create(backend.tryAcquire(name, LockMode.SHARED, token("reader"), LEASE)).verifyComplete();
        assertThat(queued()).as("tryAcquire never queues").containsExactly(token("writer"));
        release("holder");
        StepVerifier.create(backend.tryAcquire(name, LockMode.EXCLUSIVE, token("barger"), LEASE)).verifyComplete();
        assertThat(queue("writer", LockMode.EXCLUSIVE, KEEP)).isNotNull();
        release("writer");
        assertThat(queued()).isEmpty();
        assertThat(leases()).isZero();
    }

    @Test
    void purgeRemovesExpiredQueueEntriesOfNamesNobodyLocksAgain() {
        assertThat(queue("holder", LockMode.EXCLUSIVE, KEEP)).isNotNull();
        assertThat(queue("gone", LockMode.EXCLUSIVE, Duration.ofMillis(1))).isNull();
        assertThat(queue("waiting", LockMode.EXCLUSIVE, KEEP)).isNull();
        await("the entry expired and was purged", () -> {
            PostgresLockBackend.purgeExpired(admin, config, Duration.ZERO).block(TIMEOUT);
            return queued().equals(List.of(token("waiting")));
        });
        release("waiting");
        release("holder");
        assertThat(queued()).isEmpty();
        assertThat(leases()).isZero();
    }

    @Test
    void theEntryOfAWaiterThatStoppedAskingExpiresAndTheNextIsGranted() {
        assertThat(queue("holder", LockMode.EXCLUSIVE, KEEP)).isNotNull();
        assertThat(queue("dead", LockMode.EXCLUSIVE, Duration.ofMillis(300))).isNull();
        assertThat(queue("alive", LockMode.EXCLUSIVE, KEEP)).isNull();
        release("holder");
        await("the dead waiter's entry expired and the next one is granted",
                () -> queue("alive", LockMode.EXCLUSIVE, KEEP) != null);
        assertThat(queued()).isEmpty();
        release("alive");
        assertThat(leases()).isZero();
    }

    @Test
    void waitersThatTimeOutOrCancelLeaveTheQueueAndTheNextIsGranted() {
        DistributedLockService holderService = service("rl-queue-holder");
        DistributedLockService timingOut = service("rl-queue-timeout");
        DistributedLockService cancelled = service("rl-queue-cancel");
        DistributedLockService next = service("rl-queue-next");
        LockHandle holder = holderService.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
        Disposable cancelledWait = cancelled.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).subscribe();
        await("the first waiter queued", () -> queued().size() == 1);
        StepVerifier.create(timingOut.acquire(name, LockOptions.exclusive().timeout(Duration.ofMillis(1500))))
                .expectError(LockTimeoutException.class)
                .verify(TIMEOUT);
        await("the timed-out waiter left", () -> queued().size() == 1);
        Mono<LockHandle> nextWait = next.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).cache();
        nextWait.subscribe(h -> { }, e -> { });
        await("the next waiter queued", () -> queued().size() == 2);
        cancelledWait.dispose();
        await("the cancelled waiter left", () -> queued().size() == 1);
        holder.release().block(TIMEOUT);
        LockHandle granted = nextWait.block(TIMEOUT);
        assertThat(granted.fencingToken()).isGreaterThan(holder.fencingToken());
        granted.release().block(TIMEOUT);
        assertThat(queued()).isEmpty();
        assertThat(leases()).isZero();
    }
}
