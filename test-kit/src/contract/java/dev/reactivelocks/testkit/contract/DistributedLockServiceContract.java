package dev.reactivelocks.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.distributed.DistributedLockServiceBuilder;
import dev.reactivelocks.distributed.InMemoryLockBackend;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * What every {@link LockBackend} must give {@link DistributedLockService} on a real store: two services,
 * each over a backend of its own (its own connections, as two processes would have), sharing one lock
 * space. A backend module extends this class and adds the tests of its own store (connection loss, store
 * restart, unusual names).
 *
 * <p><b>Time</b>: the suite waits only through {@link #await(Mono, Duration)}, {@link #pass(Duration)} and
 * {@link #awaitCondition(BooleanSupplier, Duration)}, and times only with {@link #timer()}, which is also
 * the timer of every service it builds. By default they wait in real time, as a store on another machine
 * needs. A store that keeps time on a scheduler, such as {@link InMemoryLockBackend#create(Scheduler)},
 * runs the suite in virtual time: return a {@link VirtualTimeScheduler} from {@link #timer()} and make it
 * the store's clock; the waits then advance it instead of sleeping, and a test of lease expiry takes
 * milliseconds. The assertions are the same in both.
 */
public abstract class DistributedLockServiceContract {

    protected static final Duration LEASE = Duration.ofSeconds(2);
    protected static final Duration RENEW = Duration.ofMillis(250);
    protected static final Duration POLL = Duration.ofMillis(200);
    protected static final Duration TIMEOUT = Duration.ofSeconds(15);
    /** A poll interval no test waits for: a waiter that gets the lock was woken by a release signal. */
    protected static final Duration NO_POLL = Duration.ofMinutes(5);
    /** How far {@link #await(Mono, Duration)} moves a virtual {@link #timer()} before it looks again. */
    private static final Duration VIRTUAL_STEP = Duration.ofMillis(1);
    /** How often {@link #awaitCondition(BooleanSupplier, Duration)} looks again. */
    private static final Duration CONDITION_POLL = Duration.ofMillis(5);

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

    // ---- time: every wait of the suite goes through these --------------------------------------------

    /**
     * The clock of the tests: every service the suite builds gets it as its
     * {@link DistributedLockServiceBuilder#timer(Scheduler) timer}, the suite's own delays and polls run on
     * it, and its {@code now} measures how long the suite waits.
     *
     * <p>Return a {@link VirtualTimeScheduler} to run the suite in virtual time: one of this test instance
     * ({@link VirtualTimeScheduler#create()}, never installed globally with {@code getOrSet}), which must
     * also be the store's clock, as with {@link InMemoryLockBackend#createHandingOff(Scheduler)}: a store
     * that expires leases in real time would see none expire while the tests move the virtual clock. Then
     * {@link #await(Mono, Duration)} advances it instead of blocking, and so do {@link #pass(Duration)} and
     * {@link #awaitCondition(BooleanSupplier, Duration)}, which wait through it. Called often: return the same
     * scheduler each time.
     *
     * @return the scheduler; defaults to {@link Schedulers#parallel()}: real time
     */
    protected Scheduler timer() {
        return Schedulers.parallel();
    }

    /**
     * Waits for the answer of {@code answer}: subscribes to it and returns its value, {@code null} when it
     * completes empty, or throws its error (as {@link Mono#block(Duration)} does: unchecked errors as they
     * are, checked ones wrapped). Every wait of the suite for something to happen ends here.
     *
     * <p>In real time this is {@code answer.block(within)}. When {@link #timer()} is a
     * {@link VirtualTimeScheduler}, it moves that clock forward a millisecond at a time, on the calling
     * thread, until the answer came: what comes due runs on this thread, and nothing sleeps. Override it
     * only to wait on another kind of clock, and then keep its contract.
     *
     * @implNote A virtual wait fails at once if the clock is disposed, since nothing could come then; and
     * an answer that only another thread can give (a store on real I/O) is not waited for in real time:
     * the virtual deadline passes within microseconds.
     *
     * @param answer the answer awaited
     * @param within how long to wait at most, in the time of {@link #timer()}
     * @param <T> the type of the answer
     * @return the value, or {@code null} if {@code answer} completed empty
     * @throws IllegalStateException if {@code answer} did not answer within {@code within}
     */
    protected <T> @Nullable T await(Mono<T> answer, Duration within) {
        if (!(timer() instanceof VirtualTimeScheduler clock)) {
            return answer.block(within);
        }
        CompletableFuture<T> result = answer.toFuture();
        long deadline = clock.now(TimeUnit.NANOSECONDS) + within.toNanos();
        while (!result.isDone()) {
            if (clock.now(TimeUnit.NANOSECONDS) >= deadline || clock.isDisposed()) {
                result.cancel(true);
                throw new IllegalStateException(clock.isDisposed() ? "The virtual clock was disposed"
                        : "Timeout on blocking read for " + within + " of virtual time");
            }
            clock.advanceTimeBy(VIRTUAL_STEP);
        }
        try {
            return result.join();
        } catch (CompletionException e) {
            throw Exceptions.propagate(e.getCause());
        }
    }

    /**
     * {@link #await(Mono, Duration)} within {@link #TIMEOUT}.
     *
     * @param answer the answer awaited
     * @param <T> the type of the answer
     * @return the value, or {@code null} if {@code answer} completed empty
     */
    protected final <T> @Nullable T await(Mono<T> answer) {
        return await(answer, TIMEOUT);
    }

    /**
     * Lets {@code duration} pass on {@link #timer()}, while the services and the store go on: a delay on
     * the timer, {@link #await(Mono, Duration) awaited}. In real time the calling thread sleeps; in virtual
     * time the clock moves forward by {@code duration}, running what comes due on the way.
     *
     * @param duration how long
     */
    protected void pass(Duration duration) {
        await(Mono.delay(duration, timer()), duration.plus(TIMEOUT));
    }

    /**
     * Waits until {@code condition} holds, for at most {@code within} of {@link #timer()}'s time: looks at it
     * on the calling thread (so it may await answers itself) and lets 5 ms {@link #pass(Duration) pass}
     * between two looks.
     *
     * @param condition what is awaited
     * @param within how long to wait at most
     * @return whether {@code condition} held; {@code false} once {@code within} passed without it
     */
    protected boolean awaitCondition(BooleanSupplier condition, Duration within) {
        long deadline = timer().now(TimeUnit.NANOSECONDS) + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (timer().now(TimeUnit.NANOSECONDS) >= deadline) {
                return false;
            }
            pass(CONDITION_POLL);
        }
        return true;
    }

    /** The grant of an acquisition subscribed to earlier ({@code toFuture()}), awaited within TIMEOUT. */
    private @Nullable LockHandle await(CompletableFuture<LockHandle> acquisition) {
        return await(Mono.fromFuture(acquisition, true));
    }

    /** Asserts that {@code acquisition} is not granted, nor ends otherwise, while {@code duration} passes. */
    private void assertWaiting(CompletableFuture<LockHandle> acquisition, Duration duration) {
        if (awaitCondition(acquisition::isDone, duration)) {
            throw new AssertionError("granted while it had to wait: "
                    + acquisition.handle((granted, error) -> granted != null ? granted : error).join());
        }
    }

    // ---- services -----------------------------------------------------------------------------------------

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
                .pollInterval(pollInterval).owner(clientName).timer(timer()).build();
        cleanup.add(() -> {
            await(service.disposeLater());
            await(backend.close());
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

    /**
     * Acquires {@code name} exclusively, waiting through {@link #await(Mono, Duration)}.
     *
     * @param s the service
     * @param name the lock name
     * @return the grant
     */
    protected LockHandle acquire(DistributedLockService s, String name) {
        return await(s.acquire(name, LockOptions.exclusive().timeout(TIMEOUT)));
    }

    @Test
    protected void twoServicesExcludeEachOtherAndAReleaseHandsTheLockOver() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle first = acquire(a, "job");
        assertThat(await(b.tryAcquire("job"))).as("busy: completes empty").isNull();
        CompletableFuture<LockHandle> waiting = b.acquire("job", LockOptions.exclusive().timeout(TIMEOUT)).toFuture();
        first.release().subscribe();
        LockHandle second = await(waiting);
        assertThat(second).as("granted after the release").isNotNull();
        assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
        assertThat(first.isHeld()).isFalse();
        assertThat(liveLeases("job")).isEqualTo(1);
        await(second.release());
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
                    return Mono.delay(Duration.ofMillis(15), timer()).doOnNext(x -> inside.decrementAndGet())
                            .thenReturn(handle.fencingToken());
                }));
        assertThat(await(work.collectList())).hasSize(16);
        assertThat(maxInside.get()).isEqualTo(1);
        assertThat(tokens).as("grant order is fencing order").isSorted().doesNotHaveDuplicates();
    }

    @Test
    protected void sharedHoldersOverlapAndExclusiveWaitsForAllOfThem() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle s1 = await(a.acquire("doc", LockOptions.shared().timeout(TIMEOUT)));
        LockHandle s2 = await(b.acquire("doc", LockOptions.shared().timeout(TIMEOUT)));
        assertThat(liveLeases("doc")).isEqualTo(2);
        assertThat(await(a.tryAcquire("doc", LockOptions.exclusive()))).as("busy: completes empty").isNull();
        CompletableFuture<LockHandle> writer = b.acquire("doc", LockOptions.exclusive().timeout(TIMEOUT)).toFuture();
        await(s1.release());
        assertWaiting(writer, Duration.ofMillis(500));
        await(s2.release());
        LockHandle w = await(writer);
        assertThat(w).as("granted after both releases").isNotNull();
        assertThat(w.fencingToken()).isGreaterThan(Math.max(s1.fencingToken(), s2.fencingToken()));
    }

    /** Skips a semaphore test, saying why, on a backend that does not count permits. */
    private void assumeCountsPermits() {
        LockBackend probe = newBackend(clientA + "-probe");
        boolean counts = probe.countsPermits();
        await(probe.close());
        Assumptions.assumeTrue(counts, probe + " does not count permits: LockOptions.permits is refused on it");
    }

    @Test
    protected void permitsAdmitAtMostThatManyHoldersAcrossServicesInQueueOrder() {
        assumeCountsPermits();
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        await(acquire(b, "warm-up").release());   // b's store is ready: its first call is quick
        LockOptions two = LockOptions.permits(2).timeout(TIMEOUT);
        LockHandle p1 = await(a.acquire("pool", two));
        LockHandle p2 = await(b.acquire("pool", two));
        assertThat(liveLeases("pool")).isEqualTo(2);
        assertThat(p2.fencingToken()).isGreaterThan(p1.fencingToken());
        assertThat(await(a.tryAcquire("pool", LockOptions.permits(2)))).as("busy: completes empty").isNull();

        List<String> order = new CopyOnWriteArrayList<>();
        List<LockHandle> later = new CopyOnWriteArrayList<>();
        b.acquire("pool", two).doOnNext(h -> order.add("b")).subscribe(later::add);
        inspectUntil(b, "pool", i -> i.waiting().orElse(0) >= 1);   // b's waiter is queued in the store
        a.acquire("pool", two).doOnNext(h -> order.add("a")).subscribe(later::add);
        pass(Duration.ofMillis(300));
        assertThat(later).as("both permits are taken").isEmpty();

        await(p1.release());
        awaitLiveOrQueued(() -> later.size() == 1);
        assertThat(order).containsExactly("b");
        assertThat(liveLeases("pool")).isEqualTo(2);
        await(p2.release());
        awaitLiveOrQueued(() -> later.size() == 2);
        assertThat(order).containsExactly("b", "a");
        assertThat(later.get(1).fencingToken()).isGreaterThan(later.get(0).fencingToken());
        for (LockHandle h : later) {
            await(h.release());
        }
        assertThat(liveLeases("pool")).isZero();
    }

    @Test
    protected void anExclusiveRequestWaitsForEveryPermitAndKeepsNewPermitsOut() {
        assumeCountsPermits();
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        await(acquire(b, "warm-up").release());   // b's store is ready: its first call is quick
        LockOptions three = LockOptions.permits(3).timeout(TIMEOUT);
        LockHandle p1 = await(a.acquire("drain", three));
        List<LockHandle> writer = new CopyOnWriteArrayList<>();
        b.acquire("drain", LockOptions.exclusive().timeout(TIMEOUT)).subscribe(writer::add);
        pass(Duration.ofMillis(300));
        assertThat(await(a.tryAcquire("drain", LockOptions.permits(3))))
                .as("a free permit, but a writer is queued").isNull();
        assertThat(writer).isEmpty();
        await(p1.release());
        awaitLiveOrQueued(() -> writer.size() == 1);
        await(writer.get(0).release());
    }

    @Test
    protected void callersThatDisagreeOnThePermitsOfANameAreTold() {
        assumeCountsPermits();
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle p = await(a.acquire("agree", LockOptions.permits(2).timeout(TIMEOUT)));
        assertThatThrownBy(() -> await(b.acquire("agree", LockOptions.permits(3).timeout(TIMEOUT))))
                .isInstanceOf(LockConfigurationException.class)
                .hasMessageContaining("Lock 'agree'").hasMessageContaining("permits(3)")
                .hasMessageContaining("permits(2)");
        assertThatThrownBy(() -> await(b.acquire("agree", LockOptions.shared().timeout(TIMEOUT))))
                .isInstanceOf(LockConfigurationException.class)
                .hasMessageContaining("permits(2)");
        await(p.release());
        assertThat(liveLeases("agree")).isZero();
        assertThatCode(() -> await(b.acquire("agree", LockOptions.permits(3).timeout(TIMEOUT))
                .flatMap(LockHandle::release)))
                .as("agreement is per name while it is in use").doesNotThrowAnyException();
    }

    private void awaitLiveOrQueued(BooleanSupplier done) {
        assertThat(awaitCondition(done, TIMEOUT)).as("timed out waiting").isTrue();
    }

    @Test
    protected void releaseWakesAWaiterOfAnotherServiceWithoutPolling() {
        DistributedLockService a = service(clientA, NO_POLL);
        DistributedLockService b = service(clientB, NO_POLL);
        LockHandle h = acquire(a, "wake");
        await(acquire(b, "warm-up").release());   // b's release signals are flowing
        CompletableFuture<LockHandle> waiting = b.acquire("wake", LockOptions.exclusive()
                .timeout(Duration.ofSeconds(60))).toFuture();
        assertWaiting(waiting, Duration.ofMillis(300));
        h.release().subscribe();
        assertThat(await(waiting)).isNotNull();   // within TIMEOUT: far below the fallback poll
    }

    @Test
    protected void aHolderThatStopsRenewingLosesTheLockAndAWaiterTakesOver() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle dead = acquire(a, "crash");
        a.dispose();   // renewals stop, as when the process died
        LockHandle taken = await(b.acquire("crash", LockOptions.exclusive().timeout(TIMEOUT)));
        assertThat(taken).isNotNull();
        assertThat(taken.fencingToken()).isGreaterThan(dead.fencingToken());
        await(dead.lost());
        assertThat(dead.isHeld()).isFalse();
    }

    @Test
    protected void tryAcquireTakesOverAnExpiredLease() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle dead = acquire(a, "expired");
        a.dispose();
        pass(LEASE.plusMillis(300));
        LockHandle taken = await(b.tryAcquire("expired"));
        assertThat(taken).isNotNull();
        assertThat(taken.fencingToken()).isGreaterThan(dead.fencingToken());
    }

    @Test
    protected void releasedLockIsNotRenewedBackToLife() {
        DistributedLockService a = serviceA();
        LockHandle h = acquire(a, "released");
        await(h.release());
        pass(RENEW.multipliedBy(4));   // several renewal periods
        assertThat(liveLeases("released")).isZero();
    }

    @Test
    protected void timeoutCoversTheWholeWaitAndLeavesNoLeaseBehind() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle h = acquire(a, "slow");
        assertThatThrownBy(() -> await(b.acquire("slow", LockOptions.exclusive().timeout(Duration.ofMillis(700)))))
                .isInstanceOf(LockTimeoutException.class)
                .hasMessage("Lock 'slow' (EXCLUSIVE) not acquired within 700ms");
        assertThat(liveLeases("slow")).isEqualTo(1);
        await(h.release());
        // the timed-out acquisition undoes its in-flight store call asynchronously
        LockHandle next = acquire(b, "slow");
        assertThat(liveLeases("slow")).isEqualTo(1);
        await(next.release());
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
            pass(Duration.ofMillis(ThreadLocalRandom.current().nextInt(15)));
            s.dispose();
        }
        // A grant that won its race belongs to its subscriber, which releases it (it may arrive late);
        // every other grant must be undone by the service, so the lock becomes free long before any lease ends.
        CompletableFuture<LockHandle> next = b.acquire("race", LockOptions.exclusive().timeout(TIMEOUT)).toFuture();
        Set<LockHandle> released = new HashSet<>();
        awaitCondition(() -> {
            for (RecordingSubscriber s : subscribers) {
                LockHandle h = s.handle();
                if (h != null && released.add(h)) {
                    await(h.release());
                }
            }
            return next.isDone();
        }, TIMEOUT);
        awaitCondition(next::isDone, TIMEOUT);
        assertThat(next).as("the lock was leaked").isCompleted();
        await(next.join().release());
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
        await(h.release());
        assertThat(awaitCondition(() -> order.size() == 5, TIMEOUT)).as("all five granted").isTrue();
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
            downgraded = await(exclusive.downgrade());
        } catch (UnsupportedOperationException e) {
            assertThat(exclusive.isHeld()).isTrue();
            assertThat(liveLeases("dg")).isEqualTo(1);
            await(exclusive.release());
            for (CompletableFuture<LockHandle> f : List.of(reader, writer, lateReader)) {
                await(await(f).release());
            }
            Assumptions.abort("this backend cannot downgrade, and says so: " + e.getMessage());
            return;
        }
        assertThat(downgraded.fencingToken()).isGreaterThan(exclusive.fencingToken());
        LockHandle first = await(reader);
        assertThat(first.fencingToken()).isGreaterThan(downgraded.fencingToken());
        assertWaiting(writer); // no writer between the modes, nor beside the readers
        assertWaiting(lateReader); // behind the queued writer
        assertThat(liveLeases("dg")).isEqualTo(2);

        await(exclusive.release()); // releases the shared grant that replaced it
        await(first.release());
        LockHandle w = await(writer);
        assertThat(w.fencingToken()).isGreaterThan(first.fencingToken());
        assertWaiting(lateReader);
        await(w.release());
        await(await(lateReader).release());
    }

    /** Subscribes and gives the request a few polls to reach the store's queue; it must still wait then. */
    private CompletableFuture<LockHandle> queued(Mono<LockHandle> acquisition) {
        CompletableFuture<LockHandle> f = acquisition.toFuture();
        assertWaiting(f);
        return f;
    }

    /** Asserts that {@code f} is not granted within three polls. */
    private void assertWaiting(CompletableFuture<LockHandle> f) {
        assertWaiting(f, POLL.multipliedBy(3));
    }

    // ---- inspection and per-call leases ------------------------------------------------------------

    /** Inspects {@code name} until {@code condition} holds, as {@link InspectionContract#inspectUntil} does. */
    private LockInfo inspectUntil(DistributedLockService s, String name, Predicate<LockInfo> condition) {
        return Optional.ofNullable(await(InspectionContract.firstInspected(s, name, condition, timer()),
                        InspectionContract.INSPECT_WAIT))
                .orElseThrow(() -> new AssertionError("'" + name + "' never showed the state awaited; last: "
                        + await(s.inspect(name), InspectionContract.INSPECT_WAIT)));
    }

    @Test
    protected void inspectionShowsTheHoldersOfEveryServiceWithTheirOwners() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        Instant before = Instant.now();
        LockHandle s1 = await(a.acquire("who", LockOptions.shared().timeout(TIMEOUT)));
        LockHandle s2 = await(b.acquire("who", LockOptions.shared().timeout(TIMEOUT)));
        Instant after = Instant.now();
        for (DistributedLockService seen : List.of(a, b)) {
            LockInfo info = await(seen.inspect("who"));
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
        assertThat(await(a.locks("wh").collectList())).extracting(LockInfo::name).containsExactly("who");
        await(s1.release());
        assertThat(await(b.inspect("who"))).satisfies(i -> {
            assertThat(i.holders()).isEqualTo(1);
            assertThat(i.owners()).containsExactly(clientB);
            assertThat(i.fencingToken()).hasValue(s2.fencingToken());
        });
        await(s2.release());
        assertThat(await(a.inspect("who"))).isNull();
        assertThat(await(a.locks("wh").collectList())).isEmpty();
    }

    @Test
    protected void waitersInTheStoreAndBehindTheServicesOwnHoldersAreCounted() {
        DistributedLockService a = serviceA();
        DistributedLockService b = serviceB();
        LockHandle h = acquire(a, "queue");
        // b's first waiter waits in the store's queue, seen by every service
        CompletableFuture<LockHandle> first = b.acquire("queue", LockOptions.exclusive().timeout(TIMEOUT)).toFuture();
        inspectUntil(a, "queue", i -> i.waiting().orElse(-1) == 1);
        assertThat(await(b.inspect("queue")).waiting()).hasValue(1);
        // a's own second waiter waits behind a's holder in a, known to a only
        CompletableFuture<LockHandle> second = a.acquire("queue", LockOptions.exclusive().timeout(TIMEOUT)).toFuture();
        inspectUntil(a, "queue", i -> i.waiting().orElse(-1) == 2);
        assertThat(await(b.inspect("queue")).waiting()).hasValue(1);
        await(h.release());
        LockHandle next = await(first);
        assertThat(await(b.inspect("queue"))).satisfies(i -> {
            assertThat(i.owners()).containsExactly(clientB);
            assertThat(i.fencingToken()).hasValue(next.fencingToken());
        });
        await(next.release());
        await(await(second).release());
    }

    @Test
    protected void aPerCallLeaseIsTheOneTheStoreRecordsAndExpiryFollowsIt() {
        // the service's lease is far longer than the test's waits: only the per-call lease can end these
        Duration serviceLease = Duration.ofMinutes(2);
        DistributedLockService a = service(clientA, POLL, serviceLease);
        DistributedLockService b = service(clientB, POLL, serviceLease);
        Duration perCall = Duration.ofSeconds(1);
        LockHandle h = await(a.acquire("per-call", LockOptions.exclusive().lease(perCall).timeout(TIMEOUT)));
        Instant granted = Instant.now();
        LockInfo info = await(a.inspect("per-call"));
        assertThat(info.leaseExpiry()).hasValueSatisfying(t -> assertThat(t)
                .isBefore(granted.plus(perCall).plusSeconds(5)));   // never the two minutes of the service
        // renewed at the service's ratio (a quarter: every 250ms), so it outlives many of its leases
        pass(perCall.multipliedBy(3));
        assertThat(h.isHeld()).isTrue();
        assertThat(await(b.tryAcquire("per-call"))).isNull();
        LockHandle longer = await(b.acquire("per-call-long", LockOptions.exclusive().lease(Duration.ofMinutes(10))));
        assertThat(await(b.inspect("per-call-long")).leaseExpiry()).hasValueSatisfying(t -> assertThat(t)
                .isAfter(Instant.now().plus(serviceLease).plusSeconds(5)));
        await(longer.release());

        a.dispose();   // renewals stop, as when the process died: the per-call lease ends the lock
        LockHandle taken = await(b.acquire("per-call", LockOptions.exclusive().timeout(TIMEOUT)));
        assertThat(taken.fencingToken()).isGreaterThan(h.fencingToken());
        await(taken.release());
        await(h.lost());
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
