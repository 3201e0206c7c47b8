package dev.reactivelocks.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import dev.reactivelocks.testkit.contract.SpinRacer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;

/**
 * The barrier of a {@code withLock} body whose context is made when first asked for, with registrations on
 * threads other than the one that made it, racing the scope's cancel, and after the scope ended.
 */
class CleanupBarrierRaceTest {

    private static final int RACES = Integer.getInteger("reactivelocks.races", 6_000) / 3;
    private static final Duration T = Duration.ofSeconds(5);

    private final LockService locks = LockService.inProcess();
    private final SpinRacer racer = new SpinRacer();
    /** For two first asks, a window of the few hundred nanoseconds it takes to make the context. */
    private final SpinRacer tight = new SpinRacer(32);

    @AfterEach
    void tearDown() {
        racer.close();
        tight.close();
        locks.dispose();
        assertThat(CleanupBarrier.unsettledScopes()).as("barriers left unsettled").isZero();
    }

    /** A body that never ends by itself; its subscriber is kept for the test to ask for its context. */
    private Disposable scope(String name, AtomicReference<CoreSubscriber<? super Integer>> body, boolean askNow) {
        return locks.withLock(name, Mono.<Integer>from(s -> {
            CoreSubscriber<? super Integer> b = (CoreSubscriber<? super Integer>) s;
            if (askNow) {
                b.currentContext(); // made on the granting thread
            }
            body.set(b);
            s.onSubscribe(Operators.emptySubscription());
        })).subscribe();
    }

    private boolean held(String name) {
        LockHandle probe = locks.tryAcquire(name).block(T);
        if (probe == null) {
            return true;
        }
        probe.release().block(T);
        return false;
    }

    /**
     * Cleanup registered on one thread, from the context another thread made (or from its first ask), races
     * the scope's cancel on another: whichever comes first, once the cleanup settled the name is free and no
     * barrier is left in the table; a registration that came before the release held the name until then.
     */
    @Test
    void registrationOnAnotherThreadRacingTheCancel() {
        int waited = 0;
        for (int i = 0; i < RACES; i++) {
            String name = "reg-" + i;
            AtomicReference<CoreSubscriber<? super Integer>> body = new AtomicReference<>();
            Disposable scope = scope(name, body, i % 2 == 0);
            AtomicReference<Runnable> settle = new AtomicReference<>();
            racer.race(scope::dispose, () -> settle.set(CleanupBarrier.register(body.get().currentContext())));
            if (held(name)) {
                waited++;
            }
            settle.get().run();
            assertThat(held(name)).as("held after the cleanup settled").isFalse();
            assertThat(CleanupBarrier.unsettledScopes()).isZero();
        }
        System.out.println("registration vs cancel: the release waited in " + waited + " of " + RACES);
    }

    /**
     * Two threads asking for the body's context for the first time at once each register cleanup: the cancelled
     * scope releases only once both settled (two barriers under one handle would let it go after one).
     */
    @Test
    void twoFirstAsksRegisteringAtOnceAreBothWaitedFor() {
        for (int i = 0; i < 3 * RACES; i++) {
            String name = "two-" + i;
            AtomicReference<CoreSubscriber<? super Integer>> body = new AtomicReference<>();
            Disposable scope = scope(name, body, false);
            AtomicReference<Runnable> first = new AtomicReference<>();
            AtomicReference<Runnable> second = new AtomicReference<>();
            tight.race(() -> first.set(CleanupBarrier.register(body.get().currentContext())),
                    () -> second.set(CleanupBarrier.register(body.get().currentContext())));
            scope.dispose();
            Runnable a = i % 2 == 0 ? first.get() : second.get();
            Runnable b = a == first.get() ? second.get() : first.get();
            a.run();
            assertThat(held(name)).as("released after one of two registrations settled").isTrue();
            b.run();
            assertThat(held(name)).as("held after both settled").isFalse();
        }
    }

    /**
     * A body asked for its context only after its scope ended (a late operator): the cleanup it registers
     * holds no later scope of the same name, and leaves nothing in the table once settled.
     */
    @Test
    void contextFirstAskedAfterTheScopeEndedHoldsNoLaterScope() {
        AtomicReference<CoreSubscriber<? super Integer>> body = new AtomicReference<>();
        Disposable ended = scope("late", body, false);
        body.get().onComplete();
        assertThat(ended.isDisposed()).isTrue();
        assertThat(held("late")).isFalse();
        Runnable stale = CleanupBarrier.register(body.get().currentContext());
        assertThat(CleanupBarrier.unsettledScopes()).isEqualTo(1);

        AtomicReference<CoreSubscriber<? super Integer>> next = new AtomicReference<>();
        Disposable later = scope("late", next, false);
        assertThat(held("late")).isTrue();
        later.dispose();
        assertThat(held("late")).as("a later scope waited for a stale registration").isFalse();

        stale.run();
        assertThat(CleanupBarrier.unsettledScopes()).isZero();
    }
}
