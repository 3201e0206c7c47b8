package dev.reactivelocks.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code reactive-locks list} from the real jar, probing locks that this test JVM holds. */
@Timeout(90)
class ListIT {

    private static final Duration BLOCK = Duration.ofSeconds(10);

    @TempDir
    Path work;

    @TempDir
    Path locks;

    @Test
    void listShowsEachLockFileAndWhetherAnotherProcessHoldsItSharedOrExclusive() throws Exception {
        FileLockService service = FileLockService.create(FileLockConfig.builder().lockDirectory(locks).build());
        try {
            service.acquire("free-one").flatMap(LockHandle::release).block(BLOCK);
            service.acquire("team/build").flatMap(LockHandle::release).block(BLOCK);
            LockHandle readerA = service.acquire("readers", LockOptions.shared()).block(BLOCK);
            LockHandle readerB = service.acquire("readers", LockOptions.shared()).block(BLOCK);
            LockHandle writer = service.acquire("writer").block(BLOCK);
            Files.createDirectory(locks.resolve("subdirectory"));
            Files.createSymbolicLink(locks.resolve("link"), locks.resolve("writer"));

            CliJar.Result result = CliJar.run(work, "list", "--lock-dir", locks.toString());

            assertThat(result.stderr()).isEmpty();
            assertThat(result.exitCode()).isEqualTo(0);
            assertThat(result.stdout()).isEqualTo(""
                    + "free-one    free\n"
                    + "readers     held (shared)\n"
                    + "team_build  free\n"
                    + "writer      held (exclusive)\n");
            // the probe took nothing away from the holders
            assertThat(writer.isHeld()).isTrue();
            assertThat(service.tryAcquire("writer").block(BLOCK)).isNull();
            assertThat(service.tryAcquire("readers").block(BLOCK)).isNull();
            readerA.release().then(readerB.release()).then(writer.release()).block(BLOCK);

            CliJar.Result afterRelease = CliJar.run(work, "list", "--lock-dir", locks.toString());

            assertThat(afterRelease.stdout()).isEqualTo(""
                    + "free-one    free\n"
                    + "readers     free\n"
                    + "team_build  free\n"
                    + "writer      free\n");
        } finally {
            service.dispose();
        }
    }
}
