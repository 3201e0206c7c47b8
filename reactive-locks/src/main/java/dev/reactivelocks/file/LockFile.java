package dev.reactivelocks.file;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockLostException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockService;
import dev.reactivelocks.internal.SerialActor;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.MonoSink;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.context.Context;

/**
 * The one {@link FileChannel} of this JVM for one canonical lock file, and the POSIX lock held on it.
 *
 * <p>POSIX record locks ({@code fcntl}, which {@code FileChannel.lock} uses on Unix) belong to the
 * process, and closing <em>any</em> descriptor of a file drops all of the process's locks on it. So the
 * JVM keeps exactly one channel per lock file, never opens a second one while the first is open, and closes
 * it only when no acquisition used it for the idle timeout: {@link LockFileRegistry} keeps one entry (this
 * class) per file, counts its users and decides when its idle channel is closed. Entries are keyed by the
 * file's identity (device and inode, {@link LockFiles#identify(Path)}), not by its path: a hard link, a bind mount or
 * a case-insensitive file system make two paths one file, and a channel per path would close one
 * descriptor of a file while the lock is held through another. Local holders of one file share its one OS lock: an exclusive local grant needs the file locked exclusively; concurrent
 * shared local grants share one shared OS lock, tracked in {@link #holding}.
 *
 * <p>Before a file is touched, acquisitions queue in {@link #QUEUES}, a JVM-wide in-process lock service
 * keyed by the same identity: it provides FIFO fairness, timeouts and cancellation without threads, and
 * ensures that at any time the local grants of a file are either one exclusive grant or shared grants.
 * Only those grants reach this class.
 *
 * <p>Every state change and every file call of one file runs in its {@link SerialActor}, so no monitor is
 * held across I/O and callers never wait. The thread that finds the actor idle drains it itself when it may
 * make the non-blocking calls ({@code tryLock}, unlock: see {@link #inlineAllowed()}); otherwise, and
 * whenever a step must open or close the channel, the drain moves to the file scheduler. Subscriber-facing
 * signals (grants, errors, release completions) run after the draining thread let go of the actor.
 *
 * <pre>
 *   local grant ──request──► lock held shared and request shared? ── yes ──► a's path names this file?
 *                                      │ no                          holders++, next token, deliver : (*) for a
 *                                      ▼
 *                                  waiters += a ──► attempt: busy for longer than maxPollInterval and
 *                                                   unlocked for less than minPollInterval? ── yes ──► pause
 *                                                     │ no                     (fail try-only, poll later)
 *                                                     ▼
 *                                                   tryLock(whole file, shared?)   [opens the channel and
 *                                                     │                             maps the fencing counter
 *                                                     │                             if closed]
 *                                                     │ got it: the first waiter's path names this file?
 *                                                     │         holders += granted waiters, each takes the
 *                                                     │         next token, deliver : unlock, (*) for all
 *                                                     │ busy:   the first waiter's path names this file?
 *                                                     │         fail try-only waiters; poll again after
 *                                                     │         min·2ⁿ (capped at max, jittered) on the timer
 *                                                     │         : (*) for all
 *                                                     │ error:  fail all waiters with LockException
 *   (*) reroute: release the local grant, unref, look the file up again and queue for the file named now
 *   got it or busy, the first waiter's path naming this file: (*) for each waiter whose path (another one)
 *                                        does not (a stale remembered identity whose inode this file reused)
 *   release ──► holders -= a ; no holders left ? unlock ──► release the local grant ──► unref (registry)
 *   downgrade ──► holders = {a} exclusive ? convert the OS lock in place ({@link OsLock#downgrade()}),
 *                 holders = {a's shared successor} with the next token ──► downgrade the local grant, emit
 *                 : lost (or not convertible) ? a is told lost(), its local grant released, error
 *   any task ──► OS lock invalid (channel closed under us)? holders are told lost() ; lock = null
 *   while locked, every lockFileCheckInterval ──► holders whose path names another file (or none) are
 *                                        told lost() ; none left ? unlock
 * </pre>
 *
 * <p>Each acquisition with a local grant counts as a user of the entry ({@link LockFileRegistry#retain}) until
 * it gives the grant back ({@link #unref}); the registry then closes the channel of an idle entry (no user,
 * no OS lock, no waiter) after the grace period, in this actor, and drops the entry (see
 * {@link LockFileRegistry} for the races of that with new users). Until then the next acquisition neither
 * opens the file nor waits for the scheduler; an idle entry holds no OS lock.
 *
 * <p><b>Fairness towards other processes</b>: a process cannot tell another one that it waits for a POSIX
 * lock, and this JVM re-locks a file within microseconds of a release when local acquisitions keep
 * coming. So a <em>busy period</em> (the time since the file was last left unlocked for at least
 * {@code minPollInterval}) is bounded: once it lasted {@code maxPollInterval}, the next lock attempt waits
 * until the file has been unlocked for {@code minPollInterval}. Blocked {@code fcntl} waiters of other
 * processes are woken by the unlock and take the file meanwhile; polling ones get a window every
 * {@code maxPollInterval}.
 */
final class LockFile extends LockFileRegistry.Entry {

    /** JVM-wide fair queues, one per lock file identity. Never disposed. */
    static final InProcessLockService QUEUES = LockService.builder().build();

    private static final ClassValue<Boolean> EVENT_LOOP_THREADS = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            for (Class<?> c = type; c != null; c = c.getSuperclass()) {
                if (c.getName().equals("io.netty.util.concurrent.FastThreadLocalThread")) {
                    return true;
                }
            }
            return false;
        }
    };


    private final SerialActor actor = new SerialActor(LockFile::inlineAllowed);

    // Owned by the actor: read and written only inside tasks.
    private @Nullable FileChannel channel;
    /** The fencing counter of the file, mapped while {@link #channel} is open. */
    private @Nullable FencingCounter fencing;
    private @Nullable OsLock lock;
    /** Whether a path this file was locked through was found naming another file or none (see {@link #unnamed()}). */
    private boolean unnamed;
    /**
     * The acquisitions holding the OS lock. By identity, in an open-addressing table: adding and removing a
     * holder allocates nothing (a {@code LinkedHashSet} made a node per grant); order does not matter.
     */
    private final Set<FileAcquisition> holding = Collections.newSetFromMap(new IdentityHashMap<>(4));
    /** Channels of this file opened by other entries (see {@link #handOver}); closed once it is unlocked. */
    private final List<FileChannel> strays = new ArrayList<>(0);
    private final ArrayDeque<FileAcquisition> waiters = new ArrayDeque<>();
    private @Nullable Disposable pollTimer;
    private @Nullable Disposable checkTimer;
    /** The service whose timer runs {@link #checkTimer}. */
    private @Nullable FileLockService checkingFor;
    private long checkGeneration;
    private long pollGeneration;
    private int busyAttempts;
    private long unlockedAt;
    /** Whether this JVM unlocked the file since the entry was made ({@link #unlockedAt} is valid). */
    private boolean unlockedBefore;
    private long busySince;

    /** Made only by {@link LockFileRegistry#retain(String)}. */
    LockFile(String id) {
        super(id);
    }

    /**
     * Whether the current thread may make the non-blocking file calls ({@code tryLock}, unlock) itself:
     * any thread but Reactor's non-blocking ones and Netty (Vert.x) event loops. They return at once on a
     * local file system, but may wait for a lock manager on a network one, and BlockHound integrations may
     * count them as blocking. Opening and closing channels always run on the file scheduler.
     */
    static boolean inlineAllowed() {
        return !Schedulers.isInNonBlockingThread() && !EVENT_LOOP_THREADS.get(Thread.currentThread().getClass());
    }

    // ---------------------------------------------------------------- actor

    @Override
    void execute(SerialActor.Step step, Scheduler scheduler) {
        actor.execute(step, scheduler);
    }

    /** Queues a subscriber-facing signal; the draining thread runs it after letting go of the actor. */
    @Override
    void emit(Runnable signal) {
        actor.emit(signal);
    }

    @Override
    boolean unlockedWithoutWaiters() {
        return lock == null && waiters.isEmpty();
    }

    @Override
    boolean hasChannel() {
        return channel != null;
    }

    @Override
    boolean unnamed() {
        return unnamed;
    }

    // ---------------------------------------------------------------- operations (any thread)

    /** {@code a} holds its local grant and now needs the OS lock. */
    void request(FileAcquisition a) {
        execute(onScheduler -> onRequest(a, onScheduler), a.scheduler());
    }

    /**
     * {@code a} left before getting the OS lock (it is CANCELLED): forget it, release its local grant,
     * then run {@code after} (off the actor).
     */
    void abandon(FileAcquisition a, @Nullable Runnable after) {
        execute(onScheduler -> {
            waiters.remove(a);
            if (waiters.isEmpty()) {
                stopPolling();
            }
            a.releaseLocal();
            unref(a.service);
            if (after != null) {
                emit(after);
            }
            return true;
        }, a.scheduler());
    }

    /** {@code a} held the OS lock (it is RELEASED): unlock if it was the last holder, then the local grant. */
    void release(FileAcquisition a, Runnable after) {
        execute(onScheduler -> {
            checkLost();
            if (holding.remove(a) && holding.isEmpty()) {
                unlock(a.service);
            }
            a.releaseLocal();
            unref(a.service);
            emit(after);
            return true;
        }, a.scheduler());
    }

    /**
     * {@code a} held the OS lock exclusively and is DOWNGRADED now: converts the lock to a shared one in place
     * ({@link OsLock#downgrade()}) and grants it to {@code shared}, with the next fencing token taken while the
     * lock is still exclusive; then, off the actor, {@link FileAcquisition#downgraded} lets this JVM's shared
     * waiters follow and emits {@code shared}. A lock lost before, or one that could not be converted, is
     * given up: {@code a} is told it is lost, its local grant released, and the downgrade errors.
     */
    void downgrade(FileAcquisition a, FileAcquisition shared, MonoSink<LockHandle> sink) {
        execute(onScheduler -> {
            checkLost();
            OsLock l = lock;
            if (l == null || !holding.remove(a)) {
                giveUp(a, sink, "the lock was lost before (its file deleted or replaced, or its channel closed)",
                        null);
                return true;
            }
            long token = fencing().next();
            try {
                l.downgrade();
            } catch (IOException | RuntimeException e) {
                unlock(a.service); // the failed conversion released the lock
                giveUp(a, sink, "it could not be converted: " + e.getMessage(), e);
                return true;
            }
            if (shared.grantOs(token)) {
                holding.add(shared);
            }
            emit(() -> a.downgraded(shared, sink));
            return true;
        }, a.scheduler());
    }

    private void giveUp(FileAcquisition a, MonoSink<LockHandle> sink, String why, @Nullable Throwable cause) {
        a.markLost();
        a.releaseLocal();
        unref(a.service);
        LockLostException error = new LockLostException(a.name, "Lock '" + a.name + "' not downgraded and given up: "
                + why, cause);
        emit(() -> a.downgradeFailed(sink, error));
    }

    // ---------------------------------------------------------------- actor tasks

    private boolean onRequest(FileAcquisition a, boolean onScheduler) {
        if (!a.isOsPending()) {
            return true; // cancelled meanwhile: its abandon task cleans up
        }
        checkLost();
        OsLock held = lock;
        if (held != null && held.isShared() && a.mode == LockMode.SHARED) {
            // The local queue only lets a newcomer in next to current holders when both are shared. No lock is
            // taken for it, so no check after the lock: its path may name another file now (its identity may
            // have been remembered from before a replacement), and it joins only if not.
            if (!names(a.path(), false)) {
                unnamed = true;
                reroute(a);
                return true;
            }
            if (a.grantOs(fencing().next())) {
                holding.add(a);
                emit(a::deliver);
            }
            return true;
        }
        if (!onScheduler && channel == null) {
            return false; // opening the file may block
        }
        usedBy(a.service);
        waiters.add(a);
        attempt();
        return true;
    }

    private void attempt() {
        FileAcquisition first = waiters.peekFirst();
        if (first == null) {
            stopPolling();
            return;
        }
        FileLockConfig config = first.service.config();
        long now = first.service.now();
        long unlockedFor = unlockedBefore ? now - unlockedAt : Long.MAX_VALUE;
        if (unlockedFor >= config.minPollInterval().toNanos()) {
            busySince = now;
        } else if (!first.immediate() && now - busySince >= config.maxPollInterval().toNanos()) {
            // leave the file to other processes for a moment (see "Fairness towards other processes")
            busy(first, Duration.ofNanos(config.minPollInterval().toNanos() - unlockedFor));
            return;
        }
        OsLock acquired;
        try {
            FileChannel c = channel(first);
            if (c == null) {
                rerouteWaiters(); // the path names another file now, or none
                return;
            }
            acquired = OsLock.tryLock(c, first.mode == LockMode.SHARED);
        } catch (IOException | RuntimeException e) {
            failWaiters(e);
            return;
        }
        if (acquired == null) {
            if (!names(first.path(), false)) {
                unnamed = true;
                rerouteWaiters(); // busy, but a replaced file: the file the path names now may be free
                return;
            }
            rerouteOthers(first.path()); // waiting for this file, their path naming another: it may be free
            busy(first, null);
            return;
        }
        stopPolling();
        if (!names(first.path(), false)) {
            // Another process deleted or replaced the lock file since it was looked up (oslo's
            // remove_external_lock_file does), or since its identity was remembered: a lock on the old file
            // excludes nobody. Queue again for the file the path names now; this channel stays this (old)
            // file's until it is idle, then closes. This check is what makes a lock taken valid.
            unnamed = true;
            acquired.release();
            rerouteWaiters();
            return;
        }
        rerouteOthers(first.path()); // each grant holds the file its path names: not this one, for them
        lock = acquired;
        FencingCounter counter = fencing();
        for (FileAcquisition w : waiters) {
            if (w.grantOs(counter.next())) {
                holding.add(w);
                emit(w::deliver); // runs after this step, as every signal
            }
        }
        waiters.clear();
        if (holding.isEmpty()) {
            unlock(first.service); // every waiter left while we were locking
        } else {
            startChecking(first.service);
        }
    }

    /** The file is not to be locked now: fail try-only waiters, poll for the others after {@code delay}. */
    private void busy(FileAcquisition first, @Nullable Duration delay) {
        failImmediateWaiters();
        if (!waiters.isEmpty()) {
            schedulePoll(first, delay);
        }
    }

    private void failImmediateWaiters() {
        for (Iterator<FileAcquisition> it = waiters.iterator(); it.hasNext(); ) {
            FileAcquisition w = it.next();
            if (w.immediate() && w.abandonFromFile()) {
                it.remove();
                w.releaseLocal();
                unref(w.service);
                emit(w::busy);
            }
        }
    }

    /** The waiters' path no longer names this file: each one looks its file up again and queues there. */
    private void rerouteWaiters() {
        stopPolling();
        FileAcquisition w;
        while ((w = waiters.poll()) != null) {
            reroute(w);
        }
    }

    /**
     * Reroutes the waiters whose path, another than {@code named} (found naming this file), names another
     * file or none. Waiters of one file may come through several paths (hard links, bind mounts), and one of
     * them with a remembered identity may be stale: its file deleted, its inode given since to the file this
     * entry is for, whose shared waiters it joined in the in-JVM queue. One {@code stat} per other path, none
     * when all waiters came through {@code named}.
     */
    private void rerouteOthers(Path named) {
        Map<Path, Boolean> naming = null;
        for (Iterator<FileAcquisition> it = waiters.iterator(); it.hasNext(); ) {
            FileAcquisition w = it.next();
            Path p = w.path();
            if (p.equals(named)) {
                continue;
            }
            if (naming == null) {
                naming = new HashMap<>(4);
            }
            // not marked unnamed: the file keeps a name (the first waiter's), so its channel stays open
            if (!naming.computeIfAbsent(p, path -> names(path, false))) {
                it.remove();
                reroute(w);
            }
        }
    }

    /** {@code w}'s path no longer names this file: it looks its file up again and queues there, if it still waits. */
    private void reroute(FileAcquisition w) {
        if (w.reroute()) {
            w.releaseLocal();
            unref(w.service);
            emit(w::resolveAgain);
        }
    }

    /**
     * Whether {@code path} names this file now (one {@code stat}): false when no file is there, and
     * {@code ifUnreadable} when the {@code stat} fails otherwise (a waiter is then sent to look its file up
     * again; a holder keeps its lock rather than being told it lost it for an I/O error).
     */
    private boolean names(Path path, boolean ifUnreadable) {
        try {
            return id.equals(LockFiles.idOrNull(path));
        } catch (IOException e) {
            return ifUnreadable;
        }
    }

    private void failWaiters(Throwable error) {
        checkLost();
        stopPolling();
        FileAcquisition w;
        while ((w = waiters.poll()) != null) {
            if (w.abandonFromFile()) {
                w.releaseLocal();
                unref(w.service);
                String message = "Cannot lock file '" + w.path() + "' for lock '" + w.name + "' (" + w.mode + "): "
                        + error;
                LockException failure = new LockException(w.name, message, error);
                FileAcquisition failed = w;
                emit(() -> failed.failed(failure));
            }
        }
    }

    /** Polls after {@code delay}, or after the next back-off delay when {@code null}. */
    private void schedulePoll(FileAcquisition first, @Nullable Duration delay) {
        if (pollTimer != null) {
            return;
        }
        long generation = ++pollGeneration;
        Duration wait = delay != null ? delay : backoff(first.service.config(), busyAttempts++);
        Scheduler scheduler = first.scheduler();
        Runnable fire = () -> execute(onScheduler -> poll(generation, onScheduler), scheduler);
        pollTimer = first.service.schedule(fire, wait);
    }

    private boolean poll(long generation, boolean onScheduler) {
        if (generation != pollGeneration) {
            return true; // a stale timer: polling stopped (and maybe restarted) since
        }
        if (!onScheduler && channel == null) {
            return false;
        }
        pollTimer = null;
        attempt();
        return true;
    }

    private void stopPolling() {
        pollTimer = disposed(pollTimer);
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
        OsLock l = lock;
        if (l != null && !l.isValid()) {
            lock = null;
            stopChecking();
            for (FileAcquisition h : holding) {
                h.markLost();
            }
            holding.clear();
        }
        FileChannel c = channel;
        if (c != null && !c.isOpen()) {
            forgetChannel();
        }
    }

    /**
     * While the file is locked, checks every {@link FileLockConfig#lockFileCheckInterval()} (of the service
     * that locked it) that it was neither deleted nor replaced: see {@link #checkHeld}.
     *
     * <p>An unlock leaves a pending check in place, and the next lock reuses it: scheduling and cancelling a
     * timer task per grant woke the timer's thread twice per lock and release. A check that fires while the
     * file is unlocked does nothing and is not renewed; one that fires early for a lock taken after it was
     * scheduled only checks sooner. A pending check of a disposed service is replaced, since that
     * service's timer may never run it.
     */
    private void startChecking(FileLockService service) {
        FileLockService scheduledBy = checkingFor;
        if (checkTimer != null && scheduledBy != null && !scheduledBy.isDisposed()) {
            return;
        }
        stopChecking();
        long generation = ++checkGeneration;
        checkingFor = service;
        Runnable fire = () -> execute(onScheduler -> checkHeld(generation, service), service.scheduler());
        checkTimer = service.schedule(fire, service.config().lockFileCheckInterval());
    }

    private void stopChecking() {
        checkTimer = disposed(checkTimer);
        checkGeneration++;
    }

    /** Disposes {@code timer} if any; returns null, the value of a field holding no timer. */
    private static @Nullable Disposable disposed(@Nullable Disposable timer) {
        if (timer != null) {
            timer.dispose();
        }
        return null;
    }

    /**
     * A holder whose path no longer names this file (deleted, or another file renamed over it) excludes
     * nobody any more: the next process locks the file there now. Such holders are told through
     * {@link FileAcquisition#markLost()} (their local grants stay until they release), and the file is
     * unlocked when no holder is left. One {@code stat} per distinct path of the holders.
     */
    private boolean checkHeld(long generation, FileLockService service) {
        if (generation != checkGeneration) {
            return true; // a stale timer: checking stopped (the lock was lost, or the channel closed) since
        }
        checkTimer = null;
        if (lock == null) {
            return true; // unlocked since: the next lock schedules a new check
        }
        checkLost();
        Map<Path, Boolean> named = new HashMap<>();
        for (Iterator<FileAcquisition> it = holding.iterator(); it.hasNext(); ) {
            FileAcquisition h = it.next();
            if (!named.computeIfAbsent(h.path(), path -> names(path, true))) {
                unnamed = true;
                it.remove();
                h.markLost();
            }
        }
        if (lock != null && holding.isEmpty()) {
            unlock(service);
        }
        if (lock != null) {
            startChecking(service);
        }
        return true;
    }

    /** For tests: closes this JVM's channel of {@code path} as an interrupt would, dropping its OS lock. */
    static void closeChannelUnderHolders(Path path, Scheduler scheduler) {
        String id = LockFiles.existingId(path);
        LockFile f = id == null ? null : LockFileRegistry.find(id);
        if (f != null) {
            f.execute(onScheduler -> {
                FileChannel c = f.channel;
                if (!onScheduler && c != null) {
                    return false;
                }
                if (c != null) {
                    try {
                        c.close();
                    } catch (IOException e) {
                        Operators.onErrorDropped(e, Context.empty());
                    }
                }
                return true;
            }, scheduler);
        }
    }

    /**
     * This file's channel, opened through {@code through}'s path when closed.
     *
     * @return the channel, or null when that path no longer names this file
     */
    private @Nullable FileChannel channel(FileAcquisition through) throws IOException {
        FileChannel c = channel;
        if (c != null && c.isOpen()) {
            return c;
        }
        if (c != null) {
            forgetChannel();
        }
        Path p = through.path();
        try {
            c = LockFiles.open(p);
        } catch (NoSuchFileException e) {
            return null;
        }
        String opened = LockFiles.existingId(p);
        if (!id.equals(opened)) {
            handOver(opened, c, through.service);
            return null;
        }
        FencingCounter counter;
        try {
            counter = FencingCounter.open(p);
        } catch (IOException | RuntimeException e) {
            closeQuietly(c); // this entry holds no lock without a channel: closing drops none
            throw e;
        }
        channelOpened();
        channel = c;
        fencing = counter;
        return c;
    }

    private FencingCounter fencing() {
        return Objects.requireNonNull(fencing, "fencing counter of an open lock file");
    }

    /**
     * A channel opened on the file {@code other} (replaced at the path since it was looked up) is closed by
     * that file's entry, never while the entry holds a lock: closing it would drop that lock.
     */
    private static void handOver(@Nullable String other, FileChannel c, FileLockService service) {
        if (other == null) {
            // removed again at once: a lock on a file without a name excludes nobody, and the check of its
            // holders (if any in this JVM) reports them lost
            closeQuietly(c);
            return;
        }
        LockFile f = LockFileRegistry.retain(other);
        f.execute(onScheduler -> {
            if (!onScheduler) {
                return false;
            }
            if (f.lock == null) {
                closeQuietly(c);
            } else {
                f.strays.add(c);
            }
            f.unref(service);
            return true;
        }, service.scheduler());
    }

    private boolean closeStrays(boolean onScheduler) {
        if (!onScheduler) {
            return false;
        }
        if (lock == null) {
            strays.forEach(LockFile::closeQuietly);
            strays.clear();
        }
        return true;
    }

    private void forgetChannel() {
        channel = null;
        fencing = null;
        channelForgotten();
    }

    private void unlock(FileLockService by) {
        OsLock l = lock;
        lock = null;
        unlockedAt = by.now(); // a pending check stays (see startChecking)
        unlockedBefore = true;
        if (l != null) {
            l.release();
        }
        FileLockService user = lastUser();
        if (!strays.isEmpty() && user != null) {
            execute(this::closeStrays, user.scheduler());
        }
    }

    @Override
    void closeFile() {
        stopChecking();
        FileChannel c = channel;
        if (c != null) {
            forgetChannel();
            closeQuietly(c);
        }
        strays.forEach(LockFile::closeQuietly);
        strays.clear();
    }

    private static void closeQuietly(FileChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            Operators.onErrorDropped(e, Context.empty());
        }
    }

    @Override
    public String toString() {
        return "LockFile{" + id + "}";
    }
}
