package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockLostException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.testkit.contract.RecordingSubscriber;
import dev.reactivelocks.testkit.contract.SpinRacer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * {@link LockHandle#downgrade()} of file locks: the exclusive OS lock turns shared without a moment in which
 * another process could lock the file exclusively (watched by a real fasteners {@value FastenersVenv#VERSION}
 * peer, {@code downgrade_probe.py}), this JVM's shared waiters join while its writers wait, and neither a
 * lost lock nor a cancel leaves anything held.
 */
class FileLockDowngradeTest {

    private static final Duration WAIT = FileLockFixture.WAIT;

    @TempDir
    static Path scripts;

    @RegisterExtension
    final FileLockFixture fixture = new FileLockFixture();

    private FileLockService locks;

    @BeforeEach
    void setUp() {
        locks = fixture.locks();
    }

    private ChildProcess probe(String name) throws IOException {
        Path python = FastenersVenv.python();
        Path script = FileLockFixture.script(scripts, "downgrade_probe.py");
        return ChildProcess.start(python.toString(), script.toString(), fixture.dir().resolve(name).toString());
    }

    private static String ask(ChildProcess peer, String command) throws Exception {
        peer.send(command);
        return peer.nextLine(WAIT);
    }

    @Test
    void sharedWaitersOfEveryServiceOfTheJvmJoinTheDowngradedGrantWhileAWriterWaits() throws Exception {
        FileLockService other = FileLockService.create(FileLockConfig.builder().lockDirectory(fixture.dir()).build());
        try {
            LockHandle exclusive = locks.acquire("report").block(WAIT);
            CompletableFuture<LockHandle> reader = queued(other.acquire("report", LockOptions.shared()), 1);
            CompletableFuture<LockHandle> writer = queued(locks.acquire("report"), 2);
            CompletableFuture<LockHandle> lateReader = queued(other.acquire("report", LockOptions.shared()), 3);

            LockHandle shared = exclusive.downgrade().block(WAIT);
            assertThat(shared.mode()).isEqualTo(LockMode.SHARED);
            assertThat(shared.fencingToken()).isGreaterThan(exclusive.fencingToken());
            LockHandle first = reader.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(shared.isHeld()).as("the downgraded grant is held next to the reader").isTrue();
            assertThat(first.isHeld()).isTrue();
            assertThat(first.fencingToken()).isGreaterThan(shared.fencingToken());
            assertThat(writer).as("a writer waits for every shared holder").isNotDone();
            assertThat(lateReader).as("behind the waiting writer").isNotDone();

            shared.release().block(WAIT);
            assertThat(writer).isNotDone();
            first.release().block(WAIT);
            LockHandle w = writer.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(w.fencingToken()).isGreaterThan(first.fencingToken());
            assertThat(lateReader).isNotDone();
            w.release().block(WAIT);
            lateReader.get(WAIT.toSeconds(), TimeUnit.SECONDS).release().block(WAIT);
        } finally {
            other.disposeLater().block(WAIT);
        }
    }

    /**
     * Subscribes to {@code acquisition} of the lock "report" and waits until it is the {@code nth} waiter of
     * the JVM's queue of the file (each acquisition looks the file up before it queues, so two subscribed at
     * once may queue in either order).
     */
    private CompletableFuture<LockHandle> queued(Mono<LockHandle> acquisition, int nth) {
        CompletableFuture<LockHandle> future = acquisition.toFuture();
        String id = LockFiles.existingId(fixture.dir().resolve("report"));
        FileLockServiceTest.await(() -> LockFile.QUEUES.inspect(id).map(info -> info.waiting().orElse(0) == nth)
                .blockOptional().orElse(false), nth + " waiters queued");
        return future;
    }

    /**
     * The peer tries, as fast as it can, to take the lock exclusively all through each downgrade; it never
     * gets it, and gets it shared (but not exclusively) once the downgrade is done.
     */
    @Test
    void aFastenersPeerNeverGetsTheLockExclusivelyDuringDowngradesButSharedAfterwards() throws Exception {
        LockHandle first = locks.acquire("images").block(WAIT); // creates the file the peer watches
        first.release().block(WAIT);
        try (ChildProcess peer = probe("images")) {
            long attempts = 0;
            for (int i = 0; i < 30; i++) {
                LockHandle exclusive = locks.acquire("images").block(WAIT);
                assertThat(ask(peer, "SPIN")).isEqualTo("SPINNING");
                LockHandle shared = exclusive.downgrade().block(WAIT);
                String[] spun = ask(peer, "STOP").split(" ");
                attempts += Long.parseLong(spun[0]);
                assertThat(Long.parseLong(spun[1])).as("exclusive grants of the peer in downgrade %d", i).isZero();
                assertThat(ask(peer, "EXCLUSIVE")).isEqualTo("BUSY");
                assertThat(ask(peer, "SHARED")).isEqualTo("LOCKED");
                shared.release().block(WAIT);
            }
            assertThat(attempts).as("the peer tried while Java downgraded").isPositive();
            assertThat(ask(peer, "EXCLUSIVE")).isEqualTo("LOCKED");
            peer.closeInput();
            assertThat(peer.waitFor(WAIT)).as("stderr: %s", peer.stderr()).isZero();
        }
    }

    @Test
    void releasingTheDowngradedHandleUnlocksTheFileForOtherProcesses() throws Exception {
        LockHandle exclusive = locks.acquire("nightly").block(WAIT);
        LockHandle shared = exclusive.downgrade().block(WAIT);
        try (ChildProcess peer = probe("nightly")) {
            assertThat(ask(peer, "EXCLUSIVE")).isEqualTo("BUSY");
            exclusive.release().block(WAIT);
            assertThat(shared.isHeld()).isFalse();
            assertThat(ask(peer, "EXCLUSIVE")).isEqualTo("LOCKED");
            peer.closeInput();
            assertThat(peer.waitFor(WAIT)).as("stderr: %s", peer.stderr()).isZero();
        }
        StepVerifier.create(shared.lost()).expectSubscription().expectNoEvent(Duration.ofMillis(20)).thenCancel()
                .verify(WAIT);
    }

    @Test
    void aDowngradeThatFindsTheLockLostGivesItUp() throws Exception {
        LockHandle exclusive = locks.acquire("dropped").block(WAIT);
        LockFile.closeChannelUnderHolders(fixture.dir().toRealPath().resolve("dropped"), Schedulers.boundedElastic());
        StepVerifier.create(exclusive.downgrade())
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockLostException.class)
                        .hasMessageStartingWith("Lock 'dropped' not downgraded and given up: the lock was lost before"))
                .verify(WAIT);
        StepVerifier.create(exclusive.lost()).expectComplete().verify(WAIT);
        assertThat(exclusive.isHeld()).isFalse();
        LockHandle next = locks.tryAcquire("dropped").block(WAIT);
        assertThat(next).as("the local grant was given up too").isNotNull();
        next.release().block(WAIT);
        exclusive.release().block(WAIT); // nothing left to release
    }

    @Test
    void aDowngradeSubscribedOnANonBlockingThreadMakesItsFileCallsElsewhere() {
        LockHandle exclusive = locks.acquire("parallel").block(WAIT);
        LockHandle shared = exclusive.downgrade().subscribeOn(Schedulers.parallel()).block(WAIT);
        assertThat(shared.isHeld()).isTrue();
        LockHandle reader = locks.tryAcquire("parallel", LockOptions.shared()).block(WAIT);
        assertThat(reader).isNotNull();
        reader.release().block(WAIT);
        shared.release().block(WAIT);
        LockHandle writer = locks.tryAcquire("parallel").block(WAIT);
        assertThat(writer).as("free once both shared grants are released").isNotNull();
        writer.release().block(WAIT);
    }

    /**
     * The handle being downgraded is released before the file's actor converted its lock (the downgrade
     * subscribed on a non-blocking thread, its file calls held back on the file scheduler): the release
     * completes once the file is unlocked, as every release does, not while this JVM still holds the lock.
     */
    @Test
    void aReleaseAskedDuringTheDowngradeCompletesOnceTheFileIsUnlocked() throws Exception {
        ExecutorService fileThread = Executors.newSingleThreadExecutor();
        CountDownLatch gate = new CountDownLatch(1);
        try {
            FileLockService heldBack = fixture.service(FileLockConfig.builder()
                    .scheduler(Schedulers.fromExecutorService(fileThread)));
            LockHandle exclusive = heldBack.acquire("converting").block(WAIT);
            Path file = fixture.dir().toRealPath().resolve("converting");
            fileThread.execute(() -> {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            CompletableFuture<LockHandle> shared = exclusive.downgrade().subscribeOn(Schedulers.parallel())
                    .toFuture();
            FileLockServiceTest.await(() -> !exclusive.isHeld(), "the downgrade started");
            CompletableFuture<Void> released = exclusive.release().toFuture();
            assertThat(released).as("released while the file's actor has not run").isNotDone();
            assertThat(LockFileRegistryTest.lockedByThisProcess(file)).isTrue();
            gate.countDown();
            released.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(LockFileRegistryTest.lockedByThisProcess(file)).as("unlocked once released").isFalse();
            assertThat(shared.get(WAIT.toMillis(), TimeUnit.MILLISECONDS).isHeld()).isFalse();
        } finally {
            gate.countDown();
            fileThread.shutdown();
        }
    }

    /**
     * Spin-timed races of a downgrade against the cancel of its own {@code Mono} and against a release of the
     * handle being downgraded, on distinct names. Afterwards every handle received is released, and each name
     * must be free for an exclusive {@code tryAcquire}: a shared grant or local grant held by nobody would
     * keep it busy. The fixture then checks that every lock file entry of the JVM closes.
     */
    @Test
    void downgradeRacingItsCancelOrAReleaseLeavesNoNameHeldByNobody() throws Exception {
        int heldByNobody = 0;
        try (SpinRacer racer = new SpinRacer()) {
            for (int i = 0; i < 200; i++) {
                String name = "race-" + i;
                LockHandle exclusive = locks.acquire(name).block(WAIT);
                RecordingSubscriber downgrade = new RecordingSubscriber();
                if (i % 2 == 0) {
                    racer.race(() -> exclusive.downgrade().subscribe(downgrade), downgrade::dispose);
                } else {
                    racer.race(() -> exclusive.downgrade().subscribe(downgrade), () -> exclusive.release().block(WAIT));
                }
                if (!freeOnceReleased(name, exclusive, downgrade)) {
                    heldByNobody++;
                }
            }
        }
        assertThat(heldByNobody).as("names left held by nobody").isZero();
    }

    private boolean freeOnceReleased(String name, LockHandle exclusive, RecordingSubscriber downgrade) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            if (exclusive.isHeld()) {
                exclusive.release().block(WAIT); // the release lost the race before the downgrade started
            }
            LockHandle shared = downgrade.handle();
            if (shared != null) {
                shared.release().block(WAIT);
            }
            LockHandle h = locks.tryAcquire(name).block(WAIT);
            if (h != null) {
                h.release().block(WAIT);
                return true;
            }
            LockSupport.parkNanos(1_000_000);
        }
        return false;
    }
}
