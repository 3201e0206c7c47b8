package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.internal.ScopedLocks;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import reactor.util.context.Context;

/** {@link InProcessScope}: the body's {@code Context}, which the scope makes when the body first asks for it. */
class InProcessScopeContextTest {

    private static final Duration T = Duration.ofSeconds(5);
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

    interface Scope {
        Mono<String> scope(String name, Function<? super LockHandle, ? extends Mono<String>> body);
    }

    /**
     * The body's context is the context of the subscription that subscribed it, whenever the body reads it. A
     * scope shared through {@code cache()} is subscribed once, by the cache, whose context is that of whichever
     * subscriber is first at the moment it is asked ({@code Operators.multiSubscribersContext}): the body that
     * the first subscriber (tenant A) started, and that reads its context only after that subscriber left and
     * another (tenant B) came, must still see tenant A, as the {@code usingWhen} form's body does.
     */
    @Test
    void bodyReadingItsContextLateSeesTheSubscriptionThatStartedIt() throws Exception {
        assertThat(tenantSeenByACachedBody(this::newPath, "cached-new")).isEqualTo("A");
    }

    @Test
    void oldPathBodyReadingItsContextLateSeesTheSubscriptionThatStartedIt() throws Exception {
        assertThat(tenantSeenByACachedBody(this::oldPath, "cached-old")).isEqualTo("A");
    }

    private String tenantSeenByACachedBody(Scope scope, String name) throws Exception {
        Sinks.One<String> go = Sinks.one();
        Mono<String> shared = scope.scope(name, h -> go.asMono()
                .then(Mono.deferContextual(ctx -> Mono.just(ctx.getOrDefault("tenant", "none"))))).cache();
        Disposable a = shared.contextWrite(Context.of("tenant", "A")).subscribe();
        assertThat(locks.stats(name)).as("the body runs").isPresent();
        a.dispose(); // tenant A leaves; the cache keeps its source running
        CompletableFuture<String> b = shared.contextWrite(Context.of("tenant", "B")).toFuture();
        go.tryEmitValue("go");
        String seen = b.get(T.toSeconds(), TimeUnit.SECONDS);
        assertThat(FreeNames.leftHeld(locks, name, T)).isZero();
        return seen;
    }

    /**
     * The signals the body's subscriber drops or discards (a second value, a value before an error, a second
     * error) reach the hooks of the scope's subscriber's context, through the body's context made for them.
     */
    @Test
    void droppedAndDiscardedSignalsOfTheBodyReachTheSubscribersContextHooks() {
        List<Object> droppedValues = new CopyOnWriteArrayList<>();
        List<Object> discarded = new CopyOnWriteArrayList<>();
        List<Throwable> droppedErrors = new CopyOnWriteArrayList<>();
        Mono<Integer> misbehaving = new Mono<>() {
            @Override
            public void subscribe(CoreSubscriber<? super Integer> actual) {
                actual.onSubscribe(Operators.emptySubscription());
                actual.onNext(1);
                actual.onNext(2);
                actual.onError(new IllegalStateException("first"));
                actual.onError(new IllegalStateException("late"));
            }
        };
        Context hooks = Context.of("reactor.onNextDropped.local", (Consumer<Object>) droppedValues::add,
                "reactor.onErrorDropped.local", (Consumer<Throwable>) droppedErrors::add,
                "reactor.onDiscard.local", (Consumer<Object>) discarded::add);
        StepVerifier.create(locks.withLock("hooks", misbehaving).contextWrite(hooks))
                .expectErrorMessage("first").verify(T);
        assertThat(droppedValues).containsExactly(2);
        assertThat(discarded).containsExactly(1);
        assertThat(droppedErrors).extracting(Throwable::getMessage).containsExactly("late");
        assertThat(locks.stats("hooks")).isEmpty();
    }

    /**
     * A scope inside the body of another sees the outer handle: re-entering either name from the inner body
     * is refused, and the context written above the inner body keeps both records.
     */
    @Test
    void nestedScopesRefuseReentryOfEitherName() {
        StepVerifier.create(locks.withLock("outer", locks.withLock("inner", locks.acquire("outer"))))
                .expectError(IllegalLockStateException.class).verify(T);
        StepVerifier.create(locks.withLock("outer", locks.withLock("inner",
                        locks.acquire("inner").contextWrite(Context.of("k", "v")))))
                .expectError(IllegalLockStateException.class).verify(T);
        StepVerifier.create(locks.withLock("outer", locks.withLock("inner",
                        locks.withLock("outer", Mono.just(1)).contextWrite(ctx -> ctx.put("k", "v")))))
                .expectError(IllegalLockStateException.class).verify(T);
        StepVerifier.create(locks.withLock("outer", locks.withLock("inner", Mono.just(1)))
                        .contextWrite(Context.of("k", "v")))
                .expectNext(1).expectComplete().verify(T);
        assertThat(locks.stats("outer")).isEmpty();
        assertThat(locks.stats("inner")).isEmpty();
    }
}
