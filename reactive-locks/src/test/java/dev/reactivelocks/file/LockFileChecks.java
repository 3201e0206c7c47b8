package dev.reactivelocks.file;

import dev.reactivelocks.LockHandle;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * What the file tests do to a lock file under a holder and how they check that nothing is left held by
 * nobody: a file replaced at its path, the locks of this process in the kernel's table, an identity's in-JVM
 * queue tried free.
 */
final class LockFileChecks {

    private static final Duration WAIT = FileLockFixture.WAIT;

    private LockFileChecks() {
    }

    /** A holder of a lock file, its identity {@code oldId} remembered; {@code newId}: the file at its path now. */
    record Held(LockHandle holder, String oldId, String newId) {
    }

    /**
     * Acquires {@code name} on {@code locks} (looked up: the identity of {@code file}, its lock file, is
     * remembered), then, if {@code stale}, {@link #replace replaces} the file under the holder.
     */
    static Held hold(FileLockService locks, String name, Path file, boolean stale) {
        LockHandle holder = locks.acquire(name).block(WAIT);
        String oldId = LockFiles.existingId(file);
        if (stale) {
            replace(file, false);
        }
        return new Held(holder, oldId, LockFiles.existingId(file));
    }

    /**
     * Puts a new file at {@code file}, as another process would: renamed over it, or put there after it was
     * deleted. The new file is created under another name: a descriptor of it closed by this process while it
     * is at the path would drop the lock this JVM may have taken on it meanwhile (another process's would not).
     */
    static void replace(Path file, boolean rename) {
        try {
            Path fresh = Files.createFile(file.resolveSibling(file.getFileName() + ".new"));
            if (!rename) {
                Files.delete(file);
            }
            Files.move(fresh, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Acquires and releases {@code deleted} once on {@code locks} (lock directory {@code dir}), so that its
     * identity is remembered; deletes its file once its channel closed (as another process would), then
     * acquires and releases {@code reusing}, whose new file may get the freed inode.
     *
     * @return the identity remembered for {@code deleted}, now {@code reusing}'s file's; {@code null} when the
     *         file system gave {@code reusing} another inode
     */
    static String freedInodeReused(FileLockService locks, Path dir, String deleted, String reusing)
            throws IOException {
        Path first = dir.resolve(deleted);
        locks.acquire(deleted).flatMap(LockHandle::release).block(WAIT);
        String firstId = LockFiles.existingId(first);
        FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0, "the channel closed");
        Files.delete(first);
        locks.acquire(reusing).flatMap(LockHandle::release).block(WAIT);
        return firstId != null && firstId.equals(LockFiles.existingId(dir.resolve(reusing))) ? firstId : null;
    }

    /** Whether this process holds any record lock at all (not a blocked request). */
    static boolean anyLockOfThisProcess() {
        List<FileInspection.KernelLock> kernel = FileInspection.kernelLocks();
        long self = ProcessHandle.current().pid();
        return kernel != null && kernel.stream().anyMatch(k -> !k.blocked() && k.pid() == self);
    }

    /** Whether the in-JVM queue of the identity {@code id} is free (tried, and given back at once). */
    static boolean freeInJvm(String id) {
        LockHandle tried = LockFile.QUEUES.tryAcquire(id).block(WAIT);
        if (tried != null) {
            tried.release().block(WAIT);
        }
        return tried != null;
    }

    /**
     * Whether, within 5 seconds, this process holds no record lock and the in-JVM queues of {@code ids} are
     * free: nothing is held by nobody (a local grant left or cancelled is given back in the file's actor, maybe
     * a moment later).
     */
    static boolean nothingHeldByNobody(String... ids) {
        return nothingHeldByNobody(new CompletableFuture<>(), ids);
    }

    /**
     * {@link #nothingHeldByNobody(String...)} once the subscriber whose signal completes {@code outcome}
     * released what it got ({@link #releaseIfGranted}), maybe only after its dispose.
     */
    static boolean nothingHeldByNobody(CompletableFuture<?> outcome, String... ids) {
        return eventually(() -> {
            releaseIfGranted(outcome);
            if (anyLockOfThisProcess()) {
                return false;
            }
            for (String id : ids) {
                if (!freeInJvm(id)) {
                    return false;
                }
            }
            return true;
        });
    }

    /**
     * Releases the handle {@code outcome} was completed with, if any (a second release does nothing). A
     * subscriber disposed while its grant is being emitted may still get it, after the round looked: Reactor's
     * lambda subscriber hands on a value whose {@code onNext} got in before the {@code dispose()}, on the thread
     * that delivers it (the file scheduler's when the grant opened the file). That handle is the subscriber's,
     * not held by nobody.
     */
    static void releaseIfGranted(CompletableFuture<?> outcome) {
        if (outcome.isDone() && !outcome.isCompletedExceptionally() && outcome.join() instanceof LockHandle h) {
            h.release().block(WAIT);
        }
    }

    /** Whether {@code condition} holds within 5 seconds. */
    static boolean eventually(BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            LockSupport.parkNanos(1_000_000);
        }
        return true;
    }
}
