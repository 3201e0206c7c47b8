package dev.reactivelocks.file;

import dev.reactivelocks.internal.SerialActor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The lock files this JVM uses: at most one {@link LockFile} per lock-file identity (device and inode,
 * {@link LockFiles#identify(Path)}), how many acquisitions use each, which unused ones keep their channel
 * open (the idle LRU, at most {@link FileLockConfig#maxIdleChannels()}), how many channels are open, and
 * when an unused channel is closed. {@link LockFile} (the {@link Entry} subclass) keeps the per-file
 * protocol: the channel, the POSIX lock, its holders and waiters.
 *
 * <pre>
 *   retain(id) ──► refs++ (a new entry when the file has none) ; out of IDLE
 *   unref (in the actor) ──► refs-- ; idle: no OS lock, no waiter, refs == 0 ? (else nothing)
 *        │ no channel: drop the entry
 *        │ channel open, channelIdleTimeout (0 once the releasing service is disposed):
 *        │     == 0 ──► close now
 *        │     &gt; 0 ──► close after it unless used meanwhile ; into IDLE (most recent end) ;
 *        │             IDLE larger than maxIdleChannels ? close the least recently used now
 *        ▼
 *   close when idle (in the actor, on the file scheduler) ──► still idle ? close the channel, drop the entry
 *                                                            (a timer that fires early waits for the rest)
 *   drop ──► remove from FILES if still mapped there with refs == 0
 *   closeIfIdle(id) / closeAllIdle() (removeLockFile, dispose) ──► close when idle, now
 * </pre>
 *
 * <p><b>Who guards what</b>:
 * <ul>
 *   <li>{@link #FILES} and each entry's reference count: the count is read and written only inside
 *       {@code FILES.compute}/{@code computeIfPresent} for the entry's id, so counting, creating and dropping
 *       an entry are atomic with respect to each other.
 *   <li>{@link #IDLE} and each entry's {@code listedIdle}: {@code IDLE}'s monitor ({@code listedIdle} is
 *       volatile so that retaining an unlisted entry takes no monitor). No other lock is taken under it,
 *       and no step is run under it.
 *   <li>An entry's idle timer, idle start and last user: the entry's actor ({@link Entry#execute}), like all
 *       channel state of {@link LockFile}. A closing step changes the channel only on the file scheduler.
 *   <li>{@link #OPEN_CHANNELS}: atomic; changed in the actor when an entry opens or forgets its channel.
 * </ul>
 *
 * <p><b>Invariants</b>: (1) a channel is closed here only in its entry's actor while the entry is idle, so
 * closing it drops no OS lock (only the actor takes one, and idle says none is held); (2) an entry leaves
 * {@code FILES} only with no reference and no open channel (it is closed first, or was never opened), so a
 * second entry of the file is created only once the first one's channel is closed, and the JVM never has
 * two entries' channels of one file open at once (closing one would drop a lock held through the other).
 *
 * <p><b>Races</b>, and why each is safe:
 * <ul>
 *   <li><em>An entry retained while it is closed for idleness</em> (idle timer, LRU eviction,
 *       {@code closeIfIdle}). Retaining counts the entry in {@code FILES.compute} without entering the actor;
 *       the closing step reads the count in {@code computeIfPresent} after checking the actor's own state.
 *       If the count went up first, the step finds the entry used and leaves the channel open. If it goes up
 *       after, the step closes the channel (no lock is held: invariant 1), and its drop, in
 *       {@code compute} again, finds a reference and keeps the entry. The new user's request runs in the same
 *       actor after the closing step, finds no channel and opens it again: one reopening, no lost lock.
 *       Likewise a retain between an unref's decrement and its idle check makes the check fail.
 *   <li><em>An entry listed idle while it is retained.</em> An unref may list the entry after a concurrent
 *       retain's unlisting ran (retain reads {@code listedIdle} without the monitor). The entry then stays in
 *       {@code IDLE} while used: its eviction or timer finds it used and closes nothing, and its next unref
 *       moves it to the most recent end. It only takes an LRU place meanwhile.
 *   <li><em>An entry dropped while a new acquisition retains the same id.</em> Both run in
 *       {@code FILES.compute} for the id. If the retain comes first, the drop finds a reference and keeps the
 *       entry (the case above). If the drop comes first, the retain creates a new entry, while the dropped
 *       one's channel is already closed (invariant 2). Steps still queued in the dropped entry's actor (a
 *       timer that fired, an eviction, a {@code closeAllIdle} that saw it) find no channel to close and
 *       remove only their own entry: a drop removes the mapping only while it is this entry. Nobody retains a
 *       dropped entry again: every retain goes through {@code FILES}.
 *   <li><em>{@code FileLockService.removeLockFile} or a dispose closing a file that another service of the
 *       JVM uses.</em> Entries are per JVM, not per service: {@code closeIfIdle} and {@code closeAllIdle} only
 *       look entries up (they count no reference) and close the channel in the entry's actor only when it is
 *       idle, so a file locked, awaited or counted by any service (even one whose acquisition has its local
 *       grant but has not requested the file yet) keeps its channel. {@code removeLockFile} then deletes the
 *       file only when {@link #inUse} finds no entry; an acquisition that retains the file after that check
 *       opens the path anew and finds another file or none (the protocol then looks the name up again, see
 *       {@link LockFile}), or locks the file just before it is deleted and is told it is lost by the next
 *       check of its path ({@link FileLockConfig#lockFileCheckInterval()}).
 * </ul>
 */
final class LockFileRegistry {

    /** Every entry of this JVM by lock-file identity; an entry's count is guarded by {@code compute} for its id. */
    private static final ConcurrentHashMap<String, Entry> FILES = new ConcurrentHashMap<>();

    /**
     * The entries whose channel is open while no acquisition uses them, least recently used first, at most
     * {@link FileLockConfig#maxIdleChannels()}; guarded by itself. An entry may stay listed after it is used
     * again (see <b>Races</b>); closing it then finds it used and leaves it open.
     */
    private static final IdleList IDLE = new IdleList();

    /**
     * The idle LRU: a doubly linked list through the entries' own {@code idleOlder}/{@code idleNewer} fields,
     * so that listing and unlisting allocate nothing (a {@code LinkedHashSet} made a node per release of a
     * file). Guarded by its monitor; an entry is in it exactly while its {@code listedIdle} is set.
     */
    private static final class IdleList {

        private @Nullable Entry eldest;
        private @Nullable Entry newest;
        private int size;

        /** Appends {@code e}, not listed, at the most recent end. */
        void addNewest(Entry e) {
            Entry last = newest;
            e.idleOlder = last;
            e.idleNewer = null;
            if (last == null) {
                eldest = e;
            } else {
                last.idleNewer = e;
            }
            newest = e;
            size++;
        }

        /** Removes {@code e}, which is listed. */
        void remove(Entry e) {
            Entry older = e.idleOlder;
            Entry newer = e.idleNewer;
            if (older == null) {
                eldest = newer;
            } else {
                older.idleNewer = newer;
            }
            if (newer == null) {
                newest = older;
            } else {
                newer.idleOlder = older;
            }
            e.idleOlder = null;
            e.idleNewer = null;
            size--;
        }
    }

    /** How many channels of lock files this JVM has open. */
    private static final AtomicInteger OPEN_CHANNELS = new AtomicInteger();

    private LockFileRegistry() {
    }

    /** The entry of the file {@code id}, counted as used until {@link Entry#unref}. */
    static LockFile retain(String id) {
        Entry used = FILES.compute(id, (k, e) -> {
            Entry f = e != null ? e : new LockFile(k);
            f.refs++;
            return f;
        });
        used.unlistIdle();
        return (LockFile) used; // the only subclass
    }

    /** @return the entry of the file {@code id}, not counted as used; for tests that break its channel */
    static @Nullable LockFile find(String id) {
        return (LockFile) FILES.get(id);
    }

    /** @return whether an acquisition of this JVM currently uses the lock file {@code id} */
    static boolean inUse(String id) {
        return FILES.containsKey(id);
    }

    /** @return how many lock files this JVM currently has entries (and possibly open channels) for */
    static int openEntries() {
        return FILES.size();
    }

    /** @return how many lock file channels (file descriptors) this JVM has open */
    static int openChannels() {
        return OPEN_CHANNELS.get();
    }

    /**
     * Closes the channel of the file {@code id} if nobody in this JVM uses it (for deleting the file or disposing
     * a service).
     *
     * @return a {@code Mono} completing once done, on the file scheduler
     */
    static Mono<Void> closeIfIdle(String id, Scheduler scheduler) {
        Entry f = FILES.get(id);
        return f == null ? Mono.empty() : f.closeIfIdleNow(scheduler);
    }

    /** {@link #closeIfIdle(String, Scheduler)} for every lock file of this JVM. */
    static Mono<Void> closeAllIdle(Scheduler scheduler) {
        return Flux.fromIterable(FILES.values()).flatMap(f -> f.closeIfIdleNow(scheduler)).then();
    }

    /**
     * A registered lock file: what the registry keeps per file, and what it needs from the file's protocol
     * (the abstract methods). The entry's own fields are private to the registry; which lock guards each is
     * said on the class above.
     */
    abstract static sealed class Entry permits LockFile {

        /** The identity of the lock file (see {@link LockFiles#identify(Path)}). */
        final String id;

        /**
         * Written only inside {@code FILES.compute} for {@link #id}; volatile so that {@link #refsNow()} reads it
         * without entering the map's lock for the id.
         */
        private volatile int refs;

        /** Whether this entry is in {@link #IDLE}; written under its monitor. */
        private volatile boolean listedIdle;
        /** The neighbours in {@link #IDLE} (older, newer) while listed; guarded by its monitor. */
        private @Nullable Entry idleOlder;
        private @Nullable Entry idleNewer;

        // Owned by the actor: read and written only inside its steps.
        private @Nullable Disposable idleTimer;
        private long idleSince;
        /** The service that last queued a waiter for the file or left it idle. */
        private @Nullable FileLockService lastUser;

        Entry(String id) {
            this.id = id;
        }

        // ------------------------------------------------------------ what the protocol provides

        /** Runs {@code step} in this file's actor. */
        abstract void execute(SerialActor.Step step, Scheduler scheduler);

        /** Queues a subscriber-facing signal from inside a step, run after the drain let go of the actor. */
        abstract void emit(Runnable signal);

        /** In the actor: whether the file is neither locked by this JVM nor awaited by a waiter. */
        abstract boolean unlockedWithoutWaiters();

        /** In the actor: whether this entry has a channel (open, or closed under it and not yet noticed). */
        abstract boolean hasChannel();

        /**
         * In the actor, on the file scheduler, while {@link #idle()}: closes the channel and whatever else the
         * protocol keeps open for the file, and stops its timers.
         */
        abstract void closeFile();

        /**
         * In the actor: whether the file was found no longer named by a path it was locked through (deleted, or
         * another file put there): its channel serves nobody once idle.
         */
        abstract boolean unnamed();

        // ------------------------------------------------------------ what the registry provides (in the actor)

        /** @return the service that last queued a waiter for this file or left it idle, if any */
        final @Nullable FileLockService lastUser() {
            return lastUser;
        }

        /** {@code service} queues a waiter for this file: the idle close and stray channels follow its settings. */
        final void usedBy(FileLockService service) {
            lastUser = service;
        }

        /** The entry opened a channel of its file. */
        final void channelOpened() {
            OPEN_CHANNELS.incrementAndGet();
        }

        /** The entry forgot its channel (closed, or found closed). */
        final void channelForgotten() {
            OPEN_CHANNELS.decrementAndGet();
        }

        /**
         * An acquisition that {@linkplain LockFileRegistry#retain retained} this entry is done with it: when
         * the entry is idle now, its channel is closed after the idle timeout of {@code service} (at once when
         * none is open or the timeout is zero) and it joins the idle LRU meanwhile.
         */
        final void unref(FileLockService service) {
            FILES.computeIfPresent(id, (k, e) -> {
                e.refs--;
                return e;
            });
            if (!idle()) {
                return;
            }
            if (!hasChannel()) {
                dropEntry();
                return;
            }
            lastUser = service;
            idleSince = service.now();
            Duration timeout = idleTimeout(service);
            if (timeout.isZero() || idleTimer == null) {
                scheduleIdleClose(service, timeout);
            }
            if (!timeout.isZero()) {
                listIdle(service);
            }
        }

        // ------------------------------------------------------------ idle channels

        /** How long the channel stays open once idle: not at all for a disposed service or an unnamed file. */
        private Duration idleTimeout(FileLockService service) {
            return service.isDisposed() || unnamed() ? Duration.ZERO : service.config().channelIdleTimeout();
        }

        /**
         * Puts this idle entry at the most recent end of {@link #IDLE}; when that holds more than the service's
         * {@link FileLockConfig#maxIdleChannels()}, closes the least recently used ones now (each in its own
         * actor, and only if still idle there: a file with a holder or waiter is never closed).
         */
        private void listIdle(FileLockService service) {
            List<Entry> evicted = List.of();
            synchronized (IDLE) {
                if (listedIdle) {
                    IDLE.remove(this);
                }
                IDLE.addNewest(this);
                listedIdle = true;
                int max = service.config().maxIdleChannels();
                if (IDLE.size > max) {
                    evicted = new ArrayList<>(IDLE.size - max);
                    for (Entry eldest = IDLE.eldest; eldest != null && IDLE.size > max; eldest = IDLE.eldest) {
                        IDLE.remove(eldest);
                        eldest.listedIdle = false;
                        evicted.add(eldest);
                    }
                }
            }
            for (Entry f : evicted) {
                f.execute(onScheduler -> f.closeWhenIdle(onScheduler, true), service.scheduler());
            }
        }

        private void unlistIdle() {
            if (listedIdle) {
                synchronized (IDLE) {
                    if (listedIdle) {
                        IDLE.remove(this);
                        listedIdle = false;
                    }
                }
            }
        }

        private boolean idle() {
            return unlockedWithoutWaiters() && refsNow() == 0;
        }

        private void scheduleIdleClose(FileLockService service, Duration delay) {
            SerialActor.Step close = onScheduler -> closeWhenIdle(onScheduler, false);
            if (delay.isZero()) {
                execute(close, service.scheduler());
            } else {
                idleTimer = service.schedule(() -> execute(close, service.isDisposed() ? Schedulers.boundedElastic()
                        : service.scheduler()), delay);
            }
        }

        private Mono<Void> closeIfIdleNow(Scheduler scheduler) {
            return Mono.create(sink -> execute(onScheduler -> {
                if (!closeWhenIdle(onScheduler, true)) {
                    return false;
                }
                emit(sink::success);
                return true;
            }, scheduler));
        }

        /**
         * Closes the channel and drops the entry if nobody used the file for the idle timeout (or at once
         * when {@code now}); reschedules itself when the file was used meanwhile and is idle again.
         */
        private boolean closeWhenIdle(boolean onScheduler, boolean now) {
            if (!onScheduler) {
                return false; // closing may block
            }
            if (!now) {
                idleTimer = null;
            }
            if (!idle()) {
                return true; // used again: the next unref schedules a new close
            }
            FileLockService user = lastUser;
            if (!now && user != null) {
                long left = idleTimeout(user).toNanos() - (user.now() - idleSince);
                if (left > 0) {
                    if (idleTimer == null) {
                        scheduleIdleClose(user, Duration.ofNanos(left));
                    }
                    return true;
                }
            }
            unlistIdle();
            closeFile();
            dropEntry();
            return true;
        }

        private void dropEntry() {
            lastUser = null;
            Disposable t = idleTimer;
            if (t != null) {
                t.dispose();
                idleTimer = null;
            }
            FILES.computeIfPresent(id, (k, e) -> e == this && e.refs == 0 ? null : e);
        }

        /**
         * The count of the entry mapped for {@link #id} (0 when none). Reading the mapping, then its count, is as
         * good as reading both inside {@code compute}: every change of a count is one write inside it, and an
         * entry unmapped between the two reads had no reference when it was dropped and gets none afterwards
         * (retains go through {@code FILES}), so 0 was its count while it was still mapped.
         */
        private int refsNow() {
            Entry e = FILES.get(id);
            return e == null ? 0 : e.refs;
        }
    }
}
