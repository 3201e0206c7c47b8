package dev.reactivelocks.benchmarks;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Removal of the temporary directories that benchmarks and probes create for their lock files. */
final class TempDirectories {

    private TempDirectories() {
    }

    /**
     * Deletes {@code root}, a directory the caller created (with {@code Files.createTempDirectory}), and
     * everything below it: the lock files, the fencing sidecar directory and whatever else the run wrote
     * there. Symbolic links are deleted, never followed, so nothing outside {@code root} is touched.
     *
     * @param root the directory to delete; nothing happens when it does not exist
     * @throws IOException when an entry cannot be deleted (the rest is still attempted by the next call)
     */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
