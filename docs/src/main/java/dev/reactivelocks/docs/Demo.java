package dev.reactivelocks.docs;

import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import dev.reactivelocks.process.ProcessExecutor;
import dev.reactivelocks.process.ProcessSpec;
import java.util.List;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Shows the library doing its job with no setup: many concurrent pipelines update shared state under
 * {@code withLock}, with and without the lock, and the demo prints the counts that prove no update was lost.
 *
 * <p>Run it with {@code ./mvnw -B -q -Pdemo -DskipTests verify}.
 */
public final class Demo {

    private static final int PIPELINES = 1_000;
    private static final int INCREMENTS = 20;

    private Demo() {
    }

    /**
     * Runs the demo; exits with status 1 if any check fails.
     *
     * @param args ignored
     */
    public static void main(String[] args) throws Exception {
        if (args.length == 4 && args[0].equals("file-child")) {
            fileChild(Path.of(args[1]), Path.of(args[2]), Integer.parseInt(args[3]));
            return;
        }
        boolean ok = true;
        LockService locks = LockService.inProcess();
        try {
            ok &= exclusiveCounter(locks);
            ok &= sharedReadersExclusiveWriters(locks);
            ok &= streamedProcessUnderALock(locks);
        } finally {
            locks.dispose();
        }
        ok &= twoJvmsShareAFileLock();
        System.out.println(ok ? "demo: all checks passed" : "demo: CHECK FAILED");
        if (!ok) {
            System.exit(1);
        }
    }

    /** The asynchronous gap inside each critical section (a remote call, in real code). */
    private static final Duration GAP = Duration.ofNanos(50_000);

    /** A read-modify-write with an asynchronous gap, run by many pipelines at once. */
    private static Mono<Void> increment(long[] counter) {
        return Mono.fromCallable(() -> counter[0])
                .delayElement(GAP, Schedulers.parallel())
                .doOnNext(v -> counter[0] = v + 1)
                .then();
    }

    static boolean exclusiveCounter(LockService locks) {
        long expected = (long) PIPELINES * INCREMENTS;

        long[] unlocked = {0};
        long t0 = System.nanoTime();
        Flux.range(0, PIPELINES)
                .flatMap(p -> Flux.range(0, INCREMENTS).concatMap(i -> increment(unlocked)), PIPELINES)
                .blockLast(Duration.ofMinutes(1));
        long unlockedMillis = (System.nanoTime() - t0) / 1_000_000;

        long[] locked = {0};
        t0 = System.nanoTime();
        Flux.range(0, PIPELINES)
                .flatMap(p -> Flux.range(0, INCREMENTS).concatMap(i -> locks.withLock("counter", increment(locked))),
                        PIPELINES)
                .blockLast(Duration.ofMinutes(1));
        long lockedMillis = (System.nanoTime() - t0) / 1_000_000;

        System.out.printf("exclusive: %d pipelines x %d increments, each with an async hop inside%n",
                PIPELINES, INCREMENTS);
        System.out.printf("  without lock : counter = %,d of %,d (%,d updates lost) in %d ms%n",
                unlocked[0], expected, expected - unlocked[0], unlockedMillis);
        System.out.printf("  withLock     : counter = %,d of %,d (%,d updates lost) in %d ms%n",
                locked[0], expected, expected - locked[0], lockedMillis);
        return locked[0] == expected && unlocked[0] < expected; // the race is real, and the lock prevents it
    }

    static boolean sharedReadersExclusiveWriters(LockService locks) {
        long[] accounts = {500, 500};
        AtomicInteger readersInside = new AtomicInteger();
        AtomicInteger maxReadersTogether = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        AtomicInteger reads = new AtomicInteger();
        AtomicInteger transfers = new AtomicInteger();

        Mono<Void> transfer = Mono.fromRunnable(() -> accounts[0] -= 7)
                .then(Mono.delay(GAP, Schedulers.parallel()))
                .then(Mono.fromRunnable(() -> {
                    accounts[1] += 7;
                    transfers.incrementAndGet();
                }));
        Mono<Void> audit = Mono.fromRunnable(() -> maxReadersTogether.accumulateAndGet(
                        readersInside.incrementAndGet(), Math::max))
                .then(Mono.delay(GAP, Schedulers.parallel()))
                .then(Mono.fromRunnable(() -> {
                    if (accounts[0] + accounts[1] != 1000) {
                        violations.incrementAndGet();
                    }
                    reads.incrementAndGet();
                    readersInside.decrementAndGet();
                }));

        long t0 = System.nanoTime();
        Flux.range(0, 20_000)
                .flatMap(i -> i % 10 == 0
                        ? locks.withLock("accounts", LockOptions.exclusive(), transfer)
                        : locks.withLock("accounts", LockOptions.shared(), audit), 256)
                .blockLast(Duration.ofMinutes(1));
        long millis = (System.nanoTime() - t0) / 1_000_000;

        System.out.printf("shared/exclusive: %,d audits (shared) and %,d transfers (exclusive) in %d ms%n",
                reads.get(), transfers.get(), millis);
        System.out.printf("  audits that saw a half-done transfer: %d; most audits running together: %d%n",
                violations.get(), maxReadersTogether.get());
        System.out.printf("  total balance at the end: %d (expected 1000)%n", accounts[0] + accounts[1]);
        return violations.get() == 0 && accounts[0] + accounts[1] == 1000 && transfers.get() == 2_000
                && maxReadersTogether.get() > 1;
    }

    private static final int FILE_INCREMENTS = 200;

    /** Increments the number stored in {@code counter} {@code times} times, each under the file lock. */
    private static Mono<Void> incrementFile(LockService locks, Path counter, int times) {
        Mono<Void> once = Mono.<Void>fromRunnable(() -> {
            try {
                long value = Long.parseLong(Files.readString(counter, StandardCharsets.UTF_8).trim());
                Files.writeString(counter, Long.toString(value + 1), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }).subscribeOn(Schedulers.boundedElastic());
        return Flux.range(0, times).concatMap(i -> locks.withLock("counter", once)).then();
    }

    /** The child JVM: the same increments on the same file under the same lock, then exit. */
    private static void fileChild(Path lockDir, Path counter, int times) {
        FileLockService locks = FileLockService.create(FileLockConfig.builder().lockDirectory(lockDir).build());
        try {
            incrementFile(locks, counter, times).block(Duration.ofMinutes(2));
        } finally {
            locks.disposeLater().block(Duration.ofSeconds(10));
        }
    }

    static boolean twoJvmsShareAFileLock() throws Exception {
        Path dir = Files.createTempDirectory("reactive-locks-demo");
        try {
            Path counter = dir.resolve("counter.txt");
            Files.writeString(counter, "0");
            FileLockService locks = FileLockService.create(FileLockConfig.builder().lockDirectory(dir).build());
            long t0 = System.nanoTime();
            Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), Demo.class.getName(),
                    "file-child", dir.toString(), counter.toString(), Integer.toString(FILE_INCREMENTS))
                    .inheritIO()
                    .start();
            try {
                incrementFile(locks, counter, FILE_INCREMENTS).block(Duration.ofMinutes(2));
            } finally {
                locks.disposeLater().block(Duration.ofSeconds(10));
            }
            boolean exited = child.waitFor(2, TimeUnit.MINUTES);
            long millis = (System.nanoTime() - t0) / 1_000_000;
            long value = Long.parseLong(Files.readString(counter).trim());
            System.out.printf("file lock: this JVM and a child JVM (pid %d) each add %d to a counter file, "
                    + "under the lock file %s%n", child.pid(), FILE_INCREMENTS, dir.resolve("counter"));
            System.out.printf("  counter = %d (expected %d), child exit code %s, in %d ms%n", value,
                    2 * FILE_INCREMENTS, exited ? Integer.toString(child.exitValue()) : "(still running)", millis);
            if (!exited) {
                child.destroyForcibly();
            }
            return exited && child.exitValue() == 0 && value == 2L * FILE_INCREMENTS;
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Two deployments of one service run a child process each under one lock: their output never mixes. */
    static boolean streamedProcessUnderALock(LockService locks) {
        ProcessExecutor exec = ProcessExecutor.create();
        try {
            ProcessSpec deploy = ProcessSpec.command("sh", "-c",
                            "for step in 1 2 3; do echo \"step $step\"; sleep 0.05; done; echo finished >&2")
                    .timeout(Duration.ofSeconds(30))
                    .build();
            long t0 = System.nanoTime();
            List<String> lines = Flux.range(1, 2)
                    .flatMap(run -> locks.withLockMany("deploy", LockOptions.exclusive(), handle -> exec.stream(deploy)
                            .map(out -> "run " + run + " (fencing token " + handle.fencingToken() + ") "
                                    + out.source() + ": " + out.text())))
                    .collectList()
                    .block(Duration.ofMinutes(1));
            long millis = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf("process under a lock: two runs of a child process, streamed, one at a time (%d ms)%n",
                    millis);
            lines.forEach(line -> System.out.println("  " + line));
            boolean contiguous = lines.size() == 8
                    && lines.subList(0, 4).stream().allMatch(l -> l.startsWith(lines.get(0).substring(0, 5)))
                    && lines.subList(4, 8).stream().allMatch(l -> l.startsWith(lines.get(4).substring(0, 5)));
            return contiguous;
        } finally {
            exec.disposeLater().block(Duration.ofSeconds(30));
        }
    }
}
