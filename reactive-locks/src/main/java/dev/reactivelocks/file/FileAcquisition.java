package dev.reactivelocks.file;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockLostException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.internal.AcquisitionCore;
import dev.reactivelocks.internal.Downgrades;
import dev.reactivelocks.internal.HeldLocks;
import dev.reactivelocks.internal.SynchronousRelease;
import dev.reactivelocks.spi.GrantDelivery;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
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
 *    └────────────────────────────────────────────────┘         │ downgrade() (exclusive only)
 *                                                                  ▼
 *                          DOWNGRADED: the {@link #successor}, a shared grant of the same local and OS lock,
 *                          holds the lock once the file's actor converted it; release() releases the successor
 * </pre>
 *
 * The state word, the request rules, the deadline and the cancel loop are the {@link AcquisitionCore}'s; one
 * CAS on its state decides each race before the grant. In LOCAL_PENDING the acquisition may leave the in-JVM
 * queue of a file and enter another's, staying LOCAL_PENDING: its path named another file than its identity
 * ({@link #reroute()}, or the check of a remembered identity waiting in a busy queue, {@link QueuedCheck},
 * whose own CAS decides between the local grant and leaving). A local grant that arrives after the
 * acquisition left LOCAL_PENDING is released at once; an OS lock obtained for a waiter that is no longer
 * OS_PENDING is not counted for it (and unlocked when nobody else wanted it). After the grant, the delivery
 * protocol shared by every acquisition decides: a cancel before the emission releases the grant (by the same
 * CAS GRANTED to RELEASED as {@link #release()}); from the emission on, the handle is the subscriber's. So
 * every local grant and every OS lock is either owned by the subscriber or released exactly once.
 */
final class FileAcquisition extends AcquisitionCore implements LockHandle, CoreSubscriber<LockHandle> {

    static final int LOCAL_PENDING = PENDING;
    static final int OS_PENDING = PENDING + 1;
    static final int GRANTED = PENDING + 2;
    static final int RELEASED = PENDING + 3;
    /** Replaced by the shared grant {@link #successor} ({@link #downgrade()}); not held any more. */
    static final int DOWNGRADED = PENDING + 4;

    private static final VarHandle FINISHED;
    private static final VarHandle UNCOMPLETED_GRANTS;
    private static final VarHandle LOST_SIGNAL;
    private static final VarHandle RELEASE_ON_GRANT;

    static {
        try {
            FINISHED = MethodHandles.lookup().findVarHandle(FileAcquisition.class, "finished", boolean.class);
            UNCOMPLETED_GRANTS = MethodHandles.lookup().findVarHandle(FileAcquisition.class, "uncompletedGrants",
                    int.class);
            LOST_SIGNAL = MethodHandles.lookup().findVarHandle(FileAcquisition.class, "lostSignal", Sinks.Empty.class);
            RELEASE_ON_GRANT = MethodHandles.lookup().findVarHandle(FileAcquisition.class, "releaseOnGrant",
                    ReleaseSignal.class);
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

    private volatile boolean finished;
    /**
     * Local grants received ({@link #onNext}) whose subscription has not completed yet. A local grant given
     * back to look the file up again ({@link #reroute()}) may complete after the next lookup started, on
     * another thread: its completion must not be taken for a busy {@code tryAcquire} of the local queue.
     */
    private volatile int uncompletedGrants;
    private volatile @Nullable Subscription inner;
    private volatile @Nullable Path path;
    /** The identity (device and inode) of the lock file {@link #path} named when it was resolved. */
    private volatile @Nullable String fileId;
    /**
     * Whether {@link #fileId} was remembered by the service rather than looked up, and the in-JVM queue has
     * not been found busy since (see {@link #enqueue} and {@link #onComplete()}).
     */
    private volatile boolean remembered;
    private volatile @Nullable LockHandle local;
    private volatile @Nullable LockFile file;
    private volatile boolean lost;
    private volatile long token;
    /**
     * The acquisition whose {@link #lostSignal} this one's {@link #lost()} is: itself, or for a downgrade's
     * {@link #successor} the downgraded handle's (the loss of the shared grant is that handle's loss too).
     */
    private final FileAcquisition lostRoot;
    /**
     * Of the {@link #lostRoot} only: made by the first {@link #lost()} ({@link #lostSignal()}); most
     * acquisitions never ask, and a loss before that is kept in {@link #chainLost}.
     */
    private volatile Sinks.@Nullable Empty<Void> lostSignal;
    /** Of the {@link #lostRoot} only: a handle of the chain was lost; {@link #lostSignal} completes. */
    private volatile boolean chainLost;
    /**
     * A release of this downgrade's shared grant asked before the file's actor granted it: taken (set to null)
     * by whoever completes it, the grant ({@link #grantOs}), the failed downgrade ({@link #downgradeFailed}) or
     * the release itself ({@link #release(ReleaseSignal)}).
     */
    private volatile @Nullable ReleaseSignal releaseOnGrant;
    /** The shared grant that replaces this one ({@link #downgrade()}); written before the state becomes DOWNGRADED. */
    private volatile @Nullable FileAcquisition successor;

    FileAcquisition(FileLockService service, String name, String fileName, LockMode mode,
                    @Nullable Duration timeout, boolean tryOnly, CoreSubscriber<? super LockHandle> actual) {
        this(service, name, fileName, mode, timeout, tryOnly, actual, null);
    }

    private FileAcquisition(FileLockService service, String name, String fileName, LockMode mode,
                            @Nullable Duration timeout, boolean tryOnly, CoreSubscriber<? super LockHandle> actual,
                            @Nullable FileAcquisition lostRoot) {
        super(actual);
        this.service = service;
        this.name = name;
        this.fileName = fileName;
        this.mode = mode;
        this.timeout = timeout;
        this.tryOnly = tryOnly;
        this.lostRoot = lostRoot != null ? lostRoot : this;
    }

    /**
     * The shared grant replacing {@code exclusive} ({@link #downgrade()}): the same file, path and local grant
     * (whose release, once the in-JVM queue downgraded it, releases the local shared grant); granted by the
     * file's actor. It counts as the active acquisition that {@code exclusive} was, and finishes for it.
     */
    private FileAcquisition(FileAcquisition exclusive) {
        this(exclusive.service, exclusive.name, exclusive.fileName, LockMode.SHARED, null, false, exclusive.actual,
                exclusive.lostRoot);
        this.path = exclusive.path;
        this.fileId = exclusive.fileId;
        this.local = exclusive.local;
        this.file = exclusive.file;
        initState(OS_PENDING);
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
    protected void start() {
        if (!service.register(this)) {
            return; // closed: register failed this acquisition
        }
        Duration t = timeout;
        if (t != null && !t.isZero()) {
            startDeadline(service.timer(), t.toNanos(), () -> new LockTimeoutException(name, mode, t));
        }
        service.resolveLockFile(this);
    }

    @Override
    protected boolean waiting(int state) {
        return state == LOCAL_PENDING || state == OS_PENDING;
    }

    @Override
    protected void left(int from, @Nullable Throwable error) {
        if (from == LOCAL_PENDING) {
            cancelInner();
            if (error == null) {
                finish();
            } else {
                failed(error);
            }
        } else {
            fileOrFail().abandon(this, error == null ? this::finish : () -> failed(error));
        }
    }

    /** Signals a terminal error; the acquisition holds nothing any more. */
    void failed(Throwable error) {
        disposeDeadline();
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
        disposeDeadline();
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
     * every path of the file (hard links, bind mounts) shares. An identity {@code remembered} from an earlier
     * lookup first only tries that queue: when it is busy, the acquisition waits there at once, keeping its
     * place, while its path is checked (see {@link #onComplete()}); and it is looked up before a re-entry is
     * refused.
     */
    void enqueue(Path realPath, String id, boolean remembered) {
        path = realPath;
        fileId = id;
        this.remembered = remembered;
        if (state() != LOCAL_PENDING) {
            return;
        }
        Context context = actual.currentContext();
        LockHandle held = !HeldLocks.any(context) ? null
                : HeldLocks.find(context, h -> h instanceof FileAcquisition f && id.equals(f.fileId));
        if (held != null) {
            if (remembered) {
                // a remembered identity may be stale, and its inode reused since by the file held here
                this.remembered = false;
                service.resolveLockFileAgain(this, realPath, id);
            } else {
                fail(reentry(held));
            }
            return;
        }
        Mono<LockHandle> localGrant = remembered || immediate()
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
        if (state() == CANCELLED) {
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
        UNCOMPLETED_GRANTS.getAndAdd(this, 1); // before the request: the file may give the grant back at once
        LockFile f = LockFileRegistry.retain(id);
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
        if (completesGrant()) {
            return; // the completion after a local grant (maybe one given back since, see uncompletedGrants)
        }
        if (local != null) {
            return;
        }
        if (remembered) {
            // The queue of a remembered identity is busy: it may be the queue of a file deleted or replaced
            // since, held by holders told it is lost, or of another file that reused the inode.
            remembered = false;
            if (state() != LOCAL_PENDING) {
                return;
            }
            if (immediate()) {
                // a try keeps no place: look the file up, then try (or be busy in) the queue of the file there;
                // a busy queue does not make the identity stale, so it stays remembered for the others (the
                // lookup remembers what it finds)
                service.lookUpAgain(this);
            } else {
                waitAndCheckPath();
            }
        } else if (casState(LOCAL_PENDING, CANCELLED)) {
            busy(); // tryAcquire on the local queue found it busy
        }
    }

    /**
     * The busy in-JVM queue of a remembered identity: waits in it now, so that no acquisition subscribed later
     * gets ahead (a lookup first may run on the file scheduler, after a later acquisition's lookup ran inline),
     * and meanwhile checks with one {@code stat} (inline where the thread may block, else on the scheduler)
     * that the path still names the file of that identity. When it names another file or none, the
     * acquisition leaves the queue, unless its local grant came first, and looks its file up again: the
     * queue's holders may hold a file deleted or replaced since, or another file that reused the inode, and
     * would keep it waiting for a file that is not its own. A local grant that came first is checked by the
     * lock file as every grant is: a waiter whose path names another file is rerouted there (see
     * {@link LockFile}), so a stale identity is neither granted nor kept waiting by another file's lock.
     */
    private void waitAndCheckPath() {
        Path p = path();
        String id = Objects.requireNonNull(fileId, "fileId");
        QueuedCheck queued = new QueuedCheck(this);
        LockFile.QUEUES.acquire(id, LockOptions.of(mode)).subscribe(queued);
        if (LockFile.inlineAllowed()) {
            queued.check(p, id);
            return;
        }
        try {
            service.scheduler().schedule(() -> queued.check(p, id));
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    /**
     * The subscriber of a local-queue wait whose path is being checked ({@link #waitAndCheckPath()}): forwards
     * to the acquisition until the check makes it leave the queue; one CAS decides between the local grant
     * and leaving. A grant that arrives after the acquisition left is released here: it is nobody's.
     */
    private static final class QueuedCheck implements CoreSubscriber<LockHandle> {

        private static final int WAITING = 0;
        private static final int GRANTED = 1;
        private static final int LEFT = 2;
        private static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(QueuedCheck.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final FileAcquisition acquisition;
        private volatile int state;
        private volatile @Nullable Subscription subscription;

        QueuedCheck(FileAcquisition acquisition) {
            this.acquisition = acquisition;
        }

        /**
         * Checks that {@code path} still names the file {@code id} (one {@code stat}); when it names another
         * file or none, leaves the queue, if no local grant came first, and looks the file up again.
         */
        void check(Path path, String id) {
            if (state != WAITING || acquisition.state() != LOCAL_PENDING) {
                return; // granted or gone meanwhile: nothing to check here
            }
            String named;
            try {
                named = LockFiles.idOrNull(path);
            } catch (IOException e) {
                named = null; // unreadable: look it up again, as a waiter whose path the lock file cannot read
            }
            if (id.equals(named) || !STATE.compareAndSet(this, WAITING, LEFT)) {
                return;
            }
            Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
            acquisition.service.resolveLockFileAgain(acquisition, path, id);
        }

        @Override
        public void onSubscribe(Subscription s) {
            subscription = s;
            acquisition.onSubscribe(s);
        }

        @Override
        public void onNext(LockHandle grant) {
            if (STATE.compareAndSet(this, WAITING, GRANTED)) {
                acquisition.onNext(grant);
            } else {
                releaseGrant(grant); // came after the acquisition left this queue
            }
        }

        @Override
        public void onError(Throwable t) {
            if (state != LEFT) {
                acquisition.onError(t);
            } else {
                Operators.onErrorDropped(t, acquisition.currentContext());
            }
        }

        @Override
        public void onComplete() {
            if (state != LEFT) {
                acquisition.onComplete();
            }
        }

        @Override
        public Context currentContext() {
            return acquisition.currentContext();
        }
    }

    /** Counts off one of the {@link #uncompletedGrants}; false when there is none (an empty completion). */
    private boolean completesGrant() {
        for (int n = uncompletedGrants; n > 0; n = uncompletedGrants) {
            if (UNCOMPLETED_GRANTS.compareAndSet(this, n, n - 1)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Context currentContext() {
        return actual.currentContext();
    }

    /** Releases the local grant, if any; called by the file's actor after the OS lock is handled. */
    void releaseLocal() {
        LockHandle h = local;
        if (h != null) {
            releaseGrant(h);
        }
    }

    /** Releases a grant of the in-JVM queue, reporting a failure to {@code Hooks.onErrorDropped}. */
    private static void releaseGrant(LockHandle h) {
        if (h instanceof SynchronousRelease now) { // the in-JVM queue's grant: no publisher needed
            try {
                now.releaseNow();
            } catch (Throwable e) {
                Exceptions.throwIfJvmFatal(e);
                Operators.onErrorDropped(e, Context.empty());
            }
        } else {
            h.release().subscribe(null, e -> Operators.onErrorDropped(e, Context.empty()));
        }
    }

    // ---------------------------------------------------------------- OS lock (called by the file's actor)

    boolean isOsPending() {
        return state() == OS_PENDING;
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
        service.resolveLockFileAgain(this, path(), Objects.requireNonNull(fileId, "fileId"));
    }

    /**
     * The OS lock is held for this acquisition, if it still waits; {@code fencingToken} is then its token
     * (taken from the file's {@link FencingCounter} while the lock is held, before the grant is delivered).
     */
    boolean grantOs(long fencingToken) {
        if (casState(OS_PENDING, GRANTED)) {
            token = fencingToken;
            ReleaseSignal release = takeReleaseOnGrant();
            if (release != null) { // a downgrade's shared grant whose release was asked before this grant
                if (casState(GRANTED, RELEASED)) {
                    releaseHeld(release);
                } else {
                    release.success(); // another release came since and releases it
                }
            }
            return true;
        }
        return false;
    }

    /** The file leaves this waiter (try-busy or I/O error); the caller releases and signals. */
    boolean abandonFromFile() {
        if (casState(OS_PENDING, CANCELLED)) {
            disposeDeadline();
            return true;
        }
        return false;
    }

    /** Emits the handle, or releases it when the subscriber cancelled after the OS grant. */
    void deliver() {
        disposeDeadline();
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
        return state() == GRANTED && !lost;
    }

    /** The OS lock was dropped while this grant held it (called by the file's actor). */
    void markLost() {
        lost = true;
        FileAcquisition root = lostRoot;
        root.chainLost = true;
        Sinks.Empty<Void> signal = root.lostSignal;
        if (signal != null) { // else lostSignal() sees chainLost when it makes the sink
            signal.tryEmitEmpty();
        }
    }

    /**
     * The {@link #lostRoot}'s loss signal, made on first use. A loss and the first use may race: each writes
     * its volatile (chainLost, the sink), then reads the other's, so at least one of them completes the sink
     * (completing it twice is harmless).
     */
    private Sinks.Empty<Void> lostSignal() {
        FileAcquisition root = lostRoot;
        Sinks.Empty<Void> signal = root.lostSignal;
        if (signal == null) {
            Sinks.Empty<Void> made = Sinks.empty();
            signal = LOST_SIGNAL.compareAndExchange(root, null, made) instanceof Sinks.Empty<?> other
                    ? castSignal(other) : made;
            if (root.chainLost) {
                signal.tryEmitEmpty();
            }
        }
        return signal;
    }

    @SuppressWarnings("unchecked")
    private static Sinks.Empty<Void> castSignal(Sinks.Empty<?> signal) {
        return (Sinks.Empty<Void>) signal;
    }

    @Override
    public Mono<Void> release() {
        return ReleaseMono.of(this);
    }

    /** What each subscription to {@link #release()} does; {@code signal} tells its subscriber. */
    private void release(ReleaseSignal signal) {
        if (state() == OS_PENDING) {
            // only a downgrade's shared grant is released before its grant (through the downgraded handle,
            // while the file's actor converts the lock): the grant releases it and completes the signal once
            // the file did (grantOs), or the failed downgrade completes it (downgradeFailed). Each moves the
            // state on, then takes the signal; one that moved it before the signal was there leaves it here.
            ReleaseSignal earlier = (ReleaseSignal) RELEASE_ON_GRANT.getAndSet(this, signal);
            if (earlier != null) {
                earlier.success(); // a release asked twice: this one releases
            }
            if (state() == OS_PENDING || !RELEASE_ON_GRANT.compareAndSet(this, signal, null)) {
                return; // completed by the grant or the failed downgrade
            }
        }
        if (casState(GRANTED, RELEASED)) {
            releaseHeld(signal);
        } else if (state() == DOWNGRADED) {
            Objects.requireNonNull(successor, "downgraded without successor").release()
                    .subscribe(null, signal::error, signal::success);
        } else {
            signal.success();
        }
    }

    /**
     * Completes if the lock stopped excluding other processes before the release: the lock file was
     * deleted or replaced at the holder's path (detected within {@link FileLockConfig#lockFileCheckInterval()}),
     * or this JVM's channel of the file was closed under it (detected at the next operation of this JVM on
     * the file or at that check). Never completes after a regular release.
     */
    @Override
    public Mono<Void> lost() {
        return lostSignal().asMono();
    }

    /**
     * {@inheritDoc}
     *
     * <p>File locks: in the file's actor, the guard byte past the exclusive OS lock's range is read-locked,
     * then that range converted to a read lock, so that at every instant a range excludes other processes'
     * writers (see {@link OsLock});
     * then this JVM's queue of the file is downgraded, which lets its waiting shared requests through. The
     * shared grant takes the file's next fencing token while the lock is still exclusive. A lock that was lost
     * before, or that another process's lock on part of the file keeps from being converted, is given up:
     * the {@code Mono} errors with {@link LockLostException} and {@link #lost()} completes. Signalled on the
     * thread that made the file calls (see {@link FileLockService}, <b>Threading</b>).
     */
    @Override
    public Mono<LockHandle> downgrade() {
        return Downgrades.deliver(() -> {
            IllegalLockStateException refused = Downgrades.refusal(this);
            if (refused != null) {
                return Mono.error(refused);
            }
            FileAcquisition shared = new FileAcquisition(this);
            successor = shared;
            if (!casState(GRANTED, DOWNGRADED)) {
                return Mono.error(Downgrades.notHeld(this));
            }
            return Mono.create(sink -> fileOrFail().downgrade(this, shared, sink));
        });
    }

    /**
     * The OS lock is shared now and held by {@code shared} (called off the file's actor): downgrades the local
     * grant, so that this JVM's shared waiters follow, then emits {@code shared}. A release of {@code shared}
     * that came first released the local grant already; its downgrade is then refused, and that is all.
     */
    void downgraded(FileAcquisition shared, MonoSink<LockHandle> sink) {
        LockHandle l = local;
        if (l != null) {
            l.downgrade().subscribe(null, e -> {
                if (!(e instanceof IllegalLockStateException)) {
                    Operators.onErrorDropped(e, Context.empty());
                }
            });
        }
        sink.success(shared);
    }

    /** The downgrade gave the lock up (the file's actor released the local grant): signals {@code error}. */
    void downgradeFailed(MonoSink<LockHandle> sink, Throwable error) {
        casState(DOWNGRADED, RELEASED);
        finish();
        FileAcquisition shared = successor;
        ReleaseSignal release = null;
        if (shared != null) {
            shared.casState(OS_PENDING, CANCELLED); // never granted: a release asked from now on completes at once
            release = shared.takeReleaseOnGrant();
        }
        if (release != null) {
            release.success(); // the lock was given up: nothing is left to release
        }
        sink.error(error);
    }

    /** Takes the {@link #releaseOnGrant} signal, if any, to complete it. */
    private @Nullable ReleaseSignal takeReleaseOnGrant() {
        return (ReleaseSignal) RELEASE_ON_GRANT.getAndSet(this, null);
    }

    /**
     * Releases this held grant (state already RELEASED) and completes {@code signal} once the file did (the
     * signal of one of this acquisition's own {@link #release()} subscriptions, which finishes it first).
     */
    private void releaseHeld(ReleaseSignal signal) {
        fileOrFail().release(this, signal);
    }

    /**
     * The publisher of {@link #release()}, made per call without a {@code Mono.create} (its sink, its lambda
     * and the completion lambda were most of a release's objects): each subscription releases (idempotent)
     * and completes once the file did.
     */
    private static final class ReleaseMono extends Mono<Void> {

        private final FileAcquisition acquisition;

        private ReleaseMono(FileAcquisition acquisition) {
            this.acquisition = acquisition;
        }

        static Mono<Void> of(FileAcquisition acquisition) {
            return onAssembly(new ReleaseMono(acquisition));
        }

        @Override
        public void subscribe(CoreSubscriber<? super Void> actual) {
            ReleaseSignal signal = new ReleaseSignal(acquisition, actual);
            actual.onSubscribe(signal);
            try {
                acquisition.release(signal);
            } catch (Throwable e) {
                Exceptions.throwIfJvmFatal(e);
                signal.error(Operators.onOperatorError(e, actual.currentContext()));
            }
        }
    }

    /**
     * One subscription to {@link #release()}: completes (or errors) its subscriber once, and not after a
     * cancel, which does not stop the release (as a {@code Mono.create} sink). Run as the file's signal after
     * the release ({@link LockFile#release}), it finishes the acquisition first.
     */
    static final class ReleaseSignal implements Subscription, Runnable {

        private static final VarHandle DONE;

        static {
            try {
                DONE = MethodHandles.lookup().findVarHandle(ReleaseSignal.class, "done", boolean.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final FileAcquisition acquisition;
        private final CoreSubscriber<? super Void> actual;
        /** Signalled or cancelled: nothing more is signalled. */
        private volatile boolean done;

        ReleaseSignal(FileAcquisition acquisition, CoreSubscriber<? super Void> actual) {
            this.acquisition = acquisition;
            this.actual = actual;
        }

        /** The file released the lock: finishes the acquisition, then completes. */
        @Override
        public void run() {
            acquisition.finish();
            success();
        }

        void success() {
            if (DONE.compareAndSet(this, false, true)) {
                actual.onComplete();
            }
        }

        void error(Throwable e) {
            if (DONE.compareAndSet(this, false, true)) {
                actual.onError(e);
            } else {
                Operators.onErrorDropped(e, actual.currentContext());
            }
        }

        @Override
        public void request(long n) {
            Operators.validate(n); // completes without demand: there is no value
        }

        @Override
        public void cancel() {
            done = true;
        }
    }

    @Override
    public String toString() {
        return "FileLockHandle{name='" + name + "', mode=" + mode + ", file=" + path + ", fencingToken="
                + fencingToken() + ", held=" + isHeld() + "}";
    }
}
