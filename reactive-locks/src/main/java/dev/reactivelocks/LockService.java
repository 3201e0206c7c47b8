package dev.reactivelocks;

import dev.reactivelocks.internal.ScopedLocks;
import java.util.Objects;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Named locks acquired as {@code Mono<LockHandle>}, without blocking any thread.
 *
 * <pre>{@code
 * LockService locks = LockService.inProcess();
 * Mono<Order> saved = locks.withLock("orders", repository.save(order));   // body runs under the lock
 * }</pre>
 *
 * <p><b>Cold and lazy</b>: every {@code Mono} and {@code Flux} returned here does nothing until subscribed
 * and requested; each subscription is one acquisition. Cancelling a pending acquisition removes it from
 * the queue; a grant that races the cancellation is released, never leaked.
 *
 * <p><b>Cancellation</b>: a lock is never left held by nobody, and never released under a subscriber that
 * keeps its handle. Every acquisition follows one rule once the lock is granted: a cancel that arrives
 * before the handle is emitted releases the lock, and nothing is emitted; from the emission on, the handle
 * belongs to the subscriber, and cancels are ignored (no source can tell a subscriber that gave the handle
 * up from one that keeps it: {@code next()}, {@code take(1)}, {@code switchMap} or a {@code publishOn} in
 * between all cancel a source whose value they keep). A handle that Reactor reports as abandoned is released
 * by two hooks this library installs globally, acting on {@link LockHandle}s only:
 * {@code Hooks.onNextDropped} (a subscriber that received the handle after it was cancelled: a disposed
 * {@code subscribe(consumer)}, {@code timeout()}) and {@code Hooks.onOperatorError} (an operator whose
 * function threw while processing the handle: {@code map}, {@code flatMap}, {@code doOnNext}).
 * {@code block()} and {@code block(Duration)} on an acquisition release a grant that arrives as they give up.
 *
 * <p>What remains the caller's job: operators that store a handle and later <em>discard</em> it —
 * {@code Mono.zip} whose sibling fails after the grant, {@code then()}, {@code hasElement()}, a
 * {@code publishOn} queue torn down by a cancel — hand it only to the discard hook of the caller's chain.
 * {@code Mono.firstWithValue}, {@code firstWithSignal} and {@code or()} (Reactor 3.8) ignore a losing value
 * without telling any hook; an acquisition that is a direct source of such a race detects that it lost right
 * after its {@code onNext} and releases, where Reactor's classes are open to deep reflection (the class
 * path). With operators between the acquisition and the race, or on a module path that does not open
 * {@code reactor.core.publisher}, bound the acquisition with {@link LockOptions#timeout(java.time.Duration)}
 * instead of racing it against a timer. Add {@code .doOnDiscard(LockHandle.class, h -> h.release().subscribe())}
 * to such chains, or better, scope the lock with {@link #withLock(String, LockOptions, Function)}. An
 * application that resets Reactor's hooks calls {@link dev.reactivelocks.spi.GrantDelivery#reinstallHooks()}
 * afterwards.
 *
 * <p><b>Reentrancy</b>: locks are not reentrant. A pipeline that acquires a lock it already holds through
 * {@code withLock} (tracked in the Reactor {@code Context}), including a shared-to-exclusive upgrade, fails
 * at once with {@link IllegalLockStateException} instead of deadlocking. Handles obtained with
 * {@link #acquire} are owned by their holder, not by a thread or pipeline.
 *
 * <p><b>Errors</b>: invalid arguments throw at assembly time ({@link NullPointerException},
 * {@link IllegalArgumentException}); everything else is signalled as {@code onError}:
 * {@link LockTimeoutException}, {@link LockUnavailableException}, {@link LockServiceClosedException},
 * {@link IllegalLockStateException} and, for lockable resources outside the JVM, {@link LockException}
 * subtypes describing the failure.
 *
 * <p>Fairness, threading and memory effects depend on the implementation; see {@link #inProcess()}.
 */
public interface LockService extends Disposable {

    /**
     * A new in-JVM lock service: fair (FIFO) with writer preference, unbounded pending queue, timeouts on
     * {@code Schedulers.parallel()}. See {@link InProcessLockService} for its guarantees.
     *
     * @return a new service; dispose it when done
     */
    static LockService inProcess() {
        return builder().build();
    }

    /** @return a builder for an in-JVM lock service with limits and an injectable timer */
    static InProcessLockServiceBuilder builder() {
        return new DefaultInProcessLockServiceBuilder();
    }

    /**
     * Acquires {@code name} exclusively, waiting as long as it takes.
     *
     * @param name the lock name
     * @return a {@code Mono} emitting the handle once granted (see {@link #acquire(String, LockOptions)})
     */
    default Mono<LockHandle> acquire(String name) {
        return acquire(name, LockOptions.exclusive());
    }

    /**
     * Acquires {@code name} in the mode of {@code options}, waiting up to its timeout.
     *
     * <p>Per subscription, the returned {@code Mono}:
     * <ul>
     *   <li>emits a {@link LockHandle} once the lock is granted; the subscriber then owns the grant and must
     *       {@link LockHandle#release() release} it;</li>
     *   <li>errors with {@link LockTimeoutException} when the timeout elapses first (the waiter has left the
     *       queue);</li>
     *   <li>errors with {@link LockUnavailableException} when the pending limit is reached,
     *       {@link LockServiceClosedException} when the service is disposed before the grant, and
     *       {@link IllegalLockStateException} on re-entry;</li>
     *   <li>on cancellation before the grant leaves the queue; a grant racing the cancellation is released.</li>
     * </ul>
     *
     * @apiNote The service guarantees that every grant is either owned by the subscriber or released: a
     * cancel before the emission releases it, a cancel after it is ignored, a handle Reactor drops is
     * released (see <b>Cancellation</b> in the interface comment for the exact rule and for what stays the
     * caller's job). Prefer {@link #withLock(String, LockOptions, Function)}, whose {@code usingWhen} scope
     * releases in every outcome.
     *
     * @param name the lock name, not empty
     * @param options mode and timeout
     * @return a cold {@code Mono} of the handle
     */
    Mono<LockHandle> acquire(String name, LockOptions options);

    /**
     * Acquires {@code name} exclusively if it is free now.
     *
     * @param name the lock name
     * @return see {@link #tryAcquire(String, LockOptions)}
     */
    default Mono<LockHandle> tryAcquire(String name) {
        return tryAcquire(name, LockOptions.exclusive());
    }

    /**
     * Acquires {@code name} only if it can be granted at once; never queues and ignores the timeout.
     * Does not barge: a lock with waiters is not free, even when its holders could admit this mode.
     *
     * @param name the lock name, not empty
     * @param options the mode
     * @return a cold {@code Mono} emitting the handle, or completing empty when the lock is busy
     */
    Mono<LockHandle> tryAcquire(String name, LockOptions options);

    /**
     * Runs {@code body} under the exclusive lock {@code name}.
     *
     * @param name the lock name
     * @param body subscribed only after the grant
     * @param <T> the body's value type
     * @return see {@link #withLock(String, LockOptions, Function)}
     */
    default <T> Mono<T> withLock(String name, Mono<T> body) {
        return withLock(name, LockOptions.exclusive(), body);
    }

    /**
     * Runs {@code body} under the lock {@code name} in the mode of {@code options}.
     *
     * @param name the lock name
     * @param options mode and timeout
     * @param body subscribed only after the grant
     * @param <T> the body's value type
     * @return see {@link #withLock(String, LockOptions, Function)}
     */
    default <T> Mono<T> withLock(String name, LockOptions options, Mono<T> body) {
        Objects.requireNonNull(body, "body");
        return withLock(name, options, handle -> body);
    }

    /**
     * Acquires {@code name}, runs the {@code Mono} that {@code body} returns for the handle, and releases the
     * lock when that {@code Mono} completes, errors or is cancelled (like {@code Mono.usingWhen}).
     *
     * <p>Per subscription: one acquisition; the body's signals are relayed; acquisition errors are signalled
     * as in {@link #acquire(String, LockOptions)}; the result is signalled after the release completed.
     * Inside the body, acquiring the same lock from this service fails with
     * {@link IllegalLockStateException}.
     *
     * @param name the lock name
     * @param options mode and timeout
     * @param body called with the handle after the grant
     * @param <T> the body's value type
     * @return a cold {@code Mono} of the body's value
     */
    default <T> Mono<T> withLock(String name, LockOptions options,
                                 Function<? super LockHandle, ? extends Mono<T>> body) {
        Objects.requireNonNull(body, "body");
        return ScopedLocks.mono(this, acquire(name, options), body);
    }

    /**
     * Runs {@code body} under the exclusive lock {@code name} only if the lock is free now; otherwise
     * completes empty without running it and without queueing (djangae's {@code @lock(wait=False)},
     * oslo.concurrency's non-blocking lock).
     *
     * @param name the lock name
     * @param body subscribed only after the grant
     * @param <T> the body's value type
     * @return see {@link #withLockIfFree(String, LockOptions, Mono)}
     */
    default <T> Mono<T> withLockIfFree(String name, Mono<T> body) {
        return withLockIfFree(name, LockOptions.exclusive(), body);
    }

    /**
     * Runs {@code body} under the lock {@code name}, in the mode of {@code options}, only if it can be
     * granted at once (as {@link #tryAcquire(String, LockOptions)}: never queues, ignores the timeout, does
     * not overtake waiters); otherwise completes empty and the body is never subscribed. When granted, the
     * lock is released as by {@link #withLock(String, LockOptions, Function)}.
     *
     * <pre>{@code
     * Mono<Report> nightly = locks.withLockIfFree("nightly-report", buildReport())
     *         .switchIfEmpty(Mono.fromRunnable(() -> log.info("another instance is building it")));
     * }</pre>
     *
     * @param name the lock name
     * @param options the mode
     * @param body subscribed only after the grant
     * @param <T> the body's value type
     * @return a cold {@code Mono} of the body's value, or empty when the lock was busy
     */
    default <T> Mono<T> withLockIfFree(String name, LockOptions options, Mono<T> body) {
        Objects.requireNonNull(body, "body");
        return ScopedLocks.mono(this, tryAcquire(name, options), handle -> body);
    }

    /**
     * Like {@link #withLock(String, LockOptions, Function)} for a body of many values: the lock is held until
     * the body's publisher terminates or is cancelled.
     *
     * @param name the lock name
     * @param options mode and timeout
     * @param body called with the handle after the grant
     * @param <T> the body's value type
     * @return a cold {@code Flux} of the body's values
     */
    default <T> Flux<T> withLockMany(String name, LockOptions options,
                                     Function<? super LockHandle, ? extends Publisher<T>> body) {
        Objects.requireNonNull(body, "body");
        return ScopedLocks.flux(this, acquire(name, options), body);
    }

    /**
     * A view whose lock names are {@code prefix + "-" + name}, like oslo.concurrency's
     * {@code synchronized_with_prefix}. {@code "nova"} and {@code "nova-"} are the same prefix. The view
     * shares this service's locks and lifecycle: disposing it disposes this service. The view checks names
     * as this service does: an empty name throws {@link IllegalArgumentException} at assembly (it does not
     * lock {@code prefix-}).
     *
     * @param prefix the prefix, not empty
     * @return a prefixed view of this service
     * @throws IllegalArgumentException if {@code prefix} is empty or {@code "-"}
     */
    default LockService withPrefix(String prefix) {
        return PrefixedLockService.of(this, prefix);
    }

    /**
     * A view that logs once, at WARN through Reactor's {@code Loggers}, for every grant still held
     * {@code threshold} after it was granted (a slow-holder watchdog, like oslo.concurrency's
     * "not completed after"). The holder is never interrupted. The view shares this service's locks,
     * re-entry detection and lifecycle.
     *
     * @param threshold how long a grant may be held before the warning, {@code > 0}
     * @return a watching view of this service
     * @throws IllegalArgumentException if {@code threshold} is zero or negative
     */
    default LockService warnIfHeldLongerThan(java.time.Duration threshold) {
        return WatchedLockService.of(this, Objects.requireNonNull(threshold, "threshold"));
    }

    /**
     * Who holds the lock {@code name} now, for monitoring and diagnostics: a {@link LockInfo} snapshot with
     * its mode, holders, fencing token, and what else the service can tell (see {@link LockInfo} for what
     * each service knows). Never acquires, queues or changes anything.
     *
     * <p>Per subscription, the returned {@code Mono} looks once and:
     * <ul>
     *   <li>emits the {@link LockInfo} when somebody holds {@code name} (any process or service the
     *       implementation can see);</li>
     *   <li>completes empty when nobody holds it, including a name never used; a free lock has no
     *       {@code LockInfo} with zero holders;</li>
     *   <li>errors with {@link UnsupportedOperationException} when the implementation cannot inspect its
     *       locks (the default), or with the error of the store it reads.</li>
     * </ul>
     * A disposed service can still be inspected.
     *
     * @implSpec The default signals {@link UnsupportedOperationException}, so that implementations written
     * before this method existed keep compiling and say clearly that they cannot tell; every service of this
     * library overrides it, views forward it.
     *
     * @param name the lock name, not empty
     * @return a cold {@code Mono} of the lock's state, empty when it is free
     * @throws IllegalArgumentException if {@code name} is empty
     */
    default Mono<LockInfo> inspect(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("name must not be empty");
        }
        return Mono.error(() -> new UnsupportedOperationException(getClass().getName() + " cannot inspect locks"));
    }

    /**
     * Every lock held now whose name starts with {@code prefix}, as by {@link #inspect(String)}: one
     * {@link LockInfo} per held name, in no particular order; free names are not listed. The empty prefix
     * lists every held lock the service can see (for distributed services, those of all clients of the
     * store).
     *
     * @implSpec The default signals {@link UnsupportedOperationException}, as {@link #inspect(String)}.
     *
     * @param prefix the start of the names to list; {@code ""} for all
     * @return a cold {@code Flux} of the held locks, erroring as {@link #inspect(String)}
     */
    default Flux<LockInfo> locks(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        return Flux.error(() -> new UnsupportedOperationException(getClass().getName() + " cannot list locks"));
    }

    /**
     * Disposes the service: pending acquisitions error with {@link LockServiceClosedException}, and so do
     * later ones. Locks already held stay held until their handles are released.
     *
     * @return a {@code Mono} completing when the service is closed
     */
    Mono<Void> disposeLater();

    /** Disposes asynchronously; same as {@code disposeLater().subscribe()}. */
    @Override
    default void dispose() {
        disposeLater().subscribe();
    }
}
