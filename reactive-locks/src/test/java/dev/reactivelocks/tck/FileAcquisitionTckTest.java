package dev.reactivelocks.tck;

import dev.reactivelocks.LockService;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The Reactive Streams TCK against {@link FileLockService}. */
public class FileAcquisitionTckTest extends LockAcquisitionVerification {

    private final Path directory;

    public FileAcquisitionTckTest() {
        try {
            directory = Files.createTempDirectory("rl-tck-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        directory.toFile().deleteOnExit();
    }

    @Override
    protected LockService newService() {
        return FileLockService.create(FileLockConfig.builder().lockDirectory(directory).build());
    }
}
