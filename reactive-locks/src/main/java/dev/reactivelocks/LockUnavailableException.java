package dev.reactivelocks;

/**
 * The lock could not be queued for: the limit of pending acquisitions for the name was reached.
 */
public class LockUnavailableException extends LockException {

    private static final long serialVersionUID = 1L;

    /**
     * @param lockName the lock concerned
     * @param message the detail message
     */
    public LockUnavailableException(String lockName, String message) {
        super(lockName, message);
    }
}
