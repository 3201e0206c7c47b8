package dev.reactivelocks.benchmarks;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Comparison 4b: {@value #WAITERS} waiters on one lock file: how many threads the JVM gains while they
 * wait, the peak while they are served one after another, and the wall time to serve them all.
 *
 * <p>Ours: {@value #WAITERS} subscriptions to {@code FileLockService.acquire} while the file is held.
 * Baseline: the blocking way, one platform thread per waiter. Inside one JVM only one thread may wait in
 * {@code FileChannel.lock} for a region (others get {@code OverlappingFileLockException}), so the
 * threads queue on a fair {@code ReentrantLock} and then take the {@code FileChannel} lock.
 *
 * <p>Prints {@code RESULT <key> <value>} lines for {@link BenchmarkMain}; the short sleeps here only let
 * thread pools grow before the threads are counted, they synchronise nothing.
 */
public final class FileWaitersProbe {

    static final int WAITERS = 1_000;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private FileWaitersProbe() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("reactive-locks-waiters");
        try {
            ours(dir);
            threadPerWaiter(dir);
        } catch (Exception | Error e) {
            try {
                TempDirectories.deleteTree(dir);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        // the lock files and the service's fencing sidecar directory, all created by this run in dir
        TempDirectories.deleteTree(dir);
    }

    static void ours(Path dir) throws Exception {
        FileLockService locks = FileLockService.create(FileLockConfig.builder().lockDirectory(dir).build());
        LockHandle holder = locks.acquire("shared-file").block(java.time.Duration.ofSeconds(30));
        Thread.sleep(200);
        int before = THREADS.getThreadCount();
        AtomicInteger granted = new AtomicInteger();
        for (int i = 0; i < WAITERS; i++) {
            locks.acquire("shared-file").subscribe(handle -> {
                granted.incrementAndGet();
                handle.release().subscribe();
            });
        }
        Thread.sleep(500);
        int waiting = THREADS.getThreadCount() - before;
        long library = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("reactive-locks-file")).count();
        long start = System.nanoTime();
        THREADS.resetPeakThreadCount();
        holder.release().block(java.time.Duration.ofSeconds(30));
        awaitCount(granted, WAITERS);
        long millis = (System.nanoTime() - start) / 1_000_000;
        int peak = THREADS.getPeakThreadCount() - before;
        report("ours", "ours: FileLockService, 1,000 subscriptions", waiting, peak, millis);
        System.out.printf(Locale.ROOT, "  %-50s %d threads of the file scheduler exist in all (bounded: max(2, cores))%n",
                "", library);
        System.out.printf(Locale.ROOT, "RESULT file.waiters.ours.libraryThreads %d%n", library);
        locks.disposeLater().block();
    }

    static void threadPerWaiter(Path dir) throws Exception {
        Path file = dir.resolve("raw.lock");
        ReentrantLock guard = new ReentrantLock(true);
        AtomicInteger granted = new AtomicInteger();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            guard.lock();
            FileLock held = channel.lock();
            Thread.sleep(200);
            int before = THREADS.getThreadCount();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < WAITERS; i++) {
                Thread t = new Thread(() -> {
                    guard.lock();
                    try {
                        channel.lock().release();
                        granted.incrementAndGet();
                    } catch (Exception e) {
                        e.printStackTrace();
                    } finally {
                        guard.unlock();
                    }
                }, "file-waiter-" + i);
                t.start();
                threads.add(t);
            }
            Thread.sleep(500);
            int waiting = THREADS.getThreadCount() - before;
            THREADS.resetPeakThreadCount();
            long start = System.nanoTime();
            held.release();
            guard.unlock();
            for (Thread t : threads) {
                t.join(TimeUnit.MINUTES.toMillis(1));
            }
            awaitCount(granted, WAITERS);
            long millis = (System.nanoTime() - start) / 1_000_000;
            int peak = THREADS.getPeakThreadCount() - before;
            report("threadPerWaiter", "baseline: thread per waiter + FileChannel.lock", waiting, peak, millis);
        }
    }

    private static void awaitCount(AtomicInteger count, int expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (count.get() < expected && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        if (count.get() != expected) {
            throw new IllegalStateException("granted " + count.get() + " of " + expected);
        }
    }

    private static void report(String key, String label, int waiting, int peak, long millis) {
        System.out.printf(Locale.ROOT, "  %-50s +%d threads while %,d wait, peak +%d while served, all served in %,d ms%n",
                label, waiting, WAITERS, peak, millis);
        System.out.printf(Locale.ROOT, "RESULT file.waiters.%s.threads %d%n", key, waiting);
        System.out.printf(Locale.ROOT, "RESULT file.waiters.%s.peakThreads %d%n", key, peak);
        System.out.printf(Locale.ROOT, "RESULT file.waiters.%s.millis %d%n", key, millis);
    }
}
