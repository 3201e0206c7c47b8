package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.testkit.contract.SpinRacer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;

/**
 * Spin-timed races on the signals of a held file lock that are made on demand: the loss signal
 * ({@link LockHandle#lost()}, made by its first subscriber) against the loss itself, and a release against
 * the cancel of its own subscription. Distinct names per iteration; afterwards every loss was signalled and
 * no lock file is left held by nobody.
 */
class FileLockSignalRaceTest {

    static final int RACES = Integer.getInteger("reactivelocks.races", 2_000);
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private final SpinRacer racer = new SpinRacer();
    private FileLockService locks;

    @AfterEach
    void tearDown() {
        racer.close();
        if (locks != null) {
            locks.disposeLater().block(WAIT);
        }
    }

    @Test
    void lossRacingTheFirstLostSubscriberIsAlwaysSignalled() throws InterruptedException {
        lossRacingFirstSubscriber(RACES);
    }

    @Test
    @Tag("loops")
    void lossRacingTheFirstLostSubscriberIsAlwaysSignalled_loop() throws InterruptedException {
        lossRacingFirstSubscriber(50_000);
    }

    @Test
    void releaseRacingTheCancelOfItsSubscriptionLeavesNoFileHeldByNobody() throws InterruptedException {
        releaseRacingCancel(RACES);
    }

    @Test
    @Tag("loops")
    void releaseRacingTheCancelOfItsSubscriptionLeavesNoFileHeldByNobody_loop() throws InterruptedException {
        releaseRacingCancel(50_000);
    }

    private void lossRacingFirstSubscriber(int iterations) throws InterruptedException {
        locks = FileLockService.create(FileLockConfig.builder().lockDirectory(tmp).build());
        AtomicInteger signalled = new AtomicInteger();
        int leftHeld = 0;
        for (int i = 0; i < iterations; i++) {
            String name = "lost-" + i;
            LockHandle h = locks.acquire(name).block(WAIT);
            assertThat(h).isNotNull();
            racer.race(((FileAcquisition) h)::markLost, () -> h.lost().subscribe(null, null, signalled::incrementAndGet));
            h.release().block(WAIT);
            leftHeld += heldByNobody(name);
        }
        assertThat(signalled).as("losses signalled to the first lost() subscriber").hasValue(iterations);
        assertThat(leftHeld).as("lock files left held by nobody").isZero();
    }

    private void releaseRacingCancel(int iterations) throws InterruptedException {
        locks = FileLockService.create(FileLockConfig.builder().lockDirectory(tmp).build());
        AtomicInteger completed = new AtomicInteger();
        int leftHeld = 0;
        for (int i = 0; i < iterations; i++) {
            String name = "release-" + i;
            LockHandle h = locks.acquire(name).block(WAIT);
            assertThat(h).isNotNull();
            AtomicReference<Disposable> release = new AtomicReference<>();
            racer.race(() -> release.set(h.release().subscribe(null, null, completed::incrementAndGet)), () -> {
                Disposable d = release.get();
                if (d != null) {
                    d.dispose();
                }
            });
            leftHeld += heldByNobody(name);
        }
        assertThat(completed.get()).as("releases completed (some were cancelled first)").isBetween(0, iterations);
        assertThat(leftHeld).as("lock files left held by nobody").isZero();
    }

    /**
     * 1 when {@code name} cannot be taken although every handle of it was released, else 0. A release that
     * a cancel left unawaited, or that the file's actor runs on another thread (its timer's check), may still
     * be under way: tried again for up to a second.
     */
    private int heldByNobody(String name) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        for (;;) {
            LockHandle again = locks.tryAcquire(name).block(WAIT);
            if (again != null) {
                again.release().block(WAIT);
                return 0;
            }
            if (System.nanoTime() > deadline) {
                return 1;
            }
            Thread.sleep(1);
        }
    }
}
