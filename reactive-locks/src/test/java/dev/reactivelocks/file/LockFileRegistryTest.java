package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.testkit.contract.SpinRacer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
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

    private final List<FileLockService> services = new ArrayList<>();
    private final SpinRacer racer = new SpinRacer();

    @BeforeEach
    void needsTheKernelsTables() {
        assumeTrue(Files.isReadable(Path.of("/proc/locks")), "the kernel's lock table is Linux only");
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc/self/fd to count descriptors");
    }

    @AfterEach
    void disposeServices() {
        racer.close();
        services.forEach(s -> s.disposeLater().block(WAIT));
    }

    private FileLockService service(FileLockConfig.Builder config) {
        FileLockService s = FileLockService.create(config.lockDirectory(fixture.dir()).build());
        services.add(s);
        return s;
    }

    /** Whether this process holds a record lock (not a blocked request) on the file {@code path} names. */
    private static boolean lockedByThisProcess(Path path) {
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
}
