package dev.reactivelocks;

/**
 * The service cannot acquire the lock because it is not configured to (for example, no lock directory
 * was given to a file lock service). The message says how to configure it.
 */
public class LockConfigurationException extends LockException {

    private static final long serialVersionUID = 1L;

    /**
     * @param lockName the lock concerned
     * @param message what is missing and how to configure it
     */
    public LockConfigurationException(String lockName, String message) {
        super(lockName, message);
    }
}
