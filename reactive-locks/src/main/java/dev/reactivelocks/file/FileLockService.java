package dev.reactivelocks.file;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockServiceClosedException;
import dev.reactivelocks.internal.HeldLocks;
import dev.reactivelocks.spi.AcquisitionMono;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.context.Context;

/**
 * Inter-process locks on files: a {@link LockService} whose locks exclude other processes, including
 * Python programs that use oslo.concurrency's {@code lock(name, external=True)} or fasteners' process
 * locks on the same lock directory.
 *
 * <pre>{@code
 * FileLockConfig config = FileLockConfig.builder().lockDirectory(Path.of("/var/lib/myapp/locks")).build();
 * LockService locks = FileLockService.create(config);
 * Mono<Void> migrated = locks.withLock("schema", migrate());              // one process at a time
 * Mono<Report> report = locks.withLock("schema", LockOptions.shared(), readReport()); // readers together
 * }</pre>
 *
 * <p>The lock {@code name} lives in the file {@link FileLockConfig#lockFile(String)}: path separators
 * become {@code '_'}, exactly as oslo.concurrency maps names, so {@code "a/b"}, {@code "/abs"} and
 * {@code "x/../y"} lock the files {@code a_b}, {@code _abs} and {@code x_.._y} of the lock directory that a
 * Python peer locks by the same names. An exclusive lock is
 * an exclusive POSIX record lock ({@code fcntl(F_SETLK, F_WRLCK)}) on the whole file but for its last two
 * possible byte positions, kept free for an atomic {@link LockHandle#downgrade() downgrade}: it conflicts with
 * every whole-file lock, such as Python's {@code fcntl.lockf(f, LOCK_EX)} and {@code LOCK_SH}; a shared lock
 * is a shared one ({@code F_RDLCK}, Python's {@code LOCK_SH}) on the whole file. Lock files are created when missing, opened without truncation, never followed when
 * they are symbolic links, and never deleted on release: deleting a lock file while another process
 * waits on it would let two processes lock two different files of the same name. Use
 * {@link #removeLockFile(FileLockConfig, String)} to clean up names nobody uses any more.
 *
 * <p><b>Reentrancy</b>: not reentrant. Re-entry through {@code withLock} (tracked in the Reactor
 * {@code Context}) and shared-to-exclusive upgrades fail at once with {@link IllegalLockStateException}.
 * A lock file is one lock whichever name, path or service reaches it: once the file is looked up, a
 * pipeline holding it through {@code withLock} that asks for it again under another name mapping to the
 * same file ({@code a/b} and {@code a_b}), through another path of the file (a hard link, a bind mount) or
 * through another {@code FileLockService} of the JVM fails the same way.
 *
 * <p><b>Fairness</b>: inside one JVM, acquisitions of one lock file queue FIFO with writer preference,
 * exactly as {@link LockService#inProcess()}, in the order they enter the queue: when requested if the file's
 * identity is remembered (see <b>Threading</b>) or looked up on the requesting thread, else once the
 * scheduler looked it up; an acquisition keeps its place from then on (the queue is shared by every
 * {@code FileLockService} of the JVM and keyed by the file's identity, its device and inode, so that every path of one file, such as
 * hard links, bind mounts, symlinked directories or names differing only in case on a case-insensitive
 * file system, queues in one queue and shares one channel); only the acquisition(s) at the head touch the file, so a
 * thousand waiters cost no threads and no file descriptors. <em>Across processes the operating system
 * decides</em>: while another process holds the file, the head polls it with {@code tryLock} after
 * delays that grow from {@link FileLockConfig#minPollInterval()} to {@link FileLockConfig#maxPollInterval()},
 * and there is no FIFO order between processes. This JVM releases the OS lock between any two of its
 * holders (it is never passed from one local holder to the next), and bounds how long it keeps a file
 * busy: once the file has been locked by this JVM, with gaps shorter than {@code minPollInterval}, for
 * {@code maxPollInterval}, the next local acquisition waits until the file has been unlocked for
 * {@code minPollInterval}. Processes blocked in {@code fcntl} get the file in that gap; polling ones get a
 * chance every {@code maxPollInterval} (with the defaults, a 1ms gap at least every 50ms). {@code tryAcquire}
 * and zero timeouts do not wait for that gap. Shared holders of one JVM share one OS shared lock; a waiting
 * exclusive acquisition of <em>another</em> process does not stop new shared holders of this one.
 *
 * <p><b>Memory effects</b>: inside the JVM, actions of a holder before its release happen-before the
 * actions of every holder granted after that release. Across processes, file content that a holder
 * wrote with ordinary writes and flushed to the OS before releasing is visible to the next holder (the
 * kernel's page cache is shared); data still buffered in the holder's process is not.
 *
 * <p><b>Cancellation</b>: cancelling removes a waiter from the in-JVM queue at once, or stops polling the
 * file for it; an OS lock or local grant that races the cancellation is released, never leaked. The
 * {@link LockOptions#timeout(Duration) timeout} covers the whole wait, in the queue and for the file.
 *
 * <p><b>Threading</b>: no thread waits while another process holds the file. Creating, opening and closing
 * lock files (and mapping their fencing counters) run only on the configured bounded scheduler
 * ({@link FileLockConfig#scheduler()}). Looking up an existing lock file's identity (one {@code stat}),
 * the non-blocking calls {@code tryLock} and unlock, and taking a fencing token (no system call) run on the
 * subscribing or releasing thread when that thread may block (neither a Reactor non-blocking thread such
 * as {@code Schedulers.parallel()} nor a Netty or Vert.x event loop) and the lock file's channel is already
 * open; otherwise on the scheduler. The JVM remembers the identities of the lock files it looked up lately (at
 * most 1,024), so acquiring one of them again makes no lookup: the one {@code stat} of an uncontended exclusive
 * grant is the check, after the lock is taken, that the path still names the file locked (see <b>Caveat</b>).
 * Grants, releases and failures are signalled on the thread that made them (that thread or one of the
 * scheduler's), after it finished its file calls; timeouts of acquisitions still in the in-JVM queue on
 * the timer. A lock file's channel stays open for {@link FileLockConfig#channelIdleTimeout()} after its last
 * user in the JVM left, holding no lock, and is closed then, when a service is disposed, before
 * {@link #removeLockFile(FileLockConfig, String)} deletes the file, or earlier when more than
 * {@link FileLockConfig#maxIdleChannels()} (default 256) channels are idle in the JVM (the least recently
 * used first; a channel whose file is held or awaited in this JVM is never idle). The file calls of
 * one lock file are serialized and run on the scheduler of one of the services using it (when several
 * services of the JVM with different schedulers share a file); should that scheduler reject work because
 * it was disposed meanwhile, the remaining calls finish on {@code Schedulers.boundedElastic()}.
 *
 * <p><b>Fencing tokens</b>: strictly increasing per lock file across every process that uses this library
 * on the lock directory: each grant, exclusive or shared, takes the next value of the file's counter while
 * it holds the lock, so every shared holder gets its own token, larger than those of all grants before it
 * in any of these processes. The counter is eight bytes in a sidecar file,
 * {@code lockDirectory/.reactive-locks-fencing/<lock file name>} (created with the lock directory's
 * permissions; the lock file itself is never written, as Python peers expect), mapped into memory and
 * advanced by one atomic add on the shared page: no system call and no extra lock per grant, so shared
 * holders of several processes stay concurrent, and a process killed at any instant leaves the old or the
 * new value, never a torn one. Each process that maps the counter first raises it to the wall clock in
 * microseconds since the epoch; grants are far rarer than one per microsecond, so tokens do not run ahead
 * of the clock, and a counter lost to an operating system crash or to a deleted sidecar restarts above the
 * tokens issued before (unless the clock was set back meanwhile). Grants by programs that do not use this
 * library (oslo.concurrency, fasteners) do not advance the counter: a Java token is larger than every earlier Java
 * token of the file, whoever held the file in between. Paths of one file that differ in their file name
 * (hard links, bind mounts with other names) have separate counters. On network file systems, where
 * POSIX locks may not lock either, the mapped page is not shared between hosts.
 *
 * <p><b>Crashes</b>: the operating system releases the POSIX locks of a process that dies, even by
 * {@code SIGKILL}; waiters in other processes get the lock at their next poll. The file stays.
 *
 * <p><b>Caveat</b>: POSIX locks belong to the process and closing <em>any</em> descriptor of the file
 * drops them; the service keeps one channel per file (not per path) for the whole JVM, but other code of the
 * JVM must not open and close the lock files themselves while they are locked. A lock file that another
 * process deletes or replaces while nobody here holds it is noticed when this JVM next locks it (the lock
 * taken is checked against the file the path names now) and the acquisition queues again for the file
 * there now. One deleted or replaced while held here (what {@link #removeLockFile(FileLockConfig, String)}
 * warns about) excludes nobody any more, since the next process locks the new file: while this JVM holds
 * a lock file, the service checks every {@link FileLockConfig#lockFileCheckInterval()} (default 1 second)
 * that each holder's path still names the locked file, so the loss is reported within that interval plus
 * the scheduler's latency. A dropped OS lock (the channel closed under the holders) is detected at the next
 * operation of this JVM on that file or at that check. Either way the handles concerned then report
 * {@link LockHandle#isHeld()} {@code false} and their {@link LockHandle#lost()} completes; they still
 * hold their place in the JVM's queue until released.
 *
 * @implNote The service polls with {@code FileChannel.tryLock} instead of parking a thread in
 * {@code FileChannel.lock}: besides not pinning a thread per waiting file, {@code tryLock} and
 * {@code FileLock.release} are not interruptible, whereas an interrupt during {@code lock} closes the
 * channel and with it every POSIX lock the JVM holds on the file.
 */
public final class FileLockService implements LockService {

    /** At most how many lock files {@link #KNOWN_IDS} remembers. */
    private static final int REMEMBERED = 1024;

    /**
     * The identities (device and inode) of the lock files this JVM looked up lately, by real path, so that
     * acquiring one again queues without a {@code stat}. JVM-wide, so that {@link #removeLockFile} forgets a
     * removed file for every service. A remembered identity may be stale: another process may have deleted or
     * replaced the file since, or a lookup that raced a removal may have put it back. What makes a lock valid
     * is the check, after each lock taken, that the path still names the file locked ({@link LockFile}). Where
     * no lock is taken, the path is looked at too: by a shared grant joining held shared locks, after a busy
     * lock (the file the path names now may be free), and when the in-JVM queue of a remembered identity is
     * busy (its holders may hold the old file, or another file that reused the inode: the acquisition waits in
     * that queue at once, keeping its FIFO place, while one {@code stat}, off non-blocking threads, checks its
     * path, and leaves the queue to look the file up again only when the path names another file or none, see
     * {@link FileAcquisition#onComplete()}; a try looks the file up before trying again, see
     * {@link #lookUpAgain}); and a remembered
     * identity is looked up before a re-entry is refused (a deleted file's inode may be another file's now).
     * An acquisition that finds its file replaced forgets it and looks it up again
     * ({@link #resolveLockFileAgain}).
     */
    private static final ConcurrentHashMap<Path, String> KNOWN_IDS = new ConcurrentHashMap<>();

    private final FileLockConfig config;
    private final @Nullable Path directory;
    private final Scheduler scheduler;
    private final boolean ownsScheduler;
    private final @Nullable Scheduler timer;
    private volatile @Nullable Path realDirectory;
    /** Recently resolved lock files, by the file name's hash (see {@link #lockFile(Path, String)}). */
    private final ResolvedFile[] files = new ResolvedFile[64];

    private final Set<FileAcquisition> pending = ConcurrentHashMap.newKeySet();
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicBoolean schedulerDisposed = new AtomicBoolean();
    private volatile boolean closed;

    private FileLockService(FileLockConfig config) {
        this.config = config;
        this.directory = config.lockDirectory().orElse(null);
        Scheduler configured = config.scheduler().orElse(null);
        this.ownsScheduler = configured == null;
        this.scheduler = configured != null ? configured : defaultScheduler();
        this.timer = config.timer().orElse(null);
    }

    /**
     * A new file lock service. It creates no file and no directory until the first acquisition.
     *
     * @param config where the lock files are and which scheduler touches them
     * @return a new service; dispose it when done (this disposes the scheduler it created)
     */
    public static FileLockService create(FileLockConfig config) {
        return new FileLockService(Objects.requireNonNull(config, "config"));
    }

    static Scheduler defaultScheduler() {
        int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
        return Schedulers.newBoundedElastic(threads, 100_000, "reactive-locks-file", 60, true);
    }

    /**
     * Deletes the lock file of {@code name}, and its fencing token counter, for cleaning up names that no
     * process uses any more. Later grants of the name start a new counter at the wall clock (see
     * <b>Fencing tokens</b>).
     *
     * <p><b>This races</b> with other processes by nature: a process that opened the file before the
     * deletion and locks it afterwards holds a lock on a file without a name, while the next process
     * creates and locks a new file of that name, so both believe they hold the lock. Call it only when no
     * process can be using or about to use {@code name}; a process keeping the file's channel open
     * ({@link FileLockConfig#channelIdleTimeout()}) counts as using it. Within this JVM it first closes the
     * file's idle channel, and refuses while any acquisition of this JVM uses the file.
     *
     * @param config the configuration whose lock directory holds the file
     * @param name the full lock name, as passed to {@link #acquire(String, LockOptions)}
     * @return a {@code Mono} emitting {@code true} when a file was deleted, {@code false} when none
     *         existed; errors with {@link IllegalLockStateException} when this JVM uses the file, with
     *         {@link dev.reactivelocks.LockConfigurationException} when no lock directory is configured,
     *         with {@link LockException} when the deletion fails. Runs on the configured scheduler, else on
     *         {@code Schedulers.boundedElastic()}.
     * @throws IllegalArgumentException for names that {@link FileLockConfig#lockFile(String)} refuses
     */
    public static Mono<Boolean> removeLockFile(FileLockConfig config, String name) {
        Objects.requireNonNull(config, "config");
        String fileName = FileLockConfig.fileName(name);
        Scheduler scheduler = config.scheduler().orElseGet(Schedulers::boundedElastic);
        return Mono.fromCallable(() -> {
            Path dir = Objects.requireNonNull(config.lockFile(name).getParent(), "lock directory");
            return Files.isDirectory(dir) ? dir.toRealPath().resolve(fileName) : null;
        }).flatMap(real -> {
            String id = LockFiles.existingId(real);
            return id == null ? Mono.just(false) : LockFileRegistry.closeIfIdle(id, scheduler)
                    .then(Mono.fromCallable(() -> deleteUnused(real, id, name)).subscribeOn(scheduler));
        })
                .defaultIfEmpty(false)
                .subscribeOn(scheduler);
    }

    private static boolean deleteUnused(Path real, String id, String name) {
        if (LockFileRegistry.inUse(id)) {
            throw new IllegalLockStateException(name, "Lock file '" + real + "' of lock '" + name
                    + "' is in use by this JVM; not removing it");
        }
        try {
            boolean deleted = Files.deleteIfExists(real);
            Files.deleteIfExists(FencingCounter.sidecar(real));
            return deleted;
        } catch (IOException e) {
            throw new LockException(name, "Cannot remove lock file '" + real + "' of lock '" + name + "': "
                    + e, e);
        } finally {
            // every path remembered for the file (a bind mount of the directory lost it too); after the deletion,
            // so that only a lookup that raced it can remember it again, to be caught by the check after the lock
            KNOWN_IDS.values().removeIf(id::equals);
        }
    }

    /** @return this service's configuration */
    public FileLockConfig config() {
        return config;
    }

    Scheduler scheduler() {
        return scheduler;
    }

    Scheduler timer() {
        return timer != null ? timer : Schedulers.parallel();
    }

    /**
     * Runs {@code task} after {@code delay} on {@link #timer()}, or on Reactor's parallel scheduler when that
     * one refuses it (a configured timer disposed meanwhile).
     */
    Disposable schedule(Runnable task, Duration delay) {
        try {
            return timer().schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            return Schedulers.parallel().schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /**
     * The time, in nanoseconds, by which lock files measure their busy periods and idle channels: the
     * configured {@link FileLockConfig#timer() timer}'s clock, else {@link System#nanoTime()} (the default
     * timer's clock is the wall clock in milliseconds, too coarse and not monotonic for a 1 ms poll interval).
     */
    long now() {
        return timer != null ? timer.now(TimeUnit.NANOSECONDS) : System.nanoTime();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Per subscription, the returned {@code Mono} additionally errors with
     * {@link dev.reactivelocks.LockConfigurationException} when no lock directory is configured, and with
     * {@link LockException} when the lock directory or file cannot be created, opened or locked (for
     * example when the lock file is a symbolic link). The handle is emitted on the thread that locked the
     * file: the subscribing (or releasing) thread when it may block and the file was open, else one of the
     * configured scheduler's (see <b>Threading</b> above).
     *
     * @throws IllegalArgumentException for names that {@link FileLockConfig#lockFile(String)} refuses, and
     *         for {@link LockOptions#permits(int)}: one lock file is one POSIX lock, which cannot count
     *         holders across processes; take the first free of {@code n} names with {@code tryAcquire}
     *         instead (the guide's "Semaphores" section), or use a distributed service
     */
    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        String fileName = FileLockConfig.fileName(name);
        checkOptions(options);
        return new AcquireMono(this, name, fileName, options.mode(), options.timeoutOrNull(), false);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here "free now" means: no holder or waiter in this JVM blocks it and one {@code tryLock} on the
     * file succeeds. That attempt runs where {@link #acquire(String, LockOptions)} would make it.
     *
     * @throws IllegalArgumentException for names that {@link FileLockConfig#lockFile(String)} refuses, and
     *         for {@link LockOptions#permits(int)}
     */
    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        String fileName = FileLockConfig.fileName(name);
        checkOptions(options);
        return new AcquireMono(this, name, fileName, options.mode(), null, true);
    }

    private static void checkOptions(LockOptions options) {
        Objects.requireNonNull(options, "options");
        if (options.limitsHolders()) {
            throw new IllegalArgumentException("File locks cannot count holders across processes, so "
                    + "LockOptions.permits(n) is not supported by FileLockService, was " + options
                    + "; for at most n holders take the first free of n names (name.0 ... name.{n-1}) with "
                    + "tryAcquire, or use a DistributedLockService with permits(n)");
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Reports the lock file of {@code name} ({@link FileLockConfig#lockFile(String)}) as held when this
     * JVM or another process holds a lock on it. On Linux the other processes are read from the kernel's
     * table of locks, {@code /proc/locks} (matched to the lock file by device and inode): each holding
     * process is one holder and one {@link LockInfo#owners() owner}, {@code host:pid}, and requests blocked
     * in {@code fcntl} count as waiting. The kernel shows only the processes of this machine (not those of
     * other machines sharing a network file system), and no process that waits by polling (this library,
     * fasteners), so {@link LockInfo#waiting()} counts this JVM's waiters and the blocked requests only.
     * {@link LockInfo#fencingToken()} and {@link LockInfo#heldSince()} are known only while this JVM holds
     * the file. Where there is no such table (macOS, Windows) only this JVM's grants are reported. A lock
     * file that does not exist is free. The files are read on the configured scheduler (on
     * {@code Schedulers.boundedElastic()} once that is disposed); nothing is locked, created or opened.
     *
     * @throws IllegalArgumentException for names that {@link FileLockConfig#lockFile(String)} refuses
     */
    @Override
    public Mono<LockInfo> inspect(String name) {
        String fileName = FileLockConfig.fileName(name);
        return inspectFiles(name, dir -> List.of(dir.resolve(fileName)), file -> name).next();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Lists the held lock files of the lock directory whose file names start with the file name of
     * {@code prefix} (separators mapped as {@link FileLockConfig#lockFile(String)} maps them), as by
     * {@link #inspect(String)}. Each is reported under its <em>file</em> name: the mapping from names to
     * files cannot be reversed ({@code a/b} and {@code a_b} share one file). Directories, symbolic links and
     * files nobody holds are not listed.
     *
     * @throws IllegalArgumentException for a non-empty prefix that {@link FileLockConfig#lockFile(String)}
     *         refuses as a name
     */
    @Override
    public Flux<LockInfo> locks(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        String filePrefix = prefix.isEmpty() ? "" : FileLockConfig.fileName(prefix);
        return inspectFiles(prefix, dir -> {
            if (!Files.isDirectory(dir)) {
                return List.of();
            }
            try (Stream<Path> entries = Files.list(dir)) {
                return entries.filter(p -> p.getFileName().toString().startsWith(filePrefix)).sorted().toList();
            }
        }, file -> file.getFileName().toString());
    }

    /** The files listed by {@code files}, with the kernel's table, read on the scheduler; then this JVM's state. */
    private Flux<LockInfo> inspectFiles(String name, FileLister files, Function<Path, String> reportedName) {
        Path dir = directory;
        if (dir == null) {
            return Flux.error(FileLockConfig.notConfigured(name));
        }
        Scheduler on = schedulerDisposed.get() ? Schedulers.boundedElastic() : scheduler;
        return Mono.fromCallable(() -> {
            List<FileInspection.LockFileState> states = new ArrayList<>();
            for (Path file : files.list(dir)) {
                FileInspection.LockFileState state = FileInspection.stat(file);
                if (state != null) {
                    states.add(state);
                }
            }
            return new Snapshot(states, FileInspection.kernelLocks());
        }).subscribeOn(on).flatMapMany(snapshot -> Flux.fromIterable(snapshot.files()).concatMap(file ->
                LockFile.QUEUES.inspect(file.id()).map(Optional::of).defaultIfEmpty(Optional.empty())
                        .mapNotNull(local -> FileInspection.info(reportedName.apply(file.path()), file,
                                snapshot.kernel(), local.orElse(null)))));
    }

    /** Lists the files to inspect in the lock directory. Blocks. */
    @FunctionalInterface
    private interface FileLister {
        List<Path> list(Path directory) throws IOException;
    }

    private record Snapshot(List<FileInspection.LockFileState> files,
                            @Nullable List<FileInspection.KernelLock> kernel) {
    }

    /** Counts a requested acquisition; fails it when the service is closed. */
    boolean register(FileAcquisition a) {
        active.incrementAndGet();
        pending.add(a);
        if (closed) {
            a.fail(new LockServiceClosedException(a.name));
            return false;
        }
        return true;
    }

    void delivered(FileAcquisition a) {
        pending.remove(a);
    }

    /** An acquisition holds nothing any more (failed, cancelled or released). */
    void finished(FileAcquisition a) {
        pending.remove(a);
        if (active.decrementAndGet() == 0 && closed) {
            disposeOwnedScheduler();
        }
    }

    /**
     * Resolves {@code a}'s lock file, its real path and its identity (creating directory and file when
     * missing), and queues it. A file whose identity {@link #KNOWN_IDS} remembers is queued for at once, on
     * any thread, without a {@code stat}; otherwise see {@link #lookUp}.
     */
    void resolveLockFile(FileAcquisition a) {
        Path real = realDirectory;
        if (real != null) {
            Path file = lockFile(real, a.fileName);
            String known = KNOWN_IDS.get(file);
            if (known != null) {
                a.enqueue(file, known, true);
                return;
            }
        }
        lookUp(a);
    }

    /**
     * {@code a} found that {@code stale}, the path it resolved, does not name the file {@code staleId} (or a
     * remembered identity held by its pipeline):
     * forgets that identity and looks the file up
     * again, with a {@code stat}, never through {@link #KNOWN_IDS} (a stale entry put back by a lookup that
     * raced the replacement cannot send {@code a} round again).
     */
    void resolveLockFileAgain(FileAcquisition a, Path stale, String staleId) {
        KNOWN_IDS.remove(stale, staleId);
        lookUp(a);
    }

    /**
     * A try of a remembered identity found its in-JVM queue busy: looks the file up again before trying again,
     * as {@link #resolveLockFileAgain}, but without forgetting the identity, which a busy queue does not show
     * stale (forgotten, it would send every later acquisition to a lookup, on the scheduler from a
     * non-blocking thread, behind ones subscribed later; the lookup remembers the identity it finds).
     */
    void lookUpAgain(FileAcquisition a) {
        lookUp(a);
    }

    /**
     * Looks {@code a}'s lock file up and queues it: an existing file on the calling thread when that may
     * block (one {@code stat}); everything else on the scheduler. The identity found is remembered.
     */
    private void lookUp(FileAcquisition a) {
        Path real = realDirectory;
        if (real != null && LockFile.inlineAllowed()) {
            Path file = lockFile(real, a.fileName);
            String id = LockFiles.existingId(file);
            if (id != null) {
                remember(file, id);
                a.enqueue(file, id, false);
                return;
            }
        }
        try {
            scheduler.schedule(() -> identify(a));
        } catch (RuntimeException e) {
            a.fail(e);
        }
    }

    /**
     * {@code realDirectory.resolve(fileName)}, the same {@code Path} instance for the same name while its slot
     * of {@link #files} keeps it (resolving makes a path's bytes and object per acquisition). The real
     * directory is set once; a slot is replaced, never updated, and holds final fields only.
     */
    private Path lockFile(Path realDirectory, String fileName) {
        int slot = fileName.hashCode() & (files.length - 1);
        ResolvedFile known = files[slot];
        if (known != null && known.fileName().equals(fileName) && known.directory() == realDirectory) {
            return known.file();
        }
        Path file = realDirectory.resolve(fileName);
        files[slot] = new ResolvedFile(fileName, realDirectory, file);
        return file;
    }

    /** A lock file name resolved in the real lock directory. */
    private record ResolvedFile(String fileName, Path directory, Path file) {
    }

    private void identify(FileAcquisition a) {
        Path real = realDirectory;
        if (real == null) {
            Path dir = Objects.requireNonNull(directory, "directory");
            try {
                real = LockFiles.createDirectory(dir);
            } catch (IOException | RuntimeException e) {
                a.fail(new LockException(a.name, "Cannot create lock directory '" + dir + "' for lock '"
                        + a.name + "': " + e, e));
                return;
            }
            realDirectory = real;
        }
        Path file = lockFile(real, a.fileName);
        String id;
        try {
            id = LockFiles.identify(file);
        } catch (IOException | RuntimeException e) {
            a.fail(new LockException(a.name, "Cannot create lock file '" + file + "' for lock '" + a.name
                    + "': " + e, e));
            return;
        }
        remember(file, id);
        a.enqueue(file, id, false);
    }

    private static void remember(Path file, String id) {
        if (KNOWN_IDS.size() >= REMEMBERED) {
            KNOWN_IDS.clear(); // many files in use: bounded memory matters more than the stat saved
        }
        KNOWN_IDS.put(file, id);
    }

    /**
     * Closes the service: pending acquisitions error with {@link LockServiceClosedException}, and so do
     * later ones. Locks already held stay held until their handles are released (their channels are
     * closed then, without idle timeout). The idle channels of lock files that no acquisition of this JVM
     * uses are closed; a scheduler the service created is disposed (gracefully) once nothing is held any
     * more.
     *
     * @return a {@code Mono} completing when the service is closed and the idle channels are closed
     */
    @Override
    public Mono<Void> disposeLater() {
        return Mono.defer(() -> {
            closed = true;
            for (FileAcquisition a : pending) {
                a.fail(new LockServiceClosedException(a.name));
            }
            return LockFileRegistry.closeAllIdle(scheduler);
        }).doFinally(s -> {
            if (active.get() == 0) {
                disposeOwnedScheduler();
            }
        });
    }

    private void disposeOwnedScheduler() {
        if (ownsScheduler && schedulerDisposed.compareAndSet(false, true)) {
            scheduler.disposeGracefully().subscribe(null, e -> Operators.onErrorDropped(e, Context.empty()));
        }
    }

    @Override
    public boolean isDisposed() {
        return closed;
    }

    @Override
    public String toString() {
        return "FileLockService{lockDirectory=" + directory + ", closed=" + closed + "}";
    }

    /** The cold {@code Mono} of acquire/tryAcquire: each subscription is one acquisition. */
    static final class AcquireMono extends AcquisitionMono {

        private final FileLockService service;
        private final String name;
        private final String fileName;
        private final LockMode mode;
        private final @Nullable Duration timeout;
        private final boolean tryOnly;

        AcquireMono(FileLockService service, String name, String fileName, LockMode mode,
                    @Nullable Duration timeout, boolean tryOnly) {
            this.service = service;
            this.name = name;
            this.fileName = fileName;
            this.mode = mode;
            this.timeout = timeout;
            this.tryOnly = tryOnly;
        }

        @Override
        public void subscribe(CoreSubscriber<? super LockHandle> actual) {
            IllegalLockStateException reentry = HeldLocks.reentry(actual.currentContext(), service, name, mode);
            if (reentry != null) {
                Operators.error(actual, reentry);
                return;
            }
            if (service.directory == null) {
                Operators.error(actual, FileLockConfig.notConfigured(name));
                return;
            }
            if (service.closed) { // without waiting for a request; a close racing the request fails it then
                Operators.error(actual, new LockServiceClosedException(name));
                return;
            }
            actual.onSubscribe(new FileAcquisition(service, name, fileName, mode, timeout, tryOnly, actual));
        }
    }
}
