package dev.reactivelocks.vertx;

import dev.reactivelocks.LockService;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import org.junit.jupiter.api.AfterEach;

/**
 * The core contract suite through {@code VertxLockService} wrapping a {@link FileLockService}: grants come from
 * the file-lock scheduler and are delivered on Vert.x contexts; a fresh lock directory per test.
 */
class VertxAdapterFileContractTest extends VertxAdapterContractTest {

    private Path tmp;

    @Override
    protected LockService createWrappedService() {
        try {
            tmp = Files.createTempDirectory("vertx-file-lock-contract");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return FileLockService.create(FileLockConfig.builder().lockDirectory(tmp.resolve("locks")).build());
    }

    @AfterEach
    void deleteLockDirectory() throws IOException {
        locks.disposeLater().block(WAIT);
        try (var files = Files.walk(tmp)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
