package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.testkit.contract.FileLockChildMain;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/**
 * The channel of a lock file stays open for {@link FileLockConfig#channelIdleTimeout()} after its last user
 * left, holding no lock meanwhile, and is closed after that timeout, on dispose, before the file is
 * removed, and when more than {@link FileLockConfig#maxIdleChannels()} are idle (never while held). Descriptors are counted in {@code /proc/self/fd}.
 */
class FileLockChannelReuseTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Path FDS = Path.of("/proc/self/fd");

    @TempDir
    Path tmp;

    private FileLockService locks;

    @BeforeAll
    static void needsProcFs() {
        assumeTrue(Files.isDirectory(FDS), "needs /proc/self/fd to count descriptors");
    }

    @AfterEach
    void tearDown() {
        if (locks != null) {
            locks.disposeLater().block(WAIT);
        }
        FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0, "all lock file entries closed");
    }

    private Path dir() {
        return tmp.resolve("locks");
    }

    private FileLockService service(Duration idleTimeout) {
        return service(FileLockConfig.builder().channelIdleTimeout(idleTimeout));
    }

    private FileLockService service(FileLockConfig.Builder config) {
        locks = FileLockService.create(config.lockDirectory(dir()).build());
        return locks;
    }

    /** How many descriptors of this process are open on {@code file}. */
    static long descriptorsOf(Path file) {
        Path real;
        try {
            real = file.toRealPath();
        } catch (IOException e) {
            return 0; // no such file: nothing can be open on it under this name
        }
        return descriptors(real::equals);
    }

    /** How many descriptors of this process are open on files in the lock directory. */
    private long descriptorsInLockDirectory() {
        Path real;
        try {
            real = dir().toRealPath();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return descriptors(target -> target.startsWith(real));
    }

    private static long descriptors(Predicate<Path> target) {
        try (Stream<Path> fds = Files.list(FDS)) {
            return fds.filter(fd -> {
                try {
                    return target.test(Files.readSymbolicLink(fd));
                } catch (IOException | UnsupportedOperationException e) {
                    return false; // closed while listing
                }
            }).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void acquireAndRelease(FileLockService service, String name) {
        LockHandle h = service.acquire(name).block(WAIT);
        assertThat(h.isHeld()).isTrue();
        h.release().block(WAIT);
    }

    /** Acquires and releases {@code name} with a channel kept open for an hour; returns the lock file. */
    private Path usedOnce(String name) {
        acquireAndRelease(service(Duration.ofHours(1)), name);
        Path file = dir().resolve(name);
        assertThat(descriptorsOf(file)).isEqualTo(1);
        return file;
    }

    @Test
    void anIdleChannelStaysOpenWithoutLockingTheFileAndIsReused() throws Exception {
        Path file = usedOnce("reuse");
        FileLockService service = locks;

        // the idle channel holds no lock: another process takes the file, and this JVM sees it busy
        try (ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", dir().toString(), "reuse")) {
            assertThat(child.nextLine(WAIT)).startsWith("LOCKED ");
            StepVerifier.create(service.tryAcquire("reuse")).expectComplete().verify(WAIT);
            child.closeInput();
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            assertThat(child.waitFor(WAIT)).isZero();
        }
        acquireAndRelease(service, "reuse");
        assertThat(descriptorsOf(file)).isEqualTo(1);

        service.disposeLater().block(WAIT);
        assertThat(descriptorsOf(file)).isZero();
        assertThat(LockFileRegistry.openEntries()).isZero();
    }

    @Test
    void anIdleChannelIsClosedAfterTheIdleTimeout() {
        FileLockService service = service(Duration.ofMillis(100));
        acquireAndRelease(service, "idle");
        Path file = dir().resolve("idle");
        FileLockServiceTest.await(() -> descriptorsOf(file) == 0 && LockFileRegistry.openEntries() == 0,
                "idle channel closed");
        acquireAndRelease(service, "idle"); // opens it again
        FileLockServiceTest.await(() -> descriptorsOf(file) == 0, "idle channel closed again");
    }

    @Test
    void aZeroIdleTimeoutClosesTheChannelWithTheLastUser() {
        FileLockService service = service(Duration.ZERO);
        acquireAndRelease(service, "zero");
        FileLockServiceTest.await(() -> descriptorsOf(dir().resolve("zero")) == 0 && LockFileRegistry.openEntries() == 0,
                "channel closed");
    }

    @Test
    void aHolderReleasedAfterDisposeClosesItsChannelWithoutWaitingForTheIdleTimeout() {
        FileLockService service = service(Duration.ofHours(1));
        LockHandle h = service.acquire("late").block(WAIT);
        service.disposeLater().block(WAIT);
        assertThat(descriptorsOf(dir().resolve("late"))).isEqualTo(1);
        h.release().block(WAIT);
        FileLockServiceTest.await(() -> descriptorsOf(dir().resolve("late")) == 0, "channel closed");
    }

    @Test
    void removeLockFileClosesAnIdleChannelBeforeDeletingTheFile() throws Exception {
        Path file = usedOnce("removed");
        FileLockService service = locks;
        assertThat(FileLockService.removeLockFile(service.config(), "removed").block(WAIT)).isTrue();
        assertThat(file).doesNotExist();
        assertThat(LockFileRegistry.openEntries()).isZero();

        // the next acquisition locks a new file of that name, which another process can see locked
        LockHandle h = service.acquire("removed").block(WAIT);
        assertThat(file).exists();
        assertThat(descriptorsOf(file)).isEqualTo(1);
        try (ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", dir().toString(), "removed")) {
            assertThat(child.lineNow()).isNull();
            h.release().block(WAIT);
            assertThat(child.nextLine(WAIT)).startsWith("LOCKED ");
            child.closeInput();
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            assertThat(child.waitFor(WAIT)).isZero();
        }
        StepVerifier.create(service.acquire("removed", LockOptions.shared().timeout(WAIT)).flatMap(LockHandle::release))
                .expectComplete()
                .verify(WAIT);
    }

    @Test
    void aLockFileDeletedByAnotherProcessWhileTheChannelIsIdleIsReopenedNotLockedStale() throws Exception {
        Path file = usedOnce("replaced");
        FileLockService service = locks;
        Files.delete(file); // what oslo's remove_external_lock_file does, without asking anyone

        // a process creates and locks a new file of that name: this JVM must see it busy, not lock the old one
        try (ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", dir().toString(), "replaced")) {
            assertThat(child.nextLine(WAIT)).startsWith("LOCKED ");
            StepVerifier.create(service.tryAcquire("replaced")).expectComplete().verify(WAIT);
            CompletableFuture<LockHandle> waiting = service.acquire("replaced", LockOptions.exclusive().timeout(WAIT))
                    .toFuture();
            child.closeInput();
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            assertThat(child.waitFor(WAIT)).isZero();
            LockHandle h = waiting.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(descriptorsOf(file)).as("the stale channel was closed, the new file opened").isEqualTo(1);
            h.release().block(WAIT);
        }
    }

    private static void useNames(FileLockService service, String prefix, int count) {
        Flux.range(0, count)
                .flatMap(i -> service.acquire(prefix + i).flatMap(LockHandle::release), 16)
                .blockLast(Duration.ofMinutes(2)); // creating 5,000 files takes seconds on a busy disk
    }

    /**
     * Issue 14, section 3: idle lock-file descriptors were unbounded. 5,000 distinct names used within a
     * second kept about 5,000 descriptors open for the idle timeout, and at the process limit every lock of
     * the JVM failed. Now at most {@link FileLockConfig#maxIdleChannels()} idle channels stay open, the most
     * recently used.
     */
    @Test
    void fiveThousandNamesKeepAtMostTheDefaultOf256IdleChannelsTheMostRecentlyUsed() {
        FileLockService service = service(FileLockConfig.builder().channelIdleTimeout(Duration.ofHours(1)));
        assertThat(service.config().maxIdleChannels()).isEqualTo(256);
        useNames(service, "n", 5000);

        FileLockServiceTest.await(() -> descriptorsInLockDirectory() <= 256, "idle channels capped");
        assertThat(descriptorsInLockDirectory()).isEqualTo(256);
        assertThat(LockFileRegistry.openChannels()).isEqualTo(256);
        assertThat(descriptorsOf(dir().resolve("n4999"))).isEqualTo(1);
        assertThat(descriptorsOf(dir().resolve("n0"))).isZero();
    }

    @Test
    void aChannelWhoseFileIsHeldIsNeverClosedToMakeRoom() throws Exception {
        FileLockService service = service(FileLockConfig.builder().channelIdleTimeout(Duration.ofHours(1)).maxIdleChannels(2));
        LockHandle held = service.acquire("held").block(WAIT);
        useNames(service, "other", 50);

        FileLockServiceTest.await(() -> descriptorsInLockDirectory() <= 3, "idle channels capped");
        assertThat(descriptorsInLockDirectory()).isEqualTo(3); // the held file and the two idle ones
        assertThat(held.isHeld()).isTrue();
        assertThat(FileLockAliasTest.pythonTry(dir().resolve("held"))).isEqualTo("BUSY");
        held.release().block(WAIT);
        FileLockServiceTest.await(() -> descriptorsInLockDirectory() == 2, "the released file's channel is idle too");
        assertThat(FileLockAliasTest.pythonTry(dir().resolve("held"))).isEqualTo("LOCKED");
    }

    @Test
    void zeroIdleChannelsClosesEachChannelWithItsLastUser() {
        FileLockService service = service(FileLockConfig.builder().channelIdleTimeout(Duration.ofHours(1)).maxIdleChannels(0));
        useNames(service, "z", 20);
        // the actor closes the channel, then drops the entry: the descriptor may be gone a moment before the entry
        FileLockServiceTest.await(() -> descriptorsInLockDirectory() == 0 && LockFileRegistry.openEntries() == 0,
                "no idle channel kept, no entry left");
        assertThat(LockFileRegistry.openChannels()).isZero();
    }

    /**
     * A lock file deleted under its holder (as oslo's {@code remove_external_lock_file} does from another
     * process): the holder is told it lost the lock, and once it releases, the channel on the deleted file is
     * closed at once. It used to stay open for the idle timeout (here an hour), serving nobody.
     */
    @Test
    void theChannelOfALockFileDeletedUnderItsHolderClosesOnceIdle() throws Exception {
        FileLockService service = service(FileLockConfig.builder().channelIdleTimeout(Duration.ofHours(1))
                .lockFileCheckInterval(Duration.ofMillis(20)));
        LockHandle held = service.acquire("deleted").block(WAIT);
        Files.delete(dir().resolve("deleted"));
        held.lost().block(WAIT);
        assertThat(descriptorsInLockDirectory()).as("the deleted file's channel, while its holder holds").isEqualTo(1);
        held.release().block(WAIT);
        FileLockServiceTest.await(() -> descriptorsInLockDirectory() == 0 && LockFileRegistry.openChannels() == 0,
                "the deleted file's channel closed");

        service.acquire("kept").flatMap(LockHandle::release).block(WAIT);
        assertThat(descriptorsOf(dir().resolve("kept"))).as("an idle channel of a named file stays").isEqualTo(1);
    }

    @Test
    void theLimitMustNotBeNegative() {
        assertThatThrownBy(() -> FileLockConfig.builder().maxIdleChannels(-1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxIdleChannels must be >= 0, was -1");
    }
}
