package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

class FileLockConfigTest {

    @TempDir
    Path tmp;

    @Test
    void lockDirectoryComesFromBuilderThenSystemPropertyThenEnvironment() {
        Map<String, String> props = Map.of("reactivelocks.lock-dir", "/srv/prop-locks");
        Map<String, String> env = Map.of("REACTIVE_LOCKS_DIR", "/srv/env-locks");
        assertThat(FileLockConfig.builder().lockDirectory(Path.of("/srv/explicit")).build(props::get, env::get)
                .lockDirectory()).contains(Path.of("/srv/explicit"));
        assertThat(FileLockConfig.builder().build(props::get, env::get).lockDirectory())
                .contains(Path.of("/srv/prop-locks"));
        assertThat(FileLockConfig.builder().build(k -> null, env::get).lockDirectory())
                .contains(Path.of("/srv/env-locks"));
        assertThat(FileLockConfig.builder().build(k -> " ", k -> "").lockDirectory()).isEmpty();
    }

    @Test
    void oslosLockPathIsTheLastFallback() {
        Map<String, String> both = Map.of("REACTIVE_LOCKS_DIR", "/srv/env-locks", "OSLO_LOCK_PATH", "/srv/oslo");
        assertThat(FileLockConfig.builder().build(k -> null, both::get).lockDirectory())
                .contains(Path.of("/srv/env-locks"));
        Map<String, String> oslo = Map.of("OSLO_LOCK_PATH", "/srv/oslo");
        assertThat(FileLockConfig.builder().build(k -> null, oslo::get).lockDirectory())
                .contains(Path.of("/srv/oslo"));
        assertThat(FileLockConfig.builder().build(Map.of("reactivelocks.lock-dir", "/srv/prop")::get, oslo::get)
                .lockDirectory()).contains(Path.of("/srv/prop"));
    }

    @Test
    void fromEnvironmentReadsTheSystemProperty() {
        String old = System.getProperty(FileLockConfig.LOCK_DIR_PROPERTY);
        System.setProperty(FileLockConfig.LOCK_DIR_PROPERTY, tmp.toString());
        try {
            assertThat(FileLockConfig.fromEnvironment().lockDirectory()).contains(tmp);
        } finally {
            if (old == null) {
                System.clearProperty(FileLockConfig.LOCK_DIR_PROPERTY);
            } else {
                System.setProperty(FileLockConfig.LOCK_DIR_PROPERTY, old);
            }
        }
    }

    @Test
    void relativeDirectoriesAreMadeAbsoluteAndNormalized() {
        FileLockConfig config = FileLockConfig.builder().lockDirectory(Path.of("a/../locks")).build();
        assertThat(config.lockDirectory()).contains(Path.of("locks").toAbsolutePath());
    }

    @Test
    void lockFileNamesFollowOsloConcurrency() {
        FileLockConfig config = FileLockConfig.builder().lockDirectory(Path.of("/var/lock/app")).build();
        assertThat(config.lockFile("nova-compute_resources")).isEqualTo(Path.of("/var/lock/app/nova-compute_resources"));
        assertThat(config.lockFile("a/b/c")).isEqualTo(Path.of("/var/lock/app/a_b_c"));
        assertThat(config.lockFile("..x")).isEqualTo(Path.of("/var/lock/app/..x"));
        assertThat(config.lockFile("ünïcode")).isEqualTo(Path.of("/var/lock/app/ünïcode"));
    }

    @Test
    void lockFileWithoutDirectoryExplainsTheConfiguration() {
        FileLockConfig none = FileLockConfig.builder().build(k -> null, k -> null);
        assertThatThrownBy(() -> none.lockFile("x"))
                .isInstanceOf(LockConfigurationException.class)
                .hasMessageContaining("FileLockConfig.builder().lockDirectory(path)")
                .hasMessageContaining("reactivelocks.lock-dir")
                .hasMessageContaining("REACTIVE_LOCKS_DIR");
        assertThatThrownBy(() -> none.lockFile("..")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pollIntervalIsValidatedAndBoundsTheBackoff() {
        assertThatThrownBy(() -> FileLockConfig.builder().pollInterval(Duration.ZERO, Duration.ofMillis(5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("pollInterval min must be > 0, was PT0S");
        assertThatThrownBy(() -> FileLockConfig.builder().pollInterval(Duration.ofMillis(5), Duration.ofMillis(4)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("pollInterval max must be >= min (PT0.005S), was PT0.004S");
        FileLockConfig config = FileLockConfig.builder()
                .pollInterval(Duration.ofMillis(2), Duration.ofMillis(40)).build();
        assertThat(config.toBuilder().build().minPollInterval()).isEqualTo(Duration.ofMillis(2));
        for (int attempt = 0; attempt < 100; attempt++) {
            Duration d = LockFile.backoff(config, attempt);
            assertThat(d).isBetween(Duration.ofMillis(2), Duration.ofMillis(40));
        }
        assertThat(LockFile.backoff(config, 0)).isEqualTo(Duration.ofMillis(2));
        assertThat(LockFile.backoff(config, 30)).isBetween(Duration.ofMillis(20), Duration.ofMillis(40));
    }

    @Test
    void permitsAreRejectedNamingTheAlternatives() {
        FileLockService locks = FileLockService.create(FileLockConfig.builder().lockDirectory(tmp).build());
        String message = "File locks cannot count holders across processes, so LockOptions.permits(n) is not "
                + "supported by FileLockService, was LockOptions{SHARED, permits=3}; for at most n holders take "
                + "the first free of n names (name.0 ... name.{n-1}) with tryAcquire, or use a "
                + "DistributedLockService with permits(n)";
        try {
            assertThatThrownBy(() -> locks.acquire("sem", LockOptions.permits(3)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
            assertThatThrownBy(() -> locks.tryAcquire("sem", LockOptions.permits(3)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
            assertThatThrownBy(() -> locks.withPrefix("p").withLock("sem", LockOptions.permits(3), Mono.just(1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
            assertThat(tmp).isEmptyDirectory();
        } finally {
            locks.dispose();
        }
    }

    @Test
    void grantsAreSignalledOnTheConfiguredSchedulerWhichTheServiceDoesNotDispose() {
        Scheduler io = Schedulers.newBoundedElastic(2, 100, "my-file-io");
        FileLockService locks = FileLockService.create(
                FileLockConfig.builder().lockDirectory(tmp).scheduler(io).build());
        try {
            String thread = locks.withLock("t", Mono.fromCallable(() -> Thread.currentThread().getName()))
                    .block(Duration.ofSeconds(10));
            assertThat(thread).startsWith("my-file-io");
            locks.disposeLater().block(Duration.ofSeconds(10));
            assertThat(io.isDisposed()).isFalse();
        } finally {
            io.dispose();
        }
    }

    @Test
    void theDefaultSchedulerIsOwnedAndDisposedOnceNothingIsHeld() {
        FileLockService locks = FileLockService.create(FileLockConfig.builder().lockDirectory(tmp).build());
        LockHandle h = locks.acquire("owned").block(Duration.ofSeconds(10));
        locks.disposeLater().block(Duration.ofSeconds(10));
        assertThat(locks.scheduler().isDisposed()).as("disposed while a lock is held").isFalse();
        h.release().block(Duration.ofSeconds(10));
        FileLockServiceTest.await(() -> locks.scheduler().isDisposed(), "owned scheduler disposed");
    }

    @Test
    void channelIdleTimeoutIsValidatedAndKeptByToBuilder() {
        assertThatThrownBy(() -> FileLockConfig.builder().channelIdleTimeout(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("channelIdleTimeout must be >= 0, was PT-0.001S");
        assertThat(FileLockConfig.builder().build().channelIdleTimeout()).isEqualTo(Duration.ofSeconds(1));
        FileLockConfig zero = FileLockConfig.builder().channelIdleTimeout(Duration.ZERO).build();
        assertThat(zero.toBuilder().build().channelIdleTimeout()).isZero();
    }

    @Test
    void anOpenFileIsLockedOnTheCallersThreadWhenItMayBlockAndOnTheSchedulerOtherwise() {
        Scheduler io = Schedulers.newBoundedElastic(2, 100, "my-file-io");
        FileLockService locks = FileLockService.create(FileLockConfig.builder().lockDirectory(tmp).scheduler(io)
                .channelIdleTimeout(Duration.ofHours(1)).build());
        Mono<String> grantThread = locks.withLock("t", Mono.fromCallable(() -> Thread.currentThread().getName()));
        try {
            assertThat(grantThread.block(Duration.ofSeconds(10))).as("opening the file").startsWith("my-file-io");
            assertThat(grantThread.block(Duration.ofSeconds(10))).as("file open, caller may block")
                    .isEqualTo(Thread.currentThread().getName());
            assertThat(grantThread.subscribeOn(Schedulers.parallel()).block(Duration.ofSeconds(10)))
                    .as("file open, caller must not block").startsWith("my-file-io");
            locks.disposeLater().block(Duration.ofSeconds(10));
        } finally {
            io.dispose();
        }
    }
}
