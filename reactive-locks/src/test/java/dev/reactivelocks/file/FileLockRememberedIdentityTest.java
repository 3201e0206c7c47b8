package dev.reactivelocks.file;

import static dev.reactivelocks.file.LockFileChecks.anyLockOfThisProcess;
import static dev.reactivelocks.file.LockFileChecks.releaseIfGranted;
import static dev.reactivelocks.file.LockFileChecks.replace;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.testkit.contract.FileLockChildMain;
import dev.reactivelocks.testkit.contract.SpinRacer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.Disposable;
import reactor.test.StepVerifier;

/**
 * The identities of lock files this JVM looked up are remembered, so that acquiring a file again queues
 * without a {@code stat}. A remembered identity goes stale when the file is removed ({@code removeLockFile})
 * or deleted or replaced by another process: whatever the order, a grant holds the kernel's record lock on
 * the file its path names now (read from {@code /proc/locks}), never only on the old file, and a holder of
 * the old file does not keep an acquisition of the new one waiting.
 */
class FileLockRememberedIdentityTest {

    private static final Duration WAIT = FileLockFixture.WAIT;
    private static final int ROUNDS = LockFileRegistryTest.ROUNDS;

    @RegisterExtension
    final FileLockFixture fixture = new FileLockFixture();

    private final SpinRacer racer = fixture.racer();

    @BeforeEach
    void needsTheKernelsTable() {
        assumeTrue(Files.isReadable(Path.of("/proc/locks")), "the kernel's lock table is Linux only");
    }

    private FileLockService service(FileLockConfig.Builder config) {
        return fixture.service(config);
    }

    /**
     * {@link LockFileChecks#freedInodeReused} on the fixture's directory, tried again (the file at
     * {@code reusing} deleted) while another file of the machine took the freed inode, at most ten times; the
     * test is skipped where the file system does not give the freed inode to the next file.
     *
     * @return the identity remembered for {@code deleted}, now {@code reusing}'s file's
     */
    private String freedInodeReused(FileLockService locks, String deleted, String reusing) throws IOException {
        for (int attempt = 1; ; attempt++) {
            String firstId = LockFileChecks.freedInodeReused(locks, fixture.dir(), deleted, reusing);
            if (firstId != null || attempt == 10) {
                assumeTrue(firstId != null, "the file system gave the freed inode to the next file");
                return firstId;
            }
            FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0, "the channel closed");
            Files.delete(fixture.dir().resolve(reusing));
        }
    }

    /** A service keeping idle channels for an hour: a file used once stays open on its old inode. */
    private FileLockService keepingChannels() {
        return service(FileLockConfig.builder().channelIdleTimeout(Duration.ofHours(1)));
    }

    /** Whether this process holds a record lock on the inode {@code old} (a file that may have no name now). */
    private static boolean lockedByThisProcess(FileInspection.LockFileState old) {
        List<FileInspection.KernelLock> kernel = FileInspection.kernelLocks();
        long self = ProcessHandle.current().pid();
        return kernel != null && kernel.stream().anyMatch(k -> !k.blocked() && k.pid() == self
                && k.major() == old.major() && k.minor() == old.minor() && k.inode() == old.inode());
    }

    private static FileInspection.LockFileState stat(Path file) {
        FileInspection.LockFileState state = FileInspection.stat(file);
        assertThat(state).as("the lock file " + file).isNotNull();
        return state;
    }

    /** {@code h} holds the new file its path names, and the {@code old} file is held as {@code oldHeld} says. */
    private static void assertHoldsTheNewFile(LockHandle h, Path file, FileInspection.LockFileState old,
                                              boolean oldHeld, String as) {
        assertThat(h.isHeld()).as(as).isTrue();
        assertThat(LockFiles.existingId(file)).as(as + ": a new file").isNotEqualTo(old.id());
        assertThat(LockFileRegistryTest.lockedByThisProcess(file)).as(as + ": the file the path names is locked")
                .isTrue();
        assertThat(lockedByThisProcess(old)).as(as + ": the old file locked").isEqualTo(oldHeld);
    }

    /**
     * The removal forgets the file for every service of the JVM: the next acquisition, of the service that
     * used the file or of another one, locks the new file at once. A remembered identity of the removed file
     * used to send it to the removed file's queue and entry first, and then round again.
     */
    @Test
    void anAcquisitionAfterRemoveLockFileLocksTheNewFile() {
        FileLockService user = keepingChannels();
        FileLockService other = keepingChannels();
        Path file = fixture.dir().resolve("removed");
        for (int i = 0; i < 200; i++) {
            FileLockService by = i % 2 == 0 ? user : other;
            user.acquire("removed").flatMap(LockHandle::release).block(WAIT);
            assertThat(FileLockService.removeLockFile(other.config(), "removed").block(WAIT)).isTrue();

            LockHandle h = by.acquire("removed").block(WAIT);
            assertThat(h.isHeld()).isTrue();
            assertThat(LockFileRegistryTest.lockedByThisProcess(file)).as("round " + i).isTrue();
            assertThat(FileLockChannelReuseTest.descriptorsOf(file)).as("round " + i).isEqualTo(1);
            h.release().block(WAIT);
        }
    }

    /**
     * Another process deletes and recreates, or renames a new file over, a lock file whose identity this JVM
     * remembers and whose old channel it keeps open: exclusive, shared and try-only acquisitions lock the new
     * file, and another process sees it held.
     */
    @Test
    void anAcquisitionOfAFileReplacedByAnotherProcessLocksTheNewFile() throws Exception {
        FileLockService locks = keepingChannels();
        Path file = fixture.dir().resolve("replaced");
        int round = 0;
        for (LockMode mode : LockMode.values()) {
            for (boolean tryOnly : new boolean[] {false, true}) {
                for (boolean rename : new boolean[] {false, true}) {
                    String as = mode + (tryOnly ? " try" : "")
                            + (rename ? " renamed over" : " deleted, then another put there");
                    locks.acquire("replaced").flatMap(LockHandle::release).block(WAIT);
                    FileInspection.LockFileState old = stat(file);
                    replace(file, rename);

                    LockOptions options = LockOptions.of(mode);
                    LockHandle h = (tryOnly ? locks.tryAcquire("replaced", options)
                            : locks.acquire("replaced", options.timeout(WAIT))).block(WAIT);
                    assertThat(h).as(as).isNotNull();
                    assertHoldsTheNewFile(h, file, old, false, as);
                    if (round++ < 2) { // a process of its own sees the new file held, and free once released
                        assertThat(FileLockAliasTest.pythonTry(file)).as(as).isEqualTo("BUSY");
                        h.release().block(WAIT);
                        assertThat(FileLockAliasTest.pythonTry(file)).as(as).isEqualTo("LOCKED");
                    } else {
                        h.release().block(WAIT);
                    }
                    assertThat(anyLockOfThisProcess()).as(as + ": nothing left locked").isFalse();
                }
            }
        }
    }

    /**
     * A shared acquisition of a file replaced while shared holders of this JVM hold the old one (their check
     * has not run yet) takes no lock of its own: it must not join them there, since that lock excludes nobody
     * from the file the name names now.
     */
    @Test
    void aSharedAcquisitionOfAReplacedFileDoesNotJoinTheHoldersOfTheOldFile() throws Exception {
        FileLockService locks = service(FileLockConfig.builder().lockFileCheckInterval(Duration.ofHours(1)));
        Path file = fixture.dir().resolve("swapped");
        LockHandle old = locks.acquire("swapped", LockOptions.shared()).block(WAIT);
        try {
            FileInspection.LockFileState oldFile = stat(file);
            replace(file, true);

            LockHandle joined = locks.acquire("swapped", LockOptions.shared().timeout(WAIT)).block(WAIT);
            try {
                assertThat(joined.isHeld()).isTrue();
                assertThat(LockFileRegistryTest.lockedByThisProcess(file)).as("the file the name names now").isTrue();
                assertThat(FileLockAliasTest.pythonTry(file)).as("the file the name names now").isEqualTo("BUSY");
            } finally {
                joined.release().block(WAIT);
            }
            assertThat(lockedByThisProcess(oldFile)).as("the old file, still held by the first holder").isTrue();
        } finally {
            old.release().block(WAIT);
        }
        assertThat(FileLockAliasTest.pythonTry(file)).isEqualTo("LOCKED");
        assertThat(anyLockOfThisProcess()).isFalse();
    }

    /**
     * A holder of this JVM keeps the in-JVM queue of a file deleted and recreated by another process (it is
     * told it lost the lock within the check interval, and holds its place until it releases). The queue of
     * the remembered identity is busy: an acquisition looks the file up before waiting there, and gets the new
     * file at once; a try-only one too.
     */
    @Test
    void aHolderOfTheOldFileDoesNotKeepAnAcquisitionOfTheNewFileWaiting() {
        FileLockService locks = service(FileLockConfig.builder().lockFileCheckInterval(Duration.ofHours(1)));
        Path file = fixture.dir().resolve("kept");
        LockHandle old = locks.acquire("kept").block(WAIT);
        try {
            FileInspection.LockFileState oldFile = stat(file);
            replace(file, false);

            LockHandle fresh = locks.acquire("kept", LockOptions.exclusive().timeout(Duration.ofSeconds(5)))
                    .block(WAIT);
            try {
                assertHoldsTheNewFile(fresh, file, oldFile, true, "waiting"); // the first holder holds the old one
                StepVerifier.create(locks.tryAcquire("kept")).as("the new file, held").expectComplete().verify(WAIT);
            } finally {
                fresh.release().block(WAIT);
            }
            LockHandle tried = locks.tryAcquire("kept").block(WAIT);
            assertThat(tried).isNotNull();
            try {
                assertHoldsTheNewFile(tried, file, oldFile, true, "try-only");
            } finally {
                tried.release().block(WAIT);
            }
        } finally {
            old.release().block(WAIT);
        }
        assertThat(anyLockOfThisProcess()).isFalse();
    }

    /**
     * Another process holds a lock file, which is then deleted and recreated: the other process holds a file
     * without a name now. The old file is busy when tried through the channel this JVM kept open on it, but
     * the file the path names is free: a try-only acquisition gets it, and a waiting one does not wait for
     * the old file.
     */
    @Test
    void aBusyOldFileDoesNotHideTheFreeNewFile() throws Exception {
        FileLockService locks = keepingChannels();
        Path file = fixture.dir().resolve("elsewhere");
        locks.acquire("elsewhere").flatMap(LockHandle::release).block(WAIT);
        FileInspection.LockFileState old = stat(file);
        try (ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", fixture.dir().toString(),
                "elsewhere")) {
            assertThat(child.nextLine(WAIT)).startsWith("LOCKED ");
            replace(file, false);

            LockHandle tried = locks.tryAcquire("elsewhere").block(WAIT);
            assertThat(tried).as("the new file is free").isNotNull();
            assertThat(LockFiles.existingId(file)).isNotEqualTo(old.id());
            assertThat(LockFileRegistryTest.lockedByThisProcess(file)).isTrue();
            tried.release().block(WAIT);

            LockHandle waited = locks.acquire("elsewhere", LockOptions.shared().timeout(Duration.ofSeconds(5)))
                    .block(WAIT);
            assertThat(LockFileRegistryTest.lockedByThisProcess(file)).isTrue();
            waited.release().block(WAIT);
            assertThat(anyLockOfThisProcess()).isFalse();
            child.closeInput();
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            assertThat(child.waitFor(WAIT)).isZero();
        }
    }

    /**
     * A lock file deleted by another process once this JVM closed its channel frees its inode, which the file
     * system may give to the next file created, here another lock file, held by the pipeline that acquires
     * the deleted one's name again. The identity remembered for that name is the held file's now: that is no
     * re-entry, and the name's file is looked up and created again.
     */
    @Test
    void aRememberedIdentityWhoseInodeAnotherHeldFileReusedIsNoReentry() throws Exception {
        FileLockService locks = service(FileLockConfig.builder().channelIdleTimeout(Duration.ZERO));
        Path first = fixture.dir().resolve("first");
        String firstId = freedInodeReused(locks, "first", "second");

        String granted = locks.withLock("second", locks.acquire("first", LockOptions.exclusive().timeout(WAIT))
                .flatMap(h -> h.release().thenReturn("granted " + h.isHeld()))).block(WAIT);
        assertThat(granted).isEqualTo("granted true");
        assertThat(LockFiles.existingId(first)).isNotNull().isNotEqualTo(firstId);
    }

    /**
     * A lock file deleted by another process once this JVM closed its channel frees its inode, which the file
     * system may give to the next lock file created. A shared acquisition of the deleted name, whose remembered
     * identity is that inode, joins the shared acquisitions of the other file in the in-JVM queue and waits
     * with them for that file, held by another process. When the other process releases it, the lock taken
     * is the other file's: the deleted name's acquisition must not be granted with it (the name's file is
     * looked up and created again), and another process can lock the name only while that grant is not held.
     */
    @Test
    void aRememberedIdentityWhoseInodeAnotherFileReusedIsNotGrantedWithThatFilesWaiters() throws Exception {
        FileLockService locks = service(FileLockConfig.builder().channelIdleTimeout(Duration.ZERO)
                .lockFileCheckInterval(Duration.ofHours(1)));
        Path first = fixture.dir().resolve("first");
        String firstId = freedInodeReused(locks, "first", "second");

        try (ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", fixture.dir().toString(),
                "second")) {
            assertThat(child.nextLine(WAIT)).startsWith("LOCKED ");
            CompletableFuture<LockHandle> waiter = locks.acquire("second", LockOptions.shared().timeout(WAIT))
                    .toFuture();
            Thread.sleep(200); // the second file's waiter polls it
            CompletableFuture<LockHandle> named = locks.acquire("first", LockOptions.shared().timeout(WAIT))
                    .toFuture();
            Thread.sleep(200); // let it queue with the waiter of the second file, if it does
            child.closeInput();
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            LockHandle h = named.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            try {
                assertThat(h.isHeld()).isTrue();
                assertThat(LockFiles.existingId(first)).as("the name's file created again").isNotNull()
                        .isNotEqualTo(firstId);
                assertThat(LockFileRegistryTest.lockedByThisProcess(first)).as("the file the name names is locked")
                        .isTrue();
                assertThat(FileLockAliasTest.pythonTry(first)).as("another process").isEqualTo("BUSY");
            } finally {
                h.release().block(WAIT);
                waiter.get(WAIT.toMillis(), TimeUnit.MILLISECONDS).release().block(WAIT);
            }
            assertThat(child.waitFor(WAIT)).isZero();
        }
        assertThat(anyLockOfThisProcess()).isFalse();
    }

    /**
     * As above, with a try-only acquisition of the deleted name: its file (created again) is free, while the
     * file that reused its remembered inode is held by another process and waited for by a shared acquisition
     * of this JVM. The try gets the free file; it is not failed as busy with the other file's waiters.
     */
    @Test
    void aTryOfARememberedIdentityWhoseInodeAnotherBusyFileReusedGetsItsFreeFile() throws Exception {
        FileLockService locks = service(FileLockConfig.builder().channelIdleTimeout(Duration.ZERO));
        Path first = fixture.dir().resolve("first");
        freedInodeReused(locks, "first", "second");

        try (ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", fixture.dir().toString(),
                "second")) {
            assertThat(child.nextLine(WAIT)).startsWith("LOCKED ");
            CompletableFuture<LockHandle> waiter = locks.acquire("second", LockOptions.shared().timeout(WAIT))
                    .toFuture();
            Thread.sleep(200); // the second file's waiter polls it
            LockHandle h = locks.tryAcquire("first", LockOptions.shared()).block(WAIT);
            assertThat(h).as("the name's file is free").isNotNull();
            try {
                assertThat(LockFileRegistryTest.lockedByThisProcess(first)).isTrue();
            } finally {
                h.release().block(WAIT);
            }
            assertThat(waiter).isNotDone();
            child.closeInput();
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            waiter.get(WAIT.toMillis(), TimeUnit.MILLISECONDS).release().block(WAIT);
            assertThat(child.waitFor(WAIT)).isZero();
        }
        assertThat(anyLockOfThisProcess()).isFalse();
    }

    /**
     * Another process deleting or replacing the file (renaming a new file over it, or deleting it and putting
     * another there) races an acquisition whose identity is remembered, with a random spin before each call:
     * exclusive, shared, and shared joining a holder of this JVM (which takes no lock of its own). Each grant
     * holds the file its path names, or, when the replacement came after the check of its lock, is told it
     * lost the lock (checked every 20 ms); after the releases nothing is left locked.
     */
    @Test
    void aReplacementRacingAnAcquisitionLeavesEveryGrantOnTheFileItsPathNames() throws Exception {
        FileLockService locks = service(FileLockConfig.builder().channelIdleTimeout(Duration.ofHours(1))
                .lockFileCheckInterval(Duration.ofMillis(20)));
        Path file = fixture.dir().resolve("raced");
        String[] replacements = {"renamed over", "deleted, then another put there", "deleted"};
        for (int i = 0; i < ROUNDS; i++) {
            LockMode mode = i % 3 == 0 ? LockMode.EXCLUSIVE : LockMode.SHARED;
            boolean join = i % 3 == 2;
            int replacement = i / 3 % 3;
            String round = "round " + i + " (" + mode + (join ? " joining" : "") + ", " + replacements[replacement]
                    + ")";
            locks.acquire("raced").flatMap(LockHandle::release).block(WAIT); // remembered, its channel open
            LockHandle holder = join ? locks.acquire("raced", LockOptions.shared()).block(WAIT) : null;
            CompletableFuture<LockHandle> grant = new CompletableFuture<>();
            racer.race(() -> {
                        if (replacement == 2) {
                            deleteQuietly(file);
                        } else {
                            replace(file, replacement == 0);
                        }
                    },
                    () -> locks.acquire("raced", LockOptions.of(mode).timeout(WAIT))
                            .subscribe(grant::complete, grant::completeExceptionally));
            LockHandle h = grant.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            FileLockServiceTest.await(() -> !h.isHeld() || LockFileRegistryTest.lockedByThisProcess(file),
                    round + ": a holder holds the file its path names, or is told it lost it");
            h.release().block(WAIT);
            if (holder != null) {
                holder.release().block(WAIT);
            }
            FileLockServiceTest.await(() -> !anyLockOfThisProcess(), round + ": nothing left locked");
        }
    }

    /**
     * An acquisition whose identity is remembered finds the in-JVM queue busy and looks the file up before
     * waiting there; the holder's release and the acquisition's cancellation race that, with a random spin
     * before each call (the cancellation after a random spin too). Whatever the order, the acquisition is
     * granted once or not at all, a grant holds the file, and once all is released the file is free for a try
     * of this JVM and for another process: no local grant or lock is left behind by the cancelled ones.
     */
    @Test
    void aReleaseAndACancellationRacingTheLookupOfABusyRememberedIdentityLeaveNothingHeld() throws Exception {
        FileLockService locks = service(FileLockConfig.builder().channelIdleTimeout(Duration.ofHours(1)));
        Path file = fixture.dir().resolve("cancelled");
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < ROUNDS; i++) {
            String round = "round " + i;
            LockMode mode = i % 2 == 0 ? LockMode.EXCLUSIVE : LockMode.SHARED;
            LockHandle holder = locks.acquire("cancelled").block(WAIT); // remembered from the round before
            CompletableFuture<LockHandle> grant = new CompletableFuture<>();
            Disposable[] subscription = new Disposable[1];
            int spin = random.nextInt(2_000);
            racer.race(() -> holder.release().subscribe(),
                    () -> {
                        subscription[0] = locks.acquire("cancelled", LockOptions.of(mode).timeout(WAIT))
                                .subscribe(grant::complete, grant::completeExceptionally);
                        for (int s = 0; s < spin; s++) {
                            Thread.onSpinWait();
                        }
                        subscription[0].dispose();
                    });
            FileLockServiceTest.await(() -> !holder.isHeld(), round + ": released");
            if (grant.isDone()) {
                LockHandle h = grant.get();
                assertThat(LockFileRegistryTest.lockedByThisProcess(file)).as(round).isTrue();
                h.release().block(WAIT);
            }
            FileLockServiceTest.await(() -> {
                releaseIfGranted(grant); // emitted as it was disposed, it may reach the subscriber only now
                return !anyLockOfThisProcess();
            }, round + ": nothing left locked");
            // a cancelled acquisition gives its local grant back in the file's actor, maybe a moment later
            FileLockServiceTest.await(() -> {
                LockHandle tried = locks.tryAcquire("cancelled").block(WAIT);
                if (tried != null) {
                    tried.release().block(WAIT);
                }
                return tried != null;
            }, round + ": free again");
        }
        assertThat(FileLockAliasTest.pythonTry(file)).isEqualTo("LOCKED");
    }

    /**
     * A lock file deleted by another process once this JVM closed its channel, whose inode the next lock file
     * created reused: an acquisition of the deleted name (exclusive or shared, waiting or try-only) whose
     * remembered identity is that inode gets the name's file, created again, whatever the other file's state:
     * free, held exclusively or shared by this JVM, held by another process, or held by another process and
     * waited for by a shared acquisition of this JVM. The other file's holders and waiters keep theirs.
     */
    @Test
    void aRememberedIdentityWhoseInodeAnotherFileReusedGetsTheNamesFileWhateverThatFilesState() throws Exception {
        FileLockService locks = service(FileLockConfig.builder().channelIdleTimeout(Duration.ZERO)
                .lockFileCheckInterval(Duration.ofHours(1)));
        String[] states = {"free", "held exclusive here", "held shared here", "held by another process",
                "held by another process, waited for shared here"};
        int round = 0;
        for (String state : states) {
            for (LockMode mode : LockMode.values()) {
                for (boolean tryOnly : new boolean[] {false, true}) {
                    String deleted = "deleted" + round;
                    String reusing = "reusing" + round++;
                    String as = state + ", " + mode + (tryOnly ? " try" : "");
                    Path first = fixture.dir().resolve(deleted);
                    Path second = fixture.dir().resolve(reusing);
                    String firstId = freedInodeReused(locks, deleted, reusing);

                    ChildProcess child = null;
                    LockHandle other = null;
                    CompletableFuture<LockHandle> waiter = null;
                    try {
                        if (state.startsWith("held by another process")) {
                            child = ChildProcess.java(FileLockChildMain.class, "hold", fixture.dir().toString(),
                                    reusing);
                            assertThat(child.nextLine(WAIT)).startsWith("LOCKED ");
                            if (state.endsWith("here")) {
                                waiter = locks.acquire(reusing, LockOptions.shared().timeout(WAIT)).toFuture();
                                Thread.sleep(100);
                            }
                        } else if (!state.equals("free")) {
                            other = locks.acquire(reusing, LockOptions.of(state.contains("shared")
                                    ? LockMode.SHARED : LockMode.EXCLUSIVE)).block(WAIT);
                        }
                        LockOptions options = LockOptions.of(mode);
                        LockHandle h = (tryOnly ? locks.tryAcquire(deleted, options)
                                : locks.acquire(deleted, options.timeout(WAIT))).block(WAIT);
                        assertThat(h).as(as + ": the name's file is free").isNotNull();
                        try {
                            assertThat(h.isHeld()).as(as).isTrue();
                            assertThat(LockFiles.existingId(first)).as(as + ": created again").isNotNull()
                                    .isNotEqualTo(firstId);
                            assertThat(LockFileRegistryTest.lockedByThisProcess(first)).as(as).isTrue();
                        } finally {
                            h.release().block(WAIT);
                        }
                        if (other != null) {
                            assertThat(other.isHeld()).as(as + ": the other file's holder").isTrue();
                            assertThat(LockFileRegistryTest.lockedByThisProcess(second)).as(as).isTrue();
                        }
                        if (waiter != null) {
                            assertThat(waiter).as(as + ": the other file's waiter").isNotDone();
                        }
                    } finally {
                        if (other != null) {
                            other.release().block(WAIT);
                        }
                        if (child != null) {
                            child.closeInput();
                            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
                            assertThat(child.waitFor(WAIT)).isZero();
                            child.close();
                        }
                        if (waiter != null) {
                            waiter.get(WAIT.toMillis(), TimeUnit.MILLISECONDS).release().block(WAIT);
                        }
                    }
                    FileLockServiceTest.await(() -> !anyLockOfThisProcess(), as + ": nothing left locked");
                }
            }
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.delete(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
