package dev.reactivelocks.blocking;

import dev.reactivelocks.LockException;
import reactor.core.Exceptions;

/** Turns an error signalled by a {@code Mono} into what a blocking caller throws. */
final class Errors {

    private Errors() {
    }

    /**
     * Unwraps Reactor's wrapper ({@link Exceptions#unwrap}); unchecked errors are returned (errors thrown)
     * unchanged, a checked cause is wrapped in a {@link LockException} naming the lock.
     *
     * @param lockName the lock concerned
     * @param what what failed, e.g. {@code "not released"}
     * @param error the signalled error
     * @return the exception to throw
     */
    static RuntimeException unchecked(String lockName, String what, Throwable error) {
        Throwable e = Exceptions.unwrap(error);
        if (e instanceof RuntimeException runtime) {
            return runtime;
        }
        if (e instanceof Error fatal) {
            throw fatal;
        }
        return new LockException(lockName, "Lock '" + lockName + "' " + what + ": " + e, e);
    }
}
