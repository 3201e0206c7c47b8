package dev.reactivelocks.internal;

import dev.reactivelocks.LockHandle;

/**
 * A {@link LockHandle} whose release is a synchronous step on the calling thread: what its {@code release()}
 * publisher does when subscribed, without the publisher and its subscriber. The file service releases the
 * in-JVM queue's grant of every file lock this way, inside the file's actor.
 */
public interface SynchronousRelease {

    /**
     * Releases the handle now, on the calling thread (waiters it lets through may be signalled on it, as by
     * {@code release()}); idempotent with {@link LockHandle#release()}, as that is. Nothing to cancel: it is
     * done when it returns. It does not block; an exception it throws is the caller's to report (the file
     * service drops it to {@code Hooks.onErrorDropped}).
     */
    void releaseNow();
}
