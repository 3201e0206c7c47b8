package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.internal.CleanupBarrier;
import dev.reactivelocks.internal.DroppedHandles;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.util.context.Context;

/** {@link InProcessScope}: the deterministic clauses of the {@code withLock} contract, signal by signal. */
class InProcessScopeSignalsTest {

    private static final Duration T = Duration.ofSeconds(5);
    private final InProcessLockService locks = LockService.builder().build();

    @AfterEach
    void tearDown() {
        locks.dispose();
    }

    private boolean held(String name) {
        return locks.stats(name).isPresent();
    }

    @Test
    void valueAndCompletionAreSignalledAfterTheRelease() {
        AtomicBoolean heldAtValue = new AtomicBoolean(true);
        AtomicBoolean heldAtComplete = new AtomicBoolean(true);
        StepVerifier.create(locks.withLock("v", Mono.just(1))
                        .doOnNext(v -> heldAtValue.set(held("v")))
                        .doOnSuccess(v -> heldAtComplete.set(held("v"))))
                .expectNext(1).expectComplete().verify(T);
        assertThat(heldAtValue).isFalse();
        assertThat(heldAtComplete).isFalse();
    }

    @Test
    void errorIsSignalledAfterTheRelease() {
        AtomicBoolean heldAtError = new AtomicBoolean(true);
        StepVerifier.create(locks.withLock("e", Mono.<Integer>error(new IllegalStateException("x")))
                        .doOnError(e -> heldAtError.set(held("e"))))
                .expectErrorMessage("x").verify(T);
        assertThat(heldAtError).isFalse();
    }

    @Test
    void asynchronousBodyIsSignalledAfterTheRelease() {
        AtomicBoolean heldInBody = new AtomicBoolean();
        AtomicBoolean heldAtValue = new AtomicBoolean(true);
        StepVerifier.create(locks.withLock("a", Mono.delay(Duration.ofMillis(20)).doOnNext(x -> heldInBody.set(held("a"))))
                        .doOnNext(v -> heldAtValue.set(held("a"))))
                .expectNext(0L).expectComplete().verify(T);
        assertThat(heldInBody).isTrue();
        assertThat(heldAtValue).isFalse();
    }

    @Test
    void emptyAndCallableBodies() {
        StepVerifier.create(locks.withLock("m", Mono.<Integer>empty())).expectComplete().verify(T);
        StepVerifier.create(locks.withLock("m", Mono.fromCallable(() -> held("m")))).expectNext(true).expectComplete().verify(T);
        assertThat(held("m")).isFalse();
    }

    @Test
    void reentryInsideTheBodyFailsAndReleases() {
        StepVerifier.create(locks.withLock("r", locks.withLock("r", Mono.just(1))))
                .expectError(IllegalLockStateException.class).verify(T);
        StepVerifier.create(locks.withLock("r", LockOptions.exclusive(), h -> locks.acquire("r")))
                .expectError(IllegalLockStateException.class).verify(T);
        assertThat(held("r")).isFalse();
    }

    @Test
    void subscriberContextReachesTheBody() {
        StepVerifier.create(locks.withLock("c", Mono.deferContextual(ctx -> Mono.just(ctx.<String>get("k"))))
                        .contextWrite(Context.of("k", "v")))
                .expectNext("v").expectComplete().verify(T);
    }

    @Test
    void bodyThrowingFromSubscribeOrFromTheFunctionOrReturningNullFailsAndReleases() {
        Mono<Integer> throwing = new Mono<>() {
            @Override
            public void subscribe(CoreSubscriber<? super Integer> actual) {
                throw new IllegalStateException("in subscribe");
            }
        };
        StepVerifier.create(locks.withLock("t", throwing)).expectErrorMessage("in subscribe").verify(T);
        StepVerifier.create(locks.<Integer>withLock("t", LockOptions.exclusive(), h -> {
            throw new IllegalStateException("in function");
        })).expectErrorMessage("in function").verify(T);
        StepVerifier.create(locks.<Integer>withLock("t", LockOptions.exclusive(), h -> null))
                .expectError(NullPointerException.class).verify(T);
        assertThat(held("t")).isFalse();
    }

    @Test
    void bodySignallingTwiceSignalsOnce() {
        Mono<Integer> twice = new Mono<>() {
            @Override
            public void subscribe(CoreSubscriber<? super Integer> actual) {
                actual.onSubscribe(new Subscription() {
                    @Override public void request(long n) { }
                    @Override public void cancel() { }
                });
                actual.onNext(1);
                actual.onNext(2);
                actual.onComplete();
                actual.onComplete();
                actual.onError(new IllegalStateException("late"));
            }
        };
        try {
            StepVerifier.create(locks.withLock("2", twice)).expectNext(1).expectComplete()
                    .verifyThenAssertThat(T).hasDroppedElements().hasDroppedErrors();
        } finally {
            DroppedHandles.reinstall(); // the verifier's capture resets Reactor's dropped-element hooks
        }
        assertThat(held("2")).isFalse();
    }

    @Test
    void backpressureHoldsTheValueUntilRequested() {
        StepVerifier.create(locks.withLock("b", Mono.just(1)), 0)
                .expectSubscription()
                .then(() -> assertThat(held("b")).isTrue())
                .thenRequest(1)
                .expectNext(1).expectComplete().verify(T);
        assertThat(held("b")).isFalse();
    }

    @Test
    void cancelWhileTheBodyRunsReleasesAfterItsCleanupSettled() {
        AtomicReference<Runnable> settle = new AtomicReference<>();
        Disposable d = locks.withLock("k", Mono.deferContextual(ctx -> {
            settle.set(CleanupBarrier.register(ctx));
            return Mono.never();
        })).subscribe();
        assertThat(held("k")).isTrue();
        d.dispose();
        assertThat(held("k")).as("released before the body's cleanup settled").isTrue();
        settle.get().run();
        assertThat(held("k")).isFalse();
    }

    @Test
    void cancelBeforeTheGrantNeverRunsTheBody() {
        LockHandle holder = locks.acquire("q").block(T);
        AtomicInteger ran = new AtomicInteger();
        Disposable d = locks.withLock("q", Mono.fromRunnable(ran::incrementAndGet)).subscribe();
        d.dispose();
        holder.release().block(T);
        assertThat(ran).hasValue(0);
        assertThat(held("q")).isFalse();
    }

    @Test
    void timeoutAndClosedServiceAreSignalled() {
        LockHandle holder = locks.acquire("o").block(T);
        StepVerifier.create(locks.withLock("o", LockOptions.exclusive().timeout(Duration.ofMillis(20)), Mono.just(1)))
                .expectError(LockTimeoutException.class).verify(T);
        holder.release().block(T);
        assertThat(held("o")).isFalse();
    }
}
