package dev.reactivelocks.file;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.internal.Downgrades;
import dev.reactivelocks.internal.HeldLocks;
import dev.reactivelocks.spi.GrantDelivery;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.util.context.Context;

/**
 * One subscription to {@link FileLockService#acquire}: the subscriber of the local (in-JVM) grant, the
 * waiter for the OS lock and, once granted, the {@link LockHandle}.
 *
 * <pre>
 *          request(n)            local grant (onNext)          OS lock (in the file's actor)     release() or
 *   NEW ───────────► LOCAL_PENDING ─────────────► OS_PENDING ───────────────► GRANTED (held) ─────────► RELEASED
 *    │ cancel          │ cancel / timeout /          │ cancel / timeout /         │ deliver(): {@link GrantDelivery#emit};
 *    ▼                 │ dispose / try-busy          │ dispose / try-busy / I/O   │ a cancel before it releases, a
 * CANCELLED ◄──────────┘  (inner cancelled)           │ error (local grant         │ cancel after it is ignored
 *    ▲                                                │ released by the actor)     │ ({@link GrantDelivery#cancelGranted})
 *    └────────────────────────────────────────────────┘
 * </pre>
 *
 * One CAS on {@link #state} decides each race before the grant. A local grant that arrives after the
 * acquisition left LOCAL_PENDING is released at once; an OS lock obtained for a waiter that is no longer
 * OS_PENDING is not counted for it (and unlocked when nobody else wanted it). After the grant, the delivery
 * protocol shared by every acquisition decides: a cancel before the emission releases the grant (by the same
 * CAS GRANTED to RELEASED as {@link #release()}); from the emission on, the handle is the subscriber's. So
 * every local grant and every OS lock is either owned by the subscriber or released exactly once.
 */
final class FileAcquisition extends GrantDelivery implements LockHandle, Subscription, CoreSubscriber<LockHandle> {

    static final int NEW = 0;
    static final int LOCAL_PENDING = 1;
    static final int OS_PENDING = 2;
    static final int GRANTED = 3;
    static final int CANCELLED = 4;
    static final int RELEASED = 5;

    private static final VarHandle STATE;
    private static final VarHandle FINISHED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STATE = l.findVarHandle(FileAcquisition.class, "state", int.class);
            FINISHED = l.findVarHandle(FileAcquisition.class, "finished", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final FileLockService service;
    final String name;
    final String fileName;
    final LockMode mode;
    final @Nullable Duration timeout;
    final boolean tryOnly;
    final CoreSubscriber<? super LockHandle> actual;

    private volatile int state;
    private volatile boolean finished;
    private volatile @Nullable Subscription inner;
    private volatile @Nullable Disposable timer;
    private volatile @Nullable Path path;
    /** The identity (device and inode) of the lock file {@link #path} named when it was resolved. */
    private volatile @Nullable String fileId;
    private volatile @Nullable LockHandle local;
    private volatile @Nullable LockFile file;
    private volatile boolean lost;
    private volatile long token;
    private final Sinks.Empty<Void> lostSignal = Sinks.empty();

    FileAcquisition(FileLockService service, String name, String fileName, LockMode mode,
                    @Nullable Duration timeout, boolean tryOnly, CoreSubscriber<? super LockHandle> actual) {
        this.service = service;
        this.name = name;
        this.fileName = fileName;
        this.mode = mode;
        this.timeout = timeout;
        this.tryOnly = tryOnly;
        this.actual = actual;
    }

    private boolean casState(int expected, int next) {
        return STATE.compareAndSet(this, expected, next);
    }

    Scheduler scheduler() {
        return service.scheduler();
    }

    /** Whether this acquisition must not wait: {@code tryAcquire}, or a zero timeout. */
    boolean immediate() {
        return tryOnly || Duration.ZERO.equals(timeout);
    }

    // ---------------------------------------------------------------- downstream subscription

    @Override
    public void request(long n) {
        if (n <= 0) {
            if (emitted()) {
                return; // the subscription has completed: nothing to cancel or signal (rules 3.6, 1.7)
            }
            cancel();
            actual.onError(Exceptions.nullOrNegativeRequestException(n));
            return;
        }
        if (!casState(NEW, LOCAL_PENDING)) {
            return;
        }
        if (!service.register(this)) {
            return; // closed: register failed this acquisition
        }
        Duration t = timeout;
        if (t != null && !t.isZero()) {
            startTimer(t);
        }
        service.resolveLockFile(this);
    }

    private void startTimer(Duration t) {
        Disposable task;
        try {
            task = service.timer().schedule(() -> fail(new LockTimeoutException(name, mode, t)),
                    t.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            fail(e);
            return;
        }
        timer = task;
        int s = state;
        if (s != LOCAL_PENDING && s != OS_PENDING) {
            task.dispose();
        }
    }

    private void disposeTimer() {
        Disposable t = timer;
        if (t != null) {
            t.dispose();
        }
    }

    @Override
    public void cancel() {
        noteCancel();
        for (;;) {
            int s = state;
            if (s == NEW) {
                if (casState(NEW, CANCELLED)) {
                    return;
                }
            } else if (s == LOCAL_PENDING) {
                if (casState(LOCAL_PENDING, CANCELLED)) {
                    disposeTimer();
                    cancelInner();
                    finish();
                    return;
                }
            } else if (s == OS_PENDING) {
                if (casState(OS_PENDING, CANCELLED)) {
                    disposeTimer();
                    fileOrFail().abandon(this, this::finish);
                    return;
                }
            } else if (s == GRANTED || s == RELEASED) {
                cancelGranted(); // released if not emitted yet, else ignored
                return;
            } else {
                return;
            }
        }
    }

    /** Leaves before the grant and signals {@code error} (timeout, dispose, setup failure). */
    void fail(Throwable error) {
        for (;;) {
            int s = state;
            if (s == LOCAL_PENDING) {
                if (casState(LOCAL_PENDING, CANCELLED)) {
                    disposeTimer();
                    cancelInner();
                    failed(error);
                    return;
                }
            } else if (s == OS_PENDING) {
                if (casState(OS_PENDING, CANCELLED)) {
                    disposeTimer();
                    fileOrFail().abandon(this, () -> failed(error));
                    return;
                }
            } else {
                return; // granted, cancelled or finished already
            }
        }
    }

    /** Signals a terminal error; the acquisition holds nothing any more. */
    void failed(Throwable error) {
        disposeTimer();
        try {
            if (!cancelRequested()) { // nothing is signalled after a cancel
                actual.onError(error);
            }
        } finally {
            finish();
        }
    }

    /** The lock was busy and this acquisition must not wait: complete empty or error with a zero timeout. */
    void busy() {
        disposeTimer();
        try {
            if (cancelRequested()) {
                return; // nothing is signalled after a cancel
            }
            if (tryOnly) {
                actual.onComplete();
            } else {
                actual.onError(new LockTimeoutException(name, mode, Duration.ZERO));
            }
        } finally {
            finish();
        }
    }

    private void finish() {
        if (FINISHED.compareAndSet(this, false, true)) {
            service.finished(this);
        }
    }

    private LockFile fileOrFail() {
        LockFile f = file;
        if (f == null) {
            throw new IllegalStateException("no lock file entry for " + this);
        }
        return f;
    }

    // ---------------------------------------------------------------- local queue

    /**
     * The lock file is known by its real path and identity: queue in the JVM-wide queue of that file, which
     * every path of the file (hard links, bind mounts) shares.
     */
    void enqueue(Path realPath, String id) {
        path = realPath;
        fileId = id;
        if (state != LOCAL_PENDING) {
            return;
        }
        LockHandle held = HeldLocks.find(actual.currentContext(),
                h -> h instanceof FileAcquisition f && id.equals(f.fileId));
        if (held != null) {
            fail(reentry(held));
            return;
        }
        Mono<LockHandle> localGrant = immediate()
                ? LockFile.QUEUES.tryAcquire(id, LockOptions.of(mode))
                : LockFile.QUEUES.acquire(id, LockOptions.of(mode));
        localGrant.subscribe(this);
    }

    /** Re-entry through another name, path or service of the same lock file (see {@link HeldLocks}). */
    private IllegalLockStateException reentry(LockHandle held) {
        String same = "Lock '" + name + "' is the lock file of '" + held.name() + "', held ";
        return new IllegalLockStateException(name, held.mode() == LockMode.SHARED && mode == LockMode.EXCLUSIVE
                ? same + "SHARED by this pipeline; upgrading to EXCLUSIVE would deadlock"
                : same + "(" + held.mode() + ") by this pipeline; locks are not reentrant");
    }

    @Override
    public void onSubscribe(Subscription s) {
        inner = s;
        if (state == CANCELLED) {
            s.cancel();
        } else {
            s.request(1);
        }
    }

    private void cancelInner() {
        Subscription s = inner;
        if (s != null) {
            s.cancel();
        }
    }

    @Override
    public void onNext(LockHandle grant) {
        local = grant;
        String id = fileId;
        if (id == null) {
            throw new IllegalStateException("local grant before the lock file was known: " + this);
        }
        LockFile f = LockFile.retain(id);
        file = f;
        if (casState(LOCAL_PENDING, OS_PENDING)) {
            f.request(this);
        } else {
            f.abandon(this, null); // cancelled while the grant was on its way: give it back
        }
    }

    @Override
    public void onError(Throwable t) {
        if (casState(LOCAL_PENDING, CANCELLED)) {
            failed(t);
        } else {
            Operators.onErrorDropped(t, actual.currentContext());
        }
    }

    @Override
    public void onComplete() {
        if (local == null && casState(LOCAL_PENDING, CANCELLED)) {
            busy(); // tryAcquire on the local queue found it busy
        }
    }

    @Override
    public Context currentContext() {
        return actual.currentContext();
    }

    /** Releases the local grant, if any; called by the file's actor after the OS lock is handled. */
    void releaseLocal() {
        LockHandle h = local;
        if (h != null) {
            h.release().subscribe(null, e -> Operators.onErrorDropped(e, Context.empty()));
        }
    }

    // ---------------------------------------------------------------- OS lock (called by the file's actor)

    boolean isOsPending() {
        return state == OS_PENDING;
    }

    /** The path through which this acquisition locks the file. */
    Path path() {
        return Objects.requireNonNull(path, "path");
    }

    /**
     * The path no longer names the file this acquisition queued for (it was deleted or replaced meanwhile):
     * back to LOCAL_PENDING, if it still waits. The caller releases the local grant, then calls
     * {@link #resolveAgain()}.
     */
    boolean reroute() {
        return casState(OS_PENDING, LOCAL_PENDING);
    }

    /** Looks the lock file up again and queues for the file the path names now (after {@link #reroute()}). */
    void resolveAgain() {
        local = null;
        file = null;
        service.resolveLockFile(this);
    }

    /**
     * The OS lock is held for this acquisition, if it still waits; {@code fencingToken} is then its token
     * (taken from the file's {@link FencingCounter} while the lock is held, before the grant is delivered).
     */
    boolean grantOs(long fencingToken) {
        if (casState(OS_PENDING, GRANTED)) {
            token = fencingToken;
            return true;
        }
        return false;
    }

    /** The file leaves this waiter (try-busy or I/O error); the caller releases and signals. */
    boolean abandonFromFile() {
        if (casState(OS_PENDING, CANCELLED)) {
            disposeTimer();
            return true;
        }
        return false;
    }

    /** Emits the handle, or releases it when the subscriber cancelled after the OS grant. */
    void deliver() {
        disposeTimer();
        service.delivered(this);
        emit(actual, this);
    }

    @Override
    protected void releaseGranted() {
        if (casState(GRANTED, RELEASED)) {
            fileOrFail().release(this, this::finish);
        }
    }

    // ---------------------------------------------------------------- LockHandle

    @Override
    public String name() {
        return name;
    }

    @Override
    public LockMode mode() {
        return mode;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Taken from the lock file's counter, shared by every process using this library on the lock
     * directory (see {@link FileLockService}, <b>Fencing tokens</b>); 0 before the grant.
     */
    @Override
    public long fencingToken() {
        return token;
    }

    @Override
    public boolean isHeld() {
        return state == GRANTED && !lost;
    }

    /** The OS lock was dropped while this grant held it (called by the file's actor). */
    void markLost() {
        lost = true;
        lostSignal.tryEmitEmpty();
    }

    @Override
    public Mono<Void> release() {
        return Mono.create(sink -> {
            if (casState(GRANTED, RELEASED)) {
                fileOrFail().release(this, () -> {
                    finish();
                    sink.success();
                });
            } else {
                sink.success();
            }
        });
    }

    /**
     * Completes if the lock stopped excluding other processes before the release: the lock file was
     * deleted or replaced at the holder's path (detected within {@link FileLockConfig#lockFileCheckInterval()}),
     * or this JVM's channel of the file was closed under it (detected at the next operation of this JVM on
     * the file or at that check). Never completes after a regular release.
     */
    @Override
    public Mono<Void> lost() {
        return lostSignal.asMono();
    }

    /**
     * {@inheritDoc}
     *
     * <p>File locks cannot be downgraded: the POSIX record lock could be converted in place
     * ({@code fcntl(F_SETLK, F_RDLCK)} on the held region), but Java's {@code FileChannel} refuses a second
     * lock on a region this JVM holds ({@code OverlappingFileLockException}), so the only way there is to
     * unlock and lock again, which lets another process's writer in between. An exclusive handle errors with
     * {@link UnsupportedOperationException} and keeps the lock exclusively; release it and acquire the lock
     * shared instead, where a writer getting in between is acceptable.
     */
    @Override
    public Mono<LockHandle> downgrade() {
        return Mono.defer(() -> {
            IllegalLockStateException refused = Downgrades.refusal(this);
            return Mono.error(refused != null ? refused : new UnsupportedOperationException("File lock '" + name
                    + "' cannot be downgraded atomically: Java's FileChannel refuses to convert a held lock in "
                    + "place, and unlocking first would let another process's writer in; the handle still "
                    + "holds the lock EXCLUSIVE"));
        });
    }

    @Override
    public String toString() {
        return "FileLockHandle{name='" + name + "', mode=" + mode + ", file=" + path + ", fencingToken="
                + fencingToken() + ", held=" + isHeld() + "}";
    }
}
