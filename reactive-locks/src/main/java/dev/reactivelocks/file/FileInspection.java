package dev.reactivelocks.file;

import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.internal.Owners;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Who holds a lock file: this JVM's grants (its in-JVM queue, {@link LockFile#QUEUES}) and, on Linux, the
 * kernel's table of record locks, {@code /proc/locks}, which lists every POSIX and open-file-description
 * lock of every process of this machine with the holder's pid and the locked file's device and inode, and
 * the requests blocked in {@code fcntl(F_SETLKW)}. Java's {@code FileChannel} cannot ask who holds a lock
 * ({@code F_GETLK}), and a probe with {@code tryLock} would need a second descriptor of the file, whose
 * close drops this JVM's own locks on it: reading the table touches no lock file.
 *
 * <p>Limits: the table shows the processes of this kernel only (a lock taken through a network file system
 * by another machine is not in it), their pids as this process's {@code /proc} sees them (0 or -1 for a
 * process of another PID namespace, and for open-file-description locks), and no waiter that polls with
 * non-blocking attempts (this library, fasteners). Where there is no such table (macOS, Windows) only this
 * JVM's grants are reported.
 */
final class FileInspection {

    private static final Path PROC_LOCKS = Path.of("/proc/locks");

    private FileInspection() {
    }

    /** One entry of the kernel's table: a record lock held, or a request blocked, on a file. */
    record KernelLock(long major, long minor, long inode, boolean write, long pid, boolean blocked) {
    }

    /**
     * A lock file: its identity in this JVM ({@link LockFiles#existingId}), its device and inode, and the
     * last token its {@link FencingCounter} issued ({@link Long#MIN_VALUE} when it has none).
     */
    record LockFileState(Path path, String id, long major, long minor, long inode, long lastToken) {
    }

    /** @return the POSIX and OFD record locks of the kernel's table, null where there is no table. Blocks. */
    static @Nullable List<KernelLock> kernelLocks() {
        if (!Files.isReadable(PROC_LOCKS)) {
            return null;
        }
        try {
            return parse(Files.readAllLines(PROC_LOCKS, StandardCharsets.US_ASCII));
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Parses lines of {@code /proc/locks}, such as {@code 1: POSIX  ADVISORY  WRITE 3789 fe:00:1474578 0 EOF}
     * or, for a blocked request, {@code 1: -> POSIX  ADVISORY  READ 3790 fe:00:1474578 0 EOF}; keeps the
     * POSIX and OFD locks (the ones {@code FileChannel.lock} and Python's {@code fcntl.lockf} take and
     * meet), skips {@code flock} locks, leases and lines it does not understand.
     */
    static List<KernelLock> parse(List<String> lines) {
        List<KernelLock> out = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            int i = 1;
            boolean blocked = f.length > i && f[i].equals("->");
            if (blocked) {
                i++;
            }
            if (f.length < i + 5 || !(f[i].equals("POSIX") || f[i].equals("OFDLCK"))) {
                continue;
            }
            String[] device = f[i + 4].split(":");
            if (device.length != 3) {
                continue;
            }
            try {
                out.add(new KernelLock(Long.parseLong(device[0], 16), Long.parseLong(device[1], 16),
                        Long.parseLong(device[2]), f[i + 2].equals("WRITE"), Long.parseLong(f[i + 3]), blocked));
            } catch (NumberFormatException e) {
                // not a line of the known format
            }
        }
        return out;
    }

    /** @return the state of the lock file {@code path}, null when it is missing or not a regular file. Blocks. */
    static @Nullable LockFileState stat(Path path) {
        String id = LockFiles.existingId(path);
        if (id == null || !Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        try {
            Map<String, Object> unix = Files.readAttributes(path, "unix:dev,ino", LinkOption.NOFOLLOW_LINKS);
            long dev = (Long) unix.get("dev");
            // glibc's encoding of dev_t: 12 bits of major and 20 of minor, split around the low byte
            long major = ((dev >>> 8) & 0xfffL) | ((dev >>> 32) & ~0xfffL);
            long minor = (dev & 0xffL) | ((dev >>> 12) & ~0xffL);
            return new LockFileState(path, id, major, minor, (Long) unix.get("ino"), lastToken(path));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            // no unix view: only this JVM's grants are known
            return new LockFileState(path, id, -1, -1, -1, lastToken(path));
        }
    }

    /**
     * The last token the fencing counter of {@code lockFile} issued: the eight little-endian bytes of its
     * sidecar file, read (not mapped) from the page cache that the processes mapping it share. Blocks.
     */
    private static long lastToken(Path lockFile) {
        try {
            byte[] bytes = Files.readAllBytes(FencingCounter.sidecar(lockFile));
            return bytes.length < Long.BYTES ? Long.MIN_VALUE
                    : ByteBuffer.wrap(bytes, 0, Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).getLong();
        } catch (IOException | RuntimeException e) {
            return Long.MIN_VALUE;
        }
    }

    /**
     * Combines the kernel's table with this JVM's grants of the file.
     *
     * @param name the name to report
     * @param file the lock file
     * @param kernel the kernel's table, null where there is none
     * @param local this JVM's grants of the file (its in-JVM queue), null when it has none; some of them
     *              may still wait for the file while another process holds it
     * @return the lock's state, null when nobody holds it
     */
    static @Nullable LockInfo info(String name, LockFileState file, @Nullable List<KernelLock> kernel,
                                   @Nullable LockInfo local) {
        if (kernel == null || file.inode() < 0) {
            return local == null ? null : withToken(local.toBuilder().name(name).owner(Owners.thisProcess()), file)
                    .build();
        }
        long self = ProcessHandle.current().pid();
        boolean selfHolds = false;
        boolean write = false;
        int others = 0;
        int blocked = 0;
        Set<String> owners = new LinkedHashSet<>();
        Set<Long> pids = new LinkedHashSet<>();
        for (KernelLock k : kernel) {
            if (k.inode() != file.inode() || k.major() != file.major() || k.minor() != file.minor()) {
                continue;
            }
            if (k.blocked()) {
                blocked++;
                continue;
            }
            write |= k.write();
            if (k.pid() == self) {
                selfHolds = true;
            } else if (k.pid() <= 0 || pids.add(k.pid())) {
                others++;   // one holder per process; several locks of one process on ranges of the file count once
            }
            if (k.pid() > 0) {
                owners.add(k.pid() == self ? Owners.thisProcess() : Owners.ofProcess(k.pid()));
            }
        }
        int localHolders = local == null ? 0 : local.holders();
        int holders = others + (selfHolds ? Math.max(1, localHolders) : 0);
        if (holders == 0) {
            return null;
        }
        LockMode mode = write ? LockMode.EXCLUSIVE : LockMode.SHARED;
        int localWaiting = local == null ? 0 : local.waiting().orElse(0) + (selfHolds ? 0 : localHolders);
        LockInfo.Builder info = LockInfo.builder(name, mode, mode == LockMode.EXCLUSIVE ? 1 : holders)
                .waiting(blocked + localWaiting);
        if (selfHolds && local != null) {
            withToken(info, file);
            local.heldSince().ifPresent(info::heldSince);
        }
        owners.forEach(info::owner);
        return info.build();
    }

    /**
     * The lock file's last token, for a lock this JVM holds: its holder's token while held exclusively (no
     * other grant can happen meanwhile), the most recent shared grant's otherwise.
     */
    private static LockInfo.Builder withToken(LockInfo.Builder info, LockFileState file) {
        return file.lastToken() == Long.MIN_VALUE ? info : info.fencingToken(file.lastToken());
    }
}
