package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockServiceClosedException;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.testkit.contract.RecordingSubscriber;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.blockhound.BlockingOperationError;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.util.RaceTestUtils;

class FileLockServiceTest {

    private static final Duration WAIT = Duration.ofSeconds(5);

    @TempDir
    Path tmp;

    private Path dir;
    private FileLockService locks;

    @BeforeEach
    void setUp() {
        dir = tmp.resolve("locks");
        locks = FileLockService.create(FileLockConfig.builder().lockDirectory(dir)
                .lockFileCheckInterval(Duration.ofMillis(100)).build());
    }

    @AfterEach
    void tearDown() {
        locks.disposeLater().block(WAIT);
        await(() -> LockFileRegistry.openEntries() == 0, "all lock file entries closed");
    }

    static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not reached within " + WAIT + ": " + what);
            }
            LockSupport.parkNanos(1_000_000);
        }
    }

    @Test
    void exclusiveLockExcludesTheNextAcquisitionUntilReleased() {
        LockHandle first = locks.acquire("orders").block(WAIT);
        assertThat(first).isNotNull();
        assertThat(first.isHeld()).isTrue();
        StepVerifier.create(locks.tryAcquire("orders")).expectComplete().verify(WAIT);

        List<String> events = new CopyOnWriteArrayList<>();
        Disposable second = locks.acquire("orders").subscribe(h -> {
            events.add("second granted after " + (first.isHeld() ? "nothing" : "release"));
            h.release().subscribe();
        });
        assertThat(events).isEmpty();
        first.release().block(WAIT);
        await(() -> events.size() == 1, "second granted");
        assertThat(events).containsExactly("second granted after release");
        assertThat(first.isHeld()).isFalse();
        second.dispose();
    }

    @Test
    void sharedHoldersHoldTogetherAndExcludeExclusive() {
        LockHandle a = locks.acquire("report", LockOptions.shared()).block(WAIT);
        LockHandle b = locks.acquire("report", LockOptions.shared()).block(WAIT);
        assertThat(a.isHeld()).isTrue();
        assertThat(b.isHeld()).isTrue();
        StepVerifier.create(locks.tryAcquire("report")).expectComplete().verify(WAIT);
        a.release().block(WAIT);
        StepVerifier.create(locks.tryAcquire("report")).expectComplete().verify(WAIT);
        b.release().block(WAIT);
        LockHandle c = locks.tryAcquire("report").block(WAIT);
        assertThat(c).isNotNull();
        c.release().block(WAIT);
    }

    @Test
    void waitersInOneJvmAreGrantedInFifoOrder() {
        LockHandle holder = locks.acquire("fifo").block(WAIT);
        List<Integer> order = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 5; i++) {
            int n = i;
            locks.withLock("fifo", Mono.fromRunnable(() -> order.add(n))).subscribe();
        }
        holder.release().block(WAIT);
        await(() -> order.size() == 5, "five waiters granted");
        assertThat(order).containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void aThousandWaitersOnOneFileQueueWithoutThreads() {
        // file threads of services of earlier tests may still be alive (idle ones end after a minute): only the
        // threads started from here on count
        Set<Thread> before = fileThreads();
        LockHandle holder = locks.acquire("busy").block(WAIT);
        List<Integer> order = new CopyOnWriteArrayList<>();
        List<Disposable> waiters = new ArrayList<>();
        try {
            for (int i = 0; i < 1000; i++) {
                int n = i;
                waiters.add(locks.withLock("busy", Mono.fromRunnable(() -> order.add(n))).subscribe());
            }
            String key = LockFiles.existingId(dir.resolve("busy"));
            assertThat(LockFile.QUEUES.stats(key)).get().satisfies(s -> assertThat(s.pending()).isEqualTo(1000));
            Set<Thread> started = fileThreads();
            started.removeAll(before);
            assertThat(started).hasSizeLessThanOrEqualTo(Math.max(2, Runtime.getRuntime().availableProcessors()));
        } finally { // a failure above must not leave the file held for the tests after this one
            holder.release().block(WAIT);
        }
        await(() -> order.size() == 1000, "all waiters granted");
        for (int i = 0; i < 1000; i++) {
            assertThat(order.get(i)).isEqualTo(i);
        }
        waiters.forEach(Disposable::dispose);
    }

    private static Set<Thread> fileThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("reactive-locks-file"))
                .collect(java.util.stream.Collectors.toCollection(java.util.HashSet::new));
    }

    /**
     * The holder's release, made on a thread that locks files itself (with a small stack, as pool threads
     * have), hands the file from waiter to waiter: each waiter's body completes at once and releases, which
     * grants the next one on the same thread.
     */
    @Test
    void aLongChainOfSynchronousHandOffsDoesNotGrowTheStack() throws Exception {
        int waiters = 1_000;
        LockHandle first = locks.acquire("chain").block(WAIT);
        java.util.concurrent.atomic.AtomicInteger served = new java.util.concurrent.atomic.AtomicInteger();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        for (int i = 0; i < waiters; i++) {
            locks.withLock("chain", Mono.fromRunnable(served::incrementAndGet)).subscribe(null, errors::add);
        }
        Thread releaser = new Thread(null, () -> first.release().subscribe(null, errors::add), "small-stack",
                256 * 1024);
        releaser.start();
        releaser.join(WAIT.toMillis());
        await(() -> served.get() == waiters || !errors.isEmpty(), "every waiter served");
        assertThat(errors).isEmpty();
        assertThat(served).hasValue(waiters);
    }

    @Test
    void lockFileIsNamedLikeOsloKeepsItsContentAndSurvivesRelease() throws Exception {
        Files.createDirectories(dir);
        Path file = dir.resolve("nova-compute_resources_x");
        Files.writeString(file, "keep me");
        LockService nova = locks.withPrefix("nova");
        LockHandle h = nova.acquire("compute/resources/x").block(WAIT);
        assertThat(h.name()).isEqualTo("nova-compute/resources/x");
        assertThat(locks.config().lockFile(h.name())).isEqualTo(file);
        h.release().block(WAIT);
        await(() -> LockFileRegistry.openEntries() == 0, "channel closed");
        assertThat(Files.readString(file)).isEqualTo("keep me");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("nova-compute_resources_x", FencingCounter.DIRECTORY);
        }
    }

    @Test
    void missingLockDirectoryIsCreatedOwnerOnly() throws Exception {
        Path nested = tmp.resolve("a/b/locks");
        FileLockService service = FileLockService.create(FileLockConfig.builder().lockDirectory(nested).build());
        try {
            service.withLock("x", Mono.empty()).block(WAIT);
            assertThat(Files.isDirectory(nested)).isTrue();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(nested))).isEqualTo("rwx------");
            assertThat(nested.resolve("x")).isRegularFile();
        } finally {
            service.disposeLater().block(WAIT);
        }
    }

    @Test
    void aSymlinkAtTheLockFileIsRefusedNotFollowed() throws Exception {
        Files.createDirectories(dir);
        Path target = tmp.resolve("victim");
        Files.createSymbolicLink(dir.resolve("evil"), target);
        Path realEvil = dir.toRealPath().resolve("evil");
        StepVerifier.create(locks.acquire("evil"))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockException.class)
                        .hasMessageStartingWith("Cannot lock file '" + realEvil
                                + "' for lock 'evil' (EXCLUSIVE): ")
                        .hasMessageContaining("symbolic link; refusing to follow it"))
                .verify(WAIT);
        assertThat(target).doesNotExist();
        // the queue is free again: a normal name works
        locks.withLock("fine", Mono.empty()).block(WAIT);
    }

    @Test
    void withoutLockDirectoryAcquireExplainsHowToConfigureOne() {
        FileLockConfig none = FileLockConfig.builder().build(k -> null, k -> null);
        assertThat(none.lockDirectory()).isEmpty();
        FileLockService service = FileLockService.create(none);
        try {
            StepVerifier.create(service.acquire("jobs"))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                            .hasMessage("No lock directory configured for file lock 'jobs': set "
                                    + "FileLockConfig.builder().lockDirectory(path), the system property "
                                    + "reactivelocks.lock-dir or the environment variable REACTIVE_LOCKS_DIR "
                                    + "(a directory only your application can write; not a shared temporary "
                                    + "directory)"))
                    .verify(WAIT);
        } finally {
            service.dispose();
        }
    }

    @Test
    void nestedWithLockOnTheSameNameFailsInsteadOfDeadlocking() {
        Mono<String> nested = locks.withLock("n", locks.withLock("n", Mono.just("inner")));
        StepVerifier.create(nested)
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalLockStateException.class)
                        .hasMessage("Lock 'n' is already held (EXCLUSIVE) by this pipeline; locks are not reentrant"))
                .verify(WAIT);
        Mono<String> upgrade = locks.withLock("n", LockOptions.shared(), locks.withLock("n", Mono.just("x")));
        StepVerifier.create(upgrade).expectError(IllegalLockStateException.class).verify(WAIT);
        StepVerifier.create(locks.withLock("n", Mono.just("again"))).expectNext("again").verifyComplete();
    }

    @Test
    void twoServicesOfOneJvmOnTheSameFileExcludeEachOther() throws Exception {
        Files.createDirectories(dir);
        Path alias = tmp.resolve("alias");
        Files.createSymbolicLink(alias, dir);
        FileLockService other = FileLockService.create(FileLockConfig.builder().lockDirectory(alias).build());
        try {
            LockHandle h = locks.acquire("shared-file").block(WAIT);
            StepVerifier.create(other.tryAcquire("shared-file")).expectComplete().verify(WAIT);
            StepVerifier.create(other.acquire("shared-file", LockOptions.exclusive().timeout(Duration.ofMillis(100))))
                    .expectErrorMessage("Lock 'shared-file' (EXCLUSIVE) not acquired within 100ms")
                    .verify(WAIT);
            h.release().block(WAIT);
            LockHandle o = other.acquire("shared-file").block(WAIT);
            assertThat(o.isHeld()).isTrue();
            assertThat(o.fencingToken()).isGreaterThan(h.fencingToken());
            o.release().block(WAIT);
        } finally {
            other.disposeLater().block(WAIT);
        }
    }

    @Test
    void sharedHoldersOfTwoServicesUseOneChannelForTheFile() throws Exception {
        Path fds = Path.of("/proc/self/fd");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(fds), "needs /proc/self/fd (Linux)");
        FileLockService other = FileLockService.create(FileLockConfig.builder().lockDirectory(dir).build());
        try {
            List<LockHandle> held = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                held.add(locks.acquire("one-fd", LockOptions.shared()).block(WAIT));
                held.add(other.acquire("one-fd", LockOptions.shared()).block(WAIT));
            }
            Path file = dir.toRealPath().resolve("one-fd");
            assertThat(openDescriptorsOf(fds, file)).isEqualTo(1);
            for (LockHandle h : held) {
                h.release().block(WAIT);
            }
            await(() -> LockFileRegistry.openEntries() == 0, "channel closed");
            assertThat(openDescriptorsOf(fds, file)).isZero();
        } finally {
            other.disposeLater().block(WAIT);
        }
    }

    private static long openDescriptorsOf(Path fds, Path file) throws java.io.IOException {
        try (var links = Files.list(fds)) {
            return links.filter(l -> {
                try {
                    return Files.readSymbolicLink(l).equals(file);
                } catch (java.io.IOException e) {
                    return false; // closed meanwhile
                }
            }).count();
        }
    }

    /**
     * Pooled threads may carry an interrupt left by earlier work. The file calls the service makes must not
     * be interruptible ones: an interrupted {@code FileChannel.lock} closes the channel and drops the JVM's
     * POSIX locks on the file.
     */
    @Test
    void aStaleInterruptOnASchedulerThreadDoesNotCloseTheLockFile() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        reactor.core.scheduler.Scheduler interrupting = Schedulers.fromExecutor(task -> pool.execute(() -> {
            Thread.currentThread().interrupt(); // as left behind by earlier work on a pooled thread
            task.run();
        }));
        FileLockService service = FileLockService.create(
                FileLockConfig.builder().lockDirectory(dir).scheduler(interrupting).build());
        try {
            LockHandle a = service.acquire("stale", LockOptions.shared()).block(WAIT);
            LockHandle b = service.acquire("stale", LockOptions.shared()).block(WAIT);
            assertThat(a.isHeld()).isTrue();
            assertThat(b.isHeld()).isTrue();
            a.release().block(WAIT);
            b.release().block(WAIT);
            LockHandle c = service.acquire("stale").block(WAIT);
            assertThat(c.isHeld()).isTrue();
            c.release().block(WAIT);
        } finally {
            service.disposeLater().block(WAIT);
            pool.shutdown();
        }
    }

    @Test
    void holdersAreToldWhenTheChannelIsClosedUnderThem() throws Exception {
        LockHandle first = locks.acquire("dropped", LockOptions.shared()).block(WAIT);
        Path file = dir.toRealPath().resolve("dropped");
        LockFile.closeChannelUnderHolders(file, Schedulers.boundedElastic());
        LockHandle second = locks.acquire("dropped", LockOptions.shared()).block(WAIT); // detects the drop
        StepVerifier.create(first.lost()).expectComplete().verify(WAIT);
        assertThat(first.isHeld()).isFalse();
        assertThat(second.isHeld()).isTrue();
        StepVerifier.create(second.lost()).expectSubscription().expectNoEvent(Duration.ofMillis(50)).thenCancel()
                .verify(WAIT);
        first.release().block(WAIT);
        second.release().block(WAIT);
        LockHandle exclusive = locks.acquire("dropped").block(WAIT);
        exclusive.release().block(WAIT);
        StepVerifier.create(exclusive.lost()).expectSubscription().expectNoEvent(Duration.ofMillis(20)).thenCancel()
                .verify(WAIT);
    }

    @Test
    void blockHoundRejectsFileLockingOnTheParallelScheduler() throws Exception {
        Files.createDirectories(dir);
        Path file = dir.resolve("raw");
        Mono<java.nio.channels.FileLock> lockOnParallel = Mono.fromCallable(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                return ch.tryLock();
            }
        }).subscribeOn(Schedulers.parallel());
        StepVerifier.create(lockOnParallel)
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(BlockingOperationError.class)
                        .hasMessageContaining("FileChannelImpl"))
                .verify(WAIT);
    }

    @Test
    void acquiringAndReleasingFromParallelThreadsNeverBlocksThem() {
        Flux<Integer> work = Flux.range(0, 200)
                .parallel(4).runOn(Schedulers.parallel())
                .flatMap(i -> locks.withLock("p" + (i % 3), i % 2 == 0 ? LockOptions.shared() : LockOptions.exclusive(),
                        h -> Mono.just(i).publishOn(Schedulers.parallel())))
                .sequential();
        StepVerifier.create(work).expectNextCount(200).expectComplete().verify(Duration.ofSeconds(20));
    }

    @Test
    void timeoutInTheJvmQueueUsesTheCoreMessage() {
        LockHandle h = locks.acquire("t").block(WAIT);
        StepVerifier.create(locks.acquire("t", LockOptions.shared().timeout(Duration.ofMillis(50))))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockTimeoutException.class)
                        .hasMessage("Lock 't' (SHARED) not acquired within 50ms"))
                .verify(WAIT);
        StepVerifier.create(locks.acquire("t", LockOptions.exclusive().timeout(Duration.ZERO)))
                .expectErrorMessage("Lock 't' (EXCLUSIVE) not acquired within 0ms")
                .verify(WAIT);
        h.release().block(WAIT);
        LockHandle again = locks.acquire("t", LockOptions.exclusive().timeout(Duration.ZERO)).block(WAIT);
        again.release().block(WAIT);
    }

    @Test
    void cancelRacingGrantNeverLeaksTheLock() {
        for (int i = 0; i < 200; i++) {
            LockHandle holder = locks.acquire("race").block(WAIT);
            // not a lambda subscriber: that one drops an onNext racing its own disposal, and the lock with it
            RecordingSubscriber waiter = locks.acquire("race").subscribeWith(new RecordingSubscriber());
            RaceTestUtils.race(() -> holder.release().subscribe(), waiter::dispose);
            // settled when the grant reached the subscriber (which then owns it) or the lock is free again
            await(() -> {
                if (waiter.handle() != null) {
                    return true;
                }
                java.util.Optional<LockHandle> free = locks.tryAcquire("race").blockOptional(WAIT);
                free.ifPresent(h -> h.release().block(WAIT));
                return free.isPresent();
            }, "iteration " + i + ": the lock is neither delivered nor free (leaked)");
            if (waiter.handle() != null) {
                waiter.handle().release().block(WAIT);
            }
        }
        LockHandle last = locks.acquire("race", LockOptions.exclusive().timeout(WAIT)).block(WAIT);
        last.release().block(WAIT);
        await(() -> LockFileRegistry.openEntries() == 0, "lock file closed after the races");
    }

    @Test
    void releaseIsIdempotent() {
        LockHandle h = locks.acquire("idem").block(WAIT);
        h.release().block(WAIT);
        h.release().block(WAIT);
        LockHandle a = locks.acquire("idem", LockOptions.shared()).block(WAIT);
        LockHandle b = locks.acquire("idem", LockOptions.shared()).block(WAIT);
        a.release().block(WAIT);
        a.release().block(WAIT);
        StepVerifier.create(locks.tryAcquire("idem")).expectComplete().verify(WAIT);
        b.release().block(WAIT);
        locks.tryAcquire("idem").flatMap(LockHandle::release).block(WAIT);
    }

    @Test
    void disposeFailsPendingAndLaterAcquisitionsButKeepsHeldLocks() {
        LockHandle h = locks.acquire("d").block(WAIT);
        StepVerifier.create(locks.acquire("d"))
                .then(() -> locks.dispose())
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockServiceClosedException.class))
                .verify(WAIT);
        assertThat(locks.isDisposed()).isTrue();
        StepVerifier.create(locks.acquire("other")).expectError(LockServiceClosedException.class).verify(WAIT);
        assertThat(h.isHeld()).isTrue();
        h.release().block(WAIT);
        assertThat(h.isHeld()).isFalse();
    }

    @Test
    void removeLockFileDeletesOnlyUnusedFiles() throws Exception {
        FileLockConfig config = locks.config();
        assertThat(FileLockService.removeLockFile(config, "gone").block(WAIT)).isFalse();
        LockHandle h = locks.acquire("used").block(WAIT);
        Path realUsed = dir.toRealPath().resolve("used");
        StepVerifier.create(FileLockService.removeLockFile(config, "used"))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalLockStateException.class)
                        .hasMessage("Lock file '" + realUsed + "' of lock 'used' is in use"
                                + " by this JVM; not removing it"))
                .verify(WAIT);
        h.release().block(WAIT);
        await(() -> LockFileRegistry.openEntries() == 0, "channel closed");
        assertThat(FileLockService.removeLockFile(config, "used").block(WAIT)).isTrue();
        assertThat(dir.resolve("used")).doesNotExist();
        assertThat(FileLockService.removeLockFile(config, "used").block(WAIT)).isFalse();
    }

    @Test
    void fencingTokensIncreaseForEveryGrantOfAName() {
        long previous = 0;
        for (int i = 0; i < 5; i++) {
            LockHandle h = locks.acquire("f", i % 2 == 0 ? LockOptions.exclusive() : LockOptions.shared())
                    .block(WAIT);
            assertThat(h.fencingToken()).isGreaterThan(previous);
            previous = h.fencingToken();
            h.release().block(WAIT);
        }
    }

    /** Holds {@code name} {@code holders} times, lets {@code breakIt} act on its file, expects the loss reported. */
    private void holdersAreToldOfTheLoss(String name, LockOptions options, int holders, FileAction breakIt)
            throws Exception {
        List<LockHandle> held = new ArrayList<>();
        for (int i = 0; i < holders; i++) {
            held.add(locks.acquire(name, options).block(WAIT));
        }
        StepVerifier.create(held.get(0).lost()).expectSubscription().expectNoEvent(Duration.ofMillis(300))
                .thenCancel().verify(WAIT);
        assertThat(held).allSatisfy(h -> assertThat(h.isHeld()).isTrue());

        breakIt.apply(dir.resolve(name));
        for (LockHandle h : held) {
            StepVerifier.create(h.lost()).expectComplete().verify(WAIT);
            assertThat(h.isHeld()).isFalse();
        }

        // the name works again on the file it names now, once the lost holders left
        held.forEach(h -> h.release().block(WAIT));
        LockHandle next = locks.acquire(name, LockOptions.exclusive().timeout(WAIT)).block(WAIT);
        assertThat(next.isHeld()).isTrue();
        assertThat(FileLockAliasTest.pythonTry(dir.resolve(name))).isEqualTo("BUSY");
        StepVerifier.create(next.lost()).expectSubscription().expectNoEvent(Duration.ofMillis(300)).thenCancel()
                .verify(WAIT);
        next.release().block(WAIT);
        assertThat(FileLockAliasTest.pythonTry(dir.resolve(name))).isEqualTo("LOCKED");
    }

    @FunctionalInterface
    interface FileAction {
        void apply(Path file) throws Exception;
    }

    /**
     * Issue 14, section 2: a lock file deleted or replaced while this JVM holds it excludes nobody any more
     * (the next process creates or opens the new file and locks it), yet the holder kept reporting
     * {@code isHeld()}. Now the service checks, every {@link FileLockConfig#lockFileCheckInterval()} while it
     * holds a file, that each holder's path still names the locked file, and completes {@code lost()}.
     */
    @Test
    void aLockFileDeletedWhileHeldIsReportedLost() throws Exception {
        holdersAreToldOfTheLoss("deleted", LockOptions.exclusive(), 1, Files::delete);
    }

    @Test
    void aLockFileReplacedByRenameWhileHeldIsReportedLostToEverySharedHolder() throws Exception {
        holdersAreToldOfTheLoss("renamed", LockOptions.shared(), 2, file -> {
            Path fresh = Files.writeString(dir.resolve("fresh"), "");
            Files.move(fresh, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        });
    }

    @Test
    void aWaiterQueuedForADeletedLockFileLocksTheFileCreatedInItsPlace() throws Exception {
        LockHandle held = locks.acquire("moved").block(WAIT);
        CompletableFuture<LockHandle> waiting = locks.acquire("moved", LockOptions.exclusive().timeout(WAIT))
                .toFuture();
        Files.delete(dir.resolve("moved"));
        StepVerifier.create(held.lost()).expectComplete().verify(WAIT);
        held.release().block(WAIT);

        LockHandle next = waiting.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(next.isHeld()).isTrue();
        assertThat(dir.resolve("moved")).isRegularFile();
        assertThat(FileLockAliasTest.pythonTry(dir.resolve("moved"))).isEqualTo("BUSY");
        next.release().block(WAIT);
        assertThat(FileLockAliasTest.pythonTry(dir.resolve("moved"))).isEqualTo("LOCKED");
    }

    @Test
    void anUntouchedLockFileIsNeverReportedLost() {
        LockHandle held = locks.acquire("kept").block(WAIT);
        StepVerifier.create(held.lost()).expectSubscription().expectNoEvent(Duration.ofSeconds(1)).thenCancel()
                .verify(WAIT);
        assertThat(held.isHeld()).isTrue();
        held.release().block(WAIT);
    }

    /**
     * Each grant used to schedule the check of its lock file on the timer and each release to cancel it,
     * which woke the timer's thread twice per lock and release. Now one pending check serves every grant
     * until it fires, and it still reports a file deleted under a later holder.
     */
    @Test
    void sequentialGrantsShareOnePendingCheckOfTheLockFile() throws Exception {
        Duration interval = Duration.ofSeconds(1);
        AtomicInteger checks = new AtomicInteger();
        Scheduler parallel = Schedulers.parallel();
        Scheduler timer = new Scheduler() {
            @Override
            public Disposable schedule(Runnable task) {
                return parallel.schedule(task);
            }

            @Override
            public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
                if (unit.toNanos(delay) == interval.toNanos()) {
                    checks.incrementAndGet();
                }
                return parallel.schedule(task, delay, unit);
            }

            @Override
            public long now(TimeUnit unit) {
                return unit.convert(System.nanoTime(), TimeUnit.NANOSECONDS);
            }

            @Override
            public Worker createWorker() {
                return parallel.createWorker();
            }
        };
        FileLockService service = FileLockService.create(FileLockConfig.builder().lockDirectory(dir)
                .timer(timer).lockFileCheckInterval(interval).build());
        try {
            for (int i = 0; i < 100; i++) {
                service.acquire("often").flatMap(LockHandle::release).block(WAIT);
            }
            assertThat(checks.get()).as("checks scheduled by 100 grants within the interval").isLessThanOrEqualTo(2);

            LockHandle held = service.acquire("often").block(WAIT);
            Files.delete(dir.resolve("often"));
            StepVerifier.create(held.lost()).expectComplete().verify(WAIT);
            held.release().block(WAIT);
        } finally {
            service.disposeLater().block(WAIT);
        }
    }

    @Test
    void theCheckIntervalMustBePositive() {
        assertThat(FileLockConfig.builder().build().lockFileCheckInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThatThrownBy(() -> FileLockConfig.builder().lockFileCheckInterval(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("lockFileCheckInterval must be > 0, was PT0S");
    }
}
