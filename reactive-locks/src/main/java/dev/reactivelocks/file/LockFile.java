package dev.reactivelocks.file;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockService;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Exceptions;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.context.Context;

/**
 * The one {@link FileChannel} of this JVM for one canonical lock file, and the POSIX lock held on it.
 *
 * <p>POSIX record locks ({@code fcntl}, which {@code FileChannel.lock} uses on Unix) belong to the
 * process, and closing <em>any</em> descriptor of a file drops all of the process's locks on it. So the
 * JVM keeps exactly one channel per lock file ({@link #FILES}, keyed by the real path), never opens a
 * second one while the first is open, and closes it only when no acquisition uses it. Local holders of
 * one file share its one OS lock: an exclusive local grant needs the file locked exclusively; concurrent
 * shared local grants share one shared OS lock, tracked in {@link #holding}.
 *
 * <p>Before a file is touched, acquisitions queue in {@link #QUEUES}, a JVM-wide in-process lock service
 * keyed by the real path: it provides FIFO fairness, timeouts and cancellation without threads, and
 * ensures that at any time the local grants of a path are either one exclusive grant or shared grants.
 * Only those grants reach this class.
 *
 * <p>Every state change and every file call of one path runs in a serial task queue (an actor: a
 * lock-free queue drained by one task at a time on a blocking-capable scheduler), so no monitor is held
 * across I/O and callers never wait:
 *
 * <pre>
 *   local grant ──request──► lock held shared and request shared? ── yes ──► holders++, deliver
 *                                      │ no
 *                                      ▼
 *                                  waiters += a ──► attempt: tryLock(whole file, shared?)
 *                                                     │ got it: holders += granted waiters, deliver
 *                                                     │ busy:   fail try-only waiters; poll again after
 *                                                     │         min·2ⁿ (capped at max, jittered) on the timer
 *                                                     │ error:  fail all waiters with LockException
 *   release ──► holders -= a ; no holders left ? unlock ──► release the local grant ──► unref
 *   any task ──► OS lock invalid (channel closed under us)? holders are told lost() ; lock = null
 *   unref   ──► refs == 0 and idle ? close channel, then drop the entry if still unused
 * </pre>
 *
 * {@link #refs} counts the acquisitions with a local grant that still use this entry; it changes only
 * inside {@code FILES.compute}, so an entry leaves the map only after its channel is closed and while no
 * acquisition uses it.
 */
final class LockFile {

    /** JVM-wide fair queues, one per real lock file path. Never disposed. */
    static final InProcessLockService QUEUES = LockService.builder().build();

    private static final ConcurrentHashMap<Path, LockFile> FILES = new ConcurrentHashMap<>();

    final Path path;

    /** Guarded by {@code FILES.compute} for {@link #path}. */
    private int refs;

    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicInteger wip = new AtomicInteger();

    // Owned by the actor: read and written only inside tasks.
    private @Nullable FileChannel channel;
    private @Nullable FileLock lock;
    private final Set<FileAcquisition> holding = new LinkedHashSet<>();
    private final ArrayDeque<FileAcquisition> waiters = new ArrayDeque<>();
    private @Nullable Disposable pollTimer;
    private long pollGeneration;
    private int busyAttempts;

    private LockFile(Path path) {
        this.path = path;
    }

    /** The entry of {@code path}, counted as used until {@link #unref()}. */
    static LockFile retain(Path path) {
        return FILES.compute(path, (k, e) -> {
            LockFile f = e != null ? e : new LockFile(k);
            f.refs++;
            return f;
        });
    }

    /** @return whether an acquisition of this JVM currently uses the lock file at real path {@code path} */
    static boolean inUse(Path path) {
        return FILES.containsKey(path);
    }

    /** @return how many lock files this JVM currently has entries (and possibly open channels) for */
    static int openEntries() {
        return FILES.size();
    }

    // ---------------------------------------------------------------- actor

    private void execute(Runnable task, Scheduler scheduler) {
        tasks.offer(task);
        if (wip.getAndIncrement() == 0) {
            try {
                scheduler.schedule(this::drain);
            } catch (RejectedExecutionException e) {
                // the submitting service's scheduler is gone; finish the work on Reactor's shared one
                Schedulers.boundedElastic().schedule(this::drain);
            }
        }
    }

    private void drain() {
        int missed = 1;
        for (;;) {
            Runnable t;
            while ((t = tasks.poll()) != null) {
                try {
                    t.run();
                } catch (Throwable e) {
                    Exceptions.throwIfJvmFatal(e);
                    Operators.onErrorDropped(e, Context.empty());
                }
            }
            missed = wip.addAndGet(-missed);
            if (missed == 0) {
                return;
            }
        }
    }

    // ---------------------------------------------------------------- operations (any thread)

    /** {@code a} holds its local grant and now needs the OS lock. */
    void request(FileAcquisition a) {
        execute(() -> onRequest(a), a.scheduler());
    }

    /**
     * {@code a} left before getting the OS lock (it is CANCELLED): forget it, release its local grant,
     * then run {@code after} (off the actor).
     */
    void abandon(FileAcquisition a, @Nullable Runnable after) {
        execute(() -> {
            waiters.remove(a);
            if (waiters.isEmpty()) {
                stopPolling();
            }
            a.releaseLocal();
            unref();
            if (after != null) {
                a.signal(after);
            }
        }, a.scheduler());
    }

    /** {@code a} held the OS lock (it is RELEASED): unlock if it was the last holder, then the local grant. */
    void release(FileAcquisition a, Runnable after) {
        execute(() -> {
            checkLost();
            if (holding.remove(a) && holding.isEmpty()) {
                unlock();
            }
            a.releaseLocal();
            unref();
            a.signal(after);
        }, a.scheduler());
    }

    // ---------------------------------------------------------------- actor tasks

    private void onRequest(FileAcquisition a) {
        if (!a.isOsPending()) {
            return; // cancelled meanwhile: its abandon task cleans up
        }
        checkLost();
        FileLock held = lock;
        if (held != null && held.isShared() && a.mode == LockMode.SHARED) {
            // The local queue only lets a newcomer in next to current holders when both are shared.
            if (a.grantOs()) {
                holding.add(a);
                a.signal(a::deliver);
            }
            return;
        }
        waiters.add(a);
        attempt();
    }

    private void attempt() {
        FileAcquisition first = waiters.peekFirst();
        if (first == null) {
            stopPolling();
            return;
        }
        FileLock acquired;
        try {
            acquired = channel().tryLock(0L, Long.MAX_VALUE, first.mode == LockMode.SHARED);
        } catch (IOException | RuntimeException e) {
            failWaiters(e);
            return;
        }
        if (acquired == null) {
            failImmediateWaiters();
            if (!waiters.isEmpty()) {
                schedulePoll(waiters.getFirst());
            }
            return;
        }
        stopPolling();
        lock = acquired;
        List<FileAcquisition> granted = new ArrayList<>(waiters.size());
        for (FileAcquisition w : waiters) {
            if (w.grantOs()) {
                holding.add(w);
                granted.add(w);
            }
        }
        waiters.clear();
        if (holding.isEmpty()) {
            unlock(); // every waiter left while we were locking
        }
        for (FileAcquisition w : granted) {
            w.signal(w::deliver);
        }
    }

    private void failImmediateWaiters() {
        for (Iterator<FileAcquisition> it = waiters.iterator(); it.hasNext(); ) {
            FileAcquisition w = it.next();
            if (w.immediate() && w.abandonFromFile()) {
                it.remove();
                w.releaseLocal();
                unref();
                w.signal(w::busy);
            }
        }
    }

    private void failWaiters(Throwable error) {
        checkLost();
        if (channel != null && !channel.isOpen()) {
            channel = null;
        }
        stopPolling();
        FileAcquisition w;
        while ((w = waiters.poll()) != null) {
            if (w.abandonFromFile()) {
                w.releaseLocal();
                unref();
                String message = "Cannot lock file '" + path + "' for lock '" + w.name + "' (" + w.mode + "): "
                        + error;
                LockException failure = new LockException(w.name, message, error);
                FileAcquisition failed = w;
                w.signal(() -> failed.failed(failure));
            }
        }
        unrefIdleCheck();
    }

    private void schedulePoll(FileAcquisition first) {
        if (pollTimer != null) {
            return;
        }
        long generation = ++pollGeneration;
        Duration delay = backoff(first.service.config(), busyAttempts++);
        Scheduler scheduler = first.scheduler();
        Runnable fire = () -> execute(() -> poll(generation), scheduler);
        try {
            pollTimer = first.service.timer().schedule(fire, delay.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            pollTimer = Schedulers.parallel().schedule(fire, delay.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void poll(long generation) {
        if (generation != pollGeneration) {
            return; // a stale timer: polling stopped (and maybe restarted) since
        }
        pollTimer = null;
        attempt();
    }

    private void stopPolling() {
        Disposable t = pollTimer;
        if (t != null) {
            t.dispose();
            pollTimer = null;
        }
        pollGeneration++;
        busyAttempts = 0;
    }

    static Duration backoff(FileLockConfig config, int attempt) {
        long min = config.minPollInterval().toNanos();
        long max = config.maxPollInterval().toNanos();
        long delay = min;
        for (int i = 0; i < attempt && delay < max; i++) {
            delay = delay > max / 2 ? max : delay * 2;
        }
        delay = Math.min(delay, max);
        // jitter in [delay/2, delay] so that processes polling one file do not move in lockstep
        long jittered = delay / 2 + ThreadLocalRandom.current().nextLong(delay / 2 + 1);
        return Duration.ofNanos(Math.max(jittered, min));
    }

    /**
     * Detects that the OS lock is gone although holders remain: the channel was closed under us (by code
     * that reached it through the JDK, or an interruptible call added here later). The holders
     * are told through {@link FileAcquisition#markLost()}; their local grants stay until they release.
     */
    private void checkLost() {
        FileLock l = lock;
        if (l != null && !l.isValid()) {
            lock = null;
            for (FileAcquisition h : holding) {
                h.markLost();
            }
            holding.clear();
        }
        FileChannel c = channel;
        if (c != null && !c.isOpen()) {
            channel = null;
        }
    }

    /** For tests: closes this JVM's channel of {@code path} as an interrupt would, dropping its OS lock. */
    static void closeChannelUnderHolders(Path path, Scheduler scheduler) {
        LockFile f = FILES.get(path);
        if (f != null) {
            f.execute(() -> {
                FileChannel c = f.channel;
                if (c != null) {
                    try {
                        c.close();
                    } catch (IOException e) {
                        Operators.onErrorDropped(e, Context.empty());
                    }
                }
            }, scheduler);
        }
    }

    private FileChannel channel() throws IOException {
        FileChannel c = channel;
        if (c == null || !c.isOpen()) {
            c = open(path);
            channel = c;
        }
        return c;
    }

    private void unlock() {
        FileLock l = lock;
        lock = null;
        if (l != null && l.isValid()) {
            try {
                l.release();
            } catch (IOException e) {
                Operators.onErrorDropped(e, Context.empty());
            }
        }
    }

    private void unref() {
        FILES.computeIfPresent(path, (k, e) -> {
            e.refs--;
            return e;
        });
        unrefIdleCheck();
    }

    private void unrefIdleCheck() {
        if (lock != null || !waiters.isEmpty() || refsNow() != 0) {
            return;
        }
        closeChannel();
        FILES.computeIfPresent(path, (k, e) -> e == this && e.refs == 0 ? null : e);
    }

    private int refsNow() {
        int[] out = new int[1];
        FILES.computeIfPresent(path, (k, e) -> {
            out[0] = e.refs;
            return e;
        });
        return out[0];
    }

    private void closeChannel() {
        FileChannel c = channel;
        channel = null;
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                Operators.onErrorDropped(e, Context.empty());
            }
        }
    }

    // ---------------------------------------------------------------- file system helpers (blocking)

    /** Opens {@code path} for locking: read+write, created if missing, never truncated, never via a symlink. */
    static FileChannel open(Path path) throws IOException {
        try {
            return FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    StandardOpenOption.CREATE, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            Path dir = path.getParent();
            if (dir == null || Files.isDirectory(dir)) {
                throw e;
            }
            createDirectory(dir); // removed since the service resolved it
            return open(path);
        } catch (IOException e) {
            if (Files.isSymbolicLink(path)) {
                FileSystemException refused = new FileSystemException(path.toString(), null,
                        "the lock file is a symbolic link; refusing to follow it");
                refused.initCause(e);
                throw refused;
            }
            throw e;
        }
    }

    /** Creates {@code dir} (and parents) with permissions {@code rwx------} if missing; returns its real path. */
    static Path createDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.createDirectories(dir,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createDirectories(dir);
            }
        }
        return dir.toRealPath();
    }

    @Override
    public String toString() {
        return "LockFile{" + path + "}";
    }
}
