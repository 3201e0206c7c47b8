package dev.reactivelocks.file;

import static dev.reactivelocks.file.LockFileChecks.anyLockOfThisProcess;
import static dev.reactivelocks.file.LockFileChecks.eventually;
import static dev.reactivelocks.file.LockFileChecks.freeInJvm;
import static dev.reactivelocks.file.LockFileChecks.hold;
import static dev.reactivelocks.file.LockFileChecks.nothingHeldByNobody;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockServiceClosedException;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.file.LockFileChecks.Held;
import dev.reactivelocks.testkit.contract.SpinRacer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.Disposable;
import reactor.core.scheduler.Schedulers;

/**
 * Races on the path check of an acquisition whose remembered identity finds the in-JVM queue busy and waits
 * there: a timeout, a dispose of the service, a cancel and a holder's release against the check, the leave
 * and the new lookup; for a stale identity (the file replaced, or its inode reused by another lock file) and
 * for a current one. Every acquisition gets one signal, a grant holds the file its path names, and nothing is
 * left held by nobody (the in-JVM queues, the locks of this process in /proc/locks).
 */
class FileLockQueuedCheckRaceTest {

    private static final Duration WAIT = FileLockFixture.WAIT;
    private static final int ROUNDS = Integer.getInteger("reactivelocks.fileRaces", 600);

    @RegisterExtension
    final FileLockFixture fixture = new FileLockFixture();

    private final SpinRacer racer = fixture.racer();
    private volatile int spins;

    @BeforeEach
    void needsTheKernelsTable() {
        assumeTrue(Files.isReadable(Path.of("/proc/locks")), "the kernel's lock table is Linux only");
    }

    /** The outcome of one acquisition: its handle, its error, or "empty". */
    private static final class Outcome extends CompletableFuture<Object> {
        final List<String> extra = new ArrayList<>();

        void signal(Object o) {
            if (!complete(o)) {
                synchronized (extra) {
                    extra.add(String.valueOf(o));
                }
            }
        }
    }

    private Runnable subscriber(FileLockService locks, String name, LockOptions options, Outcome out,
                                boolean fromParallel, int cancelAfterSpins, CompletableFuture<Void> subscribed) {
        Runnable acquire = () -> {
            try {
                Disposable d = locks.acquire(name, options).subscribe(out::signal, out::signal,
                        () -> {
                            if (!(out.getNow(null) instanceof LockHandle)) {
                                out.signal("empty"); // the completion after a handle is no signal of its own
                            }
                        });
                if (cancelAfterSpins >= 0) {
                    for (int s = 0; s < cancelAfterSpins; s++) {
                        spins++;
                    }
                    d.dispose();
                }
                subscribed.complete(null);
            } catch (Throwable e) {
                subscribed.completeExceptionally(e);
            }
        };
        return fromParallel ? () -> Schedulers.parallel().schedule(acquire) : acquire;
    }

    /**
     * Races {@code other} against an acquisition of {@code name} ({@link #subscriber}, spin-timed by the racer)
     * and returns its outcome once it was subscribed.
     */
    private Outcome race(Runnable other, FileLockService locks, String name, LockOptions options,
                         boolean fromParallel, int cancelAfterSpins) throws Exception {
        Outcome out = new Outcome();
        CompletableFuture<Void> subscribed = new CompletableFuture<>();
        Runnable acquire = subscriber(locks, name, options, out, fromParallel, cancelAfterSpins, subscribed);
        racer.race(other, acquire);
        subscribed.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        return out;
    }

    /**
     * A timeout of a few milliseconds races the check, the leave and the new lookup of a stale identity (the
     * file replaced under a holder of this JVM), with or without the holder's release racing too: the
     * acquisition is granted the new file or times out, once; nothing is left held.
     */
    @Test
    void aTimeoutRacingTheLeaveOfAStaleIdentityLeavesNothingHeld() throws Exception {
        FileLockService locks = fixture.service(FileLockConfig.builder().lockFileCheckInterval(Duration.ofHours(1)));
        ThreadLocalRandom random = ThreadLocalRandom.current();
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            String name = "timeout" + i;
            Path file = fixture.dir().resolve(name);
            LockMode mode = i % 2 == 0 ? LockMode.EXCLUSIVE : LockMode.SHARED;
            boolean fromParallel = i % 4 >= 2;
            boolean release = i % 8 >= 4;
            String round = "round " + i + " (" + mode + (fromParallel ? ", parallel" : "")
                    + (release ? ", released" : "") + ")";
            Held held = hold(locks, name, file, true);
            LockHandle holder = held.holder();
            Duration timeout = Duration.ofNanos(random.nextLong(50_000, 3_000_000));
            Outcome out = race(() -> {
                if (release) {
                    holder.release().subscribe();
                }
            }, locks, name, LockOptions.of(mode).timeout(timeout), fromParallel, -1);
            Object o = outcome(out, false);
            holder.release().block(WAIT);
            check(bad, round, o, h -> holdsTheFile(h, file), "not holding the new file", LockTimeoutException.class);
            checkTheRest(bad, round, out, () -> nothingHeldByNobody(out, held.oldId(), held.newId()));
        }
        assertThat(bad).as("bad rounds").isEmpty();
    }

    /**
     * Another process deletes and recreates a lock file that a holder of this JVM holds (not told yet: the
     * check interval is an hour). An acquisition whose remembered identity, the old file's, finds the in-JVM
     * queue busy waits there and leaves it once its path is found naming the new file; the holder's release
     * races that, and in half the rounds a cancel after a random spin. A grant holds the new file, and once the
     * subscriber released what it got (maybe only after its dispose: see {@link LockFileChecks#releaseIfGranted})
     * nothing is left held: neither file's in-JVM queue, nor a lock of this process.
     */
    @Test
    void aReleaseRacingTheCheckOfAStaleIdentityLeavesNothingHeld() throws Exception {
        FileLockService locks = fixture.service(FileLockConfig.builder().lockFileCheckInterval(Duration.ofHours(1)));
        ThreadLocalRandom random = ThreadLocalRandom.current();
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            String name = "stale" + i;
            Path file = fixture.dir().resolve(name);
            LockMode mode = i % 2 == 0 ? LockMode.EXCLUSIVE : LockMode.SHARED;
            boolean fromParallel = i % 4 >= 2;
            boolean cancel = i % 8 >= 4;
            String round = "round " + i + " (" + mode + (fromParallel ? ", parallel" : "")
                    + (cancel ? ", cancelled" : "") + ")";
            Held held = hold(locks, name, file, true);
            LockHandle holder = held.holder();
            Outcome out = race(() -> holder.release().subscribe(), locks, name, LockOptions.of(mode).timeout(WAIT),
                    fromParallel, cancel ? random.nextInt(2_000) : -1);
            Object o = outcome(out, cancel);
            check(bad, round, o, h -> holdsTheFile(h, file), "not holding the new file", null);
            checkTheRest(bad, round, out, () -> nothingHeldByNobody(out, held.oldId(), held.newId()));
        }
        assertThat(bad).as("bad rounds").isEmpty();
    }

    /**
     * The service is disposed while an acquisition of it whose remembered identity finds the queue busy
     * checks its path (stale: the file replaced; or current), with the holder's release racing in half the
     * rounds: the acquisition is granted (then holds the file its path names) or fails closed, once; nothing
     * is left held.
     */
    @Test
    void aDisposeRacingTheCheckLeavesNothingHeldAndSignalsOnce() throws Exception {
        FileLockService holders = fixture.service(FileLockConfig.builder().lockFileCheckInterval(Duration.ofHours(1)));
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            String name = "dispose" + i;
            Path file = fixture.dir().resolve(name);
            LockMode mode = i % 2 == 0 ? LockMode.EXCLUSIVE : LockMode.SHARED;
            boolean fromParallel = i % 4 >= 2;
            boolean stale = i % 8 >= 4;
            boolean release = i % 16 >= 8;
            String round = "round " + i + " (" + mode + (fromParallel ? ", parallel" : "")
                    + (stale ? ", stale" : "") + (release ? ", released" : "") + ")";
            FileLockService locks = FileLockService.create(FileLockConfig.builder().lockDirectory(fixture.dir())
                    .lockFileCheckInterval(Duration.ofHours(1)).build());
            Held held = hold(holders, name, file, stale);
            LockHandle holder = held.holder();
            Outcome out = race(() -> {
                locks.disposeLater().subscribe();
                if (release) {
                    holder.release().subscribe();
                }
            }, locks, name, LockOptions.of(mode).timeout(WAIT), fromParallel, -1);
            Object o = outcome(out, false);
            holder.release().block(WAIT);
            check(bad, round, o, h -> holdsTheFile(h, file), "not holding the file its path names",
                    LockServiceClosedException.class);
            checkTheRest(bad, round, out, () -> nothingHeldByNobody(out, held.oldId(), held.newId()));
        }
        assertThat(bad).as("bad rounds").isEmpty();
    }

    /**
     * A remembered identity whose inode another lock file reused, held by a holder of this JVM: the
     * acquisition of the deleted name waits in that file's queue and checks its path; the holder's release
     * races it, and in half the rounds a cancel. A grant holds the name's file, created again; the other
     * file's holder is unaffected; nothing is left held.
     */
    @Test
    void aReleaseRacingTheCheckOfAReusedInodeLeavesNothingHeld() throws Exception {
        FileLockService locks = fixture.service(FileLockConfig.builder().channelIdleTimeout(Duration.ZERO)
                .lockFileCheckInterval(Duration.ofHours(1)));
        ThreadLocalRandom random = ThreadLocalRandom.current();
        List<String> bad = new ArrayList<>();
        int rounds = Math.min(ROUNDS, 300);
        int skipped = 0;
        for (int i = 0; i < rounds; i++) {
            String deleted = "deleted" + i;
            String reusing = "reusing" + i;
            LockMode mode = i % 2 == 0 ? LockMode.EXCLUSIVE : LockMode.SHARED;
            LockMode other = i % 4 >= 2 ? LockMode.EXCLUSIVE : LockMode.SHARED;
            boolean fromParallel = i % 8 >= 4;
            boolean cancel = i % 16 >= 8;
            String round = "round " + i + " (" + mode + " vs " + other + (fromParallel ? ", parallel" : "")
                    + (cancel ? ", cancelled" : "") + ")";
            Path first = fixture.dir().resolve(deleted);
            Path second = fixture.dir().resolve(reusing);
            String firstId = LockFileChecks.freedInodeReused(locks, fixture.dir(), deleted, reusing);
            if (firstId == null) {
                skipped++;
                continue;
            }
            LockHandle holder = locks.acquire(reusing, LockOptions.of(other)).block(WAIT);
            if (other == LockMode.SHARED && mode == LockMode.EXCLUSIVE) {
                // keep the queue busy for a shared A too: nothing to do, the exclusive A waits anyway
            }
            LockHandle waiterBlocker = null;
            boolean releaseInRace = other == LockMode.EXCLUSIVE || mode == LockMode.EXCLUSIVE;
            Outcome out = race(() -> holder.release().subscribe(), locks, deleted, LockOptions.of(mode).timeout(WAIT),
                    fromParallel, cancel ? random.nextInt(3_000) : -1);
            Object o = outcome(out, cancel);
            check(bad, round, o, h -> holdsTheFile(h, first) && !firstId.equals(LockFiles.existingId(first)),
                    "not holding the name's file created again", null);
            String newId = LockFiles.existingId(first);
            checkTheRest(bad, round, out, () -> eventually(() -> !anyLockOfThisProcess() && freeInJvm(firstId)
                    && (newId == null || freeInJvm(newId))));
        }
        assumeTrue(skipped < rounds, "the file system never reused a freed inode");
        System.err.println("FileLockQueuedCheckRaceTest: " + (rounds - skipped) + " of " + rounds
                + " rounds with the freed inode reused");
        assertThat(bad).as("bad rounds").isEmpty();
    }

    /**
     * An exclusive holder's downgrade races a shared acquisition whose remembered identity finds the queue
     * busy and waits there while its path is checked (current or stale: the file replaced), sometimes
     * cancelled after a random spin: a shared grant joins the downgraded holder on the file its path names
     * (the current file) or holds the new file; once all is released nothing is held by nobody.
     */
    @Test
    void aDowngradeRacingTheCheckOfASharedWaiterLeavesNothingHeld() throws Exception {
        FileLockService locks = fixture.service(FileLockConfig.builder().lockFileCheckInterval(Duration.ofHours(1)));
        ThreadLocalRandom random = ThreadLocalRandom.current();
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            String name = "downgrade" + i;
            Path file = fixture.dir().resolve(name);
            boolean stale = i % 2 == 1;
            boolean fromParallel = i % 4 >= 2;
            boolean cancel = i % 8 >= 4;
            String round = "round " + i + " (" + (stale ? "stale" : "current") + (fromParallel ? ", parallel" : "")
                    + (cancel ? ", cancelled" : "") + ")";
            Held held = hold(locks, name, file, stale);
            LockHandle holder = held.holder();
            CompletableFuture<LockHandle> downgraded = new CompletableFuture<>();
            Outcome out = race(
                    () -> holder.downgrade().subscribe(downgraded::complete, downgraded::completeExceptionally),
                    locks, name, LockOptions.shared().timeout(WAIT), fromParallel, cancel ? random.nextInt(3_000) : -1);
            LockHandle shared = downgraded.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            Object o = outcome(out, cancel);
            check(bad, round, o, h -> holdsTheFile(h, file), "not holding the file its path names", null);
            shared.release().block(WAIT);
            checkTheRest(bad, round, out, () -> nothingHeldByNobody(out, held.oldId(), held.newId()));
        }
        assertThat(bad).as("bad rounds").isEmpty();
    }

    /**
     * A cancel from another thread races the inline path check, the leave and the new lookup of an acquisition
     * subscribed on a thread that may block, whose remembered identity (stale: the file replaced; or current)
     * finds the queue busy, exclusive and shared: nothing after the cancel but a grant that came first, and
     * nothing held by nobody.
     */
    @Test
    void aCancelFromAnotherThreadRacingTheInlineCheckAndLeaveLeavesNothingHeld() throws Exception {
        FileLockService locks = fixture.service(FileLockConfig.builder().lockFileCheckInterval(Duration.ofHours(1)));
        ThreadLocalRandom random = ThreadLocalRandom.current();
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            String name = "cancel" + i;
            Path file = fixture.dir().resolve(name);
            LockMode mode = i % 2 == 0 ? LockMode.EXCLUSIVE : LockMode.SHARED;
            boolean stale = i % 4 >= 2;
            String round = "round " + i + " (" + mode + (stale ? ", stale" : "") + ")";
            Held held = hold(locks, name, file, stale);
            LockHandle holder = held.holder();
            Outcome out = new Outcome();
            java.util.concurrent.atomic.AtomicReference<org.reactivestreams.Subscription> ref =
                    new java.util.concurrent.atomic.AtomicReference<>();
            int spin = random.nextInt(20_000);
            racer.race(() -> locks.acquire(name, LockOptions.of(mode).timeout(WAIT)).doOnSubscribe(ref::set)
                    .subscribe(out::signal, out::signal, () -> {
                        if (!(out.getNow(null) instanceof LockHandle)) {
                            out.signal("empty");
                        }
                    }), () -> {
                        org.reactivestreams.Subscription s;
                        while ((s = ref.get()) == null) {
                            Thread.onSpinWait();
                        }
                        for (int k = 0; k < spin; k++) {
                            Thread.onSpinWait();
                        }
                        s.cancel();
                    });
            Object o = outcome(out, true);
            check(bad, round, o, h -> stale && holdsTheFile(h, file), "not holding the file its path names", null);
            holder.release().block(WAIT);
            checkTheRest(bad, round, out, () -> nothingHeldByNobody(out, held.oldId(), held.newId()));
        }
        assertThat(bad).as("bad rounds").isEmpty();
    }

    /**
     * The signal of {@code out}: awaited for 5 seconds ("HANG" if none came), or, after a cancel, whatever came
     * within 2ms ({@code null} for nothing).
     */
    private static Object outcome(Outcome out, boolean cancelled) throws Exception {
        if (cancelled) {
            LockSupport.parkNanos(2_000_000);
            return out.getNow(null);
        }
        try {
            return out.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return "HANG";
        }
    }

    private static boolean holdsTheFile(LockHandle h, Path file) {
        return h.isHeld() && LockFileRegistryTest.lockedByThisProcess(file);
    }

    /**
     * Adds a bad round unless {@code o} is a grant for which {@code holds} (then released), or an instance of
     * {@code expected} ({@code null}: no signal).
     */
    private static void check(List<String> bad, String round, Object o, Predicate<LockHandle> holds, String notHolding,
                              Class<?> expected) {
        if (o instanceof LockHandle h) {
            if (!holds.test(h)) {
                bad.add(round + ": granted, " + notHolding);
            }
            h.release().block(WAIT);
        } else if (expected == null ? o != null : !expected.isInstance(o)) {
            bad.add(round + ": " + o);
        }
    }

    /** Adds a bad round for a signal after the first, or unless {@code nothingHeldByNobody}. */
    private static void checkTheRest(List<String> bad, String round, Outcome out, BooleanSupplier nothingHeldByNobody) {
        if (!out.extra.isEmpty()) {
            bad.add(round + ": more signals " + out.extra);
        }
        if (!nothingHeldByNobody.getAsBoolean()) {
            bad.add(round + ": held by nobody");
        }
    }
}
