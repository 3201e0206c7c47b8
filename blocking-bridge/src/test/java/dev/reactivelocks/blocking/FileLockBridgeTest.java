package dev.reactivelocks.blocking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bridge over {@link FileLockService}: the oslo {@code external=True} case. Blocking holders exclude
 * reactive holders of another service on the same directory, and a lock held by another process.
 */
class FileLockBridgeTest {

    @TempDir
    Path dir;

    private FileLockService files;
    private FileLockService otherFiles;

    @AfterEach
    void tearDown() {
        if (files != null) {
            files.disposeLater().block(Duration.ofSeconds(10));
        }
        if (otherFiles != null) {
            otherFiles.disposeLater().block(Duration.ofSeconds(10));
        }
    }

    private FileLockConfig config() {
        return FileLockConfig.builder().lockDirectory(dir.resolve("locks")).build();
    }

    @Test
    void blockingAndReactiveHoldersOfTheSameLockFileExcludeEachOther() throws Exception {
        files = FileLockService.create(config());
        otherFiles = FileLockService.create(config());
        BlockingLockService locks = BlockingLockService.of(files);

        try (BlockingLockHandle h = locks.lock("x")) {
            assertThat(otherFiles.tryAcquire("x").blockOptional(Duration.ofSeconds(5))).isEmpty();
            assertThat(locks.tryLock("x")).isEmpty();
        }
        LockHandle reactive = otherFiles.acquire("x").block(Duration.ofSeconds(5));
        CompletableFuture<Long> blocked = CompletableFuture.supplyAsync(() -> {
            try {
                return locks.withLock("x", () -> 1L);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertThatThrownBy(() -> blocked.get(200, TimeUnit.MILLISECONDS))
                .isInstanceOf(java.util.concurrent.TimeoutException.class);
        reactive.release().block(Duration.ofSeconds(5));
        assertThat(blocked.get(10, TimeUnit.SECONDS)).isEqualTo(1L);
    }

    @Test
    void aLockHeldByAnotherProcessMakesBlockingCallsWaitTimeOutOrComeBackEmpty() throws Exception {
        files = FileLockService.create(config());
        BlockingLockService locks = BlockingLockService.of(files);
        Process child = new ProcessBuilder(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "dev.reactivelocks.testkit.contract.FileLockChildMain", "hold", dir.resolve("locks").toString(), "x"))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8));
             Writer in = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8)) {
            CompletableFuture<String> locked = CompletableFuture.supplyAsync(() -> readLine(out));
            assertThat(locked.get(60, TimeUnit.SECONDS)).startsWith("LOCKED ");

            assertThat(locks.tryLock("x")).as("held by the child process").isEmpty();
            assertThatThrownBy(() -> locks.lock("x", LockOptions.exclusive().timeout(Duration.ofMillis(300))))
                    .isInstanceOf(LockTimeoutException.class)
                    .hasMessage("Lock 'x' (EXCLUSIVE) not acquired within 300ms");
            Lock jucLock = locks.asLock("x");
            assertThat(jucLock.tryLock(100, TimeUnit.MILLISECONDS)).isFalse();

            CompletableFuture<Long> waiting = CompletableFuture.supplyAsync(() -> {
                try (BlockingLockHandle h = locks.lock("x")) {
                    return h.fencingToken();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThatThrownBy(() -> waiting.get(200, TimeUnit.MILLISECONDS))
                    .isInstanceOf(java.util.concurrent.TimeoutException.class);
            in.write("release\n");
            in.flush();
            assertThat(readLine(out)).isEqualTo("RELEASED");
            assertThat(waiting.get(30, TimeUnit.SECONDS)).isPositive();
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(child.exitValue()).isZero();
        } finally {
            child.destroyForcibly();
        }
        try (BlockingLockHandle free = locks.lock("x", LockOptions.exclusive().timeout(Duration.ofSeconds(5)))) {
            assertThat(free.isHeld()).isTrue();
        }
    }

    private static String readLine(BufferedReader reader) {
        try {
            String line = reader.readLine();
            if (line == null) {
                throw new AssertionError("child output ended");
            }
            return line;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
