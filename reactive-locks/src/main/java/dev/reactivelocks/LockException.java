package dev.reactivelocks;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Base type of the errors a {@link LockService} signals; unchecked, and always names the lock.
 */
public class LockException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The name of the lock concerned. */
    private final String lockName;

    /**
     * @param lockName the name of the lock concerned
     * @param message the detail message
     */
    public LockException(String lockName, String message) {
        this(lockName, message, null);
    }

    /**
     * @param lockName the name of the lock concerned
     * @param message the detail message
     * @param cause the cause, or {@code null}
     */
    public LockException(String lockName, String message, @Nullable Throwable cause) {
        super(message, cause);
        this.lockName = Objects.requireNonNull(lockName, "lockName");
    }

    /** @return the name of the lock this error concerns */
    public String lockName() {
        return lockName;
    }
}
