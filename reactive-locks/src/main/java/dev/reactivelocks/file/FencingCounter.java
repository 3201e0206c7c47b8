package dev.reactivelocks.file;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Objects;

/**
 * The fencing counter of one lock file, shared by every process that locks the file through this library:
 * eight bytes at the start of a sidecar file, {@code lockDirectory/}{@value #DIRECTORY}{@code /fileName}
 * (the lock file itself stays untouched, as Python peers expect), mapped into memory and advanced with an
 * atomic add on the mapped page, which every process mapping the file shares.
 *
 * <p>Why this shape:
 * <ul>
 *   <li><b>No extra lock, shared grants stay concurrent</b>: shared holders of several processes hold the
 *       lock file together, so "read, increment, write under the lock" would race between them. An atomic
 *       add on shared memory needs no lock at all, so exclusive and shared grants take a token the same
 *       way.</li>
 *   <li><b>Never backwards after a crash</b>: the update is one aligned 8-byte atomic instruction, so a
 *       process killed at any point leaves the old or the new value, never a torn one; the page belongs
 *       to the file in the kernel's page cache, so the value survives the process. What an operating
 *       system crash or a deleted sidecar may lose is covered by a floor: each process that maps the
 *       counter first raises it to the wall clock in microseconds since the epoch. Grants are far rarer
 *       than one per microsecond, so tokens do not run ahead of the clock, and a lost counter restarts
 *       above every token issued before (unless the clock was set back meanwhile).</li>
 *   <li><b>Cheap</b>: no system call per grant, one atomic add on shared memory; the file is opened and
 *       mapped once per opening of the lock file's channel, on the file scheduler.</li>
 * </ul>
 *
 * <p>Limits: grants by processes that do not use this library (Python's oslo.concurrency and fasteners)
 * do not advance the counter. Across hosts sharing a network file system the mapped page is not coherent
 * (file locks are not reliable there either). The mapping is unmapped when the garbage collector reclaims
 * the buffer after the lock file's channel was closed.
 */
final class FencingCounter {

    /** The sidecar directory inside the lock directory; a lock of that name cannot be taken. */
    static final String DIRECTORY = ".reactive-locks-fencing";

    private static final VarHandle LONG = MethodHandles.byteBufferViewVarHandle(long[].class,
            ByteOrder.LITTLE_ENDIAN);

    private final MappedByteBuffer counter;

    private FencingCounter(MappedByteBuffer counter) {
        this.counter = counter;
    }

    /** The sidecar file of the lock file {@code lockFile}. */
    static Path sidecar(Path lockFile) {
        Path dir = Objects.requireNonNull(lockFile.getParent(), "lock directory");
        return dir.resolve(DIRECTORY).resolve(lockFile.getFileName());
    }

    /**
     * Opens (creating when missing) and maps the counter of {@code lockFile}. Blocks.
     *
     * @throws IOException naming the sidecar file when it cannot be created, opened or mapped
     */
    static FencingCounter open(Path lockFile) throws IOException {
        Path file = sidecar(lockFile);
        // FileChannel.map is interruptible: a stale interrupt of a pooled scheduler thread would fail it.
        // The interrupt is kept for the caller; an interrupt arriving meanwhile only makes it map again.
        boolean interrupted = Thread.interrupted();
        try {
            for (;;) {
                try (FileChannel channel = openSidecar(file)) {
                    // a file shorter than 8 bytes is extended with zeros (to exactly 8: a concurrent
                    // extension by another process writes nothing), so a new counter starts at 0
                    FencingCounter counter = new FencingCounter(
                            channel.map(FileChannel.MapMode.READ_WRITE, 0, Long.BYTES));
                    counter.raiseToClock();
                    return counter;
                } catch (ClosedByInterruptException e) {
                    interrupted |= Thread.interrupted();
                } catch (IOException e) {
                    throw new IOException("Cannot open the fencing token counter '" + file + "': " + e, e);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static FileChannel openSidecar(Path file) throws IOException {
        for (;;) {
            try {
                return FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
                        StandardOpenOption.CREATE, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                createDirectory(Objects.requireNonNull(file.getParent(), "counter directory"));
            }
        }
    }

    /** Creates the sidecar directory with the lock directory's permissions; refuses a symbolic link there. */
    private static void createDirectory(Path dir) throws IOException {
        if (Files.isSymbolicLink(dir)) {
            throw new FileSystemException(dir.toString(), null, "is a symbolic link; refusing to follow it");
        }
        Path lockDirectory = Objects.requireNonNull(dir.getParent(), "lock directory");
        PosixFileAttributeView posix = Files.getFileAttributeView(lockDirectory, PosixFileAttributeView.class);
        try {
            if (posix != null) {
                PosixFileAttributes attributes = posix.readAttributes();
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(attributes.permissions()));
            } else {
                Files.createDirectory(dir);
            }
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw e; // a lock file of that name, or a symbolic link
            }
        }
    }

    /** Raises the counter to the wall clock in microseconds since the epoch, if it is below. */
    private void raiseToClock() {
        Instant now = Instant.now();
        long floor = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
        long current;
        do {
            current = (long) LONG.getVolatile(counter, 0);
        } while (current < floor && !LONG.compareAndSet(counter, 0, current, floor));
    }

    /**
     * The next token: larger than every token this counter issued before, in any process. Lock-free and
     * without system call; call it only while the grant holds the lock file.
     */
    long next() {
        return (long) LONG.getAndAdd(counter, 0, 1L) + 1;
    }

    /** The last token issued (0 for a new counter). */
    long last() {
        return (long) LONG.getVolatile(counter, 0);
    }
}
