package dev.reactivelocks.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * What every {@link LockBackend} must give {@link DistributedLockService} on a real store: two services,
 * each over a backend of its own (its own connections, as two processes would have), sharing one lock
 * space. A backend module extends this class and adds the tests of its own store (connection loss, store
 * restart, unusual names).
 */
public abstract class DistributedLockServiceContract {

    protected static final Duration LEASE = Duration.ofSeconds(2);
    protected static final Duration RENEW = Duration.ofMillis(250);
    protected static final Duration POLL = Duration.ofMillis(200);
    protected static final Duration TIMEOUT = Duration.ofSeconds(15);
    /** A poll interval no test waits for: a waiter that gets the lock was woken by a release signal. */
    protected static final Duration NO_POLL = Duration.ofMinutes(5);

    private final List<Runnable> cleanup = new ArrayList<>();
    /** Client names of the two services of a test, unique per test, for stores that can show them. */
    protected String clientA;
    protected String clientB;

    /**
     * A backend of its own for one service, on the store and lock space of this test class. The service
     * closes it; anything else it opened is registered with {@link #closeAfterTest(Runnable)}.
     *
     * @param clientName the name its connections should carry where the store can show one
     * @return a new backend
     */
    protected abstract LockBackend newBackend(String clientName);

    /** @return how many live (unexpired) leases of {@code name} the store holds */
    protected abstract long liveLeases(String name);

    /** @return whether the store records when a lease was granted ({@link LockInfo#heldSince()}) */
    protected boolean storeRecordsGrantTimes() {
        return true;
    }

    /** Runs {@code action} after the test, after the services and backends created since were closed. */
    protected final void closeAfterTest(Runnable action) {
        cleanup.add(action);
    }

    @BeforeEach
    protected void nameClients() {
        String id = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        clientA = "rl-a-" + id;
        clientB = "rl-b-" + id;
    }

    @AfterEach
    protected void closeServices() {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).run();
        }
        cleanup.clear();
    }

    protected DistributedLockService service(String clientName, Duration pollInterval, Duration lease) {
        LockBackend backend = newBackend(clientName);
        DistributedLockService service = DistributedLockService.builder(backend)
                .lease(lease).renewEvery(lease.compareTo(LEASE) == 0 ? RENEW : lease.dividedBy(4))
                .pollInterval(pollInterval).owner(clientName).build();
        cleanup.add(() -> {
            service.disposeLater().block(TIMEOUT);
            backend.close().block(TIMEOUT);
        });
        return service;
    }

    protected DistributedLockService service(String clientName, Duration pollInterval) {
        return service(clientName, pollInterval, LEASE);
    }

    protected DistributedLockService serviceA() {
        return service(clientA, POLL);
    }

    protected DistributedLockService serviceB() {
        return service(clientB, POLL);
    }

    protected static LockHandle acquire(DistributedLockService s, String name) {
        return s.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
    }

    @Test
    protected void twoServicesExcludeEachOtherAndAReleaseHandsTheLockOver() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle first = acquire(a, "job");
        StepVerifier.create(b.tryAcquire("job")).expectComplete().verify(TIMEOUT);
        List<LockHandle> granted = new ArrayList<>();
        StepVerifier.create(b.acquire("job", LockOptions.exclusive().timeout(TIMEOUT)))
                .then(() -> first.release().subscribe())
                .recordWith(() -> granted)
                .expectNextCount(1)
                .verifyComplete();
        LockHandle second = granted.get(0);
        assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
        assertThat(first.isHeld()).isFalse();
        assertThat(liveLeases("job")).isEqualTo(1);
        second.release().block(TIMEOUT);
        assertThat(liveLeases("job")).isZero();
    }

    @Test
    protected void bodiesUnderTheLockNeverOverlapAcrossServices() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        List<Long> tokens = new CopyOnWriteArrayList<>();
        Flux<Long> work = Flux.range(0, 16).flatMap(i -> (i % 2 == 0 ? a : b).withLock("counter",
                LockOptions.exclusive().timeout(TIMEOUT), handle -> {
                    maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                    tokens.add(handle.fencingToken());
                    return Mono.delay(Duration.ofMillis(15)).doOnNext(x -> inside.decrementAndGet())
                            .thenReturn(handle.fencingToken());
                }));
        StepVerifier.create(work).expectNextCount(16).verifyComplete();
        assertThat(maxInside.get()).isEqualTo(1);
        assertThat(tokens).as("grant order is fencing order").isSorted().doesNotHaveDuplicates();
    }

    @Test
    protected void sharedHoldersOverlapAndExclusiveWaitsForAllOfThem() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle s1 = a.acquire("doc", LockOptions.shared().timeout(TIMEOUT)).block(TIMEOUT);
        LockHandle s2 = b.acquire("doc", LockOptions.shared().timeout(TIMEOUT)).block(TIMEOUT);
        assertThat(liveLeases("doc")).isEqualTo(2);
        StepVerifier.create(a.tryAcquire("doc", LockOptions.exclusive())).expectComplete().verify(TIMEOUT);
        StepVerifier.create(b.acquire("doc", LockOptions.exclusive().timeout(TIMEOUT)))
                .then(() -> s1.release().block(TIMEOUT))
                .expectNoEvent(Duration.ofMillis(500))
                .then(() -> s2.release().block(TIMEOUT))
                .assertNext(w -> assertThat(w.fencingToken()).isGreaterThan(Math.max(s1.fencingToken(), s2.fencingToken())))
                .verifyComplete();
    }

    /** Skips a semaphore test, saying why, on a backend that does not count permits. */
    private void assumeCountsPermits() {
        LockBackend probe = newBackend(clientA + "-probe");
        boolean counts = probe.countsPermits();
        probe.close().block(TIMEOUT);
        Assumptions.assumeTrue(counts, probe + " does not count permits: LockOptions.permits is refused on it");
    }

    @Test
    protected void permitsAdmitAtMostThatManyHoldersAcrossServicesInQueueOrder() {
        assumeCountsPermits();
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        acquire(b, "warm-up").release().block(TIMEOUT);   // b's store is ready: its first call is quick
        LockOptions two = LockOptions.permits(2).timeout(TIMEOUT);
        LockHandle p1 = a.acquire("pool", two).block(TIMEOUT);
        LockHandle p2 = b.acquire("pool", two).block(TIMEOUT);
        assertThat(liveLeases("pool")).isEqualTo(2);
        assertThat(p2.fencingToken()).isGreaterThan(p1.fencingToken());
        StepVerifier.create(a.tryAcquire("pool", LockOptions.permits(2))).expectComplete().verify(TIMEOUT);

        List<String> order = new CopyOnWriteArrayList<>();
        List<LockHandle> later = new CopyOnWriteArrayList<>();
        b.acquire("pool", two).doOnNext(h -> order.add("b")).subscribe(later::add);
        inspectUntil(b, "pool", i -> i.waiting().orElse(0) >= 1);   // b's waiter is queued in the store
        a.acquire("pool", two).doOnNext(h -> order.add("a")).subscribe(later::add);
        StepVerifier.create(Mono.delay(Duration.ofMillis(300))).expectNextCount(1).verifyComplete();
        assertThat(later).as("both permits are taken").isEmpty();

        p1.release().block(TIMEOUT);
        awaitLiveOrQueued(() -> later.size() == 1);
        assertThat(order).containsExactly("b");
        assertThat(liveLeases("pool")).isEqualTo(2);
        p2.release().block(TIMEOUT);
        awaitLiveOrQueued(() -> later.size() == 2);
        assertThat(order).containsExactly("b", "a");
        assertThat(later.get(1).fencingToken()).isGreaterThan(later.get(0).fencingToken());
        for (LockHandle h : later) {
            h.release().block(TIMEOUT);
        }
        assertThat(liveLeases("pool")).isZero();
    }

    @Test
    protected void anExclusiveRequestWaitsForEveryPermitAndKeepsNewPermitsOut() {
        assumeCountsPermits();
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        acquire(b, "warm-up").release().block(TIMEOUT);   // b's store is ready: its first call is quick
        LockOptions three = LockOptions.permits(3).timeout(TIMEOUT);
        LockHandle p1 = a.acquire("drain", three).block(TIMEOUT);
        List<LockHandle> writer = new CopyOnWriteArrayList<>();
        b.acquire("drain", LockOptions.exclusive().timeout(TIMEOUT)).subscribe(writer::add);
        StepVerifier.create(Mono.delay(Duration.ofMillis(300))).expectNextCount(1).verifyComplete();
        StepVerifier.create(a.tryAcquire("drain", LockOptions.permits(3)))
                .as("a free permit, but a writer is queued").expectComplete().verify(TIMEOUT);
        assertThat(writer).isEmpty();
        p1.release().block(TIMEOUT);
        awaitLiveOrQueued(() -> writer.size() == 1);
        writer.get(0).release().block(TIMEOUT);
    }

    @Test
    protected void callersThatDisagreeOnThePermitsOfANameAreTold() {
        assumeCountsPermits();
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle p = a.acquire("agree", LockOptions.permits(2).timeout(TIMEOUT)).block(TIMEOUT);
        StepVerifier.create(b.acquire("agree", LockOptions.permits(3).timeout(TIMEOUT)))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                        .hasMessageContaining("Lock 'agree'").hasMessageContaining("permits(3)")
                        .hasMessageContaining("permits(2)"))
                .verify(TIMEOUT);
        StepVerifier.create(b.acquire("agree", LockOptions.shared().timeout(TIMEOUT)))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                        .hasMessageContaining("permits(2)"))
                .verify(TIMEOUT);
        p.release().block(TIMEOUT);
        assertThat(liveLeases("agree")).isZero();
        StepVerifier.create(b.acquire("agree", LockOptions.permits(3).timeout(TIMEOUT)).flatMap(LockHandle::release))
                .as("agreement is per name while it is in use").verifyComplete();
    }

    private static void awaitLiveOrQueued(java.util.function.BooleanSupplier done) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("timed out waiting").isLessThan(deadline);
            java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
        }
    }

    @Test
    protected void releaseWakesAWaiterOfAnotherServiceWithoutPolling() {
        DistributedLockService a = service(clientA, NO_POLL);
        DistributedLockService b = service(clientB, NO_POLL);
        LockHandle h = acquire(a, "wake");
        acquire(b, "warm-up").release().block(TIMEOUT);   // b's release signals are flowing
        StepVerifier.create(b.acquire("wake", LockOptions.exclusive().timeout(Duration.ofSeconds(60))))
                .expectSubscription()
                .expectNoEvent(Duration.ofMillis(300))
                .then(() -> h.release().subscribe())
                .expectNextCount(1)
                .expectComplete()
                .verify(TIMEOUT);   // far below the fallback poll
    }

    @Test
    protected void aHolderThatStopsRenewingLosesTheLockAndAWaiterTakesOver() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle dead = acquire(a, "crash");
        a.dispose();   // renewals stop, as when the process died
        StepVerifier.create(b.acquire("crash", LockOptions.exclusive().timeout(TIMEOUT)))
                .assertNext(taken -> assertThat(taken.fencingToken()).isGreaterThan(dead.fencingToken()))
                .verifyComplete();
        StepVerifier.create(dead.lost()).expectComplete().verify(TIMEOUT);
        assertThat(dead.isHeld()).isFalse();
    }

    @Test
    protected void tryAcquireTakesOverAnExpiredLease() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle dead = acquire(a, "expired");
        a.dispose();
        StepVerifier.create(Mono.delay(LEASE.plusMillis(300)).then(b.tryAcquire("expired")))
                .assertNext(taken -> assertThat(taken.fencingToken()).isGreaterThan(dead.fencingToken()))
                .verifyComplete();
    }

    @Test
    protected void releasedLockIsNotRenewedBackToLife() {
        DistributedLockService a = serviceA();
        LockHandle h = acquire(a, "released");
        h.release().block(TIMEOUT);
        Mono.delay(RENEW.multipliedBy(4)).block(TIMEOUT);   // several renewal periods
        assertThat(liveLeases("released")).isZero();
    }

    @Test
    protected void timeoutCoversTheWholeWaitAndLeavesNoLeaseBehind() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle h = acquire(a, "slow");
        StepVerifier.create(b.acquire("slow", LockOptions.exclusive().timeout(Duration.ofMillis(700))))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockTimeoutException.class)
                        .hasMessage("Lock 'slow' (EXCLUSIVE) not acquired within 700ms"))
                .verify(TIMEOUT);
        assertThat(liveLeases("slow")).isEqualTo(1);
        h.release().block(TIMEOUT);
        // the timed-out acquisition undoes its in-flight store call asynchronously
        LockHandle next = acquire(b, "slow");
        assertThat(liveLeases("slow")).isEqualTo(1);
        next.release().block(TIMEOUT);
    }

    @Test
    protected void grantsThatRaceCancellationsAreReleasedInTheStore() throws Exception {
        // leases far longer than the test's waits: a leaked grant would keep the lock past TIMEOUT
        Duration longLease = Duration.ofMinutes(2);
        DistributedLockService a = service(clientA, POLL, longLease);
        DistributedLockService b = service(clientB, POLL, longLease);
        List<RecordingSubscriber> subscribers = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            RecordingSubscriber s = a.acquire("race").subscribeWith(new RecordingSubscriber());
            subscribers.add(s);
            Mono.delay(Duration.ofMillis(ThreadLocalRandom.current().nextInt(15))).block(TIMEOUT);
            s.dispose();
        }
        // A grant that won its race belongs to its subscriber, which releases it (it may arrive late);
        // every other grant must be undone by the service, so the lock becomes free long before any lease ends.
        CompletableFuture<LockHandle> next = b.acquire("race", LockOptions.exclusive().timeout(TIMEOUT)).toFuture();
        Set<LockHandle> released = new HashSet<>();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!next.isDone() && System.nanoTime() < deadline) {
            for (RecordingSubscriber s : subscribers) {
                LockHandle h = s.handle();
                if (h != null && released.add(h)) {
                    h.release().block(TIMEOUT);
                }
            }
            Thread.sleep(20);
        }
        assertThat(next).as("the lock was leaked").succeedsWithin(TIMEOUT);
        next.get().release().block(TIMEOUT);
    }

    @Test
    protected void waitersOfOneServiceAreGrantedInArrivalOrder() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle h = acquire(a, "fifo");
        List<Integer> order = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 5; i++) {
            int n = i;
            b.acquire("fifo", LockOptions.exclusive().timeout(TIMEOUT))
                    .doOnNext(x -> order.add(n))
                    .flatMap(LockHandle::release)
                    .subscribe();
        }
        h.release().block(TIMEOUT);
        StepVerifier.create(Flux.interval(Duration.ofMillis(50)).filter(x -> order.size() == 5).next())
                .expectNextCount(1).expectComplete().verify(TIMEOUT);
        assertThat(order).containsExactly(0, 1, 2, 3, 4);
    }
    /**
     * A downgrade in one service, with requests of three other services queued in the store behind it: a
     * reader, then a writer, then another reader. The first reader joins the shared holder, the writer gets
     * nothing between the two modes nor beside the readers, and the last reader stays behind the writer. A
     * backend that cannot downgrade must say so and keep the lock exclusive (then the test is skipped).
     */
    @Test
    protected void downgradeAdmitsQueuedReadersOfOtherServicesAheadOfAWriterAndNoWriterInBetween() throws Exception {
        DistributedLockService holder = serviceA();
        LockHandle exclusive = acquire(holder, "dg");
        LockOptions shared = LockOptions.shared().timeout(TIMEOUT);
        CompletableFuture<LockHandle> reader = queued(serviceB().acquire("dg", shared));
        CompletableFuture<LockHandle> writer = queued(service(clientA + "-w", NO_POLL).acquire("dg",
                LockOptions.exclusive().timeout(TIMEOUT)));
        CompletableFuture<LockHandle> lateReader = queued(service(clientB + "-r", NO_POLL).acquire("dg", shared));

        LockHandle downgraded;
        try {
            downgraded = exclusive.downgrade().block(TIMEOUT);
        } catch (UnsupportedOperationException e) {
            assertThat(exclusive.isHeld()).isTrue();
            assertThat(liveLeases("dg")).isEqualTo(1);
            exclusive.release().block(TIMEOUT);
            for (CompletableFuture<LockHandle> f : List.of(reader, writer, lateReader)) {
                f.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).release().block(TIMEOUT);
            }
            Assumptions.abort("this backend cannot downgrade, and says so: " + e.getMessage());
            return;
        }
        assertThat(downgraded.fencingToken()).isGreaterThan(exclusive.fencingToken());
        LockHandle first = reader.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(first.fencingToken()).isGreaterThan(downgraded.fencingToken());
        assertWaiting(writer); // no writer between the modes, nor beside the readers
        assertWaiting(lateReader); // behind the queued writer
        assertThat(liveLeases("dg")).isEqualTo(2);

        exclusive.release().block(TIMEOUT); // releases the shared grant that replaced it
        first.release().block(TIMEOUT);
        LockHandle w = writer.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(w.fencingToken()).isGreaterThan(first.fencingToken());
        assertWaiting(lateReader);
        w.release().block(TIMEOUT);
        lateReader.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).release().block(TIMEOUT);
    }

    /** Subscribes and gives the request a few polls to reach the store's queue; it must still wait then. */
    private static CompletableFuture<LockHandle> queued(Mono<LockHandle> acquisition) throws Exception {
        CompletableFuture<LockHandle> f = acquisition.toFuture();
        assertWaiting(f);
        return f;
    }

    /** Asserts that {@code f} is not granted within three polls. */
    private static void assertWaiting(CompletableFuture<LockHandle> f) throws Exception {
        try {
            f.get(POLL.multipliedBy(3).toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException expected) {
            return;
        }
        throw new AssertionError("granted while it had to wait: " + f.get());
    }

    // ---- inspection and per-call leases ------------------------------------------------------------

    private static LockInfo inspectUntil(DistributedLockService s, String name, Predicate<LockInfo> condition) {
        return InspectionContract.inspectUntil(s, name, condition, "the state awaited");
    }

    @Test
    protected void inspectionShowsTheHoldersOfEveryServiceWithTheirOwners() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        Instant before = Instant.now();
        LockHandle s1 = a.acquire("who", LockOptions.shared().timeout(TIMEOUT)).block(TIMEOUT);
        LockHandle s2 = b.acquire("who", LockOptions.shared().timeout(TIMEOUT)).block(TIMEOUT);
        Instant after = Instant.now();
        for (DistributedLockService seen : List.of(a, b)) {
            LockInfo info = seen.inspect("who").block(TIMEOUT);
            assertThat(info).isNotNull();
            assertThat(info.mode()).isEqualTo(LockMode.SHARED);
            assertThat(info.holders()).isEqualTo(2);
            assertThat(info.owners()).containsExactlyInAnyOrder(clientA, clientB);
            assertThat(info.fencingToken()).hasValue(Math.max(s1.fencingToken(), s2.fencingToken()));
            assertThat(info.waiting()).hasValue(0);
            // the store's clock, on another machine perhaps: a generous tolerance
            assertThat(info.leaseExpiry()).hasValueSatisfying(t -> assertThat(t)
                    .isBetween(before.minusSeconds(5), after.plus(LEASE).plusSeconds(5)));
            if (storeRecordsGrantTimes()) {
                assertThat(info.heldSince()).hasValueSatisfying(t -> assertThat(t)
                        .isBetween(before.minusSeconds(5), after.plusSeconds(5)));
            } else {
                assertThat(info.heldSince()).isEmpty();
            }
        }
        assertThat(a.locks("wh").collectList().block(TIMEOUT)).extracting(LockInfo::name).containsExactly("who");
        s1.release().block(TIMEOUT);
        assertThat(b.inspect("who").block(TIMEOUT)).satisfies(i -> {
            assertThat(i.holders()).isEqualTo(1);
            assertThat(i.owners()).containsExactly(clientB);
            assertThat(i.fencingToken()).hasValue(s2.fencingToken());
        });
        s2.release().block(TIMEOUT);
        assertThat(a.inspect("who").blockOptional(TIMEOUT)).isEmpty();
        assertThat(a.locks("wh").collectList().block(TIMEOUT)).isEmpty();
    }

    @Test
    protected void waitersInTheStoreAndBehindTheServicesOwnHoldersAreCounted() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle h = acquire(a, "queue");
        // b's first waiter waits in the store's queue, seen by every service
        CompletableFuture<LockHandle> first = b.acquire("queue", LockOptions.exclusive().timeout(TIMEOUT)).toFuture();
        inspectUntil(a, "queue", i -> i.waiting().orElse(-1) == 1);
        assertThat(b.inspect("queue").block(TIMEOUT).waiting()).hasValue(1);
        // a's own second waiter waits behind a's holder in a, known to a only
        CompletableFuture<LockHandle> second = a.acquire("queue", LockOptions.exclusive().timeout(TIMEOUT)).toFuture();
        inspectUntil(a, "queue", i -> i.waiting().orElse(-1) == 2);
        assertThat(b.inspect("queue").block(TIMEOUT).waiting()).hasValue(1);
        h.release().block(TIMEOUT);
        LockHandle next = first.join();
        assertThat(b.inspect("queue").block(TIMEOUT)).satisfies(i -> {
            assertThat(i.owners()).containsExactly(clientB);
            assertThat(i.fencingToken()).hasValue(next.fencingToken());
        });
        next.release().block(TIMEOUT);
        second.join().release().block(TIMEOUT);
    }

    @Test
    protected void aPerCallLeaseIsTheOneTheStoreRecordsAndExpiryFollowsIt() {
        // the service's lease is far longer than the test's waits: only the per-call lease can end these
        Duration serviceLease = Duration.ofMinutes(2);
        DistributedLockService a = service(clientA, POLL, serviceLease);
        DistributedLockService b = service(clientB, POLL, serviceLease);
        Duration perCall = Duration.ofSeconds(1);
        LockHandle h = a.acquire("per-call", LockOptions.exclusive().lease(perCall).timeout(TIMEOUT)).block(TIMEOUT);
        Instant granted = Instant.now();
        LockInfo info = a.inspect("per-call").block(TIMEOUT);
        assertThat(info.leaseExpiry()).hasValueSatisfying(t -> assertThat(t)
                .isBefore(granted.plus(perCall).plusSeconds(5)));   // never the two minutes of the service
        // renewed at the service's ratio (a quarter: every 250ms), so it outlives many of its leases
        Mono.delay(perCall.multipliedBy(3)).block(TIMEOUT);
        assertThat(h.isHeld()).isTrue();
        assertThat(b.tryAcquire("per-call").blockOptional(TIMEOUT)).isEmpty();
        LockHandle longer = b.acquire("per-call-long", LockOptions.exclusive().lease(Duration.ofMinutes(10)))
                .block(TIMEOUT);
        assertThat(b.inspect("per-call-long").block(TIMEOUT).leaseExpiry()).hasValueSatisfying(t -> assertThat(t)
                .isAfter(Instant.now().plus(serviceLease).plusSeconds(5)));
        longer.release().block(TIMEOUT);

        a.dispose();   // renewals stop, as when the process died: the per-call lease ends the lock
        LockHandle taken = b.acquire("per-call", LockOptions.exclusive().timeout(TIMEOUT)).block(TIMEOUT);
        assertThat(taken.fencingToken()).isGreaterThan(h.fencingToken());
        taken.release().block(TIMEOUT);
        StepVerifier.create(h.lost()).expectComplete().verify(TIMEOUT);
    }

    @Test
    protected void perCallLeasesAreValidated() {
        assertThatThrownBy(() -> LockOptions.exclusive().lease(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("lease must be >= 1ms, was PT0S");
        assertThatThrownBy(() -> LockOptions.exclusive().lease(Duration.ofNanos(999_999)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("lease must be >= 1ms, was PT0.000999999S");
        assertThatThrownBy(() -> LockOptions.exclusive().lease(Duration.ofDays(365 * 80)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("lease must be shorter than 73 years, was PT700800H");
    }
}
