package dev.reactivelocks.blocking;

import org.jspecify.annotations.Nullable;

/**
 * Work run under a lock by {@link BlockingLockService#withLock(String, LockedCallable)}; like
 * {@link java.util.concurrent.Callable}, but its checked exception type is a type parameter, so that
 * {@code withLock} throws exactly what the body throws.
 *
 * <pre>{@code
 * Order order = locks.withLock("orders", () -> repository.load(id));   // throws what load throws
 * }</pre>
 *
 * @param <T> the result type
 * @param <X> the checked exception the body may throw ({@link RuntimeException} when none)
 */
@FunctionalInterface
public interface LockedCallable<T extends @Nullable Object, X extends Exception> {

    /**
     * Runs the work while the lock is held.
     *
     * @return the result, may be {@code null}
     * @throws X as the work does; passed to the caller of {@code withLock} unchanged
     */
    T call() throws X;
}
