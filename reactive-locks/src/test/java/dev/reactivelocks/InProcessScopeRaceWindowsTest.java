package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.internal.ScopedLocks;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * {@link InProcessScope} in the windows its state machine decides: a body that ends on another thread while the
 * granting thread returns from the body's subscribe, and a body function that throws a fatal error. The
 * {@code oldPath} variants run the same scenario through {@code ScopedLocks.mono} (the {@code usingWhen} form
 * the other services use) as a control.
 */
class InProcessScopeRaceWindowsTest {

    static final int RACES = Integer.getInteger("reactivelocks.races", 6_000);

    private final InProcessLockService locks = LockService.builder().build();

    @AfterEach
    void tearDown() {
        locks.dispose();
    }

    private <T> Mono<T> newPath(String name, Function<? super LockHandle, ? extends Mono<T>> body) {
        return locks.withLock(name, LockOptions.exclusive(), body);
    }

    private <T> Mono<T> oldPath(String name, Function<? super LockHandle, ? extends Mono<T>> body) {
        return ScopedLocks.mono(locks, locks.acquire(name), body);
    }

    // ------------------------------------------------------------------------------------------------
    // F1: a body that terminates on another thread while the granting thread returns from its subscribe
    // ------------------------------------------------------------------------------------------------

    // An unaligned SpinRacer version (subscribe on one thread, tryEmitValue on the other, 6000 rounds, spins of
    // 64/256/500) never hit the window below: the racing read-then-CAS has to straddle the granting thread's
    // CAS, a few tens of nanoseconds. The aligned race releases the racing thread from inside the body's subscribe.

    interface Scope {
        Mono<Integer> scope(String name, Function<? super LockHandle, ? extends Mono<Integer>> body);
    }

    /**
     * A body terminating on another thread as the granting thread leaves its subscribe: the body's subscribe
     * releases the racing thread by a spinning flag right after it subscribed its source, then spins a random 0-{@code maxSpin} iterations before it returns (a body whose
     * subscribe does a little work after subscribing its source: starting a timer, logging); the racing thread
     * spins a random 0-40 iterations and completes the source. The scope's terminal signal must arrive and the
     * name must be free once both returned.
     */
    @Test
    void asyncBodyCompletingWhileTheGrantingThreadLeavesSubscribeIsSignalledAndReleased() {
        alignedAsyncTermination("aligned-new", false, false);
    }

    /** The same, the body failing: its error must reach the scope's subscriber, and the name be free. */
    @Test
    void asyncBodyFailingWhileTheGrantingThreadLeavesSubscribeIsSignalledAndReleased() {
        alignedAsyncTermination("aligned-error-new", false, true);
    }

    @Test
    void oldPathAsyncBodyCompletingWhileTheGrantingThreadLeavesSubscribeIsSignalledAndReleased() {
        alignedAsyncTermination("aligned-old", true, false);
    }

    private volatile int go;
    private volatile int emitted;
    private volatile boolean stop;
    private volatile Sinks.@org.jspecify.annotations.Nullable One<Integer> current;

    private static void spin(int max) {
        int n = java.util.concurrent.ThreadLocalRandom.current().nextInt(max + 1);
        for (int i = 0; i < n; i++) {
            Thread.onSpinWait();
        }
    }

    private void alignedAsyncTermination(String prefix, boolean old, boolean fail) {
        Thread helper = new Thread(() -> {
            int seen = 0;
            while (!stop) {
                int g = go;
                if (g == seen) {
                    Thread.onSpinWait();
                    continue;
                }
                seen = g;
                spin(40);
                if (fail) {
                    current.tryEmitError(new IllegalStateException("body failed"));
                } else {
                    current.tryEmitValue(1);
                }
                emitted = g;
            }
        }, "aligned-racer");
        helper.setDaemon(true);
        helper.start();
        int leaked = 0;
        int silent = 0;
        int onHelper = 0;
        AtomicInteger droppedErrors = new AtomicInteger();
        reactor.core.publisher.Hooks.onErrorDropped(e -> droppedErrors.incrementAndGet());
        try {
            for (int i = 1; i <= RACES; i++) {
                int round = i;
                String name = prefix + "-" + i;
                Sinks.One<Integer> result = Sinks.one();
                current = result;
                Mono<Integer> body = new Mono<>() {
                    @Override
                    public void subscribe(CoreSubscriber<? super Integer> actual) {
                        result.asMono().subscribe(actual);
                        go = round;   // releases the racing thread
                        spin(round % 2 == 0 ? 64 : 256);
                    }
                };
                AtomicInteger terminal = new AtomicInteger();
                AtomicReference<Thread> signalledOn = new AtomicReference<>();
                Mono<Integer> scope = old ? oldPath(name, h -> body) : newPath(name, h -> body);
                AtomicReference<Subscription> upstream = new AtomicReference<>();
                scope.subscribe(new CoreSubscriber<Integer>() {
                    @Override public void onSubscribe(Subscription s) { upstream.set(s); s.request(Long.MAX_VALUE); }
                    @Override public void onNext(Integer v) { signalledOn.set(Thread.currentThread()); }
                    @Override public void onError(Throwable t) { terminal.incrementAndGet(); }
                    @Override public void onComplete() { terminal.incrementAndGet(); }
                });
                while (emitted != round) {
                    Thread.onSpinWait();
                }
                if (terminal.get() == 0) {
                    if (silent++ == 0) {
                    }
                }
                if (signalledOn.get() == helper) {
                    onHelper++;
                }
                leaked += FreeNames.leftHeld(locks, name, Duration.ZERO);
            }
        } finally {
            stop = true;
            reactor.core.publisher.Hooks.resetOnErrorDropped();
        }
        assertThat(silent).as("scopes whose body completed but which never signalled").isZero();
        assertThat(leaked).as("names held by nobody").isZero();
    }

    // ------------------------------------------------------------------------------------------------
    // F2: a fatal (JVM) error thrown by the body function
    // ------------------------------------------------------------------------------------------------

    /** A body function that throws a LinkageError (NoClassDefFoundError in a real deployment). */
    @Test
    void bodyFunctionThrowingALinkageErrorLeavesNoNameHeldByNobody() {
        checkFatalBody("fatal-new", this::newPath);
    }

    @Test
    void oldPathBodyFunctionThrowingALinkageErrorLeavesNoNameHeldByNobody() {
        checkFatalBody("fatal-old", this::oldPath);
    }

    private void checkFatalBody(String name, Scope scope) {
        AtomicReference<Throwable> signalled = new AtomicReference<>();
        Throwable thrown = null;
        try {
            scope.scope(name, h -> {
                throw new NoClassDefFoundError("com/example/Missing");
            }).subscribe(v -> { }, signalled::set);
        } catch (Throwable t) {
            thrown = t;
        }
        assertThat(FreeNames.leftHeld(locks, name, Duration.ZERO))
                .as("'%s' held by nobody (thrown=%s, signalled=%s)", name, thrown,
                        signalled.get()).isZero();
    }

    /** The scope's state word, read reflectively (diagnostics only). */
    private static String describe(Subscription s) {
        try {
            java.lang.reflect.Field f = s.getClass().getDeclaredField("state");
            f.setAccessible(true);
            int state = f.getInt(s);
            String[] names = {"ACQUIRING", "SUBSCRIBING", "RUNNING", "DONE", "CANCELLED", "CANCEL_PENDING"};
            return s.getClass().getSimpleName() + ".state=" + (state < names.length ? names[state] : state);
        } catch (ReflectiveOperationException e) {
            return s.getClass().getName() + " (" + e + ")";
        }
    }
}
