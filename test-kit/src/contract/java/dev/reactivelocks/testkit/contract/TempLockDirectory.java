package dev.reactivelocks.testkit.contract;

import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** A fresh temporary lock directory for the {@link FileLockService} of one contract test, deleted after it. */
public final class TempLockDirectory {

    private final Path root;

    /** @param prefix the prefix of the temporary directory's name */
    public TempLockDirectory(String prefix) {
        try {
            root = Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return a new file lock service whose lock directory lies inside this one (created on first use) */
    public FileLockService newService() {
        return FileLockService.create(FileLockConfig.builder().lockDirectory(root.resolve("locks")).build());
    }

    /** Deletes the directory and everything in it; call after the services using it were disposed. */
    public void delete() {
        deleteTree(root);
    }

    /**
     * Deletes {@code dir} and everything in it, as far as it can: an entry that cannot be deleted is left, with
     * the directories above it. Symbolic links are deleted, never followed.
     *
     * @param dir a directory, such as the lock directory of a {@link FileLockService}
     * @throws UncheckedIOException if {@code dir} cannot be walked (it does not exist, or an entry vanished
     *         while it was read)
     */
    public static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
