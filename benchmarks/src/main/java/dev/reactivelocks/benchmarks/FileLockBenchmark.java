package dev.reactivelocks.benchmarks;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import reactor.core.publisher.Mono;

/**
 * Comparison 4a: one uncontended exclusive file lock acquired and released, versus raw
 * {@code FileChannel.lock()} on the calling thread.
 *
 * <p>Ours runs its {@code FileChannel} calls on its bounded file scheduler, so an acquisition is
 * asynchronous: {@link #ours_acquireRelease_sequential} chains {@value #BATCH} acquire → release steps
 * reactively (each started when the previous release completed, no thread waits);
 * {@link #ours_acquireRelease_block} is what a blocking caller sees with {@code block()}. The service closes
 * a lock file's channel when nobody uses it, so the raw baseline is given both ways: channel kept open
 * ({@code lock(); release()}) and {@code open; lock; release; close} per operation.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Thread)
public class FileLockBenchmark {

    static final String NAME = "orders";
    static final int BATCH = 200;

    Path directory;
    FileLockService locks;
    Mono<Void> acquireRelease;
    Path rawFile;
    FileChannel rawChannel;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        directory = Files.createTempDirectory("reactive-locks-bench");
        locks = FileLockService.create(FileLockConfig.builder().lockDirectory(directory).build());
        acquireRelease = locks.acquire(NAME).flatMap(LockHandle::release);
        rawFile = directory.resolve("raw.lock");
        rawChannel = FileChannel.open(rawFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        rawChannel.close();
        locks.disposeLater().block();
        TempDirectories.deleteTree(directory);
    }

    /** Ours, reactive: {@value #BATCH} sequential acquire → release, each started when the previous ended. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void ours_acquireRelease_sequential() throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        new AsyncLoop() {
            int remaining = BATCH;

            @Override
            protected boolean startOne() {
                if (remaining-- == 0) {
                    return false;
                }
                acquireRelease.subscribe(null, done::completeExceptionally, this::next);
                return true;
            }

            @Override
            protected void finished() {
                done.complete(null);
            }
        }.next();
        done.get(60, TimeUnit.SECONDS);
    }

    /** Ours, from a blocking caller: {@code acquire(name).flatMap(release).block()}. */
    @Benchmark
    public void ours_acquireRelease_block() {
        acquireRelease.block(java.time.Duration.ofSeconds(60));
    }

    /** Baseline: {@code FileChannel.lock(); release()} on the calling thread, channel kept open. */
    @Benchmark
    public void raw_lockRelease_openChannel() throws IOException {
        FileLock lock = rawChannel.lock();
        lock.release();
    }

    /** Baseline: open the file, {@code lock(); release()}, close it, on the calling thread. */
    @Benchmark
    public void raw_openLockReleaseClose() throws IOException {
        try (FileChannel channel = FileChannel.open(rawFile, StandardOpenOption.WRITE)) {
            channel.lock().release();
        }
    }
}
