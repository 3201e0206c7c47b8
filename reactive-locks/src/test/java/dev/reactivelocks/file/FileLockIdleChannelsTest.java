package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reactivelocks.LockHandle;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;

/**
 * Issue 14, section 3: idle lock-file descriptors were unbounded. 5,000 distinct names used within a second
 * kept about 5,000 descriptors open for the idle timeout, and at the process limit every lock of the JVM
 * failed. Idle channels are now capped ({@link FileLockConfig#maxIdleChannels()}), the least recently used
 * closed first, never one whose file has a holder in this JVM. Descriptors are counted in
 * {@code /proc/self/fd}.
 */
class FileLockIdleChannelsTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Path FDS = Path.of("/proc/self/fd");

    @TempDir
    Path tmp;

    private Path dir;
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
        FileLockServiceTest.await(() -> LockFile.openEntries() == 0, "all lock file entries closed");
    }

    private FileLockService service(FileLockConfig.Builder config) {
        dir = tmp.resolve("locks");
        locks = FileLockService.create(config.lockDirectory(dir).channelIdleTimeout(Duration.ofHours(1)).build());
        return locks;
    }

    /** How many descriptors of this process are open on files in the lock directory. */
    private long descriptorsInLockDirectory() {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (Stream<Path> fds = Files.list(FDS)) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).startsWith(real);
                } catch (IOException | UnsupportedOperationException e) {
                    return false; // closed while listing
                }
            }).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void useNames(FileLockService service, String prefix, int count) {
        Flux.range(0, count)
                .flatMap(i -> service.acquire(prefix + i).flatMap(LockHandle::release), 16)
                .blockLast(WAIT);
    }

    @Test
    void fiveThousandNamesKeepAtMostTheDefaultOf256IdleChannelsTheMostRecentlyUsed() {
        FileLockService service = service(FileLockConfig.builder());
        assertThat(service.config().maxIdleChannels()).isEqualTo(256);
        useNames(service, "n", 5000);

        FileLockServiceTest.await(() -> descriptorsInLockDirectory() <= 256, "idle channels capped");
        assertThat(descriptorsInLockDirectory()).isEqualTo(256);
        assertThat(LockFile.openChannels()).isEqualTo(256);
        assertThat(FileLockChannelReuseTest.descriptorsOf(dir.resolve("n4999"))).isEqualTo(1);
        assertThat(FileLockChannelReuseTest.descriptorsOf(dir.resolve("n0"))).isZero();
    }

    @Test
    void aChannelWhoseFileIsHeldIsNeverClosedToMakeRoom() throws Exception {
        FileLockService service = service(FileLockConfig.builder().maxIdleChannels(2));
        LockHandle held = service.acquire("held").block(WAIT);
        useNames(service, "other", 50);

        FileLockServiceTest.await(() -> descriptorsInLockDirectory() <= 3, "idle channels capped");
        assertThat(descriptorsInLockDirectory()).isEqualTo(3); // the held file and the two idle ones
        assertThat(held.isHeld()).isTrue();
        assertThat(FileLockAliasTest.pythonTry(dir.resolve("held"))).isEqualTo("BUSY");
        held.release().block(WAIT);
        FileLockServiceTest.await(() -> descriptorsInLockDirectory() == 2, "the released file's channel is idle too");
        assertThat(FileLockAliasTest.pythonTry(dir.resolve("held"))).isEqualTo("LOCKED");
    }

    @Test
    void zeroIdleChannelsClosesEachChannelWithItsLastUser() {
        FileLockService service = service(FileLockConfig.builder().maxIdleChannels(0));
        useNames(service, "z", 20);
        FileLockServiceTest.await(() -> descriptorsInLockDirectory() == 0, "no idle channel kept");
        assertThat(LockFile.openEntries()).isZero();
    }

    @Test
    void theLimitMustNotBeNegative() {
        assertThatThrownBy(() -> FileLockConfig.builder().maxIdleChannels(-1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxIdleChannels must be >= 0, was -1");
    }
}
