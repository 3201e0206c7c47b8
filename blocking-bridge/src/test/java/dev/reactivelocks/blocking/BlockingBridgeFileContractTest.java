package dev.reactivelocks.blocking;

import dev.reactivelocks.LockService;
import dev.reactivelocks.file.FileLockService;
import dev.reactivelocks.internal.Owners;
import dev.reactivelocks.testkit.contract.LockServiceContract;
import dev.reactivelocks.testkit.contract.TempLockDirectory;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

/**
 * The core contract through the blocking bridge over {@link FileLockService}: grants, releases and
 * time-outs come from the file service's own threads, and {@code tryLock} waits for its asynchronous
 * answer.
 */
class BlockingBridgeFileContractTest extends LockServiceContract {

    private TempLockDirectory directory;

    @Override
    protected LockService createService() {
        directory = new TempLockDirectory("blocking-file-contract");
        return new BridgedLockService(directory.newService());
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

    /** See {@link BlockingBridgeContractTest#reentryFailsAtOnceInsteadOfDeadlocking()}. */
    @Override
    @Test
    @Disabled("re-entry is detected through the Reactor Context, which blocking threads do not carry; "
            + "the bridge's thread-based detection is tested in LockViewTest")
    protected void reentryFailsAtOnceInsteadOfDeadlocking() {
    }

    /** See {@link BlockingBridgeContractTest#withLockBodyThatDowngradesStillRefusesReentryAndReleasesAtTheEnd()}. */
    @Override
    @Test
    @Disabled("re-entry is detected through the Reactor Context, which blocking threads do not carry")
    protected void withLockBodyThatDowngradesStillRefusesReentryAndReleasesAtTheEnd() {
    }
}
