package dev.reactivelocks.blocking;

import static dev.reactivelocks.blocking.Conditions.await;
import static dev.reactivelocks.blocking.Conditions.awaitIdle;
import static dev.reactivelocks.blocking.Conditions.awaitParked;
import static dev.reactivelocks.blocking.Conditions.awaitPending;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockServiceClosedException;
import dev.reactivelocks.LockStats;
import dev.reactivelocks.LockTimeoutException;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

class BlockingLockServiceTest {

    private final InProcessLockService service = LockService.builder().build();
    private final BlockingLockService locks = BlockingLockService.of(service);
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "blocking-test-" + r.hashCode());
        t.setDaemon(true);
        return t;
    });

    @AfterEach
    void tearDown() {
        threads.shutdownNow();
        service.dispose();
    }

    private static <T> T get(Future<T> future) throws Exception {
        return future.get(Conditions.WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private static Throwable failure(Future<?> future) throws InterruptedException {
        try {
            future.get(Conditions.WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("still running", e);
        }
        throw new AssertionError("completed without failure");
    }

    @Test
    void blockingLockWaitsForTheReactiveHolderAndExcludesReactiveAcquirers() throws Exception {
        LockHandle reactive = service.acquire("orders").block(Duration.ofSeconds(1));
        List<String> events = new CopyOnWriteArrayList<>();
        AtomicReference<Thread> waiter = new AtomicReference<>();

        Future<Long> blocking = threads.submit(() -> {
            waiter.set(Thread.currentThread());
            try (BlockingLockHandle h = locks.lock("orders")) {
                events.add("blocking holds");
                Sinks.One<LockHandle> next = Sinks.one();
                service.acquire("orders").subscribe(next::tryEmitValue);
                awaitPending(service, "orders", 1); // the reactive acquirer queues behind us
                events.add("blocking releases");
                return h.fencingToken();
            }
        });

        awaitPending(service, "orders", 1);
        awaitParked(waiter.get());
        assertThat(events).isEmpty();
        events.add("reactive releases");
        reactive.release().block(Duration.ofSeconds(1));

        long token = get(blocking);
        assertThat(events).containsExactly("reactive releases", "blocking holds", "blocking releases");
        assertThat(token).isGreaterThan(reactive.fencingToken());
        // the reactive acquirer got the lock after the blocking release
        assertThat(service.stats("orders")).get().extracting(LockStats::holders).isEqualTo(1);
    }

    @Test
    void reactiveAcquireWaitsUntilTheBlockingHandleIsClosed() throws Exception {
        BlockingLockHandle h = locks.lock("orders");
        assertThat(h.isHeld()).isTrue();
        assertThat(h.name()).isEqualTo("orders");
        assertThat(h.mode()).isEqualTo(LockMode.EXCLUSIVE);

        StepVerifier.create(service.acquire("orders").flatMap(LockHandle::release).thenReturn("granted"))
                .expectSubscription()
                .then(() -> assertThat(service.stats("orders")).get().extracting(LockStats::pending).isEqualTo(1))
                .then(h::close)
                .expectNext("granted")
                .expectComplete()
                .verify(Duration.ofSeconds(5));
        assertThat(h.isHeld()).isFalse();
        awaitIdle(service, "orders");
    }

    @Test
    void tryLockIsEmptyWhileHeldAndNeverQueues() throws Exception {
        try (BlockingLockHandle held = locks.lock("orders")) {
            assertThat(locks.tryLock("orders")).isEmpty();
            assertThat(locks.tryLock("orders", LockOptions.shared())).isEmpty();
            assertThat(service.stats("orders")).get().extracting(LockStats::pending).isEqualTo(0);
        }
        Optional<BlockingLockHandle> free = locks.tryLock("orders");
        assertThat(free).get().extracting(BlockingLockHandle::isHeld).isEqualTo(true);
        free.get().close();
        awaitIdle(service, "orders");
    }

    private Optional<BlockingLockHandle> tryLockShared() {
        try {
            return locks.tryLock("orders", LockOptions.shared());
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void tryLockDoesNotOvertakeWaiters() {
        LockHandle reader = service.acquire("orders", LockOptions.shared()).block(Duration.ofSeconds(1));
        StepVerifier.create(service.acquire("orders")) // an exclusive waiter behind the reader
                .expectSubscription()
                .then(() -> assertThat(tryLockShared())
                        .as("a shared tryLock would be compatible with the reader, but a writer waits")
                        .isEmpty())
                .then(() -> reader.release().block(Duration.ofSeconds(1)))
                .consumeNextWith(h -> h.release().block(Duration.ofSeconds(1)))
                .expectComplete()
                .verify(Duration.ofSeconds(5));
    }

    @Test
    void sharedHandlesAreHeldTogetherAndExcludeExclusive() throws Exception {
        BlockingLockHandle first = locks.lock("orders", LockOptions.shared());
        Future<BlockingLockHandle> second = threads.submit(() -> locks.lock("orders", LockOptions.shared()));
        BlockingLockHandle secondHandle = get(second);
        assertThat(service.stats("orders")).get().extracting(LockStats::holders).isEqualTo(2);
        assertThat(locks.tryLock("orders")).isEmpty();

        Future<Long> writer = threads.submit(() -> {
            try (BlockingLockHandle w = locks.lock("orders")) {
                return w.fencingToken();
            }
        });
        awaitPending(service, "orders", 1);
        first.close();
        assertThat(writer.isDone()).isFalse();
        secondHandle.close(); // released by a thread that did not acquire it: handles are not thread-owned
        assertThat(get(writer)).isGreaterThan(secondHandle.fencingToken());
        awaitIdle(service, "orders");
    }

    @Test
    void lockTimesOutWithLockTimeoutExceptionAndLeavesNothingQueued() throws Exception {
        try (BlockingLockHandle held = locks.lock("orders")) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> locks.lock("orders", LockOptions.shared().timeout(Duration.ofMillis(100))))
                    .isInstanceOf(LockTimeoutException.class)
                    .hasMessage("Lock 'orders' (SHARED) not acquired within 100ms")
                    .satisfies(e -> assertThat(((LockTimeoutException) e).lockName()).isEqualTo("orders"));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(100));
            assertThat(service.stats("orders")).get().extracting(LockStats::pending).isEqualTo(0);
        }
        awaitIdle(service, "orders");
    }

    @Test
    void zeroTimeoutAnswersAtOnce() throws Exception {
        try (BlockingLockHandle held = locks.lock("orders")) {
            assertThatThrownBy(() -> locks.lock("orders", LockOptions.exclusive().timeout(Duration.ZERO)))
                    .isInstanceOf(LockTimeoutException.class)
                    .hasMessage("Lock 'orders' (EXCLUSIVE) not acquired within 0ms");
            assertThat(locks.tryLock("orders", LockOptions.exclusive().timeout(Duration.ZERO))).isEmpty();
        }
        try (BlockingLockHandle free = locks.lock("orders", LockOptions.exclusive().timeout(Duration.ZERO))) {
            assertThat(free.isHeld()).isTrue();
        }
    }

    @Test
    void tryLockWithTimeoutWaitsThenGivesUpEmpty() throws Exception {
        BlockingLockHandle held = locks.lock("orders");
        assertThat(locks.tryLock("orders", LockOptions.exclusive().timeout(Duration.ofMillis(50)))).isEmpty();
        assertThat(service.stats("orders")).get().extracting(LockStats::pending).isEqualTo(0);

        Future<Optional<BlockingLockHandle>> waiting =
                threads.submit(() -> locks.tryLock("orders", LockOptions.exclusive().timeout(Duration.ofSeconds(30))));
        awaitPending(service, "orders", 1);
        held.close();
        Optional<BlockingLockHandle> granted = get(waiting);
        assertThat(granted).get().extracting(BlockingLockHandle::isHeld).isEqualTo(true);
        granted.get().close();
        awaitIdle(service, "orders");
    }

    @Test
    void interruptWhileWaitingThrowsInterruptedExceptionAndLeavesNothingQueuedOrHeld() throws Exception {
        LockHandle holder = service.acquire("orders").block(Duration.ofSeconds(1));
        AtomicReference<Thread> waiter = new AtomicReference<>();
        Future<BlockingLockHandle> waiting = threads.submit(() -> {
            waiter.set(Thread.currentThread());
            return locks.lock("orders");
        });
        awaitPending(service, "orders", 1);
        waiter.get().interrupt();

        assertThat(failure(waiting)).isInstanceOf(InterruptedException.class);
        assertThat(service.stats("orders")).get().extracting(LockStats::pending).isEqualTo(0);
        holder.release().block(Duration.ofSeconds(1));
        awaitIdle(service, "orders");
    }

    @Test
    void interruptedOnEntryThrowsWithoutQueueing() {
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> locks.lock("orders")).isInstanceOf(InterruptedException.class);
            assertThat(Thread.currentThread().isInterrupted()).isFalse(); // cleared, as InterruptedException does
            assertThat(service.size()).isZero();
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void noArgTryLockKeepsTheInterruptStatusAndStillAnswers() {
        Thread.currentThread().interrupt();
        try {
            Optional<BlockingLockHandle> h = locks.tryLock("orders"); // the in-process answer is immediate
            assertThat(h).isPresent();
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
            h.get().close();
        } finally {
            Thread.interrupted();
        }
        assertThat(service.size()).isZero();
    }

    @Test
    void noArgTryLockInterruptedBeforeASlowServiceAnswersCancelsAndReturnsEmpty() throws Exception {
        Sinks.One<LockHandle> answer = Sinks.one();
        List<String> signals = new CopyOnWriteArrayList<>();
        LockService slow = new StubLockService(
                answer.asMono().doOnCancel(() -> signals.add("cancelled")));
        BlockingLockService slowLocks = BlockingLockService.of(slow);
        AtomicReference<Thread> waiter = new AtomicReference<>();
        Future<Optional<BlockingLockHandle>> attempt = threads.submit(() -> {
            waiter.set(Thread.currentThread());
            Optional<BlockingLockHandle> result = slowLocks.tryLock("orders");
            signals.add("interrupted=" + Thread.currentThread().isInterrupted());
            return result;
        });
        await("waiter started", () -> waiter.get() != null);
        awaitParked(waiter.get());
        waiter.get().interrupt();

        assertThat(get(attempt)).isEmpty();
        assertThat(signals).containsExactly("cancelled", "interrupted=true");
    }

    @Test
    void grantArrivingAfterTheInterruptedWaiterGaveUpIsReleased() throws Exception {
        ManualAcquire remote = new ManualAcquire(); // ignores cancel, like a lock server answering late
        BlockingLockService remoteLocks = BlockingLockService.of(new StubLockService(remote));
        AtomicReference<Thread> waiter = new AtomicReference<>();
        Future<BlockingLockHandle> waiting = threads.submit(() -> {
            waiter.set(Thread.currentThread());
            return remoteLocks.lock("orders");
        });
        await("waiter subscribed", () -> remote.subscriber != null && waiter.get() != null);
        awaitParked(waiter.get());
        waiter.get().interrupt();
        assertThat(failure(waiting)).isInstanceOf(InterruptedException.class);
        assertThat(remote.signals).containsExactly("request", "cancel");

        StubHandle late = new StubHandle("orders");
        remote.grant(late);
        assertThat(late.releases()).isEqualTo(1);
    }

    @Test
    void grantArrivingAfterTheTimedOutWaiterGaveUpIsReleased() throws Exception {
        ManualAcquire remote = new ManualAcquire();
        BlockingLockService remoteLocks = BlockingLockService.of(new StubLockService(remote));
        assertThatThrownBy(() -> remoteLocks.lock("orders", LockOptions.exclusive().timeout(Duration.ofMillis(30))))
                .isInstanceOf(LockTimeoutException.class)
                .hasMessage("Lock 'orders' (EXCLUSIVE) not acquired within 30ms");
        assertThat(remote.signals).containsExactly("request", "cancel");

        StubHandle late = new StubHandle("orders");
        remote.grant(late);
        assertThat(late.releases()).isEqualTo(1);
    }

    @Test
    void interruptRacingTheGrantEitherHoldsOrThrowsButNeverLeaks() throws Exception {
        ExecutorService worker = Executors.newSingleThreadExecutor();
        try {
            int acquired = 0;
            int interrupted = 0;
            for (int i = 0; i < 300; i++) {
                LockHandle holder = service.acquire("orders").block(Duration.ofSeconds(1));
                AtomicReference<Thread> waiter = new AtomicReference<>();
                Future<String> outcome = worker.submit(() -> {
                    Thread.interrupted(); // a previous round may have left the status set
                    waiter.set(Thread.currentThread());
                    try {
                        BlockingLockHandle h = locks.lock("orders");
                        assertThat(h.isHeld()).isTrue();
                        h.close();
                        return "acquired";
                    } catch (InterruptedException e) {
                        return "interrupted";
                    }
                });
                awaitPending(service, "orders", 1);
                reactor.test.util.RaceTestUtils.race(
                        () -> holder.release().block(Duration.ofSeconds(1)),
                        () -> waiter.get().interrupt());
                if (get(outcome).equals("acquired")) {
                    acquired++;
                } else {
                    interrupted++;
                }
                awaitIdle(service, "orders");
            }
            assertThat(acquired + interrupted).isEqualTo(300);
        } finally {
            worker.shutdownNow();
        }
    }

    @Test
    void withLockReturnsTheBodyValueAndReleases() throws Exception {
        String value = locks.withLock("orders", () -> {
            Optional<BlockingLockHandle> inside = locks.tryLock("orders");
            assertThat(inside).isEmpty();
            return "saved";
        });
        assertThat(value).isEqualTo("saved");
        assertThat(service.size()).isZero();
        Object nothing = locks.withLock("orders", LockOptions.shared(), () -> null);
        assertThat(nothing).isNull();
    }

    @Test
    void withLockPassesTheBodysCheckedExceptionUnchangedAndReleases() {
        IOException disk = new IOException("disk full");
        assertThatThrownBy(() -> locks.withLock("orders", () -> {
            throw disk;
        })).isSameAs(disk).hasNoSuppressedExceptions();
        assertThat(service.size()).isZero();
    }

    @Test
    void withLockDoesNotRunTheBodyWhenTheLockTimesOut() throws Exception {
        List<String> ran = new CopyOnWriteArrayList<>();
        try (BlockingLockHandle held = locks.lock("orders")) {
            assertThatThrownBy(() -> locks.withLock("orders", LockOptions.exclusive().timeout(Duration.ofMillis(20)),
                    () -> ran.add("body")))
                    .isInstanceOf(LockTimeoutException.class)
                    .hasMessage("Lock 'orders' (EXCLUSIVE) not acquired within 20ms");
        }
        assertThat(ran).isEmpty();
    }

    @Test
    void withLockAddsAReleaseFailureToTheBodysException() {
        StubHandle losing = new StubHandle("orders", new dev.reactivelocks.LockLostException("orders", "lease expired", null));
        BlockingLockService stubbed = BlockingLockService.of(new StubLockService(Mono.just(losing)));
        IllegalArgumentException bodyError = new IllegalArgumentException("bad order");
        assertThatThrownBy(() -> stubbed.withLock("orders", () -> {
            throw bodyError;
        })).isSameAs(bodyError)
                .satisfies(e -> assertThat(e.getSuppressed()).singleElement()
                        .isInstanceOf(dev.reactivelocks.LockLostException.class)
                        .extracting(Throwable::getMessage).isEqualTo("lease expired"));
    }

    @Test
    void closeThrowsTheServicesReleaseErrorOnce() {
        StubHandle losing = new StubHandle("orders", new dev.reactivelocks.LockLostException("orders", "lease expired", null));
        BlockingLockHandle h = new BlockingLockHandle(losing);
        assertThatThrownBy(h::close).isInstanceOf(dev.reactivelocks.LockLostException.class).hasMessage("lease expired");
        h.close(); // idempotent: no second release
        assertThat(losing.releases()).isEqualTo(1);
    }

    @Test
    void reactorsCheckedExceptionWrapperIsUnwrapped() {
        IOException io = new IOException("lock file unreadable");
        BlockingLockService failing = BlockingLockService.of(
                new StubLockService(Mono.error(reactor.core.Exceptions.propagate(io))));
        assertThatThrownBy(() -> failing.lock("orders"))
                .isExactlyInstanceOf(LockException.class)
                .hasMessage("Lock 'orders' not acquired: java.io.IOException: lock file unreadable")
                .hasCause(io);

        IllegalStateException runtime = new IllegalStateException("backend down");
        BlockingLockService failingUnchecked = BlockingLockService.of(
                new StubLockService(Mono.error(reactor.core.Exceptions.propagate(runtime))));
        assertThatThrownBy(() -> failingUnchecked.lock("orders")).isSameAs(runtime);
    }

    @Test
    void lockOnADisposedServiceThrowsLockServiceClosedException() {
        service.disposeLater().block(Duration.ofSeconds(1));
        assertThatThrownBy(() -> locks.lock("orders"))
                .isInstanceOf(LockServiceClosedException.class)
                .hasMessage("Lock 'orders' not acquired: the lock service is disposed");
    }

    @Test
    void disposingTheServiceWakesABlockedWaiterWithLockServiceClosedException() throws Exception {
        LockHandle holder = service.acquire("orders").block(Duration.ofSeconds(1));
        Future<BlockingLockHandle> waiting = threads.submit(() -> locks.lock("orders"));
        awaitPending(service, "orders", 1);
        service.disposeLater().block(Duration.ofSeconds(1));
        assertThat(failure(waiting)).isInstanceOf(LockServiceClosedException.class);
        holder.release().block(Duration.ofSeconds(1));
    }

    @Test
    void releaseIsIdempotentAndDoesNotReleaseTheNextHoldersGrant() throws Exception {
        BlockingLockHandle first = locks.lock("orders");
        first.close();
        BlockingLockHandle second = locks.lock("orders");
        first.close();
        first.release();
        assertThat(second.isHeld()).isTrue();
        assertThat(locks.tryLock("orders")).isEmpty();
        second.close();
        assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
        assertThat(second.toString()).isEqualTo("BlockingLockHandle{name='orders', mode=EXCLUSIVE, fencingToken="
                + second.fencingToken() + ", held=false}");
    }

    @Test
    void closingOnANonBlockingThreadReleasesWithoutWaiting() throws Exception {
        BlockingLockHandle h = locks.lock("orders");
        StepVerifier.create(Mono.fromRunnable(h::close).subscribeOn(Schedulers.parallel()))
                .expectComplete()
                .verify(Duration.ofSeconds(5));
        awaitIdle(service, "orders");
    }

    @Test
    void prefixedServicesShareTheUnderlyingLocks() throws Exception {
        BlockingLockService nova = BlockingLockService.of(service.withPrefix("nova"));
        try (BlockingLockHandle h = nova.lock("instances")) {
            assertThat(h.name()).isEqualTo("nova-instances");
            assertThat(locks.tryLock("nova-instances")).isEmpty();
        }
        assertThat(service.size()).isZero();
    }

    @Test
    void namedSemaphorePermitsWorkThroughTheBridge() throws Exception {
        LockOptions permit = LockOptions.permits(2);
        BlockingLockHandle first = locks.lock("pool", permit);
        Optional<BlockingLockHandle> second = locks.tryLock("pool", permit);
        assertThat(second).isPresent();
        assertThat(locks.tryLock("pool", permit)).as("both permits taken").isEmpty();
        assertThatThrownBy(() -> locks.lock("pool", permit.timeout(Duration.ofMillis(20))))
                .isInstanceOf(LockTimeoutException.class)
                .hasMessage("Lock 'pool' (SHARED) not acquired within 20ms");
        first.close();
        try (BlockingLockHandle third = locks.lock("pool", permit.timeout(Duration.ofSeconds(5)))) {
            assertThat(third.mode()).isEqualTo(LockMode.SHARED);
        }
        second.get().close();
        assertThat(service.size()).isZero();
    }

    @Test
    void aTimeoutTooLongForADeadlineWaitsWithoutLimit() throws Exception {
        LockHandle holder = service.acquire("orders").block(Duration.ofSeconds(1));
        Future<BlockingLockHandle> waiting = threads.submit(() ->
                locks.lock("orders", LockOptions.exclusive().timeout(Duration.ofDays(365L * 200))));
        awaitPending(service, "orders", 1);
        holder.release().block(Duration.ofSeconds(1));
        get(waiting).close();
        awaitIdle(service, "orders");
    }

    @Test
    void anAcquisitionThatFailsAfterQueueingIsCancelledAndItsLateGrantReleased() throws Exception {
        ManualAcquire broken = new ManualAcquire();
        BlockingLockService brokenLocks = BlockingLockService.of(new StubLockService(broken));
        Future<BlockingLockHandle> attempt = threads.submit(() -> brokenLocks.lock("orders"));
        await("subscribed", () -> broken.subscriber != null);
        IllegalStateException failure = new IllegalStateException("timer rejected");
        broken.subscriber.onError(failure);
        assertThat(failure(attempt)).isSameAs(failure);
        assertThat(broken.signals).containsExactly("request", "cancel");
        StubHandle late = new StubHandle("orders");
        broken.grant(late);
        assertThat(late.releases()).isEqualTo(1);
    }

    @Test
    void argumentsAreCheckedBeforeAnythingIsQueued() {
        assertThatThrownBy(() -> locks.lock("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("name must not be empty");
        assertThatThrownBy(() -> locks.asLock("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("name must not be empty");
        assertThatThrownBy(() -> locks.lock("orders", null)).isInstanceOf(NullPointerException.class)
                .hasMessage("options");
        assertThatThrownBy(() -> BlockingLockService.of(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("service");
        assertThat(service.size()).isZero();
    }
    @Test
    void downgradeLetsReadersInKeepsWritersOutAndTheTryBlockReleasesTheSharedGrant() throws Exception {
        BlockingLockHandle shared;
        try (BlockingLockHandle h = locks.lock("dg")) {
            shared = h.downgrade();
            assertThat(h.isHeld()).isFalse();
            assertThat(shared.mode()).isEqualTo(LockMode.SHARED);
            assertThat(shared.fencingToken()).isGreaterThan(h.fencingToken());
            assertThat(locks.tryLock("dg")).isEmpty();
            locks.tryLock("dg", LockOptions.shared()).orElseThrow().release();
        }
        assertThat(shared.isHeld()).isFalse();
        locks.tryLock("dg").orElseThrow().release();
        assertThatThrownBy(shared::downgrade).isInstanceOf(IllegalLockStateException.class)
                .hasMessage("Lock 'dg' cannot be downgraded: this handle does not hold it (released, lost, or "
                        + "downgraded already)");
    }

    @Test
    void downgradeOnANonBlockingThreadIsRefused() throws Exception {
        BlockingLockHandle h = locks.lock("dg-nb");
        StepVerifier.create(Mono.fromCallable(h::downgrade).subscribeOn(Schedulers.parallel()))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalStateException.class)
                        .hasMessageStartingWith("downgrade(\"dg-nb\") would block"))
                .verify(Duration.ofSeconds(10));
        assertThat(h.mode()).isEqualTo(LockMode.EXCLUSIVE);
        assertThat(h.isHeld()).isTrue();
        h.release();
    }
}
