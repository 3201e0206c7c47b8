package dev.reactivelocks.file;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * The POSIX record lock this JVM holds on one lock file, as one or two byte ranges, and its atomic
 * downgrade from exclusive to shared.
 *
 * <p>A shared lock is one range, the whole file ({@code FileChannel.lock(0, Long.MAX_VALUE, true)}, which
 * the JDK passes to {@code fcntl} as length 0: to the end of any file). An exclusive lock is two adjacent
 * ranges, the {@linkplain #HEAD head} byte {@code [0, 1)} and the {@linkplain #TAIL tail}
 * {@code [1, Long.MAX_VALUE)}: the kernel merges them into one record lock, and every peer that locks the
 * whole file (Python's {@code fcntl.lockf}, as oslo.concurrency and fasteners use it, and every JVM of this
 * library) conflicts with each range on its own.
 *
 * <p>Why two ranges: {@code fcntl} converts a held write lock to a read lock in one call, but
 * {@code FileChannel} cannot ask for it. A second lock on a region this JVM holds throws
 * {@code OverlappingFileLockException} (the JDK keeps one table of the JVM's locks per file), and unlocking
 * first would leave the file free for a moment. With two ranges, {@link #downgrade()} converts one range at
 * a time, and at every instant some range is held in a mode that excludes another process's exclusive lock:
 * <pre>
 *   head   tail          what a peer's whole-file lockf gets
 *    W      W            exclusive: no   shared: no
 *    W      -            exclusive: no   shared: no    (the head conflicts with both)
 *    W      R            exclusive: no   shared: no
 *    -      R            exclusive: no   shared: yes   (the tail, a read lock, admits readers only)
 *    R      R            exclusive: no   shared: yes
 * </pre>
 * The new ranges cannot be refused by such a peer: while this process holds the head for writing, no
 * whole-file lock of another process is held, and from the moment the tail is a read lock only read locks
 * are. Only a process that locks part of the file alone (not a peer of this library) could take a range in
 * between; the downgrade then gives the lock up rather than hold less than it promises.
 */
final class OsLock {

    /** The first range of an exclusive lock: byte 0. */
    static final long HEAD = 1;

    /** The length of the second range of an exclusive lock, from byte 1 to the largest position. */
    static final long TAIL = Long.MAX_VALUE - HEAD;

    private FileLock head;
    private @Nullable FileLock tail;

    private OsLock(FileLock head, @Nullable FileLock tail) {
        this.head = head;
        this.tail = tail;
    }

    /**
     * Tries to lock the whole file of {@code channel} without waiting.
     *
     * @return the lock, or null when another process holds a conflicting lock
     * @throws IOException when the file cannot be locked (nothing is held then)
     */
    static @Nullable OsLock tryLock(FileChannel channel, boolean shared) throws IOException {
        if (shared) {
            FileLock whole = channel.tryLock(0L, Long.MAX_VALUE, true);
            return whole == null ? null : new OsLock(whole, null);
        }
        FileLock head = channel.tryLock(0L, HEAD, false);
        if (head == null) {
            return null;
        }
        FileLock tail;
        try {
            tail = channel.tryLock(HEAD, TAIL, false);
        } catch (IOException | RuntimeException e) {
            releaseQuietly(head);
            throw e;
        }
        if (tail == null) {
            releaseQuietly(head); // a process locked part of the file only
            return null;
        }
        return new OsLock(head, tail);
    }

    boolean isShared() {
        return head.isShared();
    }

    /** @return false once the channel was closed under the lock, which dropped it */
    boolean isValid() {
        FileLock t = tail;
        return head.isValid() && (t == null || t.isValid());
    }

    /**
     * Turns this exclusive lock into a shared lock of the whole file, one range at a time (see the class
     * comment): tail, then head.
     *
     * @throws IOException when a range could not be locked again; the whole lock is released then
     */
    void downgrade() throws IOException {
        FileLock t = tail;
        if (t == null || head.isShared()) {
            throw new IllegalStateException("not an exclusive lock: " + this);
        }
        FileChannel channel = head.channel();
        try {
            t.release();
            tail = null;
            tail = relock(channel, HEAD, TAIL);
            head.release();
            head = relock(channel, 0L, HEAD);
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
        FileLock t = tail;
        if (t != null) {
            releaseQuietly(t);
        }
        releaseQuietly(head);
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
        FileLock t = tail;
        return "OsLock{head=" + head + ", tail=" + t + "}";
    }
}
