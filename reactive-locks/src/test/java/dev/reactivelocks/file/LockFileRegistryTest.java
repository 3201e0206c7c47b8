package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.testkit.contract.SpinRacer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.scheduler.Schedulers;

/**
 * The races between {@link LockFileRegistry} and the per-file protocol, seen from outside: whichever way a
 * new user of a file interleaves with the closing of its idle channel, the dropping of its entry or the
 * removal of the file, the holder it gets holds the kernel's record lock on the file its path names (read
 * from {@code /proc/locks}) through the one channel this JVM has open on it, and the registry's channel
 * count matches the descriptors open.
 */
class LockFileRegistryTest {

    private static final Duration WAIT = FileLockFixture.WAIT;
    static final int ROUNDS = Integer.getInteger("reactivelocks.fileRaces", 1_000);

    @RegisterExtension
    final FileLockFixture fixture = new FileLockFixture();

    private final SpinRacer racer = fixture.racer();

    @BeforeEach
    void needsTheKernelsTables() {
        assumeTrue(Files.isReadable(Path.of("/proc/locks")), "the kernel's lock table is Linux only");
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc/self/fd to count descriptors");
    }

    private FileLockService service(FileLockConfig.Builder config) {
        return fixture.service(config);
    }

    /** Whether this process holds a record lock (not a blocked request) on the file {@code path} names. */
    static boolean lockedByThisProcess(Path path) {
        FileInspection.LockFileState file = FileInspection.stat(path);
        List<FileInspection.KernelLock> kernel = FileInspection.kernelLocks();
        long self = ProcessHandle.current().pid();
        return file != null && kernel != null && kernel.stream().anyMatch(k -> !k.blocked() && k.pid() == self
                && k.major() == file.major() && k.minor() == file.minor() && k.inode() == file.inode());
    }

    private static LockHandle granted(CompletableFuture<LockHandle> grant) throws Exception {
        return grant.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static void assertHoldsTheOnlyChannel(LockHandle h, Path file, String round) {
        assertThat(h.isHeld()).as(round).isTrue();
        assertThat(lockedByThisProcess(file)).as(round + ": the file is locked in the kernel").isTrue();
        assertThat(FileLockChannelReuseTest.descriptorsOf(file)).as(round + ": one channel of the file").isEqualTo(1);
    }

    /** Every channel the registry counts is open, and no other: checked once the JVM holds nothing. */
    private static void assertChannelCountMatchesDescriptors(Path file) {
        FileLockServiceTest.await(() -> LockFileRegistry.openChannels() == FileLockChannelReuseTest.descriptorsOf(file),
                "the registry counts the channels open on the file");
    }

    /**
     * An entry retained while it is closed for idleness: {@code closeIfIdle} (what {@code removeLockFile} and
     * dispose use) races a new acquisition of the file whose channel is idle. The close either finds the
     * file used and leaves its channel open, or closes it before the new user's request, which opens it
     * again: the new holder always holds the OS lock.
     */
    @Test
    void anAcquisitionRacingTheCloseOfTheIdleChannelHoldsTheOsLock() throws Exception {
        FileLockService locks = service(FileLockConfig.builder().channelIdleTimeout(Duration.ofHours(1)));
        Path file = fixture.dir().resolve("idle");
        locks.acquire("idle").flatMap(LockHandle::release).block(WAIT);
        String id = LockFiles.existingId(file);
        assertThat(id).isNotNull();
        for (int i = 0; i < ROUNDS; i++) {
            CompletableFuture<LockHandle> grant = new CompletableFuture<>();
            CompletableFuture<Void> closed = new CompletableFuture<>();
            racer.race(
                    () -> LockFileRegistry.closeIfIdle(id, Schedulers.boundedElastic())
                            .subscribe(null, closed::completeExceptionally, () -> closed.complete(null)),
                    () -> locks.acquire("idle").subscribe(grant::complete, grant::completeExceptionally));
            LockHandle h = granted(grant);
            closed.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertHoldsTheOnlyChannel(h, file, "round " + i);
            h.release().block(WAIT);
        }
        assertChannelCountMatchesDescriptors(file);
    }

    /**
     * An entry dropped while a new acquisition retains the same id: with no idle timeout, a release closes
     * the channel and drops the entry at once, racing an acquisition of the same file from another thread.
     * Either the acquisition keeps the entry (and reopens its channel), or it gets a new entry once the old
     * one's channel is closed: never two channels of the file.
     */
    @Test
    void anEntryDroppedWhileANewAcquisitionRetainsTheFileLeavesOneLockedChannel() throws Exception {
        FileLockService locks = service(FileLockConfig.builder().channelIdleTimeout(Duration.ZERO));
        Path file = fixture.dir().resolve("dropped");
        LockHandle held = locks.acquire("dropped").block(WAIT);
        for (int i = 0; i < ROUNDS; i++) {
            LockHandle previous = held;
            CompletableFuture<LockHandle> grant = new CompletableFuture<>();
            racer.race(() -> previous.release().subscribe(),
                    () -> locks.acquire("dropped", LockOptions.exclusive().timeout(WAIT))
                            .subscribe(grant::complete, grant::completeExceptionally));
            held = granted(grant);
            assertThat(previous.isHeld()).isFalse();
            assertHoldsTheOnlyChannel(held, file, "round " + i);
        }
        held.release().block(WAIT);
        FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0, "the last release drops the entry");
        assertChannelCountMatchesDescriptors(file);
    }

    /**
     * {@code removeLockFile} racing an acquisition of another service of the JVM: the file is deleted only
     * when no entry uses it, and an acquisition that comes after that check locks the file the name
     * designates now; one that locked the file just before its deletion is told it is lost by the next check
     * of its path. Never does a holder believe it holds a lock that nobody else can see.
     *
     * <p>This race found a bug: an acquisition whose path named another file when it locked gives its local
     * grant back and looks the file up again; when that happened on the file scheduler while the subscribing
     * thread was still between the grant's {@code onNext} and its {@code onComplete}, the completion was taken
     * for a busy {@code tryAcquire} of the in-JVM queue, and the acquisition failed at once with
     * "Lock 'removed' (EXCLUSIVE) not acquired within 0ms".
     */
    @Test
    void removeLockFileRacingAnotherServicesAcquisitionLeavesNoHolderOfADeletedFile() throws Exception {
        FileLockService remover = service(FileLockConfig.builder());
        FileLockService user = service(FileLockConfig.builder().channelIdleTimeout(Duration.ofHours(1))
                .lockFileCheckInterval(Duration.ofMillis(20)));
        Path file = fixture.dir().resolve("removed");
        int removed = 0;
        int refused = 0;
        for (int i = 0; i < ROUNDS; i++) {
            user.acquire("removed").flatMap(LockHandle::release).block(WAIT); // an idle channel to close
            CompletableFuture<LockHandle> grant = new CompletableFuture<>();
            CompletableFuture<Boolean> removal = new CompletableFuture<>();
            racer.race(
                    () -> FileLockService.removeLockFile(remover.config(), "removed")
                            .subscribe(removal::complete, removal::completeExceptionally),
                    () -> user.acquire("removed").subscribe(grant::complete, grant::completeExceptionally));
            LockHandle h = granted(grant);
            try {
                removed += removal.get(WAIT.toMillis(), TimeUnit.MILLISECONDS) ? 1 : 0;
            } catch (java.util.concurrent.ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(IllegalLockStateException.class);
                refused++;
            }
            String round = "round " + i;
            FileLockServiceTest.await(() -> !h.isHeld() || lockedByThisProcess(file),
                    round + ": a holder holds the file its name designates, or is told it lost it");
            h.release().block(WAIT);
        }
        assertThat(removed + refused).as("every removal either deleted the file or refused").isEqualTo(ROUNDS);
        assertChannelCountMatchesDescriptors(file);
    }
}
