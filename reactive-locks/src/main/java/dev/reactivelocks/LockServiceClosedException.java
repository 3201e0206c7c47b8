package dev.reactivelocks;

/**
 * The service was disposed: pending acquisitions are failed with this error, and so are new ones.
 */
public class LockServiceClosedException extends LockException {

    private static final long serialVersionUID = 1L;

    /**
     * @param lockName the lock that was being acquired
     */
    public LockServiceClosedException(String lockName) {
        super(lockName, "Lock '" + lockName + "' not acquired: the lock service is disposed");
    }
}
