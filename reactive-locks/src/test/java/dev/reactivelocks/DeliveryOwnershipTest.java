package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * A subscriber that keeps a handle must never have its lock released under it: each test takes a handle
 * through a common Reactor pattern (thread hops, next(), take(1), switchMap, concatMap, cache, share...),
 * then checks that nobody else can take the same exclusive lock. And a handle nobody can own any more (an
 * operator failed on it) is released; a non-positive request after completion changes nothing.
 */
class DeliveryOwnershipTest {

    private final LockService locks = LockService.inProcess();

    @AfterEach
    void tearDown() {
        locks.dispose();
    }

    /** The handle is still held, and a second exclusive acquisition of the same name is refused. */
    private void assertStillExclusive(LockHandle kept) {
        assertThat(kept.isHeld()).as("kept handle still held").isTrue();
        LockHandle intruder = locks.tryAcquire(kept.name()).block(Duration.ofSeconds(5));
        assertThat(intruder).as("a second holder of '%s' while the first keeps its handle", kept.name()).isNull();
    }

    @Test
    void nextAfterPublishOnKeepsTheLock() {
        LockHandle h = locks.acquire("a").publishOn(Schedulers.parallel()).flux().next().block(Duration.ofSeconds(5));
        assertStillExclusive(h);
    }

    @Test
    void takeOneAfterPublishOnKeepsTheLock() {
        LockHandle h = Flux.from(locks.acquire("a")).publishOn(Schedulers.single()).take(1)
                .single().block(Duration.ofSeconds(5));
        assertStillExclusive(h);
    }

    @Test
    void blockFirstAfterDelayElementKeepsTheLock() {
        LockHandle h = locks.acquire("a").delayElement(Duration.ofMillis(1)).flux().blockFirst(Duration.ofSeconds(5));
        assertStillExclusive(h);
    }

    @Test
    void concatMapDisposedAfterTheHandleWasDeliveredKeepsTheLock() {
        AtomicReference<LockHandle> kept = new AtomicReference<>();
        Disposable d = Flux.just("a").concatWith(Flux.never()).concatMap(locks::acquire).subscribe(kept::set);
        assertThat(kept.get()).isNotNull();
        d.dispose(); // the stream is no longer wanted; the handle already delivered is the consumer's
        assertStillExclusive(kept.get());
    }

    @Test
    void flatMapDisposedAfterTheHandleWasDeliveredKeepsTheLock() {
        AtomicReference<LockHandle> kept = new AtomicReference<>();
        Disposable d = Flux.just("a").concatWith(Flux.never()).flatMap(locks::acquire).subscribe(kept::set);
        assertThat(kept.get()).isNotNull();
        d.dispose();
        assertStillExclusive(kept.get());
    }

    @Test
    void switchMapToTheNextNameKeepsTheFirstLock() {
        Sinks.Many<String> names = Sinks.many().unicast().onBackpressureBuffer();
        List<LockHandle> kept = new CopyOnWriteArrayList<>();
        names.asFlux().switchMap(locks::acquire).subscribe(kept::add);
        names.tryEmitNext("a");
        assertThat(kept).hasSize(1);
        names.tryEmitNext("b"); // a new name: switchMap moves on, the consumer still holds "a"
        assertThat(kept).hasSize(2);
        assertStillExclusive(kept.get(0));
    }

    @Test
    void concatMapOfSameNameDisposedWhileTheNextWaitsKeepsTheLock() {
        List<LockHandle> kept = new CopyOnWriteArrayList<>();
        Disposable d = Flux.just("a", "a").concatMap(locks::acquire).subscribe(kept::add);
        assertThat(kept).hasSize(1); // the second waits for the first
        d.dispose();
        assertStillExclusive(kept.get(0));
    }

    @Test
    void fluxUsingWhenWithPublishOnResourceRunsTheBodyUnderTheLock() {
        LockHandle inBody = Flux.usingWhen(Flux.from(locks.acquire("a")).publishOn(Schedulers.parallel()),
                h -> Mono.fromCallable(() -> {
                    assertStillExclusive(h);
                    return h;
                }).subscribeOn(Schedulers.boundedElastic()),
                LockHandle::release).blockLast(Duration.ofSeconds(5));
        assertThat(inBody).isNotNull();
    }

    @Test
    void monoFromFluxAfterPublishOnKeepsTheLock() {
        LockHandle h = Mono.from(Flux.from(locks.acquire("a")).publishOn(Schedulers.parallel()))
                .block(Duration.ofSeconds(5));
        assertStillExclusive(h);
    }

    @Test
    void nestedAcquisitionTakenWithBlockFirstKeepsTheOuterLock() {
        List<LockHandle> both = locks.acquire("a")
                .flatMap(a -> locks.acquire("b").map(b -> List.of(a, b)))
                .flux().blockFirst(Duration.ofSeconds(5));
        assertStillExclusive(both.get(1));
        assertStillExclusive(both.get(0));
    }

    @Test
    void zipTakenWithNextKeepsBothLocks() {
        var both = Mono.zip(locks.acquire("a"), locks.acquire("b")).flux().next().block(Duration.ofSeconds(5));
        assertStillExclusive(both.getT2());
        assertStillExclusive(both.getT1());
    }

    @Test
    void flatMapWorkThenTakeOneKeepsTheLock() {
        LockHandle h = Flux.from(locks.acquire("a").flatMap(x -> Mono.delay(Duration.ofMillis(1)).thenReturn(x)))
                .take(1).blockLast(Duration.ofSeconds(5));
        assertStillExclusive(h);
    }

    @Test
    void withLockCancelledWhileTheGrantIsDeliveredWaitsForTheBodyCleanup() {
        int races = Integer.getInteger("reactivelocks.races", 20_000);
        int early = 0;
        int started = 0;
        try (dev.reactivelocks.testkit.contract.SpinRacer racer = new dev.reactivelocks.testkit.contract.SpinRacer()) {
            for (int i = 0; i < races; i++) {
                LockHandle blocker = locks.acquire("w").block(Duration.ofSeconds(5));
                AtomicReference<Runnable> cleanup = new AtomicReference<>();
                Disposable d = locks.withLock("w", LockOptions.exclusive(), h -> Mono.deferContextual(ctx -> {
                    cleanup.set(dev.reactivelocks.internal.CleanupBarrier.register(ctx)); // a child to reap
                    return Mono.never();
                })).subscribe();
                racer.race(() -> blocker.release().block(), d::dispose);
                Runnable settle = cleanup.get();
                if (settle != null) {
                    started++;
                    LockHandle intruder = locks.tryAcquire("w").block(Duration.ofSeconds(5));
                    if (intruder != null) { // the next holder overlaps the body still being cleaned up
                        early++;
                        intruder.release().block();
                    }
                    settle.run();
                }
                locks.acquire("w", LockOptions.exclusive().timeout(Duration.ofSeconds(5))).block().release().block();
            }
        }
        assertThat(early).as("lock released before the cleanup of %s started bodies settled", started).isZero();
    }

    /**
     * The same interleaving made deterministic: the disposing thread is preempted between usingWhen's check
     * "resource not provided yet" and its cancel of the acquisition (the pause stands for that preemption).
     */
    @Test
    void withLockCancelPreemptedAcrossTheDeliveryWaitsForTheBodyCleanup() throws Exception {
        LockHandle blocker = locks.acquire("w").block(Duration.ofSeconds(5));
        java.util.concurrent.CountDownLatch cancelling = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch delivered = new java.util.concurrent.CountDownLatch(1);
        AtomicReference<Runnable> cleanup = new AtomicReference<>();
        Mono<LockHandle> acquisition = locks.acquire("w").doOnCancel(() -> {
            cancelling.countDown();
            try {
                delivered.await(); // preempted here
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Mono<Object> scoped = dev.reactivelocks.internal.ScopedLocks.mono(locks, acquisition,
                h -> Mono.deferContextual(ctx -> {
                    cleanup.set(dev.reactivelocks.internal.CleanupBarrier.register(ctx)); // a child to reap
                    return Mono.never();
                }));
        Disposable d = scoped.subscribe();
        Thread canceller = new Thread(d::dispose, "canceller");
        canceller.start();
        cancelling.await();
        blocker.release().block(); // the grant is delivered while the cancel is on its way
        delivered.countDown();
        canceller.join(5_000);
        Runnable settle = cleanup.get();
        if (settle == null) { // the body never started: the grant must have been given back
            assertThat(locks.tryAcquire("w").block(Duration.ofSeconds(5))).as("grant given back").isNotNull();
            return;
        }
        LockHandle intruder = locks.tryAcquire("w").block(Duration.ofSeconds(5));
        assertThat(intruder).as("next holder while the cancelled body is still being cleaned up").isNull();
        settle.run();
        assertThat(locks.acquire("w", LockOptions.exclusive().timeout(Duration.ofSeconds(5)))
                .block(Duration.ofSeconds(5))).as("released once the cleanup settled").isNotNull();
    }

    @Test
    void distributedNextAfterPublishOnKeepsTheLock() {
        LockService distributed = dev.reactivelocks.distributed.DistributedLockService
                .builder(dev.reactivelocks.distributed.InMemoryLockBackend.create()).build();
        try {
            LockHandle h = distributed.acquire("a").publishOn(Schedulers.parallel()).flux().next()
                    .block(Duration.ofSeconds(5));
            assertThat(h.isHeld()).as("kept handle still held").isTrue();
            assertThat(distributed.tryAcquire("a").block(Duration.ofSeconds(5))).as("second holder").isNull();
        } finally {
            distributed.disposeLater().block(Duration.ofSeconds(30));
        }
    }

    @Test
    void fileNextAfterPublishOnKeepsTheLock(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        LockService files = dev.reactivelocks.file.FileLockService.create(
                dev.reactivelocks.file.FileLockConfig.builder().lockDirectory(dir).build());
        try {
            LockHandle h = files.acquire("a").publishOn(Schedulers.parallel()).flux().next()
                    .block(Duration.ofSeconds(5));
            assertThat(h.isHeld()).as("kept handle still held").isTrue();
            assertThat(files.tryAcquire("a").block(Duration.ofSeconds(5))).as("second holder").isNull();
        } finally {
            files.disposeLater().block(Duration.ofSeconds(30));
        }
    }

    @Test
    void stepVerifierConsumingTheHandleKeepsTheLock() {
        AtomicReference<LockHandle> kept = new AtomicReference<>();
        reactor.test.StepVerifier.create(locks.acquire("a").publishOn(Schedulers.parallel()))
                .consumeNextWith(kept::set).verifyComplete();
        assertStillExclusive(kept.get());
    }

    /** Leak: a mapper that throws after the grant; the operator cancels on the emitting thread (ignored). */
    @Test
    void mapperThrowingAfterTheGrantLeavesNoLockHeldByNobody() {
        Mono<Long> failing = locks.acquire("a").map(h -> {
            throw new IllegalStateException("parsing failed");
        });
        assertThat(failing.onErrorResume(e -> Mono.empty()).block(Duration.ofSeconds(5))).isNull();
        LockHandle next = locks.tryAcquire("a").block(Duration.ofSeconds(5));
        assertThat(next).as("'a' free again: nobody holds the handle the mapper failed on").isNotNull();
    }

    /** Leak: the flatMap lambda throws before returning its Mono; even doOnDiscard sees nothing. */
    @Test
    void flatMapLambdaThrowingAfterTheGrantLeavesNoLockHeldByNobody() {
        Mono<String> failing = locks.acquire("a")
                .flatMap(h -> {
                    if (h != null) {
                        throw new IllegalArgumentException("bad request");
                    }
                    return Mono.just("body").then(h.release()).thenReturn("done");
                })
                .doOnDiscard(LockHandle.class, h -> h.release().subscribe());
        assertThat(failing.onErrorResume(e -> Mono.empty()).block(Duration.ofSeconds(5))).isNull();
        LockHandle next = locks.tryAcquire("a").block(Duration.ofSeconds(5));
        assertThat(next).as("'a' free again: nobody holds the handle the lambda failed on").isNotNull();
    }

    /**
     * Reactive Streams 3.6 (with 1.6): once the handle was emitted and completed, the subscription counts as
     * cancelled and request(n) must be a no-op. request(0) now releases the lock and signals onError after
     * onComplete.
     */
    @Test
    void requestZeroAfterCompletionIsANoOp() {
        List<Object> signals = new CopyOnWriteArrayList<>();
        AtomicReference<org.reactivestreams.Subscription> subscription = new AtomicReference<>();
        locks.acquire("a").subscribe(new reactor.core.CoreSubscriber<LockHandle>() {
            @Override
            public void onSubscribe(org.reactivestreams.Subscription s) {
                subscription.set(s);
                s.request(1);
            }

            @Override
            public void onNext(LockHandle h) {
                signals.add(h);
            }

            @Override
            public void onError(Throwable e) {
                signals.add(e);
            }

            @Override
            public void onComplete() {
                signals.add("complete");
            }
        });
        assertThat(signals).hasSize(2);
        subscription.get().request(0);
        assertThat(signals).as("no signal after onComplete").hasSize(2);
        assertStillExclusive((LockHandle) signals.get(0));
    }

    /**
     * The grant trampoline defers every grant made on a thread that is inside a delivery until that delivery
     * returns: a subscriber that waits, inside onNext, for another (free) lock on a plain thread waits for
     * ever (here: until the block timeout).
     */
    @Test
    void blockingForAFreeLockInsideAnotherGrantsCallbackIsGranted() {
        LockHandle b = locks.acquire("a")
                .map(a -> locks.acquire("b").block(Duration.ofSeconds(2)))
                .block(Duration.ofSeconds(5));
        assertThat(b).isNotNull();
    }

    @Test
    void cacheKeepsTheLock() {
        Mono<LockHandle> cached = locks.acquire("a").publishOn(Schedulers.parallel()).cache();
        LockHandle h = cached.block(Duration.ofSeconds(5));
        cached.flux().blockFirst(Duration.ofSeconds(5));
        assertStillExclusive(h);
    }

    @Test
    void shareKeepsTheLock() {
        Mono<LockHandle> shared = locks.acquire("a").publishOn(Schedulers.parallel()).share();
        LockHandle h = shared.flux().blockFirst(Duration.ofSeconds(5));
        assertStillExclusive(h);
    }
}
