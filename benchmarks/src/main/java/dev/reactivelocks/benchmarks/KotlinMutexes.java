package dev.reactivelocks.benchmarks;

import kotlin.Unit;
import kotlin.coroutines.Continuation;
import kotlin.coroutines.CoroutineContext;
import kotlin.coroutines.EmptyCoroutineContext;
import kotlinx.coroutines.Dispatchers;
import kotlinx.coroutines.reactor.MonoKt;
import kotlinx.coroutines.sync.Mutex;
import kotlinx.coroutines.sync.MutexKt;
import reactor.core.publisher.Mono;

/**
 * kotlinx-coroutines {@link Mutex} as a Java/Reactor program can call it.
 *
 * <p>{@link #lock(Mutex)} uses the coroutines-reactor bridge: {@code mono(Dispatchers.Unconfined) {
 * mutex.lock() }}, written in Java as a block whose body is the tail call {@code mutex.lock(null, cont)}
 * (exactly what the Kotlin compiler emits for that lambda). {@code Unconfined} resumes the waiter on the
 * thread that unlocks, like reactive-locks' hand-off; the default dispatcher would add a thread hop per grant.
 */
final class KotlinMutexes {

    private KotlinMutexes() {
    }

    static Mutex newMutex() {
        return MutexKt.Mutex(false);
    }

    /** A cold {@code Mono} that suspends in {@code mutex.lock()} and emits once the mutex is locked. */
    static Mono<Unit> lock(Mutex mutex) {
        return MonoKt.mono(Dispatchers.getUnconfined(), (scope, cont) -> mutex.lock(null, cont));
    }

    /** {@code withLock} for a Reactor body: lock through the bridge, run the body, unlock in every outcome. */
    static <T> Mono<T> withLock(Mutex mutex, Mono<T> body) {
        return Mono.usingWhen(lock(mutex), u -> body, u -> unlock(mutex));
    }

    static Mono<Void> unlock(Mutex mutex) {
        return Mono.fromRunnable(() -> mutex.unlock(null));
    }

    /**
     * A plain continuation, for suspending in {@code mutex.lock(null, cont)} straight from Java without the
     * bridge (used by the memory probe to count the Mutex's own cost per waiter).
     */
    static Continuation<Unit> continuation(Runnable onResume) {
        return new Continuation<>() {
            @Override
            public CoroutineContext getContext() {
                return EmptyCoroutineContext.INSTANCE;
            }

            @Override
            public void resumeWith(Object result) {
                onResume.run();
            }
        };
    }
}
