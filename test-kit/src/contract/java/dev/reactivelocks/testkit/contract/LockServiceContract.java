package dev.reactivelocks.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockServiceClosedException;
import dev.reactivelocks.LockTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.blockhound.BlockingOperationError;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.util.RaceTestUtils;

/**
 * The behaviour every {@link LockService} implementation must show. Subclass it, implement
 * {@link #createService()}, and the implementation runs the whole contract, including the
 * {@link InspectionContract inspection contract}.
 *
 * <p>Written for asynchronous implementations too: grants may arrive on other threads, so tests wait with
 * bounded {@code block}/{@code get} calls on the test thread (never on a Reactor thread), and prove that
 * something did <em>not</em> happen by waiting {@link #quietPeriod()}.
 */
public abstract class LockServiceContract implements InspectionContract {

    /** How long the tests wait for something that must happen. */
    protected static final Duration WAIT = Duration.ofSeconds(10);

    /** The service under test, created before each test and disposed after it. */
    protected LockService locks;

    /** @return a new, empty service for one test */
    protected abstract LockService createService();

    /** @return the pending timeout used by the timeout tests; the messages are asserted verbatim */
    protected Duration shortTimeout() {
        return Duration.ofMillis(200);
    }

    /** @return how long to watch for a grant that must not happen */
    protected Duration quietPeriod() {
        return Duration.ofMillis(100);
    }

    /** @return iterations of the race loops */
    protected int raceIterations() {
        return 200;
    }

    /** @return acquisitions in the contention test */
    protected int contentionOps() {
        return 400;
    }

    @Override
    public LockService inspected() {
        return locks;
    }

    @BeforeEach
    protected void createLockService() {
        locks = createService();
    }

    @AfterEach
    protected void disposeLockService() {
        locks.disposeLater().block(WAIT);
    }

    /** Subscribes now and returns the handle's future. */
    protected static CompletableFuture<LockHandle> pending(Mono<LockHandle> acquisition) {
        return acquisition.toFuture();
    }

    /** Asserts that {@code f} does not complete within the quiet period. */
    protected void assertStillPending(CompletableFuture<?> f) {
        assertThatThrownBy(() -> f.get(quietPeriod().toMillis(), TimeUnit.MILLISECONDS))
                .isInstanceOf(TimeoutException.class);
    }

    protected static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    protected static void release(LockHandle h) {
        h.release().block(WAIT);
    }

    // ---- 1. exclusion -------------------------------------------------------------------------------

    @Test
    protected void sameNameExcludesAndDifferentNamesAreIndependent() throws Exception {
        LockHandle a = locks.acquire("a").block(WAIT);
        assertThat(a.isHeld()).isTrue();
        assertThat(locks.tryAcquire("a").blockOptional(WAIT)).isEmpty();
        LockHandle b = locks.acquire("b").block(WAIT);
        assertThat(b.isHeld()).isTrue();

        CompletableFuture<LockHandle> next = pending(locks.acquire("a"));
        assertStillPending(next);
        release(a);
        LockHandle a2 = await(next);
        assertThat(a2.isHeld()).isTrue();
        assertThat(a.isHeld()).isFalse();
        release(a2);
        release(b);
    }

    @Test
    protected void pipelinesUnderOneNameStayContiguous() {
        ConcurrentLinkedQueue<Integer> log = new ConcurrentLinkedQueue<>();
        Flux.range(0, 10)
                .flatMap(p -> locks.withLock("contiguous", Flux.range(0, 10)
                        .concatMap(step -> Mono.fromRunnable(() -> log.add(p)).subscribeOn(Schedulers.parallel()))
                        .then()))
                .then()
                .block(WAIT);
        List<Integer> steps = new ArrayList<>(log);
        assertThat(steps).hasSize(100);
        for (int run = 0; run < 10; run++) {
            List<Integer> slice = steps.subList(run * 10, run * 10 + 10);
            assertThat(slice).as("steps %d..%d", run * 10, run * 10 + 9).containsOnly(slice.get(0));
        }
    }

    @Test
    protected void exclusiveHoldersNeverOverlapUnderContention() {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        int[] unsafeCounter = {0};
        Flux.range(0, contentionOps())
                .flatMap(i -> locks.withLock("contended", Mono.fromRunnable(() -> {
                    maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                    unsafeCounter[0]++;
                    inside.decrementAndGet();
                }).subscribeOn(Schedulers.parallel())), 32)
                .then()
                .block(WAIT.multipliedBy(3));
        assertThat(maxInside.get()).isEqualTo(1);
        assertThat(unsafeCounter[0]).isEqualTo(contentionOps());
    }

    // ---- 2. fairness and modes --------------------------------------------------------------------

    @Test
    protected void waitersAreGrantedInSubscriptionOrder() throws Exception {
        LockHandle holder = locks.acquire("fifo").block(WAIT);
        List<Integer> order = Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<Object>> done = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            int id = i;
            done.add(locks.withLock("fifo", Mono.fromRunnable(() -> order.add(id))).toFuture());
        }
        release(holder);
        CompletableFuture.allOf(done.toArray(new CompletableFuture[0])).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(order).containsExactly(1, 2, 3, 4, 5);
    }

    @Test
    protected void sharedHoldersOverlapAndExcludeExclusive() throws Exception {
        LockHandle s1 = locks.acquire("rw", LockOptions.shared()).block(WAIT);
        LockHandle s2 = locks.acquire("rw", LockOptions.shared()).block(WAIT);
        assertThat(s1.isHeld()).isTrue();
        assertThat(s2.isHeld()).isTrue();
        assertThat(locks.tryAcquire("rw").blockOptional(WAIT)).isEmpty();

        CompletableFuture<LockHandle> writer = pending(locks.acquire("rw"));
        release(s1);
        assertStillPending(writer);
        release(s2);
        LockHandle w = await(writer);
        assertThat(locks.tryAcquire("rw", LockOptions.shared()).blockOptional(WAIT)).isEmpty();
        release(w);
    }

    /** Handles report the name and mode of their grant; a shared {@code tryAcquire} joins shared holders. */
    @Test
    protected void handlesReportTheModeTheyWereGrantedIn() {
        LockHandle exclusive = locks.acquire("mode").block(WAIT);
        assertThat(exclusive.name()).isEqualTo("mode");
        assertThat(exclusive.mode()).isEqualTo(LockMode.EXCLUSIVE);
        release(exclusive);
        LockHandle shared = locks.acquire("mode", LockOptions.shared()).block(WAIT);
        assertThat(shared.mode()).isEqualTo(LockMode.SHARED);
        LockHandle tried = locks.tryAcquire("mode", LockOptions.shared()).block(WAIT);
        assertThat(tried).as("a shared tryAcquire while only shared holders hold the lock").isNotNull();
        assertThat(tried.mode()).isEqualTo(LockMode.SHARED);
        assertThat(locks.tryAcquire("mode").blockOptional(WAIT)).isEmpty();
        release(shared);
        release(tried);
        assertFree("mode");
    }

    @Test
    protected void queuedExclusiveBlocksLaterSharedRequests() throws Exception {
        LockHandle reader = locks.acquire("pref", LockOptions.shared()).block(WAIT);
        CompletableFuture<LockHandle> writer = pending(locks.acquire("pref"));
        assertStillPending(writer);
        CompletableFuture<LockHandle> lateReader = pending(locks.acquire("pref", LockOptions.shared()));
        assertStillPending(lateReader);
        assertThat(locks.tryAcquire("pref", LockOptions.shared()).blockOptional(WAIT)).isEmpty();

        release(reader);
        LockHandle w = await(writer);
        assertStillPending(lateReader);
        release(w);
        release(await(lateReader));
    }

    @Test
    protected void consecutiveSharedWaitersAtTheHeadAreGrantedTogether() throws Exception {
        LockHandle writer = locks.acquire("batch").block(WAIT);
        List<CompletableFuture<LockHandle>> readers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            readers.add(pending(locks.acquire("batch", LockOptions.shared())));
        }
        CompletableFuture<LockHandle> secondWriter = pending(locks.acquire("batch"));
        release(writer);
        List<LockHandle> granted = new ArrayList<>();
        for (CompletableFuture<LockHandle> r : readers) {
            granted.add(await(r));
        }
        assertThat(granted).allMatch(LockHandle::isHeld);
        assertStillPending(secondWriter);
        granted.forEach(LockServiceContract::release);
        release(await(secondWriter));
    }

    // ---- 3. cold and lazy -------------------------------------------------------------------------

    @Test
    protected void nothingIsQueuedBeforeSubscriptionAndEachSubscriptionAcquiresOnce() {
        Mono<LockHandle> acquisition = locks.acquire("lazy");
        LockHandle other = locks.tryAcquire("lazy").block(WAIT);
        assertThat(other).as("an unsubscribed acquire holds nothing").isNotNull();
        release(other);

        LockHandle first = acquisition.block(WAIT);
        release(first);
        LockHandle second = acquisition.block(WAIT);
        assertThat(second).isNotSameAs(first);
        assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
        release(second);
    }

    // ---- 4. timeout -------------------------------------------------------------------------------

    @Test
    protected void pendingTimeoutErrorsAndLeavesTheQueue() {
        LockHandle holder = locks.acquire("orders").block(WAIT);
        Duration timeout = shortTimeout();
        StepVerifier.create(locks.acquire("orders", LockOptions.exclusive().timeout(timeout)))
                .expectErrorSatisfies(e -> assertThat(e)
                        .isInstanceOf(LockTimeoutException.class)
                        .hasMessage("Lock 'orders' (EXCLUSIVE) not acquired within " + format(timeout)))
                .verify(WAIT);
        StepVerifier.create(locks.acquire("orders", LockOptions.shared().timeout(timeout)))
                .expectErrorMessage("Lock 'orders' (SHARED) not acquired within " + format(timeout))
                .verify(WAIT);
        release(holder);
        LockHandle next = locks.tryAcquire("orders").block(WAIT);
        assertThat(next).as("timed-out waiters hold nothing").isNotNull();
        release(next);
    }

    @Test
    protected void zeroTimeoutFailsAtOnceWhenBusy() {
        LockHandle holder = locks.acquire("zero").block(WAIT);
        StepVerifier.create(locks.acquire("zero", LockOptions.exclusive().timeout(Duration.ZERO)))
                .expectErrorMessage("Lock 'zero' (EXCLUSIVE) not acquired within 0ms")
                .verify(WAIT);
        release(holder);
    }

    @Test
    protected void timeoutsTooLongToMeasureWaitLikeNoTimeout() throws Exception {
        LockHandle holder = locks.acquire("forever").block(WAIT);
        CompletableFuture<LockHandle> waiter =
                pending(locks.acquire("forever", LockOptions.exclusive().timeout(Duration.ofSeconds(Long.MAX_VALUE))));
        assertStillPending(waiter);
        release(holder);
        release(await(waiter));
    }

    private static String format(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }

    // ---- 5. cancel-safety -------------------------------------------------------------------------

    @Test
    protected void cancellingAPendingAcquisitionDequeuesIt() throws Exception {
        LockHandle holder = locks.acquire("cancel").block(WAIT);
        AtomicBoolean granted = new AtomicBoolean();
        Disposable waiter = locks.acquire("cancel").subscribe(h -> granted.set(true));
        CompletableFuture<LockHandle> behind = pending(locks.acquire("cancel"));
        waiter.dispose();
        release(holder);
        LockHandle next = await(behind);
        assertThat(granted).isFalse();
        release(next);
    }

    @Test
    protected void withLockReleasesOnCompleteErrorAndCancel() throws Exception {
        assertThat(locks.withLock("scoped", Mono.just(42)).block(WAIT)).isEqualTo(42);
        assertFree("scoped");

        StepVerifier.create(locks.withLock("scoped", Mono.error(new IllegalStateException("boom"))))
                .expectErrorMessage("boom")
                .verify(WAIT);
        assertFree("scoped");

        CompletableFuture<Void> bodyStarted = new CompletableFuture<>();
        Disposable running = locks.withLock("scoped", Mono.never().doOnSubscribe(s -> bodyStarted.complete(null)))
                .subscribe();
        await(bodyStarted);
        assertThat(locks.tryAcquire("scoped").blockOptional(WAIT)).isEmpty();
        running.dispose();
        assertThat(locks.acquire("scoped").block(WAIT)).satisfies(LockServiceContract::release);

        List<Integer> many = locks.withLockMany("scoped", LockOptions.shared(), h -> Flux.range(1, 3))
                .collectList().block(WAIT);
        assertThat(many).containsExactly(1, 2, 3);
        assertFree("scoped");
    }

    /** {@code withLockMany} holds the lock from before the body is subscribed until after its last value. */
    @Test
    protected void withLockManyHoldsTheLockUntilTheBodyTerminates() throws Exception {
        Sinks.Empty<Void> more = Sinks.empty();
        CompletableFuture<Void> first = new CompletableFuture<>();
        CompletableFuture<List<Integer>> values = locks.withLockMany("many", LockOptions.exclusive(),
                        h -> Flux.just(1).doOnNext(v -> first.complete(null)).concatWith(more.asMono().thenMany(Flux.just(2))))
                .collectList().toFuture();
        await(first);
        assertThat(locks.tryAcquire("many").blockOptional(WAIT)).as("held while the body emits").isEmpty();
        more.tryEmitEmpty();
        assertThat(await(values)).containsExactly(1, 2);
        assertFree("many");
    }

    @Test
    protected void bodyIsSubscribedOnlyAfterTheGrant() throws Exception {
        LockHandle holder = locks.acquire("late-body").block(WAIT);
        AtomicBoolean subscribed = new AtomicBoolean();
        CompletableFuture<String> result =
                locks.withLock("late-body", Mono.fromCallable(() -> "ran").doOnSubscribe(s -> subscribed.set(true)))
                        .toFuture();
        assertStillPending(result);
        assertThat(subscribed).isFalse();
        release(holder);
        assertThat(await(result)).isEqualTo("ran");
    }

    @Test
    protected void grantRacingCancelIsNeverLeaked() throws Exception {
        for (int i = 0; i < raceIterations(); i++) {
            LockHandle holder = locks.acquire("race").block(WAIT);
            RecordingSubscriber waiter = locks.acquire("race").subscribeWith(new RecordingSubscriber());
            RaceTestUtils.race(waiter::dispose, () -> holder.release().subscribe());
            // The grant may reach the waiter later, on another thread: whoever gets it releases it, and the
            // next acquisition must then succeed; a leaked grant makes it time out.
            CompletableFuture<LockHandle> next = pending(locks.acquire("race"));
            long deadline = System.nanoTime() + WAIT.toNanos();
            boolean releasedLateGrant = false;
            while (!next.isDone() && System.nanoTime() < deadline) {
                LockHandle got = waiter.handle();
                if (got != null && !releasedLateGrant) {
                    release(got);
                    releasedLateGrant = true;
                }
                Thread.sleep(1);
            }
            assertThat(next).as("iteration %d: lock was leaked", i).isDone();
            release(await(next));
        }
    }

    @Test
    protected void timeoutRacingReleaseLeavesOneOwnerOrNone() {
        for (int i = 0; i < raceIterations() / 4; i++) {
            LockHandle holder = locks.acquire("timeout-race").block(WAIT);
            CompletableFuture<LockHandle> waiter =
                    pending(locks.acquire("timeout-race", LockOptions.exclusive().timeout(Duration.ofMillis(1))));
            holder.release().subscribe();
            LockHandle got;
            try {
                got = waiter.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(LockTimeoutException.class);
                got = null;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            if (got != null) {
                release(got);
            }
            LockHandle next = locks.acquire("timeout-race", LockOptions.exclusive().timeout(WAIT)).block(WAIT);
            assertThat(next).as("iteration %d", i).isNotNull();
            release(next);
        }
    }

    // ---- 6. re-entry and release ------------------------------------------------------------------

    @Test
    protected void reentryFailsAtOnceInsteadOfDeadlocking() {
        StepVerifier.create(locks.withLock("re", locks.acquire("re")))
                .expectErrorSatisfies(e -> assertThat(e)
                        .isInstanceOf(IllegalLockStateException.class)
                        .hasMessage("Lock 're' is already held (EXCLUSIVE) by this pipeline; locks are not reentrant"))
                .verify(WAIT);
        StepVerifier.create(locks.withLock("re", LockOptions.shared(), locks.withLock("re", Mono.just(1))))
                .expectErrorMessage("Lock 're' is held SHARED by this pipeline; upgrading to EXCLUSIVE would deadlock")
                .verify(WAIT);
        assertFree("re");
        assertThat(locks.withLock("re", locks.withLock("other", Mono.just("nested"))).block(WAIT))
                .isEqualTo("nested");
    }

    @Test
    protected void releasingTwiceIsHarmlessAndReleasesOnlyItsOwnGrant() {
        LockHandle first = locks.acquire("twice").block(WAIT);
        release(first);
        release(first);
        LockHandle second = locks.acquire("twice").block(WAIT);
        release(first);
        assertThat(second.isHeld()).isTrue();
        assertThat(locks.tryAcquire("twice").blockOptional(WAIT)).as("old handle released the new grant").isEmpty();
        release(second);
        assertFree("twice");
    }

    /** {@code release()} is lazy: nothing is released before the subscription. A release is not a loss. */
    @Test
    protected void releaseIsLazyAndARegularReleaseIsNoLoss() {
        LockHandle h = locks.acquire("lazy-release").block(WAIT);
        CompletableFuture<Void> lost = h.lost().toFuture();
        Mono<Void> release = h.release();
        assertThat(h.isHeld()).isTrue();
        assertThat(locks.tryAcquire("lazy-release").blockOptional(WAIT)).as("released before the subscription").isEmpty();
        release.block(WAIT);
        assertThat(h.isHeld()).isFalse();
        assertFree("lazy-release");
        assertStillPending(lost);
    }

    /**
     * A release whose subscriber cancels at once still releases: the waiter behind it is granted, with a larger
     * fencing token. A release that a cancel stopped halfway (a distributed one after its renewal stopped,
     * before the store or the service's own hold of the name was released) left the name held by nobody.
     */
    @Test
    protected void aReleaseWhoseSubscriberCancelsStillReleases() throws Exception {
        LockHandle h = locks.acquire("cancelled-release").block(WAIT);
        CompletableFuture<LockHandle> waiter = pending(locks.acquire("cancelled-release"));
        h.release().subscribe().dispose();
        LockHandle next = await(waiter);
        assertThat(next.fencingToken()).isGreaterThan(h.fencingToken());
        release(next);
        assertFree("cancelled-release");
    }

    // ---- 7. fencing -------------------------------------------------------------------------------

    @Test
    protected void everyGrantGetsALargerFencingToken() {
        long previous = Long.MIN_VALUE;
        for (int i = 0; i < 20; i++) {
            LockOptions options = i % 3 == 0 ? LockOptions.shared() : LockOptions.exclusive();
            LockHandle h = locks.acquire("fence", options).block(WAIT);
            assertThat(h.fencingToken()).isGreaterThan(previous);
            previous = h.fencingToken();
            release(h);
        }
    }

    // ---- tryAcquire, prefixes, arguments, lifecycle ----------------------------------------------

    @Test
    protected void tryAcquireNeverQueues() throws Exception {
        LockHandle holder = locks.acquire("try").block(WAIT);
        StepVerifier.create(locks.tryAcquire("try")).expectComplete().verify(WAIT);
        CompletableFuture<LockHandle> waiter = pending(locks.acquire("try"));
        release(holder);
        LockHandle next = await(waiter);
        assertThat(next.isHeld()).isTrue();
        release(next);
    }

    @Test
    protected void withLockIfFreeRunsTheBodyOnlyWhenFreeAndNeverQueues() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        Mono<String> body = Mono.fromCallable(() -> {
            runs.incrementAndGet();
            return "ran";
        });
        assertThat(locks.withLockIfFree("if-free", body).block(WAIT)).isEqualTo("ran");
        LockHandle holder = locks.acquire("if-free").block(WAIT);
        StepVerifier.create(locks.withLockIfFree("if-free", LockOptions.shared(), body))
                .expectComplete().verify(WAIT);
        assertThat(runs).as("the body of a busy lock never runs").hasValue(1);
        CompletableFuture<LockHandle> waiter = pending(locks.acquire("if-free"));
        release(holder);
        release(await(waiter)); // the busy attempt left nothing queued ahead of this waiter
        assertThat(locks.withLockIfFree("if-free", body).block(WAIT)).isEqualTo("ran");
        LockHandle after = locks.tryAcquire("if-free").block(WAIT);
        assertThat(after).as("released after the body").isNotNull();
        release(after);
    }

    @Test
    protected void prefixedViewsShareLocksUnderPrefixedNames() {
        LockService nova = locks.withPrefix("nova");
        LockHandle h = nova.acquire("db").block(WAIT);
        assertThat(h.name()).isEqualTo("nova-db");
        assertThat(locks.tryAcquire("nova-db").blockOptional(WAIT)).isEmpty();
        assertThat(locks.withPrefix("nova-").tryAcquire("db").blockOptional(WAIT)).isEmpty();
        assertThat(nova.tryAcquire("other").blockOptional(WAIT)).get().satisfies(LockServiceContract::release);
        release(h);
        assertFree("nova-db");
    }

    @Test
    protected void scopeWhoseBodyReturnsNullFailsNamingTheBodyAndReleases() {
        StepVerifier.create(locks.withLock("null-body", LockOptions.exclusive(), h -> (Mono<Object>) null))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(NullPointerException.class)
                        .hasMessage("The body returned a null Mono"))
                .verify(WAIT);
        assertFree("null-body");
        StepVerifier.create(locks.withLockMany("null-body", LockOptions.exclusive(), h -> (Flux<Object>) null))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(NullPointerException.class)
                        .hasMessage("The body returned a null Publisher"))
                .verify(WAIT);
        assertFree("null-body");
    }

    @Test
    protected void prefixedViewsRejectEmptyNamesAtAssembly() {
        LockService nova = locks.withPrefix("nova");
        assertThatThrownBy(() -> nova.acquire("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("name must not be empty");
        assertThatThrownBy(() -> nova.tryAcquire("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("name must not be empty");
        assertThatThrownBy(() -> nova.withLock("", Mono.just(1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("name must not be empty");
        assertThatThrownBy(() -> nova.withLockMany("", LockOptions.exclusive(), h -> Flux.just(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("name must not be empty");
        assertThatThrownBy(() -> nova.withPrefix("")).isInstanceOf(IllegalArgumentException.class);
        assertFree("nova-");
    }

    @Test
    protected void invalidArgumentsThrowAtAssembly() {
        assertThatThrownBy(() -> locks.acquire("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> locks.acquire(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> locks.acquire("x", null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> locks.withLock("x", (Mono<Object>) null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> locks.withPrefix("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LockOptions.exclusive().timeout(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("timeout must be >= 0, was PT-0.001S");
    }

    @Test
    protected void disposeFailsPendingAndNewAcquisitions() throws Exception {
        LockHandle holder = locks.acquire("closing").block(WAIT);
        CompletableFuture<LockHandle> waiter = pending(locks.acquire("closing"));
        assertStillPending(waiter);
        locks.disposeLater().block(WAIT);
        assertThat(locks.isDisposed()).isTrue();
        assertThatThrownBy(() -> await(waiter)).hasCauseInstanceOf(LockServiceClosedException.class);
        StepVerifier.create(locks.acquire("fresh"))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockServiceClosedException.class)
                        .hasMessage("Lock 'fresh' not acquired: the lock service is disposed"))
                .verify(WAIT);
        release(holder);
    }

    @Test
    protected void blockHoundIsActiveInThisTestJvm() {
        StepVerifier.create(Mono.fromCallable(() -> {
                    Thread.sleep(1);
                    return 1;
                }).subscribeOn(Schedulers.parallel()))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(BlockingOperationError.class))
                .verify(WAIT);
    }

    // ---- 8. downgrade -----------------------------------------------------------------------------

    /**
     * Downgrades {@code exclusive}, a handle of {@code name}. A service that cannot downgrade must say so
     * with {@link UnsupportedOperationException} and keep the lock exclusive: asserted, then the test is
     * skipped.
     */
    protected LockHandle downgradeOrSkip(LockHandle exclusive, String name) {
        try {
            return exclusive.downgrade().block(WAIT);
        } catch (UnsupportedOperationException e) {
            assertThat(exclusive.isHeld()).isTrue();
            assertThat(exclusive.mode()).isEqualTo(LockMode.EXCLUSIVE);
            assertThat(locks.tryAcquire(name, LockOptions.shared()).blockOptional(WAIT)).isEmpty();
            release(exclusive);
            assertFree(name);
            Assumptions.abort("this service cannot downgrade, and says so: " + e.getMessage());
            throw e;
        }
    }

    /** Skips the test, after {@link #downgradeOrSkip} asserted the refusal, when the service cannot downgrade. */
    protected void assumeDowngrades() {
        release(downgradeOrSkip(locks.acquire("dg-probe").block(WAIT), "dg-probe"));
        assertFree("dg-probe");
    }

    @Test
    protected void downgradeAdmitsSharedWaitersAheadOfAWriterAndNoWriterInBetween() throws Exception {
        assumeDowngrades();
        LockHandle exclusive = locks.acquire("dg").block(WAIT);
        CompletableFuture<LockHandle> reader = pending(locks.acquire("dg", LockOptions.shared()));
        assertStillPending(reader);
        CompletableFuture<LockHandle> writer = pending(locks.acquire("dg"));
        CompletableFuture<LockHandle> lateReader = pending(locks.acquire("dg", LockOptions.shared()));
        assertStillPending(lateReader);

        LockHandle shared = downgradeOrSkip(exclusive, "dg");
        assertThat(shared.mode()).isEqualTo(LockMode.SHARED);
        assertThat(shared.isHeld()).isTrue();
        assertThat(shared.fencingToken()).isGreaterThan(exclusive.fencingToken());
        assertThat(exclusive.isHeld()).isFalse();
        LockHandle first = await(reader);
        assertThat(first.fencingToken()).isGreaterThan(shared.fencingToken());
        assertStillPending(writer);
        assertStillPending(lateReader); // behind the waiting writer (writer preference)

        release(shared);
        assertStillPending(writer);
        release(first);
        LockHandle w = await(writer);
        assertStillPending(lateReader);
        release(w);
        release(await(lateReader));
        assertFree("dg");
    }

    @Test
    protected void downgradeOfASharedReleasedOrDowngradedHandleIsRefused() {
        LockHandle shared = locks.acquire("dg-refused", LockOptions.shared()).block(WAIT);
        StepVerifier.create(shared.downgrade())
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalLockStateException.class).hasMessage(
                        "Lock 'dg-refused' is held SHARED by this handle; only an EXCLUSIVE grant can be downgraded"))
                .verify(WAIT);
        assertThat(shared.isHeld()).isTrue();
        release(shared);

        String notHeld = "Lock 'dg-refused' cannot be downgraded: this handle does not hold it (released, lost, "
                + "or downgraded already)";
        LockHandle released = locks.acquire("dg-refused").block(WAIT);
        release(released);
        StepVerifier.create(released.downgrade())
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalLockStateException.class).hasMessage(notHeld))
                .verify(WAIT);

        LockHandle exclusive = locks.acquire("dg-refused").block(WAIT);
        LockHandle downgraded = downgradeOrSkip(exclusive, "dg-refused");
        StepVerifier.create(exclusive.downgrade())
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalLockStateException.class).hasMessage(notHeld))
                .verify(WAIT);
        assertThat(downgraded.isHeld()).isTrue();
        release(downgraded);
        assertFree("dg-refused");
    }

    @Test
    protected void releasingTheDowngradedHandleReleasesTheSharedGrant() {
        LockHandle exclusive = locks.acquire("dg-forward").block(WAIT);
        LockHandle shared = downgradeOrSkip(exclusive, "dg-forward");
        LockHandle other = locks.acquire("dg-forward", LockOptions.shared()).block(WAIT);
        release(exclusive);
        assertThat(shared.isHeld()).isFalse();
        assertThat(other.isHeld()).isTrue();
        release(shared);
        release(other);
        assertFree("dg-forward");
    }

    @Test
    protected void withLockBodyThatDowngradesStillRefusesReentryAndReleasesAtTheEnd() {
        AtomicReference<LockHandle> shared = new AtomicReference<>();
        Throwable error = catchThrowable(() -> locks.withLock("dg-scope", LockOptions.exclusive(),
                h -> h.downgrade().doOnNext(shared::set).then(locks.acquire("dg-scope", LockOptions.shared())))
                .block(WAIT));
        assertFree("dg-scope");
        if (error instanceof UnsupportedOperationException) {
            Assumptions.abort("this service cannot downgrade, and says so: " + error.getMessage());
        }
        assertThat(error).isInstanceOf(IllegalLockStateException.class)
                .hasMessage("Lock 'dg-scope' is already held (EXCLUSIVE) by this pipeline; locks are not reentrant");
        assertThat(shared.get().isHeld()).as("released by the scope's release of the downgraded handle").isFalse();
    }

    /**
     * Spin-timed races of a downgrade against a concurrent cancel of a waiting shared acquisition, against a
     * release of the handle being downgraded (with the downgraded handle released by the test, and not), and
     * against a cancel of the downgrade itself; afterwards the
     * test releases every handle it received, and an exclusive acquisition of the name must succeed (a
     * grant held by nobody would make it time out).
     */
    @Test
    protected void downgradeRacingCancelOrReleaseLeavesNothingHeldByNobody() throws Exception {
        assumeDowngrades();
        int leaked = 0;
        try (SpinRacer racer = new SpinRacer()) {
            for (int i = 0; i < raceIterations(); i++) {
                String name = "dg-race-" + i;
                LockHandle exclusive = locks.acquire(name).block(WAIT);
                RecordingSubscriber reader = locks.acquire(name, LockOptions.shared())
                        .subscribeWith(new RecordingSubscriber());
                RecordingSubscriber downgrade = new RecordingSubscriber();
                switch (i % 4) {
                    case 0 -> racer.race(() -> exclusive.downgrade().subscribe(downgrade), reader::dispose);
                    case 1 -> racer.race(() -> exclusive.downgrade().subscribe(downgrade),
                            () -> exclusive.release().block(WAIT));
                    // the downgraded handle is never released by the test: the release must free the name
                    // whichever comes first (released before the downgrade, or releasing the shared grant)
                    case 2 -> racer.race(() -> exclusive.downgrade().subscribe(h -> { }, e -> { }),
                            () -> exclusive.release().block(WAIT));
                    default -> racer.race(() -> exclusive.downgrade().subscribe(downgrade), downgrade::dispose);
                }
                if (!held(name, i % 4 == 0 || i % 4 == 2 ? null : exclusive, reader, downgrade)) {
                    leaked++;
                }
            }
        }
        assertThat(leaked).as("names left held by nobody").isZero();
    }

    /**
     * Releases what the racers received (handles may still arrive) and whether an exclusive acquisition of
     * {@code name} then succeeds. {@code exclusive} is released only while it still holds the lock itself:
     * a downgraded handle's release would hide a leaked shared grant.
     */
    private boolean held(String name, LockHandle exclusive, RecordingSubscriber... received) throws Exception {
        CompletableFuture<LockHandle> next = pending(locks.acquire(name));
        long deadline = System.nanoTime() + WAIT.toNanos();
        java.util.Set<LockHandle> released = new java.util.HashSet<>();
        while (!next.isDone() && System.nanoTime() < deadline) {
            if (exclusive != null && exclusive.isHeld() && released.add(exclusive)) {
                release(exclusive);
            }
            for (RecordingSubscriber r : received) {
                LockHandle h = r.handle();
                if (h != null && released.add(h)) {
                    release(h);
                }
            }
            Thread.sleep(1);
        }
        if (!next.isDone()) {
            next.cancel(true);
            return false;
        }
        release(await(next));
        return true;
    }

    /** Asserts that {@code name} is free now (an exclusive tryAcquire succeeds) and leaves it free. */
    protected void assertFree(String name) {
        LockHandle h = locks.tryAcquire(name).block(WAIT);
        assertThat(h).as("lock '%s' should be free", name).isNotNull();
        release(h);
    }
}
