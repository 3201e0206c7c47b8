package dev.reactivelocks;

import org.jspecify.annotations.Nullable;

/**
 * A held lock was lost before release: its lease expired or another owner took it over.
 */
public class LockLostException extends LockException {

    private static final long serialVersionUID = 1L;

    /**
     * @param lockName the lock concerned
     * @param message the detail message
     * @param cause the cause, or {@code null}
     */
    public LockLostException(String lockName, String message, @Nullable Throwable cause) {
        super(lockName, message, cause);
    }
}
