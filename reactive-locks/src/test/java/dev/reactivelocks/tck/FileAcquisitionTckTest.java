package dev.reactivelocks.tck;

import dev.reactivelocks.LockService;
import dev.reactivelocks.testkit.contract.TempLockDirectory;

/** The Reactive Streams TCK against {@link dev.reactivelocks.file.FileLockService}, on a directory deleted after it. */
public class FileAcquisitionTckTest extends LockAcquisitionVerification {

    private TempLockDirectory directory; // made by the first test: discovery alone creates nothing

    @Override
    protected LockService newService() {
        if (directory == null) {
            directory = new TempLockDirectory("rl-tck-");
        }
        return directory.newService();
    }

    @Override
    protected void afterServicesDisposed() {
        if (directory != null) {
            directory.delete();
        }
    }
}
