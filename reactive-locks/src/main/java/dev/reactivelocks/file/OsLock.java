package dev.reactivelocks.file;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * The POSIX record lock this JVM holds on one lock file, as one byte range (or two after a downgrade), and
 * its atomic downgrade from exclusive to shared.
 *
 * <p>A shared lock is one range, the whole file ({@code FileChannel.lock(0, Long.MAX_VALUE, true)}, which
 * the JDK passes to {@code fcntl} as length 0: to the end of any file). An exclusive lock is one range too,
 * the {@linkplain #BODY body}: every byte from 0 up to, but not including, the {@linkplain #GUARD guard}
 * byte at position {@code Long.MAX_VALUE - 1}, so one {@code fcntl} call locks it and one unlocks it. Every
 * peer that locks the whole file (Python's {@code fcntl.lockf}, as oslo.concurrency and fasteners use it,
 * and every JVM of this library) conflicts with the body; only a lock of nothing but the last two possible
 * positions of a file (2<sup>63</sup>-2 and 2<sup>63</sup>-1) does not.
 *
 * <p>Why the guard byte stays free: {@code fcntl} converts a held write lock to a read lock in one call, but
 * {@code FileChannel} cannot ask for it. A second lock on a region this JVM holds throws
 * {@code OverlappingFileLockException} (the JDK keeps one table of the JVM's locks per file), and unlocking
 * first would leave the file free for a moment. With the guard outside the body, {@link #downgrade()} first
 * read-locks the guard, then converts the body, and at every instant some range is held in a mode that
 * excludes another process's exclusive lock:
 * <pre>
 *   body   guard         what a peer's whole-file lockf gets
 *    W      -            exclusive: no   shared: no
 *    W      R            exclusive: no   shared: no    (the body conflicts with both)
 *    -      R            exclusive: no   shared: yes   (the guard, a read lock, admits readers only)
 *    R      R            exclusive: no   shared: yes
 * </pre>
 * The new ranges cannot be refused by such a peer: while this process holds the body for writing, no
 * whole-file lock of another process is held, and from the moment the guard is read-locked only read locks
 * are. Only a process that locks part of the file alone (not a peer of this library) could take a range in
 * between; the downgrade then gives the lock up rather than hold less than it promises.
 */
final class OsLock {

    /** The length of an exclusive lock's range from byte 0: every position before the {@link #GUARD}. */
    static final long BODY = Long.MAX_VALUE - 1;

    /** The position of the one-byte range that a downgrade read-locks before converting the body. */
    static final long GUARD = BODY;

    /** The whole file (shared), or the {@link #BODY} (exclusive, or read-locked again by a downgrade). */
    private FileLock body;
    /** The read-locked guard byte, once downgraded. */
    private @Nullable FileLock guard;

    private OsLock(FileLock body) {
        this.body = body;
    }

    /**
     * Tries to lock the whole file of {@code channel} without waiting: one {@code fcntl} call.
     *
     * @return the lock, or null when another process holds a conflicting lock
     * @throws IOException when the file cannot be locked (nothing is held then)
     */
    static @Nullable OsLock tryLock(FileChannel channel, boolean shared) throws IOException {
        FileLock l = shared ? channel.tryLock(0L, Long.MAX_VALUE, true) : channel.tryLock(0L, BODY, false);
        return l == null ? null : new OsLock(l);
    }

    boolean isShared() {
        return body.isShared();
    }

    /** @return false once the channel was closed under the lock, which dropped it */
    boolean isValid() {
        FileLock g = guard;
        return body.isValid() && (g == null || g.isValid());
    }

    /**
     * Turns this exclusive lock into a shared lock of the whole file (see the class comment): the guard byte
     * is read-locked, then the body unlocked and read-locked again; three {@code fcntl} calls.
     *
     * @throws IOException when a range could not be locked; the whole lock is released then
     */
    void downgrade() throws IOException {
        if (body.isShared()) {
            throw new IllegalStateException("not an exclusive lock: " + this);
        }
        FileChannel channel = body.channel();
        try {
            guard = relock(channel, GUARD, 1L);
            body.release();
            body = relock(channel, 0L, BODY);
        } catch (IOException | RuntimeException e) {
            release();
            throw e;
        }
    }

    private static FileLock relock(FileChannel channel, long position, long size) throws IOException {
        FileLock l = channel.tryLock(position, size, true);
        if (l == null) {
            throw new IOException("another process locked bytes " + position + ".." + (position + size)
                    + " of the lock file alone during a downgrade");
        }
        return l;
    }

    /** Releases every range still held; errors are dropped (a closed channel released them already). */
    void release() {
        FileLock g = guard;
        if (g != null) {
            releaseQuietly(g);
        }
        releaseQuietly(body);
    }

    private static void releaseQuietly(FileLock l) {
        if (l.isValid()) {
            try {
                l.release();
            } catch (IOException e) {
                Operators.onErrorDropped(e, Context.empty());
            }
        }
    }

    @Override
    public String toString() {
        return "OsLock{body=" + body + ", guard=" + guard + "}";
    }
}
