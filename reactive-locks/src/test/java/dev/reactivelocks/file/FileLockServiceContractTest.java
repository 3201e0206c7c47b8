package dev.reactivelocks.file;

import dev.reactivelocks.LockService;
import dev.reactivelocks.contract.LockServiceContract;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;

/** The core {@link LockServiceContract}, run against {@link FileLockService} with a fresh lock directory per test. */
class FileLockServiceContractTest extends LockServiceContract {

    private Path tmp;

    @Override
    protected LockService createService() {
        try {
            tmp = Files.createTempDirectory("file-lock-contract");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return FileLockService.create(FileLockConfig.builder().lockDirectory(tmp.resolve("locks")).build());
    }

    @AfterEach
    void deleteLockDirectory() throws IOException {
        locks.disposeLater().block(WAIT);
        FileLockServiceTest.await(() -> LockFile.openEntries() == 0, "all lock file entries closed");
        try (var files = Files.walk(tmp)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
