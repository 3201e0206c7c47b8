package dev.reactivelocks;

/**
 * A lock operation that would deadlock or break ownership: re-entry of a lock the same pipeline already
 * holds, or a shared-to-exclusive upgrade. Reported at once instead of waiting forever.
 */
public class IllegalLockStateException extends LockException {

    private static final long serialVersionUID = 1L;

    /**
     * @param lockName the lock concerned
     * @param message the detail message
     */
    public IllegalLockStateException(String lockName, String message) {
        super(lockName, message);
    }
}
