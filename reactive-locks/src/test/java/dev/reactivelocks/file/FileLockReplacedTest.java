package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.test.StepVerifier;

/**
 * Issue 14, section 2: a lock file deleted or replaced while this JVM holds it excludes nobody any more
 * (the next process creates or opens the new file and locks it). The holder used to keep reporting
 * {@code isHeld()}; now the file service checks, every {@link FileLockConfig#lockFileCheckInterval()} while
 * it holds a file, that each holder's path still names the locked file, and completes {@code lost()}.
 */
class FileLockReplacedTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path tmp;

    private Path dir;
    private FileLockService locks;

    @BeforeEach
    void setUp() {
        dir = tmp.resolve("locks");
        locks = FileLockService.create(FileLockConfig.builder().lockDirectory(dir)
                .lockFileCheckInterval(Duration.ofMillis(100)).build());
    }

    @AfterEach
    void tearDown() {
        locks.disposeLater().block(WAIT);
        FileLockServiceTest.await(() -> LockFile.openEntries() == 0, "all lock file entries closed");
    }

    /** Holds {@code name} {@code holders} times, lets {@code breakIt} act on its file, expects the loss reported. */
    private void holdersAreToldOfTheLoss(String name, LockOptions options, int holders, FileAction breakIt)
            throws Exception {
        List<LockHandle> held = new ArrayList<>();
        for (int i = 0; i < holders; i++) {
            held.add(locks.acquire(name, options).block(WAIT));
        }
        StepVerifier.create(held.get(0).lost()).expectSubscription().expectNoEvent(Duration.ofMillis(300))
                .thenCancel().verify(WAIT);
        assertThat(held).allSatisfy(h -> assertThat(h.isHeld()).isTrue());

        breakIt.apply(dir.resolve(name));
        for (LockHandle h : held) {
            StepVerifier.create(h.lost()).expectComplete().verify(WAIT);
            assertThat(h.isHeld()).isFalse();
        }

        // the name works again on the file it names now, once the lost holders left
        held.forEach(h -> h.release().block(WAIT));
        LockHandle next = locks.acquire(name, LockOptions.exclusive().timeout(WAIT)).block(WAIT);
        assertThat(next.isHeld()).isTrue();
        assertThat(FileLockAliasTest.pythonTry(dir.resolve(name))).isEqualTo("BUSY");
        StepVerifier.create(next.lost()).expectSubscription().expectNoEvent(Duration.ofMillis(300)).thenCancel()
                .verify(WAIT);
        next.release().block(WAIT);
        assertThat(FileLockAliasTest.pythonTry(dir.resolve(name))).isEqualTo("LOCKED");
    }

    @FunctionalInterface
    interface FileAction {
        void apply(Path file) throws Exception;
    }

    @Test
    void aLockFileDeletedWhileHeldIsReportedLost() throws Exception {
        holdersAreToldOfTheLoss("deleted", LockOptions.exclusive(), 1, Files::delete);
    }

    @Test
    void aLockFileReplacedByRenameWhileHeldIsReportedLostToEverySharedHolder() throws Exception {
        holdersAreToldOfTheLoss("renamed", LockOptions.shared(), 2, file -> {
            Path fresh = Files.writeString(dir.resolve("fresh"), "");
            Files.move(fresh, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        });
    }

    @Test
    void aWaiterQueuedForADeletedLockFileLocksTheFileCreatedInItsPlace() throws Exception {
        LockHandle held = locks.acquire("moved").block(WAIT);
        CompletableFuture<LockHandle> waiting = locks.acquire("moved", LockOptions.exclusive().timeout(WAIT))
                .toFuture();
        Files.delete(dir.resolve("moved"));
        StepVerifier.create(held.lost()).expectComplete().verify(WAIT);
        held.release().block(WAIT);

        LockHandle next = waiting.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(next.isHeld()).isTrue();
        assertThat(dir.resolve("moved")).isRegularFile();
        assertThat(FileLockAliasTest.pythonTry(dir.resolve("moved"))).isEqualTo("BUSY");
        next.release().block(WAIT);
        assertThat(FileLockAliasTest.pythonTry(dir.resolve("moved"))).isEqualTo("LOCKED");
    }

    @Test
    void anUntouchedLockFileIsNeverReportedLost() {
        LockHandle held = locks.acquire("kept").block(WAIT);
        StepVerifier.create(held.lost()).expectSubscription().expectNoEvent(Duration.ofSeconds(1)).thenCancel()
                .verify(WAIT);
        assertThat(held.isHeld()).isTrue();
        held.release().block(WAIT);
    }

    @Test
    void theCheckIntervalMustBePositive() {
        assertThat(FileLockConfig.builder().build().lockFileCheckInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThatThrownBy(() -> FileLockConfig.builder().lockFileCheckInterval(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("lockFileCheckInterval must be > 0, was PT0S");
    }
}
