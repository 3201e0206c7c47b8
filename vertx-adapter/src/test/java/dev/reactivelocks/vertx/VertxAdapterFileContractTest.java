package dev.reactivelocks.vertx;

import dev.reactivelocks.LockService;
import dev.reactivelocks.file.FileLockService;
import dev.reactivelocks.internal.Owners;
import dev.reactivelocks.testkit.contract.TempLockDirectory;
import java.util.List;
import org.junit.jupiter.api.AfterEach;

/**
 * The core contract suite through {@code VertxLockService} wrapping a {@link FileLockService}: grants come from
 * the file-lock scheduler and are delivered on Vert.x contexts; a fresh lock directory per test.
 */
class VertxAdapterFileContractTest extends VertxAdapterContractTest {

    private TempLockDirectory directory;

    @Override
    protected LockService createWrappedService() {
        directory = new TempLockDirectory("vertx-file-lock-contract");
        return directory.newService();
    }

    @Override
    public List<String> inspectionOwnersOfThisJvm() {
        return List.of(Owners.thisProcess());
    }

    @AfterEach
    void deleteLockDirectory() {
        locks.disposeLater().block(WAIT);
        directory.delete();
    }
}
