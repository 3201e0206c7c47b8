package dev.reactivelocks.file;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * The file system calls of lock files: a file's identity (device and inode), creating a lock file without
 * ever holding a descriptor of it under its name, opening it for locking, creating the lock directory. They
 * block (a {@code stat} at least): the callers choose the thread.
 */
final class LockFiles {

    /**
     * Recently formatted file keys, by the key's hash. A slot is replaced, never updated, and an {@link Id}
     * has final fields only, so that threads racing on a slot each see a whole entry or none (and at worst
     * format a key again).
     */
    private static final Id[] IDS = new Id[64];

    /** The options of every {@code stat} here, allocated once (a varargs call makes an array per call). */
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private static final FileSystem DEFAULT = FileSystems.getDefault();
    private static final boolean POSIX_DEFAULT = DEFAULT.supportedFileAttributeViews().contains("posix");

    /** A file key and its text. */
    private record Id(Object key, String id) {
    }

    private LockFiles() {
    }

    /**
     * The identity of the file at {@code path} (not following links): its device and inode where the file
     * system reports them ({@link BasicFileAttributes#fileKey()}), else the path itself.
     *
     * @return the identity, or null when the file is missing or cannot be read
     */
    static @Nullable String existingId(Path path) {
        try {
            return idOrNull(path);
        } catch (IOException e) {
            return null;
        }
    }

    static @Nullable String idOrNull(Path path) throws IOException {
        BasicFileAttributes attributes;
        try {
            // the same stat either way; on the default POSIX file system the POSIX view returns the JDK's
            // attributes object itself, where the basic view wraps it in one more object per call
            attributes = POSIX_DEFAULT && path.getFileSystem() == DEFAULT ? posixAttributes(path)
                    : Files.readAttributes(path, BasicFileAttributes.class, NOFOLLOW);
        } catch (NoSuchFileException e) {
            return null;
        }
        Object key = attributes.fileKey();
        return key != null ? idOf(key) : path.toString();
    }

    /** The POSIX view's attributes, or the basic view's where a security manager refuses the owner's name. */
    private static BasicFileAttributes posixAttributes(Path path) throws IOException {
        try {
            return Files.readAttributes(path, PosixFileAttributes.class, NOFOLLOW);
        } catch (SecurityException e) {
            return Files.readAttributes(path, BasicFileAttributes.class, NOFOLLOW);
        }
    }

    /**
     * The text of the file key {@code key}: {@code key.toString()}, the same {@code String} instance for the
     * same key while its slot of {@link #IDS} keeps it. Every lookup still makes its {@code stat}: only the
     * formatting of the device and inode it returned is saved, and comparisons and hash lookups of an
     * identity already seen take no work ({@code String} keeps its hash).
     */
    static String idOf(Object key) {
        int slot = key.hashCode() & (IDS.length - 1);
        Id known = IDS[slot];
        if (known != null && known.key().equals(key)) {
            return known.id();
        }
        String id = key.toString();
        IDS[slot] = new Id(key, id);
        return id;
    }

    /** {@link #existingId(Path)}, creating the file (and its directory) first when missing. Blocks. */
    static String identify(Path path) throws IOException {
        for (;;) {
            String id = idOrNull(path);
            if (id != null) {
                return id;
            }
            create(path);
        }
    }

    /**
     * Creates the lock file without ever holding a descriptor of it under its name: a file created in
     * place is opened and closed, and that close would drop a lock this JVM took meanwhile through another
     * path of the same file (a bind mount shows the new file at once). So the file is created under a
     * private temporary name and hard-linked to its name; only where the file system has no hard links is
     * it created in place.
     */
    private static void create(Path path) throws IOException {
        Path dir = Objects.requireNonNull(path.getParent(), "lock directory");
        if (!Files.isDirectory(dir)) {
            createDirectory(dir); // removed since the service resolved it
        }
        Path temp = Files.createFile(dir.resolve(".reactive-locks-" + UUID.randomUUID() + ".tmp"));
        try {
            Files.createLink(path, temp);
        } catch (FileAlreadyExistsException e) {
            // created meanwhile by someone else: use theirs
        } catch (UnsupportedOperationException | FileSystemException e) {
            try {
                Files.createFile(path);
            } catch (FileAlreadyExistsException ignored) {
                // created meanwhile
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /**
     * Opens the existing lock file {@code path} for locking: read+write, never created here (see
     * {@link #identify(Path)}), never truncated, never via a symlink.
     */
    static FileChannel open(Path path) throws IOException {
        try {
            return FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            if (Files.isSymbolicLink(path)) {
                FileSystemException refused = new FileSystemException(path.toString(), null,
                        "the lock file is a symbolic link; refusing to follow it");
                refused.initCause(e);
                throw refused;
            }
            throw e;
        }
    }

    /** Creates {@code dir} (and parents) with permissions {@code rwx------} if missing; returns its real path. */
    static Path createDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.createDirectories(dir,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createDirectories(dir);
            }
        }
        return dir.toRealPath();
    }
}
