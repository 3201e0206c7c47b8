package dev.reactivelocks.file;

import dev.reactivelocks.LockService;
import dev.reactivelocks.testkit.contract.LockServiceContract;
import dev.reactivelocks.testkit.contract.TempLockDirectory;
import org.junit.jupiter.api.AfterEach;

/** The core {@link LockServiceContract}, run against {@link FileLockService} with a fresh lock directory per test. */
class FileLockServiceContractTest extends LockServiceContract {

    private TempLockDirectory directory;

    @Override
    protected LockService createService() {
        directory = new TempLockDirectory("file-lock-contract");
        return directory.newService();
    }

    @AfterEach
    void deleteLockDirectory() {
        locks.disposeLater().block(WAIT);
        FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0, "all lock file entries closed");
        directory.delete();
    }
}
