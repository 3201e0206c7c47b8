package dev.reactivelocks.internal;

import dev.reactivelocks.LockHandle;

/**
 * A {@link LockHandle} whose release is a synchronous step on the calling thread: what its {@code release()}
 * publisher does when subscribed, without the publisher and its subscriber. The file service releases the
 * in-JVM queue's grant of every file lock this way, inside the file's actor.
 */
public interface SynchronousRelease {

    /**
     * Releases the handle now, on this thread; idempotent with {@link LockHandle#release()}, as that is.
     */
    void releaseNow();
}
