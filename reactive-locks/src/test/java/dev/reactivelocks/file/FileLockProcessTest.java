package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.testkit.contract.FileLockChildMain;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * File locks between this JVM and child JVMs ({@link FileLockChildMain}): exclusion, shared holders,
 * timeouts and cancellation while another process holds the file, crash release, and a counter that
 * four JVMs increment.
 */
class FileLockProcessTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path tmp;

    private Path dir;
    private FileLockService locks;

    @BeforeEach
    void setUp() {
        dir = tmp.resolve("locks");
        locks = FileLockService.create(FileLockConfig.builder().lockDirectory(dir).build());
    }

    @AfterEach
    void tearDown() {
        locks.disposeLater().block(WAIT);
        FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0, "all lock file entries closed");
    }

    private ChildProcess holder(String name, String mode) throws Exception {
        ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", dir.toString(), name, mode);
        assertThat(child.nextLine(WAIT)).startsWith("LOCKED ");
        return child;
    }

    @Test
    void whileAnotherProcessHoldsTheFileAcquisitionsTimeOutCancelAndTryFail() throws Exception {
        try (ChildProcess child = holder("job", "EXCLUSIVE")) {
            StepVerifier.create(locks.tryAcquire("job")).expectComplete().verify(WAIT);
            StepVerifier.create(locks.tryAcquire("job", LockOptions.shared())).expectComplete().verify(WAIT);

            StepVerifier.create(locks.acquire("job", LockOptions.exclusive().timeout(Duration.ofMillis(300))))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockTimeoutException.class)
                            .hasMessage("Lock 'job' (EXCLUSIVE) not acquired within 300ms"))
                    .verify(WAIT);
            StepVerifier.create(locks.acquire("job", LockOptions.shared().timeout(Duration.ZERO)))
                    .expectErrorMessage("Lock 'job' (SHARED) not acquired within 0ms")
                    .verify(WAIT);

            // a waiter polling the file is cancelled: the in-JVM queue moves on to the next waiter
            Disposable cancelled = locks.acquire("job").subscribe(h -> {
                throw new AssertionError("cancelled acquisition was granted");
            });
            AtomicReference<LockHandle> next = new AtomicReference<>();
            locks.acquire("job").subscribe(next::set);
            cancelled.dispose();

            child.send("release");
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            assertThat(child.waitFor(WAIT)).isZero();
            FileLockServiceTest.await(() -> next.get() != null, "next waiter granted after the child released");
            assertThat(next.get().isHeld()).isTrue();
            next.get().release().block(WAIT);
        }
    }

    @Test
    void aProcessHoldingTheFileSharedAdmitsSharedButNotExclusive() throws Exception {
        try (ChildProcess child = holder("read", "SHARED")) {
            LockHandle shared = locks.acquire("read", LockOptions.shared().timeout(WAIT)).block(WAIT);
            assertThat(shared.isHeld()).isTrue();
            shared.release().block(WAIT);
            StepVerifier.create(locks.tryAcquire("read")).expectComplete().verify(WAIT);
            child.closeInput();
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            assertThat(child.waitFor(WAIT)).isZero();
            LockHandle exclusive = locks.acquire("read", LockOptions.exclusive().timeout(WAIT)).block(WAIT);
            exclusive.release().block(WAIT);
        }
    }

    @Test
    void aHolderInThisJvmBlocksAnotherProcessUntilReleased() throws Exception {
        LockHandle mine = locks.acquire("mine").block(WAIT);
        try (ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", dir.toString(), "mine")) {
            // the child is polling; it must not report the lock while we hold it
            StepVerifier.create(locks.tryAcquire("mine")).expectComplete().verify(WAIT);
            assertThat(child.lineNow()).isNull();
            mine.release().block(WAIT);
            assertThat(child.nextLine(WAIT)).startsWith("LOCKED ");
            StepVerifier.create(locks.tryAcquire("mine")).expectComplete().verify(WAIT);
            child.closeInput();
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            assertThat(child.waitFor(WAIT)).isZero();
        }
    }

    /**
     * Acquisitions of this JVM keep handing the file to each other, re-locking it within microseconds of
     * each release; another process, which polls, still gets it because a busy period of the file ends
     * after {@code maxPollInterval} with the file left unlocked for {@code minPollInterval}.
     */
    @Test
    void anotherProcessGetsTheFileWhileThisJvmKeepsHandingItOver() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger grants = new AtomicInteger();
        Mono<Void> loop = locks.withLock("busy", Mono.fromRunnable(grants::incrementAndGet))
                .repeat(() -> !stop.get())
                .then();
        List<Disposable> loops = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                loops.add(loop.subscribeOn(Schedulers.boundedElastic()).subscribe());
            }
            FileLockServiceTest.await(() -> grants.get() > 100, "local holders handing the file over");
            try (ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", dir.toString(), "busy")) {
                assertThat(child.nextLine(WAIT)).startsWith("LOCKED ");
                child.closeInput();
                assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
                assertThat(child.waitFor(WAIT)).isZero();
            }
            int afterChild = grants.get();
            FileLockServiceTest.await(() -> grants.get() > afterChild + 100, "local holders going on");
        } finally {
            stop.set(true);
            loops.forEach(Disposable::dispose);
        }
    }

    @Test
    void aWaiterGetsTheLockPromptlyWhenTheHoldingJvmIsKilled() throws Exception {
        try (ChildProcess child = holder("crash", "EXCLUSIVE")) {
            AtomicReference<LockHandle> got = new AtomicReference<>();
            locks.acquire("crash", LockOptions.exclusive().timeout(WAIT)).subscribe(got::set);
            StepVerifier.create(locks.tryAcquire("crash", LockOptions.shared())).expectComplete().verify(WAIT);
            assertThat(got.get()).isNull();
            child.kill(); // SIGKILL: no release by the child
            assertThat(child.waitFor(WAIT)).isEqualTo(137);
            // polls are at most 50ms apart: the waiter, whose timeout is far away, is granted well before it
            FileLockServiceTest.await(() -> got.get() != null, "lock granted after the holder died");
            assertThat(dir.resolve("crash")).isRegularFile();
            got.get().release().block(WAIT);
        }
    }

    @Test
    void fourJvmsIncrementingUnderTheLockLoseNoUpdate() throws Exception {
        assertThat(countWithChildren(true)).isEqualTo(4000);
    }

    @Test
    void fourJvmsIncrementingWithoutTheLockLoseUpdates() throws Exception {
        assertThat(countWithChildren(false)).isLessThan(4000);
    }

    private long countWithChildren(boolean locked) throws Exception {
        Path counter = tmp.resolve("counter");
        Files.writeString(counter, "0", StandardCharsets.US_ASCII);
        ChildProcess.together(4, i -> ChildProcess.java(FileLockChildMain.class, "count", dir.toString(), "counter",
                counter.toString(), "1000", locked ? "locked" : "unlocked"), () -> null);
        return Long.parseLong(Files.readString(counter, StandardCharsets.US_ASCII).trim());
    }
}
