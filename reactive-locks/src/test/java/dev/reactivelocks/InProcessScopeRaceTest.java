package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.testkit.contract.SpinRacer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import reactor.core.CoreSubscriber;
import reactor.util.context.Context;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The in-process {@code withLock} ({@link InProcessScope}) against its subscriber giving up: spin-timed races on
 * distinct names, each counting the names left held by nobody once everything settled, bodies that ran
 * without the lock, and values signalled after a cancel.
 */
class InProcessScopeRaceTest {

    static final int RACES = Integer.getInteger("reactivelocks.races", 10_000);
    private static final Duration SETTLE = Duration.ofSeconds(5);

    private final SpinRacer racer = new SpinRacer();
    private final InProcessLockService locks = LockService.builder().build();

    @AfterEach
    void tearDown() {
        racer.close();
        locks.dispose();
    }

    /** The scope waits behind a holder; its cancel races the holder's release, which grants it. */
    @Test
    void cancelRacingTheGrantOfAQueuedScopeLeavesNoNameHeldByNobody() {
        int leaked = 0;
        AtomicInteger bodiesRun = new AtomicInteger();
        AtomicInteger unlocked = new AtomicInteger();
        AtomicInteger values = new AtomicInteger();
        for (int i = 0; i < RACES; i++) {
            String name = "queued-" + i;
            LockHandle holder = locks.acquire(name).block(SETTLE);
            Mono<Integer> body = Mono.fromCallable(() -> {
                bodiesRun.incrementAndGet();
                if (locks.inspect(name).blockOptional(SETTLE).isEmpty()) {
                    unlocked.incrementAndGet(); // the body ran without the lock
                }
                return 1;
            });
            Disposable scope = locks.withLock(name, body).subscribe(v -> values.incrementAndGet());
            racer.race(scope::dispose, () -> holder.release().subscribe());
            leaked += FreeNames.leftHeld(locks, name, SETTLE);
        }
        assertThat(unlocked).as("bodies that ran without the lock").hasValue(0);
        System.out.println("queued scope vs cancel: " + bodiesRun + " of " + RACES + " bodies ran, " + values
                + " values");
        assertThat(leaked).as("names held by nobody").isZero();
    }

    /** The body runs; its completion on one thread races the scope's cancel on another. */
    @Test
    void cancelRacingTheBodysCompletionLeavesNoNameHeldByNobody() {
        int leaked = 0;
        AtomicInteger values = new AtomicInteger();
        for (int i = 0; i < RACES; i++) {
            String name = "running-" + i;
            Sinks.One<Integer> result = Sinks.one();
            Disposable scope = locks.withLock(name, result.asMono()).subscribe(v -> values.incrementAndGet());
            racer.race(scope::dispose, () -> result.tryEmitValue(1));
            leaked += FreeNames.leftHeld(locks, name, SETTLE);
        }
        System.out.println("running scope vs cancel: " + values + " of " + RACES + " values delivered");
        assertThat(leaked).as("names held by nobody").isZero();
    }

    /**
     * The body's context is made when first asked for: two threads asking at once (the operators of a body
     * running on two threads) get one instance, so the re-entry record and the cleanup barrier are the same
     * for both, and an acquisition of the held name from either thread is refused as re-entry.
     */
    @Test
    void theBodysContextIsOneInstanceWhenTwoThreadsAskForItAtOnce() {
        int split = 0;
        int reentries = 0;
        for (int i = 0; i < RACES; i++) {
            String name = "context-" + i;
            AtomicReference<CoreSubscriber<? super Integer>> body = new AtomicReference<>();
            Disposable scope = locks.withLock(name, Mono.<Integer>from(s -> {
                body.set((CoreSubscriber<? super Integer>) s);
                s.onSubscribe(reactor.core.publisher.Operators.emptySubscription());
            })).subscribe();
            CoreSubscriber<? super Integer> b = body.get();
            AtomicReference<Context> first = new AtomicReference<>();
            AtomicReference<Context> second = new AtomicReference<>();
            racer.race(() -> first.set(b.currentContext()), () -> second.set(b.currentContext()));
            if (first.get() != second.get()) {
                split++;
            }
            for (Context c : new Context[] {first.get(), second.get()}) {
                Throwable refused = locks.acquire(name).contextWrite(c).then(Mono.<Throwable>empty())
                        .onErrorResume(Mono::just).block(SETTLE);
                if (refused instanceof IllegalLockStateException) {
                    reentries++;
                }
            }
            b.onComplete();
            scope.dispose();
            assertThat(FreeNames.leftHeld(locks, name, SETTLE)).as("held by nobody").isZero();
        }
        assertThat(split).as("races that made two contexts").isZero();
        assertThat(reentries).as("re-entries refused").isEqualTo(2 * RACES);
    }
}
