package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.testkit.contract.LockServiceContract;
import dev.reactivelocks.testkit.contract.RecordingSubscriber;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;
import reactor.test.util.RaceTestUtils;

class InProcessLockServiceTest extends LockServiceContract {

    @Override
    protected LockService createService() {
        return LockService.inProcess();
    }

    private InProcessLockService service() {
        return (InProcessLockService) locks;
    }

    @Test
    void timeoutFiresAtTheDeadlineInVirtualTime() {
        InProcessLockService vt = LockService.builder().build();
        LockHandle holder = vt.acquire("orders").block();
        StepVerifier.withVirtualTime(() -> vt.acquire("orders", LockOptions.exclusive().timeout(Duration.ofMillis(250))))
                .expectSubscription()
                .expectNoEvent(Duration.ofMillis(249))
                .thenAwait(Duration.ofMillis(1))
                .expectErrorSatisfies(e -> assertThat(e)
                        .isInstanceOf(LockTimeoutException.class)
                        .hasMessage("Lock 'orders' (EXCLUSIVE) not acquired within 250ms")
                        .satisfies(t -> {
                            LockTimeoutException lte = (LockTimeoutException) t;
                            assertThat(lte.lockName()).isEqualTo("orders");
                            assertThat(lte.mode()).isEqualTo(LockMode.EXCLUSIVE);
                            assertThat(lte.timeout()).isEqualTo(Duration.ofMillis(250));
                        }))
                .verify(Duration.ofSeconds(5));
        assertThat(vt.stats("orders")).get().satisfies(s -> {
            assertThat(s.pending()).isZero();
            assertThat(s.holders()).isEqualTo(1);
        });
        holder.release().block();
        assertThat(vt.size()).isZero();
    }

    @Test
    void grantBeforeTheDeadlineCancelsTheTimeout() {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        InProcessLockService vt = LockService.builder().timer(time).build();
        LockHandle holder = vt.acquire("orders").block();
        AtomicReference<Object> outcome = new AtomicReference<>();
        vt.acquire("orders", LockOptions.exclusive().timeout(Duration.ofSeconds(1)))
                .subscribe(outcome::set, outcome::set);
        time.advanceTimeBy(Duration.ofMillis(999));
        holder.release().block();
        assertThat(outcome.get()).isInstanceOf(LockHandle.class);
        time.advanceTimeBy(Duration.ofSeconds(10));
        assertThat(outcome.get()).isInstanceOf(LockHandle.class);
        assertThat(((LockHandle) outcome.get()).isHeld()).isTrue();
    }

    @Test
    void maxPendingRejectsAtOnceWithLockUnavailable() {
        InProcessLockService bounded = LockService.builder().maxPending(2).build();
        LockHandle holder = bounded.acquire("q").block();
        Disposable w1 = bounded.acquire("q").subscribe();
        Disposable w2 = bounded.acquire("q").subscribe();
        StepVerifier.create(bounded.acquire("q"))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockUnavailableException.class)
                        .hasMessage("Lock 'q' (EXCLUSIVE) not acquired: 2 acquisitions already pending (maxPending)"))
                .verify(Duration.ofSeconds(5));
        assertThat(bounded.tryAcquire("other").block()).as("limit is per name").isNotNull();
        w1.dispose();
        StepVerifier.create(bounded.acquire("q").timeout(Duration.ofMillis(1), Mono.empty()))
                .expectComplete()
                .verify(Duration.ofSeconds(5));
        w2.dispose();
        holder.release().block();
    }

    @Test
    void invalidBuilderValuesAreRejectedWithTheirValue() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LockService.builder().maxPending(-1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxPending must be >= 0, was -1");
    }

    @Test
    void entriesDisappearAfterAMillionDistinctNames() {
        InProcessLockService svc = service();
        for (int i = 0; i < 1_000_000; i++) {
            svc.acquire("name-" + i).subscribe(h -> h.release().subscribe());
        }
        assertThat(svc.size()).isZero();
    }

    /**
     * Tokens are counted per name, most of them on the name's fast path: a name whose kept entry is dropped
     * (more idle names than are kept) and made again still gets a larger token than its earlier grants,
     * while other names are granted meanwhile.
     */
    @Test
    void fencingTokensKeepIncreasingWhenAnEntryIsRemovedAndMadeAgain() {
        InProcessLockService svc = service();
        long last = 0;
        for (int i = 0; i < 100; i++) { // the first grant makes the entry, the others take the fast path
            LockHandle h = svc.acquire("counted").block();
            assertThat(h.fencingToken()).isGreaterThan(last);
            last = h.fencingToken();
            h.release().block();
        }
        for (int i = 0; i < 3 * DefaultInProcessLockService.RETAINED_IDLE; i++) {
            svc.acquire("other-" + i).flatMap(LockHandle::release).block(); // fills the budget: entries swept
        }
        LockHandle again = svc.acquire("counted").block();
        assertThat(again.fencingToken()).isGreaterThan(last);
        again.release().block();
        assertThat(svc.size()).isZero();
    }

    @Test
    void entryLivesExactlyWhileHoldersOrWaitersExist() {
        InProcessLockService svc = service();
        LockHandle holder = svc.acquire("e").block();
        Disposable waiter = svc.acquire("e").subscribe();
        assertThat(svc.stats("e")).get().extracting(LockStats::holders, LockStats::pending).containsExactly(1, 1);
        waiter.dispose();
        assertThat(svc.stats("e")).get().extracting(LockStats::pending).isEqualTo(0);
        holder.release().block();
        assertThat(svc.stats("e")).isEmpty();
        assertThat(svc.size()).isZero();
    }

    @Test
    void grantsAreSignalledOnTheReleasingThread() {
        Scheduler releaser = Schedulers.newSingle("releaser");
        try {
            LockHandle holder = locks.acquire("thread").block();
            AtomicReference<String> grantThread = new AtomicReference<>();
            locks.acquire("thread").subscribe(h -> grantThread.set(Thread.currentThread().getName()));
            Mono.defer(holder::release).subscribeOn(releaser).block(WAIT);
            assertThat(grantThread.get()).startsWith("releaser");
        } finally {
            releaser.dispose();
        }
    }

    @Test
    void longChainsOfSynchronousHandOffsDoNotGrowTheStack() {
        LockHandle holder = locks.acquire("chain").block();
        AtomicInteger ran = new AtomicInteger();
        List<Disposable> waiters = new ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            waiters.add(locks.withLock("chain", Mono.fromRunnable(ran::incrementAndGet)).subscribe());
        }
        holder.release().block();
        assertThat(ran.get()).isEqualTo(100_000);
        assertThat(service().size()).isZero();
    }

    @Test
    void sharedModeAdmitsManyHoldersAndCountsThem() {
        List<LockHandle> readers = Flux.range(0, 5).flatMap(i -> locks.acquire("many", LockOptions.shared()))
                .collectList().block();
        assertThat(service().stats("many")).get().satisfies(s -> {
            assertThat(s.holders()).isEqualTo(5);
            assertThat(s.exclusive()).isFalse();
        });
        readers.forEach(h -> h.release().block());
        assertThat(service().size()).isZero();
    }

    @Test
    void cancelRacingGrantEitherDeliversOrReleases_raceLoop() {
        for (int i = 0; i < 10_000; i++) {
            raceOnce(i);
        }
        assertThat(service().size()).isZero();
    }

    @Tag("loops")
    @Test
    void cancelRacingGrantEitherDeliversOrReleases_loop() {
        for (int i = 0; i < 1_000_000; i++) {
            raceOnce(i);
        }
        assertThat(service().size()).isZero();
    }

    private void raceOnce(int i) {
        LockHandle holder = locks.acquire("r").block();
        RecordingSubscriber waiter = locks.acquire("r").subscribeWith(new RecordingSubscriber());
        RaceTestUtils.race(waiter::dispose, () -> holder.release().subscribe());
        LockHandle h = waiter.handle();
        if (h != null) {
            assertThat(h.isHeld()).isTrue();
            h.release().block();
        }
        assertThat(service().stats("r")).as("iteration %d", i).isEmpty();
    }

    @Test
    void timeoutRacingGrantEitherDeliversOrErrors_raceLoop() {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        InProcessLockService svc = LockService.builder().timer(time).build();
        for (int i = 0; i < 5_000; i++) {
            LockHandle holder = svc.acquire("t").block();
            RecordingSubscriber waiter = svc.acquire("t", LockOptions.exclusive().timeout(Duration.ofMillis(5)))
                    .subscribeWith(new RecordingSubscriber());
            RaceTestUtils.race(() -> time.advanceTimeBy(Duration.ofMillis(5)), () -> holder.release().subscribe());
            Object o = waiter.outcome();
            if (o instanceof LockHandle h) {
                h.release().block();
            } else {
                assertThat(o).isInstanceOf(LockTimeoutException.class);
            }
            assertThat(svc.size()).as("iteration %d", i).isZero();
        }
    }

    @Test
    void hugeTimeoutsAreTreatedAsWaitingForever() {
        LockHandle holder = locks.acquire("huge").block();
        RecordingSubscriber waiter = locks.acquire("huge", LockOptions.exclusive().timeout(Duration.ofSeconds(Long.MAX_VALUE)))
                .subscribeWith(new RecordingSubscriber());
        assertThat(waiter.outcome()).isNull();
        holder.release().block();
        assertThat(waiter.handle()).isNotNull();
        waiter.handle().release().block();
    }

    @Test
    void toStringsDescribeState() {
        LockHandle h = locks.acquire("desc").block();
        assertThat(h.toString()).isEqualTo("LockHandle{name='desc', mode=EXCLUSIVE, fencingToken=" + h.fencingToken()
                + ", held=true}");
        assertThat(LockOptions.shared().timeout(Duration.ofSeconds(1)).toString())
                .isEqualTo("LockOptions{SHARED, timeout=PT1S}");
        h.release().block();
    }
}
