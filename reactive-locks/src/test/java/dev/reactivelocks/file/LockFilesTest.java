package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A lock file's identity is looked up with a {@code stat} every time, and its text is formatted once: the
 * lookups of an unchanged file return one {@code String}, so that the check after each lock and the JVM-wide
 * tables keyed by it compare and hash it without work; a file replaced at the path gets its own identity.
 */
class LockFilesTest {

    @TempDir
    Path tmp;

    @Test
    void theIdentityOfAnUnchangedFileIsFormattedOnceAndAReplacedFileGetsItsOwn() throws IOException {
        Path file = Files.createFile(tmp.resolve("orders"));
        String id = LockFiles.existingId(file);
        assertThat(id).isEqualTo(key(file).toString());
        assertThat(LockFiles.existingId(file)).as("the same file looked up again").isSameAs(id);

        Path kept = Files.createLink(tmp.resolve("kept"), file); // keeps the inode from being reused
        Path replacement = Files.createFile(tmp.resolve("replacement"));
        Files.move(replacement, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

        String replaced = LockFiles.existingId(file);
        assertThat(replaced).as("the file renamed over it").isNotEqualTo(id).isEqualTo(key(file).toString());
        assertThat(LockFiles.existingId(kept)).as("the first file, through its other name").isEqualTo(id);
        Files.delete(file);
        assertThat(LockFiles.existingId(file)).as("no file").isNull();
    }

    private static Object key(Path file) throws IOException {
        Object key = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        assertThat(key).as("this file system reports device and inode").isNotNull();
        return key;
    }
}
